//! Append this call's k, v rows to the KV cache (shaders/kv_store.wgsl), after attention.

use super::attention::CacheLayout;
use super::qkv::QkvLayout;
use super::{need, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of kv_store.wgsl.
    pub struct KvStoreParams {
        pub t: u32,
        pub stride: u32,
        pub k_off: u32,
        pub v_off: u32,
        pub k_dim: u32,
        pub window: u32,
        pub sinks: u32,
        pub ring: u32,
        pub v_dim: u32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }
}

/// k, v columns of qkv [T, stride] -> cache rows [cache_rows, k_dim] and
/// [cache_rows, v_dim].
#[derive(Debug, Clone, Copy)]
pub struct KvStore {
    pub t: usize,
    pub stride: usize,
    pub k_off: usize,
    pub v_off: usize,
    /// Hkv*dh.
    pub k_dim: usize,
    /// Hkv*dv.
    pub v_dim: usize,
    pub layout: CacheLayout,
    pub cache_rows: usize,
}

impl KvStore {
    /// What it reads of qkv (k and v, each as one head of its width) and writes of the
    /// caches.
    fn qkv(&self) -> QkvLayout {
        QkvLayout {
            rows: self.t,
            stride: self.stride,
            q_heads: 0,
            kv_heads: 1,
            head_dim: self.k_dim,
            v_head_dim: self.v_dim,
            k_off: self.k_off,
            v_off: Some(self.v_off),
            cache_rows: Some(self.cache_rows),
        }
    }

    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        pos: &wgpu::Buffer,
        qkv: &wgpu::Buffer,
        k: &wgpu::Buffer,
        v: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        s.qkv().check(label, &s, qkv, Some((k, v)))?;
        need(label, pos, 1, "pos")?;
        let params = KvStoreParams {
            t: u(label, s.t)?,
            stride: u(label, s.stride)?,
            k_off: u(label, s.k_off)?,
            v_off: u(label, s.v_off)?,
            k_dim: u(label, s.k_dim)?,
            v_dim: u(label, s.v_dim)?,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
            window: u(label, s.layout.window.unwrap_or(0))?,
            sinks: u(label, s.layout.sinks)?,
            ring: u(label, s.layout.ring())?,
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::KvStore,
            &[],
            &params,
            &[pos, qkv],
            &[k, v],
            fold(gpu, label, [groups(s.t * s.k_dim.max(s.v_dim), 64), 1])?,
        )
    }
}
