//! The CPU engine's Web Worker, from the page's side: models are sent to it when they
//! are built here ([`register`]), forgotten when dropped ([`forget`]), and generation
//! runs there ([`WorkerRun`]), streaming [`Reply`]s back. Only in the browser page
//! (wasm32 with a window): elsewhere [`register`] returns `None` and runs fail.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::sampling::Sampling;
use crate::worker::protocol::{Reply, Request};

/// The single-threaded worker's loader, written by trunk (`data-loader-shim`).
const WORKER_URL: &str = "./hybrid-worker_loader.js";
/// The threaded worker's loader (scripts/build-web.sh): its module needs shared memory,
/// which the browser gives only to a cross-origin isolated page.
const WORKER_MT_URL: &str = "./hybrid-worker-mt_loader.js";

/// The CPU engine's threads in the worker, once it said it is ready.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuThreads {
    pub threads: usize,
    /// Why one thread, where that is the case.
    pub why_one: Option<String>,
}

impl CpuThreads {
    /// For the badge: "2 threads", "1 thread: <why>".
    pub fn label(&self) -> String {
        match (self.threads, &self.why_one) {
            (1, Some(why)) => format!("1 thread: {why}"),
            (1, None) => "1 thread".into(),
            (n, _) => format!("{n} threads"),
        }
    }
}

type ThreadsListener = Box<dyn Fn(&CpuThreads)>;

thread_local! {
    static THREADS: RefCell<Option<CpuThreads>> = const { RefCell::new(None) };
    static THREADS_LISTENERS: RefCell<Vec<ThreadsListener>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with the CPU engine's threads once the worker reports them (at once if it
/// has). It does not start the worker: that waits for the first model, so that the
/// service worker controls it (a worker started before the service worker claimed the
/// page would fetch its files past the offline cache).
pub fn on_cpu_threads(f: impl Fn(&CpuThreads) + 'static) {
    if let Some(t) = THREADS.with(|t| t.borrow().clone()) {
        return f(&t);
    }
    THREADS_LISTENERS.with(|l| l.borrow_mut().push(Box::new(f)));
}

/// The CPU engine's threads, if the worker has reported them.
pub fn cpu_threads_now() -> Option<CpuThreads> {
    THREADS.with(|t| t.borrow().clone())
}

fn set_cpu_threads(t: CpuThreads) {
    THREADS.with(|s| *s.borrow_mut() = Some(t.clone()));
    THREADS_LISTENERS.with(|l| l.borrow().iter().for_each(|f| f(&t)));
}

/// Whether the page is cross-origin isolated (`self.crossOriginIsolated`), so that the
/// threaded worker can have its shared memory.
fn cross_origin_isolated() -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str("crossOriginIsolated"))
        .map(|v| v.is_truthy())
        .unwrap_or(false)
}

/// Replies of one run, waiting to be read.
#[derive(Default)]
struct Mailbox {
    replies: RefCell<VecDeque<Result<Reply, String>>>,
    waker: Cell<Option<Waker>>,
}

