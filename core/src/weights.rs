//! Checkpoint loading: safetensors (f32, f16, bf16) into f32 tensors, with every name and
//! shape of docs/FORMAT.md checked. A wrong file is an [`Error`] naming the tensor, the
//! expected and the found shape.

use std::collections::BTreeSet;

use safetensors::{Dtype, SafeTensors};

use crate::config::{AttnDims, FfnAct, Fusion, LayerKind, MambaDims, ModelConfig, OutProj};
use crate::error::{Error, Result};
use crate::sample::Rng;

/// A dense f32 tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    /// Rows of a 2-D weight `[out, in]`.
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }
    /// Columns of a 2-D weight `[out, in]`.
    pub fn cols(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }
}

/// Attention projections (`q_proj`, `k_proj`, `v_proj`, `o_proj`).
#[derive(Debug, Clone)]
pub struct AttnWeights {
    pub dims: AttnDims,
    /// [Hq*dh, D]
    pub q_proj: Tensor,
    /// [Hkv*dh, D]
    pub k_proj: Tensor,
    /// [Hkv*dh, D]
    pub v_proj: Tensor,
    /// [D, Hq*dh]; absent in intra blocks with a joint projection.
    pub o_proj: Option<Tensor>,
}

/// Mamba-2 mixer weights, the reference module's names.
#[derive(Debug, Clone)]
pub struct MambaWeights {
    pub dims: MambaDims,
    /// [2E + 2GN + H, D], rows `[z | x | B | C | dt]`
    pub in_proj: Tensor,
    /// [E + 2GN, 1, W]
    pub conv_weight: Tensor,
    /// [E + 2GN]
    pub conv_bias: Tensor,
    /// [H]
    pub dt_bias: Tensor,
    /// [H]; A = -exp(A_log)
    pub a_log: Tensor,
    /// [H]; skip connection
    pub d_skip: Tensor,
    /// [E]; gated RMSNorm weight (Mamba blocks only; intra branches use `ssm_norm`)
    pub norm: Option<Tensor>,
    /// [D, E]; absent in intra blocks with a joint projection.
    pub out_proj: Option<Tensor>,
}

/// Intra-layer hybrid weights: both branches plus the fusion.
#[derive(Debug, Clone)]
pub struct IntraWeights {
    pub attn: AttnWeights,
    pub ssm: MambaWeights,
    /// [Ha*dh] per-head RMS weight of the attention branch (with `branch_norm`).
    pub attn_norm: Option<Tensor>,
    /// [E_b] per-head RMS weight of the Mamba branch (with `branch_norm`).
    pub ssm_norm: Option<Tensor>,
    /// Learned branch scalars (with `branch_scalars`).
    pub attn_scale: Option<f32>,
    pub ssm_scale: Option<f32>,
    /// [D, Ha*dh] or [D, Ha*dh + E_b]: the joint projection (`out_proj` = "joint").
    pub out_proj: Option<Tensor>,
}

/// One block's mixer.
#[derive(Debug, Clone)]
pub enum Mixer {
    Attention(Box<AttnWeights>),
    Mamba(Box<MambaWeights>),
    Intra(Box<IntraWeights>),
}

/// A pre-norm FFN, h = rms(x) * norm: SwiGLU `down(silu(gate h) * up h)`, or without
/// `gate_proj` relu2 `down(relu(up h)^2)` (`ModelConfig::ffn_act`).
#[derive(Debug, Clone)]
pub struct Ffn {
    /// [D]
    pub norm: Tensor,
    /// [F, D]; None for a relu2 FFN (no gate).
    pub gate_proj: Option<Tensor>,
    /// [F, D]
    pub up_proj: Tensor,
    /// [D, F]
    pub down_proj: Tensor,
}

/// One block: pre-norm mixer + residual, then (unless `d_ffn` = 0) pre-norm SwiGLU FFN
/// + residual.
#[derive(Debug, Clone)]
pub struct Block {
    /// [D]
    pub mixer_norm: Tensor,
    pub mixer: Mixer,
    /// None when the config has no FFN (`d_ffn` = 0, e.g. Mamba-2 models).
    pub ffn: Option<Ffn>,
}

