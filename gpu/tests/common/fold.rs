//! The folding device shared by the grid tests (grid.rs, grid_mixers.rs): a device whose
//! `max_compute_workgroups_per_dimension` is lowered to [`LIMIT`], so small shapes fold
//! their dispatch grids into y and z, and [`same_on_both`], which runs one op on it and on
//! the default device and checks the folded grids and the identical outputs.

use std::sync::{Arc, OnceLock};

use hybrid_gpu::{run, Dispatch, Gpu};

use super::{down, gpu, up};

/// Workgroups per grid dimension of the folding device: small enough that a few hundred
/// workgroups fold into 3 dimensions.
pub const LIMIT: u32 = 16;
/// GPU logits against CPU logits: max |a - b| / max |b| (as in models.rs).
pub const LOGIT_TOL: f32 = 1e-3;
/// f32 on both sides, different summation order / GPU exp.
pub const OP_TOL: f32 = 1e-5;

/// The device with the lowered limit (one per test binary), or `None` where the GPU tests
/// are skipped.
pub fn low() -> Option<Arc<Gpu>> {
    static LOW: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    LOW.get_or_init(|| {
        gpu()?; // the default device first: it checks the adapter and XDG_RUNTIME_DIR
        let g = Gpu::with_limits_blocking(|l| l.max_compute_workgroups_per_dimension = LIMIT)
            .expect("a device with a lowered workgroup limit");
        assert_eq!(g.limits.max_compute_workgroups_per_dimension, LIMIT);
        Some(Arc::new(g))
    })
    .clone()
}

/// What one op test builds on a device: its dispatches and the output buffers (floats).
pub struct Case {
    pub dispatches: Vec<Dispatch>,
    pub outs: Vec<(wgpu::Buffer, usize)>,
}

/// Build and run `build` on the default and on the folding device; the folding device's
/// grids must fit [`LIMIT`] and differ from the default's (they folded), and the outputs
/// must be identical. Returns the outputs (`None` where the GPU tests are skipped).
pub fn same_on_both(name: &str, build: impl Fn(&Gpu) -> Case) -> Option<Vec<Vec<f32>>> {
    let (plain, folded) = (gpu()?, low()?);
    let p = build(&plain);
    let f = build(&folded);
    for d in &f.dispatches {
        assert!(
            d.grid.iter().all(|&g| g <= LIMIT),
            "{name}: {} grid {:?} over {LIMIT}",
            d.label,
            d.grid
        );
    }
    assert!(
        f.dispatches
            .iter()
            .zip(&p.dispatches)
            .any(|(a, b)| a.grid != b.grid),
        "{name}: no grid folded (make the shape larger)"
    );
    run(&plain, name, &p.dispatches).expect("run on the default device");
    run(&folded, name, &f.dispatches).expect("run on the folding device");
    let mut outs = Vec::new();
    for ((bp, n), (bf, _)) in p.outs.iter().zip(&f.outs) {
        let (a, b) = (down(&plain, bp, *n), down(&folded, bf, *n));
        let diff = a.iter().zip(&b).filter(|(x, y)| x.to_bits() != y.to_bits());
        assert_eq!(diff.count(), 0, "{name}: folded outputs differ");
        outs.push(b);
    }
    Some(outs)
}

pub fn zeros(g: &Gpu, n: usize) -> wgpu::Buffer {
    up(g, &vec![0.0; n])
}
