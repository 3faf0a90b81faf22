//! Drawing: color scales, axis scales, heatmap pixels and chart geometry are plain Rust
//! (unit-tested natively); `canvas` and `svg` put them into the page.

pub mod canvas;
pub mod colormap;
pub mod heatmap;
pub mod plot;
pub mod scale;
pub mod svg;
