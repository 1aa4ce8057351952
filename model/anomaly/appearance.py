"""Appearance variation for the inpainter's training objects.

The training families alone give a narrow palette (two of three are dark rubber or tar), and an
inpainter trained on them learns "a dark blob". An anomaly segmenter needs variety of colour,
brightness and texture inside the mask, so :func:`vary_appearance` recolours a drawn object while
keeping its shading (relative light and dark within the object): a random channel order, per-channel
gains (hue and saturation), a new mean brightness, and a multiplicative value-noise texture.
Only the inpainter's training data is varied; the paste baseline keeps the families' own colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.anomaly.families import AnomalyPatch, value_noise


@dataclass(frozen=True)
class AppearanceConfig:
    probability: float = 0.7  # share of training objects recoloured (the rest keep their colours)
    brightness: tuple[float, float] = (0.08, 0.9)  # new mean brightness inside the object
    texture: float = 0.8  # largest amplitude of the multiplicative texture


def vary_appearance(patch: AnomalyPatch, config: AppearanceConfig, rng: np.random.Generator) -> AnomalyPatch:
    """A recoloured copy of ``patch`` (same mask and family) with probability ``config.probability``."""
    if rng.random() >= config.probability or not patch.mask.any():
        return patch
    rgb = patch.rgb[..., rng.permutation(3)] * rng.uniform(0.4, 1.6, 3).astype(np.float32)
    size = rgb.shape[0]
    amplitude = rng.uniform(0.0, config.texture)
    cells = int(rng.integers(2, max(3, size // 3)))
    rgb = rgb * (1.0 + amplitude * (value_noise(size, rng, cells) - 0.5))[..., None]
    mean = float(rgb[patch.mask].mean())
    target = rng.uniform(*config.brightness)
    rgb = rgb * (target / max(mean, 1e-3))
    return AnomalyPatch(np.clip(rgb, 0.0, 1.0).astype(np.float32), patch.mask, patch.family)
