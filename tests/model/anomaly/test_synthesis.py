"""Compositing leaves every pixel outside mask + feather band untouched; export round-trips; bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from model.anomaly.export import AnomalyPair, read_pair, write_pair
from model.anomaly.inpainter import Inpainter, InpainterConfig, load_inpainter, save_inpainter
from model.anomaly.networks import NetworkConfig
from model.anomaly.synthesis import ANOMALY, VOID, AnomalyError, SynthesisConfig, fill_mask, synthesize_frame
from model.errors import CheckpointError


def tiny_inpainter() -> Inpainter:
    torch.manual_seed(0)
    return Inpainter(InpainterConfig(NetworkConfig(width=8, farm_width=4, time_dim=16), crop=16)).eval()


def frame_and_mask() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (96, 160, 3), dtype=np.uint8)
    mask = np.zeros((96, 160), bool)
    cv2.circle(mask.view(np.uint8), (70, 50), 12, 1, -1)
    return frame, mask


@pytest.mark.parametrize("method", ["paste", "perlin", "diffusion"])
def test_pixels_outside_mask_and_feather_band_are_untouched(method: str) -> None:
    frame, mask = frame_and_mask()
    config = SynthesisConfig(method=method, steps=3, feather=3)
    out, label = fill_mask(frame, mask, config, seed=1, inpainter=tiny_inpainter())
    band = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert np.array_equal(out[~band], frame[~band])
    assert (label[mask] == ANOMALY).all()
    assert (label[~band] == 0).all() and (label == VOID).any()
    assert np.abs(out[mask].astype(int) - frame[mask]).mean() > 5


def test_export_round_trip(tmp_path) -> None:
    frame = np.zeros((64, 128, 3), np.uint8)
    labels = np.full((64, 128), 11, np.uint8)
    labels[32:] = 7  # road
    image, label, placed = synthesize_frame(
        frame, labels, 2, SynthesisConfig(method="paste", min_size=0.2, max_size=0.3), seed=3
    )
    assert placed
    pair = AnomalyPair(image, label, "paste", 3, 10, placed)
    write_pair(tmp_path, "f0", pair)
    back = read_pair(tmp_path, "f0")
    assert np.array_equal(back.image, image) and np.array_equal(back.label, label)
    assert (back.method, back.seed, back.steps) == ("paste", 3, 10)
    assert [p.box for p in back.anomalies] == [p.box for p in placed]


def test_inpainter_checkpoint_round_trip(tmp_path) -> None:
    model = tiny_inpainter()
    save_inpainter(tmp_path / "inp", model, step=7)
    back = load_inpainter(tmp_path / "inp")
    assert back.config.step == 7
    for (k, v), (k2, v2) in zip(model.state_dict().items(), back.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)


def test_bad_inputs_raise_one_clear_error(tmp_path) -> None:
    frame, mask = frame_and_mask()
    with pytest.raises(AnomalyError, match="empty"):
        fill_mask(frame, np.zeros_like(mask), SynthesisConfig(method="paste"), 0)
    with pytest.raises(AnomalyError, match="160x96"):
        fill_mask(frame, mask[:50], SynthesisConfig(method="paste"), 0)
    with pytest.raises(AnomalyError, match="inpainter"):
        fill_mask(frame, mask, SynthesisConfig(method="diffusion"), 0, inpainter=None)
    with pytest.raises(CheckpointError, match="not found"):
        load_inpainter(tmp_path / "missing")
