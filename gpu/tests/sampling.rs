//! Sampling with the logits on the GPU: the top-k kernel against a sort on the host, and
//! `Session::sample_next` against the CPU sampler on the same logits (same seed, same
//! tokens), on a 256K vocabulary whose session keeps 64 rows of logits, not a chunk's.

mod common;

use common::{family_configs, gpu, rel_err};
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, Model, Sampler, SamplingParams};
use hybrid_gpu::ops::topk::{scratch_words, TopK, MAX_K};
use hybrid_gpu::readback::download_f32;
use hybrid_gpu::{GpuModel, SessionOptions};

/// The host's order: finite logits by value descending, ties to the lowest id.
fn host_top_k(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> = (0..logits.len() as u32)
        .map(|i| (i, logits[i as usize]))
        .filter(|(_, v)| v.is_finite())
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

#[test]
fn top_k_kernel_equals_a_host_sort() {
    let Some(g) = gpu() else { return };
    // 3 slices of the first pass; repeated values (ties across slices), -0 / +0, NaN, inf
    let n = 10_000;
    let mut logits: Vec<f32> = (0..n)
        .map(|i| ((i * 7919 % 1000) as f32 * 0.01 - 5.0).round() * 0.5)
        .collect();
    (logits[17], logits[18], logits[19]) = (f32::NAN, f32::INFINITY, f32::NEG_INFINITY);
    (logits[20], logits[21]) = (-0.0, 0.0);
    let buf = g.upload("logits", &logits).expect("upload");
    let scratch = g
        .storage(
            "scratch",
            (scratch_words(n) * 4) as u64,
            wgpu::BufferUsages::empty(),
        )
        .expect("scratch");
    let out = g
        .storage("out", (MAX_K * 8) as u64, wgpu::BufferUsages::COPY_SRC)
        .expect("out");
    for k in [1, 7, 40, MAX_K] {
        let top = TopK { n, off: 0, k };
        let d = top.build(&g, "top-k", &buf, &scratch, &out).expect("build");
        hybrid_gpu::run(&g, "top-k", &d).expect("run");
        let words = pollster::block_on(download_f32(&g, &out, 2 * k)).expect("download");
        let got: Vec<(u32, f32)> = words
            .chunks_exact(2)
            .map(|w| (w[0].to_bits(), f32::from_bits(w[1].to_bits())))
            .collect();
        let want = host_top_k(&logits, k);
        assert_eq!(got.len(), want.len());
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(
                a.0 == b.0 && a.1.to_bits() == b.1.to_bits(),
                "k {k}, rank {i}: GPU {a:?}, host {b:?}"
            );
        }
    }
    // fewer finite logits than k: the rest of the slots are empty (id u32::MAX)
    let few = [1.0f32, f32::NAN, 3.0];
    let fb = g.upload("few", &few).expect("upload");
    let d = TopK { n: 3, off: 0, k: 4 }
        .build(&g, "top-k", &fb, &scratch, &out)
        .expect("build");
    hybrid_gpu::run(&g, "top-k", &d).expect("run");
    let w: Vec<u32> = pollster::block_on(download_f32(&g, &out, 8))
        .expect("download")
        .iter()
        .map(|v| v.to_bits())
        .collect();
    assert_eq!(w[0..4], [2, 3.0f32.to_bits(), 0, 1.0f32.to_bits()]);
    assert_eq!((w[4], w[6]), (u32::MAX, u32::MAX));
}

/// A model of the transformer family with vocabulary `v` and random weights.
fn model_with_vocab(v: usize) -> Model {
    let (_, mut cfg) = family_configs().remove(0);
    cfg.vocab_size = v;
    cfg.validate().expect("valid");
    Model::new(cfg.clone(), Weights::random(&cfg, 5).expect("random"))
}

const OPTS: SessionOptions = SessionOptions {
    max_context: 256,
    chunk: 128,
};

