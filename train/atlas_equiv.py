"""One intra model written three ways (issue #16's equivalence pair). An intra block with
separate output projections computes o_proj(a) - out_proj(s) (subtract) or o_proj(a) +
out_proj(s) (add); with fusion "concat" and one joint projection W it computes
W[:, :Wa] a + W[:, Wa:] s. So

    subtract (W_o, W_s) == add (W_o, -W_s) == concat ([W_o | -W_s])

exactly, for every input: the three are reparametrizations of one function, not three
models. ``rewrite`` converts a checkpoint of one form into another; test_atlas.py checks
equal logits. The atlas trains the subtract form (``intra``) and the concat form
(``intra-concat``): their difference is the spread of training from another init.
"""

from __future__ import annotations

import dataclasses

import torch

from hybrid_twin import Config

SIGN = {"subtract": -1.0, "add": 1.0}


def _form(cfg: Config) -> str:
    i = cfg.intra
    if i.out_proj == "joint":
        if i.fusion != "concat":
            raise ValueError(f"joint {i.fusion} is another model (one matrix for both branches), not a rewrite")
        return "concat"
    return i.fusion


def rewrite(cfg: Config, state: dict, to: str) -> tuple[Config, dict]:
    """(config, state dict) of an intra model in form "subtract" | "add" | "concat" -> the
    same function in form ``to``. Only the intra blocks' output projections change."""
    src = _form(cfg)
    new = {k: v for k, v in state.items()}
    for i, kind in enumerate(cfg.layers):
        if kind != "intra":
            continue
        p = f"layers.{i}.mixer."
        if src == "concat":
            W = new.pop(p + "out_proj.weight")                       # [D, Wa + Wb]
            wa = cfg.intra.attn_heads * cfg.intra_v_head_dim
            wo, ws = W[:, :wa], W[:, wa:]                            # as "add"
        else:
            wo, ws = new.pop(p + "attn.o_proj.weight"), new.pop(p + "ssm.out_proj.weight") * SIGN[src]
        if to == "concat":
            new[p + "out_proj.weight"] = torch.cat([wo, ws], dim=1)
        else:
            new[p + "attn.o_proj.weight"], new[p + "ssm.out_proj.weight"] = wo, ws * SIGN[to]
    fusion, out_proj = (to, "separate") if to != "concat" else ("concat", "joint")
    intra = dataclasses.replace(cfg.intra, fusion=fusion, out_proj=out_proj)
    return dataclasses.replace(cfg, intra=intra, name=f"{cfg.name or 'intra'}-as-{to}"), new
