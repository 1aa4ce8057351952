"""The two baselines that need no inpainter.

* **paste:** a training-family object stretched over the mask's box and pasted inside it.
* **Perlin (DRAEM):** a mask from thresholded Perlin noise, filled with a foreign texture (another
  region of the same frame, rotated and with its colour channels permuted) blended with the
  background at a random opacity.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.anomaly.families import TRAIN_FAMILIES, draw_random


def perlin_noise(height: int, width: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """2-D gradient (Perlin) noise in about [-1, 1] with ``cells`` lattice cells along the short side."""
    scale = cells / min(height, width)
    ys = np.arange(height, dtype=np.float32) * scale
    xs = np.arange(width, dtype=np.float32) * scale
    gy, gx = int(ys[-1]) + 2, int(xs[-1]) + 2
    angles = rng.uniform(0, 2 * np.pi, (gy, gx))
    grads = np.stack([np.cos(angles), np.sin(angles)], -1).astype(np.float32)
    y, x = np.meshgrid(ys, xs, indexing="ij")
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = y - y0, x - x0

    def dot(oy: int, ox: int) -> np.ndarray:
        g = grads[y0 + oy, x0 + ox]
        return g[..., 0] * (fy - oy) + g[..., 1] * (fx - ox)

    def fade(t: np.ndarray) -> np.ndarray:
        return t * t * t * (t * (t * 6 - 15) + 10)

    u, v = fade(fy), fade(fx)
    top = dot(0, 0) * (1 - v) + dot(0, 1) * v
    bottom = dot(1, 0) * (1 - v) + dot(1, 1) * v
    return (top * (1 - u) + bottom * u) * np.sqrt(2.0)


def perlin_mask(size: int, rng: np.random.Generator, threshold: float = 0.05) -> np.ndarray:
    """A size×size blob mask: Perlin noise thresholded, kept within an ellipse so it stays one object."""
    noise = perlin_noise(size, size, int(rng.integers(2, 5)), rng)
    c = (np.arange(size) + 0.5) / size * 2 - 1
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return (noise > threshold) & (yy**2 + xx**2 < 1.0)


def foreign_texture(frame: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """size×size float texture from a random other region of ``frame``, rotated and colour-permuted."""
    h, w = frame.shape[:2]
    side = min(size, h, w)
    upper = max(h // 2 - side, 0)  # the upper half: buildings, vegetation, sky, cars; rarely road
    top, left = int(rng.integers(0, upper + 1)), int(rng.integers(0, w - side + 1))
    tex = frame[top : top + side, left : left + side].astype(np.float32) / 255.0
    tex = np.rot90(tex, int(rng.integers(4)))[..., rng.permutation(3)]
    return cv2.resize(np.ascontiguousarray(tex), (size, size), interpolation=cv2.INTER_LINEAR)


def fill_perlin(
    window: np.ndarray, mask: np.ndarray, frame: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """DRAEM-style fill of ``mask`` in ``window`` (float [0,1]): (1-β)·texture + β·background."""
    texture = foreign_texture(frame, window.shape[0], rng)
    if texture.shape[:2] != window.shape[:2]:
        texture = cv2.resize(texture, (window.shape[1], window.shape[0]))
    beta = rng.uniform(0.0, 0.5)
    out = window.copy()
    out[mask] = (1 - beta) * texture[mask] + beta * window[mask]
    return out


def fill_paste(
    window: np.ndarray, mask: np.ndarray, rng: np.random.Generator, families: tuple[str, ...] = TRAIN_FAMILIES
) -> np.ndarray:
    """Fill ``mask`` (any shape, e.g. drawn by hand) with a family object stretched over the mask's
    box and lit like the background. Mask pixels outside the object's own shape take the colour of
    the nearest object pixel, so the whole mask is object and none of the patch's backdrop shows."""
    box = mask_box(mask)
    if box is None:
        return window.copy()
    x0, y0, x1, y1 = box
    patch = draw_random(families, max(x1 - x0, y1 - y0, 8), rng)
    ox0, oy0, ox1, oy1 = mask_box(patch.mask) or (0, 0, patch.mask.shape[1], patch.mask.shape[0])
    rgb = cv2.resize(patch.rgb[oy0:oy1, ox0:ox1], (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    own = cv2.resize(
        patch.mask[oy0:oy1, ox0:ox1].astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST
    ).astype(bool)
    if own.any() and not own.all():
        _, nearest = cv2.distanceTransformWithLabels(
            (~own).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        rgb = rgb[own][nearest - 1]  # every pixel: the colour of its nearest object pixel
    region = window[y0:y1, x0:x1]
    gain = float(np.clip(np.sqrt(region.mean() / 0.45 + 1e-6), 0.5, 1.5))
    out = window.copy()
    inside = mask[y0:y1, x0:x1]
    out[y0:y1, x0:x1][inside] = np.clip(rgb[inside] * gain, 0.0, 1.0)
    return out


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of a mask's set pixels, or None when it is empty."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
