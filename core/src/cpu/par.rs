//! The CPU engine's threads: a small rayon pool the engine owns (natively), and the two
//! ways the engine splits work over it: independent tasks whose results come back in
//! order ([`map`]), and a GEMM split into bands of rows or columns (`ops::gemm`).
//!
//! Thread count: [`set_threads`] (the CLI's `--threads`), else the `HYBRID_THREADS`
//! environment variable, else `std::thread::available_parallelism`. In wasm32 there are
//! two builds: the single-threaded one (rayon is not even compiled in) and the threaded
//! one (`target_feature = "atomics"`, shared memory), where the page's worker starts a
//! pool on Web Workers with [`start_pool`] and the count is that pool's size (1 before).
//! With one thread and in a task already running on the pool, everything runs in order
//! on the calling thread, so the results of the threaded and the single-threaded engine
//! are the same numbers (each task does the same arithmetic either way;
//! `core/tests/threads.rs` holds them equal).

use std::sync::atomic::{AtomicUsize, Ordering};

/// 0 = not chosen yet (the environment variable or the machine decides on first use).
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Use `n` threads (at least 1) for the CPU engine from now on.
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// The thread count in effect: in wasm32 the started pool's size, else 1.
pub fn threads() -> usize {
    #[cfg(target_arch = "wasm32")]
    return pool::size();
    #[cfg(not(target_arch = "wasm32"))]
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = default_threads();
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// `HYBRID_THREADS` when it is a positive integer, else the machine's parallelism.
#[cfg(not(target_arch = "wasm32"))]
fn default_threads() -> usize {
    let env = std::env::var("HYBRID_THREADS").ok();
    match env.and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// True on one of the engine's pool threads.
pub fn on_pool() -> bool {
    pool::on_pool()
}

/// How many parts to split work into here: 1 when single-threaded or already inside a
/// task on the pool (nested work runs in order on the task's own thread).
pub fn parts() -> usize {
    if on_pool() {
        1
    } else {
        threads()
    }
}

/// Fewest multiply-adds for which handing work to the pool pays: below it, a GEMM or a
/// set of attention tasks runs on the calling thread ([`worth_forking`]). Natively a fork
/// costs a few us (rayon wakes a spinning thread). In the threaded wasm build the pool
/// threads are Web Workers woken through `Atomics.wait` / `notify`, about 100 us a fork
/// in Chromium: with the native threshold a playground decode step (~33 forks) took 4.7
/// ms on 2 threads against 1.5 ms on one (docs/BENCHMARKS.md, "CPU engine on threads in
/// the browser"), so there a fork must save ~4M multiply-adds (~0.3 ms of one thread).
#[cfg(not(target_arch = "wasm32"))]
pub const FORK_MIN_FMAS: usize = 1 << 17;
#[cfg(target_arch = "wasm32")]
pub const FORK_MIN_FMAS: usize = 1 << 22;

/// Whether work of `fmas` multiply-adds is worth splitting over the pool
/// ([`FORK_MIN_FMAS`]; always false with one part).
pub fn worth_forking(fmas: usize) -> bool {
    parts() >= 2 && fmas >= FORK_MIN_FMAS
}

/// `f` over every item, in parallel where [`parts`] > 1; results in the items' order.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    if items.len() < 2 || parts() < 2 {
        return items.into_iter().map(f).collect();
    }
    pool::map(threads(), items, f)
}

/// [`map`] for tasks of `fmas` multiply-adds in all: on the pool only where that is
/// [`worth_forking`], else in order on the calling thread (the same results either way).
pub fn map_worth<T: Send, R: Send>(
    fmas: usize,
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync + Send,
) -> Vec<R> {
    if !worth_forking(fmas) {
        return items.into_iter().map(f).collect();
    }
    map(items, f)
}

/// Below this many values a row-wise pass ([`rows_mut`]) runs on the calling thread
/// (in wasm, where a fork costs ~100 us: [`FORK_MIN_FMAS`], 16 times as many).
#[cfg(not(target_arch = "wasm32"))]
const ROWS_MIN_VALUES: usize = 1 << 14;
#[cfg(target_arch = "wasm32")]
const ROWS_MIN_VALUES: usize = 1 << 18;

