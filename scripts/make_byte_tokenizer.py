#!/usr/bin/env python3
"""Writes tests/data/byte-level-tokenizer.json: a byte-level tokenizer with exactly 256
tokens, token id == byte value, ByteLevel pre-tokenizer and decoder, no merges.

It pairs with the random-weights fixture models (vocab 256) to make a text-in/text-out
test model for the page (see scripts/make-test-model.sh). Needs the `tokenizers` package:
    pip install tokenizers && python3 scripts/make_byte_tokenizer.py
"""
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "byte-level-tokenizer.json"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map (the one ByteLevel uses)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def main() -> None:
    chars = bytes_to_unicode()
    vocab = {chars[b]: b for b in range(256)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    assert tok.get_vocab_size() == 256
    text = "Hello, hybrid world! ünïcödé ✓"
    ids = tok.encode(text).ids
    assert ids == list(text.encode("utf-8")), ids
    assert tok.decode(ids) == text
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(OUT), pretty=True)
    print(f"wrote {OUT} (256 byte tokens)")


if __name__ == "__main__":
    main()
