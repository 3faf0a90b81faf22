"""Tiny random-weight Hugging Face checkpoints, built and run by `transformers` itself.

For every model class the importer (core/src/hf/) maps, this writes into
core/tests/fixtures/hf/<family>/:

    config.json, model.safetensors   saved by `save_pretrained` (weights rounded to bf16)
    tokenizer.json                   the project's 256-word recall tokenizer
    golden.safetensors               `logits` [T, V]: the reference logits at every prompt position
    golden.json                      prompt ids, greedy continuation, versions, dtype, margin

The goldens are computed in float64 on the CPU (the `torch_forward` paths, no fused
kernels) from the same bf16-rounded weights that were saved. Weights are redrawn with
spreads larger than the classes' own initializers (norm weights around 1, biases,
A_log, dt_bias, D all random) so that a missed multiplier, norm or bias changes the
logits visibly. The greedy continuation is argmax over a full recomputation at each step.

Run where `torch` and `transformers` are installed (the H200 machine):
    python train/hf_fixtures.py --out DIR --tokenizer assets/models/recall-transformer/tokenizer.json
A family whose class is missing from the installed `transformers`, or that fails, is
reported in DIR/log.txt and skipped. With --sources, the modeling and configuration
sources of the installed `transformers` for these families are copied to DIR/src/.
"""

import argparse
import copy
import inspect
import json
import math
import os
import shutil
import sys
import traceback

import torch
import transformers
from safetensors.torch import save_file

SEED = 1234
# Word ids of the recall tokenizer: <bos>, then keys and values.
PROMPT = [1, 16, 70, 17, 71, 18, 72, 2, 16, 17, 18]
GREEDY = 12
# The greedy continuation ends before a step whose top two logits are closer than this:
# a float32 engine could pick either.
MIN_MARGIN = 1e-3
VOCAB = 256

ATTN = dict(num_attention_heads=4, num_key_value_heads=2)
MAMBA_HF = dict(
    mamba_n_heads=4,
    mamba_d_head=16,
    mamba_n_groups=2,
    mamba_d_state=8,
    mamba_d_conv=4,
    mamba_expand=2,
    mamba_chunk_size=4,
)

# family -> (model class, config class, config kwargs)
FAMILIES = {
    "llama": (
        "LlamaForCausalLM",
        "LlamaConfig",
        dict(
            vocab_size=VOCAB,
            hidden_size=32,
            intermediate_size=48,
            num_hidden_layers=2,
            head_dim=8,
            rope_theta=500.0,
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            max_position_embeddings=128,
            **ATTN,
        ),
    ),
    "mamba2": (
        "Mamba2ForCausalLM",
        "Mamba2Config",
        dict(
            vocab_size=VOCAB,
            hidden_size=32,
            num_hidden_layers=2,
            num_heads=4,
            head_dim=16,
            expand=2,
            n_groups=2,
            state_size=8,
            conv_kernel=4,
            chunk_size=4,
            layer_norm_epsilon=1e-5,
            tie_word_embeddings=True,
        ),
    ),
    "bamba": (
        "BambaForCausalLM",
        "BambaConfig",
        dict(
            vocab_size=VOCAB,
            hidden_size=32,
            intermediate_size=48,
            num_hidden_layers=3,
            attn_layer_indices=[1],
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            max_position_embeddings=128,
            **ATTN,
            **MAMBA_HF,
        ),
    ),
    "granitemoehybrid": (
        "GraniteMoeHybridForCausalLM",
        "GraniteMoeHybridConfig",
        dict(
            vocab_size=VOCAB,
            hidden_size=32,
            intermediate_size=48,
            shared_intermediate_size=48,
            num_local_experts=0,
            num_hidden_layers=3,
            layer_types=["mamba", "attention", "mamba"],
            position_embedding_type=None,
            embedding_multiplier=2.0,
            residual_multiplier=0.5,
            attention_multiplier=0.3,
            logits_scaling=1.7,
            rms_norm_eps=1e-5,
            tie_word_embeddings=True,
            max_position_embeddings=128,
            **ATTN,
            **MAMBA_HF,
        ),
    ),
    "falcon_h1": (
        "FalconH1ForCausalLM",
        "FalconH1Config",
        dict(
            vocab_size=VOCAB,
            hidden_size=32,
            intermediate_size=48,
            num_hidden_layers=2,
            head_dim=8,
            mamba_d_ssm=64,
            # muP multipliers away from 1, so that a missed one shows in the logits
            embedding_multiplier=1.5,
            lm_head_multiplier=0.7,
            mlp_multipliers=[0.8, 1.3],
            key_multiplier=0.6,
            attention_in_multiplier=1.2,
            attention_out_multiplier=0.9,
            ssm_multipliers=[1.1, 0.9, 0.8, 1.2, 0.7],
            ssm_in_multiplier=1.3,
            ssm_out_multiplier=0.75,
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            max_position_embeddings=128,
            **ATTN,
            **MAMBA_HF,
        ),
    ),
    "nemotron_h": (
        "NemotronHForCausalLM",
        "NemotronHConfig",
        dict(
            vocab_size=VOCAB,
            hidden_size=32,
            intermediate_size=48,
            num_hidden_layers=5,
            hybrid_override_pattern="M*-M-",
            head_dim=8,
            mamba_num_heads=4,
            mamba_head_dim=16,
            n_groups=2,
            ssm_state_size=8,
            conv_kernel=4,
            expand=2,
            chunk_size=4,
            layer_norm_epsilon=1e-5,
            tie_word_embeddings=False,
            max_position_embeddings=128,
            **ATTN,
        ),
    ),
}


