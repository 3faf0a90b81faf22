"""Checks of the ablation atlas (issue #16) that need torch: parameters matched within 2% for
every config of both tasks, the intra equivalence (one checkpoint rewritten in the other
forms gives equal logits), the cache formula's value head size.

    python3 -m pytest train/test_atlas.py
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from atlas_configs import MATCH, SPECS, build, matched_atlas, specs  # noqa: E402
from atlas_equiv import rewrite  # noqa: E402
from hybrid_twin import HybridLM, init_weights_  # noqa: E402
from zoo_models import cache_bytes, n_params, task_spec  # noqa: E402


def atlas_task(name):
    args = argparse.Namespace(atlas=True, smoke=False, steps=0, batch_scale=1.0, lr=0.0, wd=None,
                              curriculum=None, recall_recipe=None)
    return task_spec(name, args)


def test_every_config_matched_within_2_percent():
    for name in ("shakespeare", "recall"):
        task = atlas_task(name)
        zoo = matched_atlas(task)
        assert set(zoo) == {s.config_id for s in specs(name)}
        assert "intra-vhalf" in zoo, "the twin has the value head size: the V axis is in the atlas"
        for cid, (_spec, cfg, ref) in zoo.items():
            assert abs(n_params(cfg) / ref - 1) <= MATCH, (name, cid)
            assert cfg.n_layers == task.n_layers


def test_intra_forms_are_one_function():
    torch.manual_seed(0)
    task = atlas_task("recall")
    spec = next(s for s in SPECS if s.config_id == "intra")
    cfg = build(task, spec, 64, max_seq_len=64)
    model = HybridLM(cfg).double()
    init_weights_(model, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():                            # the training init leaves norms at 1: perturb them
        for k, p in model.named_parameters():
            if p.dim() == 1:
                p.mul_(1 + 0.3 * torch.rand_like(p))
    tokens = torch.randint(0, cfg.vocab_size, (2, 40), generator=torch.Generator().manual_seed(2))
    want = model(tokens, ssd="chunked")
    for to in ("add", "concat", "subtract"):
        cfg2, state2 = rewrite(cfg, model.state_dict(), to)
        m2 = HybridLM(cfg2).double()
        m2.load_state_dict(state2)                   # strict: every name of the new form, no other
        got = m2(tokens, ssd="chunked")
        assert torch.allclose(got, want, atol=1e-10, rtol=0), (to, (got - want).abs().max())
        # and back again from that form
        cfg3, state3 = rewrite(cfg2, state2, "subtract")
        assert all(torch.equal(state3[k], v) for k, v in model.state_dict().items())
    # a different model, not a rewrite: one matrix for both branches
    bad = dataclasses.replace(cfg.intra, out_proj="joint")
    try:
        rewrite(dataclasses.replace(cfg, intra=bad), {}, "add")
    except ValueError:
        pass
    else:
        raise AssertionError("joint subtract must not count as a rewrite")


def test_cache_counts_value_head_size():
    task = atlas_task("shakespeare")
    zoo = matched_atlas(task)
    full, half = zoo["intra"][1], zoo["intra-vhalf"][1]
    # 2 intra blocks, 1 KV head: K 32 + V 32 -> K 32 + V 16 floats per token each
    assert cache_bytes(full, 1000)["kv_bytes"] - cache_bytes(half, 1000)["kv_bytes"] == 2 * 16 * 4 * 1000
    swa = zoo["swa"][1]
    assert cache_bytes(swa, 8192)["kv_bytes"] == 6 * 2 * 64 * 4 * 64   # 6 layers, 64-token window
