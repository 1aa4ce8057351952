"""Procedural anomaly families: small objects that belong to no Cityscapes class, each with its mask.

Every family draws one object on an ``size``×``size`` canvas and returns its colour (float32 RGB in
[0, 1]) and a boolean mask. Drawing is vectorised over the pixel grid (no per-pixel loops).

The families are split: :data:`TRAIN_FAMILIES` may be used to train the inpainter and the anomaly
segmenter; :data:`TEST_FAMILIES` are never used for training and only score the segmenter, so the
score measures anomalies that no generator here produced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TRAIN_FAMILIES: tuple[str, ...] = ("box", "tyre", "stain")
TEST_FAMILIES: tuple[str, ...] = ("rock", "animal", "debris")


@dataclass(frozen=True)
class AnomalyPatch:
    """One drawn object: ``rgb`` H×W×3 float32 in [0, 1], ``mask`` H×W bool, its ``family`` name."""

    rgb: np.ndarray
    mask: np.ndarray
    family: str


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1] (y, x)."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
    return np.meshgrid(c, c, indexing="ij")


def _rotate(y: np.ndarray, x: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    ca, sa = np.cos(angle), np.sin(angle)
    return ca * y - sa * x, sa * y + ca * x


def _blob(y: np.ndarray, x: np.ndarray, rng: np.random.Generator, radius: float, wobble: float) -> np.ndarray:
    """A star-shaped irregular blob: radius(θ) = r·(1 + Σ random harmonics)."""
    r = np.hypot(y, x)
    theta = np.arctan2(y, x)
    edge = np.ones_like(theta)
    for k in range(2, 6):
        edge += wobble / k * rng.uniform(-1, 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return np.asarray(r < radius * edge)


def value_noise(size: int, rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth value noise in [0, 1]: a random coarse grid upsampled bilinearly."""
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    pos = np.linspace(0, cells, size, dtype=np.float32)
    i0 = np.minimum(pos.astype(int), cells - 1)
    f = pos - i0
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


def _shade(base: np.ndarray, light: np.ndarray) -> np.ndarray:
    return np.clip(base[None, None, :] * light[..., None], 0.0, 1.0).astype(np.float32)