def redraw(model, gen):
    """Random weights with visible spreads, each rounded to bf16."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "A_log":
                v = torch.log(torch.empty(p.shape).uniform_(1.0, 8.0, generator=gen))
            elif leaf == "dt_bias":
                v = torch.empty(p.shape).uniform_(-3.0, 0.5, generator=gen)
            elif leaf == "D":
                v = 1.0 + 0.5 * torch.randn(p.shape, generator=gen)
            elif leaf == "bias":
                v = 0.2 * torch.randn(p.shape, generator=gen)
            elif p.ndim == 1:  # norm weights
                v = 1.0 + 0.3 * torch.randn(p.shape, generator=gen)
            elif "embed" in name:
                v = torch.randn(p.shape, generator=gen)
            else:
                fan_in = p.shape[-1] if p.ndim == 2 else p.shape[-1] * (p.shape[1] if p.ndim == 3 else 1)
                v = torch.randn(p.shape, generator=gen) / math.sqrt(fan_in)
            p.copy_(v.to(torch.bfloat16).to(p.dtype))


def logits_of(model, ids):
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), use_cache=False)
    return out.logits[0]


def build(family, out_dir, tokenizer, log):
    model_name, config_name, kwargs = FAMILIES[family]
    model_cls = getattr(transformers, model_name, None)
    config_cls = getattr(transformers, config_name, None)
    if model_cls is None or config_cls is None:
        log(f"{family}: transformers {transformers.__version__} has no {model_name}; skipped")
        return
    torch.manual_seed(SEED)
    config = config_cls(**kwargs)
    model = model_cls(config).eval()
    redraw(model, torch.Generator().manual_seed(SEED))
    model.tie_weights()
    dest = os.path.join(out_dir, family)
    os.makedirs(dest, exist_ok=True)
    # a copy is cast for saving: casting the model itself would round its RoPE inverse
    # frequencies (a float buffer) to bf16 as well, which no loaded checkpoint has
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(dest, safe_serialization=True)
    for extra in ("generation_config.json",):
        path = os.path.join(dest, extra)
        if os.path.exists(path):
            os.remove(path)
    shutil.copy(tokenizer, os.path.join(dest, "tokenizer.json"))
    dtype = torch.float64
    try:
        model.to(dtype)
        logits = logits_of(model, PROMPT)
    except Exception as e:  # some classes cast inside to float32
        log(f"{family}: float64 failed ({e!r}); goldens in float32")
        dtype = torch.float32
        model.to(dtype)
        logits = logits_of(model, PROMPT)
    ids, margins = list(PROMPT), []
    for _ in range(GREEDY):
        last = logits_of(model, ids)[-1]
        top = torch.topk(last, 2).values
        if float(top[0] - top[1]) < MIN_MARGIN:
            log(f"{family}: greedy stops at a near tie ({float(top[0] - top[1]):.2g})")
            break
        margins.append(float(top[0] - top[1]))
        ids.append(int(torch.argmax(last)))
    save_file({"logits": logits.to(torch.float32).contiguous()}, os.path.join(dest, "golden.safetensors"))
    golden = {
        "architecture": model_name,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "dtype": str(dtype).replace("torch.", ""),
        "prompt_ids": PROMPT,
        "greedy_ids": ids[len(PROMPT):],
        "greedy_min_margin": min(margins, default=None),
        "seed": SEED,
    }
    with open(os.path.join(dest, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
    full = {k: v for k, v in config.to_dict().items()}
    shapes = {k: [list(v.shape), str(v.dtype)] for k, v in model.state_dict().items()}
    with open(os.path.join(out_dir, f"{family}.full.json"), "w") as f:
        json.dump({"config": full, "state_dict": shapes}, f, indent=1, default=str)
    log(f"{family}: ok, dtype {dtype}, greedy {golden['greedy_ids']}, margin {min(margins, default=0):.3g}")


def copy_sources(out_dir, log):
    dest = os.path.join(out_dir, "src")
    os.makedirs(dest, exist_ok=True)
    for name in ("LlamaForCausalLM", "Mamba2ForCausalLM", "BambaForCausalLM",
                 "GraniteMoeHybridForCausalLM", "FalconH1ForCausalLM", "NemotronHForCausalLM",
                 "LlamaConfig", "Mamba2Config", "BambaConfig", "GraniteMoeHybridConfig",
                 "FalconH1Config", "NemotronHConfig"):
        cls = getattr(transformers, name, None)
        if cls is None:
            continue
        try:
            src = inspect.getsourcefile(cls)
            shutil.copy(src, os.path.join(dest, os.path.basename(src)))
        except Exception as e:
            log(f"source of {name}: {e!r}")
    try:
        import transformers.modeling_rope_utils as r
        shutil.copy(inspect.getsourcefile(r), os.path.join(dest, "modeling_rope_utils.py"))
    except Exception as e:
        log(f"rope utils: {e!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--sources", action="store_true")
    ap.add_argument("--families", default=",".join(FAMILIES))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log_file = open(os.path.join(args.out, "log.txt"), "a")

    def log(msg):
        print(msg, flush=True)
        log_file.write(msg + "\n")

    log(f"python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}")
    torch.set_num_threads(4)
    if args.sources:
        copy_sources(args.out, log)
    for family in args.families.split(","):
        try:
            build(family, args.out, args.tokenizer, log)
        except Exception:
            log(f"{family}: FAILED\n{traceback.format_exc()}")


if __name__ == "__main__":
    main()