/// The prompt, then `steps` tokens drawn by `sample_next` (top-k on the GPU) equal the
/// CPU sampler's draws from the GPU's whole rows of logits, for several settings.
fn samples_match(gm: &GpuModel, prompt: &[u32], steps: usize) {
    for (top_k, top_p, temperature) in [(40, 0.95, 0.8), (MAX_K, 1.0, 1.5), (0, 0.9, 1.0)] {
        let params = SamplingParams {
            temperature,
            top_k,
            top_p,
            seed: 42,
        };
        // on the GPU: only the candidates come back
        let mut sg = gm.session(OPTS).expect("session");
        let mut gs = Sampler::new(params);
        let mut got = vec![sg.sample_next_blocking(prompt, &mut gs).expect("sample")];
        // the CPU sampler on the GPU's whole rows of logits
        let mut sf = gm.session(OPTS).expect("session");
        let mut cs = Sampler::new(params);
        let mut want = vec![cs.sample(&sf.prefill_blocking(prompt).expect("prefill"))];
        for _ in 0..steps {
            let last = got[got.len() - 1];
            got.push(sg.sample_next_blocking(&[last], &mut gs).expect("sample"));
            let prev = want[want.len() - 1];
            want.push(cs.sample(&sf.step_blocking(prev).expect("step")));
        }
        assert_eq!(got, want, "top_k {top_k}, top_p {top_p}, T {temperature}");
        if steps > 0 {
            assert!(got.iter().any(|&t| t != got[0]), "tokens vary: {got:?}");
        }
    }
}

#[test]
fn sampling_on_the_gpu_draws_the_cpu_samplers_tokens() {
    let Some(g) = gpu() else { return };
    let model = model_with_vocab(5000);
    let gm = GpuModel::new(g.clone(), &model).expect("upload");
    let prompt: Vec<u32> = (0..20u32).map(|i| (i * 331 + 7) % 5000).collect();
    samples_match(&gm, &prompt, 12);
    // greedy reads back the argmax
    let mut sg = gm.session(OPTS).expect("session");
    let mut greedy = Sampler::new(SamplingParams::greedy());
    let first = sg
        .sample_next_blocking(&prompt, &mut greedy)
        .expect("greedy");
    let mut sf = gm.session(OPTS).expect("session");
    let row = sf.prefill_blocking(&prompt).expect("prefill");
    assert_eq!(first, hybrid_core::sample::argmax(&row));
    let top = sf.prefill_top_k_blocking(&[first], 5).expect("top-k");
    let mut sh = gm.session(OPTS).expect("session");
    sh.prefill_blocking(&prompt).expect("prefill");
    let next = sh.step_blocking(first).expect("step");
    assert_eq!(top, host_top_k(&next, 5), "prefill_top_k");
    assert!(sf.prefill_top_k_blocking(&[first], MAX_K + 1).is_err());
}

/// A 256K vocabulary: the session keeps 64 rows of logits (64 MiB), not the chunk's 128;
/// `prefill_all` still returns every row (chunks of 64); sampling reads back candidates.
/// (One sampled token per setting: a decode step at this vocabulary takes ~3 s on
/// lavapipe.)
#[test]
fn a_256k_vocabulary_keeps_64_rows_of_logits_and_samples_on_the_gpu() {
    let Some(g) = gpu() else { return };
    let v = 1 << 18;
    let model = model_with_vocab(v);
    let gm = GpuModel::new(g.clone(), &model).expect("upload");
    let s = gm.session(OPTS).expect("session");
    let logit_bytes = 64 * v as u64 * 4;
    let act = s.memory().activations;
    assert!(
        act > logit_bytes && act < logit_bytes + (16 << 20),
        "{:?}",
        s.memory()
    );
    let prompt: Vec<u32> = (0..70u32).map(|i| (i * 104_729 + 11) % v as u32).collect();
    let mut s = gm.session(OPTS).expect("session");
    let all = s.prefill_all_blocking(&prompt).expect("prefill_all");
    let mut st = model.new_state();
    let fo = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    let want = model.forward(&mut st, &prompt, fo).expect("cpu").logits;
    let e = rel_err(&all, &want);
    assert!(e < 1e-3, "prefill_all at 256K: rel err {e:e}");
    samples_match(&gm, &prompt, 0);
}
