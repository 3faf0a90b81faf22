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
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hybrid_twin import HybridLM, count_params  # noqa: E402
import recall  # noqa: E402

from zoo_data import DATA, RecallBatches, RecallCurriculum, ShakespeareBatches, load_tokens, split_works  # noqa: E402,F401,E501
from atlas_configs import atlas_models  # noqa: E402
from zoo_models import (  # noqa: E402,F401  (FAMILIES, TASK_SPECS, ... are used as train_zoo.X too)
    FAMILIES,
    RECALL_RECIPES,
    TASK_SPECS,
    TASKS,
    TaskSpec,
    all_models,
    cache_bytes,
    make_config,
    matched_zoo,
    n_params,
    task_spec,
)
PACK_LIMIT = 15_000_000  # bytes per tar

# Recall evaluation splits, all drawn with recall.make_batch (SplitMix64, the engine's
# definition); training batches come from torch's generator, so neither split is trained on.
# dev (picks the kept checkpoint during training): n_pairs DEV_PAIRS at the training length,
# DEV_CASES cases each, seed DEV_SEED_BASE + 1000 * n + L. test (reported): n_pairs TEST_PAIRS
# x seq_len (1, 2, 4) x the training length, TEST_CASES cases each, seed 1000 * n + L (the
# first zoo's evaluation seeds).
DEV_PAIRS = (4, 8, 16, 32)
DEV_CASES = 128
DEV_SEED_BASE = 500_000_000
TEST_PAIRS = (4, 8, 16, 32, 64)
TEST_LEN_FACTORS = (1, 2, 4)
TEST_CASES = 512


def models_of(args) -> list[dict]:
    return atlas_models(args) if args.atlas else all_models(args)


def dev_seed(n_pairs: int, seq_len: int) -> int:
    return DEV_SEED_BASE + 1000 * n_pairs + seq_len


def test_seed(n_pairs: int, seq_len: int) -> int:
    return 1000 * n_pairs + seq_len


def recall_cases(seed: int, count: int, n_pairs: int, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """recall.make_batch as tensors: tokens [count, seq_len], query positions [count, n_pairs]."""
    toks, qs = recall.make_batch(seed, count, n_pairs, seq_len)
    return torch.tensor(toks), torch.tensor(qs)


@torch.no_grad()
def recall_accuracy(model, toks: torch.Tensor, qs: torch.Tensor, device, batch: int = 64,
                    autocast: bool = False) -> float:
    """recall.accuracy over the cases: fraction of query positions p where
    argmax(logits[p]) == tokens[p + 1]."""
    hit = 0
    for i in range(0, len(toks), batch):
        x = toks[i:i + batch].to(device)
        q = qs[i:i + batch].to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            pred = model(x, ssd="chunked", chunk_size=64).argmax(-1)       # [b, T]
        hit += int((pred.gather(1, q) == x.gather(1, q + 1)).sum())
    return hit / max(qs.numel(), 1)


# --------------------------------------------------------------------------------------
# Training (one model, in a worker process)
# --------------------------------------------------------------------------------------

def lr_at(step: int, progress: float, task: TaskSpec) -> float:
    if step < task.warmup:
        return task.lr * (step + 1) / task.warmup
    p = min(1.0, max(0.0, progress))
    return task.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def make_optimizer(model, lr, cuda: bool, capturable: bool = False, weight_decay: float = 0.1):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": other, "weight_decay": 0.0}]
    kw = {"fused": True, "capturable": capturable} if cuda else {}
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8, **kw)


def forward_loss(model, x, y, mask, ssd="chunked"):
    """Mean cross-entropy over all positions, or over the positions where ``mask`` is True
    (written without boolean indexing, so that it needs no device-to-host sync)."""
    logits = model(x, ssd=ssd, chunk_size=min(64, x.shape[1]))       # no padding of short stages
    ce = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none")
    if mask is None:
        return ce.mean()
    m = mask.flatten().float()
    return (ce * m).sum() / m.sum().clamp(min=1.0)


