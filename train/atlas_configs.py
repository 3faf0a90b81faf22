"""The ablation atlas of issue #16: which configs, how they are built, parameters matched.

Shakespeare configs have 6 blocks (d_model 128), recall configs 4 (d_model 96, the size with
which the "atlas" recall recipe is known to learn; 6 would cost 1.5x the device time), and the
zoo's mixers (zoo_models: attention 4 heads of 32, 2 KV heads; Mamba-2 expand 2, head dim 32,
d_state 32, 1 group, conv 4). ``d_ffn`` is chosen per config (a multiple of 16) so that the
parameter count is within ``MATCH`` of the task's Mamba-2 config; ``matched_atlas`` asserts
it. docs/METRICS.md has the table in words.
"""

from __future__ import annotations

import dataclasses

from hybrid_twin import AttentionConfig, Config, IntraConfig, MambaConfig
from zoo_models import ATTN_HEAD_DIM, MAMBA, N_HEADS, N_KV_HEADS, TaskSpec, n_params, task_spec

PLAN_INDEX = {"shakespeare": 0, "recall": 1}
MATCH = 0.02            # |params / params_ref - 1| <= MATCH
SWA_WINDOW = 64         # tokens, a quarter of the training length

# The intra reference: blocks 1 and 4 (Shakespeare) / block 1 (recall), 2 attention heads (1 KV) + 2 SSM heads, branch norm,
# subtract, separate output projections, no scalars.
INTRA_PLAN = ("mimmim", "mimm")
INTRA_REF = dict(attn_heads=2, attn_kv_heads=1, ssm_heads=2, fusion="subtract", branch_norm=True,
                 out_proj="separate", branch_scalars=False)


@dataclasses.dataclass(frozen=True)
class AtlasSpec:
    config_id: str
    group: str                  # baseline | inter-ratio | inter-placement | intra-axis | equivalence
    axis: str                   # what differs from the group's reference, in words
    plans: tuple                # (Shakespeare, recall) layer plans, one letter per block: a attention,
                                # m mamba, i intra; None: not in that task's atlas
    intra: tuple = ()           # (key, value) overrides of INTRA_REF
    window: int | None = None   # sliding window of every attention mixer
    same_as: tuple = ()         # config_ids that are the same architecture / the same function


# Layer plans per task: (Shakespeare, 6 blocks; recall, 4 blocks). None: not in that task's
# atlas (a 1:5 ratio needs 6 blocks; "spread" needs 2 attention blocks).
SPECS = (
    AtlasSpec("transformer", "baseline", "attention only (also the inter ratio 'all attention')",
              ("aaaaaa", "aaaa")),
    AtlasSpec("swa", "baseline", f"attention only, every layer a {SWA_WINDOW}-token sliding window",
              ("aaaaaa", "aaaa"), window=SWA_WINDOW),
    AtlasSpec("mamba2", "baseline", "Mamba-2 only (also the inter ratio 'no attention')", ("mmmmmm", "mmmm")),
    AtlasSpec("inter-1to5", "inter-ratio", "attention:Mamba 1:5", ("mmammm", None)),
    AtlasSpec("inter-1to2", "inter-ratio", "attention:Mamba 1:2 (6 blocks: the stand-in for 1:3); placement "
              "'spread'", ("mammam", None)),
    AtlasSpec("inter-1to3", "inter-ratio", "attention:Mamba 1:3; placement: block 1 (the zoo's inter)",
              (None, "mamm")),
    AtlasSpec("inter-1to1", "inter-ratio", "attention:Mamba 1:1", ("mamama", "mama")),
    AtlasSpec("inter-front", "inter-placement", "attention first (Shakespeare 1:2, recall 1:3)", ("aammmm", "ammm")),
    AtlasSpec("inter-middle", "inter-placement", "attention in the middle (Shakespeare 1:2, recall 1:3 at block 2)",
              ("mmaamm", "mmam")),
    AtlasSpec("inter-back", "inter-placement", "attention last (Shakespeare 1:2, recall 1:3)", ("mmmmaa", "mmma")),
    AtlasSpec("intra", "intra-axis", "the intra reference: branch norm, subtract, separate projections, "
              "2:2 heads, V = Q/K head size, no scalars", INTRA_PLAN),
    AtlasSpec("intra-nonorm", "intra-axis", "branch norm off", INTRA_PLAN, intra=(("branch_norm", False),)),
    AtlasSpec("intra-joint", "intra-axis", "one joint output projection of (attention - Mamba)", INTRA_PLAN,
              intra=(("out_proj", "joint"),)),
    AtlasSpec("intra-vhalf", "intra-axis", "attention value heads of 16 (Q/K 32): V reduced", INTRA_PLAN,
              intra=(("attn_v_head_dim", 16),)),
    AtlasSpec("intra-split13", "intra-axis", "attention:SSM heads 1:3", INTRA_PLAN,
              intra=(("attn_heads", 1), ("ssm_heads", 3))),
    AtlasSpec("intra-split31", "intra-axis", "attention:SSM heads 3:1", INTRA_PLAN,
              intra=(("attn_heads", 3), ("ssm_heads", 1))),
    AtlasSpec("intra-scalars", "intra-axis", "learned per-branch scalars on", INTRA_PLAN,
              intra=(("branch_scalars", True),)),
    AtlasSpec("intra-concat", "equivalence", "concat + one joint projection: the same function as the "
              "reference (= separate add with the Mamba projection negated), written another way", INTRA_PLAN,
              intra=(("fusion", "concat"), ("out_proj", "joint")), same_as=("intra",)),
)
KINDS = {"a": "attention", "m": "mamba", "i": "intra"}


