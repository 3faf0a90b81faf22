//! Causal self-attention (GQA + rotate-half RoPE, optional sliding window with sinks),
//! over a KV cache that holds exactly the keys a future query can still see.

use super::ops::{matmul, rope, softmax};
use crate::config::{AttentionConfig, AttnDims};
use crate::weights::AttnWeights;

/// Keys and values of one attention mixer, RoPE already applied to the keys.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    /// Absolute position of each cached row.
    pub positions: Vec<usize>,
    /// [rows, Hkv*dh]
    pub k: Vec<f32>,
    /// [rows, Hkv*dh]
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

    /// Drop keys that no query at position >= `next` can see: with a window `w` and `sink`
    /// sink tokens, key `s` stays visible iff `s < sink` or `next - s < w`.
    fn prune(&mut self, next: usize, cfg: &AttentionConfig, kv_dim: usize) {
        let Some(w) = cfg.window else { return };
        let keep: Vec<bool> = self
            .positions
            .iter()
            .map(|&s| s < cfg.sink_tokens || next - s < w)
            .collect();
        if keep.iter().all(|&k| k) {
            return;
        }
        let mut i = 0;
        self.positions.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        let filter = |buf: &mut Vec<f32>| {
            let mut rows = keep.iter();
            let mut out = Vec::with_capacity(buf.len());
            for row in buf.chunks_exact(kv_dim) {
                if rows.next() == Some(&true) {
                    out.extend_from_slice(row);
                }
            }
            *buf = out;
        };
        filter(&mut self.k);
        filter(&mut self.v);
    }
}

/// True when key position `s` is visible to query position `t`.
pub fn visible(t: usize, s: usize, cfg: &AttentionConfig) -> bool {
    s <= t
        && match cfg.window {
            None => true,
            Some(w) => t - s < w || s < cfg.sink_tokens,
        }
}

/// Attention over `x` [T, D] at positions `pos0..pos0+T`, appending to `cache`.
/// Returns the heads concatenated, [T, Hq*dh] (before `o_proj`), and, when `probs` is set,
/// fills it with the attention weights [Hq, T, pos0+T] (absolute key positions).
pub fn attention(
    w: &AttnWeights,
    cfg: &AttentionConfig,
    x: &[f32],
    d: usize,
    pos0: usize,
    cache: &mut KvCache,
    mut probs: Option<&mut Vec<f32>>,
) -> Vec<f32> {
    let AttnDims {
        n_heads,
        n_kv_heads,
        head_dim: dh,
    } = w.dims;
    let (qd, kvd) = (w.dims.q_dim(), w.dims.kv_dim());
    let mut q = matmul(x, &w.q_proj.data, d); // [T, Hq*dh]
    let mut k = matmul(x, &w.k_proj.data, d); // [T, Hkv*dh]
    let v = matmul(x, &w.v_proj.data, d); // [T, Hkv*dh]
    let t_len = q.len() / qd;
    for t in 0..t_len {
        rope(&mut q[t * qd..(t + 1) * qd], dh, pos0 + t, cfg.rope_theta);
        rope(&mut k[t * kvd..(t + 1) * kvd], dh, pos0 + t, cfg.rope_theta);
    }
    cache.positions.extend(pos0..pos0 + t_len);
    cache.k.extend_from_slice(&k);
    cache.v.extend_from_slice(&v);

    let keys = pos0 + t_len;
    if let Some(p) = probs.as_deref_mut() {
        *p = vec![0.0; n_heads * t_len * keys];
    }
    let group = n_heads / n_kv_heads;
    let scale = 1.0 / (dh as f32).sqrt();
    let mut out = vec![0.0; t_len * qd];
    let mut scores = Vec::with_capacity(cache.len());
    for t in 0..t_len {
        let pos = pos0 + t;
        for h in 0..n_heads {
            let kvh = h / group;
            let qh = &q[t * qd + h * dh..t * qd + (h + 1) * dh];
            scores.clear();
            let rows = cache
                .positions
                .iter()
                .enumerate()
                .filter(|(_, &s)| visible(pos, s, cfg));
            let rows: Vec<(usize, usize)> = rows.map(|(r, &s)| (r, s)).collect();
            for &(r, _) in &rows {
                let kr = &cache.k[r * kvd + kvh * dh..r * kvd + (kvh + 1) * dh];
                scores.push(super::ops::dot(qh, kr) * scale);
            }
            softmax(&mut scores);
            let o = &mut out[t * qd + h * dh..t * qd + (h + 1) * dh];
            for (&(r, s), &p) in rows.iter().zip(&scores) {
                let vr = &cache.v[r * kvd + kvh * dh..r * kvd + (kvh + 1) * dh];
                for (oi, vi) in o.iter_mut().zip(vr) {
                    *oi += p * vi;
                }
                if let Some(pr) = probs.as_deref_mut() {
                    pr[(h * t_len + t) * keys + s] = p;
                }
            }
        }
    }
    cache.prune(keys, cfg, kvd);
    out
}
