"""Checkpoint folders in the format of docs/FORMAT.md: ``config.json`` + ``model.safetensors``.

    save_checkpoint(model, "out/inter", dtype="bf16")
    model = load_checkpoint("out/inter")            # float32 parameters

The stored names are ``model.state_dict()`` keys (the twin's module names are the format's
tensor names). With a tied head there is no ``lm_head.weight``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from hybrid_twin import Config, HybridLM

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def storage_dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {name!r}") from None


def model_tensors(model: HybridLM, dtype: str = "f32") -> dict[str, torch.Tensor]:
    """The state dict as contiguous CPU tensors of the storage dtype."""
    dt = storage_dtype(dtype)
    return {k: v.detach().to("cpu", dt).contiguous() for k, v in model.state_dict().items()}


@torch.no_grad()
def round_weights_(model: HybridLM, dtype: str) -> HybridLM:
    """Round every parameter to ``dtype`` and back, in place: the weights the engine will see."""
    dt = storage_dtype(dtype)
    for p in model.parameters():
        p.copy_(p.to(dt).to(p.dtype))
    return model


def save_checkpoint(model: HybridLM, folder, dtype: str = "f32") -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.cfg.save(folder / "config.json")
    save_file(model_tensors(model, dtype), str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def load_checkpoint(folder, dtype: torch.dtype = torch.float32, strict: bool = True) -> HybridLM:
    """Load a folder into a HybridLM whose parameters are ``dtype`` (f16/bf16 weights are
    widened exactly). Shape mismatches raise with the tensor's name."""
    folder = Path(folder)
    cfg = Config.load(folder / "config.json")
    model = HybridLM(cfg)
    tensors = load_file(str(folder / "model.safetensors"))
    expected = model.state_dict()
    if strict:
        missing = sorted(set(expected) - set(tensors))
        extra = sorted(set(tensors) - set(expected))
        if missing or extra:
            raise ValueError(f"{folder}: missing tensors {missing}, unexpected tensors {extra}")
    for k, v in tensors.items():
        if k in expected and tuple(v.shape) != tuple(expected[k].shape):
            raise ValueError(f"{folder}: tensor {k}: expected shape {list(expected[k].shape)}, found {list(v.shape)}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=strict)
    return model.to(dtype)
