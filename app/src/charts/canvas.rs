//! Heatmaps on `<canvas>`: the pixel buffer from [`super::heatmap::rgba`] goes in with
//! `putImageData` (one pixel per cell), is scaled up without smoothing, and token labels
//! are drawn along both axes. Hovering reports the cell under the pointer. The backing
//! store is the canvas' displayed size times devicePixelRatio, and labels are drawn at
//! `zoom` (presenter mode), so a larger map is redrawn sharp, never stretched.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use super::colormap::{hex, ColorScale};
use super::heatmap::{cell_at, rgba, Matrix};
use super::scale::fmt_num;

/// Room for labels when a heatmap has them (CSS pixels at zoom 1).
const LABEL_ROOM: f64 = 58.0;
/// Token label sizes (CSS pixels at zoom 1): never below `MIN`, at most `MAX`.
const LABEL_MIN: f64 = 9.0;
const LABEL_MAX: f64 = 12.0;

/// What hovering a cell says.
#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    pub row: usize,
    pub col: usize,
    pub value: f32,
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// Draws `m` into `canvas` (CSS size `w` x `h`), with labels when given and a column
/// marker when `mark_col` is set.
pub fn draw(
    canvas: &HtmlCanvasElement,
    m: &Matrix,
    scale: &ColorScale,
    rows: Option<&[String]>,
    cols: Option<&[String]>,
    mark_col: Option<usize>,
    zoom: f64,
) -> Result<(), String> {
    let (w, h) = (canvas.client_width() as f64, canvas.client_height() as f64);
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .max(1.0);
    canvas.set_width((w * dpr) as u32);
    canvas.set_height((h * dpr) as u32);
    let ctx = context(canvas).ok_or("no 2d canvas context")?;
    ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0)
        .map_err(|_| "transform")?;
    ctx.clear_rect(0.0, 0.0, w, h);
    if m.rows == 0 || m.cols == 0 {
        return Ok(());
    }
    let (left, top) = plot_origin(rows.is_some(), cols.is_some(), zoom);
    let (pw, ph) = (w - left, h - top);

    // One pixel per cell on a scratch canvas, then scaled up crisply.
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let scratch: HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(|_| "cannot create a canvas")?
        .dyn_into()
        .map_err(|_| "not a canvas")?;
    scratch.set_width(m.cols as u32);
    scratch.set_height(m.rows as u32);
    let sctx = context(&scratch).ok_or("no 2d canvas context")?;
    let pixels = rgba(m, scale);
    let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&pixels),
        m.cols as u32,
        m.rows as u32,
    )
    .map_err(|_| "bad image data")?;
    sctx.put_image_data(&image, 0.0, 0.0)
        .map_err(|_| "putImageData failed")?;
    ctx.set_image_smoothing_enabled(false);
    ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&scratch, left, top, pw, ph)
        .map_err(|_| "drawImage failed")?;

    if let Some(c) = mark_col.filter(|&c| c < m.cols) {
        let cw = pw / m.cols as f64;
        ctx.set_stroke_style_str("#ff3d7f");
        ctx.set_line_width(2.0);
        ctx.stroke_rect(left + c as f64 * cw, top, cw, ph);
    }

    let color = web_sys::window()
        .and_then(|w| w.get_computed_style(canvas).ok().flatten())
        .and_then(|s| s.get_property_value("color").ok())
        .unwrap_or_else(|| "#444".into());
    ctx.set_fill_style_str(&color);
    let font_px = |n: usize, span: f64| (span / n as f64).clamp(LABEL_MIN * zoom, LABEL_MAX * zoom);
    if let Some(labels) = rows {
        let cell = ph / m.rows as f64;
        let fs = font_px(m.rows, ph);
        let every = (fs / cell).ceil().max(1.0) as usize;
        ctx.set_font(&format!("{fs:.0}px system-ui, sans-serif"));
        ctx.set_text_align("right");
        ctx.set_text_baseline("middle");
        for (i, l) in labels.iter().enumerate().take(m.rows).step_by(every) {
            let _ = ctx.fill_text(l, left - 4.0, top + (i as f64 + 0.5) * cell);
        }
    }
    if let Some(labels) = cols {
        let cell = pw / m.cols as f64;
        let fs = font_px(m.cols, pw);
        let every = (fs / cell).ceil().max(1.0) as usize;
        ctx.set_font(&format!("{fs:.0}px system-ui, sans-serif"));
        ctx.set_text_align("left");
        ctx.set_text_baseline("middle");
        for (i, l) in labels.iter().enumerate().take(m.cols).step_by(every) {
            ctx.save();
            let _ = ctx.translate(left + (i as f64 + 0.5) * cell, top - 4.0);
            let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
            let _ = ctx.fill_text(l, 0.0, 0.0);
            ctx.restore();
        }
    }
    Ok(())
}

