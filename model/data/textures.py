"""Cheap, deterministic texture fields for the procedural scenes.

Every field is built with numpy and OpenCV only (no per-pixel Python loops). Noise grids are laid
out in *base-frame* units (a 1024×512 reference frame), then resized to the output size, so the
structure of a texture scales with the image instead of staying a fixed number of pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

BASE_W, BASE_H = 1024, 512


def value_noise(
    rng: np.random.Generator, size: tuple[int, int], cell: float, aspect: float = 1.0
) -> np.ndarray:
    """Smooth noise in roughly [-1, 1]: random values on a grid of `cell` base pixels, resized cubically.

    size is (width, height) of the output; aspect > 1 stretches features horizontally.
    """
    width, height = size
    gw = max(2, int(np.ceil(BASE_W / (cell * aspect))) + 2)
    gh = max(2, int(np.ceil(BASE_H / cell)) + 2)
    grid = rng.standard_normal((gh, gw), dtype=np.float32) * 0.6
    # Resize a slightly larger grid then crop, so the borders are not stretched differently.
    big = cv2.resize(
        grid, (width * gw // (gw - 2) + 1, height * gh // (gh - 2) + 1), interpolation=cv2.INTER_CUBIC
    )
    oy = (big.shape[0] - height) // 2
    ox = (big.shape[1] - width) // 2
    return big[oy : oy + height, ox : ox + width]


def fbm(
    rng: np.random.Generator,
    size: tuple[int, int],
    cell: float,
    octaves: int = 3,
    aspect: float = 1.0,
    gain: float = 0.5,
    reduce: int = 1,
) -> np.ndarray:
    """Fractal (multi-octave) noise: `octaves` layers of value noise, each half the cell size.

    reduce > 1 sums the octaves at 1/reduce of the size and upsamples once (for smooth fields).
    """
    small = (max(2, size[0] // reduce), max(2, size[1] // reduce)) if reduce > 1 else size
    total = np.zeros((small[1], small[0]), dtype=np.float32)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        total += amp * value_noise(rng, small, cell, aspect)
        norm += amp
        amp *= gain
        cell /= 2.0
    total /= norm
    if small != size:
        return np.asarray(cv2.resize(total, size, interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    return total


def grain(rng: np.random.Generator, size: tuple[int, int], blur_base_px: float = 0.8) -> np.ndarray:
    """Fine grain at base-frame pixel scale (for asphalt): per-pixel noise, blurred, then resized."""
    # drawn at half the base resolution: the grain is a couple of base pixels wide anyway
    field = rng.random((BASE_H // 2, BASE_W // 2), dtype=np.float32)
    field = np.asarray(cv2.GaussianBlur(field, (0, 0), blur_base_px / 2), dtype=np.float32)
    field -= float(field.mean())
    field /= max(float(field.std()), 1e-6)
    return cv2.resize(field, size, interpolation=cv2.INTER_LINEAR)


def cell_hash(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) for integer cell coordinates (vectorised)."""
    h = (a.astype(np.int64) * 73856093) ^ (b.astype(np.int64) * 19349663)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h >> 8) & 0xFFFF).astype(np.float32) / 65536.0


def brick_pattern(
    u: np.ndarray, v: np.ndarray, brick_w: float, brick_h: float, mortar: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bricks in world metres: (mortar mask in [0,1], per-brick random value in [0,1)).

    u runs along the wall, v upwards; rows are offset by half a brick.
    """
    row = np.floor(v / brick_h)
    fu = u / brick_w + 0.5 * (row % 2)
    col = np.floor(fu)
    fv = v / brick_h - row
    fu = fu - col
    joint = np.maximum((fv < mortar * brick_w / brick_h).astype(np.float32), (fu < mortar).astype(np.float32))
    return joint, cell_hash(row, col)


def grid_lines(u: np.ndarray, v: np.ndarray, pitch_u: float, pitch_v: float, width: float) -> np.ndarray:
    """1 on the joints of a rectangular grid (paving slabs, concrete panels), 0 elsewhere."""
    fu = np.mod(u / pitch_u, 1.0)
    fv = np.mod(v / pitch_v, 1.0)
    return ((fu < width / pitch_u) | (fv < width / pitch_v)).astype(np.float32)
