//! A Hugging Face checkpoint: the first byte picks what is fuzzed, config.json (against
//! a fixture's weights) or model.safetensors (against a fixture's config), the second
//! byte the fixture, the rest is the file. Body: `hybrid_core::fuzz::hf_checkpoint`.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FIXTURES: [(&[u8], &[u8]); 6] = [
    (
        include_bytes!("../../core/tests/fixtures/hf/llama/config.json"),
        include_bytes!("../../core/tests/fixtures/hf/llama/model.safetensors"),
    ),
    (
        include_bytes!("../../core/tests/fixtures/hf/mamba2/config.json"),
        include_bytes!("../../core/tests/fixtures/hf/mamba2/model.safetensors"),
    ),
    (
        include_bytes!("../../core/tests/fixtures/hf/bamba/config.json"),
        include_bytes!("../../core/tests/fixtures/hf/bamba/model.safetensors"),
    ),
    (
        include_bytes!("../../core/tests/fixtures/hf/granitemoehybrid/config.json"),
        include_bytes!("../../core/tests/fixtures/hf/granitemoehybrid/model.safetensors"),
    ),
    (
        include_bytes!("../../core/tests/fixtures/hf/falcon_h1/config.json"),
        include_bytes!("../../core/tests/fixtures/hf/falcon_h1/model.safetensors"),
    ),
    (
        include_bytes!("../../core/tests/fixtures/hf/nemotron_h/config.json"),
        include_bytes!("../../core/tests/fixtures/hf/nemotron_h/model.safetensors"),
    ),
];

fuzz_target!(|data: &[u8]| {
    let [what, pick, file @ ..] = data else {
        return;
    };
    let (config, weights) = FIXTURES[*pick as usize % FIXTURES.len()];
    if what % 2 == 0 {
        hybrid_core::fuzz::hf_checkpoint(file, weights);
    } else {
        hybrid_core::fuzz::hf_checkpoint(config, file);
    }
});
