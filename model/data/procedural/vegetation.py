"""Vegetation stage: street trees along the kerb, and the tree drawing the park stage reuses."""

from __future__ import annotations

from functools import partial

from model.data import palettes as pal
from model.data.canvas import Material, ellipse_poly, ground_ellipse, rect_z
from model.data.procedural.base import BuilderBase, square
from model.data.procedural.classes import VEGETATION
from model.data.procedural.lighting import TOWARD_CAMERA, UP


class VegetationStage(BuilderBase):
    def trees(self) -> None:
        rng, st = self.rng, self.street
        for side in (-1, 1):
            if rng.random() < 0.4:
                continue
            inner, _ = st.walk_range(side)
            kerb = st.side_edge(side)
            x = (kerb + inner) / 2 if inner != kerb else kerb + side * 0.9
            z = float(rng.uniform(4, 14))
            gap = float(rng.uniform(9, 16))
            while z < 140:
                if not st.in_cross(z, 3.0):
                    self.later(z, partial(self.tree, x, z))
                z += gap * float(rng.uniform(0.9, 1.1))

    def tree(self, x: float, z: float, big: bool = False) -> None:
        rng = self.rng
        hue = pal.jitter(rng, pal.pick(rng, pal.TREES, pal.TREE_WEIGHTS), 0.04)
        trunk_h = float(rng.uniform(2.0, 3.2))
        radius = float(rng.uniform(1.6, 2.6)) * (1.4 if big else 1.0)
        density = float(rng.uniform(0.5, 1.0))
        cy = trunk_h + radius * 0.8
        lit = self.in_shadow(x, z)
        dx, dz = self.light.shadow_offset(cy)
        self.shadow_poly(ground_ellipse(x + dx, z + dz, radius * 0.85, radius * 0.85))
        self.cast_shadow(square(x, z, 0.1), trunk_h)
        p = self.prim(VEGETATION, VEGETATION, pal.TRUNK, TOWARD_CAMERA, Material.FLAT, z, lit=lit)
        tw = 0.14 * (1.3 if big else 1.0)
        self.canvas.fill([rect_z(x - tw, x + tw, 0, cy, z)], p)
        p = self.prim(VEGETATION, VEGETATION, hue, UP, Material.FOLIAGE, z, lit=lit)
        n = int(4 + density * 6)
        offs = rng.uniform(-0.6, 0.6, (n, 2)) * radius
        rs = rng.uniform(0.45, 0.7, n) * radius
        blobs = [
            ellipse_poly(x + ox, cy + oy * 0.8, z, r, r * 0.9, 18)
            for (ox, oy), r in zip(offs, rs, strict=True)
        ]
        blobs.append(ellipse_poly(x, cy, z, radius * 0.75, radius * 0.7, 20))
        for blob in blobs:  # separate calls: overlapping contours in one call would cut holes
            self.canvas.fill([blob], p)
