"""Crops of road and sidewalk from a dataset's photos, and placing an anomaly patch into an image.

The inpainter trains on ``crop``×``crop`` windows whose centre lies on road or sidewalk; each window
covers ``context`` photo pixels (so objects keep a plausible scale) and is resized with area
averaging. Patches are composited with their own mask, lit to match the background's brightness.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.anomaly.families import AnomalyPatch
from model.data.folders import find_samples, read_image
from model.labels import cityscapes
from model.scene_io import read_label_png

log = logging.getLogger(__name__)

GROUND_CLASSES: tuple[str, ...] = ("road", "sidewalk")


def ground_ids() -> np.ndarray:
    label_set = cityscapes()
    return np.array([label.id for label in label_set.labels if label.name in GROUND_CLASSES])


def ground_mask(labels: np.ndarray) -> np.ndarray:
    """Pixels where anomalies may be placed (road and sidewalk)."""
    return np.isin(labels, ground_ids())


@dataclass(frozen=True)
class CropBankConfig:
    crop: int = 64  # side the networks see
    context: int = 128  # photo pixels the crop covers
    per_scene: int = 12
    seed: int = 0


def sample_ground_windows(
    labels: np.ndarray, count: int, context: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Top-left corners of ``count`` context×context windows centred on road / sidewalk pixels."""
    h, w = labels.shape
    ys, xs = np.nonzero(ground_mask(labels[::4, ::4]))
    if len(ys) == 0:
        return []
    pick = rng.integers(len(ys), size=count)
    top = np.clip(ys[pick] * 4 - context // 2, 0, h - context)
    left = np.clip(xs[pick] * 4 - context // 2, 0, w - context)
    return list(zip(top.tolist(), left.tolist(), strict=True))


def build_crop_bank(data: Path, config: CropBankConfig, phase: str = "train") -> np.ndarray:
    """N×crop×crop×3 uint8 crops of road and sidewalk from ``data``'s photos."""
    rng = np.random.default_rng(config.seed)
    crops = []
    label_set = cityscapes()
    for sample in find_samples(data, phase):
        if sample.image is None:
            continue
        labels = read_label_png(sample.label, label_set)
        photo = read_image(sample.image)
        for top, left in sample_ground_windows(labels, config.per_scene, config.context, rng):
            window = photo[top : top + config.context, left : left + config.context]
            crops.append(cv2.resize(window, (config.crop, config.crop), interpolation=cv2.INTER_AREA))
    if not crops:
        return np.zeros((0, config.crop, config.crop, 3), np.uint8)
    log.info("crop bank: %d crops from %s", len(crops), data)
    return np.stack(crops)


def paste_patch(
    image: np.ndarray, patch: AnomalyPatch, top: int, left: int, match_light: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Composite ``patch`` (float [0,1]) into ``image`` (H×W×3 float [0,1]) at (top, left).

    Returns the new image and the H×W bool mask of the pasted object. The patch must fit.
    """
    size = patch.mask.shape[0]
    out = image.copy()
    mask = np.zeros(image.shape[:2], bool)
    region = out[top : top + size, left : left + size]
    rgb = patch.rgb
    if match_light:
        gain = float(np.clip(np.sqrt(region.mean() / 0.45 + 1e-6), 0.5, 1.5))
        rgb = np.clip(rgb * gain, 0, 1)
    region[patch.mask] = rgb[patch.mask]
    mask[top : top + size, left : left + size] = patch.mask
    return out, mask
