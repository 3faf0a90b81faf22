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
    head_dim (attn)  dh     attention head width (even, for rotate-half RoPE)
    rope_theta       theta  RoPE base; f_i = theta^(-2i/dh)
    window, sink     -      sliding window length / always-visible first tokens
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
    ssm_heads        Hs     intra: Mamba-branch heads; E_b = Hs * P
    attn_norm, ssm_norm     intra: per-head RMS norms ("Norm" in f(X) = W_out(a_ssm Norm(M_ssm) (+) a_attn Norm(M_attn)))
    attn_scale, ssm_scale   intra: the optional learned scalars a_attn, a_ssm
    fusion           (+)    add / subtract ("diff") / concat

Tensor shapes in comments use B for batch (only where it cannot be confused with the
SSM's B, which is written B_t or Bm in code), T for sequence length.

Two implementations of the SSD scan are given: ``ssd_recurrent`` (the plain sequential
recurrence, one token at a time, float32 or better: the ground truth used for fixtures
and probes) and ``ssd_chunked`` (the chunked "state space dual" algorithm of Mamba-2,
for training speed); ``check_ssd_agree`` and train/test_twin.py check that they agree.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "AttentionConfig", "MambaConfig", "IntraConfig", "Config",
    "HybridLM", "Attention", "Mamba2", "IntraMixer", "Block",
    "ssd_recurrent", "ssd_chunked", "check_ssd_agree", "segsum",
    "init_weights_", "InferenceCache",
]

LAYER_KINDS = ("attention", "mamba", "intra")
# config.json keys without a documented default (docs/FORMAT.md); None = top level.
REQUIRED = {
    None: ("vocab_size", "d_model", "d_ffn", "layers", "max_seq_len"),
    "attention": ("n_heads", "n_kv_heads", "head_dim"),
    "mamba": ("d_state", "head_dim"),
    "intra": ("attn_heads", "attn_kv_heads", "ssm_heads"),
}
FUSIONS = ("add", "subtract", "concat")
OUT_PROJS = ("separate", "joint")


# --------------------------------------------------------------------------------------
# Config (config.json)
# --------------------------------------------------------------------------------------

@dataclass
class AttentionConfig:
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int = 16
    rope_theta: float = 10000.0
    window: Optional[int] = None  # None: full causal attention
    sink_tokens: int = 0


@dataclass
class MambaConfig:
    d_state: int = 16
    head_dim: int = 16
    expand: int = 2
    n_groups: int = 1
    conv_width: int = 4


@dataclass
class IntraConfig:
    attn_heads: int = 2
    attn_kv_heads: int = 1
    ssm_heads: int = 4
    fusion: str = "subtract"
    branch_norm: bool = True
    out_proj: str = "separate"
    branch_scalars: bool = False


def _sub_from_dict(cls, d: Optional[dict]):
    if d is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    return cls(**d)