impl Mailbox {
    fn push(&self, reply: Result<Reply, String>) {
        self.replies.borrow_mut().push_back(reply);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// The running worker.
struct Handle {
    worker: RefCell<web_sys::Worker>,
    /// Whether this is the threaded worker (it falls back to the single-threaded one if
    /// it fails before it is ready), and why it fell back.
    threaded: Cell<bool>,
    fell_back: RefCell<Option<String>>,
    /// Requests sent before the worker said it is ready are queued here.
    queued: RefCell<Option<Vec<JsValue>>>,
    runs: RefCell<HashMap<u64, Rc<Mailbox>>>,
    /// Why the worker stopped, once it has.
    dead: RefCell<Option<String>>,
    next_id: Cell<u64>,
}

thread_local! {
    static WORKER: RefCell<Option<Rc<Handle>>> = const { RefCell::new(None) };
}

/// Whether this is the page (not the worker, not a native test).
fn on_page() -> bool {
    cfg!(target_arch = "wasm32") && web_sys::window().is_some()
}

/// The worker, started on first use.
fn handle() -> Result<Rc<Handle>, String> {
    if let Some(h) = WORKER.with(|w| w.borrow().clone()) {
        let dead = h.dead.borrow().clone();
        return match dead {
            Some(why) => Err(format!(
                "the CPU engine's worker stopped: {why}; reload the page"
            )),
            None => Ok(h),
        };
    }
    let threaded = cross_origin_isolated();
    let url = if threaded { WORKER_MT_URL } else { WORKER_URL };
    let worker = web_sys::Worker::new(url)
        .map_err(|e| format!("could not start the CPU engine's worker: {e:?}"))?;
    let h = Rc::new(Handle {
        worker: RefCell::new(worker),
        threaded: Cell::new(threaded),
        fell_back: RefCell::new(None),
        queued: RefCell::new(Some(Vec::new())),
        runs: RefCell::new(HashMap::new()),
        dead: RefCell::new(None),
        next_id: Cell::new(1),
    });
    h.listen();
    WORKER.with(|w| *w.borrow_mut() = Some(h.clone()));
    Ok(h)
}

impl Handle {
    /// Routes the worker's messages and errors to this handle.
    fn listen(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                if let Some(h) = weak.upgrade() {
                    h.receive(e.data().as_string().unwrap_or_default());
                }
            });
        let weak = Rc::downgrade(self);
        let on_error =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
                if let Some(h) = weak.upgrade() {
                    h.failed(e.message());
                }
            });
        let worker = self.worker.borrow();
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // The worker lives as long as the page.
        on_message.forget();
        on_error.forget();
    }

    /// The worker failed. The threaded one, before it was ready (its files missing, or a
    /// browser that refuses its shared memory), is replaced by the single-threaded one,
    /// which gets the queued requests; otherwise the worker is dead.
    fn failed(self: &Rc<Self>, why: String) {
        let ready = self.queued.borrow().is_none();
        if ready || !self.threaded.get() {
            return self.die(why);
        }
        self.worker.borrow().terminate();
        match web_sys::Worker::new(WORKER_URL) {
            Ok(w) => {
                web_sys::console::warn_1(
                    &format!("the threaded CPU worker failed ({why}); using one thread").into(),
                );
                *self.worker.borrow_mut() = w;
                self.threaded.set(false);
                *self.fell_back.borrow_mut() = Some(format!("the threaded build failed: {why}"));
                self.listen();
            }
            Err(e) => self.die(format!("{why}; then {e:?}")),
        }
    }

    fn receive(&self, text: String) {
        match Reply::from_json(&text) {
            Ok(Reply::Ready { threads, why_one }) => {
                for m in self.queued.take().unwrap_or_default() {
                    let _ = self.worker.borrow().post_message(&m);
                }
                let why_one = match (self.threaded.get(), why_one) {
                    (true, why) => why,
                    (false, _) if !cross_origin_isolated() => {
                        Some("the page is not cross-origin isolated".into())
                    }
                    (false, why) => self.fell_back.borrow().clone().or(why),
                };
                set_cpu_threads(CpuThreads { threads, why_one });
            }
            Ok(Reply::Loaded {
                key,
                error: Some(e),
            }) => {
                web_sys::console::error_1(&format!("CPU worker, model {key}: {e}").into());
            }
            Ok(reply) => {
                let mailbox = reply
                    .run()
                    .and_then(|r| self.runs.borrow().get(&r).cloned());
                if let Some(m) = mailbox {
                    m.push(Ok(reply));
                }
            }
            Err(e) => self.die(e),
        }
    }

    /// The worker failed: every run waiting on it learns why.
    fn die(&self, why: String) {
        let why = if why.is_empty() {
            "unknown error".to_string()
        } else {
            why
        };
        *self.dead.borrow_mut() = Some(why.clone());
        for m in self.runs.borrow().values() {
            m.push(Err(format!("the CPU engine's worker stopped: {why}")));
        }
    }

    fn send(&self, request: &Request, files: Option<Array>) {
        let message = Object::new();
        let _ = Reflect::set(&message, &"msg".into(), &request.to_json().into());
        let transfer = Array::new();
        if let Some(files) = files {
            for f in files.iter() {
                if let Ok(a) = f.dyn_into::<Uint8Array>() {
                    transfer.push(&a.buffer());
                }
            }
            let _ = Reflect::set(&message, &"files".into(), &files);
        }
        let message: JsValue = message.into();
        if let Some(q) = self.queued.borrow_mut().as_mut() {
            q.push(message);
            return;
        }
        let sent = (self.worker.borrow()).post_message_with_transfer(&message, &transfer);
        if let Err(e) = sent {
            self.die(format!("could not send to the worker: {e:?}"));
        }
    }
}

