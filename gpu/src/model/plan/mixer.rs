//! The two mixers: attention (q|k|v, RoPE, attention, KV append) and the Mamba-2 mixer
//! (in_proj, conv, scan + gate), each writing its branch output (`att`, `y`) for the
//! output projection that follows.

use hybrid_core::config::AttnDims;
use hybrid_core::intervene::LayerPlan;
use hybrid_core::ModelConfig;

use super::linear::Src;
use super::{key_view, Phase, Planner};
use crate::dispatch::Dispatch;
use crate::model::acts::LayerState;
use crate::model::weights::{AttnBufs, MambaBufs};
use crate::ops::attention::Attention;
use crate::ops::attention_combine::AttentionCombine;
use crate::ops::attention_split::{min_slice_for, vec4_pays, AttentionSplit};
use crate::ops::conv1d::Conv1d;
use crate::ops::kv_store::KvStore;
use crate::ops::matmul::Matmul;
use crate::ops::matvec_epilogue::{Epilogue, KvCache, RopeKvDims};
use crate::ops::rope::Rope;
use crate::ops::ssd::Ssd;
use crate::ops::ssm_scan::SsmScan;
use crate::{GpuError, Result};

/// The fused q|k|v row of `dims`: (stride, k_off, v_off) = (Hq*dh + Hkv*dh + Hkv*dv,
/// Hq*dh, Hq*dh + Hkv*dh).
pub(super) fn qkv_row(dims: AttnDims) -> (usize, usize, usize) {
    let (qd, kd) = (dims.q_dim(), dims.k_dim());
    (qd + kd + dims.v_dim(), qd, qd + kd)
}

