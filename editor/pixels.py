"""Pixel buffers in the display format (no Qt here).

The canvas paints from H×W×4 uint8 buffers in BGRA byte order (``QImage.Format_RGB32`` on a
little-endian machine). The render loop (``model.render.loop``, ``to_bgra``) converts every frame
and tile to this format off the GUI thread, so the GUI thread only adopts a finished buffer or
copies a tile's rectangle into its own.
"""

from __future__ import annotations

import cv2
import numpy as np


def bgra_palette(rgb_palette: np.ndarray) -> np.ndarray:
    """num_classes×3 RGB → num_classes×4 BGRA (the byte order of QImage.Format_RGB32)."""
    table = np.full((len(rgb_palette), 4), 255, dtype=np.uint8)
    table[:, :3] = rgb_palette[:, ::-1]
    return table


def to_rgb(bgra: np.ndarray) -> np.ndarray:
    """H×W×4 BGRA → a new H×W×3 RGB array."""
    return cv2.cvtColor(np.ascontiguousarray(bgra), cv2.COLOR_BGRA2RGB)
