"""The ablation atlas's metrics (issue #16): one schema'd JSON per run (docs/METRICS.md,
train/atlas/run.schema.json), the mean ± sd summary and the tables of docs/FINDINGS.md.
Reads the ``metrics.json`` that ``train_zoo.py --atlas`` writes; needs no torch.

    python3 train/atlas_report.py DIR [DIR ..] --write train/atlas     # run files + summary.json
    python3 train/atlas_report.py --tables                             # markdown tables from train/atlas

DIR holds ``<task>/<task>-<config_id>-s<seed>/metrics.json`` (a train_zoo.py --out folder).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ATLAS = Path(__file__).resolve().parent / "atlas"
TASKS = ("shakespeare", "recall")
# atlas_configs.SPECS's order (that module needs torch; this one does not)
ORDER = ("transformer", "swa", "mamba2", "inter-1to5", "inter-1to2", "inter-1to3", "inter-1to1", "inter-front",
         "inter-middle", "inter-back", "intra", "intra-nonorm", "intra-joint", "intra-vhalf", "intra-split13",
         "intra-split31", "intra-scalars", "intra-concat")


def run_record(m: dict) -> dict:
    """train_zoo.py's metrics.json -> an atlas-run/1 record."""
    at, tr = m["atlas"], m["training"]
    every = tr["curve"][0][0] if tr["curve"] else 1
    rec = {
        "schema": "atlas-run/1", "id": m["id"], "task": m["task"], "config_id": at["config_id"],
        "group": at["group"], "axis": at["axis"], "layers": at["layers"], "config": m["config"],
        "params": m["params"], "params_ref": at["params_ref"],
        "params_delta": round(m["params"] / at["params_ref"] - 1, 5), "seed": tr["seed"],
        "cache": m["cache"],
        "training": {k: tr[k] for k in ("steps", "batch", "seq_len", "tokens_seen", "lr", "warmup",
                                        "weight_decay", "schedule", "optimizer", "precision", "device",
                                        "wall_seconds")},
    }
    if at.get("same_as"):
        rec["same_as"] = at["same_as"]
    rec["training"]["curriculum"] = tr.get("curriculum") if isinstance(tr.get("curriculum"), dict) else None
    rec["training"]["curve"] = {"every": every, "points": tr["curve"]}
    if m["task"] == "shakespeare":
        vc = tr["val_curve"]
        rec["selection"] = {"split": "dev plays: " + ", ".join(tr["kept_split"]["plays"]) + " (64 windows of 256)",
                            "metric": "loss", "every": vc[0][0], "curve": {"every": vc[0][0], "points": vc},
                            "kept_step": tr["kept_step"]}
        v = m["val"]
        rec["test"] = {"plays": v["plays"], "seq_len": v["seq_len"], "loss": v["loss"],
                       "perplexity": v["perplexity"], "tokens": v["tokens"],
                       "loss_by_position": m["loss_by_position"]}
    else:
        dev = tr["dev"]
        pts = [[s, acc] for s, _stage, acc, _per in dev["curve"]]
        rec["selection"] = {"split": f"recall.make_batch, seeds {dev['seed']}, pairs {dev['pairs']} at "
                                     f"{dev['seq_len']} tokens, {dev['cases']} cases each",
                            "metric": "accuracy", "every": dev["every"], "curve": {"every": dev["every"], "points": pts},
                            "kept_step": tr["kept_step"]}
        r = m["recall"]
        rec["test"] = {"cases": r["cases"], "seed": r["seed"], "train_len": r["train_len"], "grid": r["grid"]}
    return rec


def headline(rec: dict) -> dict[str, float]:
    out = {"cache_8192_bytes": rec["cache"]["8192"]["total_bytes"]}
    t = rec["test"]
    if rec["task"] == "shakespeare":
        out["test_loss"] = t["loss"]
        out["loss_beyond"] = t["loss_by_position"]["mean_beyond"]
        out["loss_in_len"] = t["loss_by_position"]["mean_in_train_len"]
    else:
        g = t["grid"]
        out["recall_16@256"], out["recall_32@256"] = g["256"]["16"], g["256"]["32"]
        out["recall_16@512"], out["recall_64@1024"] = g["512"]["16"], g["1024"]["64"]
    return out


