//! The CPU engine's Web Worker: the models the page loaded, built again here from the
//! same files, and generation runs on them, so that long work never blocks the page.
//!
//! - `protocol`: the messages (JSON) between the page and the worker;
//! - `runner`: one generation request (chunked prefill, side-by-side decode, streamed
//!   reports), independent of the browser;
//! - `entry` (wasm32): the worker's message loop, started by the `hybrid-worker` binary
//!   (built by trunk with `data-type="worker"`).
//!
//! The page's side of the worker is `engine::worker`.

pub mod protocol;
pub mod runner;

#[cfg(target_arch = "wasm32")]
mod entry;
#[cfg(target_arch = "wasm32")]
pub use entry::start;

#[cfg(test)]
mod tests;
