"""One model of the zoo, trained and evaluated in its own process (train_zoo.py starts
one per model with ``--worker ID``): the schedule and optimizer, the training step (a CUDA
graph on CUDA), the checkpoint kept on the dev split, resuming from ``<out>/_state``, and
the metrics (Shakespeare loss by position; recall accuracy on the test grid). The zoo, its
tasks and the run are described in train_zoo.py."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hybrid_twin import HybridLM, count_params  # noqa: E402
import recall  # noqa: E402

from zoo_data import DATA, RecallBatches, RecallCurriculum, ShakespeareBatches, load_tokens, split_works  # noqa: E402,F401,E501
from zoo_models import TaskSpec, cache_bytes, task_spec  # noqa: E402

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
