"""People stage: pedestrians and crowds, bicycles and motorcycles (parked or ridden) and their riders."""

from __future__ import annotations

from functools import partial

import numpy as np

from model.data import palettes as pal
from model.data.canvas import Material, ellipse_poly, rect_z
from model.data.procedural.base import BuilderBase
from model.data.procedural.classes import BICYCLE, MOTORCYCLE, PERSON, RIDER
from model.data.procedural.lighting import TOWARD_CAMERA


class PeopleStage(BuilderBase):
    def people(self) -> None:
        rng, st = self.rng, self.street
        if rng.random() < 0.85:
            for _ in range(int(rng.poisson(6.0 * self.config.pedestrians))):
                side = -1 if rng.random() < 0.5 else 1
                x, z = self.side_walk_x(side), float(rng.uniform(3, 50))
                self.later(z, partial(self.person, x, z, PERSON))
            for _ in range(int(rng.poisson(1.2 * self.config.pedestrians))):  # a crowd: a tight group
                side = -1 if rng.random() < 0.5 else 1
                z0 = float(rng.uniform(6, 40))
                for _ in range(int(rng.integers(3, 9))):
                    x = self.side_walk_x(side)
                    z = z0 + float(rng.uniform(0.0, 4.0))
                    self.later(z, partial(self.person, x, z, PERSON))
        if self.crossing is not None:
            for _ in range(int(rng.integers(0, 5))):
                x = float(rng.uniform(st.road_left + 0.5, st.road_right - 0.5))
                z = float(rng.uniform(*self.crossing))
                self.later(z, partial(self.person, x, z, PERSON))

    def person(self, x: float, z: float, cls: int, base: float = 0.0, riding: bool = False) -> None:
        rng = self.rng
        inst = self.instance(cls)
        h = float(rng.uniform(1.6, 1.9))
        lit = self.in_shadow(x, z)
        shirt = pal.jitter(rng, pal.pick(rng, pal.SHIRTS))
        trousers = pal.jitter(rng, pal.pick(rng, pal.TROUSERS))
        skin = pal.jitter(rng, pal.pick(rng, pal.SKIN), 0.02)
        hair = pal.pick(rng, pal.HAIR)
        if not riding:
            self.cast_shadow(
                np.array(
                    [[x - 0.2, z - 0.15], [x + 0.2, z - 0.15], [x + 0.2, z + 0.15], [x - 0.2, z + 0.15]]
                ),
                h * 0.8,
            )

        def P(color: object) -> int:
            return self.prim(cls, inst, color, TOWARD_CAMERA, Material.FLAT, z, lit=lit)

        y = base
        hip = y + 0.48 * h
        stride = float(rng.uniform(0.0, 0.12))
        if riding:  # seated: legs bent down to the pedals
            legs = [
                np.array([[x - 0.2, hip, z], [x + 0.02, hip, z], [x + 0.12, y + 0.12, z], [x, y + 0.12, z]])
            ]
        else:
            legs = [
                np.array(
                    [
                        [x - 0.15, hip, z],
                        [x - 0.01, hip, z],
                        [x - 0.03 - stride, y, z],
                        [x - 0.15 - stride, y, z],
                    ]
                ),
                np.array(
                    [
                        [x + 0.01, hip, z],
                        [x + 0.15, hip, z],
                        [x + 0.15 + stride, y, z],
                        [x + 0.03 + stride, y, z],
                    ]
                ),
            ]
        self.canvas.fill(legs, P(trousers))
        shoulder = y + 0.82 * h
        torso = np.array(
            [
                [x - 0.17, hip - 0.03, z],
                [x + 0.17, hip - 0.03, z],
                [x + 0.21, shoulder, z],
                [x - 0.21, shoulder, z],
            ]
        )
        arms = [
            np.array(
                [
                    [x - 0.28, y + 0.45 * h, z],
                    [x - 0.19, y + 0.45 * h, z],
                    [x - 0.18, shoulder, z],
                    [x - 0.25, shoulder - 0.02, z],
                ]
            ),
            np.array(
                [
                    [x + 0.19, y + 0.45 * h, z],
                    [x + 0.28, y + 0.45 * h, z],
                    [x + 0.25, shoulder - 0.02, z],
                    [x + 0.18, shoulder, z],
                ]
            ),
        ]
        ps = P(shirt)
        self.canvas.fill([torso], ps)
        self.canvas.fill(arms, ps)
        self.canvas.fill([rect_z(x - 0.05, x + 0.05, shoulder - 0.02, shoulder + 0.06, z)], P(skin))
        self.canvas.fill([ellipse_poly(x, y + 0.92 * h, z, 0.085, 0.11, 14)], P(skin))
        helmet = riding and rng.random() < 0.6
        top = ellipse_poly(
            x, y + 0.95 * h, z, 0.11 if helmet else 0.09, 0.1 if helmet else 0.08, 14, 0, np.pi
        )
        self.canvas.fill([top], P(pal.pick(rng, pal.SHIRTS) if helmet else hair))

    # ----- two-wheelers ----------------------------------------------------------------------
    def two_wheelers(self) -> None:
        """Parked bicycles on sidewalks, cyclists and motorcyclists crossing or riding along the road."""
        rng, st = self.rng, self.street
        if not self.config.bicycles:
            return
        if rng.random() < 0.7:  # parked bicycles, often in a row at a rack
            side = -1 if rng.random() < 0.5 else 1
            x0, z = self.side_walk_x(side, 0.8), float(rng.uniform(6, 20))
            for k in range(int(rng.integers(2, 6))):
                self.later(z + 0.7 * k, partial(self.bicycle, x0, z + 0.7 * k, rider=False))
        if rng.random() < 0.42:  # riders: cyclists mostly, some on motorcycles
            for _ in range(int(rng.integers(1, 3))):
                on_road = rng.random() < 0.75
                if on_road:
                    x = float(rng.uniform(st.road_left + 0.8, st.road_right - 0.8))
                else:
                    x = self.side_walk_x(-1 if rng.random() < 0.5 else 1, 0.6)
                motor = on_road and rng.random() < 0.4
                z = float(rng.uniform(5, 18) if motor else rng.uniform(8, 35))
                draw = self.motorcycle if motor else self.bicycle
                self.later(z, partial(draw, x, z, rider=True))
        if rng.random() < 0.3:  # a parked motorcycle
            side = -1 if rng.random() < 0.5 else 1
            x, z = self.side_walk_x(side, 1.0), float(rng.uniform(5, 14))
            self.later(z, partial(self.motorcycle, x, z, rider=False))

    def bicycle(self, x: float, z: float, rider: bool) -> None:
        rng = self.rng
        inst = self.instance(BICYCLE)
        colour = pal.pick(rng, ((0.1, 0.1, 0.1), (0.7, 0.1, 0.1), (0.15, 0.3, 0.6), (0.8, 0.8, 0.8)))
        r = 0.34
        lit = self.in_shadow(x, z)
        p = self.prim(BICYCLE, inst, colour, TOWARD_CAMERA, Material.FLAT, z, lit=lit)
        tyre = self.prim(BICYCLE, inst, (0.05, 0.05, 0.05), TOWARD_CAMERA, Material.FLAT, z)
        self.cast_shadow(
            np.array([[x - 0.9, z - 0.05], [x + 0.9, z - 0.05], [x + 0.9, z + 0.05], [x - 0.9, z + 0.05]]),
            0.6,
        )
        spokes = self.prim(BICYCLE, inst, (0.42, 0.42, 0.43), TOWARD_CAMERA, Material.FLAT, z, lit=lit)
        for wx in (x - 0.55, x + 0.55):  # labelled as a whole disc, as annotators outline a wheel
            self.canvas.fill([ellipse_poly(wx, r, z, r, r, 20)], tyre)
            self.canvas.fill([ellipse_poly(wx, r, z, r - 0.05, r - 0.05, 20)], spokes)
        frame = np.array(
            [
                [x - 0.55, r, z],
                [x - 0.1, r, z],
                [x + 0.35, 0.85, z],
                [x - 0.2, 0.85, z],
                [x - 0.55, r, z],
                [x - 0.2, 0.85, z],
                [x - 0.1, r, z],
            ]
        )
        self.canvas.stroke(frame, p, 0.05)
        self.canvas.stroke(np.array([[x + 0.55, r, z], [x + 0.35, 0.85, z], [x + 0.32, 1.0, z]]), p, 0.05)
        self.canvas.fill([rect_z(x - 0.3, x - 0.1, 0.9, 0.95, z)], tyre)
        if rider:  # drawn in front of the frame, seated on the saddle
            self.person(x - 0.15, z - 0.01, RIDER, base=0.3, riding=True)

    def motorcycle(self, x: float, z: float, rider: bool) -> None:
        rng = self.rng
        inst = self.instance(MOTORCYCLE)
        colour = pal.jitter(
            rng,
            pal.pick(rng, ((0.08, 0.08, 0.09), (0.7, 0.08, 0.06), (0.85, 0.85, 0.85), (0.1, 0.2, 0.5))),
            0.03,
        )
        lit = self.in_shadow(x, z)
        self.cast_shadow(
            np.array([[x - 1.0, z - 0.2], [x + 1.0, z - 0.2], [x + 1.0, z + 0.2], [x - 1.0, z + 0.2]]), 0.9
        )
        tyre = self.prim(MOTORCYCLE, inst, (0.04, 0.04, 0.04), TOWARD_CAMERA, Material.FLAT, z, lit=lit)
        body = self.prim(MOTORCYCLE, inst, colour, TOWARD_CAMERA, Material.BODY, z, lit=lit)
        metal = self.prim(MOTORCYCLE, inst, (0.55, 0.56, 0.58), TOWARD_CAMERA, Material.FLAT, z, lit=lit)
        r = 0.32
        for wx in (x - 0.72, x + 0.72):
            self.canvas.fill([ellipse_poly(wx, r, z, r, r, 20)], tyre)
            self.canvas.fill([ellipse_poly(wx, r, z, r * 0.45, r * 0.45, 12)], metal)
        engine = np.array([[x - 0.3, 0.25, z], [x + 0.3, 0.25, z], [x + 0.4, 0.6, z], [x - 0.35, 0.6, z]])
        self.canvas.fill([engine], metal)
        shell = np.array(
            [
                [x - 0.85, 0.6, z],
                [x - 0.2, 0.55, z],
                [x + 0.45, 0.62, z],
                [x + 0.75, 0.9, z],
                [x + 0.5, 0.98, z],
                [x - 0.1, 0.82, z],
                [x - 0.8, 0.8, z],
            ]
        )
        self.canvas.fill([shell], body)
        self.canvas.stroke(np.array([[x + 0.72, r, z], [x + 0.55, 1.05, z], [x + 0.4, 1.1, z]]), metal, 0.05)
        if rider:
            self.person(x - 0.2, z - 0.01, RIDER, base=0.45, riding=True)
