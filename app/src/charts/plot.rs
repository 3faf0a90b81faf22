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
    /// Where a series leaves the plot area (the line is clipped there): one arrow per
    /// exit, (x, y) in pixels and the direction in degrees (SVG: 0 = right, 90 = down).
    pub arrows: Vec<Vec<(f64, f64, f64)>>,
}

impl Layout {
    /// The plot area: (left, top, right, bottom) in pixels.
    pub fn plot_area(&self) -> (f64, f64, f64, f64) {
        let (ml, mr, mt, mb) = MARGIN;
        (ml, mt, self.width - mr, self.height - mb)
    }
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

/// Where the segment from `a` (inside `area`) to `b` (outside) crosses the border.
fn exit_point(a: (f64, f64), b: (f64, f64), area: (f64, f64, f64, f64)) -> (f64, f64) {
    let (l, t, r, btm) = area;
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut f: f64 = 1.0;
    for (edge, from, d) in [(l, a.0, dx), (r, a.0, dx), (t, a.1, dy), (btm, a.1, dy)] {
        if d != 0.0 {
            let g = (edge - from) / d;
            if (0.0..f).contains(&g) {
                f = g;
            }
        }
    }
    (a.0 + f * dx, a.1 + f * dy)
}

/// The arrows of one series' pixel points: each step from inside the area to outside.
fn exits(dots: &[(f64, f64)], area: (f64, f64, f64, f64)) -> Vec<(f64, f64, f64)> {
    let (l, t, r, b) = area;
    let inside =
        |p: &(f64, f64)| p.0 >= l - 0.5 && p.0 <= r + 0.5 && p.1 >= t - 0.5 && p.1 <= b + 0.5;
    dots.windows(2)
        .filter(|w| inside(&w[0]) && !inside(&w[1]))
        .map(|w| {
            let (x, y) = exit_point(w[0], w[1], area);
            let angle = (w[1].1 - w[0].1).atan2(w[1].0 - w[0].0).to_degrees();
            (x, y, angle)
        })
        .collect()
}

/// Lays out `series` in a `width` x `height` box; log axes pad to whole decades' edges.
pub fn layout(series: &[Series], width: f64, height: f64, log_x: bool, log_y: bool) -> Layout {
    layout_capped(series, width, height, log_x, log_y, None)
}

/// [`layout`] with the y axis ending at `y_cap` (when set): lines above it are clipped
/// and get an arrow where they leave.
pub fn layout_capped(
    series: &[Series],
    width: f64,
    height: f64,
    log_x: bool,
    log_y: bool,
    y_cap: Option<f64>,
) -> Layout {
    let (ml, mr, mt, mb) = MARGIN;
    let all = || series.iter().flat_map(|s| s.points.iter().copied());
    let (x0, x1) = bounds(all().map(|p| p.0), log_x).unwrap_or((1.0, 10.0));
    let cap = y_cap
        .filter(|c| c.is_finite() && *c > 0.0)
        .unwrap_or(f64::INFINITY);
    let (y0, y1) = bounds(all().map(|p| p.1).filter(|v| *v <= cap), log_y).unwrap_or((1.0, 10.0));
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
    let area = (ml, mt, width - mr, height - mb);
    let arrows = dots.iter().map(|d| exits(d, area)).collect();
    Layout {
        width,
        height,
        x,
        y,
        paths,
        dots,
        x_ticks,
        y_ticks,
        arrows,
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
    fn a_capped_line_leaves_with_an_arrow() {
        let small = Series {
            name: "small".into(),
            color: "blue".into(),
            points: vec![(10.0, 1.0), (100.0, 2.0), (1000.0, 4.0)],
            analytic: true,
        };
        let big = Series {
            points: vec![(10.0, 2.0), (100.0, 20.0), (1000.0, 200.0)],
            name: "big".into(),
            ..small.clone()
        };
        let l = layout_capped(&[small, big], 400.0, 300.0, true, true, Some(4.0));
        let (left, top, right, bottom) = l.plot_area();
        assert!(l.arrows[0].is_empty(), "the small line stays inside");
        assert_eq!(l.arrows[1].len(), 1, "the big line leaves once");
        let (x, y, angle) = l.arrows[1][0];
        assert!(
            (y - top).abs() < 1e-6,
            "it leaves through the top: y {y}, top {top}"
        );
        assert!(x > left && x < right && y < bottom);
        assert!(angle < 0.0 && angle > -90.0, "up and to the right: {angle}");
        assert!(l.y.hi < 20.0, "the cap bounds the axis: {}", l.y.hi);
        let uncapped = layout(&l_series(), 400.0, 300.0, true, true);
        assert!(uncapped.arrows.iter().all(|a| a.is_empty()));
    }

    fn l_series() -> Vec<Series> {
        vec![Series {
            name: "a".into(),
            color: "red".into(),
            points: vec![(1.0, 1.0), (2.0, 50.0)],
            analytic: false,
        }]
    }

    #[test]
    fn empty_chart_does_not_panic() {
        let l = layout(&[], 200.0, 100.0, true, false);
        assert!(l.paths.is_empty());
        assert!(l.x.px(5.0).is_finite());
    }
}