@dataclass
class Config:
    """The architecture, exactly the fields of config.json (docs/FORMAT.md)."""

    vocab_size: int = 512
    d_model: int = 64
    d_ffn: int = 192
    layers: list = field(default_factory=lambda: ["mamba", "attention", "mamba", "mamba"])
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    max_seq_len: int = 256
    name: Optional[str] = None
    attention: Optional[AttentionConfig] = None
    mamba: Optional[MambaConfig] = None
    intra: Optional[IntraConfig] = None

    def __post_init__(self):
        # Fill the sections that the layer plan needs with their defaults.
        kinds = set(self.layers)
        if self.attention is None and kinds & {"attention", "intra"}:
            self.attention = AttentionConfig()
        if self.mamba is None and kinds & {"mamba", "intra"}:
            self.mamba = MambaConfig()
        if self.intra is None and "intra" in kinds:
            self.intra = IntraConfig()
        self.validate()

    # -- derived sizes ------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def d_inner(self) -> int:  # E
        return self.mamba.expand * self.d_model

    @property
    def mamba_heads(self) -> int:  # H
        return self.d_inner // self.mamba.head_dim

    def validate(self) -> None:
        for k in self.layers:
            if k not in LAYER_KINDS:
                raise ValueError(f"layers: unknown mixer {k!r}, expected one of {LAYER_KINDS}")
        if self.attention is not None:
            a = self.attention
            if a.n_heads % a.n_kv_heads:
                raise ValueError("attention: n_heads must be a multiple of n_kv_heads")
            if a.head_dim % 2:
                raise ValueError("attention: head_dim must be even (rotate-half RoPE)")
            if a.window is not None and a.window < 1:
                raise ValueError("attention: window must be >= 1 or null")
        if self.mamba is not None:
            m = self.mamba
            if self.d_inner % m.head_dim:
                raise ValueError("mamba: expand * d_model must be a multiple of head_dim")
            if "mamba" in self.layers and self.mamba_heads % m.n_groups:
                raise ValueError("mamba: heads (d_inner / head_dim) must be a multiple of n_groups")
        if self.intra is not None and "intra" in self.layers:
            i = self.intra
            if i.attn_heads % i.attn_kv_heads:
                raise ValueError("intra: attn_heads must be a multiple of attn_kv_heads")
            if i.ssm_heads % self.mamba.n_groups:
                raise ValueError("intra: ssm_heads must be a multiple of mamba.n_groups")
            if i.fusion not in FUSIONS:
                raise ValueError(f"intra: fusion must be one of {FUSIONS}")
            if i.out_proj not in OUT_PROJS:
                raise ValueError(f"intra: out_proj must be one of {OUT_PROJS}")
            if i.fusion == "concat" and i.out_proj != "joint":
                raise ValueError('intra: fusion "concat" requires out_proj "joint"')
            if i.out_proj == "joint" and i.fusion != "concat":
                if i.attn_heads * self.attention.head_dim != i.ssm_heads * self.mamba.head_dim:
                    raise ValueError("intra: joint add/subtract needs attn_heads*head_dim == ssm_heads*mamba.head_dim")

    # -- json ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """Strict reading of config.json: unknown keys, missing required keys and missing
        sections are errors; documented defaults fill the rest."""
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"config: unknown keys {sorted(unknown)}")
        missing = [k for k in REQUIRED[None] if k not in d]
        kinds = set(d.get("layers", []))
        need = {"attention": kinds & {"attention", "intra"}, "mamba": kinds & {"mamba", "intra"},
                "intra": kinds & {"intra"}}
        for sec, used in need.items():
            if used and d.get(sec) is None:
                missing.append(sec)
            elif used:
                missing += [f"{sec}.{k}" for k in REQUIRED[sec] if k not in d[sec]]
        if missing:
            raise ValueError(f"config: missing required keys {missing}")
        d["attention"] = _sub_from_dict(AttentionConfig, d.get("attention"))
        d["mamba"] = _sub_from_dict(MambaConfig, d.get("mamba"))
        d["intra"] = _sub_from_dict(IntraConfig, d.get("intra"))
        return cls(**d)

    def to_dict(self) -> dict:
        """All fields written out explicitly; sections the layer plan does not use are omitted."""
        kinds = set(self.layers)
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        out.update(vocab_size=self.vocab_size, d_model=self.d_model, d_ffn=self.d_ffn,
                   norm_eps=self.norm_eps, tie_embeddings=self.tie_embeddings,
                   max_seq_len=self.max_seq_len, layers=list(self.layers))
        if kinds & {"attention", "intra"}:
            out["attention"] = dataclasses.asdict(self.attention)
        if kinds & {"mamba", "intra"}:
            out["mamba"] = dataclasses.asdict(self.mamba)
        if "intra" in kinds:
            out["intra"] = dataclasses.asdict(self.intra)
        return out

    @classmethod
    def load(cls, path) -> "Config":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


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
    optional sliding window with sink tokens. ``o_proj`` is absent in an intra block
    whose projections are joint."""

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, head_dim: int,
                 rope_theta: float, window: Optional[int], sink_tokens: int, with_o_proj: bool = True):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.rope_theta, self.window, self.sink_tokens = rope_theta, window, sink_tokens
        self.q_proj = nn.Linear(d_model, n_heads * head_dim, bias=False)     # [Hq*dh, D]
        self.k_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=False)  # [Hkv*dh, D]
        self.v_proj = nn.Linear(d_model, n_kv_heads * head_dim, bias=False)  # [Hkv*dh, D]
        if with_o_proj:
            self.o_proj = nn.Linear(n_heads * head_dim, d_model, bias=False)  # [D, Hq*dh]

    def heads(self, x, cache: Optional[dict] = None, want_probs: bool = False):
        """x [B, T, D] -> (heads concatenated [B, T, Hq*dh], probs [B, Hq, T, Tk] or None).

        With ``cache`` (a dict holding k, v [B, Hkv, t0, dh] and pos t0) the T new tokens
        sit at positions t0.. and attend to the cached keys too."""
        Bsz, T, _ = x.shape
        Hq, Hkv, dh = self.n_heads, self.n_kv_heads, self.head_dim
        t0 = 0 if cache is None else cache["pos"]
        pos = torch.arange(t0, t0 + T, device=x.device)
        q = self.q_proj(x).view(Bsz, T, Hq, dh).transpose(1, 2)    # [B, Hq, T, dh]
        k = self.k_proj(x).view(Bsz, T, Hkv, dh).transpose(1, 2)   # [B, Hkv, T, dh]
        v = self.v_proj(x).view(Bsz, T, Hkv, dh).transpose(1, 2)   # [B, Hkv, T, dh]
        q, k = rope(q, pos, self.rope_theta), rope(k, pos, self.rope_theta)
        if cache is not None:
            if cache.get("k") is not None:
                k = torch.cat([cache["k"], k], dim=2)               # [B, Hkv, t0+T, dh]
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"], cache["pos"] = k, v, t0 + T
        rep = Hq // Hkv                                             # query head h reads KV head h // rep
        k = k.repeat_interleave(rep, dim=1)                         # [B, Hq, Tk, dh]
        v = v.repeat_interleave(rep, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)            # [B, Hq, T, Tk]
        k_pos = torch.arange(k.shape[2], device=x.device)
        vis = attention_mask(pos, k_pos, self.window, self.sink_tokens)  # [T, Tk]
        scores = scores.masked_fill(~vis, float("-inf"))
        probs = scores.softmax(dim=-1)                              # 0 where masked
        out = (probs @ v).transpose(1, 2).reshape(Bsz, T, Hq * dh)  # [B, T, Hq*dh]
        return out, (probs if want_probs else None)

    def forward(self, x, cache=None, want_probes: bool = False):
        out, probs = self.heads(x, cache, want_probes)
        probes = {"attn_probs": probs[0]} if want_probes else {}
        return self.o_proj(out), probes


