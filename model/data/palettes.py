"""Appearance modes of the procedural scenes (linear-ish RGB albedo in 0..1).

Each list holds a few well separated modes; one instance picks one mode and jitters it slightly,
so that per-class k-means on encoded features later finds these modes as clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from model.data.canvas import Material

Color = tuple[float, float, float]

CAR_PAINTS: tuple[tuple[str, Color, float], ...] = (  # name, colour, weight
    ("white", (0.90, 0.90, 0.88), 3.0),
    ("black", (0.06, 0.06, 0.07), 2.5),
    ("silver", (0.60, 0.62, 0.65), 2.5),
    ("red", (0.66, 0.07, 0.07), 1.5),
    ("blue", (0.10, 0.22, 0.55), 1.5),
)
BUS_PAINTS: tuple[Color, ...] = ((0.92, 0.72, 0.10), (0.75, 0.12, 0.10), (0.20, 0.45, 0.70))
TRUCK_PAINTS: tuple[Color, ...] = ((0.88, 0.88, 0.86), (0.30, 0.40, 0.62), (0.55, 0.56, 0.58))


@dataclass(frozen=True)
class FacadeStyle:
    color: Color
    material: int
    frame: Color  # window frame colour


FACADES: tuple[FacadeStyle, ...] = (
    FacadeStyle((0.86, 0.79, 0.64), Material.PLASTER, (0.95, 0.95, 0.93)),  # cream
    FacadeStyle((0.66, 0.33, 0.22), Material.BRICK, (0.92, 0.90, 0.85)),  # red brick
    FacadeStyle((0.56, 0.56, 0.55), Material.PANEL, (0.25, 0.25, 0.27)),  # grey concrete
    FacadeStyle((0.90, 0.80, 0.48), Material.PLASTER, (0.96, 0.95, 0.90)),  # ochre
    FacadeStyle((0.90, 0.90, 0.88), Material.PLASTER, (0.35, 0.35, 0.38)),  # white
    FacadeStyle((0.42, 0.22, 0.17), Material.BRICK, (0.90, 0.88, 0.82)),  # dark brick
    FacadeStyle((0.60, 0.70, 0.78), Material.PLASTER, (0.96, 0.96, 0.96)),  # pastel blue
    FacadeStyle((0.76, 0.66, 0.50), Material.PANEL, (0.30, 0.28, 0.26)),  # sandstone
)
GLASS: tuple[Color, ...] = ((0.16, 0.22, 0.30), (0.10, 0.12, 0.14), (0.22, 0.30, 0.32))

TREES: tuple[Color, ...] = (
    (0.24, 0.45, 0.12),  # fresh green
    (0.12, 0.28, 0.10),  # dark green
    (0.45, 0.52, 0.14),  # yellow-green
    (0.70, 0.42, 0.12),  # autumn
)
TREE_WEIGHTS = (3.0, 3.0, 2.0, 1.0)
TRUNK: Color = (0.30, 0.22, 0.16)
GRASS: tuple[Color, ...] = ((0.32, 0.46, 0.16), (0.52, 0.50, 0.28))

SHIRTS: tuple[Color, ...] = (
    (0.10, 0.10, 0.12),
    (0.85, 0.85, 0.85),
    (0.15, 0.25, 0.50),
    (0.70, 0.15, 0.12),
    (0.35, 0.50, 0.30),
    (0.80, 0.65, 0.25),
)
TROUSERS: tuple[Color, ...] = ((0.12, 0.14, 0.22), (0.08, 0.08, 0.08), (0.40, 0.38, 0.34), (0.25, 0.30, 0.45))
SKIN: tuple[Color, ...] = ((0.87, 0.68, 0.55), (0.65, 0.45, 0.32), (0.40, 0.26, 0.18))
HAIR: tuple[Color, ...] = ((0.08, 0.06, 0.05), (0.35, 0.22, 0.12), (0.70, 0.60, 0.40), (0.55, 0.55, 0.55))


@dataclass(frozen=True)
class SkyStyle:
    zenith: Color
    horizon: Color
    clouds: float  # cloud cover 0..1
    ambient: float  # share of light that is not direct sun (1 = no shadows)
    weight: float


SKIES: tuple[SkyStyle, ...] = (
    SkyStyle((0.28, 0.50, 0.85), (0.74, 0.85, 0.95), 0.25, 0.45, 4.0),  # clear
    SkyStyle((0.40, 0.58, 0.82), (0.80, 0.86, 0.92), 0.55, 0.55, 3.0),  # fair weather clouds
    SkyStyle((0.58, 0.62, 0.68), (0.80, 0.82, 0.84), 0.85, 0.85, 1.5),  # overcast
    SkyStyle((0.32, 0.40, 0.72), (0.96, 0.78, 0.58), 0.35, 0.50, 1.5),  # evening
)


T = TypeVar("T")


def pick(rng: np.random.Generator, options: Sequence[T], weights: tuple[float, ...] | None = None) -> T:
    """One element of options, optionally weighted."""
    if weights is None:
        return options[int(rng.integers(len(options)))]
    p = np.asarray(weights, dtype=np.float64)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def jitter(rng: np.random.Generator, color: Color, amount: float = 0.03) -> np.ndarray:
    """A colour mode with a small brightness and per-channel jitter."""
    c = np.asarray(color, dtype=np.float64)
    c = c * rng.uniform(1 - amount * 2, 1 + amount * 2) + rng.uniform(-amount, amount, 3)
    return np.clip(c, 0.0, 1.0)


TRAM_PAINTS: tuple[Color, ...] = (
    (0.90, 0.90, 0.88),
    (0.80, 0.12, 0.10),
    (0.92, 0.75, 0.15),
    (0.20, 0.45, 0.30),
)
GROUNDS: tuple[Color, ...] = (
    (0.50, 0.42, 0.33),
    (0.45, 0.44, 0.40),
    (0.58, 0.52, 0.42),
)  # earth, gravel, sand
WALLS: tuple[Color, ...] = ((0.62, 0.58, 0.52), (0.75, 0.72, 0.66), (0.50, 0.40, 0.34))
