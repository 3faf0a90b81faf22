//! Causal self-attention (GQA + rotate-half RoPE, optional sliding window with sinks),
//! over a KV cache that holds exactly the keys a future query can still see.

use super::ops::{gemm_task, matmul, rope_partial, Mat};
use super::par;
use super::softmax::exp_shifted;
use crate::config::{AttentionConfig, AttnDims};
use crate::error::{Error, Result};
use crate::weights::AttnWeights;

/// Keys and values of one attention mixer, RoPE already applied to the keys.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    /// Absolute position of each cached row.
    pub positions: Vec<usize>,
    /// [rows, Hkv*dh]
    pub k: Vec<f32>,
    /// [rows, Hkv*dv]
    pub v: Vec<f32>,
}

impl KvCache {
    /// Cached positions.
    pub fn len(&self) -> usize {
        self.positions.len()
    }
    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }
    /// Bytes held (f32 keys and values).
    pub fn bytes(&self) -> usize {
        (self.k.len() + self.v.len()) * 4
    }

    /// Room for `rows` cached positions of widths `k_width` (Hkv*dh) and `v_width`
    /// (Hkv*dv), allocated now: a run sized in advance never reallocates its cache, so
    /// its memory grows by the cache alone. An allocation the allocator refuses is an
    /// error naming the bytes, not an abort.
    pub fn reserve(&mut self, rows: usize, k_width: usize, v_width: usize) -> Result<()> {
        let floats = |w: usize| rows.checked_mul(w);
        let (Some(kf), Some(vf)) = (floats(k_width), floats(v_width)) else {
            return Err(too_large(rows, k_width, v_width));
        };
        // try_reserve_exact takes the room wanted beyond the current length
        let ok = (self.positions)
            .try_reserve_exact(rows.saturating_sub(self.positions.len()))
            .is_ok()
            && (self.k.try_reserve_exact(kf.saturating_sub(self.k.len()))).is_ok()
            && (self.v.try_reserve_exact(vf.saturating_sub(self.v.len()))).is_ok();
        if !ok {
            return Err(too_large(rows, k_width, v_width));
        }
        Ok(())
    }

    /// Drop keys that no query at position >= `next` can see: with a window `w` and `sink`
    /// sink tokens, key `s` stays visible iff `s < sink` or `next - s < w`. Rows move down
    /// in place: the buffers keep their capacity.
    fn prune(&mut self, next: usize, cfg: &AttentionConfig) {
        let Some(w) = cfg.window else { return };
        let keep = |s: usize| s < cfg.sink_tokens || next - s < w;
        if self.positions.iter().all(|&s| keep(s)) {
            return;
        }
        let rows = self.positions.len().max(1);
        let (kw, vw) = (self.k.len() / rows, self.v.len() / rows);
        let mut kept = 0;
        for r in 0..self.positions.len() {
            let s = self.positions[r];
            if keep(s) {
                self.positions[kept] = s;
                self.k.copy_within(r * kw..(r + 1) * kw, kept * kw);
                self.v.copy_within(r * vw..(r + 1) * vw, kept * vw);
                kept += 1;
            }
        }
        self.positions.truncate(kept);
        self.k.truncate(kept * kw);
        self.v.truncate(kept * vw);
    }
}

/// The error of a KV cache too large to allocate, with its size.
fn too_large(rows: usize, k_width: usize, v_width: usize) -> Error {
    let bytes = (rows as u64)
        .saturating_mul(k_width.saturating_add(v_width) as u64)
        .saturating_mul(4);
    Error::Memory(format!(
        "a KV cache of {rows} positions needs {bytes} bytes ({:.1} MiB), which could not be allocated",
        bytes as f64 / (1u64 << 20) as f64
    ))
}

/// Queries per block of the attention GEMMs (bounds the [block, keys] score buffer).
const QUERY_BLOCK: usize = 128;

/// True when key position `s` is visible to query position `t`.
pub fn visible(t: usize, s: usize, cfg: &AttentionConfig) -> bool {
    s <= t
        && match cfg.window {
            None => true,
            Some(w) => t - s < w || s < cfg.sink_tokens,
        }
}