/// All weights of a model, in f32.
#[derive(Debug, Clone)]
pub struct Weights {
    /// [V, D]
    pub embed_tokens: Tensor,
    pub blocks: Vec<Block>,
    /// [D]
    pub norm_f: Tensor,
    /// [V, D] when embeddings are not tied.
    pub lm_head: Option<Tensor>,
}

impl Weights {
    /// The output projection: `lm_head` or the tied embedding.
    pub fn head(&self) -> &Tensor {
        self.lm_head.as_ref().unwrap_or(&self.embed_tokens)
    }

    /// Read and check a safetensors file against `cfg`.
    pub fn load(cfg: &ModelConfig, bytes: &[u8]) -> Result<Self> {
        crate::header::check(bytes)?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Safetensors(e.to_string()))?;
        Self::build(cfg, Source::File(st))
    }

    /// Random weights for `cfg` (seeded): for architectures being designed, and for tests.
    /// Matrices ~ N(0, 1/in), norms 1, Mamba's A, dt_bias and D as in the reference init.
    pub fn random(cfg: &ModelConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        Self::build(cfg, Source::Random(Rng::new(seed)))
    }

    fn build(cfg: &ModelConfig, source: Source<'_>) -> Result<Self> {
        let mut r = Reader {
            source,
            taken: BTreeSet::new(),
        };
        let (d, f, v) = (cfg.d_model, cfg.d_ffn, cfg.vocab_size);
        let embed_tokens = r.take("embed_tokens.weight", &[v, d])?;
        let mut blocks = Vec::with_capacity(cfg.layers.len());
        for (i, kind) in cfg.layers.iter().enumerate() {
            let p = format!("layers.{i}.");
            let mx = format!("{p}mixer.");
            let mixer = match kind {
                LayerKind::Attention => {
                    let a = cfg.attn_dims().ok_or_else(missing_section)?;
                    Mixer::Attention(Box::new(r.attn(&mx, a, d, true)?))
                }
                LayerKind::Mamba => {
                    let m = cfg.mamba_dims().ok_or_else(missing_section)?;
                    Mixer::Mamba(Box::new(r.mamba(&mx, m, d, true)?))
                }
                LayerKind::Intra => {
                    let ic = cfg.intra.as_ref().ok_or_else(missing_section)?;
                    let a = cfg.intra_attn_dims().ok_or_else(missing_section)?;
                    let m = cfg.intra_mamba_dims().ok_or_else(missing_section)?;
                    let separate = match ic.out_proj {
                        OutProj::Separate => true,
                        OutProj::Joint => false,
                    };
                    let attn = r.attn(&format!("{mx}attn."), a, d, separate)?;
                    let ssm = r.mamba(&format!("{mx}ssm."), m, d, separate)?;
                    let (attn_norm, ssm_norm) = if ic.branch_norm {
                        (
                            Some(r.take(&format!("{mx}attn_norm.weight"), &[a.o_dim()])?),
                            Some(r.take(&format!("{mx}ssm_norm.weight"), &[m.d_inner()])?),
                        )
                    } else {
                        (None, None)
                    };
                    let (attn_scale, ssm_scale) = if ic.branch_scalars {
                        (
                            r.take(&format!("{mx}attn_scale"), &[1])?
                                .data
                                .first()
                                .copied(),
                            r.take(&format!("{mx}ssm_scale"), &[1])?
                                .data
                                .first()
                                .copied(),
                        )
                    } else {
                        (None, None)
                    };
                    let out_proj = if separate {
                        None
                    } else {
                        let cols = match ic.fusion {
                            Fusion::Concat => a.o_dim() + m.d_inner(),
                            Fusion::Add | Fusion::Subtract => a.o_dim(),
                        };
                        Some(r.take(&format!("{mx}out_proj.weight"), &[d, cols])?)
                    };
                    Mixer::Intra(Box::new(IntraWeights {
                        attn,
                        ssm,
                        attn_norm,
                        ssm_norm,
                        attn_scale,
                        ssm_scale,
                        out_proj,
                    }))
                }
            };
            let mixer_norm = r.take(&format!("{p}mixer_norm.weight"), &[d])?;
            let ffn = if !cfg.has_ffn(i) {
                None
            } else {
                Some(Ffn {
                    norm: r.take(&format!("{p}ffn_norm.weight"), &[d])?,
                    gate_proj: match cfg.ffn_act {
                        FfnAct::Swiglu => {
                            Some(r.take(&format!("{p}ffn.gate_proj.weight"), &[f, d])?)
                        }
                        FfnAct::Relu2 => None,
                    },
                    up_proj: r.take(&format!("{p}ffn.up_proj.weight"), &[f, d])?,
                    down_proj: r.take(&format!("{p}ffn.down_proj.weight"), &[d, f])?,
                })
            };
            blocks.push(Block {
                mixer_norm,
                mixer,
                ffn,
            });
        }
        let norm_f = r.take("norm_f.weight", &[d])?;
        let lm_head = if cfg.tie_embeddings {
            None
        } else {
            Some(r.take("lm_head.weight", &[v, d])?)
        };
        r.finish()?;
        Ok(Weights {
            embed_tokens,
            blocks,
            norm_f,
            lm_head,
        })
    }
}

