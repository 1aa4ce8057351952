"""Pixel-level anomaly metrics with bootstrap intervals over images.

Void pixels (255) are ignored. Scores are per-pixel anomaly scores (higher = more anomalous).

* AP: average precision of the anomaly class (area under precision-recall);
* AUROC;
* FPR95: false-positive rate at the threshold that finds 95% of the anomaly pixels;
* IoU: anomaly intersection-over-union at score ≥ 0.5 (the segmenter's sigmoid).

Intervals: the 2.5 and 97.5 percentiles of each metric over ``reps`` resamplings of the images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

METRICS: tuple[str, ...] = ("ap", "fpr95", "auroc", "iou")


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


def fpr_at_tpr(labels: np.ndarray, scores: np.ndarray, tpr: float = 0.95) -> float:
    fpr, tprs, _ = roc_curve(labels, scores)
    return float(fpr[np.searchsorted(tprs, tpr, side="left")])


def pixel_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Metrics over flat arrays of 0/1 labels (void already removed) and scores."""
    if labels.min() == labels.max():
        return {name: float("nan") for name in METRICS}
    pred = scores >= 0.5
    positive = labels == 1
    union = np.count_nonzero(pred | positive)
    return {
        "ap": float(average_precision_score(labels, scores)),
        "fpr95": fpr_at_tpr(labels, scores),
        "auroc": float(roc_auc_score(labels, scores)),
        "iou": float(np.count_nonzero(pred & positive) / union) if union else 0.0,
    }


def metrics_with_intervals(
    labels: list[np.ndarray], scores: list[np.ndarray], reps: int = 100, seed: int = 0
) -> dict[str, Interval]:
    """Per-image label maps (0/1/255) and score maps → each metric with its bootstrap interval."""
    flat = [(lab[lab != 255].ravel(), sc[lab != 255].ravel()) for lab, sc in zip(labels, scores, strict=True)]

    def measure(indices: np.ndarray) -> dict[str, float]:
        return pixel_metrics(
            np.concatenate([flat[i][0] for i in indices]), np.concatenate([flat[i][1] for i in indices])
        )

    point = measure(np.arange(len(flat)))
    rng = np.random.default_rng(seed)
    samples = [measure(rng.integers(len(flat), size=len(flat))) for _ in range(reps)]
    out = {}
    for name in METRICS:
        values = np.array([s[name] for s in samples])
        values = values[np.isfinite(values)]
        low, high = np.percentile(values, [2.5, 97.5]) if len(values) else (np.nan, np.nan)
        out[name] = Interval(point[name], float(low), float(high))
    return out