/// Sends a model's files (name, bytes) to the worker, which builds it again there;
/// returns the key runs name it by (`None` outside the page or if the worker cannot start).
pub(super) fn register(id: &str, files: &[(&str, &[u8])]) -> Option<u64> {
    if !on_page() {
        return None;
    }
    let h = handle().ok()?;
    let key = h.next_id.get();
    h.next_id.set(key + 1);
    let arrays = Array::new();
    for (_, bytes) in files {
        arrays.push(&Uint8Array::from(*bytes));
    }
    h.send(
        &Request::Load {
            key,
            id: id.to_string(),
            names: files.iter().map(|(n, _)| n.to_string()).collect(),
        },
        Some(arrays),
    );
    Some(key)
}

/// Tells the worker to drop model `key`.
pub(super) fn forget(key: u64) {
    if let Some(h) = WORKER.with(|w| w.borrow().clone()) {
        h.send(&Request::Drop { key }, None);
    }
}

/// A generation running in the worker: its replies, read with [`WorkerRun::next`].
pub struct WorkerRun {
    run: u64,
    handle: Rc<Handle>,
    mailbox: Rc<Mailbox>,
}

impl WorkerRun {
    /// Starts generating from `prompt` with each `(slot, worker key)` in the worker.
    pub fn start(
        slots: Vec<(usize, u64)>,
        prompt: &str,
        sampling: Sampling,
    ) -> Result<Self, String> {
        Self::send(|run| Request::Generate {
            run,
            prompt: prompt.to_string(),
            params: sampling.params,
            max_new_tokens: sampling.max_new_tokens,
            slots,
        })
    }

    /// Starts the in-page benchmark's CPU rows for `family` in the worker.
    pub fn bench(family: &str, spec: &crate::bench_types::Spec) -> Result<Self, String> {
        Self::send(|run| Request::Bench {
            run,
            family: family.to_string(),
            spec: spec.clone(),
        })
    }

    /// Sends the request `make(run id)` and opens the run's mailbox.
    fn send(make: impl FnOnce(u64) -> Request) -> Result<Self, String> {
        let handle = handle()?;
        let run = handle.next_id.get();
        handle.next_id.set(run + 1);
        let mailbox = Rc::new(Mailbox::default());
        handle.runs.borrow_mut().insert(run, mailbox.clone());
        handle.send(&make(run), None);
        Ok(WorkerRun {
            run,
            handle,
            mailbox,
        })
    }

    /// The next reply (`Err` if the worker died); `None` after [`Reply::RunOver`].
    pub async fn next(&mut self) -> Option<Result<Reply, String>> {
        let reply = poll_fn(|cx| match self.mailbox.replies.borrow_mut().pop_front() {
            Some(r) => Poll::Ready(r),
            None => {
                self.mailbox.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await;
        match reply {
            Ok(Reply::RunOver { .. }) => None,
            r => Some(r),
        }
    }

    /// Asks the worker to stop this run (it ends at its next chunk or token).
    pub fn stop(&self) {
        self.handle.send(&Request::Stop { run: self.run }, None);
    }
}

impl Drop for WorkerRun {
    fn drop(&mut self) {
        self.handle.runs.borrow_mut().remove(&self.run);
    }
}