def draw_box(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Lost cargo: a rotated cardboard or plastic crate with a lit top face and a tape stripe."""
    y, x = _grid(size)
    yr, xr = _rotate(y, x, rng.uniform(-0.5, 0.5))
    h, w = rng.uniform(0.45, 0.8), rng.uniform(0.55, 0.9)
    mask = (np.abs(yr) < h) & (np.abs(xr) < w)
    colours = np.array([[0.62, 0.45, 0.28], [0.2, 0.35, 0.7], [0.85, 0.8, 0.7], [0.75, 0.2, 0.15]])
    base = colours[rng.integers(len(colours))] * rng.uniform(0.8, 1.1)
    top = yr < -h + 2 * h * rng.uniform(0.25, 0.4)
    light = np.where(top, 1.15, 0.8 + 0.15 * (xr / w)) * (0.9 + 0.2 * value_noise(size, rng, 6))
    rgb = _shade(base, light)
    tape = np.abs(xr - rng.uniform(-0.2, 0.2)) < 0.08
    rgb[tape & ~top] = np.clip(base * 0.6 + 0.35, 0, 1)
    return rgb, mask


def draw_tyre(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A lying or standing tyre: a dark rubber ring around a darker hole, squashed by perspective."""
    y, x = _grid(size)
    squash = rng.uniform(0.45, 1.0)
    r = np.hypot(y / squash, x)
    outer, inner = rng.uniform(0.75, 0.95), rng.uniform(0.35, 0.55)
    mask = r < outer
    tread = 0.85 + 0.15 * np.cos(np.arctan2(y, x) * rng.integers(18, 30))
    light = np.where(r < inner, 0.35, tread * (0.9 + 0.25 * (-y)))
    rgb = _shade(np.array([0.16, 0.16, 0.17]) * rng.uniform(0.8, 1.3), light)
    rim = (r < inner) & (r > inner * 0.6)
    rgb[rim] = np.array([0.55, 0.55, 0.58]) * rng.uniform(0.7, 1.1)
    return rgb, mask


def draw_stain(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A pothole or an oil / paint stain: an irregular flat blob, dark or bright, with a rim."""
    y, x = _grid(size)
    squash = rng.uniform(0.35, 0.8)
    mask = _blob(y / squash, x, rng, 0.8, 0.5)
    dark = rng.random() < 0.7
    base = np.array([0.1, 0.09, 0.08]) if dark else rng.uniform(0.5, 1.0, 3)
    light = 0.7 + 0.6 * value_noise(size, rng, 5)
    rgb = _shade(base, light)
    inner = _blob(y / squash, x, rng, 0.55, 0.4)
    rgb[mask & ~inner] = np.clip(rgb[mask & ~inner] * 1.8 + 0.1, 0, 1)
    return rgb, mask


def draw_rock(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A rock: an irregular grey-brown blob, lit from above, with speckled texture."""
    y, x = _grid(size)
    mask = _blob(y, x, rng, 0.8, 0.7)
    base = rng.uniform(0.35, 0.6) * np.array([1.0, 0.95, 0.85]) * rng.uniform(0.8, 1.1, 3)
    light = (
        (0.75 - 0.45 * y) * (0.75 + 0.5 * value_noise(size, rng, 9)) * (0.9 + 0.2 * rng.random((size, size)))
    )
    return _shade(base, light), mask


def draw_animal(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A four-legged animal in side view: body ellipse, head, four legs and a tail, furry shading."""
    y, x = _grid(size)
    flip = 1.0 if rng.random() < 0.5 else -1.0
    x = x * flip
    body = ((y + 0.15) / 0.28) ** 2 + (x / 0.6) ** 2 < 1
    head = (y + 0.35) ** 2 + (x - 0.62) ** 2 < 0.2**2
    leg_x = np.array([-0.45, -0.3, 0.3, 0.45])[:, None, None]
    legs = ((np.abs(x[None] - leg_x) < 0.06) & (y[None] > -0.1) & (y[None] < 0.75)).any(axis=0)
    tail = (np.abs(y + 0.2 + 0.4 * (x + 0.6)) < 0.05) & (x < -0.55) & (x > -0.85)
    mask = body | head | legs | tail
    colours = np.array([[0.45, 0.3, 0.18], [0.12, 0.1, 0.09], [0.85, 0.82, 0.75], [0.6, 0.45, 0.3]])
    base = colours[rng.integers(len(colours))]
    light = (0.85 - 0.3 * y) * (0.85 + 0.3 * value_noise(size, rng, 14))
    return _shade(base, light), mask


def draw_debris(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scattered debris: several small shards and planks of different colours."""
    y, x = _grid(size)
    count = int(rng.integers(4, 9))
    centres = rng.uniform(-0.7, 0.7, (count, 2)).astype(np.float32)
    angles = rng.uniform(0, np.pi, count)
    half = rng.uniform([0.05, 0.1], [0.15, 0.35], (count, 2))
    yr = (y[None] - centres[:, 0, None, None]) * np.cos(angles)[:, None, None] - (
        x[None] - centres[:, 1, None, None]
    ) * np.sin(angles)[:, None, None]
    xr = (y[None] - centres[:, 0, None, None]) * np.sin(angles)[:, None, None] + (
        x[None] - centres[:, 1, None, None]
    ) * np.cos(angles)[:, None, None]
    pieces = (np.abs(yr) < half[:, 0, None, None]) & (np.abs(xr) < half[:, 1, None, None])
    mask = pieces.any(axis=0)
    owner = np.argmax(pieces, axis=0)
    colours = rng.uniform(0.15, 0.95, (count, 3)).astype(np.float32)
    light = 0.85 + 0.3 * value_noise(size, rng, 8)
    rgb = np.clip(colours[owner] * light[..., None], 0, 1).astype(np.float32)
    return rgb, mask


FAMILIES: dict[str, Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "box": draw_box,
    "tyre": draw_tyre,
    "stain": draw_stain,
    "rock": draw_rock,
    "animal": draw_animal,
    "debris": draw_debris,
}


def draw(family: str, size: int, rng: np.random.Generator) -> AnomalyPatch:
    """Draw one object of ``family`` on a size×size canvas; the mask is never empty."""
    if family not in FAMILIES:
        raise ValueError(f"unknown anomaly family {family!r}; known: {', '.join(FAMILIES)}")
    for _ in range(8):
        rgb, mask = FAMILIES[family](size, rng)
        if mask.sum() >= max(4, size * size // 50):
            return AnomalyPatch(rgb.astype(np.float32), mask.astype(bool), family)
    y, x = _grid(size)
    return AnomalyPatch(rgb.astype(np.float32), np.hypot(y, x) < 0.6, family)


def draw_random(families: tuple[str, ...], size: int, rng: np.random.Generator) -> AnomalyPatch:
    return draw(families[int(rng.integers(len(families)))], size, rng)
