"""Checks of the recall task definition, the prepared data and the zoo's configs (fast, CPU).

    python3 -m pytest train/test_zoo.py -q
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import recall  # noqa: E402
import train_zoo as tz  # noqa: E402
from hybrid_twin import HybridLM  # noqa: E402

DATA = HERE / "data_prepared"


def test_splitmix64_reference_vectors():
    # the published SplitMix64 outputs for seed 1234567, and the first output for seed 0
    r = recall.SplitMix64(1234567)
    assert [r.next_u64() for _ in range(5)] == [6457827717110365317, 3203168211198807973, 9817491932198370423,
                                                4593380528125082431, 16408922859458223821]
    assert recall.SplitMix64(0).next_u64() == 0xE220A8397B1DCDAF


def test_fixture_file_is_current():
    assert recall.FIXTURE.read_text() == recall.fixture_text()


@pytest.mark.parametrize("n,L", [(1, 6), (4, 32), (16, 100), (32, 256), (48, 256), (112, 450)])
def test_case_layout(n, L):
    toks, qs = recall.make_batch(7, 5, n, L)
    for t, q in zip(toks, qs):
        assert len(t) == L and t[0] == recall.BOS
        ctx = {t[1 + 2 * j]: t[2 + 2 * j] for j in range(n)}
        assert len(ctx) == n                                   # distinct keys
        assert all(16 <= k < 128 for k in ctx) and all(128 <= v < 256 for v in ctx.values())
        assert t[L - 2 * n - 1] == recall.SEP
        assert all(3 <= f < 16 for f in t[1 + 2 * n: L - 2 * n - 1])
        assert q == [L - 2 * n + 2 * i for i in range(n)]
        assert sorted(t[p] for p in q) == sorted(ctx)
        assert all(t[p + 1] == ctx[t[p]] for p in q)


def test_case_errors():
    with pytest.raises(ValueError):
        recall.make_case(recall.SplitMix64(0), 4, 17)
    with pytest.raises(ValueError):
        recall.make_case(recall.SplitMix64(0), 113, 1000)


def test_training_batches_match_the_layout():
    x, y, mask = tz.RecallBatches(32, 256, "cpu", torch.Generator().manual_seed(0))()
    for b in range(32):
        t, n = x[b].tolist(), int(mask[b].sum())
        assert 4 <= n <= 32
        ctx = {t[1 + 2 * j]: t[2 + 2 * j] for j in range(n)}
        assert len(ctx) == n and t[0] == recall.BOS and t[256 - 2 * n - 1] == recall.SEP
        pos = mask[b].nonzero().flatten().tolist()
        assert pos == [256 - 2 * n + 2 * j for j in range(n)]
        assert all(int(y[b, p]) == ctx[t[p]] == t[p + 1] for p in pos)


def test_tokenizers():
    tokenizers = pytest.importorskip("tokenizers")
    rt = tokenizers.Tokenizer.from_file(str(DATA / "recall" / "tokenizer.json"))
    assert rt.get_vocab_size() == 256
    names = recall.token_names()
    assert [rt.token_to_id(n) for n in names] == list(range(256))
    t = recall.make_batch(1, 1, 4, 32)[0][0]
    text = " ".join(names[i] for i in t)
    assert rt.encode(text).ids == t and rt.decode(t) == text
    st = tokenizers.Tokenizer.from_file(str(DATA / "shakespeare" / "tokenizer.json"))
    assert st.get_vocab_size() == 2048 and st.token_to_id("<|endoftext|>") == 0
    s = "To be, or not to be: that is the question.\n"
    assert st.decode(st.encode(s).ids) == s


def test_prepared_data():
    meta = json.loads((DATA / "shakespeare" / "meta.json").read_text())
    train = np.fromfile(DATA / "shakespeare" / "train.bin", dtype=np.uint16)
    val = np.fromfile(DATA / "shakespeare" / "val.bin", dtype=np.uint16)
    assert train.size == meta["train_tokens"] and val.size == meta["val_tokens"]
    assert train.max() < 2048 and val.max() < 2048
    assert (train == 0).sum() == len(meta["train_works"]) and (val == 0).sum() == len(meta["val_works"])
    assert not set(meta["train_works"]) & set(meta["val_works"])


def test_zoo_matched_and_within_size():
    for name, task in tz.TASK_SPECS.items():
        zoo = tz.matched_zoo(task)
        assert set(zoo) == set(tz.FAMILIES)
        ref = tz.n_params(zoo["mamba2"])
        for fam, cfg in zoo.items():
            p = tz.n_params(cfg)
            assert abs(p / ref - 1) < 0.05, (name, fam, p, ref)
            assert cfg.layers[0] != "attention" or fam == "transformer"
        assert zoo["intra"].intra.fusion == "subtract" and zoo["intra-concat"].intra.out_proj == "joint"
    # all models in f16 plus tokenizers stay well under 32 MB
    total = sum(2 * tz.n_params(c) for t in tz.TASK_SPECS.values() for c in tz.matched_zoo(t).values())
    assert total < 28e6


def test_cache_bytes():
    task = tz.TASK_SPECS["shakespeare"]
    zoo = tz.matched_zoo(task)
    # transformer: 6 layers x 2 (k, v) x 2 kv heads x 32 x 4 bytes per token
    assert tz.cache_bytes(zoo["transformer"], 1024)["total_bytes"] == 6 * 2 * 2 * 32 * 4 * 1024
    # mamba2: 6 x (8 heads x 32 x 32 x 4 + 3 x (256 + 64) x 4)
    assert tz.cache_bytes(zoo["mamba2"], 8192)["total_bytes"] == 6 * (8 * 32 * 32 * 4 + 3 * 320 * 4)


def test_training_step_runs():
    task = tz.TASK_SPECS["recall"]
    cfg = tz.matched_zoo(task)["intra"]
    model = HybridLM(cfg)
    x, y, mask = tz.RecallBatches(2, 64, "cpu", torch.Generator().manual_seed(0))()
    loss = tz.forward_loss(model, x, y, mask)
    loss.backward()
    assert torch.isfinite(loss) and abs(loss.item() - np.log(256)) < 0.5


def test_recall_curriculum_stages():
    task = tz.task_spec("recall", tz.parse_args(["--tasks", "recall"]))
    assert task.recipe == "atlas" and task.stages[-1][0] == task.seq_len
    assert all(4 * hi + 2 <= L and lo <= hi for (L, lo, hi, _cap) in task.stages)
    cur = tz.RecallCurriculum(task, "cpu", torch.Generator().manual_seed(0))
    seen = []
    for (L, lo, hi, cap) in task.stages:
        x, y, mask = cur()
        assert x.shape == (task.batch * task.seq_len // L, L)                 # same tokens per step
        n = mask.sum(1)
        assert int(n.min()) >= lo and int(n.max()) <= hi
        seen.append(L)
        assert not cur.update(0.0, loss=0.0)                                 # too few steps in the stage
        cur.steps_in_stage = cur.MIN_STEPS
        assert not cur.update(0.0, loss=10.0)                                # loss too high, before the cap
        moved = cur.update(0.0, loss=0.0)
        assert moved == (cap is not None)
    assert seen == [L for (L, *_rest) in task.stages] and cur.stage == len(task.stages) - 1
    cur2 = tz.RecallCurriculum(task, "cpu", torch.Generator().manual_seed(0))
    assert cur2.update(task.stages[0][3]) and cur2.stage == 1                 # the cap moves it on
    old = tz.task_spec("recall", tz.parse_args(["--tasks", "recall", "--recall-recipe", "zoo"]))
    assert (old.batch, old.steps, old.weight_decay, old.stages, old.dev_every) == (32, 6000, 0.1, (), 0)


def test_seeds_and_splits():
    args = tz.parse_args(["--tasks", "recall", "--seeds", "0", "1", "2", "--only", "transformer", "intra"])
    ms = tz.all_models(args)
    assert [m["id"] for m in ms] == [f"recall-{f}-s{s}" for f in ("transformer", "intra") for s in (0, 1, 2)]
    assert [m["seed"] for m in ms] == [0, 1, 2, 0, 1, 2]
    old = tz.all_models(tz.parse_args(["--tasks", "recall", "--only", "mamba2", "--seed", "5"]))
    assert [(m["id"], m["seed"]) for m in old] == [("recall-mamba2", 5)]
    dev = {tz.dev_seed(n, 256) for n in tz.DEV_PAIRS}
    test = {tz.test_seed(n, L) for n in tz.TEST_PAIRS for L in (256, 512, 1024)}
    assert not dev & test and len(test) == 15


def test_recall_accuracy_matches_the_definition():
    task = tz.TASK_SPECS["recall"]
    model = HybridLM(tz.matched_zoo(task)["transformer"]).eval()
    t, q = tz.recall_cases(3, 4, 4, 32)
    with torch.no_grad():
        logits = model(t)
    assert tz.recall_accuracy(model, t, q, "cpu", batch=3) == recall.accuracy(logits, t.tolist(), q.tolist())
