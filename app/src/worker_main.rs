//! Entry point of the CPU engine's Web Worker (see `hybrid_app::worker`). Built twice:
//! single-threaded (`hybrid-worker`, by trunk) and threaded (`hybrid-worker-mt`, atomics
//! and shared memory, by scripts/build-web.sh), whose module also runs the pool threads.

fn main() {
    console_error_panic_hook::set_once();
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    if hybrid_app::worker::on_pool_worker() {
        return;
    }
    #[cfg(target_arch = "wasm32")]
    hybrid_app::worker::start();
}

/// A pool thread's entry: `app/pool-thread.js` calls it with the pointer the engine's
/// worker sent it (`hybrid_app::worker::threads`); it runs until the pool ends.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hybrid_pool_thread(ptr: usize) {
    // SAFETY: only pool-thread.js calls this, with the pointer it was sent, once.
    unsafe { hybrid_app::worker::run_pool_thread(ptr) }
}
