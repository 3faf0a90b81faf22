"""Ship atlas checkpoints as the page's zoo (assets/models/<id>/), keeping the model ids.

    python3 train/ship_atlas.py SHIP_DIR        # SHIP_DIR/<task>/<task>-<config_id>-s<seed>/ from atlas_pack.py

Per shipped id: the seed with the best dev score among those brought back (atlas_pack.py
chose them on the dev split); config.json, model.safetensors (f16), tokenizer.json as
trained, metrics.json = the run's atlas-run/1 record (train/atlas/<task>/...). The ``*-intra-add``
ids are the ``intra`` checkpoint rewritten as add (Mamba output projection negated,
atlas_equiv.py): the same function, so they carry the same metrics. Needs no torch. Then
regenerate the goldens: HYBRID_BLESS=1 cargo test -p hybrid-core --test zoo.
"""

from __future__ import annotations

import json
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "assets" / "models"
ATLAS = ROOT / "train" / "atlas"

# model id -> (task, atlas config_id, display name)
SHIP = {
    "shakespeare-transformer": ("shakespeare", "transformer", "Transformer"),
    "shakespeare-swa": ("shakespeare", "swa", "Sliding-window attention (64 tokens)"),
    "shakespeare-mamba2": ("shakespeare", "mamba2", "Mamba-2"),
    "shakespeare-inter": ("shakespeare", "inter-1to2", "Inter-layer hybrid"),
    "shakespeare-intra": ("shakespeare", "intra", "Intra-layer hybrid (subtract)"),
    "shakespeare-intra-add": ("shakespeare", "intra", "Intra-layer hybrid (add)"),
    "shakespeare-intra-concat": ("shakespeare", "intra-concat", "Intra-layer hybrid (concat)"),
    "recall-transformer": ("recall", "transformer", "Transformer"),
    "recall-swa": ("recall", "swa", "Sliding-window attention (64 tokens)"),
    "recall-mamba2": ("recall", "mamba2", "Mamba-2"),
    "recall-inter": ("recall", "inter-1to3", "Inter-layer hybrid"),
    "recall-intra": ("recall", "intra", "Intra-layer hybrid (subtract)"),
    "recall-intra-add": ("recall", "intra", "Intra-layer hybrid (add)"),
    "recall-intra-concat": ("recall", "intra-concat", "Intra-layer hybrid (concat)"),
}
RECALL_PROMPT = "<bos> k20 v130 ... <sep> k20"


def record_dev_score(rec: dict) -> float:
    """Higher is better, from an atlas-run/1 record: the dev value at the kept step."""
    sel = rec["selection"]
    value = dict((step, v) for step, v in sel["curve"]["points"])[sel["kept_step"]]
    return value if sel["metric"] == "accuracy" else -value


def dev_score(folder: Path) -> float:
    m = json.loads((folder / "metrics.json").read_text())
    if "schema" in m:                                  # a shipped folder: metrics.json is the run record
        return record_dev_score(m)
    tr = m["training"]
    return tr["kept_dev_acc"] if "kept_dev_acc" in tr else -min(v for _s, v in tr["val_curve"])


def best_seed(task: str, cid: str) -> int:
    """The seed with the best dev score among every run of the atlas (checkpoint kept or not)."""
    recs = [r for p in sorted((ATLAS / task).glob(f"{cid}-s*.json"))
            if (r := json.loads(p.read_text()))["config_id"] == cid]     # "intra-s*" also matches "intra-scalars-s*"
    return max(recs, key=lambda r: (record_dev_score(r), -r["seed"]))["seed"]


def pick(ship_dir: Path, task: str, cid: str) -> Path:
    cands = [d for d in (ship_dir / task).glob(f"{task}-{cid}-s*")
             if (d / "model.safetensors").exists() and d.name.rsplit("-s", 1)[0] == f"{task}-{cid}"]
    if not cands:
        raise SystemExit(f"no checkpoint of {task}-{cid} under {ship_dir}")
    return max(cands, key=dev_score)