fn missing_section() -> Error {
    Error::Config("a layer kind has no matching config section".into())
}

/// Where tensors come from.
enum Source<'a> {
    File(SafeTensors<'a>),
    Random(Rng),
}

/// Takes tensors by name, checking shape and dtype, and remembers which were taken. The
/// one place that walks the tensor names of docs/FORMAT.md.
struct Reader<'a> {
    source: Source<'a>,
    taken: BTreeSet<String>,
}

impl Reader<'_> {
    fn take(&mut self, name: &str, expected: &[usize]) -> Result<Tensor> {
        let st = match &mut self.source {
            Source::File(st) => st,
            Source::Random(rng) => {
                let data = random_init(rng, name, expected);
                return Ok(Tensor {
                    shape: expected.to_vec(),
                    data,
                });
            }
        };
        let view = st.tensor(name).map_err(|_| Error::MissingTensor {
            name: name.to_string(),
            expected: expected.to_vec(),
        })?;
        let tensor = checked_tensor(name, &view, expected)?;
        self.taken.insert(name.to_string());
        Ok(tensor)
    }

    fn attn(&mut self, p: &str, a: AttnDims, d: usize, with_out: bool) -> Result<AttnWeights> {
        Ok(AttnWeights {
            dims: a,
            q_proj: self.take(&format!("{p}q_proj.weight"), &[a.q_dim(), d])?,
            k_proj: self.take(&format!("{p}k_proj.weight"), &[a.k_dim(), d])?,
            v_proj: self.take(&format!("{p}v_proj.weight"), &[a.v_dim(), d])?,
            o_proj: if with_out {
                Some(self.take(&format!("{p}o_proj.weight"), &[d, a.o_dim()])?)
            } else {
                None
            },
        })
    }

    /// A Mamba mixer; `full` = a Mamba block (own gated norm and `out_proj`), otherwise an
    /// intra branch, which has `out_proj` only with separate projections.
    fn mamba(&mut self, p: &str, m: MambaDims, d: usize, with_out: bool) -> Result<MambaWeights> {
        let block = !p.ends_with("ssm.");
        let h = m.n_heads;
        Ok(MambaWeights {
            dims: m,
            in_proj: self.take(&format!("{p}in_proj.weight"), &[m.in_proj_dim(), d])?,
            conv_weight: self.take(
                &format!("{p}conv1d.weight"),
                &[m.conv_dim(), 1, m.conv_width],
            )?,
            conv_bias: self.take(&format!("{p}conv1d.bias"), &[m.conv_dim()])?,
            dt_bias: self.take(&format!("{p}dt_bias"), &[h])?,
            a_log: self.take(&format!("{p}A_log"), &[h])?,
            d_skip: self.take(&format!("{p}D"), &[h])?,
            norm: if block {
                Some(self.take(&format!("{p}norm.weight"), &[m.d_inner()])?)
            } else {
                None
            },
            out_proj: if with_out {
                Some(self.take(&format!("{p}out_proj.weight"), &[d, m.d_inner()])?)
            } else {
                None
            },
        })
    }

    /// Every tensor in the file must have been used: leftovers mean config and weights disagree.
    fn finish(self) -> Result<()> {
        let Source::File(st) = &self.source else {
            return Ok(());
        };
        let extra: Vec<String> = st
            .names()
            .into_iter()
            .filter(|n| !self.taken.contains(*n))
            .map(|n| n.to_string())
            .collect();
        match extra.first() {
            None => Ok(()),
            Some(first) => Err(Error::UnexpectedTensors {
                count: extra.len(),
                example: first.clone(),
            }),
        }
    }
}

