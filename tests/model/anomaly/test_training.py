"""The inpainter's trainer: losses, bf16 autocast on the CPU, and a run that saves and resumes."""

from __future__ import annotations

import json

import numpy as np
import torch

from model import cpu_speed
from model.anomaly.inpainter import Inpainter, InpainterConfig
from model.anomaly.networks import NetworkConfig
from model.anomaly.training import TrainConfig, diffusion_losses, make_batch, train_inpainter

TINY = NetworkConfig(width=8, farm_width=4, time_dim=16)


def bank(count: int = 6, crop: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(count, crop, crop, 3), dtype=np.uint8)


def test_bf16_losses_are_float32_and_close_to_the_float32_ones() -> None:
    torch.manual_seed(0)
    model = Inpainter(InpainterConfig(network=TINY, crop=32))
    x0, mask, background = make_batch(bank(), TrainConfig(batch=4), np.random.default_rng(1))
    exact = diffusion_losses(model, x0, mask, background, torch.Generator().manual_seed(2))
    rounded = diffusion_losses(model, x0, mask, background, torch.Generator().manual_seed(2), bf16=True)
    for a, b in zip(exact, rounded, strict=True):
        assert b.dtype == torch.float32 and torch.isfinite(b)
        assert abs(a.item() - b.item()) < 0.05 * a.item() + 1e-4
    assert rounded[0].requires_grad  # gradients reach the float32 weights through autocast


def test_a_bf16_run_trains_saves_and_resumes(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cpu_speed, "bf16_speedup", lambda model: (100.0, 50.0))
    config = TrainConfig(steps=2, batch=2, save_every=1, cpu_bf16=True)
    model_config = InpainterConfig(network=TINY)
    train_inpainter(bank(), tmp_path, config, model_config, progress=False)
    assert json.loads((tmp_path / "state.json").read_text())["step"] == 2
    model = train_inpainter(
        bank(), tmp_path, TrainConfig(steps=3, batch=2, cpu_bf16=True), model_config, False
    )
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2, 3]
    assert all(np.isfinite(row["noise"]) and np.isfinite(row["farm"]) for row in log)
    assert all(p.dtype == torch.float32 for p in model.parameters())
