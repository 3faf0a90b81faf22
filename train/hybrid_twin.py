"""PyTorch twin of the Hybrid Playground engine.

A readable reference implementation of the models described in ``docs/FORMAT.md``:
Transformer (Llama-style attention), Mamba-2 (SSD), inter-layer hybrids (a layer plan
mixing both) and intra-layer hybrids (attention and Mamba branches side by side, fused).
``HybridLM.state_dict()`` keys are exactly the safetensors names of FORMAT.md, so a
checkpoint written from here loads in the Rust engine and vice versa.

Papers: "Hybrid Architectures for Language Models: Systematic Analysis and Design
Insights" (arXiv 2510.04800) and Mamba-2 / SSD ("Transformers are SSMs", Dao & Gu 2024).

Glossary (code name -> symbol in FORMAT.md / the papers)
--------------------------------------------------------
    d_model          D      residual width
    d_ffn            F      SwiGLU hidden width
    vocab_size       V
    n_heads          Hq     attention query heads
    n_kv_heads       Hkv    attention key/value heads (GQA: query head h reads h // (Hq/Hkv))
    head_dim (attn)  dh     attention query/key head width (even, for rotate-half RoPE)
    v_head_dim       dv     attention value head width (default dh): heads concatenated are Hq*dv
    rope_theta       theta  RoPE base; f_i = theta^(-2i/dh)
    window, sink     -      sliding window length / always-visible first tokens
    windows          w_i    per-layer windows (None = full attention), overriding attention.window
    d_inner          E      expand * D, Mamba-2 inner width (d_ssm in the Mamba-2 code)
    head_dim (mamba) P      Mamba-2 head width; H = E / P heads
    d_state          N      SSM state size per head (columns of S_h)
    n_groups         G      groups sharing B and C (like GQA for SSMs); head h uses group h // (H/G)
    conv_width       W      causal depthwise conv width
    x                x_t    [H, P] SSM input (the "values")
    B, C             B_t, C_t [G, N] input / output projections of the state ("keys" / "queries")
    dt               Delta_t [H] step size, softplus(dt_raw + dt_bias)
    A_log            A = -exp(A_log) [H], scalar-times-identity state matrix per head (SSD)
    dA               exp(Delta_t * A), the per-step decay a_t of the SSD paper
    D                D [H]  skip connection y += D * x
    S, state         h_t / S_h,t [P, N]  S_t = a_t S_{t-1} + Delta_t x_t B_t^T ;  y_t = S_t C_t + D x_t
    implicit_attn    M = L o (C B^T) scaled by Delta_s: the SSD "attention" matrix, L[t,s] = prod_{r=s+1..t} a_r
    z                gate; y * silu(z) then a group RMSNorm (RMSNormGated, norm_before_gate=False)
    attn_heads       Ha     intra: attention-branch query heads (KV heads Hakv = attn_kv_heads)
    attn_v_head_dim  dva    intra: attention-branch value head width (default dv)
    ssm_heads        Hs     intra: Mamba-branch heads; E_b = Hs * P
    attn_norm, ssm_norm     intra: per-head RMS norms ("Norm" in f(X) = W_out(a_ssm Norm(M_ssm) (+) a_attn Norm(M_attn)))
    attn_scale, ssm_scale   intra: the optional learned scalars a_attn, a_ssm
    fusion           (+)    add / subtract ("diff") / concat

Tensor shapes in comments use B for batch (only where it cannot be confused with the
SSM's B, which is written B_t or Bm in code), T for sequence length.

Interventions (issue #11; the JSON of docs/FORMAT.md, parsed in twin_intervene.py):
``HybridLM.forward(..., interventions=[...])`` applies them, one ``LayerPlan`` per block,
as the Rust engines do.

Two implementations of the SSD scan are given (in twin_ssd.py; the config is in twin_config.py,
both re-exported here): ``ssd_recurrent`` (the plain sequential
recurrence, one token at a time, float32 or better: the ground truth used for fixtures
and probes) and ``ssd_chunked`` (the chunked "state space dual" algorithm of Mamba-2,
for training speed); ``check_ssd_agree`` and train/test_twin.py check that they agree.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "AttentionConfig", "MambaConfig", "IntraConfig", "Config",
    "HybridLM", "Attention", "Mamba2", "IntraMixer", "Block",
    "ssd_recurrent", "ssd_chunked", "check_ssd_agree", "segsum",
    "init_weights_", "InferenceCache",
]

from twin_config import (  # noqa: E402,F401  (re-exported: the twin's public names)
    FUSIONS,
    LAYER_KINDS,
    OUT_PROJS,
    REQUIRED,
    AttentionConfig,
    Config,
    IntraConfig,
    MambaConfig,
)
import twin_intervene as tiv  # noqa: E402

# --------------------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------------------

def rms(v: torch.Tensor, eps: float) -> torch.Tensor:
    """rms(v) = v / sqrt(mean(v^2) + eps) over the last dim."""
    return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + eps)


class RMSNorm(nn.Module):
    """rms(x) * weight."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))  # [dim]

    def forward(self, x):  # [..., dim] -> [..., dim]
        return rms(x, self.eps) * self.weight