fn plot_origin(row_labels: bool, col_labels: bool, zoom: f64) -> (f64, f64) {
    (
        if row_labels { LABEL_ROOM * zoom } else { 0.0 },
        if col_labels { LABEL_ROOM * zoom } else { 0.0 },
    )
}

/// The room labels take (CSS pixels at zoom 1), for sizing a labelled map.
pub const fn label_room() -> u32 {
    LABEL_ROOM as u32
}

/// A heatmap canvas. `labels` puts token labels on both axes (square maps), or on the
/// columns only with `row_names` for [heads x tokens] maps. Carries data attributes
/// for tests: `data-cells`, `data-sum` (sum of the values drawn), `data-max`.
#[component]
pub fn Heatmap(
    matrix: Matrix,
    scale: ColorScale,
    #[prop(optional)] labels: Option<Vec<String>>,
    #[prop(optional)] row_names: Option<Vec<String>>,
    /// CSS width and height in pixels at zoom 1 (the plot plus room for the labels).
    width: u32,
    height: u32,
    /// Presenter mode's factor: the canvas and its labels this many times larger.
    #[prop(default = 1.0)]
    zoom: f64,
    #[prop(optional)] mark_col: Option<Signal<usize>>,
    #[prop(optional)] on_hover: Option<Callback<Option<Hover>>>,
    #[prop(optional)] on_click: Option<Callback<()>>,
    /// Accessible description.
    label: String,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let canvas_ref = NodeRef::<html::Canvas>::new();
    let cells = matrix.values.len();
    let sum = format!("{:.6}", matrix.sum());
    let max = format!("{:.6}", matrix.max_abs());
    let rows_l = row_names.clone().or_else(|| labels.clone());
    let cols_l = labels.clone();
    let m2 = matrix.clone();
    Effect::new(move |_| {
        let mark = mark_col.map(|s| s.get());
        if let Some(canvas) = canvas_ref.get() {
            let c: &HtmlCanvasElement = &canvas;
            if let Err(e) = draw(
                c,
                &m2,
                &scale,
                rows_l.as_deref(),
                cols_l.as_deref(),
                mark,
                zoom,
            ) {
                leptos::logging::warn!("heatmap: {e}");
            }
        }
    });
    let has_rows = row_names.is_some() || labels.is_some();
    let has_cols = labels.is_some();
    let m3 = matrix.clone();
    let hover = move |ev: leptos::ev::MouseEvent| {
        let Some(cb) = on_hover else { return };
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let (left, top) = plot_origin(has_rows, has_cols, zoom);
        let (w, h) = (canvas.client_width() as f64, canvas.client_height() as f64);
        let (x, y) = (ev.offset_x() as f64 - left, ev.offset_y() as f64 - top);
        let cell = cell_at(&m3, x, y, w - left, h - top)
            .and_then(|(row, col)| m3.get(row, col).map(|value| Hover { row, col, value }));
        cb.run(cell);
    };
    // A canvas removed under the pointer (a change of view) still gets `mouseleave`, after
    // its view's signals are gone: hover callbacks must use `try_set`.
    let leave = move |_| {
        if let Some(cb) = on_hover {
            cb.run(None);
        }
    };
    let clickable = on_click.is_some();
    view! {
        <canvas
            node_ref=canvas_ref
            class=format!("heatmap {class}")
            class:clickable=clickable
            style=format!("width:{}px;height:{}px", width as f64 * zoom, height as f64 * zoom)
            role="img"
            aria-label=label
            tabindex=if clickable { "0" } else { "-1" }
            data-cells=cells
            data-sum=sum
            data-max=max
            on:mousemove=hover
            on:mouseleave=leave
            on:click=move |_| { if let Some(cb) = on_click { cb.run(()) } }
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if let Some(cb) = on_click {
                    if ev.key() == "Enter" || ev.key() == " " { ev.prevent_default(); cb.run(()) }
                }
            }
        ></canvas>
    }
}

/// A color legend: the gradient with numbers at its ends and middle.
#[component]
pub fn Legend(scale: ColorScale, title: String) -> impl IntoView {
    let stops = scale.legend(9);
    let gradient = stops
        .iter()
        .enumerate()
        .map(|(i, (_, c))| format!("{} {:.0}%", hex(*c), i as f64 * 100.0 / 8.0))
        .collect::<Vec<_>>()
        .join(", ");
    let (lo, hi) = scale.domain();
    let mid = (lo + hi) / 2.0;
    let aria = format!(
        "{title}: from {} to {}",
        fmt_num(lo as f64),
        fmt_num(hi as f64)
    );
    view! {
        <div class="legend" role="group" aria-label=aria>
            <span class="legend-title">{title}</span>
            <div class="legend-bar" style=format!("background: linear-gradient(to right, {gradient})")></div>
            <div class="legend-ticks">
                <span>{fmt_num(lo as f64)}</span>
                <span>{fmt_num(mid as f64)}</span>
                <span>{fmt_num(hi as f64)}</span>
            </div>
        </div>
    }
}
