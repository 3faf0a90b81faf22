//! [`Backend`]: one model on one engine, the CPU reference or the GPU engine. A GPU
//! backend keeps its CPU model too: the figures that feed token by token (loss by
//! position, recall) run on the CPU reference, and a generation or probe that hits a GPU
//! error carries on there.

use std::rc::Rc;

use hybrid_core::hf;
use hybrid_core::weights::Weights;
use hybrid_core::{ModelConfig, Tokenizer};
use hybrid_gpu::{GpuModel, SessionOptions};

use super::gpu::{check_close, GpuEngine};
use super::loaded::{weight_files, LoadedModel, NamedFiles};

/// Largest prefill chunk of a GPU session (one submission each).
pub(super) const GPU_CHUNK: usize = 256;

/// A model on an engine.
pub enum Backend {
    /// The CPU reference engine.
    Cpu(Rc<LoadedModel>),
    /// The GPU engine; `cpu` is the same model on the CPU reference engine.
    Gpu {
        cpu: Rc<LoadedModel>,
        gpu: Box<GpuModel>,
    },
}

impl Backend {
    /// A CPU model from its three files (errors name the file at fault). In the page the
    /// files also go to the CPU engine's worker, which builds the model there for
    /// generation ([`Backend::worker_key`]).
    pub fn cpu_from_files(
        id: &str,
        config: &[u8],
        weights: &[u8],
        tokenizer: &[u8],
    ) -> Result<Self, String> {
        Self::cpu_from_folder(
            id,
            &[
                ("config.json", config),
                (hf::WEIGHTS_FILE, weights),
                ("tokenizer.json", tokenizer),
            ],
        )
    }

    /// A CPU model from a folder's files by name: the project's format or a Hugging Face
    /// checkpoint, sharded or not (only the files the model needs go to the worker).
    pub fn cpu_from_folder(id: &str, files: &NamedFiles) -> Result<Self, String> {
        let mut model = LoadedModel::from_folder(id, files)?;
        let mut needed = vec!["config.json".to_string(), "tokenizer.json".to_string()];
        needed.push(hf::INDEX_FILE.to_string());
        needed.extend(weight_files(id, files)?);
        let sent: Vec<(&str, &[u8])> = files
            .iter()
            .filter(|(n, _)| needed.iter().any(|m| m == n))
            .copied()
            .collect();
        model.worker_key = super::worker::register(id, &sent);
        Ok(Backend::Cpu(Rc::new(model)))
    }

    /// The key of this model's copy in the CPU engine's worker: generation on the CPU
    /// engine runs there ([`super::WorkerRun`]). `None` outside the page and for designed
    /// models (no tokenizer).
    pub fn worker_key(&self) -> Option<u64> {
        self.loaded().worker_key
    }

    /// A designed architecture with seeded random weights (no tokenizer: timing only).
    pub fn cpu_random(id: &str, config: ModelConfig, seed: u64) -> Result<Self, String> {
        let weights = Weights::random(&config, seed).map_err(|e| e.to_string())?;
        Ok(Backend::Cpu(Rc::new(LoadedModel {
            id: id.to_string(),
            model: hybrid_core::Model::new(config, weights),
            tokenizer: None,
            worker_key: None,
        })))
    }

    /// This model on the GPU: uploads the weights, then checks a short prefill against
    /// the CPU engine (a shader that compiles but computes wrong fails here, not in the
    /// middle of a generation). Errors say why, for the page's badge.
    pub async fn to_gpu(&self, gpu: &GpuEngine) -> Result<Self, String> {
        let cpu = self.loaded().clone();
        let model = GpuModel::new(gpu.device(), &cpu.model).map_err(|e| e.to_string())?;
        let vocab = cpu.model.config().vocab_size as u32;
        let probe: Vec<u32> = [1u32, 2, 3].iter().map(|t| t % vocab.max(1)).collect();
        let mut session = model
            .session(SessionOptions {
                max_context: probe.len(),
                chunk: probe.len() - 1,
            })
            .map_err(|e| e.to_string())?;
        // A chunked prefill, then a decode step (their plans use different kernels).
        let (head, last) = probe.split_at(probe.len() - 1);
        let mut state = cpu.model.new_state();
        for part in [head, last] {
            let got = session.prefill(part).await.map_err(|e| e.to_string())?;
            let want = cpu
                .model
                .prefill(&mut state, part)
                .map_err(|e| e.to_string())?;
            check_close(&got, &want)?;
        }
        Ok(Backend::Gpu {
            cpu,
            gpu: Box::new(model),
        })
    }

    /// The same model on the CPU reference engine.
    pub fn cpu_only(&self) -> Self {
        Backend::Cpu(self.loaded().clone())
    }

    /// The engine's name for the page.
    pub fn engine_name(&self) -> &'static str {
        match self {
            Backend::Cpu(_) => "CPU (wasm)",
            Backend::Gpu { .. } => "WebGPU",
        }
    }

    /// Whether generation runs on the GPU.
    pub fn is_gpu(&self) -> bool {
        matches!(self, Backend::Gpu { .. })
    }

    /// The loaded model (the CPU side of a GPU backend).
    pub fn loaded(&self) -> &Rc<LoadedModel> {
        match self {
            Backend::Cpu(m) | Backend::Gpu { cpu: m, .. } => m,
        }
    }

    /// The model's config.
    pub fn config(&self) -> &ModelConfig {
        self.loaded().model.config()
    }

    /// The tokenizer (`None` for designed architectures with random weights).
    pub fn tokenizer(&self) -> Option<&Tokenizer> {
        self.loaded().tokenizer.as_ref()
    }
}
