"""Interventions (issue #11) for the PyTorch twin, as the Rust engine applies them
(``core/src/intervene/``, docs/FORMAT.md "Interventions"): the same JSON, a list of
``{"kind": ..., "layer": i, ...}``, turned into one ``LayerPlan`` per block, which
``HybridLM.forward(..., interventions=...)`` hands to each block. Never changes a weight.

    kind              fields                        what changes (block i)
    branch_scale      branch "attn"|"ssm", scale k   intra: a *= k (or s *= k) after norm and scalars
    branch_norm_off   branch "attn"|"ssm"|null       intra: that branch norm (null: both) is skipped
    skip              part "mixer"|"ffn"             that residual add is skipped (the mixer still runs)
    window            window w                       attention window w (replacing its own; sinks kept)
    hide              from a, to b                   keys a <= s < b hidden from query t unless s == t
    ssm_reset         at t0, heads [h..]|null        S of those heads := 0 just before token t0
    ssm_freeze        from t0, heads                 dt := 0 for t >= t0 (after the dt edits)
    dt                heads, op {"scale": k}|{"max": m}   dt := k dt or min(dt, m) (m null: +inf)

Positions are absolute (t counts from 0 over the whole run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import torch

KINDS = ("branch_scale", "branch_norm_off", "skip", "window", "hide", "ssm_reset", "ssm_freeze", "dt")


@dataclass
class LayerPlan:
    """What one block does differently; ``LayerPlan()`` changes nothing."""
    attn_scale: Optional[float] = None
    ssm_scale: Optional[float] = None
    attn_norm: bool = True
    ssm_norm: bool = True
    skip_mixer: bool = False
    skip_ffn: bool = False
    window: Optional[int] = None
    hide: list = field(default_factory=list)      # [(from, to)]
    resets: list = field(default_factory=list)    # [(at, heads or None)]
    dt: list = field(default_factory=list)        # [(heads or None, "scale"|"max", value)]
    freezes: list = field(default_factory=list)   # [(from, heads or None)]


def parse(text_or_list) -> list:
    """The JSON of a set (a string, a list, or one object) -> a list of dicts."""
    v = json.loads(text_or_list) if isinstance(text_or_list, str) else text_or_list
    return [v] if isinstance(v, dict) else list(v)


def plan(interventions, n_layers: int) -> list:
    """One LayerPlan per block (the Rust engine checks a set in full; this one only checks
    the layer and the kind)."""
    plans = [LayerPlan() for _ in range(n_layers)]
    for iv in parse(interventions):
        kind, i = iv["kind"], iv["layer"]
        if kind not in KINDS or not 0 <= i < n_layers:
            raise ValueError(f"intervention {iv}: unknown kind or layer")
        p = plans[i]
        if kind == "branch_scale":
            name = "attn_scale" if iv["branch"] == "attn" else "ssm_scale"
            old = getattr(p, name)
            setattr(p, name, (1.0 if old is None else old) * float(iv["scale"]))
        elif kind == "branch_norm_off":
            b = iv.get("branch")
            if b != "ssm":
                p.attn_norm = False
            if b != "attn":
                p.ssm_norm = False
        elif kind == "skip":
            if iv["part"] == "mixer":
                p.skip_mixer = True
            else:
                p.skip_ffn = True
        elif kind == "window":
            p.window = int(iv["window"])
        elif kind == "hide":
            p.hide.append((int(iv["from"]), int(iv["to"])))
        elif kind == "ssm_reset":
            p.resets.append((int(iv["at"]), iv.get("heads")))
        elif kind == "ssm_freeze":
            p.freezes.append((int(iv["from"]), iv.get("heads")))
        else:
            (op, val), = iv["op"].items()
            p.dt.append((iv.get("heads"), op, float("inf") if val is None else float(val)))
    return plans


def _head_mask(heads, H: int, device) -> torch.Tensor:
    """Bool [H]: the chosen heads (None: all)."""
    m = torch.zeros(H, dtype=torch.bool, device=device)
    m[list(range(H)) if heads is None else list(heads)] = True
    return m


def edit_dt(dt: torch.Tensor, p: Optional[LayerPlan], pos0: int) -> torch.Tensor:
    """dt [B, T, H] (softplus applied) at positions pos0.. -> the dt edits in order, then
    the freezes (dt = 0 from their token on)."""
    if p is None or not (p.dt or p.freezes):
        return dt
    H, T = dt.shape[-1], dt.shape[1]
    for heads, op, val in p.dt:
        new = dt * val if op == "scale" else dt.clamp(max=val)
        dt = torch.where(_head_mask(heads, H, dt.device), new, dt)
    pos = torch.arange(pos0, pos0 + T, device=dt.device)
    for start, heads in p.freezes:
        m = (pos >= start)[:, None] & _head_mask(heads, H, dt.device)[None, :]   # [T, H]
        dt = torch.where(m, torch.zeros_like(dt), dt)
    return dt


def hidden(q_pos: torch.Tensor, k_pos: torch.Tensor, p: Optional[LayerPlan]) -> torch.Tensor:
    """Bool [Tq, Tk], True where key s is hidden from query t: in a hide range and s != t."""
    t, s = q_pos[:, None], k_pos[None, :]
    out = torch.zeros(len(q_pos), len(k_pos), dtype=torch.bool, device=q_pos.device)
    for a, b in ([] if p is None else p.hide):
        out |= (s >= a) & (s < b) & (s != t)
    return out


def resets_inside(p: Optional[LayerPlan], pos0: int, T: int) -> list:
    """[(j, heads)]: the resets at tokens pos0 + j inside this call, in order."""
    if p is None:
        return []
    return sorted(((at - pos0, heads) for at, heads in p.resets if pos0 <= at < pos0 + T),
                  key=lambda r: r[0])


def scan_with_resets(scan, x, dt, Bm, C, state, cuts, H: int):
    """Run ``scan(x, dt, Bm, C, state) -> (y, S, *states)`` over [B, T, ...] in segments cut
    before each reset token, zeroing S of the reset heads there. Returns (y, S, states or
    None): y and states concatenated over the segments."""
    bounds = [j for j, _ in cuts] + [x.shape[1]]
    ys, sts, start = [], [], 0
    heads_at = {}
    for j, heads in cuts:
        heads_at.setdefault(j, []).append(heads)
    S = state
    for j in bounds:
        if j > start:
            y, S, *rest = scan(x[:, start:j], dt[:, start:j], Bm[:, start:j], C[:, start:j], S)
            ys.append(y)
            if rest:
                sts.append(rest[0])
            start = j
        for heads in heads_at.pop(j, []):
            if S is None:
                continue
            keep = ~_head_mask(heads, H, S.device)
            S = S * keep[None, :, None, None].to(S.dtype)
    return torch.cat(ys, dim=1), S, (torch.cat(sts, dim=1) if sts else None)


def cut_implicit(M: torch.Tensor, cuts, H: int) -> torch.Tensor:
    """The implicit attention [H, T, T] with every path across a reset cut (M[h, t, s] = 0
    for s < j <= t on a reset head)."""
    T = M.shape[-1]
    idx = torch.arange(T, device=M.device)
    for j, heads in cuts:
        m = (idx[:, None] >= j) & (idx[None, :] < j)                      # [T, T]
        m = _head_mask(heads, H, M.device)[:, None, None] & m[None]      # [H, T, T]
        M = M.masked_fill(m, 0.0)
    return M
