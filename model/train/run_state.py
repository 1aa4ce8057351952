"""What a run writes and reads back: the exported checkpoint and the state that resuming needs.

Every save goes through ``model.atomic_files``, each folder's files as one set, so that a run killed
at any instant leaves each set all old or all new:

- ``checkpoint/``: the native checkpoint and ``training.json`` (the step and the config);
- ``saves/step_N/`` (with ``run.keep_saves``): the same files again;
- the training state: ``state.safetensors`` holds G/E (``G.``), D (``D.``), the weight average
  (``A.``) and both optimisers' tensors (``optG.``/``optD.``); ``state.json`` the step, the
  optimisers' param groups and the config. Resuming reads them through ``reading``, which first
  completes a save that was killed after its commit point. Nothing is pickled.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save
from torch import nn

from model.atomic_files import atomic_write_files, reading
from model.checkpoint import ModelConfig, checkpoint_files
from model.errors import CheckpointError
from model.train.config import TrainConfig

log = logging.getLogger(__name__)

STATE_FILE = "state.safetensors"
STATE_JSON = "state.json"
CHECKPOINT_DIR = "checkpoint"
SAVES_DIR = "saves"  # with run.keep_saves: one exported checkpoint per save, step_NNNNNNN
TRAINING_JSON = "training.json"  # beside the exported checkpoint: {"step", "train": the config}


def export_checkpoint(
    config: TrainConfig, model_config: ModelConfig, generator: nn.Module, encoder: nn.Module | None, step: int
) -> Path:
    """The native checkpoint in ``run_dir/checkpoint`` (and a copy in ``saves/`` when kept)."""
    folder = config.run_dir / CHECKPOINT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    files = checkpoint_files(folder, model_config, generator, encoder)
    record = {"step": step, "train": config.to_json()}
    files[folder / TRAINING_JSON] = json.dumps(record, indent=1).encode("utf-8")
    atomic_write_files(files)
    if config.run.keep_saves:
        kept = config.run_dir / SAVES_DIR / f"step_{step:07d}"
        if kept.exists():
            shutil.rmtree(kept)
        kept.mkdir(parents=True)
        atomic_write_files({kept / path.name: data for path, data in files.items()})
    return folder


def optimizer_tensors(optimizer: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], list]:
    """An optimiser's state as flat tensors + JSON-able param groups."""
    state = optimizer.state_dict()
    tensors = {
        f"{prefix}.{index}.{name}": value.detach().cpu().contiguous()
        for index, slots in state["state"].items()
        for name, value in slots.items()
        if isinstance(value, torch.Tensor)
    }
    groups = [
        {k: list(v) if isinstance(v, tuple) else v for k, v in group.items()}
        for group in state["param_groups"]
    ]
    return tensors, groups


def restore_optimizer(
    optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], prefix: str, groups: list
) -> None:
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1 :].split(".", 1)
            slots.setdefault(int(index), {})[name] = value
    restored = [{k: tuple(v) if k == "betas" else v for k, v in group.items()} for group in groups]
    optimizer.load_state_dict({"state": slots, "param_groups": restored})


@dataclass
class Trainable:
    """The parts of a run that change every step."""

    stack: nn.Module
    D: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    average: nn.Module | None = None  # the weight average's module, when the run keeps one


def _cpu(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def save_state(run_dir: Path, step: int, config: TrainConfig, parts: Trainable) -> None:
    tensors = {**_cpu("G", parts.stack), **_cpu("D", parts.D)}
    if parts.average is not None:
        tensors.update(_cpu("A", parts.average))
    opt_g, groups_g = optimizer_tensors(parts.opt_G, "optG")
    opt_d, groups_d = optimizer_tensors(parts.opt_D, "optD")
    meta: dict[str, Any] = {
        "step": step,
        "param_groups_G": groups_g,
        "param_groups_D": groups_d,
        "config": config.to_json(),
    }
    atomic_write_files(
        {
            run_dir / STATE_FILE: save({**tensors, **opt_g, **opt_d}),
            run_dir / STATE_JSON: json.dumps(meta, indent=1).encode("utf-8"),
        }
    )


def load_state(run_dir: Path, parts: Trainable) -> tuple[int, dict[str, torch.Tensor]] | None:
    """Restore ``parts`` from ``run_dir/state.*``: (the saved step, the saved weight average, empty
    when the run kept none), or None when there is no state to resume."""
    paths = (run_dir / STATE_FILE, run_dir / STATE_JSON)
    try:
        with reading(paths) as recovery:  # a save killed after its commit point is completed first
            if recovery.notice:
                log.warning("%s: %s", run_dir, recovery.notice)
            if not all(path.exists() for path in paths):
                return None
            state_json = paths[1].read_bytes()
            state_bytes = paths[0].read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot resume ({exc.strerror or exc})", run_dir) from None
    try:
        meta = json.loads(state_json.decode("utf-8"))
        tensors = load(state_bytes)
        parts.stack.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("G.")})
        parts.D.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("D.")})
        restore_optimizer(parts.opt_G, tensors, "optG", meta["param_groups_G"])
        restore_optimizer(parts.opt_D, tensors, "optD", meta["param_groups_D"])
        saved_average = {k[2:]: v for k, v in tensors.items() if k.startswith("A.")}
        step = int(meta["step"])
    except (KeyError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"cannot resume ({exc.__class__.__name__}: {str(exc).splitlines()[0]})", run_dir
        ) from None
    return step, saved_average


def saved_discriminator(run_dir: Path) -> dict[str, torch.Tensor]:
    """D's weights from a run's training state (``state.safetensors``), for ``init_discriminator``."""
    path = run_dir / STATE_FILE
    try:
        with reading((path, run_dir / STATE_JSON)):
            data = path.read_bytes()
        weights = {k[2:]: v for k, v in load(data).items() if k.startswith("D.")}
    except (OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"no discriminator to start from ({exc})", path) from None
    if not weights:
        raise CheckpointError("the training state holds no discriminator", path)
    return weights
