"""A synthetic Cityscapes-like street scene and disc edits, for the render tests (tiny, seeded)."""

from __future__ import annotations

import numpy as np

from model.labels import INSTANCE_FACTOR

# Cityscapes ids used by the synthetic scene
ROAD, SIDEWALK, BUILDING, POLE, VEGETATION, SKY, PERSON, CAR, TERRAIN, FENCE = (
    7,
    8,
    11,
    17,
    21,
    23,
    24,
    26,
    22,
    13,
)


def street_scene(width: int, height: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A plausible Cityscapes-like label map (uint8) and instance map (int32): sky, buildings, trees,
    road, sidewalk, poles, cars and people."""
    rng = np.random.default_rng(seed)
    labels = np.full((height, width), SKY, dtype=np.uint8)
    horizon = int(height * rng.uniform(0.4, 0.5))
    x = 0
    while x < width:  # building fronts of random widths / heights
        w = int(rng.uniform(0.05, 0.2) * width)
        top = int(height * rng.uniform(0.05, 0.35))
        labels[top:horizon, x : x + w] = BUILDING if rng.random() < 0.8 else VEGETATION
        x += w
    labels[horizon:, :] = ROAD
    walk = horizon + int((height - horizon) * 0.15)
    labels[horizon:walk, :] = SIDEWALK
    labels[horizon - int(0.03 * height) : horizon, : width // 3] = FENCE
    labels[walk : walk + int(0.02 * height), width // 2 :] = TERRAIN
    instances = labels.astype(np.int32)
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(int(rng.integers(6, 12))):  # trees, poles
        cx = int(rng.uniform(0, width))
        r = int(rng.uniform(0.02, 0.06) * width)
        labels[(yy - horizon * 0.6) ** 2 + (xx - cx) ** 2 < r * r] = VEGETATION
        labels[int(horizon * 0.3) : walk, cx : cx + max(2, width // 400)] = POLE
    instances = labels.astype(np.int32)
    for k in range(int(rng.integers(5, 10))):  # cars (things, numbered instances)
        cw, ch = int(rng.uniform(0.06, 0.14) * width), int(rng.uniform(0.05, 0.1) * height)
        cx, cy = int(rng.uniform(0, width - cw)), int(rng.uniform(horizon, height - ch))
        labels[cy : cy + ch, cx : cx + cw] = CAR
        instances[cy : cy + ch, cx : cx + cw] = CAR * INSTANCE_FACTOR + k
    for k in range(int(rng.integers(3, 8))):  # people
        pw, ph = max(2, int(0.012 * width)), max(4, int(0.08 * height))
        px, py = int(rng.uniform(0, width - pw)), int(rng.uniform(horizon - ph, walk - ph))
        labels[py : py + ph, px : px + pw] = PERSON
        instances[py : py + ph, px : px + pw] = PERSON * INSTANCE_FACTOR + k
    return labels, instances


def paint(
    labels: np.ndarray, instances: np.ndarray, area: float, seed: int = 0, class_id: int = VEGETATION
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """A copy of the maps with a disc covering ``area`` of the frame painted with ``class_id`` (a brush
    edit); returns (labels, instances, box x0, y0, x1, y1)."""
    rng = np.random.default_rng(seed)
    height, width = labels.shape
    radius = max(1.0, float(np.sqrt(area * height * width / np.pi)))
    cy = int(rng.uniform(radius, max(radius + 1, height - radius)))
    cx = int(rng.uniform(radius, max(radius + 1, width - radius)))
    y0, y1 = max(0, int(cy - radius)), min(height, int(cy + radius) + 1)
    x0, x1 = max(0, int(cx - radius)), min(width, int(cx + radius) + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius * radius
    labels, instances = labels.copy(), instances.copy()
    labels[y0:y1, x0:x1][disc] = class_id
    instances[y0:y1, x0:x1][disc] = class_id
    return labels, instances, (x0, y0, x1, y1)
