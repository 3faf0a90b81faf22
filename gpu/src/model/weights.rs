//! Weights on the GPU as storage buffers, the matrices in a [`WeightFormat`]. Fused at upload where it saves dispatches:
//! q|k|v rows in one matrix, gate|up rows in one matrix, Mamba's dt_bias|A_log|D in one
//! [3, H] buffer. Every buffer is checked against the per-binding limit.

use hybrid_core::config::{AttnDims, MambaDims};
use hybrid_core::weights::{AttnWeights, MambaWeights, Mixer, Tensor};
use hybrid_core::{Fusion, Model};

pub use crate::weight_format::WeightFormat;
use crate::{Gpu, GpuError, Result};

/// Attention projections: qkv [Hq*dh + 2*Hkv*dh, D], o [D, Hq*dh] (absent with a joint
/// intra projection).
#[derive(Debug)]
pub struct AttnBufs {
    pub dims: AttnDims,
    pub qkv: wgpu::Buffer,
    pub o: Option<wgpu::Buffer>,
}

/// Mamba-2 mixer: in_proj [2E+2GN+H, D], conv_w [C, W], conv_b [C], heads [3, H]
/// (dt_bias | A_log | D), norm [E] (Mamba blocks), out [D, E] (absent with a joint projection).
#[derive(Debug)]
pub struct MambaBufs {
    pub dims: MambaDims,
    pub in_proj: wgpu::Buffer,
    pub conv_w: wgpu::Buffer,
    pub conv_b: wgpu::Buffer,
    pub heads: wgpu::Buffer,
    pub norm: Option<wgpu::Buffer>,
    pub out: Option<wgpu::Buffer>,
}

/// Intra block: both branches, per-branch norms, scalars (1 when absent), joint projection.
#[derive(Debug)]
pub struct IntraBufs {
    pub attn: AttnBufs,
    pub ssm: MambaBufs,
    pub attn_norm: Option<wgpu::Buffer>,
    pub ssm_norm: Option<wgpu::Buffer>,
    pub attn_scale: f32,
    pub ssm_scale: f32,
    /// [D, Ha*dh] or [D, Ha*dh + E_b] (concat).
    pub joint: Option<wgpu::Buffer>,
    pub fusion: Fusion,
}

/// A block's mixer.
#[derive(Debug)]
pub enum MixerBufs {
    Attention(AttnBufs),
    Mamba(MambaBufs),
    Intra(Box<IntraBufs>),
}

impl MixerBufs {
    /// The attention and Mamba-2 dims of this mixer (both for an intra block).
    pub fn dims(&self) -> (Option<AttnDims>, Option<MambaDims>) {
        match self {
            MixerBufs::Attention(a) => (Some(a.dims), None),
            MixerBufs::Mamba(m) => (None, Some(m.dims)),
            MixerBufs::Intra(i) => (Some(i.attn.dims), Some(i.ssm.dims)),
        }
    }
}

/// An FFN: its norm [D], gate_up [2F, D] (SwiGLU) or up [F, D] (relu2), down [D, F].
#[derive(Debug)]
pub struct FfnBufs {
    pub norm: wgpu::Buffer,
    pub gate_up: wgpu::Buffer,
    pub down: wgpu::Buffer,
}

/// One block: the mixer's norm, the mixer, the FFN (None when `d_ffn` = 0).
#[derive(Debug)]
pub struct BlockBufs {
    pub mixer_norm: wgpu::Buffer,
    pub mixer: MixerBufs,
    pub ffn: Option<FfnBufs>,
}

/// All weights: embed [V, D], blocks, norm_f [D], head [V, D] (the embedding when tied).
#[derive(Debug)]
pub struct GpuWeights {
    pub embed: wgpu::Buffer,
    pub blocks: Vec<BlockBufs>,
    pub norm_f: wgpu::Buffer,
    pub head: wgpu::Buffer,
    /// Bytes uploaded (a tied head counted once).
    pub bytes: u64,
    /// How the matrices are stored.
    pub format: WeightFormat,
}

struct Up<'g> {
    gpu: &'g Gpu,
    bytes: u64,
    format: WeightFormat,
}

