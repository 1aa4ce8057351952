"""Buildings stage: the distant skyline, facade blocks with windows and shops, parks, walls and fences."""

from __future__ import annotations

from functools import partial

import numpy as np

from model.data import palettes as pal
from model.data.canvas import NEAR, Material, ellipse_poly, rect_ground, rect_x, rect_z
from model.data.procedural.classes import BUILDING, FENCE, VEGETATION, WALL
from model.data.procedural.lighting import LEFT_WALL, RIGHT_WALL, TOWARD_CAMERA, UP
from model.data.procedural.vegetation import VegetationStage


class BuildingStage(VegetationStage):
    def skyline(self) -> None:
        rng = self.rng
        z = float(rng.uniform(170.0, 300.0))
        x = -z * 1.2
        while x < z * 1.2:
            w = float(rng.uniform(8, 30))
            top = float(rng.uniform(15, 55))
            style = pal.pick(rng, pal.FACADES)
            p = self.prim(
                BUILDING, BUILDING, pal.jitter(rng, style.color), TOWARD_CAMERA, Material.PLASTER, z
            )
            self.canvas.fill([rect_z(x, x + w, 0, top, z)], p)
            x += w
        if rng.random() < 0.6:  # a band of distant trees in front of the skyline
            zt = z * 0.7
            colour = pal.jitter(rng, pal.pick(rng, pal.TREES[:3]))
            p = self.prim(VEGETATION, VEGETATION, colour, TOWARD_CAMERA, Material.FOLIAGE, zt)
            xs = np.arange(-zt, zt, 6.0)
            blobs = [
                ellipse_poly(
                    float(xx),
                    float(rng.uniform(0, 4)),
                    zt,
                    float(rng.uniform(4, 8)),
                    float(rng.uniform(4, 9)),
                    14,
                )
                for xx in xs
            ]
            self.canvas.fill(blobs, p)

    def cross_street_facades(self) -> None:
        """Facades along the cross street, seen across it beyond the main street's building lines."""
        st = self.street
        if st.cross is None:
            return
        z = st.cross[1] + float(self.rng.uniform(3.0, 6.0))
        for side in (-1, 1):
            x = st.building_line(side)
            self.later(z + 1.0, partial(self.building, side, z, z + 30.0, x, face_far=60.0))

    def buildings(self, side: int) -> None:
        rng, st = self.rng, self.street
        line = st.building_line(side)
        blocks = []
        z = float(rng.uniform(-8.0, 0.0))
        while z < 230.0:
            length = float(rng.uniform(9.0, 26.0))
            if st.cross is not None and z < st.cross[1] + 4.0 and z + length > st.cross[0] - 4.0:
                if st.cross[0] - 4.0 - z > 3.0:  # the corner block ends at the cross street
                    blocks.append((z, st.cross[0] - 4.0, line))
                z = st.cross[1] + 4.0
                continue
            if rng.random() < 0.15:  # a gap between buildings, often closed by a wall
                gap = float(rng.uniform(3.0, 8.0))
                if rng.random() < 0.7:
                    self.later(z, partial(self.wall_run, side, line, z, z + gap))
                z += gap
            setback = float(rng.uniform(0.0, 0.8)) if rng.random() < 0.5 else 0.0
            blocks.append((z, z + length, line + side * setback))
            z += length
        for z0, z1, x in reversed(blocks):
            self.building(side, z0, z1, x)

    def building(self, side: int, z0: float, z1: float, x: float, face_far: float = 15.0) -> None:
        rng = self.rng
        style = pal.pick(rng, pal.FACADES)
        floor_h = float(rng.uniform(2.9, 3.5))
        floors = int(rng.integers(4, 9))
        top = floors * floor_h + float(rng.uniform(0.6, 1.5))
        colour = pal.jitter(rng, style.color)
        normal = LEFT_WALL if side < 0 else RIGHT_WALL
        depth = max((z0 + z1) / 2, NEAR)
        far_x = x + side * face_far
        self.cast_shadow(np.array([[x, z0], [far_x, z0], [far_x, z1], [x, z1]]), top)
        if z0 > NEAR:  # the end wall facing the camera
            p = self.prim(BUILDING, BUILDING, colour * 0.95, TOWARD_CAMERA, style.material, z0)
            self.canvas.fill([rect_z(min(x, far_x), max(x, far_x), 0, top, z0)], p)
        p = self.prim(BUILDING, BUILDING, colour, normal, style.material, depth, plane=x)
        self.canvas.fill([rect_x(x, z0, z1, 0, top)], p)
        cornice = self.prim(BUILDING, BUILDING, colour * 0.7, normal, Material.FLAT, depth)
        self.canvas.fill([rect_x(x, z0, z1, top - 0.45, top)], cornice)
        plinth = self.prim(BUILDING, BUILDING, colour * 0.6, normal, Material.FLAT, depth)
        self.canvas.fill([rect_x(x, z0, z1, 0, 0.5)], plinth)
        # window grid
        ww = float(rng.uniform(0.9, 1.5))
        wh = float(rng.uniform(1.3, 1.9))
        pitch = ww + float(rng.uniform(1.0, 2.2))
        margin = float(rng.uniform(0.8, 1.6))
        n_cols = int((z1 - z0 - 2 * margin + (pitch - ww)) // pitch)
        if n_cols < 1:
            return
        used = n_cols * pitch - (pitch - ww)
        start = z0 + (z1 - z0 - used) / 2
        cols = start + pitch * np.arange(n_cols)
        sill = float(rng.uniform(0.8, 1.0))
        rows = floor_h * np.arange(1, floors) + sill
        zz, yy = np.meshgrid(cols, rows)
        zz, yy = zz.ravel(), yy.ravel()
        frame_w = 0.09

        def quads(za: np.ndarray, zb: np.ndarray, ya: np.ndarray, yb: np.ndarray) -> np.ndarray:
            xs = np.full_like(za, x)
            return np.stack(
                [
                    np.stack([xs, ya, za], 1),
                    np.stack([xs, ya, zb], 1),
                    np.stack([xs, yb, zb], 1),
                    np.stack([xs, yb, za], 1),
                ],
                axis=1,
            )

        frame = self.prim(BUILDING, BUILDING, pal.jitter(rng, style.frame), normal, Material.FLAT, depth)
        glass = self.prim(
            BUILDING, BUILDING, pal.jitter(rng, pal.pick(rng, pal.GLASS)), normal, Material.GLASS, depth
        )
        self.canvas.fill_batch(quads(zz - frame_w, zz + ww + frame_w, yy - frame_w, yy + wh + frame_w), frame)
        self.canvas.fill_batch(quads(zz, zz + ww, yy, yy + wh), glass)
        if rng.random() < 0.55:  # shop front on the ground floor
            sw = float(rng.uniform(2.0, 4.0))
            scols = np.arange(z0 + 1.0, z1 - sw - 0.5, sw + 1.2)
            if len(scols):
                ya = np.full_like(scols, 0.6)
                self.canvas.fill_batch(quads(scols - 0.1, scols + sw + 0.1, ya - 0.1, ya + 2.2), frame)
                self.canvas.fill_batch(quads(scols, scols + sw, ya, ya + 2.0), glass)

    def wall_run(self, side: int, x: float, z0: float, z1: float) -> None:
        """A garden wall (Cityscapes "wall") along the building line."""
        rng = self.rng
        h = float(rng.uniform(1.0, 2.4))
        stone = pal.jitter(rng, pal.pick(rng, pal.WALLS), 0.04)
        p = self.prim(WALL, WALL, stone, LEFT_WALL if side < 0 else RIGHT_WALL, Material.PLASTER, z0, plane=x)
        self.canvas.fill([rect_x(x, z0, z1, 0, h)], p)
        if z0 > NEAR:
            q = self.prim(WALL, WALL, stone * 0.95, TOWARD_CAMERA, Material.PLASTER, z0)
            self.canvas.fill([rect_z(min(x, x - side * 0.3), max(x, x - side * 0.3), 0, h, z0)], q)

    def fence_run(self, x: float, z0: float, z1: float, height: float, colour: object, mesh: bool) -> None:
        """A railing (posts and rails) or a mesh construction fence in the plane X = x."""
        fence = self.prim(FENCE, FENCE, colour, LEFT_WALL if x > 0 else RIGHT_WALL, Material.FLAT, z0)
        if mesh:  # construction fence: filled panel with a frame, posts every 3.5 m
            panel = self.prim(
                FENCE,
                FENCE,
                np.asarray(colour) * 1.3,
                LEFT_WALL if x > 0 else RIGHT_WALL,
                Material.PANEL,
                z0,
                plane=x,
            )
            self.canvas.fill([rect_x(x, z0, z1, 0.15, height)], panel)
        for y in (height * 0.45, height - 0.06):
            self.canvas.fill([rect_x(x, z0, z1, y, y + 0.06)], fence)
        zs = np.arange(z0, z1, 3.5 if mesh else 1.6)
        if len(zs):
            self.canvas.fill_batch(np.stack([rect_x(x, z, z + 0.07, 0.0, height) for z in zs]), fence)

    def park(self, side: int) -> None:
        rng = self.rng
        _, outer = self.street.walk_range(side)
        if rng.random() < 0.5:  # hedge
            hh = float(rng.uniform(0.8, 1.4))
            colour = pal.jitter(rng, pal.TREES[1], 0.05)
            top = self.prim(VEGETATION, VEGETATION, colour, UP, Material.FOLIAGE, 30.0)
            front = self.prim(
                VEGETATION, VEGETATION, colour, LEFT_WALL if side > 0 else RIGHT_WALL, Material.FOLIAGE, 30.0
            )
            self.canvas.fill([rect_ground(outer, outer + side * 1.0, NEAR, 300, hh)], top)
            self.canvas.fill([rect_x(outer, NEAR, 300, 0, hh)], front)
        else:  # low wall with a fence on top
            wh = float(rng.uniform(0.5, 0.8))
            stone = pal.jitter(rng, pal.pick(rng, pal.WALLS), 0.04)
            p = self.prim(WALL, WALL, stone, LEFT_WALL if side > 0 else RIGHT_WALL, Material.PLASTER, 30.0)
            self.canvas.fill([rect_x(outer, NEAR, 300, 0, wh)], p)
            p = self.prim(WALL, WALL, stone * 1.1, UP, Material.FLAT, 30.0)
            self.canvas.fill([rect_ground(outer, outer + side * 0.3, NEAR, 300, wh)], p)
            fence = self.prim(FENCE, FENCE, (0.20, 0.22, 0.20), LEFT_WALL, Material.FLAT, 30.0)
            for y in (wh + 0.5, wh + 1.0):
                self.canvas.fill([rect_x(outer, NEAR, 300, y, y + 0.05)], fence)
            zs = np.arange(1.0, 300.0, 2.0)
            posts = np.stack([rect_x(outer, z, z + 0.06, wh, wh + 1.1) for z in zs])
            self.canvas.fill_batch(posts, fence)
        # trees in the park behind
        for _ in range(int(rng.integers(6, 14))):
            z = float(rng.uniform(5, 120))
            x = outer + side * float(rng.uniform(3, 25))
            self.later(z, partial(self.tree, x, z, big=True))

    def garden_walls(self) -> None:
        """Low walls in front of some buildings, at the outer edge of the sidewalk."""
        rng, st = self.rng, self.street
        for side in (-1, 1):
            if st.is_park(side) or rng.random() > 0.17:
                continue
            z0 = float(rng.uniform(2.0, 30.0))
            z1 = z0 + float(rng.uniform(6.0, 30.0))
            x = st.building_line(side) - side * 0.6
            self.later(z0, partial(self.wall_run, side, x, z0, z1))

    def fences(self) -> None:
        """Railings along the kerb or construction fences on the sidewalk, on about half the streets."""
        rng, st = self.rng, self.street
        if rng.random() > 0.5:
            return
        side = -1 if rng.random() < 0.5 else 1
        mesh = rng.random() < 0.35
        if mesh:
            x = self.side_walk_x(side, 0.8)
            z0 = float(rng.uniform(3.0, 25.0))
            z1 = z0 + float(rng.uniform(5.0, 20.0))
            colour = pal.pick(rng, ((0.75, 0.75, 0.72), (0.85, 0.35, 0.15), (0.60, 0.62, 0.60)))
            self.later(z0, partial(self.fence_run, x, z0, z1, 2.0, colour, True))
        else:
            x = st.side_edge(side) + side * 0.3
            z0 = float(rng.uniform(NEAR, 20.0))
            z1 = z0 + float(rng.uniform(10.0, 60.0))
            colour = pal.pick(rng, ((0.18, 0.20, 0.19), (0.55, 0.56, 0.58), (0.25, 0.35, 0.28)))
            self.later(z0, partial(self.fence_run, x, z0, z1, float(rng.uniform(0.9, 1.2)), colour, False))
