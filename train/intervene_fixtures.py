"""Golden logits of the PyTorch twin with interventions (issue #11), for the Rust test
core/tests/intervene_twin.rs (CPU engine == twin within 1e-4, one set per kind and a few
combined, on a committed fixture with attention and Mamba blocks and one with intra blocks).

    python3 train/intervene_fixtures.py      # writes core/tests/fixtures/intervene/<fixture>.safetensors

Each file holds ``tokens`` i32 [T] (the fixture's golden prompt), ``rows`` i32 [R] (the
positions kept) and ``set.{k}.logits`` f32 [R, V], with the metadata ``model`` (the
fixture's folder in tests/fixtures) and ``set.{k}`` (the set's JSON, docs/FORMAT.md
"Interventions"). The logits are computed in float64 from the weights as stored. Before
writing, each set is checked: the plain twin reproduces the fixture's golden logits, the
set changes the logits, and the full forward agrees with a step-by-step run through the
cache and with the chunked scan (chunks of 8, so resets fall inside a chunk); a failed
check is printed and makes the exit status 1, after the files are written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hybrid_twin import InferenceCache  # noqa: E402
from save import load_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROWS = [3, 7, 10, 13, 17, 20]   # of the 21-token golden prompt
PREFIX = 6                      # the step-by-step check prefills this many tokens first
FAILED = []                     # the checks that failed (the files are written all the same)


def reset(layer, at, heads=None):
    return {"kind": "ssm_reset", "layer": layer, "at": at, "heads": heads}


def freeze(layer, start, heads=None):
    return {"kind": "ssm_freeze", "layer": layer, "from": start, "heads": heads}


def dt(layer, op, value, heads=None):
    return {"kind": "dt", "layer": layer, "heads": heads, "op": {op: value}}


def skip(layer, part):
    return {"kind": "skip", "layer": layer, "part": part}


# fixture -> sets (each a list of interventions)
SETS = {
    # mamba | attention | mamba | mamba
    "inter_1to3": [
        [skip(1, "mixer")],
        [skip(3, "mixer")],
        [skip(2, "ffn")],
        [{"kind": "window", "layer": 1, "window": 4}],
        [{"kind": "hide", "layer": 1, "from": 3, "to": 9}],
        [reset(0, 9)],
        [reset(2, 12, [1, 5])],
        [freeze(3, 7, [0, 2])],
        [dt(0, "scale", 0.5, [3])],
        [dt(2, "max", 0.05)],
        [{"kind": "window", "layer": 1, "window": 6}, {"kind": "hide", "layer": 1, "from": 0, "to": 3},
         reset(3, 5, [4]), freeze(0, 15), dt(2, "scale", 3.0, [0, 1]), dt(2, "max", 0.2), skip(0, "ffn")],
    ],
    # mamba | intra | mamba | intra
    "intra_subtract": [
        [{"kind": "branch_scale", "layer": 1, "branch": "attn", "scale": 0.0}],
        [{"kind": "branch_scale", "layer": 3, "branch": "ssm", "scale": 0.5}],
        [{"kind": "branch_norm_off", "layer": 1, "branch": "attn"}],
        [{"kind": "branch_norm_off", "layer": 3, "branch": None}],
        [skip(3, "mixer")],
        [{"kind": "window", "layer": 3, "window": 5}],
        [{"kind": "hide", "layer": 1, "from": 2, "to": 8}],
        [reset(1, 10, [1])],
        [freeze(3, 8)],
        [dt(1, "scale", 2.0)],
        [{"kind": "branch_scale", "layer": 1, "branch": "ssm", "scale": 0.0},
         {"kind": "branch_norm_off", "layer": 3, "branch": "ssm"}, {"kind": "window", "layer": 1, "window": 3},
         reset(2, 6), dt(3, "max", 0.01, [0]), skip(1, "ffn")],
    ],
}


@torch.no_grad()
def stepwise(model, tokens, iv):
    """Logits [T, V]: a prefill of PREFIX tokens through the cache, then one token at a time."""
    cache = InferenceCache(model.cfg)
    parts = [model(tokens[None, :PREFIX], cache=cache, interventions=iv)[0]]
    for t in range(PREFIX, tokens.shape[0]):
        parts.append(model(tokens[None, t:t + 1], cache=cache, interventions=iv)[0])
    return torch.cat(parts, dim=0)


@torch.no_grad()
def fixture_sets(folder: Path, sets):
    """(tensors, metadata) for one fixture, each set checked (see the module doc)."""
    model = load_checkpoint(folder, dtype=torch.float64)
    golden = load_file(str(folder / "golden.safetensors"))
    tokens = golden["tokens"].long()
    plain = model(tokens[None])[0]
    err = (plain - golden["logits"].double()).abs().max().item()
    print(f"{folder.name}: plain twin vs the fixture's goldens {err:.1e}")
    if err > 1e-4:
        FAILED.append(f"{folder.name}: the plain twin is {err:.1e} from the fixture's goldens")
    rows = torch.tensor(ROWS)
    out = {"tokens": golden["tokens"], "rows": rows.to(torch.int32)}
    meta = {"model": folder.name}
    for k, iv in enumerate(sets):
        logits = model(tokens[None], interventions=iv)[0]
        effect = (logits - plain)[rows].abs().max().item()
        steps = (stepwise(model, tokens, iv) - logits).abs().max().item()
        chunked = model(tokens[None], ssd="chunked", chunk_size=8, interventions=iv)[0]
        chunk_err = (chunked - logits).abs().max().item()
        print(f"{folder.name} set {k}: effect {effect:.3f}, steps {steps:.1e}, chunked {chunk_err:.1e}: "
              f"{json.dumps(iv)}")
        if effect <= 1e-3:
            FAILED.append(f"{folder.name} set {k}: changes nothing ({effect:.1e})")
        if steps > 1e-7 or chunk_err > 1e-7:
            FAILED.append(f"{folder.name} set {k}: the twin's paths disagree ({steps:.1e}, {chunk_err:.1e})")
        out[f"set.{k}.logits"] = logits[rows].to(torch.float32).contiguous()
        meta[f"set.{k}"] = json.dumps(iv)
    return out, meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", type=Path, default=ROOT / "tests" / "fixtures")
    ap.add_argument("--out", type=Path, default=ROOT / "core" / "tests" / "fixtures" / "intervene")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, sets in SETS.items():
        tensors, meta = fixture_sets(args.fixtures / name, sets)
        path = args.out / f"{name}.safetensors"
        save_file(tensors, str(path), metadata=meta)
        print(f"wrote {path} ({path.stat().st_size} bytes, {len(sets)} sets)")
    for f in FAILED:
        print("CHECK FAILED:", f)
    print("all checks passed" if not FAILED else f"{len(FAILED)} checks failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