impl<'a> Planner<'a> {
    /// The q|k|v matvec's epilogue for one token: RoPE on q and k, and k, v appended to
    /// the KV cache at the slot of pos (`p` names the block in errors).
    pub(super) fn rope_kv<'s>(
        &'s self,
        p: &str,
        at: &AttnBufs,
        st: &'s LayerState,
    ) -> Result<Epilogue<'s>> {
        let cfg = self.config;
        let Some((k_cache, v_cache, rows)) = &st.kv else {
            return Err(GpuError::Unsupported(format!("{p}: no KV cache")));
        };
        let (_, k_off, v_off) = qkv_row(at.dims);
        let dims = RopeKvDims {
            n_heads: at.dims.n_heads,
            n_kv_heads: at.dims.n_kv_heads,
            head_dim: at.dims.head_dim,
            v_head_dim: at.dims.v_head_dim,
            k_off,
            v_off,
            rot: rope_dims(cfg, at),
            theta: cfg.attention.as_ref().map_or(10000.0, |c| c.rope_theta),
        };
        let cache = KvCache {
            k: k_cache,
            v: v_cache,
            rows: *rows,
            layout: st.layout,
        };
        Ok(Epilogue::RopeKv {
            dims,
            pos: &self.acts.pos,
            cache: Some(cache),
        })
    }

    /// The in_proj matvec's epilogue for one token: the conv + SiLU of the x|B|C channels
    /// into `xbc`, each channel's state shifted.
    pub(super) fn conv<'s>(
        &'s self,
        p: &str,
        m: &'s MambaBufs,
        st: &'s LayerState,
    ) -> Result<Epilogue<'s>> {
        let Some((conv_state, _)) = &st.ssm else {
            return Err(GpuError::Unsupported(format!("{p}: no SSM state")));
        };
        Ok(Epilogue::Conv {
            off: m.dims.d_inner(),
            channels: m.dims.conv_dim(),
            width: m.dims.conv_width,
            w: &m.conv_w,
            b: &m.conv_b,
            state: conv_state,
            out: &self.acts.xbc,
        })
    }

    /// q|k|v projection, RoPE, attention into `att` (what it sees: `lp`'s window and
    /// hidden keys), then the KV cache append. For one token RoPE and the append run in
    /// the q|k|v matvec (attention reads the new k, v from qkv; in a ring cache the new
    /// row takes the slot of a key no query sees any more: `CacheLayout::ring`).
    /// With `merge_in_o` (one token) the split-K partials stay in `att_part` for the
    /// o_proj matvec to merge. `src` None: the q|k|v row is already projected (the intra
    /// block's pair).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn attention(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        at: &AttnBufs,
        st: &LayerState,
        t: usize,
        src: Option<Src>,
        lp: &LayerPlan,
        merge_in_o: bool,
    ) -> Result<()> {
        let view = key_view(lp)?;
        let gpu = self.gpu;
        let a = self.acts;
        let cfg = self.config;
        let theta = cfg.attention.as_ref().map_or(10000.0, |c| c.rope_theta);
        let rot = rope_dims(cfg, at);
        let dims = at.dims;
        let (stride, k_off, v_off) = qkv_row(dims);
        let Some((k_cache, v_cache, rows)) = &st.kv else {
            return Err(GpuError::Unsupported(format!("{p}: no KV cache")));
        };
        let qkv = Matmul::new(t, stride, cfg.d_model);
        // One token: RoPE and the KV append in the q|k|v matvec.
        let decode = Phase::of(t) == Phase::Decode;
        match src {
            None => {}
            Some(src) if decode => {
                let ep = self.rope_kv(p, at, st)?;
                let label = format!("{p} qkv + rope + kv store");
                self.linear_with(plan, &label, src, qkv, [&at.qkv, &a.qkv], ep)?;
            }
            Some(src) => self.linear(plan, &format!("{p} qkv"), src, qkv, &at.qkv, &a.qkv)?,
        }
        let rope = Rope {
            t,
            stride,
            n_q: dims.n_heads,
            n_k: dims.n_kv_heads,
            k_off,
            head_dim: dims.head_dim,
            theta,
            rot,
        };
        if rot > 0 && !decode {
            plan.push(rope.build(gpu, &format!("{p} rope"), &a.pos, &a.qkv)?);
        }
        match Phase::of(t) {
            Phase::Decode => {
                // split-K partials over slices of the visible keys, then the merge
                let split = AttentionSplit {
                    stride,
                    k_off,
                    v_off,
                    n_heads: dims.n_heads,
                    n_kv_heads: dims.n_kv_heads,
                    head_dim: dims.head_dim,
                    v_head_dim: dims.v_head_dim,
                    layout: st.layout,
                    view,
                    cache_rows: *rows,
                    splits: self.splits,
                    min_slice: min_slice_for(gpu),
                    vec4: vec4_pays(dims.head_dim, dims.v_head_dim),
                };
                let label = format!("{p} attention split");
                let part = &a.att_part;
                plan.push(split.build(gpu, &label, &a.pos, &a.qkv, k_cache, v_cache, part)?);
                if merge_in_o {
                    return self.kv_store_after(plan, p, at, st, t);
                }
                // the partials and the output are per value dim
                let combine = AttentionCombine {
                    n_heads: dims.n_heads,
                    head_dim: dims.v_head_dim,
                    splits: self.splits,
                };
                let label = format!("{p} attention combine");
                plan.push(combine.build(gpu, &label, &a.att_part, &a.att)?);
            }
            Phase::Prefill => {
                let attn = Attention {
                    t,
                    stride,
                    k_off,
                    v_off,
                    n_heads: dims.n_heads,
                    n_kv_heads: dims.n_kv_heads,
                    head_dim: dims.head_dim,
                    v_head_dim: dims.v_head_dim,
                    layout: st.layout,
                    view,
                    cache_rows: *rows,
                    out_stride: dims.o_dim(),
                };
                let label = format!("{p} attention");
                plan.push(attn.build(gpu, &label, &a.pos, &a.qkv, k_cache, v_cache, &a.att)?);
            }
        }
        self.kv_store_after(plan, p, at, st, t)
    }

    /// The KV append after attention, for a chunk (one token takes it in the q|k|v
    /// matvec).
    fn kv_store_after(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        at: &AttnBufs,
        st: &LayerState,
        t: usize,
    ) -> Result<()> {
        let Some((k_cache, v_cache, rows)) = &st.kv else {
            return Err(GpuError::Unsupported(format!("{p}: no KV cache")));
        };
        if Phase::of(t) == Phase::Decode {
            return Ok(()); // appended by the q|k|v matvec
        }
        let dims = at.dims;
        let (stride, k_off, v_off) = qkv_row(dims);
        let a = self.acts;
        let store = KvStore {
            t,
            stride,
            k_off,
            v_off,
            k_dim: dims.k_dim(),
            v_dim: dims.v_dim(),
            layout: st.layout,
            cache_rows: *rows,
        };
        let label = format!("{p} kv store");
        plan.push(store.build(self.gpu, &label, &a.pos, &a.qkv, k_cache, v_cache)?);
        Ok(())
    }

    /// in_proj, conv + SiLU (for one token in the in_proj matvec), scan + gate into `y`.
    /// `src` None: in_proj and the conv already ran (the intra block's pair).
    pub(super) fn mamba(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        m: &MambaBufs,
        st: &LayerState,
        t: usize,
        src: Option<Src>,
    ) -> Result<()> {
        let gpu = self.gpu;
        let a = self.acts;
        let dims = m.dims;
        let (Some((conv_state, ssm_state)), Some(dt_edit)) = (&st.ssm, &st.dt_edit) else {
            return Err(GpuError::Unsupported(format!("{p}: no SSM state")));
        };
        let ipd = dims.in_proj_dim();
        let in_proj = Matmul::new(t, ipd, self.config.d_model);
        let (w, b) = (&m.conv_w, &m.conv_b);
        if let (Some(src), Phase::Decode) = (src, Phase::of(t)) {
            // one token: the conv + SiLU in the in_proj matvec (each channel owns its state)
            let ep = self.conv(p, m, st)?;
            let label = format!("{p} in_proj + conv1d");
            self.linear_with(plan, &label, src, in_proj, [&m.in_proj, &a.proj], ep)?;
        } else if let Some(src) = src {
            let label = format!("{p} in_proj");
            self.linear(plan, &label, src, in_proj, &m.in_proj, &a.proj)?;
            let conv = Conv1d {
                t,
                channels: dims.conv_dim(),
                width: dims.conv_width,
                in_stride: ipd,
                in_off: dims.d_inner(),
            };
            let label = format!("{p} conv1d");
            plan.push(conv.build(gpu, &label, &a.proj, w, b, conv_state, &a.xbc)?);
        }
        let label = format!("{p} scan");
        match Phase::of(t) {
            // the recurrence, one token
            Phase::Decode => {
                let scan = SsmScan { t, dims };
                let (proj, xbc, y) = (&a.proj, &a.xbc, &a.y);
                let heads = &m.heads;
                plan.push(scan.build(gpu, &label, proj, xbc, heads, dt_edit, ssm_state, y)?);
            }
            // the chunked SSD form (itself the recurrence where its kernels do not fit)
            Phase::Prefill => plan.extend(Ssd { t, dims }.build(
                gpu,
                &label,
                &a.proj,
                &a.xbc,
                &m.heads,
                dt_edit,
                ssm_state,
                &a.y,
                &a.ssd_states,
                &a.ssd_dtc,
            )?),
        }
        Ok(())
    }
}

/// Dims of each head RoPE rotates: all, a part (partial RoPE) or none (no positions).
fn rope_dims(cfg: &ModelConfig, at: &AttnBufs) -> usize {
    cfg.attention
        .as_ref()
        .and_then(|c| c.rope_dim)
        .unwrap_or(at.dims.head_dim)
}
