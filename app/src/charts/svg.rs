//! Line charts as SVG from a [`super::plot::Layout`]: axes with units, ticks, a legend
//! naming each series; measured series get dots, analytic ones dashed lines.

use leptos::prelude::*;

use super::plot::{layout, Series, MARGIN};

/// A chart. `x_fmt` / `y_fmt` format tick values (with units).
#[component]
pub fn LineChart(
    series: Vec<Series>,
    x_label: String,
    y_label: String,
    #[prop(default = true)] log_x: bool,
    #[prop(default = true)] log_y: bool,
    x_fmt: fn(f64) -> String,
    y_fmt: fn(f64) -> String,
    #[prop(default = 560.0)] width: f64,
    #[prop(default = 320.0)] height: f64,
    /// `id` of the `<svg>` (tests find charts by it).
    id: String,
) -> impl IntoView {
    let l = layout(&series, width, height, log_x, log_y);
    let (ml, _, mt, mb) = MARGIN;
    let measured: usize = series
        .iter()
        .filter(|s| !s.analytic)
        .map(|s| s.points.len())
        .sum();
    let analytic: usize = series
        .iter()
        .filter(|s| s.analytic)
        .map(|s| s.points.len())
        .sum();
    let x_ticks = l
        .x_ticks
        .iter()
        .map(|&(v, px)| {
            view! {
                <line x1=px x2=px y1=mt y2=height - mb class="grid-line" />
                <text x=px y=height - mb + 16.0 text-anchor="middle" class="tick">{x_fmt(v)}</text>
            }
        })
        .collect_view();
    let y_ticks = l
        .y_ticks
        .iter()
        .map(|&(v, px)| {
            view! {
                <line x1=ml x2=width - 16.0 y1=px y2=px class="grid-line" />
                <text x=ml - 6.0 y=px + 4.0 text-anchor="end" class="tick">{y_fmt(v)}</text>
            }
        })
        .collect_view();
    let lines = series
        .iter()
        .zip(l.paths.iter().zip(l.dots.iter()))
        .map(|(s, (d, dots))| {
            let color = s.color.clone();
            let dash = if s.analytic { "6 4" } else { "none" };
            let dots = if s.analytic {
                Vec::new()
            } else {
                dots.clone()
            };
            let name = s.name.clone();
            view! {
                <g class="series" data-name=name.clone() data-analytic=s.analytic.to_string()>
                    <title>{name.clone()}</title>
                    <path d=d.clone() fill="none" stroke=color.clone() stroke-width="2" stroke-dasharray=dash />
                    {dots
                        .into_iter()
                        .map(|(x, y)| view! { <circle cx=x cy=y r="4" fill=color.clone() /> })
                        .collect_view()}
                </g>
            }
        })
        .collect_view();
    let legend = series
        .iter()
        .map(|s| {
            let style = format!(
                "border-top: 3px {} {}",
                if s.analytic { "dashed" } else { "solid" },
                s.color
            );
            let name = if s.analytic {
                format!("{} (analytic)", s.name)
            } else {
                format!("{} (measured)", s.name)
            };
            view! { <li><span class="swatch" style=style></span>{name}</li> }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg
                id=id
                viewBox=format!("0 0 {width} {height}")
                role="img"
                aria-label=format!("{y_label} against {x_label}")
                data-measured-points=measured
                data-analytic-points=analytic
            >
                {x_ticks}
                {y_ticks}
                <line x1=ml x2=ml y1=mt y2=height - mb class="axis" />
                <line x1=ml x2=width - 16.0 y1=height - mb y2=height - mb class="axis" />
                {lines}
                <text x=(ml + width) / 2.0 y=height - 6.0 text-anchor="middle" class="axis-label">{x_label.clone()}</text>
                <text
                    x=14.0
                    y=(mt + height - mb) / 2.0
                    text-anchor="middle"
                    class="axis-label"
                    transform=format!("rotate(-90 14 {})", (mt + height - mb) / 2.0)
                >
                    {y_label.clone()}
                </text>
            </svg>
            <ul class="chart-legend">{legend}</ul>
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