# --------------------------------------------------------------------------------------
# Mamba-2 (SSD)
# --------------------------------------------------------------------------------------

def segsum(x: torch.Tensor) -> torch.Tensor:
    """Stable segment sum. x [..., T] -> [..., T, T] with out[..., t, s] = sum_{r=s+1..t} x[r]
    for s <= t and -inf above the diagonal, so exp(segsum(dt*A)) is the SSD decay mask L."""
    T = x.shape[-1]
    x = x[..., None].expand(*x.shape, T)                            # [..., T(r), T(s)]
    strict = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device), -1)
    x = x.masked_fill(~strict, 0)                                   # keep r > s
    out = torch.cumsum(x, dim=-2)                                   # sum over r <= t
    lower = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device), 0)
    return out.masked_fill(~lower, float("-inf"))


def _expand_groups(Bm: torch.Tensor, H: int) -> torch.Tensor:
    """[B, T, G, N] -> [B, T, H, N]: head h uses group h // (H/G)."""
    G = Bm.shape[2]
    return Bm.repeat_interleave(H // G, dim=2)


def ssd_recurrent(x, dt, A, Bm, C, D, state=None, return_states: bool = False):
    """The plain sequential SSD recurrence (ground truth).

    x [B, T, H, P], dt [B, T, H] (already softplus'd), A [H] (negative), Bm, C [B, T, G, N],
    D [H], state [B, H, P, N] or None.
    Per head:  S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t^T ;  y_t = S_t C_t + D x_t.
    Returns y [B, T, H, P], final state [B, H, P, N] and, if asked, all states [B, T, H, P, N].
    Computes in at least float32."""
    in_dtype = x.dtype
    dtype = torch.promote_types(x.dtype, torch.float32)
    x, dt, A, Bm, C, D = (t.to(dtype) for t in (x, dt, A, Bm, C, D))
    Bsz, T, H, P = x.shape
    N = Bm.shape[-1]
    Bh, Ch = _expand_groups(Bm, H), _expand_groups(C, H)            # [B, T, H, N]
    S = x.new_zeros(Bsz, H, P, N) if state is None else state.to(dtype)
    ys, states = [], []
    for t in range(T):
        dA = torch.exp(dt[:, t] * A)                                # a_t, [B, H]
        dBx = (dt[:, t, :, None] * x[:, t])[..., None] * Bh[:, t, :, None, :]  # dt x B^T, [B, H, P, N]
        S = dA[:, :, None, None] * S + dBx                          # [B, H, P, N]
        y = (S @ Ch[:, t, :, :, None])[..., 0] + D[:, None] * x[:, t]  # S C + D x, [B, H, P]
        ys.append(y)
        if return_states:
            states.append(S)
    y = torch.stack(ys, dim=1).to(in_dtype)                         # [B, T, H, P]
    out = (y, S)
    if return_states:
        out = out + (torch.stack(states, dim=1),)                   # [B, T, H, P, N]
    return out


def ssd_chunked(x, dt, A, Bm, C, D, chunk_size: int = 64, state=None):
    """Chunked SSD (Mamba-2's "ssd_minimal_discrete", generalized to any T and to groups).

    Same arguments and results as ``ssd_recurrent`` (y [B, T, H, P], final state [B, H, P, N]).
    Within a chunk the output is the quadratic "attention" form (L o C B^T) (dt x); between
    chunks states are passed on with the chunk's total decay. T is zero-padded at the end to
    a multiple of ``chunk_size`` (padded steps have dt = 0: no decay, no input)."""
    in_dtype = x.dtype
    dtype = torch.promote_types(x.dtype, torch.float32)
    x, dt, A, Bm, C, D = (t.to(dtype) for t in (x, dt, A, Bm, C, D))
    Bsz, T, H, P = x.shape
    Q = chunk_size
    pad = (-T) % Q
    Bh, Ch = _expand_groups(Bm, H), _expand_groups(C, H)            # [B, T, H, N]
    X = x * dt[..., None]                                           # dt x, [B, T, H, P]
    Adt = dt * A                                                    # log a_t, [B, T, H]
    if pad:
        X = F.pad(X, (0, 0, 0, 0, 0, pad))
        Adt = F.pad(Adt, (0, 0, 0, pad))
        Bh = F.pad(Bh, (0, 0, 0, 0, 0, pad))
        Ch = F.pad(Ch, (0, 0, 0, 0, 0, pad))
    nc = (T + pad) // Q
    # chunks: c = chunk index, l / s = positions inside a chunk
    X = X.view(Bsz, nc, Q, H, P)
    Bc = Bh.view(Bsz, nc, Q, H, -1)
    Cc = Ch.view(Bsz, nc, Q, H, -1)
    Ac = Adt.view(Bsz, nc, Q, H).permute(0, 3, 1, 2)                # [B, H, c, l]
    A_cum = torch.cumsum(Ac, dim=-1)                                # [B, H, c, l]

    # 1. intra-chunk (diagonal blocks): y = (L o C B^T) X
    L = torch.exp(segsum(Ac))                                       # [B, H, c, l, s]
    Y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", Cc, Bc, L, X)

    # 2. state at the end of each chunk from that chunk's inputs alone
    decay_states = torch.exp(A_cum[..., -1:] - A_cum)               # [B, H, c, l]
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bc, decay_states, X)  # [B, c, H, P, N]

    # 3. pass states across chunks (a recurrence over chunks, written as one matmul)
    if state is None:
        state = x.new_zeros(Bsz, H, P, Bh.shape[-1])
    states = torch.cat([state.to(dtype)[:, None], states], dim=1)   # [B, c+1, H, P, N]
    decay_chunk = torch.exp(segsum(F.pad(A_cum[..., -1], (1, 0))))  # [B, H, c+1, c+1]
    new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
    states, final_state = new_states[:, :-1], new_states[:, -1]     # [B, c, H, P, N], [B, H, P, N]

    # 4. contribution of the state entering each chunk: y += decay * C S
    state_decay_out = torch.exp(A_cum)                              # [B, H, c, l]
    Y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", Cc, states, state_decay_out)

    y = (Y_diag + Y_off).reshape(Bsz, nc * Q, H, P)[:, :T]
    y = y + D[:, None] * x                                          # skip
    return y.to(in_dtype), final_state


