"""Ground stage: terrain, sidewalks, kerbs, road, parking strips, bare ground, cross street, markings."""

from __future__ import annotations

import numpy as np

from model.data import palettes as pal
from model.data.canvas import NEAR, Material, rect_ground, rect_x
from model.data.procedural.base import FAR, BuilderBase
from model.data.procedural.classes import GROUND, PARKING, ROAD, SIDEWALK, TERRAIN
from model.data.procedural.lighting import LEFT_WALL, RIGHT_WALL, UP


class GroundStage(BuilderBase):
    def ground(self) -> None:
        rng, st = self.rng, self.street
        grass = pal.jitter(rng, pal.pick(rng, pal.GRASS))
        p = self.prim(TERRAIN, TERRAIN, grass, UP, Material.GRASS, -1)
        self.canvas.fill([rect_ground(-400, 400, NEAR, FAR)], p)
        walk_colour = pal.jitter(rng, (0.62, 0.60, 0.57), 0.05)
        for side in (-1, 1):
            inner, outer = st.walk_range(side)
            far_edge = outer + side * (0.0 if st.is_park(side) else 40.0)
            p = self.prim(SIDEWALK, SIDEWALK, walk_colour, UP, Material.PAVING, -1)
            self.canvas.fill([rect_ground(min(inner, far_edge), max(inner, far_edge), NEAR, FAR)], p)
            kerb = st.side_edge(side)
            if inner != kerb:  # grass verge
                p = self.prim(TERRAIN, TERRAIN, grass, UP, Material.GRASS, -1)
                self.canvas.fill([rect_ground(min(inner, kerb), max(inner, kerb), NEAR, FAR)], p)
            p = self.prim(SIDEWALK, SIDEWALK, np.full(3, 0.78), UP, Material.FLAT, -1)
            self.canvas.fill(
                [rect_ground(min(kerb, kerb + side * 0.2), max(kerb, kerb + side * 0.2), NEAR, FAR, 0.12)], p
            )
        asphalt = np.full(3, rng.uniform(0.26, 0.36)) + rng.uniform(-0.01, 0.01, 3)
        road = self.prim(ROAD, ROAD, asphalt, UP, Material.ASPHALT, -1)
        self.canvas.fill([rect_ground(st.road_left, st.road_right, NEAR, FAR)], road)
        for side in (-1, 1):  # kerb faces
            kerb = st.side_edge(side)
            p = self.prim(
                SIDEWALK, SIDEWALK, np.full(3, 0.62), RIGHT_WALL if side > 0 else LEFT_WALL, Material.FLAT, -1
            )
            self.canvas.fill([rect_x(kerb, NEAR, FAR, 0.0, 0.12)], p)
        self.parking_strips()
        self.bare_ground(walk_colour)
        self.markings()
        if st.cross is not None:
            self.canvas.fill([rect_ground(-400, 400, st.cross[0], st.cross[1])], road)
            self.cross_markings()
        if st.tram:
            self.tram_tracks()

    def parking_strips(self) -> None:
        """Parking bays (paved, lighter than the road) along the kerb on some streets."""
        rng, st = self.rng, self.street
        for side in (-1, 1):
            if not st.has_parking(side):
                continue
            kerb = st.side_edge(side)
            z0 = float(rng.uniform(NEAR, 20.0))
            z1 = z0 + float(rng.uniform(15.0, 60.0))
            colour = pal.jitter(rng, (0.45, 0.43, 0.42), 0.04)
            p = self.prim(PARKING, PARKING, colour, UP, Material.PAVING, -1)
            self.canvas.fill(
                [rect_ground(min(kerb, kerb - side * 2.2), max(kerb, kerb - side * 2.2), z0, z1)], p
            )

    def bare_ground(self, walk_colour: np.ndarray) -> None:
        """Cityscapes "ground": unpaved or cobbled patches by the buildings, traffic islands."""
        rng, st = self.rng, self.street
        if rng.random() < 0.45:
            side = -1 if rng.random() < 0.5 else 1
            _, outer = st.walk_range(side)
            z0 = float(rng.uniform(3.0, 20.0))
            width = float(rng.uniform(2.0, 4.0))
            colour = pal.jitter(rng, pal.pick(rng, pal.GROUNDS), 0.04)
            p = self.prim(GROUND, GROUND, colour, UP, Material.GRASS, -1)
            self.canvas.fill(
                [
                    rect_ground(
                        min(outer, outer - side * width),
                        max(outer, outer - side * width),
                        z0,
                        z0 + float(rng.uniform(12.0, 50.0)),
                    )
                ],
                p,
            )

        if rng.random() < 0.4:  # a front lawn between the sidewalk and the buildings
            side = -1 if rng.random() < 0.5 else 1
            _, outer = st.walk_range(side)
            width = float(rng.uniform(1.0, 2.5))
            grass = self.prim(
                TERRAIN, TERRAIN, pal.jitter(rng, pal.pick(rng, pal.GRASS)), UP, Material.GRASS, -1
            )
            z0 = float(rng.uniform(NEAR, 20.0))
            self.canvas.fill(
                [
                    rect_ground(
                        min(outer, outer - side * width),
                        max(outer, outer - side * width),
                        z0,
                        z0 + float(rng.uniform(10.0, 60.0)),
                    )
                ],
                grass,
            )

    def markings(self) -> None:
        rng, st = self.rng, self.street
        white = np.array([0.88, 0.88, 0.85])
        paint = self.prim(ROAD, ROAD, white, UP, Material.PAINT, -1)
        centre = st.road_left + st.lane * st.lanes_left
        quads: list[np.ndarray] = []
        w = 0.07
        period, dash = float(rng.uniform(8, 12)), float(rng.uniform(2.5, 4))
        phase = float(rng.uniform(0, period))
        starts = np.arange(phase, 400.0, period)

        def dashes(x: float) -> None:
            quads.extend(rect_ground(x - w, x + w, z0, z0 + dash) for z0 in starts)

        if rng.random() < 0.5 and not st.tram:
            self.canvas.fill([rect_ground(centre - w, centre + w, NEAR, FAR)], paint)
        else:
            dashes(centre)
        for i in range(1, st.lanes_left):
            dashes(st.road_left + st.lane * i)
        for i in range(1, st.lanes_right):
            dashes(centre + st.lane * i)
        if rng.random() < 0.6:  # edge lines
            for x in (st.road_left + 0.3, st.road_right - 0.3):
                self.canvas.fill([rect_ground(x - w, x + w, NEAR, FAR)], paint)
        if rng.random() < 0.35 or st.cross is not None:  # zebra crossing (always before a cross street)
            z0 = st.cross[0] - 4.5 if st.cross is not None else float(rng.uniform(10, 35))
            xs = np.arange(st.road_left + 0.5, st.road_right - 0.5, 1.0)
            quads.extend(rect_ground(x, x + 0.5, z0, z0 + 3.5) for x in xs)
            self.crossing = (z0, z0 + 3.5)
        if quads:
            self.canvas.fill_batch(np.stack(quads), paint)

    def cross_markings(self) -> None:
        """Stop lines across the cross street's mouth."""
        st = self.street
        assert st.cross is not None
        paint = self.prim(ROAD, ROAD, (0.88, 0.88, 0.85), UP, Material.PAINT, -1)
        z0 = st.cross[0]
        self.canvas.fill(
            [rect_ground(st.road_left + st.lane * st.lanes_left, st.road_right, z0 - 0.9, z0 - 0.5)], paint
        )

    def tram_tracks(self) -> None:
        """Two pairs of steel rails in the middle of the road."""
        st = self.street
        centre = st.road_left + st.lane * st.lanes_left
        steel = self.prim(ROAD, ROAD, (0.52, 0.52, 0.54), UP, Material.FLAT, -1)
        rails = []
        for track in (centre - 1.6, centre + 1.6):
            for x in (track - 0.72, track + 0.72):
                rails.append(rect_ground(x - 0.04, x + 0.04, NEAR, 300.0))
        self.canvas.fill(rails, steel)
