"""Export the playground-size configs to ONNX, for ONNX Runtime Web beside our engine
(scripts/bench-browser.mjs). Needs PyTorch (run once on the GPU machine; see
docs/BENCHMARKS.md "In the browser, beside ONNX Runtime Web").

    python train/export_onnx.py --out DIR [--lens 128,2048] [--families transformer,...]

What it writes, per family F and length T (fixed: the chunked SSD scan pads T to a
multiple of its chunk with Python arithmetic, which a traced graph keeps as constants):

- ``F-T.onnx``: the twin's forward over tokens [1, T] (int64) -> the last token's logits
  [1, V] (the LM head on the last row only, as our engine's prefill), opset 17, the SSD scan
  in its chunked form (einsum / cumsum / exp: loop-free, exports as plain ops). **Without
  its weights**: every parameter is an external-data reference into ``weights.bin`` (the
  graphs are small enough to commit; the weights are 29-37 MB per model).
- ``manifest.json``: for each file, every parameter's name, dims, byte offset and length
  in ``weights.bin``, and the PyTorch logits for the benchmark tokens ``(i*7919+13) % V``.

The weights are not random draws from torch: every parameter comes from a counter-based
hash (``hash_uniform``) that scripts/bench-browser.mjs recomputes bit for bit in
JavaScript, so ONNX Runtime Web runs the very model PyTorch ran here and its logits can be
checked against the manifest's.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import hybrid_twin  # noqa: E402
from hybrid_twin import Config, HybridLM  # noqa: E402

from onnx_strip import externalize  # noqa: E402

OPSET = 17
CHUNK = 64


def hash_uniform(name: str, n: int) -> np.ndarray:
    """n values in [0, 1): u_i = mix(seed(name) ^ (i * 0x9E3779B9)) >> 8 / 2^24, where mix is
    the "lowbias32" integer hash and seed the FNV-1a hash of the name (uint32 throughout)."""
    seed = 0x811C9DC5
    for b in name.encode():
        seed = ((seed ^ b) * 0x01000193) & 0xFFFFFFFF
    m = np.uint64(0xFFFFFFFF)
    x = (np.uint64(seed) ^ ((np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B9)) & m)) & m
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & m
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & m
    x ^= x >> np.uint64(16)
    return (x >> np.uint64(8)).astype(np.float64) / 16777216.0


def init_value(name: str, n: int) -> np.ndarray:
    """The value of parameter `name` (n elements, flat), float32: the twin's init rules
    (init_weights_) with the hash for randomness."""
    leaf = name.split(".")[-2] if name.endswith(".weight") else name.split(".")[-1]
    u = hash_uniform(name, n)
    if leaf in ("D", "attn_scale", "ssm_scale") or "norm" in leaf:
        v = np.ones(n)
    elif leaf == "A_log":
        v = np.log(1.0 + 15.0 * u)                                  # log(uniform(1, 16))
    elif leaf == "dt_bias":
        dt = np.exp(math.log(1e-3) + u * (math.log(1e-1) - math.log(1e-3)))
        v = dt + np.log(-np.expm1(-dt))                             # inverse softplus
    elif "conv1d" in name:
        v = (u - 0.5) * 0.5
    else:
        v = (u - 0.5) * 0.0693                                      # std 0.02
    return v.astype(np.float32)


def rope_f32(x: torch.Tensor, pos: torch.Tensor, theta: float) -> torch.Tensor:
    """The twin's rotate-half RoPE in float32 (its float64 angles do not run on WebGPU)."""
    dh = x.shape[-1]
    half = dh // 2
    i = torch.arange(half, dtype=torch.float32)
    freqs = torch.pow(torch.tensor(theta, dtype=torch.float32), -2.0 * i / dh)  # [dh/2]
    ang = pos.to(torch.float32)[:, None] * freqs[None, :]         # [T, dh/2]
    cos, sin = ang.cos(), ang.sin()
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)


class LastLogits(torch.nn.Module):
    """tokens [1, T] -> logits of the last token [1, V], the SSD scan chunked."""

    def __init__(self, model: HybridLM):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        m = self.model
        x = m.embed_tokens(tokens)                                  # [1, T, D]
        for block in m.layers:
            x, _ = block(x, None, False, "chunked", CHUNK)
        h = m.norm_f(x[:, -1, :])                                   # [1, D]
        return F.linear(h, m.head_weight())                         # [1, V]


