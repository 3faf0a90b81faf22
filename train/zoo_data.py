"""Training batches of the model zoo: Shakespeare windows from data_prepared/ and freshly
drawn multi-query associative recall sequences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

import recall

DATA = Path(__file__).resolve().parent / "data_prepared"

# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------

# The 4 held-out plays (val.bin, in this order) split in two for the atlas: the kept
# checkpoint is chosen on "dev", the reported numbers are on "test".
SPLIT_WORKS = {"dev": ("macbeth", "richard_ii"), "test": ("tempest", "twelfth_night")}


def split_works(split: str) -> list[str]:
    """The works of a split (train/val from data_prepared's meta.json)."""
    if split in SPLIT_WORKS:
        return list(SPLIT_WORKS[split])
    meta = json.loads((DATA / "shakespeare" / "meta.json").read_text())
    return list(meta[f"{split}_works"])


def load_tokens(split: str) -> np.ndarray:
    """Token ids of "train", "val" or a part of val: "dev" / "test" (whole plays, each
    starting with its <|endoftext|> separator)."""
    name = "val" if split in SPLIT_WORKS else split
    path = DATA / "shakespeare" / f"{name}.bin"
    if not path.exists():
        raise SystemExit(f"{path} missing: run python3 train/data.py")
    tokens = np.fromfile(path, dtype=np.uint16).astype(np.int64)
    if split not in SPLIT_WORKS:
        return tokens
    works = split_works("val")
    starts = np.flatnonzero(tokens == 0)                   # every document begins with id 0
    if len(starts) != len(works):
        raise SystemExit(f"{path}: {len(starts)} documents, meta.json lists {len(works)}")
    bounds = list(starts) + [len(tokens)]
    docs = {w: tokens[bounds[i]:bounds[i + 1]] for i, w in enumerate(works)}
    return np.concatenate([docs[w] for w in SPLIT_WORKS[split]])


class ShakespeareBatches:
    """Random windows of seq_len + 1 tokens of the training split."""

    def __init__(self, batch: int, seq_len: int, device, gen: torch.Generator):
        self.data = torch.from_numpy(load_tokens("train")).to(device)
        self.batch, self.seq_len, self.gen = batch, seq_len, gen
        self.arange = torch.arange(seq_len + 1, device=device)

    def __call__(self):
        starts = torch.randint(0, self.data.numel() - self.seq_len - 1, (self.batch,), generator=self.gen)
        idx = starts.to(self.data.device)[:, None] + self.arange[None]
        w = self.data[idx]
        return w[:, :-1], w[:, 1:], None


class RecallBatches:
    """Recall sequences with the layout of recall.make_case, n_pairs ~ U[lo, hi] per sequence,
    drawn with torch's generator (fast, vectorized; evaluation uses the exact SplitMix64 one).
    Returns inputs, targets and the loss mask (True at the query-key positions)."""

    def __init__(self, batch: int, seq_len: int, device, gen: torch.Generator, lo: int = 4, hi: int = 32,
                 curriculum: float = 0.0, start_hi: int = 8, with_replacement: bool = True):
        hi = min(hi, (seq_len - 2) // 4)
        lo = min(lo, hi)
        self.batch, self.L, self.device, self.gen, self.lo, self.hi = batch, seq_len, device, gen, lo, hi
        self.curriculum, self.start_hi, self.cur_hi = curriculum, min(start_hi, hi), hi
        self.with_replacement = with_replacement

    def set_progress(self, progress: float):
        """Curriculum: over the first ``curriculum`` fraction of training the largest n_pairs
        drawn rises linearly from ``start_hi`` to ``hi``."""
        if self.curriculum > 0:
            f = min(1.0, progress / self.curriculum)
            self.cur_hi = round(self.start_hi + f * (self.hi - self.start_hi))

    def __call__(self):
        B, L, g, K = self.batch, self.L, self.gen, self.hi
        n = torch.randint(self.lo, self.cur_hi + 1, (B,), generator=g)                     # [B]
        keys = torch.rand(B, recall.N_KEYS, generator=g).argsort(dim=1)[:, :K] + recall.KEYS[0]  # distinct, [B, K]
        vals = torch.randint(*recall.VALUES, (B, K), generator=g)                         # [B, K]
        j = torch.arange(K)[None].expand(B, K)
        live = j < n[:, None]                                                             # pair j exists
        if self.with_replacement:                                                         # query pair ~ U{0..n-1}, repeats allowed
            order = (torch.rand(B, K, generator=g) * n[:, None]).long().clamp(max=K - 1)
        else:                                                                             # a permutation of 0..n-1 first
            order = torch.rand(B, K, generator=g).masked_fill(~live, 2.0).argsort(dim=1)
        tok = torch.randint(*recall.FILLER, (B, L), generator=g)
        tok[:, 0] = recall.BOS
        b = torch.arange(B)[:, None].expand(B, K)
        tok[b[live], (1 + 2 * j)[live]] = keys[live]
        tok[b[live], (2 + 2 * j)[live]] = vals[live]
        q0 = L - 2 * n                                                                    # first query position
        tok[torch.arange(B), q0 - 1] = recall.SEP
        qpos = q0[:, None] + 2 * j
        qk = keys.gather(1, order)
        qv = vals.gather(1, order)
        tok[b[live], qpos[live]] = qk[live]
        tok[b[live], (qpos + 1)[live]] = qv[live]
        mask = torch.zeros(B, L, dtype=torch.bool)
        mask[b[live], qpos[live]] = True
        x = tok.to(self.device)
        y = torch.cat([tok[:, 1:], torch.zeros(B, 1, dtype=tok.dtype)], dim=1).to(self.device)
        return x, y, mask.to(self.device)


class RecallCurriculum:
    """The "atlas" recall recipe's curriculum: ``task.stages`` = ((seq_len, lo, hi, cap), ..),
    one RecallBatches per stage (batch * task.seq_len / seq_len sequences, so every step holds
    the same number of tokens). Training starts on stage 0 and moves on (never back) once the
    training loss is below ``task.advance_loss`` (after at least ``MIN_STEPS`` steps in the
    stage) or the schedule's progress reaches the stage's cap. The task itself is unchanged:
    every stage draws the layout of recall.make_case, only shorter and with fewer pairs."""

    MIN_STEPS = 100

    def __init__(self, task, device, gen: torch.Generator, with_replacement: bool = True,
                 stage: int = 0, steps_in_stage: int = 0):
        self.batches = [RecallBatches(max(1, task.batch * task.seq_len // L), L, device, gen, lo=lo, hi=hi,
                                      with_replacement=with_replacement)
                        for (L, lo, hi, _cap) in task.stages]
        self.caps = [cap for (_L, _lo, _hi, cap) in task.stages]
        self.advance_loss = task.advance_loss
        self.stage, self.steps_in_stage = stage, steps_in_stage

    @property
    def current(self) -> RecallBatches:
        return self.batches[self.stage]

    def describe(self, i: int | None = None) -> str:
        b = self.batches[self.stage if i is None else i]
        return f"stage {self.stage if i is None else i}: {b.batch} x {b.L} tokens, n_pairs {b.lo}-{b.hi}"

    def update(self, progress: float, loss: float | None = None) -> bool:
        """Advance to the next stage if its time has come; True if it did."""
        if self.stage + 1 >= len(self.batches):
            return False
        cap = self.caps[self.stage]
        by_cap = cap is not None and progress >= cap
        by_loss = (loss is not None and self.steps_in_stage >= self.MIN_STEPS and loss < self.advance_loss)
        if by_cap or by_loss:
            self.stage += 1
            self.steps_in_stage = 0
            return True
        return False

    def __call__(self):
        self.steps_in_stage += 1
        return self.current()
