"""Structure: how well an image's edges agree with the photo's, as an F1 score with a tolerance.

Edges are Canny edges of the luma after a Gaussian of ``SMOOTH_SIGMA`` px (Canny's own smoothing
step), with fixed thresholds so that a soft image finds fewer edges. An image edge pixel counts as
correct when a photo edge lies within ``TOLERANCE`` px, and a photo edge pixel as found when an
image edge does (distance transforms, no matching loop). Lane marks, window frames, wheels and
kerbs are what this sees; region outlines alone are what the flat-colour reference scores."""

from __future__ import annotations

import cv2
import numpy as np

TOLERANCE = 3.0  # native px
SMOOTH_SIGMA = 1.0
LOW, HIGH = 20, 50  # Canny hysteresis thresholds on 8-bit luma


def edge_map(image: np.ndarray) -> np.ndarray:
    """H×W bool edges of an H×W×3 uint8 image."""
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    grey = cv2.GaussianBlur(grey, (0, 0), SMOOTH_SIGMA)
    return cv2.Canny(grey, LOW, HIGH) > 0


def distance_to(edges: np.ndarray) -> np.ndarray:
    """Each pixel's distance (px) to the nearest edge pixel (large where there is none)."""
    if not edges.any():
        return np.full(edges.shape, np.inf, np.float32)
    return cv2.distanceTransform((~edges).astype(np.uint8), cv2.DIST_L2, 3)


def edge_counts(
    image_edges: np.ndarray,
    photo_edges: np.ndarray,
    photo_distance: np.ndarray | None = None,
    tolerance: float = TOLERANCE,
) -> np.ndarray:
    """[image edges near a photo edge, image edges, photo edges near an image edge, photo edges]."""
    if photo_distance is None:
        photo_distance = distance_to(photo_edges)
    image_distance = distance_to(image_edges)
    return np.array(
        [
            (photo_distance[image_edges] <= tolerance).sum(),
            image_edges.sum(),
            (image_distance[photo_edges] <= tolerance).sum(),
            photo_edges.sum(),
        ],
        np.float64,
    )


def f1(counts: np.ndarray) -> np.ndarray:
    """F1 from edge counts (…×4, summed over the scenes of a set); 0 where nothing matched."""
    counts = np.asarray(counts, np.float64)
    precision = counts[..., 0] / np.maximum(counts[..., 1], 1)
    recall = counts[..., 2] / np.maximum(counts[..., 3], 1)
    return np.where(
        precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0
    )


def edge_f1(image: np.ndarray, photo: np.ndarray, tolerance: float = TOLERANCE) -> float:
    return float(f1(edge_counts(edge_map(image), edge_map(photo), tolerance=tolerance)))