class GroupRMSNorm(nn.Module):
    """RMS over consecutive groups of ``group_size`` channels, then times ``weight`` [dim].

    Used for Mamba-2's gated norm (groups of E/G; applied to y * silu(z), i.e. the reference
    RMSNormGated with norm_before_gate=False) and for the intra branches' per-head norms.
    """

    def __init__(self, dim: int, group_size: int, eps: float):
        super().__init__()
        assert dim % group_size == 0
        self.group_size, self.eps = group_size, eps
        self.weight = nn.Parameter(torch.ones(dim))  # [dim]

    def forward(self, x):  # [..., dim]
        shape = x.shape
        x = rms(x.reshape(*shape[:-1], -1, self.group_size), self.eps).reshape(shape)
        return x * self.weight


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x))."""

    def __init__(self, d_model: int, d_ffn: int):
        super().__init__()
        self.gate_proj = nn.Linear(d_model, d_ffn, bias=False)  # [F, D]
        self.up_proj = nn.Linear(d_model, d_ffn, bias=False)    # [F, D]
        self.down_proj = nn.Linear(d_ffn, d_model, bias=False)  # [D, F]

    def forward(self, x):  # [B, T, D]
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def rope(x: torch.Tensor, pos: torch.Tensor, theta: float) -> torch.Tensor:
    """Rotate-half RoPE (Llama). x [B, heads, T, dh], pos [T] absolute positions (from 0)."""
    dh = x.shape[-1]
    half = dh // 2
    i = torch.arange(half, dtype=torch.float64, device=x.device)
    freqs = theta ** (-2.0 * i / dh)                                  # f_i, [dh/2]
    ang = pos.to(torch.float64)[:, None] * freqs[None, :]             # t * f_i, [T, dh/2]
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)


def attention_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, window: Optional[int], sink: int):
    """Boolean [Tq, Tk], True where key s is visible to query t:
    s <= t and (window is None or t - s < window or s < sink)."""
    t, s = q_pos[:, None], k_pos[None, :]
    vis = s <= t
    if window is not None:
        vis = vis & ((t - s < window) | (s < sink))
    return vis


# --------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------

class Attention(nn.Module):
    """Llama attention: GQA, rotate-half RoPE, causal softmax(q k^T / sqrt(dh)),
    optional sliding window with sink tokens. Values may have their own head size dv
    (``v_head_dim``, default dh). ``o_proj`` is absent in an intra block whose
    projections are joint."""

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, head_dim: int,
                 rope_theta: float, window: Optional[int], sink_tokens: int, with_o_proj: bool = True,
                 v_head_dim: Optional[int] = None):
        super().__init__()
        dv = head_dim if v_head_dim is None else v_head_dim
        self.n_heads, self.n_kv_heads, self.head_dim, self.v_head_dim = n_heads, n_kv_heads, head_dim, dv
        self.rope_theta, self.window, self.sink_tokens = rope_theta, window, sink_tokens
        self.q_proj = nn.Linear(d_model, n_heads * head_dim, bias=False)     # [Hq*dh, D]
        self.k_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=False)  # [Hkv*dh, D]
        self.v_proj = nn.Linear(d_model, n_kv_heads * dv, bias=False)        # [Hkv*dv, D]
        if with_o_proj:
            self.o_proj = nn.Linear(n_heads * dv, d_model, bias=False)       # [D, Hq*dv]

    def heads(self, x, cache: Optional[dict] = None, want_probs: bool = False, plan=None):
        """x [B, T, D] -> (heads concatenated [B, T, Hq*dv], probs [B, Hq, T, Tk] or None).

        With ``cache`` (a dict holding k [B, Hkv, t0, dh], v [B, Hkv, t0, dv] and pos t0) the
        T new tokens sit at positions t0.. and attend to the cached keys too. ``plan``
        (twin_intervene.LayerPlan): an imposed window, hidden keys."""
        Bsz, T, _ = x.shape
        Hq, Hkv, dh, dv = self.n_heads, self.n_kv_heads, self.head_dim, self.v_head_dim
        t0 = 0 if cache is None else cache["pos"]
        pos = torch.arange(t0, t0 + T, device=x.device)
        q = self.q_proj(x).view(Bsz, T, Hq, dh).transpose(1, 2)    # [B, Hq, T, dh]
        k = self.k_proj(x).view(Bsz, T, Hkv, dh).transpose(1, 2)   # [B, Hkv, T, dh]
        v = self.v_proj(x).view(Bsz, T, Hkv, dv).transpose(1, 2)   # [B, Hkv, T, dv]
        q, k = rope(q, pos, self.rope_theta), rope(k, pos, self.rope_theta)
        if cache is not None:
            if cache.get("k") is not None:
                k = torch.cat([cache["k"], k], dim=2)               # [B, Hkv, t0+T, dh]
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"], cache["pos"] = k, v, t0 + T
        rep = Hq // Hkv                                             # query head h reads KV head h // rep
        k = k.repeat_interleave(rep, dim=1)                         # [B, Hq, Tk, dh]
        v = v.repeat_interleave(rep, dim=1)                         # [B, Hq, Tk, dv]
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)            # [B, Hq, T, Tk]
        k_pos = torch.arange(k.shape[2], device=x.device)
        window = plan.window if plan is not None and plan.window is not None else self.window
        vis = attention_mask(pos, k_pos, window, self.sink_tokens)  # [T, Tk]
        vis = vis & ~tiv.hidden(pos, k_pos, plan)
        scores = scores.masked_fill(~vis, float("-inf"))
        probs = scores.softmax(dim=-1)                              # 0 where masked
        out = (probs @ v).transpose(1, 2).reshape(Bsz, T, Hq * dv)  # [B, T, Hq*dv]
        return out, (probs if want_probs else None)

    def forward(self, x, cache=None, want_probes: bool = False, plan=None):
        out, probs = self.heads(x, cache, want_probes, plan)
        probes = {"attn_probs": probs[0]} if want_probes else {}
        return self.o_proj(out), probes


from twin_ssd import (  # noqa: E402,F401  (Mamba2 calls these through this module's names)
    check_ssd_agree,
    implicit_attention,
    segsum,
    ssd_chunked,
    ssd_recurrent,
)


class Mamba2(nn.Module):
    """The reference Mamba2 module's parameterization (mamba_ssm), without biases.

    u [B, T, D] -> in_proj -> [z (E) | x (E) | B (G*N) | C (G*N) | dt (H)];
    xBC -> causal depthwise conv1d (width W, bias) -> SiLU -> split x [H, P], B, C [G, N];
    dt = softplus(dt + dt_bias); A = -exp(A_log); SSD scan; y += D x;
    then (in a plain Mamba block) out_proj(norm(y * silu(z))), norm = RMS over G groups of E/G.
    In an intra block the Mamba branch stops at y * silu(z) (``with_norm_and_out=False``)."""

    def __init__(self, d_model: int, n_heads: int, head_dim: int, d_state: int, n_groups: int,
                 conv_width: int, eps: float, with_norm_and_out: bool = True):
        super().__init__()
        self.H, self.P, self.N, self.G, self.W = n_heads, head_dim, d_state, n_groups, conv_width
        self.E = E = n_heads * head_dim
        conv_dim = E + 2 * n_groups * d_state                        # x | B | C channels
        self.in_proj = nn.Linear(d_model, 2 * E + 2 * n_groups * d_state + n_heads, bias=False)
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, conv_width, groups=conv_dim,
                                padding=conv_width - 1, bias=True)   # weight [E+2GN, 1, W]
        self.dt_bias = nn.Parameter(torch.zeros(n_heads))             # [H]
        self.A_log = nn.Parameter(torch.zeros(n_heads))               # [H]
        self.D = nn.Parameter(torch.ones(n_heads))                    # [H]
        if with_norm_and_out:
            self.norm = GroupRMSNorm(E, E // n_groups, eps)           # weight [E]
            self.out_proj = nn.Linear(E, d_model, bias=False)         # [D, E]

    def _split_proj(self, u):
        E, GN, H = self.E, self.G * self.N, self.H
        zxbcdt = self.in_proj(u)                                      # [B, T, 2E + 2GN + H]
        z, xBC, dt = torch.split(zxbcdt, [E, E + 2 * GN, H], dim=-1)
        return z, xBC, dt

    def _split_xbc(self, xBC):
        Bsz, T, _ = xBC.shape
        E, GN = self.E, self.G * self.N
        x, Bm, C = torch.split(xBC, [E, GN, GN], dim=-1)
        return (x.reshape(Bsz, T, self.H, self.P),                    # [B, T, H, P]
                Bm.reshape(Bsz, T, self.G, self.N),                   # [B, T, G, N]
                C.reshape(Bsz, T, self.G, self.N))                    # [B, T, G, N]

    def gated(self, u, cache: Optional[dict] = None, want_probes: bool = False,
              ssd: str = "recurrent", chunk_size: int = 64, plan=None, pos0: int = 0):
        """u [B, T, D] -> (y * silu(z) [B, T, E], probes for batch element 0).

        ``cache`` (a dict with conv [B, E+2GN, W-1] and ssm [B, H, P, N], or empty) continues
        from an earlier call and is updated in place. ``ssd``: "recurrent" or "chunked".
        ``plan`` (twin_intervene.LayerPlan) at positions pos0..: dt edits, freezes, resets
        (the scan is cut before each reset token)."""
        Bsz, T, _ = u.shape
        z, xBC, dt = self._split_proj(u)                              # [B,T,E], [B,T,E+2GN], [B,T,H]
        # causal depthwise conv: out[t, c] = bias[c] + sum_k w[c, 0, k] * in[t-W+1+k, c]
        xc = xBC.transpose(1, 2)                                      # [B, E+2GN, T]
        if cache is not None and cache.get("conv") is not None:
            xc = torch.cat([cache["conv"], xc], dim=-1)               # previous W-1 inputs first
            conv = F.conv1d(xc, self.conv1d.weight, self.conv1d.bias, groups=xc.shape[1])
        else:
            conv = self.conv1d(xc)[..., :T]                           # padding W-1, keep the first T
        if cache is not None:
            hist = xc if xc.shape[-1] >= self.W - 1 else F.pad(xc, (self.W - 1 - xc.shape[-1], 0))
            cache["conv"] = hist[..., -(self.W - 1):] if self.W > 1 else hist[..., :0]
        xBC = F.silu(conv.transpose(1, 2))                            # [B, T, E+2GN]
        x, Bm, C = self._split_xbc(xBC)
        dt = tiv.edit_dt(F.softplus(dt + self.dt_bias), plan, pos0)  # Delta, [B, T, H]
        A = -torch.exp(self.A_log)                                    # [H]
        state0 = None if cache is None else cache.get("ssm")
        probes = {}
        cuts = tiv.resets_inside(plan, pos0, T)
        if want_probes or ssd == "recurrent":
            def scan(x, dt, Bm, C, S):
                return ssd_recurrent(x, dt, A, Bm, C, self.D, state=S, return_states=want_probes)
            y, S, states = tiv.scan_with_resets(scan, x, dt, Bm, C, state0, cuts, self.H)
            if want_probes:                                                            # states [B, T, H, P, N]
                M = implicit_attention(dt[0], A, Bm[0], C[0])                          # [H, T, T]
                probes["implicit_attn"] = tiv.cut_implicit(M, cuts, self.H)
                probes["dt"] = dt[0]                                                   # [T, H]
                probes["state_norm"] = states[0].flatten(-2).norm(dim=-1)              # [T, H]
        else:
            def scan(x, dt, Bm, C, S):
                return ssd_chunked(x, dt, A, Bm, C, self.D, chunk_size=chunk_size, state=S)
            y, S, _ = tiv.scan_with_resets(scan, x, dt, Bm, C, state0, cuts, self.H)
        if cache is not None:
            cache["ssm"] = S
        y = y.reshape(Bsz, T, self.E)                                 # [B, T, E]
        return y * F.silu(z), probes

    def forward(self, u, cache=None, want_probes: bool = False, ssd: str = "recurrent", chunk_size: int = 64,
                plan=None, pos0: int = 0):
        g, probes = self.gated(u, cache, want_probes, ssd, chunk_size, plan, pos0)
        return self.out_proj(self.norm(g)), probes


# --------------------------------------------------------------------------------------
# Intra-layer hybrid
# --------------------------------------------------------------------------------------

class IntraMixer(nn.Module):
    """Attention branch (Ha heads) and Mamba branch (Hs heads) on the same input, fused.

    a = attention heads concatenated [Ha*dva]; s = y * silu(z) of the Mamba branch [E_b].
    branch_norm: a = rms_per_head(a) * attn_norm, s = rms_per_head(s) * ssm_norm.
    branch_scalars: a *= attn_scale, s *= ssm_scale.
    separate: o_proj(a) (+|-) out_proj(s);  joint: out_proj(a + s | a - s | [a | s])."""

    def __init__(self, cfg: Config, layer: Optional[int] = None):
        """``layer``: the block's index, for its window (``cfg.layer_window``)."""
        super().__init__()
        ac, mc, ic = cfg.attention, cfg.mamba, cfg.intra
        self.fusion, self.joint = ic.fusion, ic.out_proj == "joint"
        self.branch_norm, self.branch_scalars = ic.branch_norm, ic.branch_scalars
        dva = cfg.intra_v_head_dim
        self.Wa = ic.attn_heads * dva                                # Ha*dva
        self.Wb = ic.ssm_heads * mc.head_dim                         # E_b
        self.attn = Attention(cfg.d_model, ic.attn_heads, ic.attn_kv_heads, ac.head_dim, ac.rope_theta,
                              cfg.layer_window(layer), ac.sink_tokens, with_o_proj=not self.joint,
                              v_head_dim=dva)
        self.ssm = Mamba2(cfg.d_model, ic.ssm_heads, mc.head_dim, mc.d_state, mc.n_groups, mc.conv_width,
                          cfg.norm_eps, with_norm_and_out=False)
        if not self.joint:
            self.ssm.out_proj = nn.Linear(self.Wb, cfg.d_model, bias=False)  # [D, E_b]
        if self.branch_norm:
            self.attn_norm = GroupRMSNorm(self.Wa, dva, cfg.norm_eps)  # [Ha*dva], per head
            self.ssm_norm = GroupRMSNorm(self.Wb, mc.head_dim, cfg.norm_eps)   # [E_b]
        if self.branch_scalars:
            self.attn_scale = nn.Parameter(torch.ones(1))            # [1]
            self.ssm_scale = nn.Parameter(torch.ones(1))             # [1]
        if self.joint:
            d_in = self.Wa + self.Wb if self.fusion == "concat" else self.Wa
            self.out_proj = nn.Linear(d_in, cfg.d_model, bias=False)  # [D, Ha*dva (+ E_b)]

    def forward(self, x, cache=None, want_probes: bool = False, ssd: str = "recurrent", chunk_size: int = 64,
                plan=None, pos0: int = 0):
        a, probs = self.attn.heads(x, None if cache is None else cache["attn"], want_probes, plan)  # [B, T, Ha*dva]
        s, probes = self.ssm.gated(x, None if cache is None else cache["ssm"], want_probes, ssd, chunk_size,
                                   plan, pos0)                       # [B, T, E_b]
        p = plan if plan is not None else tiv.LayerPlan()
        if self.branch_norm:
            a = self.attn_norm(a) if p.attn_norm else a
            s = self.ssm_norm(s) if p.ssm_norm else s
        if self.branch_scalars:
            a, s = a * self.attn_scale, s * self.ssm_scale
        # an intervention's branch factors, after the learned scalars
        if p.attn_scale is not None:
            a = a * p.attn_scale
        if p.ssm_scale is not None:
            s = s * p.ssm_scale
        # each branch's contribution in D-space (Mamba's before the subtract sign)
        if not self.joint:
            ca, cs = self.attn.o_proj(a), self.ssm.out_proj(s)
        elif self.fusion == "concat":
            Wt = self.out_proj.weight                                # [D, Ha*dva + E_b]
            ca, cs = F.linear(a, Wt[:, :self.Wa]), F.linear(s, Wt[:, self.Wa:])
        else:
            ca, cs = self.out_proj(a), self.out_proj(s)
        if self.joint:
            if self.fusion == "concat":
                out = self.out_proj(torch.cat([a, s], dim=-1))       # [Ha*dva + E_b] -> D
            else:
                out = self.out_proj(a + s if self.fusion == "add" else a - s)
        else:
            out = ca - cs if self.fusion == "subtract" else ca + cs
        if want_probes:
            probes["attn_probs"] = probs[0]                          # [Ha, T, T]
            probes["branch_norms"] = torch.stack([ca[0].norm(dim=-1), cs[0].norm(dim=-1)], dim=-1)  # [T, 2]
        return out, probes


