"""Realism check: does adding anomalies change how a scene segmenter reads the rest of the frame?

For every synthesised pair the judge segmenter (model/evaluate/judge.py, trained on the dataset's
photos) segments both the clean render and the synthesised image. Only the pixels the anomaly label
calls normal (0) are scored, against the scene's label map, so the anomaly and its feather band do
not count. The check passes when the mean IoU on those pixels drops by at most ``tolerance`` (0.02);
a larger drop means the synthesis disturbed the scene around the objects (seams, halos, colour
bleeding into the background, or a frame-wide shift).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from model.anomaly.export import pair_names, read_pair
from model.anomaly.metrics import Interval
from model.anomaly.synthesis import NORMAL
from model.errors import DatasetError
from model.evaluate.judge import Segmenter, class_table, segment
from model.evaluate.metrics import batched_mean_iou, resample_weights, scene_confusions
from model.labels import LabelSet
from model.scene_io import read_label_png, read_png

TOLERANCE = 0.02  # issue 23: mIoU on the non-anomaly pixels within 0.02 of the clean render


@dataclass(frozen=True)
class RealismResult:
    clean: float  # judge mIoU on the normal pixels of the clean renders
    synthesised: float  # … of the synthesised images, same pixels
    drop: Interval  # clean − synthesised, with a bootstrap interval over images
    images: int

    @property
    def passed(self) -> bool:
        return abs(self.drop.value) <= TOLERANCE


def scene_key(pair_name: str) -> str:
    """``synth-anomalies`` names pairs KEY_NNNNN after the scene KEY they were rendered from."""
    key, _, index = pair_name.rpartition("_")
    return key if key and index.isdigit() else pair_name


def normal_pixel_confusions(
    judge: Segmenter, classes: list[int], image: np.ndarray, labels: np.ndarray, anomaly: np.ndarray
) -> np.ndarray:
    """C×C confusion of the judge on ``image`` over the pixels where ``anomaly`` is normal."""
    target = class_table(classes)[labels]
    target[anomaly != NORMAL] = -1
    pred, _, _ = segment(judge, image)
    return scene_confusions(pred[None], torch.from_numpy(target)[None], len(classes))[0]


def realism_check(
    judge: Segmenter,
    classes: list[int],
    label_set: LabelSet,
    pairs: Path,
    clean: Path,
    label_folder: Path,
    reps: int = 200,
    seed: int = 0,
) -> RealismResult:
    """Judge every pair in ``pairs`` against its clean render ``clean/KEY.png`` and label map
    ``label_folder/KEY.png`` (resized to the pair's size with nearest neighbours, as rendered)."""
    clean_conf, synth_conf = [], []
    for name in pair_names(pairs):
        pair = read_pair(pairs, name)
        key = scene_key(name)
        clean_path, label_path = clean / f"{key}.png", label_folder / f"{key}.png"
        if not clean_path.is_file():
            raise DatasetError("clean render for this pair not found", clean_path)
        if not label_path.is_file():
            raise DatasetError("label map for this pair not found", label_path)
        render = read_png(clean_path)[..., :3]
        if render.shape != pair.image.shape:
            raise DatasetError(f"clean render is not the size of pair {name}", clean_path)
        h, w = pair.label.shape
        labels = cv2.resize(read_label_png(label_path, label_set), (w, h), interpolation=cv2.INTER_NEAREST)
        clean_conf.append(normal_pixel_confusions(judge, classes, render, labels, pair.label))
        synth_conf.append(normal_pixel_confusions(judge, classes, pair.image, labels, pair.label))
    real, synth = np.stack(clean_conf), np.stack(synth_conf)
    weights = np.concatenate([np.ones((1, len(real))), resample_weights(len(real), reps, seed)])
    drops = batched_mean_iou(np.einsum("bs,scd->bcd", weights, real)) - batched_mean_iou(
        np.einsum("bs,scd->bcd", weights, synth)
    )
    low, high = np.nanpercentile(drops[1:], [2.5, 97.5])
    return RealismResult(
        clean=float(batched_mean_iou(real.sum(0)[None])[0]),
        synthesised=float(batched_mean_iou(synth.sum(0)[None])[0]),
        drop=Interval(float(drops[0]), float(low), float(high)),
        images=len(real),
    )
