//! The worker's message loop: keeps the models by key, starts and stops runs.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::protocol::{Reply, Request};
use super::runner::{self, Host};
use crate::engine::Backend;
use crate::sampling::Sampling;

thread_local! {
    /// The models, by the key the page gave them.
    static MODELS: RefCell<HashMap<u64, Rc<Backend>>> = RefCell::new(HashMap::new());
    /// Runs the page asked to stop.
    static STOPPED: RefCell<HashSet<u64>> = RefCell::new(HashSet::new());
}

/// Starts the worker: listens for requests, then tells the page it is ready.
pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| handle(e.data()));
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    spawn_local(async {
        let threads = start_threads().await;
        post(Reply::Ready {
            threads: *threads.as_ref().unwrap_or(&1),
            why_one: threads.err(),
        });
    });
}

/// The threaded build: the engine's pool on Web Workers (`threads`).
#[cfg(target_feature = "atomics")]
async fn start_threads() -> Result<usize, String> {
    super::threads::start().await
}

/// The single-threaded build, loaded where the page is not cross-origin isolated.
#[cfg(not(target_feature = "atomics"))]
async fn start_threads() -> Result<usize, String> {
    Err("the single-threaded build".into())
}

fn post(reply: Reply) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    // A failed post means the page is gone; nothing to tell.
    let _ = scope.post_message(&JsValue::from_str(&reply.to_json()));
}

fn handle(data: JsValue) {
    let text = Reflect::get(&data, &JsValue::from_str("msg"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    let request = match Request::from_json(&text) {
        Ok(r) => r,
        Err(e) => return web_sys::console::error_1(&JsValue::from_str(&e)),
    };
    match request {
        Request::Load { key, id, names } => {
            let files = Reflect::get(&data, &JsValue::from_str("files"))
                .map(|f| Array::from(&f))
                .unwrap_or_default();
            let bytes: Vec<Vec<u8>> = files.iter().map(|f| Uint8Array::new(&f).to_vec()).collect();
            let error = if bytes.len() == names.len() {
                let named: Vec<(&str, &[u8])> = names
                    .iter()
                    .map(String::as_str)
                    .zip(bytes.iter().map(Vec::as_slice))
                    .collect();
                match Backend::cpu_from_folder(&id, &named) {
                    Ok(b) => {
                        MODELS.with(|m| m.borrow_mut().insert(key, Rc::new(b)));
                        None
                    }
                    Err(e) => Some(e),
                }
            } else {
                Some(format!(
                    "{} model files arrived, {} named",
                    bytes.len(),
                    names.len()
                ))
            };
            post(Reply::Loaded { key, error });
        }
        Request::Drop { key } => {
            MODELS.with(|m| m.borrow_mut().remove(&key));
        }
        Request::Stop { run } => {
            STOPPED.with(|s| s.borrow_mut().insert(run));
        }
        Request::Bench { run, family, spec } => spawn_local(async move {
            crate::bench::cpu_rows(&spec, &family, |row| post(Reply::BenchRow { run, row })).await;
            post(Reply::RunOver { run });
        }),
        Request::Generate {
            run,
            prompt,
            params,
            max_new_tokens,
            slots,
        } => {
            let mut models = Vec::new();
            for (slot, key) in slots {
                match MODELS.with(|m| m.borrow().get(&key).cloned()) {
                    Some(b) => models.push((slot, b)),
                    None => post(Reply::Finished {
                        run,
                        slot,
                        outcome: Err(format!("the CPU worker has no model {key}")),
                        update: Default::default(),
                    }),
                }
            }
            let sampling = Sampling {
                max_new_tokens,
                params,
            };
            spawn_local(async move {
                runner::run(&WorkerHost, run, models, &prompt, sampling).await;
                STOPPED.with(|s| s.borrow_mut().remove(&run));
            });
        }
    }
}

/// The browser worker as the runner's host.
struct WorkerHost;

impl Host for WorkerHost {
    fn post(&self, reply: Reply) {
        post(reply);
    }

    fn stopped(&self, run: u64) -> bool {
        STOPPED.with(|s| s.borrow().contains(&run))
    }

    fn now_ms(&self) -> f64 {
        Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
            .map(|p| p.unchecked_into::<web_sys::Performance>().now())
            .unwrap_or_else(|_| js_sys::Date::now())
    }

    fn memory_bytes(&self) -> usize {
        wasm_bindgen::memory()
            .dyn_into::<js_sys::WebAssembly::Memory>()
            .map(|m| {
                m.buffer()
                    .unchecked_into::<js_sys::ArrayBuffer>()
                    .byte_length() as usize
            })
            .unwrap_or(0)
    }

    /// A round trip through a `MessageChannel`: lets queued messages ("Stop") in,
    /// without the 4 ms clamp of nested `setTimeout`s.
    async fn pause(&self) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Ok(channel) = web_sys::MessageChannel::new() {
                channel.port1().set_onmessage(Some(&resolve));
                if channel.port2().post_message(&JsValue::NULL).is_ok() {
                    return;
                }
            }
            let _ = resolve.call0(&JsValue::NULL);
        });
        let _ = JsFuture::from(promise).await;
    }
}
