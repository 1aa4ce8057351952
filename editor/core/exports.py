"""Images to export beside a render (no Qt here): the label map in its colours, and a side-by-side
comparison of the labels and the render. The editor and ``render --label-dir`` share them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.labels import LabelSet

GAP = 8  # pixels between the two halves of a comparison image
GAP_COLOUR = (255, 255, 255)


def label_colours(labels: np.ndarray, label_set: LabelSet) -> np.ndarray:
    """H×W class ids → H×W×3 uint8 in the label set's colours."""
    return np.ascontiguousarray(label_set.colorize(labels))


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = GAP) -> np.ndarray:
    """Two H×W×3 images of one size next to each other, a white gap between them."""
    if left.shape != right.shape:
        raise ValueError(f"side_by_side needs images of one size, got {left.shape} and {right.shape}")
    height = left.shape[0]
    spacer = np.empty((height, gap, 3), np.uint8)
    spacer[:] = GAP_COLOUR
    return np.ascontiguousarray(np.concatenate([left[..., :3], spacer, right[..., :3]], axis=1))


def companion_path(render_path: str | Path, kind: str) -> Path:
    """``street_render.png`` → ``street_render_labels.png`` / ``street_render_compare.png``."""
    path = Path(render_path)
    return path.with_name(f"{path.stem}_{kind}{path.suffix or '.png'}")
