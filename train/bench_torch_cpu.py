"""PyTorch CPU eager prefill of the playground configs (the twin, chunked SSD scan, LM head
on the last row only), for the issue #13 target "native CPU engine no slower than PyTorch
CPU eager on the same machine": run it on the machine where `hybrid bench -b cpu` runs.

    python train/bench_torch_cpu.py [--lens 128,2048] [--threads 1,16]

Prints one line per (family, threads, length): the best of 2 prefills, in ms. Speed only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from export_onnx import LastLogits, bench_tokens  # noqa: E402
from hybrid_twin import Config, HybridLM  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lens", default="128,2048")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--families", default="transformer,mamba2,inter,intra")
    ap.add_argument("--configs", default=str(HERE.parent / "assets" / "configs"))
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    rows = []
    for fam in args.families.split(","):
        cfg = Config.load(Path(args.configs) / f"playground-{fam}.json")
        model = LastLogits(HybridLM(cfg).eval())
        for n in (int(v) for v in args.threads.split(",")):
            torch.set_num_threads(n)
            for t in (int(v) for v in args.lens.split(",")):
                tokens = bench_tokens(t, cfg.vocab_size)
                best = float("inf")
                for _ in range(2):
                    t0 = time.perf_counter()
                    model(tokens)
                    best = min(best, (time.perf_counter() - t0) * 1e3)
                rows.append({"model": f"playground-{fam}", "threads": n, "context": t, "prefill_ms": best})
                print(f"torch cpu eager playground-{fam} threads {n} @ {t}: {best:.1f} ms", flush=True)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
