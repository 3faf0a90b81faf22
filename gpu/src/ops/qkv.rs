//! The layout every attention op reads (attention, attention_split, kv_store,
//! attention_probs), checked in one place: q, k and v side by side in the rows of one
//! fused q|k|v buffer, and the K and V caches.

use std::fmt::Debug;

use super::{ensure, need};
use crate::Result;

/// Where q [Hq*dh], k [Hkv*dh] and v [Hkv*dv] sit in the rows of a fused q|k|v buffer
/// [rows, stride], and the rows of the K and V caches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QkvLayout {
    /// Rows of qkv the op reads (T).
    pub rows: usize,
    /// Floats per qkv row.
    pub stride: usize,
    /// Hq query heads at column 0 (0: the op reads no q).
    pub q_heads: usize,
    /// Hkv heads of k at `k_off` and of v at `v_off` (kv_store: one head of Hkv*dh).
    pub kv_heads: usize,
    /// dh: q and k head size.
    pub head_dim: usize,
    /// dv: v head size.
    pub v_head_dim: usize,
    pub k_off: usize,
    /// `None`: the op reads no v.
    pub v_off: Option<usize>,
    /// Rows of each cache buffer (`None`: the op touches no cache).
    pub cache_rows: Option<usize>,
}

impl QkvLayout {
    /// Hkv*dh: a k row.
    pub fn k_dim(&self) -> usize {
        self.kv_heads * self.head_dim
    }

    /// Hkv*dv: a v row.
    pub fn v_dim(&self) -> usize {
        self.kv_heads * self.v_head_dim
    }

    /// Check that the query heads group over the KV heads (Hq % Hkv == 0), that q, k and v
    /// fit in a row, that qkv holds `rows` rows and the caches `cache_rows` rows of
    /// Hkv*dh (K) and Hkv*dv (V). `op` is the op's description for the message.
    pub fn check(
        &self,
        label: &str,
        op: &dyn Debug,
        qkv: &wgpu::Buffer,
        cache: Option<(&wgpu::Buffer, &wgpu::Buffer)>,
    ) -> Result<()> {
        if self.q_heads > 0 {
            ensure(
                self.kv_heads > 0 && self.q_heads.is_multiple_of(self.kv_heads),
                label,
                || "Hq % Hkv != 0".into(),
            )?;
        }
        let (kd, vd) = (self.k_dim(), self.v_dim());
        let fits = |off: usize, w: usize| off + w <= self.stride;
        let parts = match (self.q_heads > 0, self.v_off.is_some()) {
            (true, true) => "q/k/v",
            (true, false) => "q/k",
            (false, _) => "k/v",
        };
        ensure(
            self.q_heads * self.head_dim <= self.k_off
                && fits(self.k_off, kd)
                && self.v_off.is_none_or(|o| fits(o, vd)),
            label,
            || format!("{parts} exceed the row: {op:?}"),
        )?;
        need(label, qkv, self.rows * self.stride, "qkv")?;
        if let (Some(rows), Some((k, v))) = (self.cache_rows, cache) {
            need(label, k, rows * kd, "k cache")?;
            need(label, v, rows * vd, "v cache")?;
        }
        Ok(())
    }
}