/// True when key `s` lies in one of the `hidden` ranges [from, to) and is not the query's
/// own key `t` (an intervention; a query always sees itself).
fn hidden_key(t: usize, s: usize, hidden: &[(usize, usize)]) -> bool {
    s != t && hidden.iter().any(|&(a, b)| a <= s && s < b)
}

/// Attention over `x` [T, D] at positions `pos0..pos0+T`, appending to `cache`; `cfg`
/// holds this layer's window (see `ModelConfig::layer_window`); keys in `hidden` are
/// masked out like keys outside the window.
/// Returns the heads concatenated, [T, Hq*dv] (before `o_proj`), and, when `probs` is set,
/// fills it with the attention weights [Hq, T, pos0+T] (absolute key positions).
#[allow(clippy::too_many_arguments)]
pub fn attention(
    w: &AttnWeights,
    cfg: &AttentionConfig,
    x: &[f32],
    d: usize,
    pos0: usize,
    cache: &mut KvCache,
    hidden: &[(usize, usize)],
    probs: Option<&mut Vec<f32>>,
) -> Vec<f32> {
    let AttnDims {
        n_heads,
        head_dim: dh,
        v_head_dim: dv,
        ..
    } = w.dims;
    let (qd, kd, od) = (w.dims.q_dim(), w.dims.k_dim(), w.dims.o_dim());
    let mut q = matmul(x, &w.q_proj.data, d); // [T, Hq*dh]
    let mut k = matmul(x, &w.k_proj.data, d); // [T, Hkv*dh]
    let v = matmul(x, &w.v_proj.data, d); // [T, Hkv*dv]
    let t_len = q.len() / qd;
    let rot = cfg.rope_dim.unwrap_or(dh);
    for (m, width) in [(&mut q, qd), (&mut k, kd)] {
        par::rows_mut(m, width, |t0, band| {
            for (i, row) in band.chunks_exact_mut(width).enumerate() {
                rope_partial(row, dh, rot, pos0 + t0 + i, cfg.rope_theta);
            }
        });
    }
    cache.positions.extend(pos0..pos0 + t_len);
    cache.k.extend_from_slice(&k);
    cache.v.extend_from_slice(&v);

    let keys = pos0 + t_len;
    // Per query head h (kv head g = h / group) and block of queries, as two GEMMs over
    // the cached rows (this chunk's included; row r holds position `cache.positions[r]`):
    //   S = Q_h K_g^T * scale          [Tb, R]
    //   P = softmax of each row over the keys its query sees (the others 0)
    //   O_h = P V_g                    [Tb, dv]
    // The cache held positions < pos0 before this chunk, so query t's own row is r0 + t,
    // the last one it can see: a block only needs the rows before its last query's.
    // Each (block, head) is one task on the engine's threads, writing its own O_h and
    // its own rows of the probabilities [Hq, T, keys].
    let per_head: Vec<Option<&mut [f32]>> = match probs {
        Some(p) => {
            *p = vec![0.0; n_heads * t_len * keys];
            p.chunks_exact_mut(t_len * keys).map(Some).collect()
        }
        None => (0..n_heads).map(|_| None).collect(),
    };
    let mut tasks = Vec::new();
    for (h, mut pr_h) in per_head.into_iter().enumerate() {
        for t0 in (0..t_len).step_by(QUERY_BLOCK) {
            let tb = QUERY_BLOCK.min(t_len - t0);
            let pr = pr_h.take().map(|p| {
                let (blk, rest) = p.split_at_mut(tb * keys);
                pr_h = Some(rest);
                blk
            });
            tasks.push(HeadBlock { h, t0, tb, pr });
        }
    }
    let run = Query {
        q: &q,
        cache,
        dims: w.dims,
        cfg,
        hidden,
        pos0,
        r0: cache.len() - t_len,
    };
    // on the pool only when the scores and P V are worth a fork (not a decode step's)
    let fmas = n_heads * t_len * keys * (dh + dv);
    let blocks = par::map_worth(fmas, tasks, |task| run.head_block(task));
    let mut out = vec![0.0; t_len * od];
    for ((h, t0), o_h) in blocks {
        for (i, row) in o_h.chunks_exact(dv).enumerate() {
            let at = (t0 + i) * od + h * dv;
            out[at..at + dv].copy_from_slice(row);
        }
    }
    cache.prune(keys, cfg);
    out
}

