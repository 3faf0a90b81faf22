//! Memory estimates before loading: `hybrid_gpu::estimate` (from the config alone) equals
//! what a model and a fresh session then allocate, byte for byte, for every fixture and
//! family in each weight format; a buffer over a device limit is refused by name before
//! anything is allocated.

mod common;

use common::{family_configs, fixture, fixture_names, gpu};
use hybrid_core::testing::hf_fixture;
use hybrid_core::weights::Weights;
use hybrid_core::Model;
use hybrid_gpu::{estimate, GpuError, GpuModel, SessionOptions, WeightFormat};

#[test]
fn the_estimate_equals_what_model_and_session_allocate() {
    let Some(g) = gpu() else { return };
    let mut models: Vec<(String, Model)> = fixture_names()
        .into_iter()
        .map(|n| {
            let m = fixture(&n).0;
            (n, m)
        })
        .collect();
    for (n, cfg) in family_configs() {
        let w = Weights::random(&cfg, 1).expect("random");
        models.push((n.to_string(), Model::new(cfg, w)));
    }
    for family in ["granitemoehybrid", "falcon_h1", "nemotron_h"] {
        models.push((family.to_string(), hf_fixture(family).0));
    }
    for (name, model) in &models {
        for format in WeightFormat::ALL {
            let gm = GpuModel::with_format(g.clone(), model, format).expect("upload");
            for opts in [
                SessionOptions {
                    max_context: 200,
                    chunk: 16,
                },
                SessionOptions {
                    max_context: 37,
                    chunk: 300,
                },
            ] {
                let e = estimate(model.config(), format, opts);
                let s = gm.session(opts).expect("session");
                assert_eq!(e.report, s.memory(), "{name} {format:?} {opts:?}");
            }
        }
    }
}

#[test]
fn a_buffer_over_the_limits_is_refused_by_name_before_allocating() {
    let Some(g) = gpu() else { return };
    let (model, _) = fixture("transformer");
    let cfg = model.config();
    let opts = SessionOptions {
        max_context: 64,
        chunk: 16,
    };
    let e = estimate(cfg, WeightFormat::F32, opts);
    let bytes = e.largest().expect("buffers").1;
    let mut small = g.limits.clone();
    small.max_storage_buffer_binding_size = bytes - 4;
    match e.check(&small, None) {
        // the first buffer (weights first) of the largest size
        Err(GpuError::TooLarge { what, limit, .. }) => {
            let first = e.buffers.iter().find(|b| b.1 == bytes).expect("largest");
            assert_eq!((what, limit), (first.0.clone(), bytes - 4));
        }
        other => panic!("{other:?}"),
    }
    // f16 matrices halve the largest weight: it fits where f32 did not
    let half = estimate(cfg, WeightFormat::F16, opts);
    assert!(half.report.weights < e.report.weights);
    let total = e.report.total();
    assert!(e.check(&g.limits, Some(total)).is_ok());
    match e.check(&g.limits, Some(total - 1)) {
        Err(GpuError::TooLarge { what, .. }) => assert!(what.contains("together"), "{what}"),
        other => panic!("{other:?}"),
    }
    // a session whose KV cache is over the per-binding limit: refused, naming it
    let rows = g.limits.max_storage_buffer_binding_size as usize / (4 * 16) + 1;
    let gm = GpuModel::new(g.clone(), &model).expect("upload");
    let huge = SessionOptions {
        max_context: rows,
        chunk: 16,
    };
    match gm.session(huge) {
        Err(GpuError::TooLarge { what, .. }) => assert!(what.contains("cache"), "{what}"),
        other => panic!("{other:?}"),
    }
}
