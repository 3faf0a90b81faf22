//! `model.safetensors` against the fixture configs: the first byte picks the config, the
//! rest is the file. Body: `hybrid_core::fuzz::safetensors`.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CONFIGS: [&[u8]; 8] = [
    include_bytes!("../../tests/fixtures/inter_1to3/config.json"),
    include_bytes!("../../tests/fixtures/intra_add/config.json"),
    include_bytes!("../../tests/fixtures/intra_concat/config.json"),
    include_bytes!("../../tests/fixtures/intra_joint_scalars/config.json"),
    include_bytes!("../../tests/fixtures/intra_subtract/config.json"),
    include_bytes!("../../tests/fixtures/mamba2/config.json"),
    include_bytes!("../../tests/fixtures/swa/config.json"),
    include_bytes!("../../tests/fixtures/transformer/config.json"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, weights)) = data.split_first() else {
        return;
    };
    hybrid_core::fuzz::safetensors(CONFIGS[pick as usize % CONFIGS.len()], weights);
});
