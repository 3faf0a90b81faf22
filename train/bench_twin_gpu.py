"""PyTorch on CUDA, timed beside `hybrid bench` on the same machine (issue #13 item 5).

The models are the PyTorch twin's (hybrid_twin.HybridLM, random init, batch 1): the same
configs, parameter names and maths as the Rust engines. Only two things are swapped in for
speed, as anyone timing PyTorch would do:
- prefill attention runs through `F.scaled_dot_product_attention` (flash / memory-efficient
  kernels; a boolean mask for sliding windows) instead of the twin's explicit softmax, the
  SSD scan is the twin's chunked form (chunk 256), and the LM head sees the last row only;
- decode uses a static cache: the KV cache preallocated to context + steps and written in
  place at a position held in a device tensor, the conv window and SSM state copied back
  into fixed buffers, so that a step is capturable as a CUDA graph.

Modes: prefill eager; decode eager, CUDA graph replay, and torch.compile (inductor) with
its step then captured as a CUDA graph (as gpt-fast does). Each in f32 with TF32 off and
in bf16. Decode attention is SDPA over the visible keys (flash-decoding where PyTorch
picks it).

    python train/bench_twin_gpu.py --configs playground-transformer,... \
        --prefill 16384 --decode 128 --modes eager,graph,compile --dtypes f32,bf16

`--table run.jsonl` prints a run as a Markdown table. Prints one JSON object per line: {config, dtype, mode, what, tokens, ms} (prefill: ms for
the whole prompt, best of `--reps`; decode: ms per token over `--steps` steps at that
context, best of `--reps`). Speed only; correctness of the twin is tested elsewhere.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import hybrid_twin as ht  # noqa: E402
from hybrid_twin import Config, HybridLM  # noqa: E402

SSD_CHUNK = 256
_heads_reference = ht.Attention.heads


def _heads_fast(self, x, cache=None, want_probs=False, plan=None):
    """Attention.heads with SDPA for a whole prompt, or one token against a static cache
    (``cache`` holding kbuf [1, Hkv, Tmax, dh], vbuf [1, Hkv, Tmax, dv], the token's
    position pos_t [1] and how many keys it sees, `visible`)."""
    if want_probs or plan is not None or (cache is not None and "kbuf" not in cache):
        return _heads_reference(self, x, cache, want_probs, plan)
    Bsz, T, _ = x.shape
    Hq, Hkv, dh, dv = self.n_heads, self.n_kv_heads, self.head_dim, self.v_head_dim
    rep = Hq // Hkv
    pos = torch.arange(T, device=x.device) if cache is None else cache["pos_t"]
    q = self.q_proj(x).view(Bsz, T, Hq, dh).transpose(1, 2)        # [B, Hq, T, dh]
    k = self.k_proj(x).view(Bsz, T, Hkv, dh).transpose(1, 2)       # [B, Hkv, T, dh]
    v = self.v_proj(x).view(Bsz, T, Hkv, dv).transpose(1, 2)       # [B, Hkv, T, dv]
    q, k = ht.rope(q, pos, self.rope_theta), ht.rope(k, pos, self.rope_theta)
    if cache is None:
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        if self.window is None:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            vis = ht.attention_mask(pos, pos, self.window, self.sink_tokens)  # [T, T]
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=vis)
        return o.transpose(1, 2).reshape(Bsz, T, Hq * dv), None
    kbuf, vbuf = cache["kbuf"], cache["vbuf"]
    kbuf.index_copy_(2, pos, k)
    vbuf.index_copy_(2, pos, v)
    # keys 0..visible-1 (a Python int: fixed inside one captured graph); a window without
    # sinks reads only its last `window` keys, else a mask
    n = cache["visible"]
    lo = max(0, n - self.window) if self.window is not None and self.sink_tokens == 0 else 0
    kv_k, kv_v = kbuf[:, :, lo:n], vbuf[:, :, lo:n]
    mask = None
    if self.window is not None and lo == 0:
        mask = ht.attention_mask(pos, torch.arange(lo, n, device=x.device), self.window, self.sink_tokens)
    o = F.scaled_dot_product_attention(q, kv_k, kv_v, attn_mask=mask, enable_gqa=rep > 1)  # [B, Hq, 1, dv]
    return o.transpose(1, 2).reshape(Bsz, 1, Hq * dv), None




ht.Attention.heads = _heads_fast


def prefill_fn(model: HybridLM):
    """tokens [1, T] -> logits of the last token [1, V]."""
    def run(tokens):
        x = model.embed_tokens(tokens)
        for block in model.layers:
            x, _ = block(x, None, False, "chunked", SSD_CHUNK)
        return F.linear(model.norm_f(x[:, -1, :]), model.head_weight())
    return run


class StaticDecoder:
    """One decode step at a fixed context, every buffer fixed: graph-capturable."""

    def __init__(self, model: HybridLM, context: int, steps: int):
        cfg, dev = model.cfg, model.embed_tokens.weight.device
        dt = model.embed_tokens.weight.dtype
        self.model, self.context, tmax = model, context, context + steps + 1
        self.pos_t = torch.full((1,), context, dtype=torch.long, device=dev)
        self.token = torch.zeros((1, 1), dtype=torch.long, device=dev)
        self.cache = ht.InferenceCache(cfg)
        self.static = []  # (dict, key, fixed buffer) of the Mamba state the twin replaces
        self.attn = []    # the attention caches

        def attn(mod):
            d = {"kbuf": torch.zeros(1, mod.n_kv_heads, tmax, mod.head_dim, device=dev, dtype=dt),
                 "vbuf": torch.zeros(1, mod.n_kv_heads, tmax, mod.v_head_dim, device=dev, dtype=dt),
                 "pos_t": self.pos_t, "visible": context + 1}
            self.attn.append(d)
            return d

        def ssm(mod, d):
            conv = torch.zeros(1, mod.E + 2 * mod.G * mod.N, mod.W - 1, device=dev, dtype=dt)
            state = torch.zeros(1, mod.H, mod.P, mod.N, device=dev, dtype=torch.float32)
            d["conv"], d["ssm"] = conv, state
            self.static += [(d, "conv", conv), (d, "ssm", state)]

        for i, block in enumerate(model.layers):
            if block.kind == "attention":
                self.cache.blocks[i] = attn(block.mixer)
            elif block.kind == "mamba":
                ssm(block.mixer, self.cache.blocks[i])
            else:
                self.cache.blocks[i]["attn"] = attn(block.mixer.attn)
                ssm(block.mixer.ssm, self.cache.blocks[i]["ssm"])

    def step(self):
        """Logits [1, 1, V] of `self.token` at `self.pos_t`. Timed steps all run at the
        decoder's context (a replayed graph repeats the same step); `advance` moves on."""
        self.cache.pos = self.context  # interventions only; no plan here
        logits = self.model(self.token, cache=self.cache, ssd="recurrent")
        for d, key, buf in self.static:
            buf.copy_(d[key])
            d[key] = buf
        return logits

    def advance(self):
        self.pos_t.add_(1)
        for d in self.attn:
            d["visible"] += 1


