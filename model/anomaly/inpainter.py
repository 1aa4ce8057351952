"""The inpainter: denoiser + FARM + noise schedule, and its checkpoint (safetensors + JSON).

A checkpoint folder holds ``inpainter.safetensors`` (tensors prefixed ``denoiser.`` and ``farm.``)
and ``config.json`` (network, schedule, crop size, the families it was trained on, its step).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors_bytes

from model.anomaly.networks import DenoiserUNet, Farm, NetworkConfig
from model.anomaly.schedule import NoiseSchedule, ScheduleConfig
from model.atomic_files import atomic_write_bytes
from model.errors import CheckpointError, read_json_file

WEIGHTS_FILE = "inpainter.safetensors"
CONFIG_FILE = "config.json"
FORMAT_NAME = "pix2pixhd-editor-inpainter"


@dataclass(frozen=True)
class InpainterConfig:
    network: NetworkConfig = NetworkConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    crop: int = 64  # side of the square crop the networks see
    families: tuple[str, ...] = ()  # anomaly families in its training data
    step: int = 0  # optimiser steps trained
    extra: dict[str, str] = field(default_factory=dict)


class Inpainter(torch.nn.Module):
    def __init__(self, config: InpainterConfig = InpainterConfig()) -> None:
        super().__init__()
        self.config = config
        self.denoiser = DenoiserUNet(config.network)
        self.farm = Farm(config.network)
        self.schedule = NoiseSchedule(config.schedule)


def config_to_json(config: InpainterConfig) -> str:
    data = asdict(config)
    data["format"] = FORMAT_NAME
    return json.dumps(data, indent=2)


def config_from_json(data: object, path: Path) -> InpainterConfig:
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise CheckpointError("not an inpainter config (format field missing or wrong)", path)
    try:
        return InpainterConfig(
            network=NetworkConfig(**data["network"]),
            schedule=ScheduleConfig(**data["schedule"]),
            crop=int(data["crop"]),
            families=tuple(data.get("families", ())),
            step=int(data.get("step", 0)),
            extra=dict(data.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"malformed inpainter config ({exc})", path) from None


def save_inpainter(folder: Path, model: Inpainter, step: int | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = model.config
    if step is not None:
        config = InpainterConfig(
            config.network, config.schedule, config.crop, config.families, step, config.extra
        )
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write_bytes(folder / WEIGHTS_FILE, save_tensors_bytes(tensors))
    atomic_write_bytes(folder / CONFIG_FILE, config_to_json(config).encode())


def load_inpainter(folder: str | Path) -> Inpainter:
    """Load a checkpoint folder; a missing or mismatched one raises CheckpointError naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError("inpainter checkpoint folder not found", folder)
    config = config_from_json(
        read_json_file(folder / CONFIG_FILE, CheckpointError, "inpainter config"), folder / CONFIG_FILE
    )
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError("inpainter weights not found", weights)
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises several types for truncated or foreign files
        raise CheckpointError(f"cannot read inpainter weights ({exc})", weights) from None
    model = Inpainter(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"weights do not fit the config ({first})", weights) from None
    return model.eval()
