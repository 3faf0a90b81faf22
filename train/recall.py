"""Multi-query associative recall (MQAR): the exact task definition shared with the Rust engine.

    python3 train/recall.py              # (re)write tests/fixtures/recall_cases.json
    python3 train/recall.py --check      # compare with the committed file

Vocabulary (256): 0 ``<pad>``, 1 ``<bos>``, 2 ``<sep>``, 3..15 filler ``f3``..``f15``,
16..127 keys ``k16``..``k127`` (112 keys), 128..255 values ``v128``..``v255``.

Randomness: SplitMix64, all arithmetic mod 2^64:
    state += 0x9E3779B97F4A7C15; z = state
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    return z ^ (z >> 31)
``uniform(lo, hi) = lo + next_u64() % (hi - lo)`` (hi exclusive). One generator per batch,
seeded with ``seed`` (the initial state), cases drawn one after another.

A case of ``n_pairs`` pairs and length ``seq_len`` (needs 4*n_pairs + 2 <= seq_len, n_pairs <= 112):
  1. keys: partial Fisher-Yates over the list [16, 17, .., 127]: for i in 0..n_pairs:
     j = uniform(i, 112); swap(list[i], list[j]); key_i = list[i].
  2. values: for i in 0..n_pairs: value_i = uniform(128, 256).
  3. order: the list [0, .., n_pairs-1]; for i in 0..n_pairs: j = uniform(i, n_pairs); swap.
  4. filler: seq_len - 4*n_pairs - 2 tokens, each uniform(3, 16).
  tokens = [1] + [k_0, v_0, k_1, v_1, ..] + filler + [2] + [k_o0, v_o0, k_o1, v_o1, ..]
Query positions: the indices of the query keys in the final section; the model must predict
the following token (the value) there. Accuracy = fraction of query positions p where
argmax(logits[p]) == tokens[p + 1].
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MASK64 = (1 << 64) - 1
VOCAB = 256
PAD, BOS, SEP = 0, 1, 2
FILLER = (3, 16)      # [lo, hi)
KEYS = (16, 128)
VALUES = (128, 256)
N_KEYS = KEYS[1] - KEYS[0]  # 112

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "recall_cases.json"
FIXTURE_SEED = 1234
FIXTURE_SHAPES = ((1, 8), (4, 32), (8, 64), (16, 100))


class SplitMix64:
    def __init__(self, seed: int):
        self.state = seed & MASK64

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self, lo: int, hi: int) -> int:
        """lo + next_u64() % (hi - lo): an integer in [lo, hi)."""
        return lo + self.next_u64() % (hi - lo)


def token_names() -> list[str]:
    """Names of the 256 token ids (the word-level tokenizer's vocabulary)."""
    names = ["<pad>", "<bos>", "<sep>"]
    names += [f"f{i}" for i in range(*FILLER)]
    names += [f"k{i}" for i in range(*KEYS)]
    names += [f"v{i}" for i in range(*VALUES)]
    assert len(names) == VOCAB
    return names


def make_case(rng: SplitMix64, n_pairs: int, seq_len: int) -> tuple[list[int], list[int]]:
    """(tokens [seq_len], query positions [n_pairs]) of one case, drawn from ``rng``."""
    if not (1 <= n_pairs <= N_KEYS):
        raise ValueError(f"n_pairs must be in 1..{N_KEYS}, got {n_pairs}")
    if 4 * n_pairs + 2 > seq_len:
        raise ValueError(f"seq_len {seq_len} too short for {n_pairs} pairs (needs {4 * n_pairs + 2})")
    pool = list(range(*KEYS))
    keys = []
    for i in range(n_pairs):
        j = rng.uniform(i, N_KEYS)
        pool[i], pool[j] = pool[j], pool[i]
        keys.append(pool[i])
    values = [rng.uniform(*VALUES) for _ in range(n_pairs)]
    order = list(range(n_pairs))
    for i in range(n_pairs):
        j = rng.uniform(i, n_pairs)
        order[i], order[j] = order[j], order[i]
    filler = [rng.uniform(*FILLER) for _ in range(seq_len - 4 * n_pairs - 2)]
    tokens = [BOS]
    for k, v in zip(keys, values):
        tokens += [k, v]
    tokens += filler
    tokens.append(SEP)
    start = len(tokens)
    queries = []
    for i, o in enumerate(order):
        tokens += [keys[o], values[o]]
        queries.append(start + 2 * i)
    assert len(tokens) == seq_len
    return tokens, queries


def make_batch(seed: int, count: int, n_pairs: int, seq_len: int) -> tuple[list[list[int]], list[list[int]]]:
    """``count`` cases drawn one after another from one generator seeded with ``seed``.
    Returns (tokens [count][seq_len], query positions [count][n_pairs])."""
    rng = SplitMix64(seed)
    toks, qs = [], []
    for _ in range(count):
        t, q = make_case(rng, n_pairs, seq_len)
        toks.append(t)
        qs.append(q)
    return toks, qs


def accuracy(logits, tokens, queries) -> float:
    """Fraction of query positions p with argmax(logits[b, p]) == tokens[b, p + 1].
    logits [B, T, V] (torch or numpy), tokens [B][T], queries [B][n]."""
    hit = total = 0
    pred = logits.argmax(-1)
    for b, qs in enumerate(queries):
        for p in qs:
            hit += int(pred[b][p]) == tokens[b][p + 1]
            total += 1
    return hit / max(total, 1)


def fixture() -> dict:
    rng = SplitMix64(FIXTURE_SEED)
    cases = []
    for n, L in FIXTURE_SHAPES:
        t, q = make_case(rng, n, L)
        cases.append({"n_pairs": n, "seq_len": L, "tokens": t, "query_positions": q})
    return {"seed": FIXTURE_SEED, "cases": cases}


def fixture_text() -> str:
    # one case per line block, lists on one line: small diffs, easy to read
    d = fixture()
    lines = ['{', f'  "seed": {d["seed"]},', '  "cases": [']
    for i, c in enumerate(d["cases"]):
        sep = "," if i + 1 < len(d["cases"]) else ""
        lines.append(f'    {{"n_pairs": {c["n_pairs"]}, "seq_len": {c["seq_len"]},')
        lines.append(f'     "tokens": {json.dumps(c["tokens"])},')
        lines.append(f'     "query_positions": {json.dumps(c["query_positions"])}}}{sep}')
    lines += ['  ]', '}']
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == d
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = fixture_text()
    if args.check:
        ok = FIXTURE.exists() and FIXTURE.read_text() == text
        print("identical" if ok else f"DIFFERENT: {FIXTURE}")
        sys.exit(0 if ok else 1)
    FIXTURE.write_text(text)
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
