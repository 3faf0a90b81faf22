//! The prefill attention on tensor cores (shaders/attention_coop.wgsl): the result of
//! [`super::attention::Attention`] for causal attention with an optional window (no sinks,
//! no hidden keys), with S = Q K^T and O += P V as wgpu's 16x16 cooperative matrices (f16
//! inputs, f32 accumulators) and the softmax in f32, in two passes over the keys (row max,
//! then weights and output) so that the accumulators never need a per-row rescale.
//! [`plan`] says whether the device and the shape allow it ([`Caps::coop_f16`], subgroups
//! of one fixed size, head sizes multiples of 16) and sizes the tiles to the adapter's
//! workgroup storage; otherwise the caller runs the f32 kernels.

use crate::caps::Caps;

/// Output blocks (16 x 16 f32 accumulators) one subgroup holds at most: the shader's MAX_OF.
pub const MAX_OUT_BLOCKS: usize = 16;
/// Widest q/k and v heads.
pub const MAX_HEAD_DIM: usize = 256;
/// (rows per workgroup, keys per tile), preferred first.
const TILES: [(usize, usize); 5] = [(64, 64), (64, 32), (32, 32), (32, 16), (16, 16)];
/// Subgroups per workgroup, preferred first.
const SUBGROUPS: [usize; 4] = [8, 4, 2, 1];

/// The shader's override constants and its rows per workgroup.
#[derive(Debug, Clone, PartialEq)]
pub struct CoopPlan {
    /// Rows ((position, query head) pairs of one KV head) per workgroup: BQ.
    pub rows: usize,
    pub constants: [(&'static str, f64); 7],
}

/// Smallest head the kernel takes: the sizes it was checked at on a tensor-core device
/// (gpu/tests/attention_coop.rs: 64 to 256); smaller heads keep the f32 kernels (at
/// dh = dv <= 64 attention.wgsl's tiled path runs first anyway: ops/attention.rs).
pub const MIN_HEAD_DIM: usize = 64;

/// Workgroup storage of the shader: q, K, V, P as f16, scores (also the output staging)
/// and the per-thread row statistics as f32.
fn storage_bytes((bq, bk): (usize, usize), dh: usize, dv: usize, s_n: usize, wg: usize) -> usize {
    2 * (bq * dh + bk * dh + bk * dv + bq * bk) + 4 * (s_n + wg)
}

/// The tiles for q/k heads of `dh` and v heads of `dv` on a device with `caps` and
/// `limits`; `None` where the device has no f16 cooperative matrices or subgroups of one
/// fixed size, or the heads are not multiples of 16 from [`MIN_HEAD_DIM`] up to
/// [`MAX_HEAD_DIM`], or no tile fits.
pub fn plan(caps: &Caps, limits: &wgpu::Limits, dh: usize, dv: usize) -> Option<CoopPlan> {
    let (sg_min, sg_max) = caps.subgroup_size;
    let heads_ok = |d: usize| d.is_multiple_of(16) && (MIN_HEAD_DIM..=MAX_HEAD_DIM).contains(&d);
    if !caps.coop_f16 || !caps.subgroups || sg_min != sg_max || sg_min == 0 {
        return None;
    }
    if !heads_ok(dh) || !heads_ok(dv) {
        return None;
    }
    let sg = sg_min as usize;
    let max_wg = limits
        .max_compute_invocations_per_workgroup
        .min(limits.max_compute_workgroup_size_x) as usize;
    for (bq, bk) in TILES {
        for nsg in SUBGROUPS {
            let wg = nsg * sg;
            let (score_blocks, out_blocks) = ((bq / 16) * (bk / 16), (bq / 16) * (dv / 16));
            let s_n = (bq * bk).max(256 * nsg);
            let fits = wg <= max_wg
                && wg.is_multiple_of(bq)
                && bk.is_multiple_of(wg / bq)
                && score_blocks.is_multiple_of(nsg)
                && out_blocks.is_multiple_of(nsg)
                && out_blocks / nsg <= MAX_OUT_BLOCKS
                && storage_bytes((bq, bk), dh, dv, s_n, wg)
                    <= limits.max_compute_workgroup_storage_size as usize;
            if fits {
                return Some(CoopPlan {
                    rows: bq,
                    constants: [
                        ("BQ", bq as f64),
                        ("BK", bk as f64),
                        ("DH", dh as f64),
                        ("DV", dv as f64),
                        ("SG", sg as f64),
                        ("NSG", nsg as f64),
                        ("S_N", s_n as f64),
                    ],
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Caps {
        Caps {
            shader_f16: true,
            subgroups: true,
            subgroup_size: (32, 32),
            coop_f16: true,
        }
    }

    fn limits(storage: u32) -> wgpu::Limits {
        wgpu::Limits {
            max_compute_workgroup_storage_size: storage,
            ..Default::default()
        }
    }

    #[test]
    fn plans_fit_the_storage() {
        let get = |c: &CoopPlan, name: &str| {
            c.constants
                .iter()
                .find(|x| x.0 == name)
                .map(|x| x.1 as usize)
        };
        // 48 KiB (NVIDIA): 64 rows x 32 keys at dh = dv = 128; 32 x 32 with v heads of 256
        let p = plan(&caps(), &limits(49152), 128, 128).expect("128/128");
        assert_eq!(
            (p.rows, get(&p, "BK"), get(&p, "NSG")),
            (64, Some(32), Some(8))
        );
        let p = plan(&caps(), &limits(49152), 128, 256).expect("128/256");
        assert_eq!(
            (p.rows, get(&p, "BK"), get(&p, "NSG")),
            (32, Some(32), Some(4))
        );
        // no coop, subgroups of varying size, heads not multiples of 16, too little storage
        let no_coop = Caps {
            coop_f16: false,
            ..caps()
        };
        assert_eq!(plan(&no_coop, &limits(49152), 128, 128), None);
        let varying = Caps {
            subgroup_size: (16, 64),
            ..caps()
        };
        assert_eq!(plan(&varying, &limits(49152), 128, 128), None);
        assert_eq!(plan(&caps(), &limits(49152), 72, 72), None);
        assert_eq!(plan(&caps(), &limits(1024), 128, 128), None);
    }
}