class Stepper:
    """One training step (bf16 autocast forward, backward, grad clip 1.0, AdamW), run eagerly,
    or on CUDA replayed from a CUDA graph of the whole step: these models are so small that
    launching ~2000 kernels per step from Python costs more than running them. The first
    ``WARMUP`` steps run eagerly on a side stream (as torch.cuda.graph requires), then the step
    is captured once; if capture fails the worker carries on eagerly."""

    WARMUP = 3

    def __init__(self, model, opt, cuda: bool, use_graph: bool, log):
        self.model, self.opt, self.cuda, self.log = model, opt, cuda, log
        self.params = list(model.parameters())
        self.use_graph = cuda and use_graph
        self.graph, self.warm = None, 0
        self.lr = torch.tensor(0.0, device="cuda") if self.use_graph else None
        self.set_lr_holder()

    def set_lr_holder(self):
        """With a graph the learning rate lives in a device tensor read at each replay."""
        if self.lr is not None:
            for g in self.opt.param_groups:
                g["lr"] = self.lr

    def body(self, x, y, mask):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda, cache_enabled=False):
            loss = forward_loss(self.model, x, y, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0, foreach=self.cuda)
        self.opt.step()
        return loss.detach()

    def __call__(self, x, y, mask, lr: float):
        if self.lr is not None:
            self.lr.fill_(lr)
        else:
            for g in self.opt.param_groups:
                g["lr"] = lr
        if self.graph is not None and x.shape != self.sx.shape:
            # a new batch shape (the next curriculum stage): drop the graph, warm up on the
            # new shape eagerly, then capture again
            torch.cuda.synchronize()
            self.graph = self.sx = self.sy = self.sm = self.sloss = None
            self.warm = 0
        if self.graph is not None:
            self.sx.copy_(x)
            self.sy.copy_(y)
            if mask is not None:
                self.sm.copy_(mask)
            self.graph.replay()
            return self.sloss
        if self.use_graph and self.warm >= self.WARMUP:
            try:
                return self.capture(x, y, mask)
            except Exception as e:  # noqa: BLE001 - any capture failure: continue eagerly
                self.log(f"CUDA graph capture failed ({type(e).__name__}: {e}); continuing eagerly")
                self.use_graph, self.graph = False, None
                torch.cuda.synchronize()
        self.opt.zero_grad(set_to_none=True)
        if self.use_graph:                                   # warm-up steps, on a side stream
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                loss = self.body(x, y, mask)
            torch.cuda.current_stream().wait_stream(s)
        else:
            loss = self.body(x, y, mask)
        self.warm += 1
        return loss

    def capture(self, x, y, mask):
        self.sx, self.sy = x.clone(), y.clone()
        self.sm = None if mask is None else mask.clone()
        self.opt.zero_grad(set_to_none=True)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            self.sloss = self.body(self.sx, self.sy, self.sm)
        self.graph = g
        g.replay()                                           # capturing ran nothing: now the step
        return self.sloss


@torch.no_grad()
def val_windows(T: int, limit: int | None = None, split: str = "val") -> torch.Tensor:
    """Non-overlapping windows of T + 1 tokens of a held-out split (val = dev + test), [n, T + 1]."""
    v = torch.from_numpy(load_tokens(split))
    n = (v.numel() - 1) // T
    if limit:
        n = min(n, limit)
    return torch.stack([v[i * T: i * T + T + 1] for i in range(n)])


@torch.no_grad()
def token_losses(model, windows: torch.Tensor, device, batch: int = 32) -> torch.Tensor:
    """Cross-entropy of each predicted token, [n, T], f32 compute."""
    out = []
    for i in range(0, len(windows), batch):
        w = windows[i:i + batch].to(device)
        logits = model(w[:, :-1], ssd="chunked", chunk_size=64).float()
        out.append(F.cross_entropy(logits.transpose(1, 2), w[:, 1:], reduction="none").cpu())
    return torch.cat(out)


