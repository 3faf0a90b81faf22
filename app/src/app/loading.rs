//! Engine start-up, the model catalog, slots, and loading models (catalog or dropped files).

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{EngineState, LoadState, Playground, Slot, FILE_PREFIX, MAX_MODELS};
use crate::catalog::{self, ModelEntry, INDEX_URL, MODEL_FILES};
use crate::engine::Backend;
use crate::web::{self, WebGpu};

impl Playground {
    /// Chooses the engine: the GPU where the browser gives a WebGPU adapter and a device
    /// opens on it, else the CPU engine with the reason for the badge.
    pub async fn init_engine(self) {
        let probe = web::probe_webgpu().await;
        self.webgpu.set(probe.clone());
        let state = match probe.clone() {
            _ if self.force_cpu.get_untracked() => {
                EngineState::Cpu("chosen in the link (#backend=cpu)".into())
            }
            WebGpu::Missing(why) => EngineState::Cpu(format!("no WebGPU: {why}")),
            WebGpu::Checking | WebGpu::Available(_) => match hybrid_gpu::Gpu::new().await {
                Ok(gpu) => {
                    // In the browser wgpu's adapter name is empty; the probe read
                    // `adapter.info` (vendor, architecture, description).
                    let name = match (&probe, gpu.info.name.is_empty()) {
                        (WebGpu::Available(a), true) => {
                            format!("{a} ({:?})", gpu.info.device_type)
                        }
                        _ => gpu.adapter_string(),
                    };
                    self.gpu.set_value(Some(Arc::new(gpu)));
                    EngineState::Gpu(name)
                }
                Err(e) => EngineState::Cpu(format!("WebGPU failed: {e}")),
            },
        };
        self.engine.set(state);
    }

    /// `backend` on the current engine: uploaded to the GPU (and checked there) while the
    /// GPU engine is in use; a failure moves the page to the CPU engine.
    async fn on_engine(self, backend: Backend) -> Backend {
        let Some(gpu) = self.gpu.get_value() else {
            return backend;
        };
        match backend.to_gpu(gpu).await {
            Ok(b) => b,
            Err(e) => {
                self.gpu_failed(&e);
                backend
            }
        }
    }

    /// The GPU engine failed: every model moves to the CPU engine and the badge says why.
    pub fn gpu_failed(self, reason: &str) {
        if self.gpu.get_value().is_none() {
            return;
        }
        self.gpu.set_value(None);
        self.engine
            .set(EngineState::Cpu(format!("the GPU engine failed: {reason}")));
        let to_cpu = |b: &Rc<Backend>| {
            if b.is_gpu() {
                Rc::new(b.cpu_only())
            } else {
                b.clone()
            }
        };
        for slot in self.slots {
            if let Some(b) = slot.backend.get_value() {
                slot.backend.set_value(Some(to_cpu(&b)));
            }
        }
        self.user_models.update_value(|u| {
            for (_, b) in u.iter_mut() {
                *b = to_cpu(b);
            }
        });
    }

    /// Fetches the model list and fills the slots (from the URL hash, else the first model).
    pub async fn load_index(self) {
        let bytes = match web::fetch_bytes(INDEX_URL, |_, _| {}).await {
            Ok(b) => b,
            Err(e) => {
                return self
                    .index_error
                    .set(Some(format!("could not read the model list: {e}")))
            }
        };
        let models = match catalog::parse_index(&bytes) {
            Ok(m) if m.is_empty() => {
                return self
                    .index_error
                    .set(Some(format!("{INDEX_URL} lists no models")))
            }
            Ok(m) => m,
            Err(e) => return self.index_error.set(Some(e)),
        };
        let wanted = self.pending_models.get_value();
        let (known, unknown): (Vec<String>, Vec<String>) = wanted
            .into_iter()
            .partition(|id| models.iter().any(|m| &m.id == id));
        if !unknown.is_empty() {
            self.notice.set(Some(format!(
                "The link names models this page does not have: {}",
                unknown.join(", ")
            )));
        }
        let first = models.first().map(|m| m.id.clone());
        self.models.set(models);
        let chosen: Vec<String> = if known.is_empty() {
            first.into_iter().collect()
        } else {
            known
        };
        self.count.set(chosen.len().clamp(1, MAX_MODELS));
        for (i, id) in chosen.into_iter().take(MAX_MODELS).enumerate() {
            self.select(i, id);
        }
    }

    /// Puts model `id` into slot `i` and loads it.
    pub fn select(self, i: usize, id: String) {
        let Some(slot) = self.slots.get(i).copied() else {
            return;
        };
        slot.key.set(Some(id.clone()));
        if let Some((_, backend)) = self
            .user_models
            .with_value(|u| u.iter().find(|(k, _)| *k == id).cloned())
        {
            slot.load_seq.update_value(|s| *s += 1);
            slot.reset_output();
            slot.load.set(LoadState::Ready(backend.loaded().summary()));
            slot.backend.set_value(Some(backend));
            slot.version.update(|v| *v += 1);
            return;
        }
        match self.models.get_untracked().into_iter().find(|m| m.id == id) {
            Some(entry) => spawn_local(self.load_model(slot, entry)),
            None => slot
                .load
                .set(LoadState::Failed(format!("no model with id {id:?}"))),
        }
    }

