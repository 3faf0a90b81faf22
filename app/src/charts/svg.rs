//! Line charts as SVG from a [`super::plot::Layout`]: one unit per axis (in its title),
//! 1-2-5 ticks on log axes, a legend naming each series once; measured series get dots,
//! analytic ones dashed lines; lines that leave the plot are clipped and end in an arrow.
//! Drawn at their size in CSS pixels times `zoom` (presenter mode), never shrunk, so the
//! 12-unit tick labels are at least 12 px on screen.

use leptos::prelude::*;

use super::plot::{layout_capped, Series, MARGIN};
use super::scale::Quantity;

/// A legend entry: the name, and whether it is analytic or measured, said once.
fn legend_name(s: &Series) -> String {
    let kind = if s.analytic { "analytic" } else { "measured" };
    if s.name.contains(&format!("({kind})")) {
        s.name.clone()
    } else {
        format!("{} ({kind})", s.name)
    }
}

/// The series divided by each axis' unit, and the axis titles with the units.
fn in_units(
    series: &[Series],
    x: (Quantity, &str),
    y: (Quantity, &str),
    y_cap: Option<f64>,
) -> (Vec<Series>, String, String, Option<f64>) {
    let cap = y_cap.unwrap_or(f64::INFINITY);
    // the smallest and largest positive finite value on an axis (below the cap for y)
    let range = |f: fn(&(f64, f64)) -> f64, below: f64| {
        series
            .iter()
            .flat_map(|s| s.points.iter().map(f))
            .filter(|v| v.is_finite() && *v > 0.0 && *v <= below)
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (x_lo, x_hi) = range(|p| p.0, f64::INFINITY);
    let (y_lo, y_hi) = range(|p| p.1, cap);
    let ux = x.0.unit(x_lo, x_hi);
    let uy = y.0.unit(y_lo, y_hi);
    let title = |label: &str, unit: &str| {
        if unit.is_empty() {
            label.to_string()
        } else {
            format!("{label} ({unit})")
        }
    };
    let scaled = series
        .iter()
        .map(|s| Series {
            points: s
                .points
                .iter()
                .map(|&(a, b)| (a / ux.factor, b / uy.factor))
                .collect(),
            ..s.clone()
        })
        .collect();
    (
        scaled,
        title(x.1, ux.name),
        title(y.1, uy.name),
        y_cap.map(|c| c / uy.factor),
    )
}

/// A chart. `x` and `y`: what each axis measures and its title (the unit is added).
#[component]
pub fn LineChart(
    series: Vec<Series>,
    x: (Quantity, &'static str),
    y: (Quantity, &'static str),
    #[prop(default = true)] log_x: bool,
    #[prop(default = true)] log_y: bool,
    #[prop(default = 560.0)] width: f64,
    #[prop(default = 320.0)] height: f64,
    /// Presenter mode's factor: the chart is drawn this many times larger (as vectors).
    #[prop(default = 1.0)]
    zoom: f64,
    /// End the y axis here (data units); lines above it are clipped with an arrow.
    #[prop(default = None)]
    y_cap: Option<f64>,
    /// `id` of the `<svg>` (tests find charts by it).
    id: String,
) -> impl IntoView {
    let (scaled, x_label, y_label, cap) = in_units(&series, x, y, y_cap);
    let l = layout_capped(&scaled, width, height, log_x, log_y, cap);
    let (left, top, right, bottom) = l.plot_area();
    let (_, _, _, mb) = MARGIN;
    let count = |analytic: bool| -> usize {
        series
            .iter()
            .filter(|s| s.analytic == analytic)
            .map(|s| s.points.len())
            .sum()
    };
    let (xq, yq) = (x.0, y.0);
    let x_ticks = l
        .x_ticks
        .iter()
        .map(|&(v, px)| {
            view! {
                <line x1=px x2=px y1=top y2=bottom class="grid-line" />
                <text x=px y=bottom + 17.0 text-anchor="middle" class="tick">{xq.tick(v)}</text>
            }
        })
        .collect_view();
    let y_ticks = l
        .y_ticks
        .iter()
        .map(|&(v, px)| {
            view! {
                <line x1=left x2=right y1=px y2=px class="grid-line" />
                <text x=left - 6.0 y=px + 4.0 text-anchor="end" class="tick">{yq.tick(v)}</text>
            }
        })
        .collect_view();
    let clip_id = format!("{id}-clip");
    let lines = series
        .iter()
        .zip(l.paths.iter().zip(l.dots.iter().zip(l.arrows.iter())))
        .map(|(s, (d, (dots, arrows)))| {
            let color = s.color.clone();
            let dash = if s.analytic { "6 4" } else { "none" };
            let dots = if s.analytic { Vec::new() } else { dots.clone() };
            let name = legend_name(s);
            let exits = arrows.len();
            let arrows = arrows
                .iter()
                .map(|&(x, y, angle)| {
                    view! {
                        <path class="exit-arrow" d="M0,0 L-10,-5 L-10,5 Z" fill=color.clone()
                            transform=format!("translate({x:.1} {y:.1}) rotate({angle:.0})") />
                    }
                })
                .collect_view();
            view! {
                <g class="series" data-name=s.name.clone() data-analytic=s.analytic.to_string()
                    data-exits=exits>
                    <title>{name}</title>
                    <g clip-path=format!("url(#{clip_id})")>
                        <path d=d.clone() fill="none" stroke=color.clone() stroke-width="2" stroke-dasharray=dash />
                        {dots
                            .into_iter()
                            .map(|(x, y)| view! { <circle cx=x cy=y r="4" fill=color.clone() /> })
                            .collect_view()}
                    </g>
                    {arrows}
                </g>
            }
        })
        .collect_view();
    let clipped: usize = l.arrows.iter().filter(|a| !a.is_empty()).count();
    let legend = series
        .iter()
        .map(|s| {
            let style = format!(
                "border-top: 3px {} {}",
                if s.analytic { "dashed" } else { "solid" },
                s.color
            );
            view! { <li><span class="swatch" style=style></span>{legend_name(s)}</li> }
        })
        .collect_view();
    let clip_note = (clipped > 0).then(|| {
        view! { <p class="hint">{format!("{clipped} line(s) leave the chart: the arrow shows where.")}</p> }
    });
    view! {
        <figure class="chart">
            <svg
                id=id
                width=width * zoom
                height=height * zoom
                viewBox=format!("0 0 {width} {height}")
                role="img"
                aria-label=format!("{y_label} against {x_label}")
                data-measured-points=count(false)
                data-analytic-points=count(true)
                data-clipped=clipped
            >
                <defs>
                    <clipPath id=clip_id>
                        <rect x=left y=top width=right - left height=bottom - top />
                    </clipPath>
                </defs>
                {x_ticks}
                {y_ticks}
                <line x1=left x2=left y1=top y2=bottom class="axis" />
                <line x1=left x2=right y1=bottom y2=bottom class="axis" />
                {lines}
                <text x=(left + right) / 2.0 y=height - mb + 38.0 text-anchor="middle" class="axis-label">{x_label.clone()}</text>
                <text
                    x=16.0
                    y=(top + bottom) / 2.0
                    text-anchor="middle"
                    class="axis-label"
                    transform=format!("rotate(-90 16 {})", (top + bottom) / 2.0)
                >
                    {y_label.clone()}
                </text>
            </svg>
            <ul class="chart-legend">{legend}</ul>
            {clip_note}
        </figure>
    }
}

/// Colors for series, distinguishable in light and dark mode (Okabe-Ito).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8c8c8c", "#f0e442",
];

/// The color of series `i`.
pub fn color(i: usize) -> String {
    PALETTE[i % PALETTE.len()].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_legend_names() {
        let s = Series {
            name: "Paper 1B Transformer (analytic)".into(),
            color: color(0),
            points: vec![
                (64.0, 2.0 * 1024.0 * 1024.0),
                (4096.0, 80.0 * 1024.0 * 1024.0),
            ],
            analytic: true,
        };
        assert_eq!(legend_name(&s), "Paper 1B Transformer (analytic)");
        let m = Series {
            name: "inter".into(),
            analytic: false,
            ..s.clone()
        };
        assert_eq!(legend_name(&m), "inter (measured)");
        let (scaled, xl, yl, cap) = in_units(
            &[s],
            (Quantity::Tokens, "context (tokens)"),
            (Quantity::Bytes, "state memory"),
            None,
        );
        assert_eq!(
            (xl.as_str(), yl.as_str()),
            ("context (tokens)", "state memory (MiB)")
        );
        assert_eq!(scaled[0].points, vec![(64.0, 2.0), (4096.0, 80.0)]);
        assert_eq!(cap, None);
    }
}
