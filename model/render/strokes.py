"""Seeded brush strokes, as painted: a polyline with a brush radius, for the bench and the tests.

A stroke covering ``area`` of the frame is about 30 times longer than wide (the brush's diameter
is ``sqrt(area · H · W / 30)``); it starts at a random point and wanders (its heading turns by up
to ±35° per brush-diameter step, turning back at the frame's border) until it has painted enough.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.box import Box, mask_box
from model.labels import INSTANCE_FACTOR

ASPECT = 30.0  # stroke length / brush diameter


def stroke_mask(height: int, width: int, area: float, seed: int) -> np.ndarray:
    """A boolean H×W mask of one seeded brush stroke covering about ``area`` of the frame."""
    rng = np.random.default_rng(seed)
    target = max(1, round(area * height * width))
    radius = max(1, round(float(np.sqrt(target / ASPECT)) / 2))
    mask = np.zeros((height, width), np.uint8)
    x, y = rng.uniform(radius, width - radius), rng.uniform(radius, height - radius)
    heading = rng.uniform(0, 2 * np.pi)
    painted = 0
    for _ in range(100_000):
        if painted >= target:
            break
        heading += rng.uniform(-0.6, 0.6)
        nx, ny = x + 2 * radius * np.cos(heading), y + 2 * radius * np.sin(heading)
        if not (radius <= nx < width - radius and radius <= ny < height - radius):
            heading += np.pi  # turn back at the border
            continue
        x0, x1 = int(max(0, min(x, nx) - radius - 1)), int(min(width, max(x, nx) + radius + 2))
        y0, y1 = int(max(0, min(y, ny) - radius - 1)), int(min(height, max(y, ny) + radius + 2))
        before = int(mask[y0:y1, x0:x1].sum())
        cv2.line(
            mask, (round(float(x)), round(float(y))), (round(float(nx)), round(float(ny))), 1, 2 * radius + 1
        )
        painted += int(mask[y0:y1, x0:x1].sum()) - before
        x, y = nx, ny
    return mask.astype(bool)


def brush_stroke(
    labels: np.ndarray, instances: np.ndarray, area: float, seed: int, class_id: int, thing: bool = False
) -> tuple[np.ndarray, np.ndarray, Box]:
    """Copies of the maps with one stroke of ``class_id`` painted (a ``thing`` gets a new instance
    id, class·1000 + 999); returns them and the stroke's box (x0, y0, x1, y1)."""
    height, width = labels.shape
    mask = stroke_mask(height, width, area, seed)
    labels, instances = labels.copy(), instances.copy()
    labels[mask] = class_id
    instances[mask] = class_id * INSTANCE_FACTOR + 999 if thing else class_id
    box = mask_box(mask)
    assert box is not None
    return labels, instances, box