    /// Adds a slot with the next model not yet compared.
    pub fn add_slot(self) {
        let n = self.count.get_untracked();
        if n >= MAX_MODELS {
            return;
        }
        let used: Vec<String> = self
            .active_untracked()
            .iter()
            .filter_map(|s| s.key.get_untracked())
            .collect();
        let models = self.models.get_untracked();
        let Some(next) = models
            .iter()
            .find(|m| !used.contains(&m.id))
            .or(models.first())
            .map(|m| m.id.clone())
        else {
            return;
        };
        self.count.set(n + 1);
        self.select(n, next);
    }

    /// Removes slot `i`, shifting the later ones down.
    pub fn remove_slot(self, i: usize) {
        let n = self.count.get_untracked();
        if n <= 1 || i >= n {
            return;
        }
        let keys: Vec<Option<String>> = self.slots[..n]
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| s.key.get_untracked())
            .collect();
        self.count.set(n - 1);
        for (j, key) in keys.into_iter().enumerate() {
            if j >= i {
                if let Some(k) = key {
                    self.select(j, k);
                }
            }
        }
        let last = self.slots[n - 1];
        last.key.set(None);
        last.backend.set_value(None);
        last.load.set(LoadState::Idle);
        last.reset_output();
    }

    async fn load_model(self, slot: Slot, entry: ModelEntry) {
        let seq = slot.load_seq.get_value() + 1;
        slot.load_seq.set_value(seq);
        let current = move || slot.load_seq.get_value() == seq;
        slot.backend.set_value(None);
        slot.version.update(|v| *v += 1);
        slot.reset_output();
        self.run_error.set(None);

        let mut files: Vec<Vec<u8>> = Vec::with_capacity(MODEL_FILES.len());
        for (step, file) in MODEL_FILES.iter().enumerate() {
            let loading = |received, total| LoadState::Loading {
                what: file.to_string(),
                step,
                received,
                total,
            };
            slot.load.set(loading(0, None));
            let result = web::fetch_bytes(&entry.file_url(file), |received, total| {
                if current() {
                    slot.load.set(loading(received, total));
                }
            })
            .await;
            if !current() {
                return;
            }
            match result {
                Ok(bytes) => files.push(bytes),
                Err(e) => return slot.load.set(LoadState::Failed(e)),
            }
        }
        slot.load.set(LoadState::Loading {
            what: "building the model".into(),
            step: MODEL_FILES.len(),
            received: 0,
            total: None,
        });
        web::yield_to_browser().await;
        if !current() {
            return;
        }
        let Ok([config, tokenizer, weights]) = <[Vec<u8>; 3]>::try_from(files) else {
            return slot
                .load
                .set(LoadState::Failed("not all model files arrived".into()));
        };
        match Backend::cpu_from_files(&entry.id, &config, &weights, &tokenizer) {
            Ok(backend) => {
                let backend = self.on_engine(backend).await;
                if !current() {
                    return;
                }
                slot.load.set(LoadState::Ready(backend.loaded().summary()));
                slot.backend.set_value(Some(Rc::new(backend)));
                slot.version.update(|v| *v += 1);
            }
            Err(e) => slot.load.set(LoadState::Failed(e)),
        }
    }

    /// Validates a dropped checkpoint (config.json + model.safetensors + tokenizer.json)
    /// and puts it into a slot.
    pub fn add_user_model(self, files: Vec<(String, Vec<u8>)>) {
        self.drop_error.set(None);
        let find = |name: &str| {
            files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b.as_slice())
        };
        let (Some(config), Some(weights), Some(tokenizer)) = (
            find("config.json"),
            find("model.safetensors"),
            find("tokenizer.json"),
        ) else {
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            return self.drop_error.set(Some(format!(
                "choose three files together: config.json, model.safetensors and tokenizer.json (got: {})",
                if names.is_empty() { "nothing".to_string() } else { names.join(", ") }
            )));
        };
        let backend = match Backend::cpu_from_files("your checkpoint", config, weights, tokenizer) {
            Ok(b) => b,
            Err(e) => return self.drop_error.set(Some(e)),
        };
        spawn_local(self.add_user_backend(backend));
    }

    async fn add_user_backend(self, backend: Backend) {
        let backend = Rc::new(self.on_engine(backend).await);
        let n = self.user_models.with_value(|u| u.len()) + 1;
        let id = format!("{FILE_PREFIX}{n}");
        let name = format!("Your checkpoint {n}: {}", backend.config().display_name());
        self.user_models
            .update_value(|u| u.push((id.clone(), backend.clone())));
        self.models.update(|m| {
            m.push(ModelEntry {
                id: id.clone(),
                name,
                description: "Opened from your disk; it stays in this tab.".into(),
                path: String::new(),
            })
        });
        let n = self.count.get_untracked();
        let slot = if n < MAX_MODELS {
            self.count.set(n + 1);
            n
        } else {
            n - 1
        };
        self.select(slot, id);
    }
}