def summarise(records: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["task"], r["config_id"]), []).append(r)
    out = []
    for (task, cid), rs in groups.items():
        rs.sort(key=lambda r: r["seed"])
        metrics = {}
        for name in headline(rs[0]):
            vals = [headline(r)[name] for r in rs]
            metrics[name] = {"mean": sum(vals) / len(vals), "sd": statistics.stdev(vals) if len(vals) > 1 else None,
                             "values": vals}
        r0 = rs[0]
        out.append({"task": task, "config_id": cid, "group": r0["group"], "axis": r0["axis"], "layers": r0["layers"],
                    "params": r0["params"], "steps": r0["training"]["steps"], "n": len(rs),
                    "seeds": [r["seed"] for r in rs], "metrics": metrics})
    return sorted(out, key=lambda s: (TASKS.index(s["task"]), ORDER.index(s["config_id"])))


def attach_speed(summary: list[dict], speed: dict):
    """Each config's decode and prefill speed from speed.json (one run, the same for every seed)."""
    for s in summary:
        rows = speed["configs"].get(f"{s['task']}/{s['config_id']}")
        if rows:
            s["speed"] = {"machine": speed["machine"],
                          "decode_ms_per_token": {c: r["decode_ms_per_token"] for c, r in rows.items()},
                          "prefill_ms": {c: r["prefill_ms"] for c, r in rows.items()}}


def write(dirs: list[Path], dest: Path):
    records = []
    for d in dirs:
        for p in sorted(d.glob("*/*/metrics.json")):
            m = json.loads(p.read_text())
            if "atlas" not in m:
                continue
            rec = run_record(m)
            records.append(rec)
            f = dest / rec["task"] / f"{rec['config_id']}-s{rec['seed']}.json"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(rec, indent=1) + "\n")
    # The summary covers every run file in dest: runs written by earlier calls too (a later
    # call can add a seed without the raw metrics of the first ones).
    every = [json.loads(f.read_text()) for task in TASKS for f in sorted((dest / task).glob("*-s*.json"))]
    summary = summarise(every)
    speed = dest / "speed.json"                          # hybrid bench on the device (atlas-speed/1)
    if speed.exists():
        attach_speed(summary, json.loads(speed.read_text()))
    (dest / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{len(records)} runs written, {len(every)} in the summary -> {dest}")


def fmt(m: dict, scale: float = 1.0, digits: int = 3) -> str:
    sd = "" if m["sd"] is None else f" ± {m['sd'] * scale:.{digits}f}"
    return f"{m['mean'] * scale:.{digits}f}{sd}"


def decode(s: dict) -> str:
    """Decode ms/token at 1024 tokens on the device's GPU engine, or - when not measured."""
    v = s.get("speed", {}).get("decode_ms_per_token", {}).get("1024")
    return "-" if v is None else f"{v:.3f} ms"


def tables(summary: list[dict]) -> str:
    lines = []
    for task in TASKS:
        rows = [s for s in summary if s["task"] == task]
        if task == "shakespeare":
            lines += ["| group | config | layers | params | n | test loss | loss 0-255 | loss 256-1023 | cache 8K | decode @1K |",
                      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
            for s in rows:
                mm = s["metrics"]
                lines.append(f"| {s['group']} | `{s['config_id']}` | `{s['layers']}` | {s['params']:,} | {s['n']} | "
                             f"{fmt(mm['test_loss'])} | {fmt(mm['loss_in_len'])} | {fmt(mm['loss_beyond'])} | "
                             f"{mm['cache_8192_bytes']['mean'] / 2**20:.2f} MiB | {decode(s)} |")
        else:
            lines += ["", "| group | config | layers | params | n | 16 pairs @256 | 32 @256 | 16 @512 | 64 @1024 | cache 8K | decode @1K |",
                      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for s in rows:
                mm = s["metrics"]
                lines.append(f"| {s['group']} | `{s['config_id']}` | `{s['layers']}` | {s['params']:,} | {s['n']} | "
                             f"{fmt(mm['recall_16@256'], 100, 1)} | {fmt(mm['recall_32@256'], 100, 1)} | "
                             f"{fmt(mm['recall_16@512'], 100, 1)} | {fmt(mm['recall_64@1024'], 100, 1)} | "
                             f"{mm['cache_8192_bytes']['mean'] / 2**20:.2f} MiB | {decode(s)} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", type=Path)
    ap.add_argument("--write", type=Path, default=None, help="write run files and summary.json here")
    ap.add_argument("--tables", action="store_true", help="print the markdown tables of summary.json")
    a = ap.parse_args()
    if a.write:
        write(a.dirs, a.write)
    if a.tables:
        print(tables(json.loads(((a.write or ATLAS) / "summary.json").read_text())))


if __name__ == "__main__":
    main()
