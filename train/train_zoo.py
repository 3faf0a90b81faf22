"""Train the model zoo: six families x two tasks, matched parameter counts, one command.

    python3 train/train_zoo.py --out /tmp/zoo --jobs 12 --minutes 6.5 --pack /tmp/zoo/pack
    python3 train/train_zoo.py --out /tmp/zoo-smoke --smoke        # 20 steps, tiny, CPU is fine
    python3 train/train_zoo.py --list                              # the zoo and its parameter counts

Families (the model id is ``<task>-<family>``):

| family         | layer plan (6 layers / 4 layers)  | mixer details                                        |
|----------------|-----------------------------------|------------------------------------------------------|
| transformer    | a a a a a a / a a a a             | GQA 4 heads (dim 32) / 2 KV heads, RoPE               |
| mamba2         | m m m m m m / m m m m             | expand 2, head dim 32, d_state 32, 1 group, conv 4    |
| inter          | m a m m a m / m a m m             | attention every third block from block 1, never first |
| intra          | m i m m i m / m i m m             | paper's recipe: branch norm, subtract, separate out   |
| intra-add      | same                              | branch norm, add, separate out projections            |
| intra-concat   | same                              | branch norm, concat, one joint out_proj               |

An intra block has a half-size attention branch (2 heads / 1 KV head) and a half-size Mamba
branch (half of the Mamba heads). Parameter counts are matched to the Mamba-2 model of the
task (within 5%, in practice ~1%) by choosing ``d_ffn`` (a multiple of 16) per family.

Tasks:
- ``shakespeare``: byte-level BPE (vocab 2048) on the complete works (train/data.py), d_model
  128, 6 layers, trained on random 256-token windows of the training plays. Metrics: loss and
  perplexity on the held-out plays at 256 tokens; loss by position out to 1024 tokens (4x the
  training length) in buckets of 32, to show length extrapolation. The checkpoint kept is the
  one with the best loss on a fixed subset of validation windows, checked during training.
- ``recall``: multi-query associative recall (train/recall.py), vocab 256, d_model 96, 4
  layers, trained up to sequences of 256 tokens with n_pairs drawn uniformly from [4, 32] for
  each sequence, after a curriculum (recipe "atlas", the default; ``--recall-recipe zoo`` is
  the first zoo's, with no curriculum): 32 tokens / 2-7 pairs, then 64 / 4-15, 128 / 4-16 and
  256 / 4-32, each stage left once the training loss is below 0.25 (or at 30/45/60% of the
  schedule), the batch scaled so that every step holds 128 x 256 tokens. Without the short
  first stage the Transformer never learned the task (issue #16; docs/FINDINGS.md). The
  checkpoint kept is the one with the best mean accuracy on a dev split (recall.make_batch,
  4/8/16/32 pairs at 256 tokens, 128 cases each, seeds 500000000 + 1000 * n_pairs + seq_len),
  checked every 250 steps. The loss is on the answer positions only (at each query key, predicting its
  value; every other target is random by construction). Training batches come from a fast
  torch generator of the same layout, with one difference: the training queries pick their
  pair *with replacement*. With every pair queried exactly once (the evaluation's definition)
  models got stuck in a shortcut: predict a context value not yet queried, which is always
  right at the last query and gives ~2/n accuracy with no key matching at all (measured on an
  H100 run: the transformer at 0.53/0.34/0.21 for 4/8/16 pairs, 64/64 last queries right).
  Repeated queries make that shortcut worthless. The test split uses recall.make_batch
  (SplitMix64, the engine's definition) with seed ``1000 * n_pairs + seq_len``, 512 cases
  each: a grid of n_pairs {4, 8, 16, 32, 64} x seq_len {256, 512, 1024} (1x, 2x and 4x the
  training length; 64 pairs do not fit in 256 tokens).

Training: AdamW (betas 0.9/0.95, weight decay 0.1 on matrices; recall: 0.01), linear warmup
then cosine to 10% of the peak, lr 2e-3; Shakespeare 1400 steps of 32 x 256 tokens (11.5M
tokens, ~6.7 epochs: past ~1200 steps the validation loss rises), recall up to 20000 steps of
128 x 256 tokens (in practice the wall-clock budget ends it first). bf16
autocast on CUDA, the chunked SSD scan (kept in f32), and on CUDA the whole step (forward,
backward, clip, AdamW) replayed from a CUDA graph: 5x faster than eager for these models
(captured again when a curriculum stage changes the batch shape).
The schedule's progress is max(step / steps, elapsed / budget), so a model that runs out of
its wall-clock budget (``--minutes``) still ends its cosine; the steps reached are in
metrics.json. Twelve processes share the GPU by time-slicing: about as fast in total as one
model alone, but CPU-side work (start-up, data, evaluation) overlaps.
Everything is seeded (model init and data order; all models of a task see the same data);
a run that stops on the wall-clock budget depends on the machine's speed. ``--seeds 0 1 2``
trains every model once per seed (ids ``<task>-<family>-s<seed>``); with several GPUs the
workers are spread over them round-robin (``--gpus``, ``--first-gpu``).

Resuming: each worker saves its state (model, optimizer, step, clock, curves, RNG) to
``<out>/_state/<id>.pt`` about every minute and when training ends; a rerun continues from
there, and a model whose ``metrics.json`` exists is skipped. So if a run is cut off, run the
same command again.

Output: ``<out>/<task>/<id>/{config.json, model.safetensors (f16), tokenizer.json,
metrics.json}``, ``<out>/zoo.json`` (every model's summary) and, with ``--pack DIR``,
``DIR/zoo-N.tar`` files of at most 15 MB each holding the model folders and zoo.json.
Metrics are measured on the f16-rounded weights, the ones the engine loads.

This file is the driver (the zoo's list, the worker processes, zoo.json, the packs); one
model's training and evaluation is train/zoo_worker.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from zoo_data import DATA, RecallBatches, RecallCurriculum  # noqa: E402,F401  (the tests use train_zoo.Recall*)
from atlas_configs import atlas_models  # noqa: E402
from zoo_models import (  # noqa: E402,F401  (FAMILIES, TASK_SPECS, ... are used as train_zoo.X too)
    FAMILIES,
    RECALL_RECIPES,
    TASK_SPECS,
    TASKS,
    all_models,
    cache_bytes,
    matched_zoo,
    n_params,
    task_spec,
)
from zoo_worker import (  # noqa: E402,F401  (the tests use them as train_zoo.X)
    DEV_PAIRS,
    TEST_PAIRS,
    Worker,
    dev_seed,
    forward_loss,
    recall_accuracy,
    recall_cases,
    summary_line,
    test_seed,
)

PACK_LIMIT = 15_000_000  # bytes per tar


def models_of(args) -> list[dict]:
    return atlas_models(args) if args.atlas else all_models(args)


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------

def print_table(models: list[dict]):
    by_task: dict[str, list] = {}
    for m in models:
        by_task.setdefault(m["task"], []).append(m)
    for tname, ms in by_task.items():
        ref = next((n_params(m["config"]) for m in ms if m["family"] == "mamba2"), None)
        print(f"\n{tname}: d_model {ms[0]['config'].d_model}, {ms[0]['config'].n_layers} layers, "
              f"vocab {ms[0]['config'].vocab_size}")
        print(f"  {'model':26s} {'layers':14s} {'d_ffn':>5s} {'params':>10s} {'vs mamba2':>9s} "
              f"{'f16 MB':>6s} {'cache 1K':>9s} {'cache 8K':>9s}")
        for m in ms:
            c = m["config"]
            p = n_params(c)
            plan = "".join(k[0] for k in c.layers)
            rel = f"{100 * (p / ref - 1):+.1f}%" if ref else ""
            k1, k8 = cache_bytes(c, 1024)["total_bytes"], cache_bytes(c, 8192)["total_bytes"]
            print(f"  {m['id']:26s} {plan:14s} {c.d_ffn:5d} {p:10,d} {rel:>9s} {2 * p / 1e6:6.2f} "
                  f"{k1 / 2**20:7.2f}Mi {k8 / 2**20:7.2f}Mi")


def run_workers(models: list[dict], args) -> list[str]:
    """Run the models not done yet, ``args.jobs`` processes at a time. Returns failures."""
    todo = [m for m in models if not (args.out / m["task"] / m["id"] / "metrics.json").exists()]
    skipped = len(models) - len(todo)
    if skipped:
        print(f"\n{skipped} model(s) already done, skipped")
    # the slowest first (Shakespeare, Mamba-heavy), for a better packing of the jobs
    order = {"shakespeare": 1, "recall": 0}                   # recall's steps are the longest
    fam_order = {"intra-concat": 0, "intra": 1, "intra-add": 2, "mamba2": 3, "inter": 4, "transformer": 5}
    todo.sort(key=lambda m: (order[m["task"]], m["seed"], fam_order.get(m["family"], 0 if "intra" in m["family"] else 3)))
    (args.out / "_state").mkdir(parents=True, exist_ok=True)
    threads = args.threads or max(1, (os.cpu_count() or 2) // max(1, min(args.jobs, len(todo) or 1)))
    n_gpus = args.gpus if args.gpus else (torch.cuda.device_count() if torch.cuda.is_available() and not args.cpu else 0)
    launched = 0
    running: list[tuple[dict, subprocess.Popen, object]] = []
    failed = []
    t_start, last_status = time.time(), time.time()
    while todo or running:
        while todo and len(running) < args.jobs:
            m = todo.pop(0)
            log = open(args.out / "_state" / f"{m['id']}.log", "a")
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", m["id"], "--out", str(args.out),
                   "--minutes", str(args.minutes), "--seed", str(args.seed), "--save-every", str(args.save_every)]
            cmd += ["--smoke"] * args.smoke + ["--eager"] * args.eager + ["--cpu"] * args.cpu
            cmd += ["--batch-scale", str(args.batch_scale), "--lr", str(args.lr)]
            cmd += ["--curriculum", str(args.curriculum)] if args.curriculum is not None else []
            cmd += ["--permuted-queries"] * args.permuted_queries
            cmd += ["--steps", str(args.steps)] if args.steps else []
            cmd += ["--recall-steps", str(args.recall_steps)] if args.recall_steps else []
            cmd += ["--seeds", *map(str, args.seeds)] if args.seeds else []
            cmd += ["--recall-recipe", args.recall_recipe] if args.recall_recipe else []
            cmd += ["--wd", str(args.wd)] if args.wd is not None else []
            cmd += ["--atlas"] * args.atlas + (["--only", *args.only] if args.atlas and args.only else [])
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1",
                       PYTORCH_CUDA_ALLOC_CONF="expandable_segments:True")
            where = ""
            if n_gpus > 1:                                   # spread the workers over the GPUs
                gpu = (launched + args.first_gpu) % n_gpus
                env["CUDA_VISIBLE_DEVICES"] = str(gpu)
                where = f" on GPU {gpu}"
            launched += 1
            running.append((m, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
            print(f"[{time.time() - t_start:5.0f} s] started {m['id']}{where}", flush=True)
        time.sleep(0.5)
        for item in list(running):
            m, p, log = item
            if p.poll() is None:
                continue
            running.remove(item)
            log.close()
            mpath = args.out / m["task"] / m["id"] / "metrics.json"
            if p.returncode == 0 and mpath.exists():
                print(f"[{time.time() - t_start:5.0f} s] {m['id']}: "
                      f"{summary_line(json.loads(mpath.read_text()))}", flush=True)
            else:
                failed.append(m["id"])
                tail = (args.out / "_state" / f"{m['id']}.log").read_text().splitlines()[-15:]
                print(f"[{time.time() - t_start:5.0f} s] {m['id']} FAILED (exit {p.returncode}):\n    "
                      + "\n    ".join(tail), flush=True)
        if running and time.time() - last_status > args.status_every:
            last_status = time.time()
            parts = []
            for m, _, _ in running:
                pp = args.out / "_state" / f"{m['id']}.progress.json"
                if pp.exists():
                    try:
                        d = json.loads(pp.read_text())
                        parts.append(f"{m['id']} {d['step']}/{d['steps']} loss {d['loss']:.3f}")
                    except (ValueError, KeyError, TypeError):
                        pass
            if parts:
                print(f"[{time.time() - t_start:5.0f} s] " + "; ".join(parts), flush=True)
    return failed


def write_summary(models: list[dict], args) -> list[dict]:
    rows = []
    for m in models:
        p = args.out / m["task"] / m["id"] / "metrics.json"
        if p.exists():
            d = json.loads(p.read_text())
            d["training"] = {k: v for k, v in d["training"].items() if k not in ("curve", "val_curve")}
            d.pop("sample", None)
            rows.append(d)
    (args.out / "zoo.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("\nsummary")
    for d in rows:
        print(f"  {d['id']:26s} {summary_line(d)}")
    return rows


def pack(models: list[dict], args):
    """Tar files of at most PACK_LIMIT bytes, each holding whole model folders."""
    dest = Path(args.pack)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("zoo-*.tar"):
        old.unlink()
    folders = [args.out / m["task"] / m["id"] for m in models
               if (args.out / m["task"] / m["id"] / "metrics.json").exists()]

    def size(folder):
        return sum(512 + (f.stat().st_size + 511) // 512 * 512 for f in folder.iterdir()) + 512

    groups, cur, cur_size = [], [], 10240 + 4096 + (args.out / "zoo.json").stat().st_size
    for f in folders:
        s = size(f)
        if cur and cur_size + s > PACK_LIMIT:
            groups.append(cur)
            cur, cur_size = [], 10240
        cur.append(f)
        cur_size += s
    if cur:
        groups.append(cur)
    for i, g in enumerate(groups, 1):
        path = dest / f"zoo-{i}.tar"
        with tarfile.open(path, "w") as tar:
            if i == 1:
                tar.add(args.out / "zoo.json", arcname="zoo.json")
            for f in g:
                tar.add(f, arcname=str(f.relative_to(args.out)))
        n = path.stat().st_size
        assert n <= PACK_LIMIT, (path, n)
        print(f"packed {path} ({n / 1e6:.1f} MB): {', '.join(f.name for f in g)}")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE / "runs" / "zoo", help="output folder")
    ap.add_argument("--jobs", type=int, default=12, help="models trained at once (processes)")
    ap.add_argument("--minutes", type=float, default=6.5, help="wall-clock training budget per model")
    ap.add_argument("--steps", type=int, default=0, help="override every task's step count")
    ap.add_argument("--recall-steps", type=int, default=0, help="override the recall task's step count")
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    ap.add_argument("--only", nargs="+", default=None, help="model ids or family names")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="train every model once per seed (ids get -s<seed>); overrides --seed")
    ap.add_argument("--recall-recipe", choices=sorted(RECALL_RECIPES), default=None,
                    help="recall training recipe (default: atlas; zoo: the first zoo's)")
    ap.add_argument("--gpus", type=int, default=0,
                    help="spread the workers over this many GPUs (default: all visible)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads per worker (default: cores / jobs)")
    ap.add_argument("--first-gpu", type=int, default=0, help="GPU of the first worker (then round-robin)")
    ap.add_argument("--wd", type=float, default=None, help="AdamW weight decay on matrices (default: the recipe's)")
    ap.add_argument("--smoke", action="store_true", help="20 steps, batch 4 x 64 tokens, small evals")
    ap.add_argument("--atlas", action="store_true",
                    help="the ablation atlas (atlas_configs.py): 6 blocks, fixed steps, Shakespeare dev/test plays")
    ap.add_argument("--eager", action="store_true", help="no CUDA graph: launch every kernel from Python")
    ap.add_argument("--batch-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    ap.add_argument("--lr", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--curriculum", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--permuted-queries", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cpu", action="store_true", help="train on the CPU even if CUDA is there")
    ap.add_argument("--pack", nargs="?", const="", default=None, metavar="DIR",
                    help="write tars of <= 15 MB into DIR (default <out>/pack)")
    ap.add_argument("--list", action="store_true", help="print the zoo and exit")
    ap.add_argument("--save-every", type=float, default=60.0, help="seconds between state saves")
    ap.add_argument("--status-every", type=float, default=30.0)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--part", default="", help="k/n: train only every n-th run from the k-th")
    args = ap.parse_args(argv)
    if args.pack == "":
        args.pack = str(args.out / "pack")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        task = args.worker.split("-", 1)[0]
        args.tasks = [task]
        spec = next(m for m in models_of(args) if m["id"] == args.worker)
        Worker(spec, args).run()
        return
    models = models_of(args)
    if args.part:                                # "k/n": every n-th run from the k-th (one driver per GPU)
        k, n = (int(x) for x in args.part.split("/"))
        models = models[k::n]
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() and not args.cpu else "cpu"
    print(f"zoo: {len(models)} models -> {args.out} | device {dev} | jobs {args.jobs} | "
          f"budget {args.minutes} min/model | torch {torch.__version__}" + (" | SMOKE" if args.smoke else ""))
    print_table(models)
    if args.list:
        return
    need = {"shakespeare": (DATA / "shakespeare" / "train.bin", DATA / "shakespeare" / "tokenizer.json"),
            "recall": (DATA / "recall" / "tokenizer.json",)}
    for p in (p for t in args.tasks for p in need[t]):
        if not p.exists():
            raise SystemExit(f"{p} missing: run python3 train/data.py")
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    failed = run_workers(models, args)
    write_summary(models, args)
    print(f"\nwall time {time.time() - t0:.0f} s")
    if args.pack is not None:
        pack(models, args)
    if failed:
        print(f"FAILED: {', '.join(failed)} (rerun the same command to retry; state is kept)")
        sys.exit(1)


if __name__ == "__main__":
    main()
