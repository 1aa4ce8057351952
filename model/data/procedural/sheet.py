"""A contact sheet of procedural scenes: each scene's colourised labels above its photo."""

from __future__ import annotations

import cv2
import numpy as np

from model.data.procedural.base import SceneConfig
from model.data.procedural.layout import generate_scene
from model.labels import cityscapes


def contact_sheet(seed: int, count: int, config: SceneConfig, columns: int = 4, gap: int = 4) -> np.ndarray:
    """An RGB uint8 grid of `count` scenes (labels over photo per cell) at the config's size."""
    colours = cityscapes()
    w, h = config.width, config.height
    rows = -(-count // columns)
    cell_h = 2 * h + gap
    sheet = np.full((rows * (cell_h + gap) + gap, columns * (w + gap) + gap, 3), 255, dtype=np.uint8)
    for i in range(count):
        image, labels, _ = generate_scene(seed, i, config)
        r, c = divmod(i, columns)
        y, x = gap + r * (cell_h + gap), gap + c * (w + gap)
        sheet[y : y + h, x : x + w] = colours.colorize(labels)
        sheet[y + h + gap : y + 2 * h + gap, x : x + w] = image
        cv2.putText(
            sheet, str(i), (x + 4, y + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA
        )
    return sheet
