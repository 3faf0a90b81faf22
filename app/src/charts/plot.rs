//! Line-chart geometry (plain Rust): the scales, SVG paths and ticks of a chart with
//! several series, on log or linear axes. The SVG itself is drawn in `charts::svg`.

use super::scale::Scale;

/// One named line (and/or set of points) on a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    /// CSS color.
    pub color: String,
    /// (x, y) in data units.
    pub points: Vec<(f64, f64)>,
    /// Dashed line: analytic values (formulas from the config), not measurements.
    pub analytic: bool,
}

/// Where everything of a chart goes, in pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub x: Scale,
    pub y: Scale,
    /// One `d` attribute per series (empty when it has fewer than 2 drawable points).
    pub paths: Vec<String>,
    /// Pixel positions of each series' points.
    pub dots: Vec<Vec<(f64, f64)>>,
    pub x_ticks: Vec<(f64, f64)>,
    pub y_ticks: Vec<(f64, f64)>,
}

/// Margins: left (y labels), right, top, bottom (x labels).
pub const MARGIN: (f64, f64, f64, f64) = (84.0, 16.0, 12.0, 44.0);

fn bounds(values: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo <= hi).then_some((lo, hi))
}

/// Lays out `series` in a `width` x `height` box; log axes pad to whole decades' edges.
pub fn layout(series: &[Series], width: f64, height: f64, log_x: bool, log_y: bool) -> Layout {
    let (ml, mr, mt, mb) = MARGIN;
    let all = || series.iter().flat_map(|s| s.points.iter().copied());
    let (x0, x1) = bounds(all().map(|p| p.0), log_x).unwrap_or((1.0, 10.0));
    let (y0, y1) = bounds(all().map(|p| p.1), log_y).unwrap_or((1.0, 10.0));
    let make = |lo: f64, hi: f64, a: f64, b: f64, log: bool| {
        if log {
            let (lo, hi) = if hi > lo {
                (lo, hi)
            } else {
                (lo / 2.0, hi * 2.0)
            };
            Scale::log(lo / 1.15, hi * 1.15, a, b)
        } else {
            let pad = (hi - lo).abs() * 0.05;
            Scale::linear(lo.min(0.0), hi + pad, a, b)
        }
    };
    let x = make(x0, x1, ml, width - mr, log_x);
    let y = make(y0, y1, height - mb, mt, log_y);
    let usable = |p: &(f64, f64)| {
        p.0.is_finite() && p.1.is_finite() && (!log_x || p.0 > 0.0) && (!log_y || p.1 > 0.0)
    };
    let dots: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|p| usable(p))
                .map(|&(a, b)| (x.px(a), y.px(b)))
                .collect()
        })
        .collect();
    let paths = dots
        .iter()
        .map(|d| {
            if d.len() < 2 {
                return String::new();
            }
            d.iter()
                .enumerate()
                .map(|(i, (a, b))| format!("{}{a:.1},{b:.1}", if i == 0 { "M" } else { "L" }))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let x_ticks = x.ticks().into_iter().map(|v| (v, x.px(v))).collect();
    let y_ticks = y.ticks().into_iter().map(|v| (v, y.px(v))).collect();
    Layout {
        width,
        height,
        x,
        y,
        paths,
        dots,
        x_ticks,
        y_ticks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_log_log() {
        let s = Series {
            name: "a".into(),
            color: "red".into(),
            points: vec![(64.0, 1.0), (128.0, 2.0), (0.0, 5.0), (256.0, 4.0)],
            analytic: false,
        };
        let l = layout(&[s], 400.0, 300.0, true, true);
        assert_eq!(l.dots[0].len(), 3, "x = 0 cannot sit on a log axis");
        assert!(l.paths[0].starts_with('M'));
        assert_eq!(l.paths[0].matches('L').count(), 2);
        // Increasing data goes right and up.
        assert!(l.dots[0][1].0 > l.dots[0][0].0 && l.dots[0][1].1 < l.dots[0][0].1);
        assert!(!l.x_ticks.is_empty() && !l.y_ticks.is_empty());
    }

    #[test]
    fn empty_chart_does_not_panic() {
        let l = layout(&[], 200.0, 100.0, true, false);
        assert!(l.paths.is_empty());
        assert!(l.x.px(5.0).is_finite());
    }
}
