//! The CPU engine's threads in the browser (the threaded wasm build only: atomics and a
//! shared `WebAssembly.Memory`, which the browser allows only on a cross-origin isolated
//! page; scripts/build-web.sh builds it as `hybrid-worker-mt`).
//!
//! The engine's worker starts `n` more Web Workers (`app/pool-thread.js`), each running
//! this same module on the same memory, waits until every one has said "ready" (a
//! worker blocked in `Atomics.wait` cannot start nested workers, so nothing may block
//! before then), then starts the engine's rayon pool on them
//! (`hybrid_core::cpu::par::start_pool`): each pool thread is handed to one worker as a
//! pointer, and the worker runs it ([`run_pool_thread`], exported by the worker binary).
//! From then on the engine splits its work exactly as natively (same tasks, same
//! numbers as one thread).

use std::cell::RefCell;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, Worker};

use hybrid_core::cpu::par::{self, PoolThread};

/// The pool threads' script (copied into dist/ by trunk).
const THREAD_URL: &str = "./pool-thread.js";

/// At most this many threads: beyond it the engine's tasks (heads, chunks, row bands of
/// the playground's small matrices) are too few to keep them busy.
const MAX_THREADS: usize = 8;

thread_local! {
    /// The pool's workers, kept for the worker's lifetime.
    static WORKERS: RefCell<Vec<Worker>> = const { RefCell::new(Vec::new()) };
}

/// Starts the pool on as many threads as the browser reports cores (at most
/// [`MAX_THREADS`]). Returns the thread count, or why the engine stays on one thread.
pub async fn start() -> Result<usize, String> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let cores = scope.navigator().hardware_concurrency() as usize;
    let n = cores.clamp(1, MAX_THREADS);
    if n < 2 {
        return Err("the browser reports one core".into());
    }
    let mut workers = Vec::with_capacity(n);
    for _ in 0..n {
        workers.push(start_worker().await?);
    }
    let mut free = workers.clone().into_iter();
    let size = par::start_pool(n, move |thread: PoolThread| {
        let worker = (free.next()).ok_or_else(|| std::io::Error::other("no worker left"))?;
        let ptr = Box::into_raw(Box::new(thread)) as usize as f64;
        worker
            .post_message(&JsValue::from_f64(ptr))
            .map_err(|e| std::io::Error::other(format!("{e:?}")))
    })?;
    WORKERS.with(|w| w.borrow_mut().extend(workers));
    Ok(size)
}

/// One pool worker, started on this module and memory, once it has said "ready".
async fn start_worker() -> Result<Worker, String> {
    let why = |e: JsValue| format!("could not start a thread of the CPU engine: {e:?}");
    let worker = Worker::new(THREAD_URL).map_err(why)?;
    let ready = Promise::new(&mut |resolve, reject| {
        worker.set_onmessage(Some(&resolve));
        worker.set_onerror(Some(&reject));
    });
    let init = Array::of2(&wasm_bindgen::module(), &wasm_bindgen::memory());
    worker.post_message(&init).map_err(why)?;
    JsFuture::from(ready).await.map_err(why)?;
    worker.set_onmessage(None);
    worker.set_onerror(None);
    Ok(worker)
}

/// Runs the pool thread at `ptr` (from [`start`]) on the calling worker; never returns
/// while the pool lives.
///
/// # Safety
/// `ptr` must come from [`start`], once.
pub unsafe fn run_pool_thread(ptr: usize) {
    // SAFETY: the caller passes the pointer `start` made with Box::into_raw, once.
    let thread = unsafe { Box::from_raw(ptr as *mut PoolThread) };
    thread.run();
}

/// Whether this worker is one of the pool's (`app/pool-thread.js` marks its global before
/// loading the module, whose `main` must then not start the engine's message loop).
pub fn on_pool_worker() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("hybridPoolThread"))
        .map(|v| v.is_truthy())
        .unwrap_or(false)
}