def bench_tokens(t: int, vocab: int) -> torch.Tensor:
    return torch.tensor([[(i * 7919 + 13) % vocab for i in range(t)]], dtype=torch.int64)


def export_one(model: LastLogits, t: int, vocab: int) -> bytes:
    buf = io.BytesIO()
    kwargs = dict(opset_version=OPSET, input_names=["tokens"], output_names=["logits"],
                  do_constant_folding=False)
    try:
        torch.onnx.export(model, (bench_tokens(t, vocab),), buf, dynamo=False, **kwargs)
    except TypeError:                                               # torch without `dynamo=`
        torch.onnx.export(model, (bench_tokens(t, vocab),), buf, **kwargs)
    return buf.getvalue()


def export_checked(fam: str, wrapped: LastLogits, params: dict, t: int, vocab: int, out: Path) -> dict:
    """Export one file and check it: every parameter out with its exact bytes; where
    onnxruntime is installed, its logits against PyTorch's. Returns the manifest entry."""
    t0 = time.time()
    logits = wrapped(bench_tokens(t, vocab))[0]
    graph, entries, weights = externalize(export_one(wrapped, t, vocab), params)
    missing = sorted(set(params) - {e["name"] for e in entries})
    for e in entries:
        got = np.frombuffer(weights[e["offset"]:e["offset"] + e["length"]], dtype=np.float32)
        if not np.array_equal(got, params[e["name"]].ravel()):
            raise ValueError(f"{fam}-{t}: {e['name']} bytes differ from the parameter")
    fname = f"{fam}-{t}.onnx"
    (out / fname).write_bytes(graph)
    check = ort_check(graph, weights, bench_tokens(t, vocab), logits)
    print(f"{fname}: graph {len(graph)} B, weights {len(weights)} B, {len(entries)} params out "
          f"({len(missing)} not found), {check}, {time.time() - t0:.1f} s", flush=True)
    return {
        "config": f"playground-{fam}.json", "tokens": t, "vocab": vocab,
        "weights_bytes": len(weights), "params": entries, "missing_params": missing,
        "onnxruntime_check": check,
        "torch_logits": [round(float(v), 6) for v in logits],
    }


def ort_check(graph: bytes, weights: bytes, tokens: torch.Tensor, logits: torch.Tensor) -> str:
    """onnxruntime (Python, CPU) on the exported graph + weights against PyTorch, if present."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime not installed: not checked here"
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "m.onnx").write_bytes(graph)
        (Path(d) / "weights.bin").write_bytes(weights)
        sess = ort.InferenceSession(str(Path(d) / "m.onnx"), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"tokens": tokens.numpy()})[0][0]
    want = logits.numpy()
    err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))
    return f"onnxruntime {ort.__version__} vs torch: rel err {err:.2e}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--lens", default="128,2048")
    ap.add_argument("--families", default="transformer,mamba2,inter,intra")
    ap.add_argument("--configs", default=str(HERE.parent / "assets" / "configs"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    hybrid_twin.rope = rope_f32
    torch.set_grad_enabled(False)
    failed = []
    manifest = {"opset": OPSET, "chunk": CHUNK, "torch": torch.__version__, "models": {}}
    for fam in args.families.split(","):
        cfg = Config.load(Path(args.configs) / f"playground-{fam}.json")
        model = HybridLM(cfg).eval()
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(init_value(name, p.numel())).view_as(p))
        params = {n: p.detach().numpy() for n, p in model.named_parameters()}
        wrapped = LastLogits(model).eval()
        for t in (int(v) for v in args.lens.split(",")):
            try:
                entry = export_checked(fam, wrapped, params, t, cfg.vocab_size, out)
                manifest["models"][f"{fam}-{t}.onnx"] = entry
            except Exception:                                       # noqa: BLE001 (one run: keep going)
                traceback.print_exc()
                failed.append(f"{fam}-{t}")
    (out / "manifest.json").write_text(json.dumps(manifest))
    print(f"failed: {failed}" if failed else "all exported", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
