//! A model or a session over the device's buffer limits is refused with the numbers
//! (the buffer, its bytes, the limit) before that buffer is created, never a wgpu
//! validation error or a crash: on a device opened with 1 MiB per buffer, a 2 MiB
//! embedding and a KV cache for 10^6 tokens.

mod common;

use std::sync::Arc;

use common::gpu;
use hybrid_core::weights::Weights;
use hybrid_core::{Model, ModelConfig};
use hybrid_gpu::{Gpu, GpuError, GpuModel, SessionOptions};

const LIMIT: u64 = 1 << 20;

fn small_device() -> Option<Arc<Gpu>> {
    gpu()?; // the default device first: it checks the adapter and XDG_RUNTIME_DIR
    let g = Gpu::with_limits_blocking(|l| {
        l.max_buffer_size = LIMIT;
        l.max_storage_buffer_binding_size = LIMIT;
    })
    .expect("a device with 1 MiB buffers");
    assert_eq!(g.limits.max_buffer_size, LIMIT);
    Some(Arc::new(g))
}

fn model(vocab: usize, d: usize) -> Model {
    let json = format!(
        r#"{{"name":"t","vocab_size":{vocab},"d_model":{d},"d_ffn":64,"layers":["attention"],
        "attention":{{"n_heads":2,"n_kv_heads":2,"head_dim":16}}}}"#
    );
    let cfg = ModelConfig::from_json(json.as_bytes()).expect("config");
    Model::new(cfg.clone(), Weights::random(&cfg, 1).expect("weights"))
}

#[test]
fn buffers_over_the_device_limits_are_refused_with_their_bytes() {
    let Some(g) = small_device() else { return };
    // embed_tokens: 4096 x 128 f32 = 2 MiB
    let err = GpuModel::new(g.clone(), &model(4096, 128)).expect_err("2 MiB > 1 MiB");
    let msg = err.to_string();
    assert!(matches!(err, GpuError::TooLarge { .. }), "{msg}");
    assert!(
        msg.contains("2097152 bytes") && msg.contains("limit of 1048576 bytes"),
        "{msg}"
    );

    // a model that fits; its session for 10^6 tokens does not (K: 10^6 x 32 x 4 bytes)
    let m = GpuModel::new(g, &model(256, 32)).expect("a small model fits");
    let opts = SessionOptions {
        max_context: 1_000_000,
        chunk: 16,
    };
    let err = m.session(opts).expect_err("the KV cache is over 1 MiB");
    let msg = err.to_string();
    assert!(matches!(err, GpuError::TooLarge { .. }), "{msg}");
    assert!(msg.contains("limit of 1048576 bytes"), "{msg}");
    // and the device still works: a session that fits runs
    let opts = SessionOptions {
        max_context: 64,
        chunk: 16,
    };
    let mut s = m.session(opts).expect("a session that fits");
    let logits = pollster::block_on(s.prefill(&[1, 2, 3])).expect("prefill");
    assert_eq!(logits.len(), 256);
}
