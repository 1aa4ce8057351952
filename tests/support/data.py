"""Tiny synthetic street scenes and dataset folders shared by the training, feature and evaluation tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

SKY, ROAD, BUILDING, CAR = 23, 7, 11, 26
COLOURS = {SKY: (70, 130, 180), ROAD: (128, 64, 128), BUILDING: (90, 90, 90), CAR: (200, 30, 30)}


def tiny_scene(index: int, height: int = 32, width: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels uint8, instances int32, image uint8): sky / building / road bands and two cars."""
    rng = np.random.default_rng(index)
    labels = np.full((height, width), ROAD, np.uint8)
    labels[: height // 3] = SKY
    labels[height // 3 : height // 2, :] = BUILDING
    instances = labels.astype(np.int32)
    for k in range(2):
        x0 = (
            int(rng.integers(0, width - 16))
            if k == 0
            else (width // 2 + int(rng.integers(0, width // 2 - 16)))
        )
        y0 = height // 2 + int(rng.integers(0, height // 4))
        labels[y0 : y0 + 8, x0 : x0 + 12] = CAR
        instances[y0 : y0 + 8, x0 : x0 + 12] = CAR * 1000 + k
    image = np.zeros((height, width, 3), np.uint8)
    for class_id, colour in COLOURS.items():
        image[labels == class_id] = colour
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    return labels, instances, image


class TinyScenes(Dataset):
    def __init__(self, count: int = 2, height: int = 32, width: int = 64) -> None:
        self.scenes = [tiny_scene(i, height, width) for i in range(count)]

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, i: int) -> dict:
        labels, instances, image = self.scenes[i]
        return {
            "label": torch.from_numpy(labels.astype(np.int64)),
            "inst": torch.from_numpy(instances.astype(np.int64)),
            "image": torch.from_numpy(image.transpose(2, 0, 1).copy()).float().div(127.5).sub(1.0),
            "path": f"tiny_{i}",
        }


def write_folder(
    root: Path, phase: str, count: int, start: int = 0, height: int = 32, width: int = 64
) -> Path:
    from model.scene_io import write_png

    for kind in ("label", "inst", "img"):
        (root / f"{phase}_{kind}").mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        labels, instances, image = tiny_scene(i, height, width)
        write_png(root / f"{phase}_label" / f"s{i:03d}.png", labels)
        write_png(root / f"{phase}_inst" / f"s{i:03d}.png", instances.astype(np.uint16))
        write_png(root / f"{phase}_img" / f"s{i:03d}.png", image)
    return root
