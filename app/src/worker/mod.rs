//! The CPU engine's Web Worker: the models the page loaded, built again here from the
//! same files, and generation runs on them, so that long work never blocks the page.
//!
//! - `protocol`: the messages (JSON) between the page and the worker;
//! - `runner`: one generation request (chunked prefill, side-by-side decode, streamed
//!   reports), independent of the browser;
//! - `entry` (wasm32): the worker's message loop, started by the `hybrid-worker` binary
//!   (built by trunk with `data-type="worker"`);
//! - `threads` (the threaded wasm build, `hybrid-worker-mt`): the engine's thread pool on
//!   Web Workers, where the page is cross-origin isolated.
//!
//! The page's side of the worker is `engine::worker`.

pub mod protocol;
pub mod runner;

#[cfg(target_arch = "wasm32")]
mod entry;
#[cfg(target_arch = "wasm32")]
pub use entry::start;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
mod threads;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub use threads::{on_pool_worker, run_pool_thread};

#[cfg(test)]
mod tests;
