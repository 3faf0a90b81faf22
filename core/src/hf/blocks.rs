//! The pieces that several families share, read from a [`Checkpoint`] under a family's
//! tensor names: attention projections, a Mamba-2 mixer, a SwiGLU FFN, the LM head.

use super::tensors::Checkpoint;
use crate::config::{AttnDims, MambaDims, ModelConfig};
use crate::error::Result;
use crate::weights::{AttnWeights, Ffn, MambaWeights, Tensor};

/// `{p}q_proj.weight`, `k_proj`, `v_proj`, `o_proj` (no biases).
pub(super) fn attention(
    ck: &mut Checkpoint,
    p: &str,
    a: AttnDims,
    d: usize,
) -> Result<AttnWeights> {
    Ok(AttnWeights {
        dims: a,
        q_proj: ck.take(&format!("{p}q_proj.weight"), &[a.q_dim(), d])?,
        k_proj: ck.take(&format!("{p}k_proj.weight"), &[a.k_dim(), d])?,
        v_proj: ck.take(&format!("{p}v_proj.weight"), &[a.v_dim(), d])?,
        o_proj: Some(ck.take(&format!("{p}o_proj.weight"), &[d, a.o_dim()])?),
    })
}

/// A Mamba-2 mixer under `p` with the reference module's names (`in_proj`, `conv1d`,
/// `dt_bias`, `A_log`, `D`, `norm`, `out_proj`); without `conv_bias` the conv has none
/// (a zero bias is the same function); without `gated_norm` no `norm` (an intra branch).
pub(super) fn mamba(
    ck: &mut Checkpoint,
    p: &str,
    m: MambaDims,
    d: usize,
    (conv_bias, gated_norm): (bool, bool),
) -> Result<MambaWeights> {
    let h = m.n_heads;
    let conv_bias = if conv_bias {
        ck.take(&format!("{p}conv1d.bias"), &[m.conv_dim()])?
    } else {
        Tensor {
            shape: vec![m.conv_dim()],
            data: vec![0.0; m.conv_dim()],
        }
    };
    Ok(MambaWeights {
        dims: m,
        in_proj: ck.take(&format!("{p}in_proj.weight"), &[m.in_proj_dim(), d])?,
        conv_weight: ck.take(
            &format!("{p}conv1d.weight"),
            &[m.conv_dim(), 1, m.conv_width],
        )?,
        conv_bias,
        dt_bias: ck.take(&format!("{p}dt_bias"), &[h])?,
        a_log: ck.take(&format!("{p}A_log"), &[h])?,
        d_skip: ck.take(&format!("{p}D"), &[h])?,
        norm: if gated_norm {
            Some(ck.take(&format!("{p}norm.weight"), &[m.d_inner()])?)
        } else {
            None
        },
        out_proj: Some(ck.take(&format!("{p}out_proj.weight"), &[d, m.d_inner()])?),
    })
}

/// A SwiGLU FFN with its norm `norm` and `{p}gate_proj`, `up_proj`, `down_proj`.
pub(super) fn swiglu(ck: &mut Checkpoint, norm: &str, p: &str, d: usize, f: usize) -> Result<Ffn> {
    Ok(Ffn {
        norm: ck.take(norm, &[d])?,
        gate_proj: Some(ck.take(&format!("{p}gate_proj.weight"), &[f, d])?),
        up_proj: ck.take(&format!("{p}up_proj.weight"), &[f, d])?,
        down_proj: ck.take(&format!("{p}down_proj.weight"), &[d, f])?,
    })
}

/// The LM head `name`: its own matrix when not tied; when tied, the embedding is used and
/// a stored copy (some checkpoints keep one) is skipped, as `transformers` ties it.
pub(super) fn head(ck: &mut Checkpoint, cfg: &ModelConfig, name: &str) -> Result<Option<Tensor>> {
    if cfg.tie_embeddings {
        ck.skip(name);
        Ok(None)
    } else {
        Ok(Some(ck.take(name, &[cfg.vocab_size, cfg.d_model])?))
    }
}
