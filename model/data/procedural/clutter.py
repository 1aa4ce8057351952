"""Clutter stage: Cityscapes "static" (bins, benches, bollards, advertising columns, utility boxes)
and "dynamic" (wheelie bins, strollers, sandwich boards) objects on the sidewalks."""

from __future__ import annotations

from functools import partial

import numpy as np

from model.data import palettes as pal
from model.data.canvas import Material, ellipse_poly, rect_ground, rect_x, rect_z
from model.data.procedural.base import BuilderBase, square
from model.data.procedural.classes import DYNAMIC, STATIC, VEGETATION
from model.data.procedural.lighting import LEFT_WALL, RIGHT_WALL, TOWARD_CAMERA, UP


class ClutterStage(BuilderBase):
    def clutter(self) -> None:
        rng, st = self.rng, self.street
        kinds = (self.advertising_column, self.utility_box, self.bench, self.street_bin, self.planter)
        for _ in range(int(rng.integers(3, 9))):
            side = -1 if rng.random() < 0.5 else 1
            z = float(rng.uniform(3.0, 40.0))
            draw = kinds[int(rng.choice(len(kinds), p=[0.25, 0.25, 0.2, 0.15, 0.15]))]
            x = self.side_walk_x(side, 0.7)
            self.later(z, partial(draw, x, z, side))
        if rng.random() < 0.45:  # a row of bollards along the kerb
            side = -1 if rng.random() < 0.5 else 1
            x = st.side_edge(side) + side * 0.35
            z0 = float(rng.uniform(2.0, 20.0))
            for z in np.arange(z0, z0 + float(rng.uniform(6.0, 25.0)), float(rng.uniform(1.2, 2.0))):
                self.later(float(z), partial(self.bollard, x, z))
        if rng.random() < 0.55:
            for _ in range(int(rng.integers(1, 4))):
                side = -1 if rng.random() < 0.5 else 1
                z = float(rng.uniform(8.0, 30.0))
                x = self.side_walk_x(side, 0.5)
                draw = self.wheelie_bin if rng.random() < 0.6 else self.sandwich_board
                self.later(z, partial(draw, x, z, side))

    def box(
        self,
        label: int,
        x: float,
        z: float,
        w: float,
        d: float,
        h: float,
        colour: np.ndarray,
        material: int = Material.FLAT,
        y0: float = 0.0,
    ) -> None:
        """An axis-aligned box: its front, top and the side that faces the street centre."""
        lit = self.in_shadow(x, z)
        x0, x1 = x - w / 2, x + w / 2
        if y0 == 0.0:
            self.cast_shadow(np.array([[x0, z], [x1, z], [x1, z + d], [x0, z + d]]), h)
        side_x = x0 if x0 > 0 else x1
        normal = RIGHT_WALL if side_x == x0 else LEFT_WALL
        self.canvas.fill(
            [rect_x(side_x, z, z + d, y0, h)],
            self.prim(label, label, colour * 0.9, normal, material, z, lit=lit),
        )
        self.canvas.fill(
            [rect_ground(x0, x1, z, z + d, h)], self.prim(label, label, colour, UP, material, z, lit=lit)
        )
        self.canvas.fill(
            [rect_z(x0, x1, y0, h, z)], self.prim(label, label, colour, TOWARD_CAMERA, material, z, lit=lit)
        )

    def advertising_column(self, x: float, z: float, side: int) -> None:
        rng = self.rng
        r, h = float(rng.uniform(0.55, 0.7)), float(rng.uniform(2.6, 3.4))
        lit = self.in_shadow(x, z)
        self.cast_shadow(square(x, z, r), h)
        base = self.prim(STATIC, STATIC, (0.22, 0.30, 0.24), TOWARD_CAMERA, Material.FLAT, z, lit=lit)
        self.canvas.fill([rect_z(x - r, x + r, 0, 0.4, z)], base)
        posters = rng.uniform(0.1, 0.95, (5, 3))
        edges = np.linspace(x - r, x + r, 6)
        for k in range(5):  # poster bands, darker towards the column's silhouette
            shade = 1.0 - 0.35 * abs((edges[k] + edges[k + 1]) / 2 - x) / r
            p = self.prim(STATIC, STATIC, posters[k] * shade, TOWARD_CAMERA, Material.PANEL, z, lit=lit)
            self.canvas.fill([rect_z(edges[k], edges[k + 1], 0.4, h, z)], p)
        self.canvas.fill([ellipse_poly(x, h, z, r * 1.1, 0.35, 16, 0.0, np.pi)], base)

    def utility_box(self, x: float, z: float, side: int) -> None:
        rng = self.rng
        colour = pal.jitter(
            rng, pal.pick(rng, ((0.55, 0.57, 0.52), (0.70, 0.70, 0.66), (0.35, 0.42, 0.36))), 0.03
        )
        self.box(
            STATIC,
            x,
            z,
            float(rng.uniform(0.6, 1.2)),
            0.4,
            float(rng.uniform(1.0, 1.5)),
            colour,
            Material.PANEL,
        )

    def bench(self, x: float, z: float, side: int) -> None:
        wood = pal.jitter(self.rng, (0.45, 0.30, 0.18), 0.04)
        self.box(STATIC, x, z, 0.5, 1.8, 0.45, wood)
        self.box(STATIC, x + side * 0.2, z, 0.08, 1.8, 0.9, wood * 0.9, y0=0.45)

    def street_bin(self, x: float, z: float, side: int) -> None:
        colour = pal.jitter(
            self.rng, pal.pick(self.rng, ((0.85, 0.40, 0.08), (0.15, 0.35, 0.20), (0.3, 0.3, 0.32)))
        )
        p = self.prim(STATIC, STATIC, (0.3, 0.3, 0.32), TOWARD_CAMERA, Material.FLAT, z)
        self.canvas.fill([rect_z(x - 0.04, x + 0.04, 0, 0.6, z)], p)
        self.box(STATIC, x, z, 0.45, 0.35, 1.0, colour, y0=0.45)

    def planter(self, x: float, z: float, side: int) -> None:
        concrete = pal.jitter(self.rng, (0.62, 0.60, 0.56), 0.03)
        self.box(STATIC, x, z, 1.0, 1.0, 0.6, concrete, Material.PLASTER)
        green = pal.jitter(self.rng, pal.TREES[0], 0.05)
        p = self.prim(VEGETATION, VEGETATION, green, UP, Material.FOLIAGE, z)
        self.canvas.fill([ellipse_poly(x, 0.85, z, 0.5, 0.35, 14)], p)

    def bollard(self, x: float, z: float) -> None:
        p = self.prim(
            STATIC, STATIC, (0.22, 0.22, 0.24), TOWARD_CAMERA, Material.FLAT, z, lit=self.in_shadow(x, z)
        )
        self.canvas.fill([rect_z(x - 0.07, x + 0.07, 0, 0.9, z)], p)
        q = self.prim(STATIC, STATIC, (0.9, 0.9, 0.9), TOWARD_CAMERA, Material.FLAT, z)
        self.canvas.fill([rect_z(x - 0.07, x + 0.07, 0.7, 0.78, z)], q)

    def wheelie_bin(self, x: float, z: float, side: int) -> None:
        rng = self.rng
        colour = pal.jitter(
            rng,
            pal.pick(
                rng,
                ((0.2, 0.45, 0.2), (0.15, 0.25, 0.6), (0.5, 0.3, 0.15), (0.3, 0.3, 0.3), (0.85, 0.75, 0.1)),
            ),
            0.03,
        )
        self.box(DYNAMIC, x, z, 0.6, 0.7, 1.05, colour, Material.BODY)
        p = self.prim(DYNAMIC, DYNAMIC, (0.05, 0.05, 0.05), TOWARD_CAMERA, Material.FLAT, z)
        self.canvas.fill(
            [
                ellipse_poly(x - 0.22, 0.1, z - 0.01, 0.1, 0.1, 10),
                ellipse_poly(x + 0.22, 0.1, z - 0.01, 0.1, 0.1, 10),
            ],
            p,
        )

    def sandwich_board(self, x: float, z: float, side: int) -> None:
        rng = self.rng
        colour = pal.jitter(rng, pal.pick(rng, ((0.1, 0.1, 0.1), (0.9, 0.9, 0.85), (0.7, 0.15, 0.1))))
        p = self.prim(DYNAMIC, DYNAMIC, colour, TOWARD_CAMERA, Material.PANEL, z)
        board = np.array([[x - 0.32, 0, z], [x + 0.32, 0, z], [x + 0.25, 1.0, z], [x - 0.25, 1.0, z]])
        self.canvas.fill([board], p)
