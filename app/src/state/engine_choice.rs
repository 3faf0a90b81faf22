//! Which engine the page runs models on: the GPU engine where the browser gives a WebGPU
//! adapter and a device opens on it, else the CPU engine with the reason for the badge.
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
        let state = match probe {
            _ if self.force_cpu.get_untracked() => {
                EngineState::Cpu("chosen in the link (#backend=cpu)".into())
            }
            WebGpu::Missing(why) => EngineState::Cpu(format!("no WebGPU: {why}")),
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