impl Up<'_> {
    fn put(&mut self, label: &str, data: &[f32]) -> Result<wgpu::Buffer> {
        self.bytes += (data.len() * 4) as u64;
        self.gpu.upload(label, data)
    }

    /// A weight matrix, in the upload format.
    fn mat(&mut self, label: &str, data: &[f32]) -> Result<wgpu::Buffer> {
        self.bytes += self.format.bytes(data.len());
        self.gpu.upload_words(label, &self.format.pack(data))
    }

    fn cat(&mut self, label: &str, parts: &[&Tensor]) -> Result<wgpu::Buffer> {
        let data: Vec<f32> = parts.iter().flat_map(|t| t.data.iter().copied()).collect();
        self.put(label, &data)
    }

    /// Weight matrices stacked by rows, in the upload format.
    fn cat_mat(&mut self, label: &str, parts: &[&Tensor]) -> Result<wgpu::Buffer> {
        let data: Vec<f32> = parts.iter().flat_map(|t| t.data.iter().copied()).collect();
        self.mat(label, &data)
    }

    fn attn(&mut self, p: &str, w: &AttnWeights) -> Result<AttnBufs> {
        Ok(AttnBufs {
            dims: w.dims,
            qkv: self.cat_mat(&format!("{p}qkv"), &[&w.q_proj, &w.k_proj, &w.v_proj])?,
            o: w.o_proj
                .as_ref()
                .map(|o| self.mat(&format!("{p}o_proj"), &o.data))
                .transpose()?,
        })
    }

    fn mamba(&mut self, p: &str, w: &MambaWeights) -> Result<MambaBufs> {
        if w.dims.conv_width > crate::ops::conv1d::MAX_WIDTH {
            return Err(GpuError::Unsupported(format!(
                "conv_width {} > {}",
                w.dims.conv_width,
                crate::ops::conv1d::MAX_WIDTH
            )));
        }
        Ok(MambaBufs {
            dims: w.dims,
            in_proj: self.mat(&format!("{p}in_proj"), &w.in_proj.data)?,
            conv_w: self.put(&format!("{p}conv1d.weight"), &w.conv_weight.data)?,
            conv_b: self.put(&format!("{p}conv1d.bias"), &w.conv_bias.data)?,
            heads: self.cat(
                &format!("{p}dt_bias|A_log|D"),
                &[&w.dt_bias, &w.a_log, &w.d_skip],
            )?,
            norm: w
                .norm
                .as_ref()
                .map(|n| self.put(&format!("{p}norm"), &n.data))
                .transpose()?,
            out: w
                .out_proj
                .as_ref()
                .map(|o| self.mat(&format!("{p}out_proj"), &o.data))
                .transpose()?,
        })
    }
}

impl GpuWeights {
    /// Upload every tensor of `model`, the matrices in `format`.
    pub fn upload(gpu: &Gpu, model: &Model, format: WeightFormat) -> Result<Self> {
        let cfg = model.config();
        let w = model.weights();
        for a in [cfg.attn_dims(), cfg.intra_attn_dims()]
            .into_iter()
            .flatten()
        {
            if a.head_dim > 256 || a.v_head_dim > 256 {
                return Err(GpuError::Unsupported(format!(
                    "attention head_dim {} / v_head_dim {}: at most 256 each",
                    a.head_dim, a.v_head_dim
                )));
            }
        }
        let fusion = cfg.intra.as_ref().map_or(Fusion::Add, |i| i.fusion);
        let mut up = Up {
            gpu,
            bytes: 0,
            format,
        };
        let embed = up.mat("embed_tokens", &w.embed_tokens.data)?;
        let mut blocks = Vec::with_capacity(w.blocks.len());
        for (i, b) in w.blocks.iter().enumerate() {
            let p = format!("layers.{i}.");
            let mixer = match &b.mixer {
                Mixer::Attention(a) => MixerBufs::Attention(up.attn(&p, a)?),
                Mixer::Mamba(m) => MixerBufs::Mamba(up.mamba(&p, m)?),
                Mixer::Intra(iw) => MixerBufs::Intra(Box::new(IntraBufs {
                    attn: up.attn(&format!("{p}attn."), &iw.attn)?,
                    ssm: up.mamba(&format!("{p}ssm."), &iw.ssm)?,
                    attn_norm: iw
                        .attn_norm
                        .as_ref()
                        .map(|n| up.put(&format!("{p}attn_norm"), &n.data))
                        .transpose()?,
                    ssm_norm: iw
                        .ssm_norm
                        .as_ref()
                        .map(|n| up.put(&format!("{p}ssm_norm"), &n.data))
                        .transpose()?,
                    attn_scale: iw.attn_scale.unwrap_or(1.0),
                    ssm_scale: iw.ssm_scale.unwrap_or(1.0),
                    joint: iw
                        .out_proj
                        .as_ref()
                        .map(|o| up.mat(&format!("{p}out_proj"), &o.data))
                        .transpose()?,
                    fusion,
                })),
            };
            blocks.push(BlockBufs {
                mixer_norm: up.put(&format!("{p}mixer_norm"), &b.mixer_norm.data)?,
                mixer,
                ffn: match &b.ffn {
                    Some(f) => Some(FfnBufs {
                        norm: up.put(&format!("{p}ffn_norm"), &f.norm.data)?,
                        gate_up: match &f.gate_proj {
                            Some(g) => up.cat_mat(&format!("{p}gate|up"), &[g, &f.up_proj])?,
                            None => up.mat(&format!("{p}up_proj"), &f.up_proj.data)?,
                        },
                        down: up.mat(&format!("{p}down_proj"), &f.down_proj.data)?,
                    }),
                    None => None,
                },
            });
        }
        let norm_f = up.put("norm_f", &w.norm_f.data)?;
        let head = match &w.lm_head {
            Some(h) => up.mat("lm_head", &h.data)?,
            None => embed.clone(),
        };
        Ok(GpuWeights {
            embed,
            blocks,
            norm_f,
            head,
            bytes: up.bytes,
            format,
        })
    }
}
