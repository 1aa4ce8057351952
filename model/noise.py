"""Per-pixel Gaussian noise that the generator reads beside the label channels.

Asphalt grain, foliage and brick have no label to come from; without a random source G can only
paint each region's mean, and L1 to the photo pulls it there. With ``GeneratorConfig.noise_nc``
channels of unit Gaussian noise appended to its input, G can turn noise into texture.

Training draws fresh noise every step (so G cannot learn one fixed pattern as a position code).
Rendering uses noise that is a fixed function of pixel position, channel and seed, computed by
hashing the coordinates: a render is reproducible, a crop reads the same values as the full
frame, and an incremental update never has to touch it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

NOISE_SEED = 0x5EED  # the renders' noise; one value, so every render of a scene agrees

_MIX1, _MIX2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)  # murmur3's finaliser constants


def _mix(h: np.ndarray) -> np.ndarray:
    """Murmur3's 32-bit finaliser: every input bit flips about half the output bits."""
    h = h ^ (h >> np.uint32(16))
    h = h * _MIX1
    h = h ^ (h >> np.uint32(13))
    h = h * _MIX2
    return h ^ (h >> np.uint32(16))


def _uniform(rows: np.ndarray, cols: np.ndarray, stream: int, seed: int) -> np.ndarray:
    """Uniform values in (0, 1], one per (row, col) of the broadcast ``rows`` × ``cols`` grids."""
    with np.errstate(over="ignore"):
        key = _mix(np.array(seed & 0xFFFFFFFF, np.uint32) ^ np.uint32((stream * 0x9E3779B9) & 0xFFFFFFFF))
        h = _mix(rows.astype(np.uint32) * np.uint32(0x27D4EB2F) ^ key)
        h = _mix(h ^ cols.astype(np.uint32) * np.uint32(0x165667B1))
    return (h.astype(np.float64) + 1.0) / 4294967296.0


def position_noise(rows: np.ndarray, cols: np.ndarray, channels: int, seed: int = NOISE_SEED) -> np.ndarray:
    """Unit Gaussian noise at the pixels ``rows`` × ``cols`` (broadcastable integer index arrays,
    e.g. ``ys[:, None]`` and ``xs[None, :]``): an array of their broadcast shape + (channels,),
    float32. The value at a pixel depends only on its position, the channel and ``seed``."""
    rows, cols = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
    out = np.empty(rows.shape + (channels,), dtype=np.float32)
    for channel in range(channels):  # a handful of channels; each is one vectorised pass
        radius = np.sqrt(-2.0 * np.log(_uniform(rows, cols, 2 * channel, seed)))
        angle = 2.0 * np.pi * _uniform(rows, cols, 2 * channel + 1, seed)
        out[..., channel] = radius * np.cos(angle)
    return out


@lru_cache(maxsize=2)
def noise_field(height: int, width: int, channels: int, seed: int = NOISE_SEED) -> np.ndarray:
    """H×W×channels float32, read-only: the render noise of a whole frame (see ``position_noise``).
    Kept for the last two frame sizes: a 2048×1024 channel takes about 0.1 s to hash."""
    field = position_noise(np.arange(height)[:, None], np.arange(width)[None, :], channels, seed)
    field.flags.writeable = False
    return field
