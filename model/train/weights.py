"""Starting a run's G (and E) from other runs: the same architecture, or a global G for a local one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from model.checkpoint import LoadedModel, load_checkpoint
from model.errors import CheckpointError
from model.networks.generator import LocalEnhancer


def load_run_or_checkpoint(path: Path) -> tuple[Path, LoadedModel]:
    """A run folder (its ``checkpoint/``) or a checkpoint itself: (the folder read, the model)."""
    source = path / "checkpoint" if (path / "checkpoint").is_dir() else path
    return source, load_checkpoint(source)


def global_parameters(generator: nn.Module) -> list[nn.Parameter]:
    """The parameters of a LocalEnhancer's global part (``model.*``); none for a global G."""
    return list(generator.model.parameters()) if isinstance(generator, LocalEnhancer) else []


def load_global_into_local(local: LocalEnhancer, global_state: Mapping[str, torch.Tensor]) -> int:
    """Copy a trained GlobalGenerator's layers (all but its RGB output) into ``local.model``;
    returns how many tensors were copied."""
    own = local.model.state_dict()
    copied = {}
    for key, value in global_state.items():
        inner = key.removeprefix("model.")
        if inner in own:
            if tuple(own[inner].shape) != tuple(value.shape):
                raise CheckpointError(
                    f"global weights '{key}' are {tuple(value.shape)}, the enhancer's global part needs "
                    f"{tuple(own[inner].shape)} (global ngf must be ngf·2^levels)"
                )
            copied[inner] = value
    missing = [k for k in own if k not in copied]
    if missing:
        raise CheckpointError(f"global weights lack {missing[:3]}")
    local.model.load_state_dict(copied)
    return len(copied)


def widened_inputs(
    own: Mapping[str, torch.Tensor], source: Mapping[str, torch.Tensor], extra: int
) -> dict[str, torch.Tensor]:
    """``source`` for a G that reads ``extra`` more input channels (noise, appended last): every conv
    weight that reads the input gets zero weights on them, so G computes what the source did."""
    out = {}
    for key, value in source.items():
        want = own[key].shape if key in own else value.shape
        if tuple(want) != tuple(value.shape):
            if value.dim() != 4 or want[1] != value.shape[1] + extra or want[0] != value.shape[0]:
                raise CheckpointError(f"'{key}' is {tuple(value.shape)}, this G needs {tuple(want)}")
            value = torch.cat([value, value.new_zeros(value.shape[0], extra, *value.shape[2:])], 1)
        out[key] = value
    return out