# --------------------------------------------------------------------------------------
# Blocks and model
# --------------------------------------------------------------------------------------

class Block(nn.Module):
    """x += mixer(mixer_norm(x)); x += ffn(ffn_norm(x))."""

    def __init__(self, cfg: Config, kind: str, layer: Optional[int] = None):
        """``layer``: the block's index, for its sliding window (``cfg.layer_window``)."""
        super().__init__()
        self.kind = kind
        self.mixer_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        if kind == "attention":
            a = cfg.attention
            self.mixer = Attention(cfg.d_model, a.n_heads, a.n_kv_heads, a.head_dim, a.rope_theta,
                                   cfg.layer_window(layer), a.sink_tokens, v_head_dim=a.dv)
        elif kind == "mamba":
            m = cfg.mamba
            self.mixer = Mamba2(cfg.d_model, cfg.mamba_heads, m.head_dim, m.d_state, m.n_groups,
                                m.conv_width, cfg.norm_eps)
        else:
            self.mixer = IntraMixer(cfg, layer)
        self.ffn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.ffn = SwiGLU(cfg.d_model, cfg.d_ffn)

    def forward(self, x, cache=None, want_probes=False, ssd="recurrent", chunk_size=64, plan=None, pos0=0):
        """``plan`` (twin_intervene.LayerPlan): a skipped mixer still runs (its cache and
        state as without) but is not added; a skipped FFN is not run."""
        h = self.mixer_norm(x)
        if self.kind == "attention":
            out, probes = self.mixer(h, cache, want_probes, plan)
        else:
            out, probes = self.mixer(h, cache, want_probes, ssd, chunk_size, plan, pos0)
        if plan is None or not plan.skip_mixer:
            x = x + out
        if plan is None or not plan.skip_ffn:
            x = x + self.ffn(self.ffn_norm(x))
        return x, probes