def check(model: HybridLM, n: int = 48) -> float:
    """Max |difference| of the fast paths' logits against the twin's reference forward:
    the SDPA prefill's last row, and `StaticDecoder` fed the same n tokens one at a time
    from position 0."""
    dev = model.embed_tokens.weight.device
    tokens = ((torch.arange(n, device=dev) * 7919 + 13) % model.cfg.vocab_size)[None]
    ht.Attention.heads = _heads_reference
    try:
        ref = model(tokens).float()                                 # [1, n, V], reference heads
    finally:
        ht.Attention.heads = _heads_fast
    worst = (prefill_fn(model)(tokens).float() - ref[:, -1]).abs().max().item()
    dec = StaticDecoder(model, 0, n)
    for t in range(n):
        dec.token.fill_(int(tokens[0, t]))
        worst = max(worst, (dec.step()[0, 0].float() - ref[0, t]).abs().max().item())
        dec.advance()
    return worst


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def cuda_ms(fn, reps: int, inner: int = 1) -> float:
    """Best of `reps` timings of `inner` calls, ms per call."""
    best = float("inf")
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t0) * 1e3 / inner)
    return best


def decode_ms(model: HybridLM, context: int, steps: int, mode: str, reps: int) -> float:
    """ms per decode step at `context`: eager, the step captured as a CUDA graph, or the
    step compiled by torch.compile (inductor) and then captured (as gpt-fast does)."""
    dec = StaticDecoder(model, context, 1)
    if mode == "eager":
        run = dec.step
    else:
        fn = torch.compile(dec.step, dynamic=False) if mode == "compile" else dec.step
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                fn()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fn()
        run = g.replay
    run()
    return cuda_ms(run, reps, steps)


