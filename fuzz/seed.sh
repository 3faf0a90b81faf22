#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/, not committed) from the committed files:
# the fixtures' weights (with the config-picking first byte), their configs and the
# bundled models' configs, and the bundled tokenizers (with text and ids after 0xFF).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p fuzz/corpus/safetensors fuzz/corpus/config fuzz/corpus/tokenizer fuzz/corpus/hf
i=0
# the order of CONFIGS in fuzz_targets/safetensors.rs
for f in inter_1to3 intra_add intra_concat intra_joint_scalars intra_subtract mamba2 swa transformer; do
    { printf "\\x$(printf %02x $i)"; cat "tests/fixtures/$f/model.safetensors"; } >"fuzz/corpus/safetensors/$f"
    cp "tests/fixtures/$f/config.json" "fuzz/corpus/config/fixture-$f.json"
    i=$((i + 1))
done
for d in assets/models/*/; do
    n="$(basename "$d")"
    cp "$d/config.json" "fuzz/corpus/config/$n.json"
    { cat "$d/tokenizer.json"; printf '\xffROMEO: k20 <sep> \xe2\x82'; } >"fuzz/corpus/tokenizer/$n"
done
# the Hugging Face fixtures, in the order of FIXTURES in fuzz_targets/hf.rs: a config
# (first byte even) or the weights (odd), then the fixture's index
j=0
for f in llama mamba2 bamba granitemoehybrid falcon_h1 nemotron_h; do
    { printf "\\x00\\x$(printf %02x $j)"; cat "core/tests/fixtures/hf/$f/config.json"; } >"fuzz/corpus/hf/config-$f"
    { printf "\\x01\\x$(printf %02x $j)"; cat "core/tests/fixtures/hf/$f/model.safetensors"; } >"fuzz/corpus/hf/weights-$f"
    j=$((j + 1))
done
echo "corpora: $(ls fuzz/corpus/safetensors | wc -l) safetensors, $(ls fuzz/corpus/config | wc -l) configs, $(ls fuzz/corpus/tokenizer | wc -l) tokenizers"