/// The f32 tensor `name` of a checkpoint, checked: its shape must be `expected`, its dtype
/// f32, f16 or bf16, its values finite.
pub(crate) fn checked_tensor(
    name: &str,
    view: &safetensors::tensor::TensorView<'_>,
    expected: &[usize],
) -> Result<Tensor> {
    if view.shape() != expected {
        return Err(Error::ShapeMismatch {
            name: name.to_string(),
            expected: expected.to_vec(),
            found: view.shape().to_vec(),
        });
    }
    let data = to_f32(view.dtype(), view.data()).ok_or_else(|| Error::DType {
        name: name.to_string(),
        found: format!("{:?}", view.dtype()),
    })?;
    if let Some(index) = data.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            name: name.to_string(),
            count: data.iter().filter(|x| !x.is_finite()).count(),
            index,
            first: data[index],
        });
    }
    Ok(Tensor {
        shape: expected.to_vec(),
        data,
    })
}

/// Little-endian raw bytes to f32; `None` for an unsupported dtype.
fn to_f32(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    let pairs = || {
        bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
    };
    match dtype {
        Dtype::F32 => Some(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        Dtype::F16 => Some(pairs().map(|b| half::f16::from_bits(b).to_f32()).collect()),
        Dtype::BF16 => Some(pairs().map(|b| half::bf16::from_bits(b).to_f32()).collect()),
        _ => None,
    }
}

/// The reference initialization, by tensor name.
fn random_init(rng: &mut Rng, name: &str, shape: &[usize]) -> Vec<f32> {
    let len: usize = shape.iter().product();
    let mut uniform = || rng.next_f32().max(1e-7);
    if name.ends_with("norm.weight") || name.ends_with("_scale") || name.ends_with(".D") {
        return vec![1.0; len];
    }
    if name.ends_with("A_log") {
        return (0..len).map(|_| (1.0 + 15.0 * uniform()).ln()).collect();
    }
    if name.ends_with("dt_bias") {
        // dt ~ log-uniform in [1e-3, 1e-1]; dt_bias = softplus^-1(dt)
        return (0..len)
            .map(|_| {
                let dt = (1e-3f32.ln() + uniform() * (1e-1f32.ln() - 1e-3f32.ln())).exp();
                dt + (-(-dt).exp_m1()).ln()
            })
            .collect();
    }
    if name.ends_with("conv1d.bias") {
        return vec![0.0; len];
    }
    // fan-in: the last dim (conv: width); N(0, 1/fan_in) by Box-Muller
    let fan_in = shape.last().copied().unwrap_or(1).max(1) as f32;
    let std = if name == "embed_tokens.weight" {
        1.0
    } else {
        fan_in.sqrt().recip()
    };
    (0..len)
        .map(|_| {
            let (u1, u2) = (uniform(), uniform());
            std * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect()
}
