"""A domain FID: the Fréchet distance between Gaussians fitted to the judge's features.

Each image contributes one feature vector per 16×16-pixel cell (the judge's 1/16 features beside
its 1/4 features averaged down to the same grid), so a few dozen frames give a well-conditioned
covariance. The moments are accumulated as running sums, one image at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn


def cell_features(deep: torch.Tensor, fused: torch.Tensor) -> np.ndarray:
    """(cells × channels) feature vectors of one image from the judge's C×h×w feature maps."""
    pooled = nn.functional.adaptive_avg_pool2d(fused[None], (deep.shape[-2], deep.shape[-1]))[0]
    stacked = torch.cat([deep, pooled], 0)
    return stacked.flatten(1).T.double().numpy()


@dataclass
class Moments:
    """Running sums of feature vectors, for their mean and covariance."""

    count: int = 0
    total: np.ndarray = field(default_factory=lambda: np.zeros(0))
    outer: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, np.float64)
        if self.count == 0:
            self.total = np.zeros(vectors.shape[1])
            self.outer = np.zeros((vectors.shape[1],) * 2)
        self.count += len(vectors)
        self.total += vectors.sum(0)
        self.outer += vectors.T @ vectors

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.total / self.count
        cov = (self.outer - self.count * np.outer(mean, mean)) / max(self.count - 1, 1)
        return mean, (cov + cov.T) / 2


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray) -> float:
    """|μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½), with (Σa Σb)^½'s trace from the eigenvalues of the
    symmetric Σa^½ Σb Σa^½ (exact for positive semi-definite covariances, no complex sqrtm)."""
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    distance = float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
    return max(distance, 0.0)


def fid(a: Moments, b: Moments) -> float:
    return frechet_distance(*a.mean_cov(), *b.mean_cov())
