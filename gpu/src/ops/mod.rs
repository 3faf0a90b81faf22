//! One constructor per op: it checks that the buffers fit the shapes, takes the cached
//! pipeline and builds the bind group ([`Dispatch`]). Each op mirrors its shader's
//! `Params` uniform as a `params!` struct (a `#[repr(C)]` Pod struct with its member list,
//! checked against the shader by `gpu/tests/contract.rs`).

pub mod add;
pub mod argmax;
pub mod attention;
pub mod attention_combine;
pub mod attention_coop;
pub mod attention_probs;
pub mod attention_split;
pub mod attention_tiled;
pub mod conv1d;
pub mod embed;
pub mod kv_store;
pub mod matmul;
pub mod matvec;
pub mod matvec_epilogue;
mod qkv;
pub mod relu2;
pub mod rmsnorm;
pub mod rope;
pub mod row_norm;
pub mod ssd;
pub mod ssm_probes;
pub mod ssm_scan;
pub mod swiglu;
pub mod topk;

pub use crate::dispatch::Dispatch;

use crate::error::{GpuError, Result};
use crate::weight_format::WeightFormat;

/// Check that `buf` holds at least `floats` 4-byte elements.
pub(crate) fn need(op: &str, buf: &wgpu::Buffer, floats: usize, what: &str) -> Result<()> {
    let want = (floats * 4) as u64;
    if buf.size() < want {
        return Err(GpuError::Shape {
            op: op.to_string(),
            msg: format!(
                "{what} needs {want} bytes, buffer `{}` has {}",
                what,
                buf.size()
            ),
        });
    }
    Ok(())
}

/// Check that the weight buffer `buf` holds `elems` values in `format`.
pub(crate) fn need_w(
    op: &str,
    buf: &wgpu::Buffer,
    elems: usize,
    format: WeightFormat,
    what: &str,
) -> Result<()> {
    need(op, buf, format.words(elems), what)
}

/// Fail with a shape error unless `ok`.
pub(crate) fn ensure(ok: bool, op: &str, msg: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(GpuError::Shape {
            op: op.to_string(),
            msg: msg(),
        })
    }
}

/// u32 from usize for a uniform field, erroring instead of truncating.
pub(crate) fn u(op: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| GpuError::Shape {
        op: op.into(),
        msg: format!("{v} does not fit in u32"),
    })
}
