"""The PyTorch twin's model config: config.json as dataclasses, checked like the Rust
loader (docs/FORMAT.md). Re-exported by hybrid_twin."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional


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
    head_dim: int = 16                # dh: query/key head size
    rope_theta: float = 10000.0
    window: Optional[int] = None  # None: full causal attention
    sink_tokens: int = 0
    v_head_dim: Optional[int] = None  # dv: value head size; None = head_dim

    @property
    def dv(self) -> int:
        return self.head_dim if self.v_head_dim is None else self.v_head_dim


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
    attn_v_head_dim: Optional[int] = None  # dva: the branch's value head size; None = attention's dv


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
    # one entry per layer: None = full attention, n = window of n tokens; overrides attention.window
    windows: Optional[list] = None
    notes: Optional[dict] = None  # free text by topic; ignored by the model

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

    def layer_window(self, i: Optional[int]) -> Optional[int]:
        """Block i's sliding window: windows[i] when ``windows`` is given, else attention.window
        (also for i = None: a block built without its index)."""
        if self.windows is not None and i is not None:
            return self.windows[i]
        return None if self.attention is None else self.attention.window

    @property
    def intra_v_head_dim(self) -> int:  # dva
        i = self.intra
        return self.attention.dv if i is None or i.attn_v_head_dim is None else i.attn_v_head_dim

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
            if a.v_head_dim is not None and a.v_head_dim < 1:
                raise ValueError("attention: v_head_dim must be >= 1 or null")
        if self.windows is not None:
            if len(self.windows) != len(self.layers):
                raise ValueError(f"windows: {len(self.windows)} entries but layers has {len(self.layers)}")
            for i, (w, k) in enumerate(zip(self.windows, self.layers)):
                if w is not None and w < 1:
                    raise ValueError(f"windows[{i}] = {w}: a window must be >= 1 (null = full attention)")
                if w is not None and k == "mamba":
                    raise ValueError(f'windows[{i}] = {w} but layer {i} is "mamba": write null')
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
            if i.attn_v_head_dim is not None and i.attn_v_head_dim < 1:
                raise ValueError("intra: attn_v_head_dim must be >= 1 or null")
            if i.out_proj == "joint" and i.fusion != "concat":
                if i.attn_heads * self.intra_v_head_dim != i.ssm_heads * self.mamba.head_dim:
                    raise ValueError("intra: joint add/subtract needs attn_heads*v_head_dim == ssm_heads*mamba.head_dim")

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
        # the optional keys added later (value head sizes, windows, notes) are written only
        # when set, so an unchanged model's config.json stays byte-identical
        def section(obj, optional):
            return {k: v for k, v in dataclasses.asdict(obj).items() if k not in optional or v is not None}
        if kinds & {"attention", "intra"}:
            out["attention"] = section(self.attention, {"v_head_dim"})
        if kinds & {"mamba", "intra"}:
            out["mamba"] = dataclasses.asdict(self.mamba)
        if "intra" in kinds:
            out["intra"] = section(self.intra, {"attn_v_head_dim"})
        if self.windows is not None:
            out["windows"] = list(self.windows)
        if self.notes is not None:
            out["notes"] = dict(self.notes)
        return out

    @classmethod
    def load(cls, path) -> "Config":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
