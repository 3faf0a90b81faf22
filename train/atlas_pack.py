"""Pack an atlas run folder for the trip back from the device machine (few files, each
<= 15 MB): every run's metrics.json and log in one tar, and the checkpoints to ship in
assets/models (per task and config, the seed with the best dev score: the selection never
looks at the test split) in tars of whole folders.

    python3 train/atlas_pack.py OUT_DIR DEST --ship transformer swa mamba2 inter-1to2 ...
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path

LIMIT = 15_000_000


def dev_score(m: dict) -> float:
    """Higher is better: recall mean dev accuracy, Shakespeare minus the dev loss."""
    tr = m["training"]
    if m["task"] == "recall":
        return tr["kept_dev_acc"]
    return -min(v for _s, v in tr["val_curve"])


def best_seeds(out: Path, ship: list[str]) -> list[Path]:
    best: dict[tuple[str, str], tuple[float, Path]] = {}
    for p in sorted(out.glob("*/*/metrics.json")):
        m = json.loads(p.read_text())
        cid = m.get("atlas", {}).get("config_id")
        if cid not in ship:
            continue
        key, score = (m["task"], cid), dev_score(m)
        if key not in best or score > best[key][0]:
            best[key] = (score, p.parent)
    return [p for _s, p in best.values()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--ship", nargs="*", default=[])
    a = ap.parse_args()
    a.dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(a.dest / "metrics.tgz", "w:gz") as tar:
        for p in sorted(a.out.glob("*/*/metrics.json")) + sorted(a.out.glob("_state/*.log")):
            tar.add(p, arcname=str(p.relative_to(a.out)))
    groups: list[list[Path]] = [[]]
    size = 0
    for folder in best_seeds(a.out, a.ship):
        n = sum(f.stat().st_size for f in folder.iterdir())
        if groups[-1] and size + n > LIMIT:
            groups.append([])
            size = 0
        groups[-1].append(folder)
        size += n
    for i, g in enumerate(x for x in groups if x):
        with tarfile.open(a.dest / f"ship-{i}.tar", "w") as tar:
            for folder in g:
                tar.add(folder, arcname=str(folder.relative_to(a.out)))
        print(f"ship-{i}.tar: {', '.join(f.name for f in g)}")


if __name__ == "__main__":
    main()
