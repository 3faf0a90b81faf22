"""Self-checks of the PyTorch twin and of the fixtures.

    python3 -m pytest train          # or
    python3 train/test_twin.py

- the chunked SSD equals the sequential recurrence (chunk sizes dividing T and not);
- a forward continued one token at a time (InferenceCache) equals the full forward;
- state_dict names and shapes equal those of docs/FORMAT.md's tables, derived here again
  independently, for every fixture config and a few variants;
- a second, literal NumPy implementation of FORMAT.md's "Semantics" section (loops over
  tokens, heads and channels, written from the text, not from the twin) agrees with the
  twin on logits and every probe;
- the fixtures on disk: files, names, shapes and dtypes as FORMAT.md says; the twin
  reproduces their logits and greedy tokens from the stored weights.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hybrid_twin import (AttentionConfig, Config, HybridLM, InferenceCache, IntraConfig,  # noqa: E402
                         MambaConfig, check_ssd_agree, ssd_chunked, ssd_recurrent)
from make_fixtures import FIXTURES, N_GREEDY, T_PROMPT, init_fixture_  # noqa: E402
from save import load_checkpoint, save_checkpoint  # noqa: E402

FIXTURE_DIR = HERE.parent / "tests" / "fixtures"
torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def fixture_model(name: str, dtype=torch.float64, seed: int = 0) -> HybridLM:
    cfg = FIXTURES[name][0]
    model = HybridLM(cfg)
    init_fixture_(model, torch.Generator().manual_seed(seed))
    return model.to(dtype)


# --------------------------------------------------------------------------------------
# SSD: chunked == recurrent
# --------------------------------------------------------------------------------------

def test_ssd_chunked_equals_recurrent():
    # T = 21: chunk sizes 1, 3, 7, 21 divide it, 4, 8, 16, 32, 64 do not
    worst = check_ssd_agree(T=21, chunk_sizes=(1, 3, 4, 7, 8, 16, 21, 32, 64), G=2)
    assert worst < 1e-10, worst
    worst = check_ssd_agree(T=64, chunk_sizes=(8, 16, 64, 5), G=1, seed=1)
    assert worst < 1e-10, worst


def test_ssd_float32_agree():
    g = torch.Generator().manual_seed(3)
    Bsz, T, H, P, G, N = 1, 37, 4, 16, 1, 16
    x = torch.randn(Bsz, T, H, P, generator=g)
    dt = torch.nn.functional.softplus(torch.randn(Bsz, T, H, generator=g) - 2)
    A = -torch.rand(H, generator=g) * 8 - 1
    Bm, C = torch.randn(Bsz, T, G, N, generator=g), torch.randn(Bsz, T, G, N, generator=g)
    D = torch.randn(H, generator=g)
    y1, s1 = ssd_recurrent(x, dt, A, Bm, C, D)
    y2, s2 = ssd_chunked(x, dt, A, Bm, C, D, chunk_size=16)
    assert torch.allclose(y1, y2, atol=1e-4, rtol=1e-4)
    assert torch.allclose(s1, s2, atol=1e-4, rtol=1e-4)


def test_model_chunked_equals_recurrent():
    for name in ("mamba2", "intra_concat", "intra_joint_scalars"):
        model = fixture_model(name)
        tokens = torch.randint(0, model.cfg.vocab_size, (2, 29), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            ref = model(tokens)
            for q in (4, 8, 29, 64):
                out = model(tokens, ssd="chunked", chunk_size=q)
                assert torch.allclose(out, ref, atol=1e-9, rtol=1e-9), (name, q)


# --------------------------------------------------------------------------------------
# Step-by-step == full sequence
# --------------------------------------------------------------------------------------

def test_step_equals_full():
    for name in FIXTURES:
        model = fixture_model(name)
        tokens = torch.randint(0, model.cfg.vocab_size, (2, 17), generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            full = model(tokens)                                   # [2, 17, V]
            cache = InferenceCache(model.cfg)
            parts = [model(tokens[:, :5], cache=cache)]            # a prompt chunk, then single tokens
            for t in range(5, 17):
                parts.append(model(tokens[:, t:t + 1], cache=cache))
            stepped = torch.cat(parts, dim=1)
        assert torch.allclose(stepped, full, atol=1e-9, rtol=1e-9), name


# --------------------------------------------------------------------------------------
# Names and shapes: FORMAT.md's tables, written out again
# --------------------------------------------------------------------------------------

def expected_tensors(cfg: Config) -> dict[str, tuple]:
    D, F, V = cfg.d_model, cfg.d_ffn, cfg.vocab_size
    out = {"embed_tokens.weight": (V, D), "norm_f.weight": (D,)}
    if not cfg.tie_embeddings:
        out["lm_head.weight"] = (V, D)
    a, m, it = cfg.attention, cfg.mamba, cfg.intra

    def mamba(prefix, H, with_out):
        P, N, G, W = m.head_dim, m.d_state, m.n_groups, m.conv_width
        E = H * P
        t = {"in_proj.weight": (2 * E + 2 * G * N + H, D), "conv1d.weight": (E + 2 * G * N, 1, W),
             "conv1d.bias": (E + 2 * G * N,), "dt_bias": (H,), "A_log": (H,), "D": (H,)}
        if with_out:
            t.update({"norm.weight": (E,), "out_proj.weight": (D, E)})
        return {prefix + k: v for k, v in t.items()}

    for i, kind in enumerate(cfg.layers):
        p = f"layers.{i}."
        out.update({p + "mixer_norm.weight": (D,), p + "ffn_norm.weight": (D,),
                    p + "ffn.gate_proj.weight": (F, D), p + "ffn.up_proj.weight": (F, D),
                    p + "ffn.down_proj.weight": (D, F)})
        q = p + "mixer."
        if kind == "attention":
            dv = a.head_dim if a.v_head_dim is None else a.v_head_dim
            out.update({q + "q_proj.weight": (a.n_heads * a.head_dim, D),
                        q + "k_proj.weight": (a.n_kv_heads * a.head_dim, D),
                        q + "v_proj.weight": (a.n_kv_heads * dv, D),
                        q + "o_proj.weight": (D, a.n_heads * dv)})
        elif kind == "mamba":
            out.update(mamba(q, m.expand * D // m.head_dim, True))
        else:
            dva = it.attn_v_head_dim or a.v_head_dim or a.head_dim       # FORMAT.md's defaults
            Wa, Eb = it.attn_heads * dva, it.ssm_heads * m.head_dim
            out.update({q + "attn.q_proj.weight": (it.attn_heads * a.head_dim, D),
                        q + "attn.k_proj.weight": (it.attn_kv_heads * a.head_dim, D),
                        q + "attn.v_proj.weight": (it.attn_kv_heads * dva, D)})
            out.update(mamba(q + "ssm.", it.ssm_heads, False))
            if it.branch_norm:
                out.update({q + "attn_norm.weight": (Wa,), q + "ssm_norm.weight": (Eb,)})
            if it.branch_scalars:
                out.update({q + "attn_scale": (1,), q + "ssm_scale": (1,)})
            if it.out_proj == "separate":
                out.update({q + "attn.o_proj.weight": (D, Wa), q + "ssm.out_proj.weight": (D, Eb)})
            else:
                out[q + "out_proj.weight"] = (D, Wa + Eb) if it.fusion == "concat" else (D, Wa)
    return out


def variant_configs():
    cfgs = [c for c, _, _ in FIXTURES.values()]
    plan = ["mamba", "intra", "attention"]
    for fusion, proj in (("add", "joint"), ("subtract", "separate"), ("concat", "joint")):
        for bn in (True, False):
            for sc in (True, False):
                cfgs.append(Config(vocab_size=50, d_model=32, d_ffn=48, max_seq_len=16, layers=plan,
                                   tie_embeddings=bn,
                                   attention=AttentionConfig(n_heads=4, n_kv_heads=1, head_dim=8),
                                   mamba=MambaConfig(d_state=8, head_dim=8, expand=2, n_groups=2, conv_width=3),
                                   intra=IntraConfig(attn_heads=2, attn_kv_heads=2, ssm_heads=2, fusion=fusion,
                                                     out_proj=proj, branch_norm=bn, branch_scalars=sc)))
    # value head sizes apart from dh (dv for attention blocks, dva for the intra branch) and
    # per-layer windows
    for fusion, proj, dva in (("subtract", "separate", 12), ("add", "joint", 16), ("concat", "joint", None)):
        cfgs.append(Config(vocab_size=50, d_model=32, d_ffn=48, max_seq_len=16, layers=plan,
                           windows=[None, 3, None],
                           attention=AttentionConfig(n_heads=4, n_kv_heads=2, head_dim=4, v_head_dim=6),
                           mamba=MambaConfig(d_state=8, head_dim=8, expand=2, n_groups=2, conv_width=3),
                           intra=IntraConfig(attn_heads=2, attn_kv_heads=1, ssm_heads=4, fusion=fusion,
                                             out_proj=proj, attn_v_head_dim=dva)))
    return cfgs


def test_state_dict_matches_format():
    for cfg in variant_configs():
        got = {k: tuple(v.shape) for k, v in HybridLM(cfg).state_dict().items()}
        want = expected_tensors(cfg)
        assert got == want, (cfg.name, sorted(set(got) ^ set(want)),
                             {k: (got[k], want[k]) for k in got if k in want and got[k] != want[k]})


def test_config_json_roundtrip_and_errors():
    for cfg in variant_configs():
        again = Config.from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert again.to_dict() == cfg.to_dict()
    # defaults
    c = Config.from_dict({"vocab_size": 10, "d_model": 8, "d_ffn": 8, "max_seq_len": 4, "layers": ["intra"],
                          "attention": {"n_heads": 2, "n_kv_heads": 1, "head_dim": 4},
                          "mamba": {"d_state": 4, "head_dim": 4},
                          "intra": {"attn_heads": 1, "attn_kv_heads": 1, "ssm_heads": 1}})
    assert (c.norm_eps, c.tie_embeddings, c.attention.rope_theta, c.attention.window, c.attention.sink_tokens,
            c.mamba.n_groups, c.mamba.conv_width, c.mamba.expand, c.intra.fusion, c.intra.branch_norm,
            c.intra.out_proj, c.intra.branch_scalars) == (1e-5, True, 10000.0, None, 0, 1, 4, 2, "subtract",
                                                          True, "separate", False)
    bad = [
        {"vocab_size": 10, "d_model": 8, "d_ffn": 8, "max_seq_len": 4, "layers": ["attention"]},  # no section
        {"vocab_size": 10, "d_model": 8, "d_ffn": 8, "max_seq_len": 4, "layers": ["mamba"],
         "mamba": {"d_state": 4, "head_dim": 3}},                                               # 16 % 3
        {"vocab_size": 10, "d_model": 8, "d_ffn": 8, "max_seq_len": 4, "layers": ["nope"]},
    ]
    for d in bad:
        try:
            Config.from_dict(d)
        except ValueError:
            continue
        raise AssertionError(f"accepted a bad config: {d}")


def test_save_load_roundtrip():
    model = fixture_model("intra_joint_scalars", torch.float32)
    for dtype, tol in (("f32", 0.0), ("f16", 1e-3), ("bf16", 1e-2)):
        with tempfile.TemporaryDirectory() as d:
            save_checkpoint(model, d, dtype)
            back = load_checkpoint(d)
            for k, v in model.state_dict().items():
                w = back.state_dict()[k]
                assert torch.allclose(v, w, rtol=tol, atol=tol), (dtype, k)


# --------------------------------------------------------------------------------------
# A literal NumPy reading of FORMAT.md's "Semantics" (float64, loops; slow but obvious)
# --------------------------------------------------------------------------------------

def _rms(v, eps):
    return v / np.sqrt(np.mean(v * v) + eps)


def _silu(v):
    return v / (1.0 + np.exp(-v))


def _softplus(v):
    return np.log1p(np.exp(v))


def np_attention(h, W, pre, cfg, Hq, Hkv, window, dv):
    """h [T, D] -> (heads concatenated [T, Hq*dv], probs [Hq, T, T]); ``window``: the layer's."""
    a = cfg.attention
    dh, T = a.head_dim, h.shape[0]
    q = (h @ W[pre + "q_proj.weight"].T).reshape(T, Hq, dh)
    k = (h @ W[pre + "k_proj.weight"].T).reshape(T, Hkv, dh)
    v = (h @ W[pre + "v_proj.weight"].T).reshape(T, Hkv, dv)

    def rope(vec, t):
        out = vec.copy()
        for i in range(dh // 2):
            f = a.rope_theta ** (-2.0 * i / dh)
            ai, bi = vec[i], vec[i + dh // 2]
            out[i] = ai * math.cos(t * f) - bi * math.sin(t * f)
            out[i + dh // 2] = bi * math.cos(t * f) + ai * math.sin(t * f)
        return out

    q = np.array([[rope(q[t, hh], t) for hh in range(Hq)] for t in range(T)])
    k = np.array([[rope(k[t, hh], t) for hh in range(Hkv)] for t in range(T)])
    probs = np.zeros((Hq, T, T))
    out = np.zeros((T, Hq, dv))
    for hh in range(Hq):
        kv = hh // (Hq // Hkv)
        for t in range(T):
            vis = [s for s in range(T) if s <= t and (window is None or t - s < window or s < a.sink_tokens)]
            sc = np.array([q[t, hh] @ k[s, kv] / math.sqrt(dh) for s in vis])
            p = np.exp(sc - sc.max())
            p /= p.sum()
            for j, s in enumerate(vis):
                probs[hh, t, s] = p[j]
                out[t, hh] += p[j] * v[s, kv]
    return out.reshape(T, Hq * dv), probs


def np_mamba(u, W, pre, cfg, H):
    """u [T, D] -> (y * silu(z) [T, E], probes)."""
    m = cfg.mamba
    P, N, G, Wc = m.head_dim, m.d_state, m.n_groups, m.conv_width
    E, T = H * P, u.shape[0]
    zxbcdt = u @ W[pre + "in_proj.weight"].T
    z, xBC, dt = zxbcdt[:, :E], zxbcdt[:, E:2 * E + 2 * G * N], zxbcdt[:, 2 * E + 2 * G * N:]
    w, b = W[pre + "conv1d.weight"], W[pre + "conv1d.bias"]
    conv = np.zeros_like(xBC)
    for t in range(T):
        for c in range(xBC.shape[1]):
            acc = b[c]
            for kk in range(Wc):
                src = t - Wc + 1 + kk
                if src >= 0:
                    acc += w[c, 0, kk] * xBC[src, c]
            conv[t, c] = acc
    xBC = _silu(conv)
    x = xBC[:, :E].reshape(T, H, P)
    Bm = xBC[:, E:E + G * N].reshape(T, G, N)
    C = xBC[:, E + G * N:].reshape(T, G, N)
    dt = _softplus(dt + W[pre + "dt_bias"])                      # [T, H]
    A = -np.exp(W[pre + "A_log"])
    Dp = W[pre + "D"]
    y = np.zeros((T, H, P))
    state_norm = np.zeros((T, H))
    M = np.zeros((H, T, T))
    for hh in range(H):
        g = hh // (H // G)
        S = np.zeros((P, N))
        for t in range(T):
            S = math.exp(dt[t, hh] * A[hh]) * S + dt[t, hh] * np.outer(x[t, hh], Bm[t, g])
            y[t, hh] = S @ C[t, g] + Dp[hh] * x[t, hh]
            state_norm[t, hh] = np.sqrt((S * S).sum())
            for s in range(t + 1):
                M[hh, t, s] = (C[t, g] @ Bm[s, g]) * dt[s, hh] * math.exp(sum(dt[r, hh] * A[hh] for r in range(s + 1, t + 1)))
    gated = y.reshape(T, E) * _silu(z)
    return gated, {"implicit_attn": M, "dt": dt, "state_norm": state_norm}


def np_forward(cfg: Config, W: dict, tokens):
    eps = cfg.norm_eps
    T = len(tokens)
    x = W["embed_tokens.weight"][tokens].copy()
    probes = {}
    rmsn = lambda v, w: np.array([_rms(r, eps) for r in v]) * w                  # noqa: E731
    grp = lambda v, gs, w: np.array([np.concatenate([_rms(r[j:j + gs], eps) for j in range(0, len(r), gs)])
                                     for r in v]) * w                            # noqa: E731
    for i, kind in enumerate(cfg.layers):
        p = f"layers.{i}."
        q = p + "mixer."
        h = rmsn(x, W[p + "mixer_norm.weight"])
        pr = {}
        # this layer's window: windows[i] if given, else attention.window (FORMAT.md)
        window = cfg.windows[i] if cfg.windows is not None else (cfg.attention and cfg.attention.window)
        if kind == "attention":
            ac = cfg.attention
            dv = ac.v_head_dim or ac.head_dim
            a, pr["attn_probs"] = np_attention(h, W, q, cfg, ac.n_heads, ac.n_kv_heads, window, dv)
            out = a @ W[q + "o_proj.weight"].T
        elif kind == "mamba":
            E = cfg.mamba.expand * cfg.d_model
            g, pr = np_mamba(h, W, q, cfg, E // cfg.mamba.head_dim)
            g = grp(g, E // cfg.mamba.n_groups, W[q + "norm.weight"])
            out = g @ W[q + "out_proj.weight"].T
        else:
            it, P = cfg.intra, cfg.mamba.head_dim
            dva = it.attn_v_head_dim or cfg.attention.v_head_dim or cfg.attention.head_dim
            a, probs = np_attention(h, W, q + "attn.", cfg, it.attn_heads, it.attn_kv_heads, window, dva)
            s, pr = np_mamba(h, W, q + "ssm.", cfg, it.ssm_heads)
            pr["attn_probs"] = probs
            if it.branch_norm:
                a, s = grp(a, dva, W[q + "attn_norm.weight"]), grp(s, P, W[q + "ssm_norm.weight"])
            if it.branch_scalars:
                a, s = a * W[q + "attn_scale"][0], s * W[q + "ssm_scale"][0]
            if it.out_proj == "separate":
                ca, cs = a @ W[q + "attn.o_proj.weight"].T, s @ W[q + "ssm.out_proj.weight"].T
                out = ca - cs if it.fusion == "subtract" else ca + cs
            else:
                Wo = W[q + "out_proj.weight"]
                if it.fusion == "concat":
                    out = np.concatenate([a, s], axis=1) @ Wo.T
                    ca, cs = a @ Wo[:, :a.shape[1]].T, s @ Wo[:, a.shape[1]:].T
                else:
                    out = (a + s if it.fusion == "add" else a - s) @ Wo.T
                    ca, cs = a @ Wo.T, s @ Wo.T
            pr["branch_norms"] = np.stack([np.linalg.norm(ca, axis=1), np.linalg.norm(cs, axis=1)], axis=1)
        x = x + out
        f = rmsn(x, W[p + "ffn_norm.weight"])
        x = x + (_silu(f @ W[p + "ffn.gate_proj.weight"].T) * (f @ W[p + "ffn.up_proj.weight"].T)) @ W[p + "ffn.down_proj.weight"].T
        for k, v in pr.items():
            probes[f"probe.{i}.{k}"] = v
    head = W["embed_tokens.weight"] if cfg.tie_embeddings else W["lm_head.weight"]
    logits = rmsn(x, W["norm_f.weight"]) @ head.T
    assert logits.shape == (T, cfg.vocab_size)
    return logits, probes


def test_numpy_reference_agrees_with_twin():
    models = [(name, fixture_model(name, seed=5)) for name in FIXTURES]
    for j, cfg in enumerate(variant_configs()[len(FIXTURES):]):
        if cfg.windows is not None:                       # the value-size / window variants
            model = HybridLM(cfg)
            init_fixture_(model, torch.Generator().manual_seed(j))
            models.append((f"variant {j}", model.to(torch.float64)))
    for name, model in models:
        W = {k: v.numpy() for k, v in model.state_dict().items()}
        tokens = torch.randint(0, model.cfg.vocab_size, (11,), generator=torch.Generator().manual_seed(4))
        with torch.no_grad():
            logits, probes = model(tokens[None], return_probes=True)
        ref_logits, ref_probes = np_forward(model.cfg, W, tokens.numpy())
        np.testing.assert_allclose(logits[0].numpy(), ref_logits, rtol=1e-9, atol=1e-9, err_msg=name)
        assert set(probes) == set(ref_probes), (name, set(probes) ^ set(ref_probes))
        for k, v in probes.items():
            np.testing.assert_allclose(v.numpy(), ref_probes[k], rtol=1e-9, atol=1e-9, err_msg=f"{name} {k}")


# --------------------------------------------------------------------------------------
# The fixtures on disk
# --------------------------------------------------------------------------------------

PROBE_SHAPES = {"attention": ("attn_probs",), "mamba": ("implicit_attn", "dt", "state_norm"),
                "intra": ("attn_probs", "implicit_attn", "dt", "state_norm", "branch_norms")}


def expected_golden(cfg: Config) -> dict[str, tuple]:
    T, V = T_PROMPT, cfg.vocab_size
    out = {"tokens": ((T,), "I32"), "logits": ((T, V), "F32"), "greedy": ((N_GREEDY,), "I32")}
    for i, kind in enumerate(cfg.layers):
        if kind == "attention":
            heads, H = cfg.attention.n_heads, None
        elif kind == "mamba":
            heads, H = None, cfg.d_inner // cfg.mamba.head_dim
        else:
            heads, H = cfg.intra.attn_heads, cfg.intra.ssm_heads
        shapes = {"attn_probs": (heads, T, T), "implicit_attn": (H, T, T), "dt": (T, H),
                  "state_norm": (T, H), "branch_norms": (T, 2)}
        for probe in PROBE_SHAPES[kind]:
            out[f"probe.{i}.{probe}"] = (shapes[probe], "F32")
    return out


def _header(path: Path) -> dict:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    h = json.loads(raw[8:8 + n])
    h.pop("__metadata__", None)
    return h


def _require_fixtures() -> None:
    """The fixtures are committed: their absence is a failure, never a silent pass."""
    missing = [name for name in FIXTURES if not (FIXTURE_DIR / name / "golden.safetensors").exists()]
    if missing:
        raise AssertionError(f"fixtures missing under {FIXTURE_DIR}: {missing} "
                             "(run python3 train/make_fixtures.py)")


def test_fixtures_on_disk():
    _require_fixtures()
    from safetensors.torch import load_file
    for name, (cfg, dtype, _) in FIXTURES.items():
        folder = FIXTURE_DIR / name
        for f in ("config.json", "model.safetensors", "golden.safetensors"):
            assert (folder / f).exists(), folder / f
            assert (folder / f).stat().st_size < (1 << 20), folder / f
        assert Config.load(folder / "config.json").to_dict() == cfg.to_dict(), name
        st = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[dtype]
        model_hdr = _header(folder / "model.safetensors")
        assert {k: tuple(v["shape"]) for k, v in model_hdr.items()} == expected_tensors(cfg), name
        assert {v["dtype"] for v in model_hdr.values()} == {st}, name
        gold_hdr = _header(folder / "golden.safetensors")
        assert {k: (tuple(v["shape"]), v["dtype"]) for k, v in gold_hdr.items()} == expected_golden(cfg), name

        gold = load_file(str(folder / "golden.safetensors"))
        model = load_checkpoint(folder, dtype=torch.float64)
        tokens = gold["tokens"].long()
        with torch.no_grad():
            logits, probes = model(tokens[None], return_probes=True)
        assert torch.allclose(logits[0].float(), gold["logits"], rtol=1e-6, atol=1e-5), name
        for k, v in probes.items():
            assert torch.allclose(v.float(), gold[k], rtol=1e-6, atol=1e-6), (name, k)
        greedy = model.generate_greedy(tokens, N_GREEDY, use_cache=True)
        assert greedy.tolist() == gold["greedy"].tolist(), name
        # probe sanity: attention rows sum to 1, zero above the diagonal
        for k, v in gold.items():
            if k.endswith("attn_probs"):
                assert torch.allclose(v.sum(-1), torch.ones(()), atol=1e-5), (name, k)
                assert (torch.triu(v, 1) == 0).all(), (name, k)
            if k.endswith("implicit_attn"):
                assert (torch.triu(v, 1) == 0).all(), (name, k)


def test_fixture_float32_greedy():
    """An f32 forward (the engine's precision) finds the same greedy tokens."""
    _require_fixtures()
    from safetensors.torch import load_file
    for name in FIXTURES:
        folder = FIXTURE_DIR / name
        gold = load_file(str(folder / "golden.safetensors"))
        model = load_checkpoint(folder, dtype=torch.float32)
        greedy = model.generate_greedy(gold["tokens"].long(), N_GREEDY, use_cache=True)
        assert greedy.tolist() == gold["greedy"].tolist(), name


if __name__ == "__main__":
    import traceback
    tests = [(k, v) for k, v in dict(globals()).items() if k.startswith("test_") and callable(v)]
    passed = failed = 0
    for k, fn in tests:
        try:
            fn()
            passed += 1
            print(f"ok    {k}")
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAIL  {k}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
