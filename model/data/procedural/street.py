"""Street cross-section, cross streets and the camera: the layout decisions made before drawing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.data import textures as tex
from model.data.canvas import Camera


@dataclass(frozen=True)
class Street:
    """Cross-section of the street in metres (X of each edge; camera at X = 0), plus a cross street."""

    lane: float
    lanes_left: int
    lanes_right: int
    road_left: float  # X of the left kerb (negative)
    road_right: float
    verge_left: float  # grass strip between kerb and sidewalk (0 = none)
    verge_right: float
    walk_left: float  # sidewalk widths
    walk_right: float
    park_left: bool  # park instead of buildings
    park_right: bool
    parking_left: bool  # a parking strip (Cityscapes "parking") along the kerb
    parking_right: bool
    cross: tuple[float, float] | None  # (z0, z1) of a cross street, None for none
    tram: bool  # tram tracks in the middle of the road

    def side_edge(self, side: int) -> float:
        """X of the kerb on a side (-1 left, +1 right)."""
        return self.road_left if side < 0 else self.road_right

    def building_line(self, side: int) -> float:
        if side < 0:
            return self.road_left - self.verge_left - self.walk_left
        return self.road_right + self.verge_right + self.walk_right

    def walk_range(self, side: int) -> tuple[float, float]:
        """(inner, outer) X of the sidewalk on a side."""
        if side < 0:
            inner = self.road_left - self.verge_left
            return inner, inner - self.walk_left
        inner = self.road_right + self.verge_right
        return inner, inner + self.walk_right

    def is_park(self, side: int) -> bool:
        return self.park_left if side < 0 else self.park_right

    def has_parking(self, side: int) -> bool:
        return self.parking_left if side < 0 else self.parking_right

    def in_cross(self, z: float, margin: float = 0.0) -> bool:
        """Whether depth z lies in the cross street (grown by margin metres)."""
        return self.cross is not None and self.cross[0] - margin <= z <= self.cross[1] + margin


def make_street(rng: np.random.Generator) -> Street:
    lane = float(rng.uniform(3.0, 3.5))
    lanes_left = int(rng.choice([1, 1, 2]))
    lanes_right = int(rng.choice([1, 1, 2]))
    offset = float(rng.uniform(-0.4, 0.4))
    road_right = lane * (lanes_right - 0.5) + offset
    road_left = -lane * (lanes_left + 0.5) + offset
    verge = [float(rng.uniform(0.8, 1.8)) if rng.random() < 0.3 else 0.0 for _ in range(2)]
    walk = [float(rng.uniform(2.5, 5.0)) for _ in range(2)]
    park = [bool(rng.random() < 0.15) for _ in range(2)]
    if park[0] and park[1]:
        park[int(rng.integers(2))] = False
    parking = [bool(rng.random() < 0.09) for _ in range(2)]
    cross = None
    if rng.random() < 0.4:
        z0 = float(rng.uniform(14.0, 45.0))
        cross = (z0, z0 + float(rng.uniform(9.0, 16.0)))
    tram = bool(rng.random() < 0.2)
    return Street(
        lane,
        lanes_left,
        lanes_right,
        road_left,
        road_right,
        verge[0],
        verge[1],
        walk[0],
        walk[1],
        park[0],
        park[1],
        parking[0],
        parking[1],
        cross,
        tram,
    )


def make_camera(rng: np.random.Generator, width: int, height: int) -> Camera:
    """A car-mounted camera: focal length, height, pitch (as the horizon row) and road curvature vary."""
    f = float(rng.uniform(620.0, 760.0))  # base-frame focal length (1024×512)
    bend = float(rng.uniform(0.002, 0.006)) * float(rng.choice([-1.0, 1.0])) if rng.random() < 0.3 else 0.0
    return Camera(
        fx=f * width / tex.BASE_W,
        fy=f * height / tex.BASE_H,
        cx=width * (0.5 + float(rng.uniform(-0.04, 0.04))),
        cy=height * float(rng.uniform(0.38, 0.49)),  # pitch: the horizon row moves up or down
        height=float(rng.uniform(1.15, 1.75)),
        bend=bend,
    )
