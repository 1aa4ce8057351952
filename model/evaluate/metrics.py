"""Segmentation scores: per-scene confusions, IoU, mean IoU and a bootstrap interval over scenes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def confusion(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int = -1
) -> np.ndarray:
    """num_classes×num_classes counts [target, prediction] over all of ``target``."""
    return scene_confusions(pred[None], target[None], num_classes, ignore_index)[0]


def scene_confusions(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int = -1
) -> np.ndarray:
    """N×num_classes×num_classes: the confusion of each item of an N×… batch, in one bincount."""
    keep = target != ignore_index
    scene = torch.arange(len(target)).view(-1, *[1] * (target.dim() - 1)).expand_as(target)[keep]
    cells = num_classes * num_classes
    codes = scene * cells + target[keep].long() * num_classes + pred[keep].long()
    counts = torch.bincount(codes, minlength=len(target) * cells)
    return counts.reshape(len(target), num_classes, num_classes).numpy()


def iou_per_class(matrix: np.ndarray) -> np.ndarray:
    """IoU of every class (NaN where a class is absent from both targets and predictions)."""
    tp = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def batched_mean_iou(matrices: np.ndarray) -> np.ndarray:
    """Mean IoU over the classes present in the targets of each of B×C×C confusions: B values."""
    tp = np.diagonal(matrices, axis1=1, axis2=2)
    present = matrices.sum(2) > 0
    union = matrices.sum(1) + matrices.sum(2) - tp
    iou = np.where(present, tp / np.maximum(union, 1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return iou.sum(1) / present.sum(1)


def mean_iou(matrix: np.ndarray) -> float:
    """Mean IoU over the classes present in the targets (NaN when none is)."""
    return float(batched_mean_iou(matrix[None])[0])


def resample_weights(scenes: int, draws: int = 1000, seed: int = 0) -> np.ndarray:
    """draws×scenes multiplicities of a bootstrap: each row one resample of the scenes with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, scenes, size=(draws, scenes))
    return (picks[:, :, None] == np.arange(scenes)).sum(1).astype(np.float64)


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(
    statistic: Callable[[np.ndarray], np.ndarray],
    scenes: int,
    draws: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Central ``level`` interval of ``statistic(weights)`` (weights: draws×scenes multiplicities)."""
    return interval(statistic(resample_weights(scenes, draws, seed)), level)


def bootstrap_ratio(
    real: np.ndarray, generated: np.ndarray, draws: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Interval of mIoU(generated) / mIoU(real) when the scenes are resampled with replacement.

    ``real`` and ``generated`` are N×C×C per-scene confusions of the same N scenes; each draw sums
    one resample of both."""

    def ratio(weights: np.ndarray) -> np.ndarray:
        return batched_mean_iou(np.einsum("bs,scd->bcd", weights, generated)) / batched_mean_iou(
            np.einsum("bs,scd->bcd", weights, real)
        )

    return bootstrap(ratio, len(real), draws, seed, level)
