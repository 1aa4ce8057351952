"""Recoloured training objects keep their mask and shading and vary in colour and brightness."""

from __future__ import annotations

import numpy as np

from model.anomaly.appearance import AppearanceConfig, vary_appearance
from model.anomaly.families import draw


def test_recolouring_keeps_the_mask_and_spreads_the_palette() -> None:
    rng = np.random.default_rng(0)
    means = []
    for _ in range(40):
        patch = draw("tyre", 32, rng)
        varied = vary_appearance(patch, AppearanceConfig(probability=1.0), rng)
        assert varied.mask is patch.mask and varied.family == "tyre"
        assert varied.rgb.shape == patch.rgb.shape and varied.rgb.dtype == np.float32
        assert 0.0 <= varied.rgb.min() and varied.rgb.max() <= 1.0
        means.append(varied.rgb[varied.mask].mean(0))
    means = np.array(means)
    assert means.mean(1).max() > 0.5  # tyres are dark (about 0.16); recoloured ones need not be
    assert means.std(0).min() > 0.08  # each channel varies across objects


def test_probability_zero_keeps_the_object() -> None:
    rng = np.random.default_rng(1)
    patch = draw("box", 24, rng)
    assert vary_appearance(patch, AppearanceConfig(probability=0.0), rng) is patch