class InferenceCache:
    """Per-block decoding state: KV cache (attention), conv window + SSM state (Mamba),
    both (intra). Used by ``HybridLM.forward(..., cache=...)`` to continue a sequence."""

    def __init__(self, cfg: Config):
        self.pos = 0  # tokens consumed (interventions count positions from the run's start)
        self.blocks = []
        for kind in cfg.layers:
            if kind == "attention":
                self.blocks.append({"pos": 0})
            elif kind == "mamba":
                self.blocks.append({})
            else:
                self.blocks.append({"attn": {"pos": 0}, "ssm": {}})


class HybridLM(nn.Module):
    """Token embedding -> blocks -> final RMSNorm -> LM head (tied to the embedding by default)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)   # [V, D]
        self.layers = nn.ModuleList(Block(cfg, k, i) for i, k in enumerate(cfg.layers))
        self.norm_f = RMSNorm(cfg.d_model, cfg.norm_eps)
        if not cfg.tie_embeddings:
            self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)  # [V, D]
        init_weights_(self)

    def head_weight(self):
        return self.embed_tokens.weight if self.cfg.tie_embeddings else self.lm_head.weight

    def forward(self, tokens: torch.Tensor, return_probes: bool = False, cache: Optional[InferenceCache] = None,
                ssd: str = "recurrent", chunk_size: int = 64, interventions=None):
        """tokens [B, T] (int) -> logits [B, T, V] (and, with ``return_probes``, a dict
        ``{"probe.{i}.<name>": tensor}`` for batch element 0, the names of docs/FORMAT.md).

        ``cache``: an InferenceCache to continue from (updated in place), e.g. one token at a
        time. ``ssd``: "recurrent" (sequential scan, always used for probes) or "chunked".
        ``interventions``: the JSON of docs/FORMAT.md "Interventions" (a string or a list of
        dicts; twin_intervene.py), applied at absolute positions."""
        x = self.embed_tokens(tokens)                                   # [B, T, D]
        probes = {}
        plans = tiv.plan(interventions, len(self.layers)) if interventions else [None] * len(self.layers)
        pos0 = 0 if cache is None else cache.pos
        if cache is not None:
            cache.pos += tokens.shape[1]
        for i, block in enumerate(self.layers):
            c = None if cache is None else cache.blocks[i]
            x, p = block(x, c, return_probes, ssd, chunk_size, plans[i], pos0)
            for k, v in p.items():
                probes[f"probe.{i}.{k}"] = v
        logits = F.linear(self.norm_f(x), self.head_weight())          # [B, T, V]
        return (logits, probes) if return_probes else logits

    @torch.no_grad()
    def generate_greedy(self, tokens: torch.Tensor, n: int, use_cache: bool = False) -> torch.Tensor:
        """Greedy continuation of a 1-D prompt (argmax, ties to the lowest id).
        Without cache: re-runs the full forward on the growing sequence (the fixtures' way)."""
        seq = tokens.clone()
        out = []
        cache = InferenceCache(self.cfg) if use_cache else None
        step_in = seq
        for _ in range(n):
            if use_cache:
                logits = self(step_in[None], cache=cache)[0, -1]
            else:
                logits = self(seq[None])[0, -1]
            nxt = int(argmax_lowest(logits))
            out.append(nxt)
            seq = torch.cat([seq, seq.new_tensor([nxt])])
            step_in = seq[-1:]
        return torch.tensor(out, dtype=torch.int64)


def argmax_lowest(v: torch.Tensor) -> int:
    """Index of the maximum of a 1-D tensor, the lowest index on ties."""
    m = v.max()
    return int(torch.nonzero(v == m)[0, 0])


# --------------------------------------------------------------------------------------
# Initialization
# --------------------------------------------------------------------------------------

@torch.no_grad()
def init_weights_(model: HybridLM, generator: Optional[torch.Generator] = None,
                  dt_min: float = 1e-3, dt_max: float = 1e-1, std: float = 0.02) -> None:
    """Training init, after mamba_ssm / GPT-2: normal(0, std) for embeddings and projections,
    residual-output projections (o_proj, out_proj, down_proj) scaled by 1/sqrt(2 n_layers);
    A_log = log(uniform(1, 16)); dt_bias = softplus^-1(dt), dt log-uniform in [dt_min, dt_max];
    D = 1; conv1d keeps PyTorch's default (kaiming uniform); norms 1; scalars 1."""
    g = generator
    resid_std = std / math.sqrt(2 * model.cfg.n_layers)
    for name, p in model.named_parameters():
        leaf = name.split(".")[-2] if name.endswith(".weight") else name.split(".")[-1]
        if name.endswith("conv1d.weight") or name.endswith("conv1d.bias"):
            continue
        if leaf in ("o_proj", "out_proj", "down_proj"):
            p.normal_(0.0, resid_std, generator=g)
        elif leaf in ("embed_tokens", "lm_head", "q_proj", "k_proj", "v_proj", "in_proj", "gate_proj", "up_proj"):
            p.normal_(0.0, std, generator=g)
        elif leaf == "A_log":
            p.copy_(torch.log(torch.empty_like(p).uniform_(1.0, 16.0, generator=g)))
        elif leaf == "dt_bias":
            dt = torch.exp(torch.empty_like(p).uniform_(math.log(dt_min), math.log(dt_max), generator=g))
            dt = dt.clamp(min=1e-4)
            p.copy_(dt + torch.log(-torch.expm1(-dt)))                 # inverse softplus
        elif leaf in ("D", "attn_scale", "ssm_scale") or "norm" in leaf:  # D, scalars, every norm weight
            p.fill_(1.0)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    worst = check_ssd_agree()
    print(f"ssd_recurrent vs ssd_chunked: max |diff| = {worst:.3e}")
    cfg = Config()
    m = HybridLM(cfg)
    print(f"default config: {count_params(m)} parameters")
    for k, v in m.state_dict().items():
        print(f"  {k:40s} {list(v.shape)}")
