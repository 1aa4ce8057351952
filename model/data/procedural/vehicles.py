"""Vehicles stage: moving and parked cars (near ones cut by the frame edge), trucks, buses and trams."""

from __future__ import annotations

from functools import partial

import numpy as np

from model.data import palettes as pal
from model.data.canvas import Material, ellipse_poly, rect_ground, rect_x, rect_z
from model.data.procedural.base import BuilderBase
from model.data.procedural.classes import BUS, CAR, TRAIN, TRUCK
from model.data.procedural.lighting import LEFT_WALL, RIGHT_WALL, TOWARD_CAMERA, UP, Normal

VEHICLE_CLASS = {"car": CAR, "bus": BUS, "truck": TRUCK, "tram": TRAIN}


class VehicleStage(BuilderBase):
    def traffic(self) -> None:
        rng, st, cfg = self.rng, self.street, self.config
        lanes = [(st.road_left + st.lane * (i + 0.5), True) for i in range(st.lanes_left)]
        lanes += [(st.road_left + st.lane * (st.lanes_left + i + 0.5), False) for i in range(st.lanes_right)]
        tram_lane: tuple[float, float] | None = None  # (X, far end) of a tram: no cars before it
        if cfg.big_vehicles:  # trucks, buses and trams are rare, as in city driving data
            for kind, chance in (("truck", 0.1), ("bus", 0.25)):
                if rng.random() < chance:
                    x, oncoming = lanes[int(rng.integers(len(lanes)))]
                    z = float(rng.uniform(12, 50)) if kind == "bus" else float(rng.uniform(25, 70))
                    self.later(z, partial(self.vehicle, x, z, kind, oncoming))
            if st.tram and rng.random() < 0.75:
                centre = st.road_left + st.lane * st.lanes_left
                oncoming = rng.random() < 0.5
                tram_x = centre + (-1.6 if oncoming else 1.6)
                tram_z = float(rng.uniform(15, 50))
                self.later(tram_z, partial(self.vehicle, tram_x, tram_z, "tram", oncoming))
                tram_lane = (tram_x, tram_z + 40.0)
        for x, oncoming in lanes:
            # the car ahead in the camera's own lane keeps a safe distance
            z = float(rng.uniform(10, 25) if abs(x) < st.lane / 2 else rng.uniform(6, 20))
            while z < 130:
                blocked = tram_lane is not None and abs(x - tram_lane[0]) < 2.5 and z < tram_lane[1]
                if rng.random() < 0.65 * cfg.traffic and not blocked:
                    xx = x + float(rng.uniform(-0.3, 0.3))
                    self.later(z, partial(self.vehicle, xx, z, "car", oncoming))
                    z += 6.0
                z += float(rng.uniform(4, 20))
        for side in (-1, 1):  # parked cars along the kerb; the nearest ones are cut by the frame edge
            if rng.random() < 0.3:
                continue
            x = st.side_edge(side) - side * 1.15
            z = float(rng.uniform(0.5, 6.0))
            while z < 100:
                if rng.random() < 0.6 * cfg.traffic and not st.in_cross(z, 5.0):
                    self.later(z, partial(self.vehicle, x, z, "car", side < 0))
                z += float(rng.uniform(5.0, 8.0))

    def vehicle(self, cx: float, z: float, kind: str, front: bool) -> None:
        rng = self.rng
        cls = VEHICLE_CLASS[kind]
        if kind == "car":
            _, colour, _ = pal.pick(rng, pal.CAR_PAINTS, tuple(c[2] for c in pal.CAR_PAINTS))
            width, length = float(rng.uniform(1.7, 1.9)), float(rng.uniform(4.0, 4.8))
            body_top, cab_top = float(rng.uniform(0.85, 1.0)), float(rng.uniform(1.4, 1.65))
        elif kind == "bus":
            colour = pal.pick(rng, pal.BUS_PAINTS)
            width, length, body_top, cab_top = 2.5, 12.0, 3.0, 3.0
        elif kind == "tram":
            colour = pal.pick(rng, pal.TRAM_PAINTS)
            width, length, body_top, cab_top = 2.4, float(rng.uniform(25.0, 40.0)), 3.4, 3.4
        else:
            colour = pal.pick(rng, pal.TRUCK_PAINTS)
            width, length, body_top, cab_top = 2.4, float(rng.uniform(6.5, 8.5)), 3.3, 3.3
        paint = pal.jitter(rng, colour, 0.02)
        inst = self.instance(cls)
        lit = self.in_shadow(cx, z + length / 2)
        x0, x1 = cx - width / 2, cx + width / 2
        z1 = z + length
        self.cast_shadow(np.array([[x0, z], [x1, z], [x1, z1], [x0, z1]]), cab_top * 0.85)
        self.shadow_poly(rect_ground(x0 - 0.1, x1 + 0.1, z - 0.1, z1))
        tyre = np.array([0.05, 0.05, 0.05])
        glass = np.array([0.10, 0.12, 0.15]) if kind == "car" else np.array([0.12, 0.16, 0.20])
        side_x = x0 if x0 > 0.2 else x1 if x1 < -0.2 else None
        wheel_r = 0.33 if kind == "car" else 0.5

        def P(color: object, normal: Normal, material: int = Material.FLAT) -> int:
            return self.prim(cls, inst, color, normal, material, z, lit=lit)

        if side_x is not None:  # the side facing the street centre
            normal = RIGHT_WALL if side_x == x0 else LEFT_WALL
            self.canvas.fill([rect_x(side_x, z, z1, 0.25, body_top)], P(paint, normal, Material.BODY))
            wheel = ellipse_poly(0, wheel_r, 0, wheel_r, wheel_r, 14)
            pw = P(tyre, normal)
            axles = (z + 0.9, z1 - 0.9) if kind != "tram" else (z + 2.0, z + 4.0, z1 - 4.0, z1 - 2.0)
            for wz in axles:
                self.canvas.fill(
                    [np.stack([np.full(len(wheel), side_x), wheel[:, 1], wz + wheel[:, 0]], axis=1)], pw
                )
            if kind == "car":
                cab = np.array(
                    [
                        [side_x, body_top, z + 0.6],
                        [side_x, body_top, z1 - 0.8],
                        [side_x, cab_top, z1 - 1.5],
                        [side_x, cab_top, z + 1.2],
                    ]
                )
                self.canvas.fill([cab], P(paint, normal, Material.BODY))
                inset = np.array(
                    [
                        [side_x, body_top + 0.05, z + 0.8],
                        [side_x, body_top + 0.05, z1 - 1.0],
                        [side_x, cab_top - 0.06, z1 - 1.55],
                        [side_x, cab_top - 0.06, z + 1.3],
                    ]
                )
                self.canvas.fill([inset], P(glass, normal, Material.GLASS))
            elif kind in ("bus", "tram"):
                self.canvas.fill(
                    [rect_x(side_x, z + 0.5, z1 - 0.3, 1.3, 2.6)], P(glass, normal, Material.GLASS)
                )
                if kind == "tram":
                    stripe = P(np.asarray(paint) * 0.45, normal)
                    self.canvas.fill([rect_x(side_x, z, z1, 0.5, 0.8)], stripe)
        if kind == "car":  # roof and boot lid seen from above, cabin back
            self.canvas.fill(
                [rect_ground(x0 + 0.15, x1 - 0.15, z + 1.2, z1 - 1.5, cab_top)], P(paint, UP, Material.BODY)
            )
            cab = np.array(
                [
                    [x0 + 0.08, body_top, z + 0.6],
                    [x1 - 0.08, body_top, z + 0.6],
                    [x1 - 0.2, cab_top, z + 1.2],
                    [x0 + 0.2, cab_top, z + 1.2],
                ]
            )
            self.canvas.fill([cab], P(paint, TOWARD_CAMERA, Material.BODY))
            win = np.array(
                [
                    [x0 + 0.18, body_top + 0.05, z + 0.65],
                    [x1 - 0.18, body_top + 0.05, z + 0.65],
                    [x1 - 0.28, cab_top - 0.06, z + 1.15],
                    [x0 + 0.28, cab_top - 0.06, z + 1.15],
                ]
            )
            self.canvas.fill([win], P(glass, TOWARD_CAMERA, Material.GLASS))
            self.canvas.fill([rect_ground(x0, x1, z, z + 0.6, body_top)], P(paint * 1.05, UP, Material.BODY))
        if kind == "tram":  # pantograph on the roof
            pole = P((0.2, 0.2, 0.22), TOWARD_CAMERA)
            self.canvas.stroke(
                np.array(
                    [[cx - 0.5, cab_top, z + 3], [cx, cab_top + 1.0, z + 3], [cx + 0.5, cab_top, z + 3]]
                ),
                pole,
                0.05,
            )
            self.canvas.fill([rect_z(cx - 0.8, cx + 0.8, cab_top + 1.0, cab_top + 1.06, z + 3)], pole)
        # rear (or front) face
        pt = P(tyre, TOWARD_CAMERA)
        self.canvas.fill(
            [
                rect_z(x0 + 0.05, x0 + 0.3, 0, wheel_r, z + 0.3),
                rect_z(x1 - 0.3, x1 - 0.05, 0, wheel_r, z + 0.3),
            ],
            pt,
        )
        self.canvas.fill([rect_z(x0, x1, 0.25, body_top, z)], P(paint, TOWARD_CAMERA, Material.BODY))
        self.canvas.fill([rect_z(x0, x1, 0.25, 0.42, z)], P(np.array([0.12, 0.12, 0.13]), TOWARD_CAMERA))
        if kind in ("bus", "tram"):
            self.canvas.fill(
                [rect_z(x0 + 0.2, x1 - 0.2, 1.4, 2.7, z)], P(glass, TOWARD_CAMERA, Material.GLASS)
            )
        elif kind == "truck":
            self.canvas.fill(
                [rect_z(cx - 0.02, cx + 0.02, 0.5, body_top - 0.2, z)], P(paint * 0.6, TOWARD_CAMERA)
            )
        light = np.array([1.0, 0.95, 0.8]) if front else np.array([0.75, 0.05, 0.05])
        ly = 0.55 if kind != "car" else body_top - 0.25
        pl = self.canvas.add(cls, inst, light * lit, Material.FLAT, z)
        self.canvas.fill(
            [rect_z(x0 + 0.08, x0 + 0.4, ly, ly + 0.14, z), rect_z(x1 - 0.4, x1 - 0.08, ly, ly + 0.14, z)], pl
        )
        self.canvas.fill(
            [rect_z(cx - 0.26, cx + 0.26, 0.45, 0.57, z)], P(np.array([0.9, 0.9, 0.85]), TOWARD_CAMERA)
        )
