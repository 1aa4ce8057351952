"""The bundled sample scenes as label / instance maps at a chosen size (bench, ONNX check)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from model.errors import EditorError
from model.labels import LabelSet, cityscapes
from model.resources import sample_scenes
from model.scene_io import load_scene


@dataclass(frozen=True)
class SampleMaps:
    name: str
    labels: np.ndarray  # H×W uint8 class ids
    instances: np.ndarray  # H×W int32 instance ids


def resize_nearest(array: np.ndarray, width: int, height: int) -> np.ndarray:
    if array.shape == (height, width):
        return array
    return cv2.resize(array, (width, height), interpolation=cv2.INTER_NEAREST)


def load_samples(width: int, height: int, label_set: LabelSet | None = None) -> list[SampleMaps]:
    """Every bundled sample scene, resized to width×height by nearest neighbour."""
    paths = sample_scenes()
    if not paths:
        raise EditorError("no bundled sample scenes found (assets/scenes)")
    label_set = label_set or cityscapes()
    out = []
    for path in paths:
        scene = load_scene(path, label_set)
        out.append(
            SampleMaps(
                path.name.removesuffix("_labelIds.png"),
                resize_nearest(scene.labels, width, height),
                resize_nearest(scene.instances.astype(np.int32), width, height),
            )
        )
    return out