def implicit_attention(dt, A, Bm, C):
    """Mamba-2's implicit attention matrix for batch element 0.

    dt [T, H], A [H], Bm, C [T, G, N] -> M [H, T, T],
    M[h, t, s] = (C_t . B_s) * dt_s * exp(sum_{r=s+1..t} dt_r A) for s <= t, else 0.
    Then y_t = sum_s M[t, s] x_s + D x_t."""
    H = dt.shape[-1]
    Bh, Ch = _expand_groups(Bm[None], H)[0], _expand_groups(C[None], H)[0]  # [T, H, N]
    CB = torch.einsum("thn,shn->hts", Ch, Bh)                       # [H, T, T]
    L = torch.exp(segsum((dt * A).transpose(0, 1)))                 # [H, T, T], 0 above diagonal
    return CB * L * dt.transpose(0, 1)[:, None, :]


def check_ssd_agree(T: int = 21, chunk_sizes=(4, 7, 8, 21, 32), H: int = 4, P: int = 8,
                    G: int = 2, N: int = 16, seed: int = 0, dtype=torch.float64) -> float:
    """Random inputs through ssd_recurrent and ssd_chunked; returns the largest difference
    (outputs and final states) over the given chunk sizes."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, T, H, P, generator=g, dtype=dtype)
    dt = F.softplus(torch.randn(2, T, H, generator=g, dtype=dtype) - 1)
    A = -torch.rand(H, generator=g, dtype=dtype) * 4 - 0.5
    Bm = torch.randn(2, T, G, N, generator=g, dtype=dtype)
    C = torch.randn(2, T, G, N, generator=g, dtype=dtype)
    D = torch.randn(H, generator=g, dtype=dtype)
    s0 = torch.randn(2, H, P, N, generator=g, dtype=dtype)
    y_ref, s_ref = ssd_recurrent(x, dt, A, Bm, C, D, state=s0)
    worst = 0.0
    for q in chunk_sizes:
        y, s = ssd_chunked(x, dt, A, Bm, C, D, chunk_size=q, state=s0)
        worst = max(worst, (y - y_ref).abs().max().item(), (s - s_ref).abs().max().item())
    return worst


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
              ssd: str = "recurrent", chunk_size: int = 64):
        """u [B, T, D] -> (y * silu(z) [B, T, E], probes for batch element 0).

        ``cache`` (a dict with conv [B, E+2GN, W-1] and ssm [B, H, P, N], or empty) continues
        from an earlier call and is updated in place. ``ssd``: "recurrent" or "chunked"."""
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
        dt = F.softplus(dt + self.dt_bias)                            # Delta, [B, T, H]
        A = -torch.exp(self.A_log)                                    # [H]
        state0 = None if cache is None else cache.get("ssm")
        probes = {}
        if want_probes or ssd == "recurrent":
            y, S, *states = ssd_recurrent(x, dt, A, Bm, C, self.D, state=state0, return_states=want_probes)
            if want_probes:
                states = states[0]                                                     # [B, T, H, P, N]
                probes["implicit_attn"] = implicit_attention(dt[0], A, Bm[0], C[0])  # [H, T, T]
                probes["dt"] = dt[0]                                                   # [T, H]
                probes["state_norm"] = states[0].flatten(-2).norm(dim=-1)              # [T, H]
        else:
            y, S = ssd_chunked(x, dt, A, Bm, C, self.D, chunk_size=chunk_size, state=state0)
        if cache is not None:
            cache["ssm"] = S
        y = y.reshape(Bsz, T, self.E)                                 # [B, T, E]
        return y * F.silu(z), probes

    def forward(self, u, cache=None, want_probes: bool = False, ssd: str = "recurrent", chunk_size: int = 64):
        g, probes = self.gated(u, cache, want_probes, ssd, chunk_size)
        return self.out_proj(self.norm(g)), probes


# --------------------------------------------------------------------------------------
# Intra-layer hybrid
# --------------------------------------------------------------------------------------

class IntraMixer(nn.Module):
    """Attention branch (Ha heads) and Mamba branch (Hs heads) on the same input, fused.

    a = attention heads concatenated [Ha*dh]; s = y * silu(z) of the Mamba branch [E_b].
    branch_norm: a = rms_per_head(a) * attn_norm, s = rms_per_head(s) * ssm_norm.
    branch_scalars: a *= attn_scale, s *= ssm_scale.
    separate: o_proj(a) (+|-) out_proj(s);  joint: out_proj(a + s | a - s | [a | s])."""

    def __init__(self, cfg: Config):
        super().__init__()
        ac, mc, ic = cfg.attention, cfg.mamba, cfg.intra
        self.fusion, self.joint = ic.fusion, ic.out_proj == "joint"
        self.branch_norm, self.branch_scalars = ic.branch_norm, ic.branch_scalars
        self.Wa = ic.attn_heads * ac.head_dim                        # Ha*dh
        self.Wb = ic.ssm_heads * mc.head_dim                         # E_b
        self.attn = Attention(cfg.d_model, ic.attn_heads, ic.attn_kv_heads, ac.head_dim, ac.rope_theta,
                              ac.window, ac.sink_tokens, with_o_proj=not self.joint)
        self.ssm = Mamba2(cfg.d_model, ic.ssm_heads, mc.head_dim, mc.d_state, mc.n_groups, mc.conv_width,
                          cfg.norm_eps, with_norm_and_out=False)
        if not self.joint:
            self.ssm.out_proj = nn.Linear(self.Wb, cfg.d_model, bias=False)  # [D, E_b]
        if self.branch_norm:
            self.attn_norm = GroupRMSNorm(self.Wa, ac.head_dim, cfg.norm_eps)  # [Ha*dh]
            self.ssm_norm = GroupRMSNorm(self.Wb, mc.head_dim, cfg.norm_eps)   # [E_b]
        if self.branch_scalars:
            self.attn_scale = nn.Parameter(torch.ones(1))            # [1]
            self.ssm_scale = nn.Parameter(torch.ones(1))             # [1]
        if self.joint:
            d_in = self.Wa + self.Wb if self.fusion == "concat" else self.Wa
            self.out_proj = nn.Linear(d_in, cfg.d_model, bias=False)  # [D, Ha*dh (+ E_b)]

    def forward(self, x, cache=None, want_probes: bool = False, ssd: str = "recurrent", chunk_size: int = 64):
        a, probs = self.attn.heads(x, None if cache is None else cache["attn"], want_probes)  # [B, T, Ha*dh]
        s, probes = self.ssm.gated(x, None if cache is None else cache["ssm"], want_probes, ssd, chunk_size)  # [B, T, E_b]
        if self.branch_norm:
            a, s = self.attn_norm(a), self.ssm_norm(s)
        if self.branch_scalars:
            a, s = a * self.attn_scale, s * self.ssm_scale
        # each branch's contribution in D-space (Mamba's before the subtract sign)
        if not self.joint:
            ca, cs = self.attn.o_proj(a), self.ssm.out_proj(s)
        elif self.fusion == "concat":
            Wt = self.out_proj.weight                                # [D, Ha*dh + E_b]
            ca, cs = F.linear(a, Wt[:, :self.Wa]), F.linear(s, Wt[:, self.Wa:])
        else:
            ca, cs = self.out_proj(a), self.out_proj(s)
        if self.joint:
            if self.fusion == "concat":
                out = self.out_proj(torch.cat([a, s], dim=-1))       # [Ha*dh + E_b] -> D
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

    def __init__(self, cfg: Config, kind: str):
        super().__init__()
        self.kind = kind
        self.mixer_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        if kind == "attention":
            a = cfg.attention
            self.mixer = Attention(cfg.d_model, a.n_heads, a.n_kv_heads, a.head_dim, a.rope_theta,
                                   a.window, a.sink_tokens)
        elif kind == "mamba":
            m = cfg.mamba
            self.mixer = Mamba2(cfg.d_model, cfg.mamba_heads, m.head_dim, m.d_state, m.n_groups,
                                m.conv_width, cfg.norm_eps)
        else:
            self.mixer = IntraMixer(cfg)
        self.ffn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.ffn = SwiGLU(cfg.d_model, cfg.d_ffn)

    def forward(self, x, cache=None, want_probes=False, ssd="recurrent", chunk_size=64):
        h = self.mixer_norm(x)
        if self.kind == "attention":
            out, probes = self.mixer(h, cache, want_probes)
        else:
            out, probes = self.mixer(h, cache, want_probes, ssd, chunk_size)
        x = x + out
        x = x + self.ffn(self.ffn_norm(x))
        return x, probes


class InferenceCache:
    """Per-block decoding state: KV cache (attention), conv window + SSM state (Mamba),
    both (intra). Used by ``HybridLM.forward(..., cache=...)`` to continue a sequence."""

    def __init__(self, cfg: Config):
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
        self.layers = nn.ModuleList(Block(cfg, k) for k in cfg.layers)
        self.norm_f = RMSNorm(cfg.d_model, cfg.norm_eps)
        if not cfg.tie_embeddings:
            self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)  # [V, D]
        init_weights_(self)

    def head_weight(self):
        return self.embed_tokens.weight if self.cfg.tie_embeddings else self.lm_head.weight

    def forward(self, tokens: torch.Tensor, return_probes: bool = False, cache: Optional[InferenceCache] = None,
                ssd: str = "recurrent", chunk_size: int = 64):
        """tokens [B, T] (int) -> logits [B, T, V] (and, with ``return_probes``, a dict
        ``{"probe.{i}.<name>": tensor}`` for batch element 0, the names of docs/FORMAT.md).

        ``cache``: an InferenceCache to continue from (updated in place), e.g. one token at a
        time. ``ssd``: "recurrent" (sequential scan, always used for probes) or "chunked"."""
        x = self.embed_tokens(tokens)                                   # [B, T, D]
        probes = {}
        for i, block in enumerate(self.layers):
            c = None if cache is None else cache.blocks[i]
            x, p = block(x, c, return_probes, ssd, chunk_size)
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
