//! Which engine the page runs models on: the GPU engine where the browser gives a WebGPU
//! adapter that is a real GPU and a device opens on it, else the CPU engine with the
//! reason for the badge. A software adapter (SwiftShader, llvmpipe, a fallback adapter)
//! is never the default: the CPU engine is 1,000x faster than WebGPU on SwiftShader. The
//! badge's switch overrides the choice; it is remembered in `localStorage`
//! ([`PREFERENCE_KEY`]), and `#backend=cpu` in the link overrides both.
//!
//! Hand-written state, not a resource: the choice is made once at start, and changes
//! later when the GPU fails in the middle of a run ([`EngineChoice::gpu_failed`]); the
//! open device is kept beside it for every model loaded afterwards.

use leptos::prelude::*;

use crate::engine::{Backend, GpuEngine};
use crate::web::{self, WebGpu};

/// Which engine generates, as the badge shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum EngineState {
    /// Asking the browser for WebGPU.
    Checking,
    /// The GPU engine on this adapter.
    Gpu(String),
    /// The CPU engine; the text says why not the GPU.
    Cpu(String),
}

impl EngineState {
    /// The word tests read.
    pub fn marker(&self) -> &'static str {
        match self {
            EngineState::Checking => "checking",
            EngineState::Gpu(_) => "gpu",
            EngineState::Cpu(_) => "cpu",
        }
    }
}

/// Where the switch's choice is kept: "gpu", "cpu", or absent (automatic).
pub const PREFERENCE_KEY: &str = "hybrid.engine";

/// The engine the user chose with the switch, if any.
fn preference() -> Option<String> {
    let storage = web_sys::window()?.local_storage().ok()??;
    storage.get_item(PREFERENCE_KEY).ok()?
}

/// Remembers the switch's choice (a browser without storage simply forgets it).
fn set_preference(engine: &str) {
    if let Some(Ok(Some(storage))) = web_sys::window().map(|w| w.local_storage()) {
        let _ = storage.set_item(PREFERENCE_KEY, engine);
    }
}

/// Whether the adapter the browser described is a software renderer, by the words of
/// `adapter.info` (`web::probe_webgpu` adds "fallback adapter" when the browser says so).
pub fn is_software_adapter(description: &str) -> bool {
    let d = description.to_lowercase();
    [
        "swiftshader",
        "llvmpipe",
        "lavapipe",
        "software",
        "fallback adapter",
        "basic render",
    ]
    .iter()
    .any(|w| d.contains(w))
}

/// The engine choice: what the browser offers, the engine in use, the open GPU.
#[derive(Clone, Copy)]
pub struct EngineChoice {
    /// What `navigator.gpu` said.
    pub webgpu: RwSignal<WebGpu>,
    /// The engine new models go to.
    pub state: RwSignal<EngineState>,
    /// The open GPU, while the GPU engine is in use.
    gpu: StoredValue<Option<GpuEngine>, LocalStorage>,
    /// `#backend=cpu`: the user asked for the CPU engine.
    pub force_cpu: RwSignal<bool>,
}

impl EngineChoice {
    pub fn new(force_cpu: bool) -> Self {
        EngineChoice {
            webgpu: RwSignal::new(WebGpu::Checking),
            state: RwSignal::new(EngineState::Checking),
            gpu: StoredValue::new_local(None),
            force_cpu: RwSignal::new(force_cpu),
        }
    }

    /// Chooses the engine (once, at start).
    pub async fn init(self) {
        let probe = web::probe_webgpu().await;
        self.webgpu.set(probe.clone());
        let preferred = preference();
        let state = match probe {
            _ if self.force_cpu.get_untracked() => {
                EngineState::Cpu("chosen in the link (#backend=cpu)".into())
            }
            WebGpu::Missing(why) => EngineState::Cpu(format!("no WebGPU: {why}")),
            _ if preferred.as_deref() == Some("cpu") => {
                EngineState::Cpu("chosen with the switch (remembered in this browser)".into())
            }
            WebGpu::Available(a) if is_software_adapter(&a) && preferred.is_none() => {
                EngineState::Cpu(format!(
                    "WebGPU here is a software renderer ({a}), far slower than the CPU engine"
                ))
            }
            WebGpu::Checking | WebGpu::Available(_) => match GpuEngine::open().await {
                Ok(gpu) => {
                    let adapter = match &probe {
                        WebGpu::Available(a) => Some(a.as_str()),
                        _ => None,
                    };
                    let name = gpu.adapter_name(adapter);
                    self.gpu.set_value(Some(gpu));
                    EngineState::Gpu(name)
                }
                Err(e) => EngineState::Cpu(format!("WebGPU failed: {e}")),
            },
        };
        self.state.set(state);
    }

    /// The switch: remembers `engine` ("gpu" or "cpu") and reloads the page with it.
    pub fn switch_to(self, engine: &str) {
        set_preference(engine);
        // The hash effect drops `backend=cpu`; the reload picks the engine again.
        self.force_cpu.set(false);
        request_animation_frame(web::reload);
    }

    /// Whether the choice is made (tracked).
    pub fn chosen(self) -> bool {
        self.state.get() != EngineState::Checking
    }

    /// `backend` on the current engine: uploaded to the GPU (and checked there) while the
    /// GPU engine is in use. On failure the model stays on the CPU and the reason is
    /// returned: the caller moves the page to the CPU engine ([`EngineChoice::gpu_failed`]).
    pub async fn place(self, backend: Backend) -> (Backend, Option<String>) {
        let Some(gpu) = self.gpu.get_value() else {
            return (backend, None);
        };
        match backend.to_gpu(&gpu).await {
            Ok(b) => (b, None),
            Err(e) => (backend, Some(e)),
        }
    }

    /// The GPU engine failed: later models go to the CPU engine and the badge says why.
    /// Returns whether it was in use (then the caller moves the loaded models too).
    pub fn gpu_failed(self, reason: &str) -> bool {
        if self.gpu.with_value(|g| g.is_none()) {
            return false;
        }
        self.gpu.set_value(None);
        self.state
            .set(EngineState::Cpu(format!("the GPU engine failed: {reason}")));
        true
    }
}