/// `f(first_row, band)` over bands of whole rows of `data` ([rows, width]), in parallel
/// where [`parts`] > 1 and the data is large enough: for element-wise work on rows
/// (norms, activations, the conv, RoPE), each row computed the same way on any thread.
pub fn rows_mut(data: &mut [f32], width: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let rows = data.len() / width.max(1);
    let n = parts();
    if n < 2 || width == 0 || rows < 2 || data.len() < ROWS_MIN_VALUES {
        return f(0, data);
    }
    let band = rows.div_ceil(n);
    let bands: Vec<(usize, &mut [f32])> = (data.chunks_mut(band * width))
        .enumerate()
        .map(|(i, b)| (i * band, b))
        .collect();
    map(bands, |(r0, b)| f(r0, b));
}

#[cfg(not(target_arch = "wasm32"))]
mod pool {
    use rayon::prelude::*;
    use std::sync::{Arc, Mutex};

    /// One pool per thread count asked for (in practice one), built on first use.
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());

    /// True on one of the engine's pool threads.
    pub fn on_pool() -> bool {
        rayon::current_thread_index().is_some()
    }

    /// The pool of `n` threads; `None` when the OS refuses the threads.
    fn get(n: usize) -> Option<Arc<rayon::ThreadPool>> {
        let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, p)) = pools.iter().find(|(k, _)| *k == n) {
            return Some(p.clone());
        }
        let p = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("hybrid-cpu-{i}"))
            .build()
            .ok()?;
        let p = Arc::new(p);
        pools.push((n, p.clone()));
        Some(p)
    }

    pub fn map<T: Send, R: Send>(
        n: usize,
        items: Vec<T>,
        f: impl Fn(T) -> R + Sync + Send,
    ) -> Vec<R> {
        match get(n) {
            // one item per task: rayon's work stealing balances uneven items (causal blocks)
            Some(p) => p.install(|| items.into_par_iter().with_max_len(1).map(f).collect()),
            None => items.into_iter().map(f).collect(),
        }
    }
}

/// A thread of the pool waiting for a thread to run on (threaded wasm32: a Web Worker
/// sharing the module's memory calls `run` on it, and that never returns).
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub type PoolThread = rayon::ThreadBuilder;

/// Starts the engine's pool of `n` threads in the threaded wasm32 build: `spawn` gets each
/// [`PoolThread`] and must hand it to a running Web Worker. Returns the pool's size; an
/// error when a pool is already running or `spawn` failed (the engine then stays on one
/// thread).
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub fn start_pool(
    n: usize,
    spawn: impl FnMut(PoolThread) -> std::io::Result<()>,
) -> Result<usize, String> {
    pool::start(n, spawn)
}

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
mod pool {
    use rayon::prelude::*;
    use std::sync::OnceLock;

    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();

    pub fn start(
        n: usize,
        spawn: impl FnMut(rayon::ThreadBuilder) -> std::io::Result<()>,
    ) -> Result<usize, String> {
        if POOL.get().is_some() {
            return Err("the CPU engine's thread pool is already running".into());
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .spawn_handler(spawn)
            .build()
            .map_err(|e| format!("could not start the CPU engine's threads: {e}"))?;
        let size = pool.current_num_threads();
        POOL.set(pool)
            .map_err(|_| "the CPU engine's thread pool is already running".to_string())?;
        Ok(size)
    }

    pub fn size() -> usize {
        POOL.get().map_or(1, |p| p.current_num_threads())
    }

    pub fn on_pool() -> bool {
        rayon::current_thread_index().is_some()
    }

    pub fn map<T: Send, R: Send>(
        _n: usize,
        items: Vec<T>,
        f: impl Fn(T) -> R + Sync + Send,
    ) -> Vec<R> {
        match POOL.get() {
            Some(p) => p.install(|| items.into_par_iter().with_max_len(1).map(f).collect()),
            None => items.into_iter().map(f).collect(),
        }
    }
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod pool {
    pub fn size() -> usize {
        1
    }
    pub fn on_pool() -> bool {
        false
    }
    pub fn map<T, R>(_n: usize, items: Vec<T>, f: impl Fn(T) -> R) -> Vec<R> {
        items.into_iter().map(f).collect()
    }
}
