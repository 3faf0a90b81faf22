"""Summaries of the recall runs (issue #16, "Atlas"): a compact JSON per run and the tables of
docs/FINDINGS.md (mean ± sd over seeds). Reads the ``metrics.json`` that train_zoo.py writes;
needs no torch.

    python3 train/recall_recipe_report.py DIR [DIR ..]                     # the tables, to stdout
    python3 train/recall_recipe_report.py DIR [DIR ..] --write train/atlas/recall-recipe --best train/runs/atlas/best

DIR holds model folders ``recall-<family>-s<seed>/`` (train_zoo.py --seeds ..., under
``<out>/recall/``). ``--write`` writes ``<family>-s<seed>.json`` per run: config, seed,
recipe, training (loss curve every 250 steps, curriculum log), the dev curve and the kept
step with its dev accuracy, and the test grid. ``--best`` copies, per family, the folder of
the seed with the best dev accuracy (the selection never looks at the test split).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

FAMILIES = ("transformer", "mamba2", "inter", "intra", "intra-add", "intra-concat")
NAMES = {"transformer": "Transformer", "mamba2": "Mamba-2", "inter": "inter-layer hybrid",
         "intra": "intra hybrid (subtract)", "intra-add": "intra hybrid (add)",
         "intra-concat": "intra hybrid (concat)"}


def load_runs(dirs: list[Path]) -> list[dict]:
    runs = []
    for d in dirs:
        for m in sorted(d.glob("recall-*/metrics.json")):
            r = json.loads(m.read_text())
            r["_folder"] = str(m.parent)
            runs.append(r)
    return runs


def compact(r: dict) -> dict:
    tr = r["training"]
    curve = [c for c in tr["curve"] if c[0] % 250 == 0]
    if tr["curve"] and (not curve or curve[-1] != tr["curve"][-1]):
        curve.append(tr["curve"][-1])
    dev = tr.get("dev", {})
    return {
        "id": r["id"], "family": r["family"], "seed": tr["seed"], "recipe": tr.get("recipe"),
        "params": r["params"], "config": r["config"],
        "training": {k: tr.get(k) for k in ("steps", "planned_steps", "stopped_by", "batch", "seq_len",
                                             "tokens_seen", "wall_seconds", "lr", "warmup", "schedule",
                                             "optimizer", "precision", "device", "budget_minutes",
                                             "loss_on", "queries", "curriculum")},
        "loss_curve": {"every": 250, "mean_of": 50, "points": curve},
        "dev": {"split": {k: dev.get(k) for k in ("pairs", "seq_len", "cases", "seed", "every", "autocast")},
                "curve": [[s, st, acc] for s, st, acc, _per in dev.get("curve", [])],
                "kept_step": tr.get("kept_step"), "kept_dev_acc": tr.get("kept_dev_acc"), "kept": tr.get("kept")},
        "test": r["recall"],
        "weights": r.get("weights"),
    }


def mean_sd(xs: list[float]) -> tuple[float, float]:
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def fmt(xs: list[float | None]) -> str:
    if not xs or any(x is None for x in xs):
        return "–"
    m, s = mean_sd([100 * x for x in xs])
    return f"{m:.1f} ± {s:.1f}"


def tables(runs: list[dict]) -> str:
    by_fam: dict[str, list[dict]] = {}
    for r in runs:
        by_fam.setdefault(r["family"], []).append(r)
    fams = [f for f in FAMILIES if f in by_fam]
    any_r = runs[0]["recall"]
    lens = list(any_r["grid"])
    pairs = list(any_r["grid"][lens[0]])
    out = []
    for L in lens:
        head = f"| model | n | " + " | ".join(f"{p} pairs" for p in pairs) + " |"
        out += [f"seq_len {L}:", "", head, "|---|---:|" + "---:|" * len(pairs)]
        for f in fams:
            rs = by_fam[f]
            cells = [fmt([r["recall"]["grid"][L][p] for r in rs]) for p in pairs]
            out.append(f"| {NAMES[f]} | {len(rs)} | " + " | ".join(cells) + " |")
        out.append("")
    out += ["per run: dev accuracy of the kept step (mean over 4/8/16/32 pairs at the training length), "
            "test accuracy at 16 pairs in the training length, steps", ""]
    out += ["| model | seed | kept step / steps | dev | test 16 pairs |", "|---|---:|---:|---:|---:|"]
    T = str(any_r["train_len"])
    for f in fams:
        for r in sorted(by_fam[f], key=lambda r: r["training"]["seed"]):
            tr = r["training"]
            dev = tr.get("kept_dev_acc")
            out.append(f"| {NAMES[f]} | {tr['seed']} | {tr.get('kept_step')} / {tr['steps']} | "
                       f"{'–' if dev is None else f'{100 * dev:.1f}'} | {100 * r['recall']['grid'][T]['16']:.1f} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--write", type=Path, help="folder for the compact per-run JSONs")
    ap.add_argument("--best", type=Path, help="folder for each family's best-on-dev checkpoint")
    args = ap.parse_args()
    runs = load_runs(args.dirs)
    if not runs:
        raise SystemExit("no recall-*/metrics.json under " + ", ".join(map(str, args.dirs)))
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for r in runs:
            path = args.write / f"{r['family']}-s{r['training']['seed']}.json"
            path.write_text(json.dumps(compact(r), indent=1) + "\n")
    if args.best:
        for f in FAMILIES:
            rs = [r for r in runs if r["family"] == f and r["training"].get("kept_dev_acc") is not None]
            if not rs:
                continue
            best = max(rs, key=lambda r: (r["training"]["kept_dev_acc"], -r["training"]["seed"]))
            dest = args.best / f"recall-{f}"
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(best["_folder"], dest)
            print(f"best on dev: {f} seed {best['training']['seed']} "
                  f"(dev {best['training']['kept_dev_acc']:.4f}) -> {dest}")
    print(tables(runs))


if __name__ == "__main__":
    main()
