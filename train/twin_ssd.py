"""The Mamba-2 SSD scan of the PyTorch twin: the plain recurrence (the ground truth for
fixtures and probes), the chunked form (for training speed), the implicit attention,
and a check that the two scans agree. Re-exported by hybrid_twin."""

from __future__ import annotations

import torch
import torch.nn.functional as F

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