/// One task of [`attention`]: query head `h`, queries `t0..t0 + tb` of the chunk, and
/// their rows of the probabilities [Tb, keys] when probes are on.
struct HeadBlock<'a> {
    h: usize,
    t0: usize,
    tb: usize,
    pr: Option<&'a mut [f32]>,
}

/// What every task of one [`attention`] call reads: the chunk's queries [T, Hq*dh] (RoPE
/// applied), the cache (this chunk appended, from row `r0`), the layer's settings.
struct Query<'a> {
    q: &'a [f32],
    cache: &'a KvCache,
    dims: AttnDims,
    cfg: &'a AttentionConfig,
    hidden: &'a [(usize, usize)],
    pos0: usize,
    r0: usize,
}

impl Query<'_> {
    /// `O_h = softmax(Q_h K_g^T * scale) V_g` for one head and block of queries:
    /// returns ((h, t0), O_h [Tb, dv]).
    fn head_block(&self, task: HeadBlock) -> ((usize, usize), Vec<f32>) {
        let HeadBlock { h, t0, tb, mut pr } = task;
        let AttnDims {
            n_heads,
            n_kv_heads,
            head_dim: dh,
            v_head_dim: dv,
        } = self.dims;
        let (qd, kd, vd) = (self.dims.q_dim(), self.dims.k_dim(), self.dims.v_dim());
        let (cfg, cache, pos0) = (self.cfg, self.cache, self.pos0);
        let g = h / (n_heads / n_kv_heads);
        let scale = cfg.scale.unwrap_or(1.0 / (dh as f32).sqrt());
        let rb = self.r0 + t0 + tb; // key rows this block can see
        let keys = pos0 + self.q.len() / qd;
        let mut s = vec![0.0; tb * rb];
        let qh = Mat::rows(&self.q[t0 * qd + h * dh..], qd); // [Tb, dh]
        let kt = Mat::cols(&cache.k[g * dh..], kd); // K_g^T [dh, R]
        gemm_task(tb, dh, rb, qh, kt, &mut s, rb);
        // P unnormalized (exp of the scaled scores less their max, 0 where hidden), and
        // 1 / sum of each row, applied to O's rows after P V
        let mut inv = vec![0.0f32; tb];
        // `exp_shifted` takes a positive scale; any other one goes on the scores first
        let (pre, post) = if scale > 0.0 {
            (1.0, scale)
        } else {
            (scale, 1.0)
        };
        for (i, row) in s.chunks_exact_mut(rb).enumerate() {
            let (t, end) = (pos0 + t0 + i, self.r0 + t0 + i + 1);
            if cfg.window.is_some() || !self.hidden.is_empty() {
                for (sc, &p) in row[..end].iter_mut().zip(&cache.positions) {
                    let seen = visible(t, p, cfg) && !hidden_key(t, p, self.hidden);
                    *sc = if seen { *sc * pre } else { f32::NEG_INFINITY };
                }
            } else if pre != 1.0 {
                // causal, nothing hidden: every cached row up to the query's own is visible
                row[..end].iter_mut().for_each(|sc| *sc *= pre);
            }
            inv[i] = 1.0 / exp_shifted(&mut row[..end], post); // exp(-inf) = 0
            row[end..].fill(0.0);
            if let Some(pr) = pr.as_deref_mut() {
                let pr = &mut pr[i * keys..(i + 1) * keys];
                for (&p, &pos) in row[..end].iter().zip(&cache.positions) {
                    pr[pos] = p * inv[i];
                }
            }
        }
        let mut o = vec![0.0; tb * dv];
        let vg = Mat::rows(&cache.v[g * dv..], vd); // V_g [R, dv]
        gemm_task(tb, rb, dv, Mat::rows(&s, rb), vg, &mut o, dv);
        for (row, r) in o.chunks_exact_mut(dv).zip(&inv) {
            row.iter_mut().for_each(|v| *v *= r);
        }
        ((h, t0), o)
    }
}