def fp32_ssd_scan():
    """Run the chunked SSD scan outside autocast: it already computes in float32 (decays,
    cumulative sums, states across chunks), and autocast would cast its einsums to bf16."""
    import hybrid_twin

    if getattr(hybrid_twin.ssd_chunked, "fp32_wrapped", False):
        return
    inner = hybrid_twin.ssd_chunked

    def ssd_chunked_fp32(*args, **kw):
        with torch.autocast("cuda", enabled=False):
            return inner(*args, **kw)

    ssd_chunked_fp32.fp32_wrapped = True
    hybrid_twin.ssd_chunked = ssd_chunked_fp32


class Worker:
    def __init__(self, spec: dict, args):
        self.spec, self.args = spec, args
        self.task = task_spec(spec["task"], args)
        self.cfg = spec["config"]
        self.out = args.out / spec["task"] / spec["id"]
        self.state_path = args.out / "_state" / f"{spec['id']}.pt"
        self.progress_path = args.out / "_state" / f"{spec['id']}.progress.json"
        self.cuda = torch.cuda.is_available() and not args.cpu
        # Shakespeare: the atlas picks its checkpoint on the dev plays and reports the test
        # plays; the first zoo used the 4 held-out plays for both
        self.dev_split, self.test_split = ("dev", "test") if args.atlas else ("val", "val")
        self.device = torch.device("cuda" if self.cuda else "cpu")

    def log(self, msg: str):
        print(f"[{self.spec['id']}] {msg}", flush=True)

    def run(self):
        a, task, cfg = self.args, self.task, self.cfg
        seed = self.spec["seed"]
        torch.manual_seed(seed)
        if self.cuda:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            fp32_ssd_scan()
        model = HybridLM(cfg).to(self.device)
        use_graph = self.cuda and not a.eager
        opt = make_optimizer(model, task.lr, self.cuda, capturable=use_graph, weight_decay=task.weight_decay)
        gen = torch.Generator().manual_seed(seed + 1)
        st = {"step": 0, "elapsed": 0.0, "curve": [], "val_curve": [], "best_val": None,
              "best_step": None, "best_model": None, "tokens": 0, "done": False,
              "stage": 0, "steps_in_stage": 0, "stage_log": [], "dev_curve": [], "best_dev": None}
        if self.state_path.exists():
            saved = torch.load(self.state_path, map_location=self.device, weights_only=False)
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["opt"])
            gen.set_state(saved["gen"])
            st = saved["st"]
            self.log(f"resumed at step {st['step']} ({st['elapsed']:.0f} s trained)")
        cur = None                                            # the recall curriculum, if any
        if task.name == "shakespeare":
            batches = ShakespeareBatches(task.batch, task.seq_len, self.device, gen)
        elif task.stages:
            batches = cur = RecallCurriculum(task, self.device, gen, with_replacement=not a.permuted_queries,
                                             stage=st["stage"], steps_in_stage=st["steps_in_stage"])
            if not st["stage_log"]:
                st["stage_log"].append([0, 0, cur.describe()])
            self.log(f"curriculum at {cur.describe()}")
        else:
            batches = RecallBatches(task.batch, task.seq_len, self.device, gen, curriculum=task.curriculum,
                                    with_replacement=not a.permuted_queries)
        dev = self.dev_cases() if (task.name == "recall" and task.dev_every) else None
        stepper = Stepper(model, opt, self.cuda, use_graph, self.log)
        budget = a.minutes * 60.0
        val_sub = val_windows(task.seq_len, limit=8 if a.smoke else 64, split=self.dev_split) \
            if task.eval_every else None
        t0, last_save = time.time() - st["elapsed"], time.time()
        loss_acc, loss_n = torch.zeros((), device=self.device), 0
        curve_every = 5 if a.smoke else 50

        while not st["done"]:
            st["elapsed"] = time.time() - t0
            progress = max(st["step"] / task.steps, st["elapsed"] / budget)
            if progress >= 1.0:
                st["done"] = True
                st["stopped_by"] = "steps" if st["step"] >= task.steps else "wall-clock budget"
                break
            lr = lr_at(st["step"], progress, task)
            if cur is not None and cur.update(progress):
                self.stage_changed(cur, st, "progress cap")
            if hasattr(batches, "set_progress"):
                batches.set_progress(progress)
            x, y, mask = batches()
            loss = stepper(x, y, mask, lr)
            st["step"] += 1
            st["tokens"] += x.numel()
            loss_acc += loss
            loss_n += 1
            if st["step"] % curve_every == 0 or st["step"] == task.steps:
                mean = (loss_acc / loss_n).item()
                if not math.isfinite(mean):
                    raise SystemExit(f"[{self.spec['id']}] loss is {mean} at step {st['step']}")
                st["curve"].append([st["step"], round(mean, 5)])
                loss_acc.zero_()
                loss_n = 0
                self.write_progress(st, lr, task)
                if cur is not None and cur.update(progress, mean):
                    self.stage_changed(cur, st, f"loss {mean:.3f} < {task.advance_loss}")
            if dev is not None and st["step"] % task.dev_every == 0:
                self.dev_check(model, dev, st, cur)
            if task.eval_every and (st["step"] % task.eval_every == 0 or st["step"] == task.steps):
                model.eval()
                v = token_losses(model, val_sub, self.device).mean().item()
                model.train()
                st["val_curve"].append([st["step"], round(v, 5)])
                if st["best_val"] is None or v < st["best_val"]:
                    st["best_val"], st["best_step"] = v, st["step"]
                    st["best_model"] = {k: t.detach().to("cpu", copy=True) for k, t in model.state_dict().items()}
            if time.time() - last_save > a.save_every:
                if cur is not None:
                    st["stage"], st["steps_in_stage"] = cur.stage, cur.steps_in_stage
                self.save_state(model, opt, gen, st)
                last_save = time.time()
        if dev is not None and (not st["dev_curve"] or st["dev_curve"][-1][0] != st["step"]):
            self.dev_check(model, dev, st, cur)                 # the last step is a candidate too
        if cur is not None:
            st["stage"], st["steps_in_stage"] = cur.stage, cur.steps_in_stage
        st["elapsed"] = time.time() - t0
        st["graph"] = stepper.graph is not None
        self.save_state(model, opt, gen, st)
        self.log(f"trained {st['step']} steps, {st['tokens']:,} tokens in {st['elapsed']:.0f} s "
                 f"(stopped by {st.get('stopped_by')}; {'CUDA graph' if st['graph'] else 'eager'})")
        if st["best_model"] is not None:
            model.load_state_dict(st["best_model"])
        self.finish(model, st)

    def stage_changed(self, cur, st, why: str):
        st["stage_log"].append([st["step"], cur.stage, cur.describe(), why])
        self.log(f"step {st['step']}: {cur.describe()} ({why})")

    # -- the recall dev split: picks the kept checkpoint ------------------------------
    def dev_cases(self) -> dict:
        count = 8 if self.args.smoke else DEV_CASES
        L = self.task.seq_len
        return {n: recall_cases(dev_seed(n, L), count, n, L) for n in DEV_PAIRS if 4 * n + 2 <= L}

    def dev_check(self, model, dev: dict, st: dict, cur):
        model.eval()
        accs = {str(n): round(recall_accuracy(model, t, q, self.device, autocast=self.cuda), 4)
                for n, (t, q) in dev.items()}
        model.train()
        mean = round(sum(accs.values()) / len(accs), 4)
        st["dev_curve"].append([st["step"], cur.stage if cur is not None else 0, mean, accs])
        if st["best_dev"] is None or mean >= st["best_dev"]:           # ties: the later step
            st["best_dev"], st["best_step"] = mean, st["step"]
            st["best_model"] = {k: t.detach().to("cpu", copy=True) for k, t in model.state_dict().items()}

    def write_progress(self, st, lr, task):
        p = {"step": st["step"], "steps": task.steps, "elapsed": round(st["elapsed"], 1),
             "loss": st["curve"][-1][1] if st["curve"] else None, "lr": lr}
        self.progress_path.write_text(json.dumps(p))

    def save_state(self, model, opt, gen, st):
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "st": st}, tmp)
        os.replace(tmp, self.state_path)

    # -- evaluation and the final folder ----------------------------------------------
    def finish(self, model, st):
        from save import round_weights_, save_checkpoint
        a, task, cfg = self.args, self.task, self.cfg
        model = model.float().eval()
        round_weights_(model, "f16")                      # evaluate what the engine will load
        t_eval = time.time()
        metrics = {
            "id": self.spec["id"], "task": task.name, "family": self.spec["family"],
            "config": cfg.to_dict(), "params": count_params(model),
            "cache": {str(T): cache_bytes(cfg, T) for T in (1024, 8192)},
            "training": {
                "steps": st["step"], "planned_steps": task.steps, "stopped_by": st.get("stopped_by"),
                "batch": task.batch, "seq_len": task.seq_len, "tokens_seen": st["tokens"],
                "wall_seconds": round(st["elapsed"], 1), "lr": task.lr, "warmup": task.warmup,
                "weight_decay": task.weight_decay,
                "schedule": "linear warmup, cosine to 0.1x; progress = max(step/steps, time/budget)",
                "optimizer": f"AdamW betas (0.9, 0.95), wd {task.weight_decay} on matrices, grad clip 1.0",
                "precision": "bf16 autocast" if self.cuda else "f32", "seed": self.spec["seed"],
                "cuda_graph": bool(st.get("graph")),
                "device": torch.cuda.get_device_name() if self.cuda else "cpu",
                "budget_minutes": a.minutes, "smoke": a.smoke,
                "curve": st["curve"],
            },
            "weights": "f16 (metrics measured on the f16-rounded weights)",
        }
        if "atlas" in self.spec:
            metrics["atlas"] = self.spec["atlas"]
        if task.name == "shakespeare":
            metrics["training"]["val_curve"] = st["val_curve"]
            metrics["training"]["kept_step"] = st["best_step"]
            metrics["training"]["kept"] = f"the step with the best loss on 64 windows of the {self.dev_split} plays"
            metrics["training"]["kept_split"] = {"split": self.dev_split, "plays": split_works(self.dev_split)}
            metrics.update(self.eval_shakespeare(model))
        else:
            tr = metrics["training"]
            tr["recipe"] = task.recipe
            tr["loss_on"] = "answer positions only (predicting the value at each query key)"
            tr["n_pairs"] = [4, 32]
            tr["queries"] = ("each pair queried once, random order" if a.permuted_queries
                             else "query pairs drawn with replacement (evaluation: each once)")
            if task.stages:
                tr["curriculum"] = {
                    "stages": [{"seq_len": L, "n_pairs": [lo, hi], "batch": max(1, task.batch * task.seq_len // L),
                                "until_progress": cap} for (L, lo, hi, cap) in task.stages],
                    "advance": f"when the training loss (mean of 50 steps) < {task.advance_loss}, "
                               f"at least {RecallCurriculum.MIN_STEPS} steps into the stage, or at its cap",
                    "log": st["stage_log"]}
            else:
                tr["curriculum"] = (
                    f"max n_pairs rises linearly from 8 to 32 over the first {task.curriculum:.0%} of training"
                    if task.curriculum > 0 else "none")
            if task.dev_every:
                tr["dev"] = {"pairs": list(DEV_PAIRS), "seq_len": task.seq_len,
                             "cases": 8 if a.smoke else DEV_CASES, "seed": f"{DEV_SEED_BASE} + 1000 * n_pairs + seq_len",
                             "every": task.dev_every, "autocast": "bf16" if self.cuda else "none",
                             "curve": st["dev_curve"]}
                tr["kept_step"] = st["best_step"]
                tr["kept_dev_acc"] = st["best_dev"]
                tr["kept"] = "the step with the best mean dev accuracy (ties: the later step)"
            else:
                tr["kept"] = "the last step"
            metrics.update(self.eval_recall(model))
        metrics["eval_seconds"] = round(time.time() - t_eval, 1)
        save_checkpoint(model, self.out, dtype="f16")
        tok = DATA / task.name / "tokenizer.json"
        (self.out / "tokenizer.json").write_bytes(tok.read_bytes())
        tmp = self.out / "metrics.json.tmp"
        tmp.write_text(json.dumps(metrics, indent=1) + "\n")
        os.replace(tmp, self.out / "metrics.json")       # last: its presence marks the model done
        self.log("done: " + summary_line(metrics))

    def eval_shakespeare(self, model) -> dict:
        small = self.args.smoke
        T = self.task.seq_len
        L = 1024
        losses = token_losses(model, val_windows(T, limit=16 if small else None, split=self.test_split), self.device)
        val = losses.mean().item()
        long = token_losses(model, val_windows(L, limit=2 if small else None, split=self.test_split),
                            self.device, batch=8)
        per_pos = long.mean(0)                                           # [L]
        buckets = [[i, round(per_pos[i:i + 32].mean().item(), 5)] for i in range(0, L, 32)]
        out = {"val": {"split": self.test_split, "plays": split_works(self.test_split),
                       "loss": round(val, 5), "perplexity": round(math.exp(val), 3), "seq_len": T,
                       "windows": len(losses), "tokens": int(losses.numel())},
               "loss_by_position": {"seq_len": L, "train_len": T, "bucket": 32, "windows": len(long),
                                    "buckets": buckets,
                                    "mean_in_train_len": round(per_pos[:T].mean().item(), 5),
                                    "mean_beyond": round(per_pos[T:].mean().item(), 5)}}
        if not self.args.atlas:
            out["sample"] = self.sample(model)
        return out

    @torch.no_grad()
    def sample(self, model, n: int = 96) -> dict | None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            return None
        tok = Tokenizer.from_file(str(DATA / "shakespeare" / "tokenizer.json"))
        prompt = "ROMEO.\n"
        ids = torch.tensor([0] + tok.encode(prompt).ids, device=self.device)
        g = torch.Generator(device=self.device).manual_seed(0)
        seq = ids
        for _ in range(n):
            logits = model(seq[None], ssd="chunked")[0, -1].float() / 0.8
            nxt = torch.multinomial(logits.softmax(-1), 1, generator=g)
            seq = torch.cat([seq, nxt])
        return {"prompt": prompt, "temperature": 0.8, "text": tok.decode(seq[1:].tolist())}

    @torch.no_grad()
    def eval_recall(self, model) -> dict:
        """The test grid: accuracy for n_pairs in TEST_PAIRS x seq_len in (1, 2, 4) x the
        training length, recall.make_batch cases (the engine's definition) with the test seeds;
        None where the case does not fit (4 * n_pairs + 2 > seq_len)."""
        count = 16 if self.args.smoke else TEST_CASES
        T = self.task.seq_len
        lens = [T * k for k in TEST_LEN_FACTORS]
        grid = {}
        for L in lens:
            grid[str(L)] = {}
            for n in TEST_PAIRS:
                if 4 * n + 2 > L:
                    grid[str(L)][str(n)] = None
                    continue
                t, q = recall_cases(test_seed(n, L), count, n, L)
                grid[str(L)][str(n)] = round(recall_accuracy(model, t, q, self.device), 4)
        return {"recall": {
            "split": "test", "cases": count, "seed": "1000 * n_pairs + seq_len",
            "compute": "f32 (f16-rounded weights)", "train_len": T,
            "grid": grid,                                      # grid[seq_len][n_pairs]
        }}


def summary_line(m: dict) -> str:
    s = f"{m['params']:,} params, {m['training']['steps']} steps, {m['training']['wall_seconds']:.0f} s"
    if "val" in m:
        lp = m["loss_by_position"]
        s += (f", val loss {m['val']['loss']:.3f} (ppl {m['val']['perplexity']:.1f}), "
              f"loss <256 {lp['mean_in_train_len']:.3f} / 256-1024 {lp['mean_beyond']:.3f}")
    if "recall" in m:
        for L, row in m["recall"]["grid"].items():
            s += f" | @{L} " + " ".join(f"{n}:{'-' if v is None else f'{v:.2f}'}" for n, v in row.items())
        if m["training"].get("kept_step") is not None and "dev" in m["training"]:
            s += f" | kept step {m['training']['kept_step']} (dev {m['training']['kept_dev_acc']:.3f})"
    return s


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