def negate_f16(path: Path, names: list[str]):
    """Negate the named f16 tensors of a safetensors file in place (flip each sign bit)."""
    raw = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    for name in names:
        t = header[name]
        if t["dtype"] != "F16":
            raise SystemExit(f"{path}: {name} is {t['dtype']}, expected F16")
        a, b = (8 + n + o for o in t["data_offsets"])
        raw[a + 1:b:2] = bytes(x ^ 0x80 for x in raw[a + 1:b:2])    # little-endian: sign bit in the high byte
    path.write_bytes(bytes(raw))


def as_add(dest: Path):
    cfg = json.loads((dest / "config.json").read_text())
    assert cfg["intra"]["fusion"] == "subtract" and cfg["intra"]["out_proj"] == "separate"
    cfg["intra"]["fusion"] = "add"
    cfg["name"] = cfg["name"] + "-as-add"
    (dest / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    names = [f"layers.{i}.mixer.ssm.out_proj.weight" for i, k in enumerate(cfg["layers"]) if k == "intra"]
    negate_f16(dest / "model.safetensors", names)


def chosen(rec: dict) -> str:
    best = best_seed(rec["task"], rec["config_id"])
    if best == rec["seed"]:
        return "best on the dev split"
    return f"seed {best} scored higher on the dev split but its checkpoint was not kept"


def description(mid: str, rec: dict, name: str, n_seeds: int) -> str:
    task, plan = rec["task"], rec["layers"].upper()
    p = f"{rec['params'] / 1e6:.2f}M"
    head = (f"{name} trained on {'Shakespeare' if task == 'shakespeare' else 'multi-query associative recall'} "
            f"(layers {plan}, {p} params, f16; atlas config {rec['config_id']}, seed {rec['seed']} of {n_seeds}, "
            f"{chosen(rec)}, {rec['training']['steps']} steps).")
    if mid.endswith("intra-add"):
        head += " The intra checkpoint written with add (Mamba projection negated): the same function."
    t = rec["test"]
    if task == "shakespeare":
        return head + f" Test perplexity {t['perplexity']:.1f} on held-out plays (The Tempest, Twelfth Night)."
    acc = t["grid"]["256"]["16"]
    return head + f" Recall accuracy {acc:.0%} at 16 pairs, 256 tokens (test split). Prompt: {RECALL_PROMPT}"


def main():
    ship_dir = Path(sys.argv[1])
    index = json.loads((MODELS / "index.json").read_text())
    by_id = {e["id"]: e for e in index}
    summary = {(s["task"], s["config_id"]): s["n"] for s in json.loads((ATLAS / "summary.json").read_text())}
    for mid, (task, cid, name) in SHIP.items():
        src = pick(ship_dir, task, cid)
        dest = MODELS / mid
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for f in ("config.json", "model.safetensors", "tokenizer.json"):
            shutil.copy(src / f, dest / f)
        seed = int(src.name.rsplit("-s", 1)[1])
        rec = json.loads((ATLAS / task / f"{cid}-s{seed}.json").read_text())
        if mid.endswith("intra-add"):
            as_add(dest)
            rec = dict(rec, written_as="add: the intra checkpoint with ssm.out_proj negated (train/atlas_equiv.py)")
        (dest / "metrics.json").write_text(json.dumps(rec, indent=1) + "\n")
        entry = {"id": mid, "name": f"{'Shakespeare' if task == 'shakespeare' else 'Recall'} \u00b7 {name}",
                 "description": description(mid, rec, name, summary[(task, cid)]), "path": mid}
        if mid in by_id:
            by_id[mid].update(entry)
        else:                                          # new ids go after the last model of their task
            last = max(i for i, e in enumerate(index) if e["id"].startswith(task + "-"))
            index.insert(last + 1, entry)
            by_id[mid] = entry
        print(f"{mid}: {src.name}")
    (MODELS / "index.json").write_text(json.dumps(index, indent=2) + "\n")


if __name__ == "__main__":
    main()
