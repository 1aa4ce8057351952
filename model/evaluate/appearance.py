"""Appearance control: switching one object's style must recolour it and leave the rest alone."""

from __future__ import annotations

import numpy as np

from model.render.full import Renderer

CAR = 26  # Cityscapes labelId of "car"


def appearance_control(
    renderer: Renderer, labels: np.ndarray, instances: np.ndarray, class_id: int = CAR, margin: int = 64
) -> dict[str, float] | None:
    """Switch the largest instance of ``class_id`` between its two most different clusters.

    Returns the change of its mean colour (Euclidean RGB distance, in 1/255 units) and the mean
    absolute change of the pixels outside its bounding box grown by ``margin`` (1/255 units).
    """
    centres = renderer.styles.centres[class_id, : renderer.num_styles(class_id)]
    things = instances[instances >= class_id * 1000]
    things = things[things // 1000 == class_id]
    if len(centres) < 2 or things.size == 0:
        return None
    ids, counts = np.unique(things, return_counts=True)
    target = int(ids[np.argmax(counts)])
    distance = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    a, b = np.unravel_index(np.argmax(distance), distance.shape)
    first = renderer.render(labels, instances, {target: int(a)}).astype(np.float64)
    second = renderer.render(labels, instances, {target: int(b)}).astype(np.float64)
    mask = instances == target
    ys, xs = np.nonzero(mask)
    far = np.ones_like(mask)
    far[
        max(0, ys.min() - margin) : ys.max() + margin + 1, max(0, xs.min() - margin) : xs.max() + margin + 1
    ] = False
    colour_change = float(np.linalg.norm(first[mask].mean(0) - second[mask].mean(0)))
    far_change = float(np.abs(first[far] - second[far]).mean()) if far.any() else 0.0
    return {
        "instance": float(target),
        "pixels": float(mask.sum()),
        "cluster_a": float(a),
        "cluster_b": float(b),
        "colour_change": colour_change,
        "far_change": far_change,
    }