def table(path: str) -> str:
    """A Markdown table of a run's JSON lines: one row per (config, what, tokens), one column
    per (dtype, mode)."""
    rows, cols = {}, []
    for line in Path(path).read_text().splitlines():
        r = json.loads(line)
        if "what" not in r:
            continue
        col = f"{r['dtype']} {r['mode']}"
        if col not in cols:
            cols.append(col)
        key = (r["config"], r["what"], r["tokens"])
        rows.setdefault(key, {})[col] = f"{r['ms']:g}" if "ms" in r else "failed"
    out = ["| config | what | tokens | " + " | ".join(cols) + " |", "|---|---|---:|" + "---:|" * len(cols)]
    for (cfg, what, t), cells in rows.items():
        out.append(f"| {cfg} | {what} | {t} | " + " | ".join(cells.get(c, "") for c in cols) + " |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", metavar="JSONL", help="print a run's lines as a Markdown table and stop")
    ap.add_argument("--configs", default="playground-transformer,playground-mamba2,playground-inter,playground-intra")
    ap.add_argument("--prefill", default="16384", help="prompt lengths, comma list ('' = none)")
    ap.add_argument("--decode", default="128", help="contexts for decode, comma list ('' = none)")
    ap.add_argument("--modes", default="eager,graph,compile", help="decode modes")
    ap.add_argument("--dtypes", default="f32,bf16")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--check", action="store_true",
                    help="first compare the fast paths with the twin's reference forward (f32)")
    ap.add_argument("--device", default="cuda", help="cuda, or cpu for --check only")
    ap.add_argument("--config-dir", default=str(HERE.parent / "assets" / "configs"))
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return 0
    torch.set_grad_enabled(False)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(args.device)
    lens = [int(v) for v in args.prefill.split(",") if v]
    ctxs = [int(v) for v in args.decode.split(",") if v]
    gpu = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
    print(json.dumps({"torch": torch.__version__, "device": gpu}), flush=True)
    for name in args.configs.split(","):
        cfg = Config.load(Path(args.config_dir) / f"{name}.json")
        if args.check:
            torch.manual_seed(0)
            with torch.device(dev):
                model = HybridLM(cfg).eval()
            print(json.dumps({"config": name, "check_max_abs_diff": check(model)}), flush=True)
            del model
            if dev.type != "cuda":
                continue
        for dname in args.dtypes.split(","):
            dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[dname]
            torch.manual_seed(0)
            with torch.device(dev):
                model = HybridLM(cfg).to(dtype).eval()
            for t in lens:
                tokens = ((torch.arange(t, device=dev) * 7919 + 13) % cfg.vocab_size)[None]
                run = prefill_fn(model)
                run(tokens)
                ms = cuda_ms(lambda: run(tokens), args.reps)
                print(json.dumps({"config": name, "dtype": dname, "mode": "eager", "what": "prefill",
                                  "tokens": t, "ms": round(ms, 3)}), flush=True)
            for c in ctxs:
                for mode in args.modes.split(","):
                    try:
                        ms = decode_ms(model, c, args.steps, mode, args.reps)
                        row = {"ms": round(ms, 4)}
                    except Exception as e:  # a mode that fails is reported, the rest go on
                        row = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
                    print(json.dumps({"config": name, "dtype": dname, "mode": mode, "what": "decode",
                                      "tokens": c, **row}), flush=True)
                    torch.compiler.reset()
            del model
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