def v_head_dim_supported() -> bool:
    """The twin has a separate value head size (helper h1-format's change) or not yet."""
    return "attn_v_head_dim" in {f.name for f in dataclasses.fields(IntraConfig)}


def specs(task: str) -> list[AtlasSpec]:
    """The atlas configs of a task that this twin can build (intra-vhalf needs the value head size)."""
    return [s for s in SPECS if s.plans[PLAN_INDEX[task]] is not None
            and (s.config_id != "intra-vhalf" or v_head_dim_supported())]


def plan(spec: AtlasSpec, task: str) -> str:
    return spec.plans[PLAN_INDEX[task]]




def build(task: TaskSpec, spec: AtlasSpec, d_ffn: int, max_seq_len: int | None = None) -> Config:
    layers = [KINDS[c] for c in plan(spec, task.name)]
    kinds = set(layers)
    attn = AttentionConfig(n_heads=N_HEADS, n_kv_heads=N_KV_HEADS, head_dim=ATTN_HEAD_DIM, window=spec.window) \
        if kinds & {"attention", "intra"} else None
    mamba = MambaConfig(**MAMBA) if kinds & {"mamba", "intra"} else None
    intra = None
    if "intra" in kinds:
        intra = IntraConfig(**{**INTRA_REF, **dict(spec.intra)})
    return Config(vocab_size=task.vocab_size, d_model=task.d_model, d_ffn=d_ffn, layers=layers,
                  max_seq_len=max_seq_len or task.seq_len, name=f"{task.name}-{spec.config_id}",
                  attention=attn, mamba=mamba, intra=intra)


def matched_atlas(task: TaskSpec, max_seq_len: int | None = None) -> dict[str, tuple[AtlasSpec, Config, int]]:
    """{config_id: (spec, Config, params_ref)}, d_ffn chosen so that every config is within
    MATCH of the Mamba-2 config with ``task.base_ffn``. Raises if one cannot be matched."""
    mamba = next(s for s in SPECS if s.config_id == "mamba2")
    ref = n_params(build(task, mamba, task.base_ffn))
    per_ffn = 3 * task.d_model * task.n_layers                # params per unit of d_ffn (SwiGLU)
    out = {}
    for spec in specs(task.name):
        base = n_params(build(task, spec, 16))
        guess = 16 + round((ref - base) / per_ffn / 16) * 16
        best = min((f for f in (guess - 16, guess, guess + 16) if f >= 16),
                   key=lambda f: abs(n_params(build(task, spec, f)) - ref))
        cfg = build(task, spec, best, max_seq_len)
        delta = n_params(cfg) / ref - 1
        assert abs(delta) <= MATCH, f"{task.name}-{spec.config_id}: params {delta:+.2%} off the Mamba-2 reference"
        out[spec.config_id] = (spec, cfg, ref)
    return out


def atlas_models(args) -> list[dict]:
    """Every run of the atlas for ``args.tasks`` x ``args.seeds`` (or ``args.seed``):
    {id, task, family (= config_id), config, seed, atlas}; ``args.only`` filters by config_id
    or run id (with or without the seed)."""
    out = []
    for tname in args.tasks:
        task = task_spec(tname, args)
        for cid, (spec, cfg, ref) in matched_atlas(task).items():
            if args.only and not any(o in (cid, f"{tname}-{cid}") or o.startswith(f"{tname}-{cid}-s")
                                     for o in args.only):
                continue
            info = {"config_id": cid, "group": spec.group, "axis": spec.axis, "layers": plan(spec, tname),
                    "same_as": list(spec.same_as), "params_ref": ref}
            for seed in (args.seeds or [args.seed]):
                if args.only and cid not in args.only and f"{tname}-{cid}" not in args.only \
                        and f"{tname}-{cid}-s{seed}" not in args.only:
                    continue
                out.append({"id": f"{tname}-{cid}-s{seed}", "task": tname, "family": cid, "config": cfg,
                            "seed": seed, "atlas": info})
    return out
