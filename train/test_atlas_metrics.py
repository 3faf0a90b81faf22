"""Every committed atlas run file (train/atlas/<task>/*.json) validates against
train/atlas/run.schema.json (docs/METRICS.md), and the atlas is complete: SEEDS seeds of
every config of each task (recall: 2, its third seed did not fit the session's device time). Needs only `jsonschema` (no torch).

    python3 -m pytest train/test_atlas_metrics.py
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema

ATLAS = Path(__file__).resolve().parent / "atlas"
SEEDS = {"shakespeare": 3, "recall": 3}


def runs() -> list[tuple[Path, dict]]:
    files = sorted(p for task in ("shakespeare", "recall") for p in (ATLAS / task).glob("*.json"))
    assert files, f"no run files under {ATLAS}/<task>/"
    return [(p, json.loads(p.read_text())) for p in files]


def test_every_run_file_follows_the_schema():
    schema = json.loads((ATLAS / "run.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    for p, run in runs():
        errors = sorted(v.iter_errors(run), key=lambda e: list(e.path))
        assert not errors, f"{p}: {errors[0].message} at {list(errors[0].path)}"
        assert p.name == f"{run['config_id']}-s{run['seed']}.json" and p.parent.name == run["task"], p
        assert run["id"] == f"{run['task']}-{run['config_id']}-s{run['seed']}"


def test_atlas_is_complete_and_matched():
    count = Counter((r["task"], r["config_id"]) for _p, r in runs())
    assert {t for t, _c in count} == {"shakespeare", "recall"}
    for key, n in count.items():
        assert n == SEEDS[key[0]], f"{key}: {n} seeds, want {SEEDS[key[0]]}"
    steps = {}
    for _p, r in runs():
        steps.setdefault(r["task"], set()).add(r["training"]["steps"])
        assert abs(r["params"] / r["params_ref"] - 1) <= 0.02
    assert all(len(s) == 1 for s in steps.values()), f"every config of a task trains the same steps: {steps}"


def test_summary_matches_the_run_files():
    summary = json.loads((ATLAS / "summary.json").read_text())
    by_key = {(r["task"], r["config_id"]): r for _p, r in runs()}
    assert {(s["task"], s["config_id"]) for s in summary} == set(by_key)
    for s in summary:
        n = SEEDS[s["task"]]
        assert s["n"] == n
        for m in s["metrics"].values():
            assert len(m["values"]) == n
            assert abs(m["mean"] - sum(m["values"]) / n) < 1e-9


def test_shipped_models_carry_their_atlas_record():
    """assets/models/<id>/metrics.json (ship_atlas.py) is the committed record of the shipped
    seed, and the shipped config is that run's config (the intra-add rewrite aside)."""
    models = ATLAS.parent.parent / "assets" / "models"
    shipped = [d for d in sorted(models.iterdir()) if (d / "metrics.json").exists()]
    assert len(shipped) >= 14, [d.name for d in shipped]
    for d in shipped:
        m = json.loads((d / "metrics.json").read_text())
        written_as = m.pop("written_as", None)
        run = json.loads((ATLAS / m["task"] / f"{m['config_id']}-s{m['seed']}.json").read_text())
        assert m == run, d.name
        cfg = json.loads((d / "config.json").read_text())
        if written_as:
            assert d.name.endswith("intra-add") and cfg["intra"]["fusion"] == "add"
            cfg["intra"]["fusion"], cfg["name"] = "subtract", run["config"]["name"]
        assert cfg == run["config"], d.name


def test_every_config_has_its_measured_speed():
    """speed.json (hybrid bench on the device) covers every atlas config, and summary.json carries it."""
    speed = json.loads((ATLAS / "speed.json").read_text())
    assert speed["schema"] == "atlas-speed/1"
    for s in json.loads((ATLAS / "summary.json").read_text()):
        rows = speed["configs"][f"{s['task']}/{s['config_id']}"]
        assert set(rows) == {"256", "1024", "4096"}
        assert all(r["decode_ms_per_token"] > 0 and r["prefill_ms"] > 0 for r in rows.values())
        assert s["speed"]["decode_ms_per_token"] == {c: r["decode_ms_per_token"] for c, r in rows.items()}
