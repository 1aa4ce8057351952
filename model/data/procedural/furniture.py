"""Street furniture stage: lamp posts, traffic signs (fronts and backs) and traffic lights."""

from __future__ import annotations

from functools import partial

import numpy as np

from model.data.canvas import Material, ellipse_poly, rect_z
from model.data.procedural.base import BuilderBase, square
from model.data.procedural.classes import POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN
from model.data.procedural.lighting import TOWARD_CAMERA

RED, WHITE, BLUE, YELLOW = (0.80, 0.08, 0.08), (0.95, 0.95, 0.95), (0.10, 0.30, 0.75), (0.95, 0.78, 0.10)


class FurnitureStage(BuilderBase):
    def street_furniture(self) -> None:
        rng, st = self.rng, self.street
        for side in [s for s in (-1, 1) if rng.random() < 0.7]:
            x = st.side_edge(side) + side * 0.5
            z = float(rng.uniform(6, 25))
            gap = float(rng.uniform(22, 34))
            while z < 200:
                self.later(z, partial(self.lamp, x, z, side))
                z += gap
        for _ in range(int(rng.integers(3, 9))):
            side = -1 if rng.random() < 0.4 else 1
            x = st.side_edge(side) + side * float(rng.uniform(0.4, 0.9))
            z = float(rng.uniform(5, 45))
            self.later(z, partial(self.sign, x, z))
        lights: list[float] = []
        if st.cross is not None:
            lights.append(st.cross[0] - 1.0)
            if rng.random() < 0.6:
                lights.append(st.cross[1] + 1.0)
        elif rng.random() < 0.55:
            lights.append(float(rng.uniform(14, 40)))
        for z in lights:
            for side in (-1, 1):
                x = st.side_edge(side) + side * 0.6
                self.later(z, partial(self.traffic_light, x, z, side))

    def lamp(self, x: float, z: float, side: int) -> None:
        metal = np.array([0.32, 0.33, 0.35])
        h = 7.5
        p = self.prim(POLE, POLE, metal, TOWARD_CAMERA, Material.FLAT, z, lit=self.in_shadow(x, z))
        self.canvas.fill([rect_z(x - 0.08, x + 0.08, 0, h, z)], p)
        arm = x - side * 1.8
        self.canvas.fill([rect_z(min(x, arm), max(x, arm), h - 0.1, h, z)], p)
        self.canvas.fill([rect_z(arm - 0.35, arm + 0.35, h - 0.25, h + 0.02, z)], p)
        self.cast_shadow(square(x, z, 0.08), h)

    def sign(self, x: float, z: float) -> None:
        """A pole with one or two sign plates; some face away and show their grey backs."""
        rng = self.rng
        h = float(rng.uniform(2.2, 2.8))
        p = self.prim(POLE, POLE, (0.55, 0.56, 0.58), TOWARD_CAMERA, Material.FLAT, z)
        self.canvas.fill([rect_z(x - 0.04, x + 0.04, 0, h + 0.3, z)], p)
        self.cast_shadow(square(x, z, 0.04), h)
        r = float(rng.uniform(0.32, 0.5))
        self.plate(x, h, z, r, back=rng.random() < 0.25)
        if rng.random() < 0.4:  # a second, smaller plate below
            self.plate(x, h - r - 0.3 * r - 0.05, z, r * 0.6, back=False, kind=2)

    def plate(self, x: float, h: float, z: float, r: float, back: bool, kind: int | None = None) -> None:
        rng = self.rng
        if back:
            grey = self.prim(TRAFFIC_SIGN, TRAFFIC_SIGN, (0.50, 0.51, 0.52), TOWARD_CAMERA, Material.FLAT, z)
            shape = int(rng.integers(2))
            poly = ellipse_poly(x, h, z, r, r) if shape == 0 else rect_z(x - r, x + r, h - r, h + r, z)
            self.canvas.fill([poly], grey)
            return
        kind = int(rng.integers(5)) if kind is None else kind
        outer_c, inner_c = [(RED, WHITE), (RED, WHITE), (BLUE, WHITE), (BLUE, BLUE), (YELLOW, WHITE)][kind]
        a = self.prim(TRAFFIC_SIGN, TRAFFIC_SIGN, outer_c, TOWARD_CAMERA, Material.FLAT, z)
        b = self.prim(TRAFFIC_SIGN, TRAFFIC_SIGN, inner_c, TOWARD_CAMERA, Material.FLAT, z)
        if kind == 0:  # round prohibition sign
            self.canvas.fill([ellipse_poly(x, h, z, r, r)], a)
            self.canvas.fill([ellipse_poly(x, h, z, r * 0.75, r * 0.75)], b)
        elif kind == 1:  # warning triangle
            tri = np.array([[x - r, h - r * 0.7, z], [x + r, h - r * 0.7, z], [x, h + r, z]])
            self.canvas.fill([tri], a)
            c = np.array([x, h - r * 0.15, z])
            self.canvas.fill([c + (tri - c) * 0.65], b)
        elif kind == 2:  # blue rectangle with white symbol
            self.canvas.fill([rect_z(x - r, x + r, h - r, h + r, z)], a)
            self.canvas.fill([rect_z(x - r * 0.35, x + r * 0.35, h - r * 0.6, h + r * 0.6, z)], b)
        elif kind == 3:  # blue disc
            self.canvas.fill([ellipse_poly(x, h, z, r, r)], a)
        else:  # priority-road diamond
            d = np.array([[x, h - r, z], [x + r, h, z], [x, h + r, z], [x - r, h, z]])
            self.canvas.fill([d], b)
            self.canvas.fill([np.array([x, h, z]) + (d - [x, h, z]) * 0.6], a)

    def traffic_light(self, x: float, z: float, side: int) -> None:
        rng = self.rng
        p = self.prim(POLE, POLE, (0.25, 0.26, 0.27), TOWARD_CAMERA, Material.FLAT, z)
        h = 3.0
        self.canvas.fill([rect_z(x - 0.09, x + 0.09, 0, h + 0.9, z)], p)
        heads = [x]
        if rng.random() < 0.5:  # a mast arm carrying a second head over the road
            arm = x - side * float(rng.uniform(2.5, 4.5))
            self.canvas.fill([rect_z(min(x, arm), max(x, arm), h + 1.9, h + 2.0, z)], p)
            self.canvas.fill([rect_z(x - 0.09, x + 0.09, h + 0.9, h + 2.0, z)], p)
            heads.append(arm)
        state = int(rng.integers(3))
        colours = [(1.0, 0.15, 0.1), (1.0, 0.7, 0.1), (0.2, 1.0, 0.4)]
        box = self.prim(TRAFFIC_LIGHT, TRAFFIC_LIGHT, (0.12, 0.12, 0.13), TOWARD_CAMERA, Material.FLAT, z)
        for i, hx in enumerate(heads):
            base = h if i == 0 else h + 1.0
            self.canvas.fill([rect_z(hx - 0.2, hx + 0.2, base - 0.2, base + 0.85, z)], box)
            for k in range(3):
                colour = colours[k] if k == state else (0.25, 0.25, 0.25)
                q = self.canvas.add(TRAFFIC_LIGHT, TRAFFIC_LIGHT, colour, Material.FLAT, z)
                self.canvas.fill([ellipse_poly(hx, base + 0.6 - k * 0.3, z, 0.1, 0.1, 12)], q)
        self.cast_shadow(square(x, z, 0.09), h)
