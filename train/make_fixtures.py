"""Write the golden fixtures that the Rust engine is tested against.

    python3 train/make_fixtures.py            # writes tests/fixtures/<name>/
    python3 train/make_fixtures.py --check    # recompute and compare with what is on disk

Each fixture folder holds (docs/FORMAT.md, "Fixtures"):
    config.json, model.safetensors (f32, f16 or bf16 weights),
    golden.safetensors: tokens i32 [T], logits f32 [T, V], greedy i32 [32], probe.{i}.<name> f32.

The goldens are computed in float64 from the weights as stored (read back from the file, so
f16/bf16 fixtures use the rounded weights), then stored as f32. Random networks are made
"decisive": weights use larger scales than a training init, and a seed is accepted only if
at every one of the 32 greedy steps the top-1 logit beats the top-2 by more than MIN_MARGIN,
so an f32 engine must find the same tokens. Everything is seeded: a rerun writes the same bytes.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hybrid_twin import (AttentionConfig, Attention, Config, HybridLM, InferenceCache, IntraConfig,  # noqa: E402
                         IntraMixer, Mamba2, MambaConfig, count_params)
from save import load_checkpoint, round_weights_, save_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures"

T_PROMPT = 21        # odd, not a multiple of any chunk size
N_GREEDY = 32
MIN_MARGIN = 0.05   # stricter than the 1e-2 asked for: f32 engines differ from f64 by ~1e-4 here
MIN_DISTINCT = 8     # greedy tokens must not collapse into repeating one or two tokens
MAX_TRIES = 50
MAX_FILE_BYTES = 1 << 20


def base(name: str, layers, **kw) -> Config:
    attention = kw.pop("attention", AttentionConfig(n_heads=4, n_kv_heads=2, head_dim=16))
    mamba = kw.pop("mamba", MambaConfig(d_state=16, head_dim=16, expand=2, n_groups=1, conv_width=4))
    return Config(name=name, vocab_size=256, d_model=64, d_ffn=128, max_seq_len=64, layers=list(layers),
                  attention=attention if set(layers) & {"attention", "intra"} else None,
                  mamba=mamba if set(layers) & {"mamba", "intra"} else None, **kw)


INTRA_PLAN = ["mamba", "intra", "mamba", "intra"]


def intra(fusion: str, **kw) -> IntraConfig:
    d = dict(attn_heads=2, attn_kv_heads=1, ssm_heads=4, fusion=fusion, branch_norm=True,
             out_proj="separate", branch_scalars=False)
    d.update(kw)
    return IntraConfig(**d)


# name -> (config, storage dtype, base seed)
FIXTURES = {
    "transformer": (base("transformer", ["attention"] * 4), "f32", 1000),
    "mamba2": (base("mamba2", ["mamba"] * 4), "f16", 2000),
    # the one fixture with an untied LM head (covers lm_head.weight)
    "inter_1to3": (base("inter_1to3", ["mamba", "attention", "mamba", "mamba"], tie_embeddings=False), "f32", 3000),
    "intra_add": (base("intra_add", INTRA_PLAN, intra=intra("add")), "f32", 4000),
    "intra_subtract": (base("intra_subtract", INTRA_PLAN, intra=intra("subtract")), "f32", 5000),
    "intra_concat": (base("intra_concat", INTRA_PLAN, intra=intra("concat", out_proj="joint")), "f32", 6000),
    # joint add/subtract needs Ha*dh == Hs*P: 4 attention heads (2 KV) of 16 and 4 SSM heads of 16
    "intra_joint_scalars": (base("intra_joint_scalars", INTRA_PLAN,
                                 mamba=MambaConfig(d_state=16, head_dim=16, expand=2, n_groups=2, conv_width=4),
                                 intra=intra("subtract", attn_heads=4, attn_kv_heads=2, out_proj="joint",
                                             branch_scalars=True, branch_norm=False)), "bf16", 7000),
    "swa": (base("swa", ["attention"] * 4,
                 attention=AttentionConfig(n_heads=4, n_kv_heads=2, head_dim=16, window=6, sink_tokens=2)),
            "bf16", 8000),
    # the paper's intra branch (Differential-Transformer style): Q/K reduced to dh = 8, V full
    # (dva = 16, so the branch is Ha*dva = 32 wide); the attention block has its own dv = 12
    "intra_vfull": (base("intra_vfull", ["mamba", "intra", "attention", "intra"],
                         attention=AttentionConfig(n_heads=4, n_kv_heads=2, head_dim=8, v_head_dim=12),
                         intra=intra("subtract", attn_v_head_dim=16)), "f32", 9000),
    # SWA with global layers: per-layer windows override attention.window (3, used nowhere)
    "swa_global": (base("swa_global", ["attention", "attention", "mamba", "attention"],
                        attention=AttentionConfig(n_heads=4, n_kv_heads=2, head_dim=16, window=3, sink_tokens=1),
                        windows=[5, None, None, 7]), "f16", 10000),
}


# --------------------------------------------------------------------------------------
# "Decisive" random init: unit-scale activations, well separated logits, every parameter
# non-trivial (norm weights, D, conv bias, scalars are random, not 1 or 0) so that an engine
# that ignores one of them fails.
#
# With a tied head a random network tends to predict the token it just read (the residual
# stream is mostly its embedding), and greedy decoding collapses into repeating one token,
# a weak test of the decode path. So the embedding is small next to what the blocks add
# (EMBED_STD, RESID_GAIN) and the logits are scaled up by the final norm's weight
# (HEAD_GAIN), which widens every top-1/top-2 margin without changing any argmax.
# --------------------------------------------------------------------------------------

EMBED_STD = 0.5
RESID_GAIN = 2.0
HEAD_GAIN = 4.0

@torch.no_grad()
def init_fixture_(model: HybridLM, g: torch.Generator) -> None:
    def normal_(p, std):
        p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)

    def uniform_(p, lo, hi):
        p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) * (hi - lo) + lo)

    def lin(layer, gain=1.0):  # rows of unit-rms output for unit-rms input
        normal_(layer.weight, gain / math.sqrt(layer.weight.shape[1]))

    for p in model.parameters():       # every parameter must be set below
        p.fill_(float("nan"))
    D = model.cfg.d_model
    normal_(model.embed_tokens.weight, EMBED_STD)
    if not model.cfg.tie_embeddings:
        normal_(model.lm_head.weight, EMBED_STD)
    for mod in model.modules():
        if isinstance(mod, Attention):
            lin(mod.q_proj, 1.5)
            lin(mod.k_proj, 1.5)   # scores q.k/sqrt(dh) ~ 2: attention far from uniform
            lin(mod.v_proj)
            if hasattr(mod, "o_proj"):
                lin(mod.o_proj, RESID_GAIN)
        elif isinstance(mod, Mamba2):
            E, GN, H = mod.E, mod.G * mod.N, mod.H
            w = mod.in_proj.weight                               # rows [z | x | B | C | dt]
            normal_(w[: 2 * E + 2 * GN], 1.0 / math.sqrt(D))
            normal_(w[2 * E + 2 * GN:], 0.5 / math.sqrt(D))      # dt varies around softplus(dt_bias)
            normal_(mod.conv1d.weight, 0.6)
            normal_(mod.conv1d.bias, 0.2)
            dt = torch.exp(torch.rand(H, generator=g, dtype=torch.float64)
                           * (math.log(0.3) - math.log(0.01)) + math.log(0.01))
            mod.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
            mod.A_log.copy_(torch.log(torch.rand(H, generator=g, dtype=torch.float64) * 7.0 + 1.0))
            mod.D.copy_(1.0 + 0.5 * torch.randn(H, generator=g, dtype=torch.float64))
            if hasattr(mod, "norm"):
                uniform_(mod.norm.weight, 0.6, 1.4)
                lin(mod.out_proj, RESID_GAIN)
        elif isinstance(mod, IntraMixer):
            if mod.branch_norm:
                uniform_(mod.attn_norm.weight, 0.6, 1.4)
                uniform_(mod.ssm_norm.weight, 0.6, 1.4)
            if mod.branch_scalars:
                uniform_(mod.attn_scale, 0.5, 1.5)
                uniform_(mod.ssm_scale, 0.5, 1.5)
            if mod.joint:
                lin(mod.out_proj, RESID_GAIN)
            else:
                lin(mod.ssm.out_proj, RESID_GAIN)
    for blk in model.layers:
        uniform_(blk.mixer_norm.weight, 0.6, 1.4)
        uniform_(blk.ffn_norm.weight, 0.6, 1.4)
        lin(blk.ffn.gate_proj)
        lin(blk.ffn.up_proj)
        lin(blk.ffn.down_proj, RESID_GAIN)
    uniform_(model.norm_f.weight, 0.6 * HEAD_GAIN, 1.4 * HEAD_GAIN)
    unset = [k for k, p in model.named_parameters() if torch.isnan(p).any()]
    assert not unset, f"init_fixture_ left parameters unset: {unset}"


# --------------------------------------------------------------------------------------
# Goldens
# --------------------------------------------------------------------------------------

def top2_margin(v: torch.Tensor) -> float:
    s = torch.sort(v, descending=True).values
    return float(s[0] - s[1])


@torch.no_grad()
def golden(model: HybridLM, tokens: torch.Tensor):
    """model in float64; tokens [T] -> (tensors for golden.safetensors, min greedy margin)."""
    logits, probes = model(tokens[None], return_probes=True)
    seq, greedy, margins = tokens.clone(), [], []
    for _ in range(N_GREEDY):                      # full forward on the growing sequence
        last = model(seq[None])[0, -1]
        nxt = int(torch.argmax(last))              # margin > 0 below, so no ties
        margins.append(top2_margin(last))
        greedy.append(nxt)
        seq = torch.cat([seq, seq.new_tensor([nxt])])
    # cross-check: the cached (step-by-step) path gives the same tokens
    cached = model.generate_greedy(tokens, N_GREEDY, use_cache=True).tolist()
    assert cached == greedy, f"cached decode disagrees: {cached} vs {greedy}"
    out = {
        "tokens": tokens.to(torch.int32),
        "logits": logits[0].to(torch.float32),
        "greedy": torch.tensor(greedy, dtype=torch.int32),
    }
    for k, v in probes.items():
        out[k] = v.to(torch.float32)
    return {k: v.contiguous() for k, v in out.items()}, min(margins)


def build(name: str, cfg: Config, dtype: str, seed: int, folder: Path):
    """Try seeds from ``seed`` on until the network is decisive; write the folder."""
    for attempt in range(MAX_TRIES):
        g = torch.Generator().manual_seed(seed + attempt)
        tokens = torch.randint(0, cfg.vocab_size, (T_PROMPT,), generator=g)
        model = HybridLM(cfg)
        init_fixture_(model, g)
        round_weights_(model, dtype)
        save_checkpoint(model, folder, dtype)
        stored = load_checkpoint(folder, dtype=torch.float64)    # exactly the weights on disk
        tensors, margin = golden(stored, tokens)
        distinct = len(set(tensors["greedy"].tolist()))
        if margin > MIN_MARGIN and distinct >= MIN_DISTINCT:
            save_file(tensors, str(folder / "golden.safetensors"))
            return model, tensors, margin, seed + attempt
        print(f"  {name}: seed {seed + attempt}: min margin {margin:.3f} (need > {MIN_MARGIN}), "
              f"{distinct} distinct greedy tokens (need >= {MIN_DISTINCT}); re-seeding")
    raise RuntimeError(f"{name}: no decisive seed in {MAX_TRIES} tries")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT, help="fixtures folder (default tests/fixtures)")
    ap.add_argument("--only", nargs="*", help="fixture names to write (default all)")
    ap.add_argument("--check", action="store_true",
                    help="write into a temporary folder and compare byte-for-byte with --out")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    names = args.only or list(FIXTURES)
    out = args.out
    if args.check:
        import tempfile
        out = Path(tempfile.mkdtemp(prefix="fixtures-"))

    rows = []
    for name in names:
        cfg, dtype, seed = FIXTURES[name]
        folder = out / name
        model, tensors, margin, used_seed = build(name, cfg, dtype, seed, folder)
        sizes = {f.name: f.stat().st_size for f in sorted(folder.iterdir())}
        for f, n in sizes.items():
            assert n < MAX_FILE_BYTES, f"{folder / f} is {n} bytes"
        distinct = len(set(tensors["greedy"].tolist()))
        # how far a float32 forward of the same weights lands from the float64 goldens
        f32 = load_checkpoint(folder, dtype=torch.float32)
        with torch.no_grad():
            err = (f32(tensors["tokens"].long()[None])[0] - tensors["logits"]).abs().max().item()
        rows.append((name, "/".join(k[0] for k in cfg.layers), dtype, count_params(model), margin,
                     distinct, err, used_seed, sizes))

    print()
    print(f"{'fixture':22s} {'plan':8s} {'dtype':5s} {'params':>8s} {'min margin':>11s} "
          f"{'distinct':>8s} {'f32 err':>8s} {'seed':>5s}  sizes (config / model / golden, bytes)")
    for name, plan, dtype, n, margin, distinct, err, seed, sizes in rows:
        print(f"{name:22s} {plan:8s} {dtype:5s} {n:8d} {margin:11.4f} {distinct:8d} {err:8.1e} {seed:5d}  "
              f"{sizes['config.json']} / {sizes['model.safetensors']} / {sizes['golden.safetensors']}")

    if args.check:
        bad = []
        for name in names:
            for f in ("config.json", "model.safetensors", "golden.safetensors"):
                a, b = (out / name / f), (args.out / name / f)
                if not b.exists() or a.read_bytes() != b.read_bytes():
                    bad.append(str(b))
        print("check:", "all fixtures reproduce byte-for-byte" if not bad else f"differ: {bad}")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
