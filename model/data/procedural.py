"""Procedural street scenes in the pix2pixHD / Cityscapes format.

A scene is a perspective street: road with lane markings, kerbs and sidewalks, building facades
with window grids (or a park side with hedges and trees), a sky with clouds, and poles, signs,
traffic lights, trees, cars, trucks, buses, people and bicycles placed in 3D street coordinates,
so their size follows their depth and nearer objects are drawn over farther ones. One sun gives
facade shading and cast shadows on the ground; distance haze and mild camera noise finish it.

Everything depends only on (seed, index) and the config: scene i is the same whatever ``--count``.
Geometry is placed in metres and projected with a camera whose focal length scales with the
output size, so any ``--size`` gives the same scene at a different resolution.
"""
from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.data import palettes as pal
from model.data import textures as tex
from model.data.canvas import (
    NEAR,
    SHIFT,
    Camera,
    Canvas,
    Material,
    clip_near,
    ellipse_poly,
    ground_ellipse,
    rect_ground,
    rect_x,
    rect_z,
)
from model.labels import INSTANCE_FACTOR

log = logging.getLogger(__name__)

# Cityscapes labelIds used here.
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE = 7, 8, 11, 12, 13, 17
TRAFFIC_LIGHT, TRAFFIC_SIGN, VEGETATION, TERRAIN, SKY = 19, 20, 21, 22, 23
PERSON, RIDER, CAR, TRUCK, BUS, BICYCLE = 24, 25, 26, 27, 28, 33
THING_CLASSES = (PERSON, RIDER, CAR, TRUCK, BUS, BICYCLE)
STUFF_CLASSES = (ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN, VEGETATION, TERRAIN, SKY)

FAR = 1500.0  # metres: end of the ground planes
GROUND_MATERIALS = (Material.ASPHALT, Material.PAVING, Material.GRASS, Material.PAINT)


@dataclass(frozen=True)
class SceneConfig:
    """What to generate. width × height is the output size; the content does not depend on it."""

    width: int = 2048
    height: int = 1024
    camera_noise: float = 1.2  # std of the sensor noise in 8-bit levels
    traffic: float = 1.0  # scales how many cars there are
    pedestrians: float = 1.0  # scales how many people there are
    big_vehicles: bool = True  # trucks and buses
    bicycles: bool = True


# ----- lighting ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Light:
    """Sun direction (unit vector towards the sun), ambient share, haze colour and distance."""

    sun: np.ndarray
    ambient: float
    haze: np.ndarray
    haze_dist: float

    def shade(self, normal: tuple[float, float, float]) -> float:
        """Brightness of a face with this normal, relative to the sunlit ground."""
        direct = max(0.0, float(np.dot(normal, self.sun)))
        ground = self.ambient + (1 - self.ambient) * float(self.sun[1])
        return min(1.25, (self.ambient + (1 - self.ambient) * direct) / ground)

    def shadow_offset(self, height: float) -> tuple[float, float]:
        """Ground displacement (dX, dZ) of the shadow of a point `height` metres up."""
        k = height / max(float(self.sun[1]), 0.2)
        return -k * float(self.sun[0]), -k * float(self.sun[2])

    @property
    def shadow_factor(self) -> float:
        """Brightness of ground in full shadow relative to sunlit ground."""
        ground = self.ambient + (1 - self.ambient) * float(self.sun[1])
        return self.ambient / ground


LEFT_WALL = (1.0, 0.0, 0.0)  # normal of a facade on the left side (faces +X)
RIGHT_WALL = (-1.0, 0.0, 0.0)
TOWARD_CAMERA = (0.0, 0.0, -1.0)
AWAY = (0.0, 0.0, 1.0)
UP = (0.0, 1.0, 0.0)


# ----- street layout ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Street:
    """Cross-section of the street in metres (X of each edge; camera at X = 0)."""

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


def _make_street(rng: np.random.Generator) -> Street:
    lane = float(rng.uniform(3.0, 3.5))
    lanes_left = int(rng.choice([1, 1, 2]))
    lanes_right = int(rng.choice([1, 1, 2]))
    offset = float(rng.uniform(-0.4, 0.4))
    road_right = lane * (lanes_right - 0.5) + offset
    road_left = -lane * (lanes_left + 0.5) + offset
    verge = [float(rng.uniform(1.0, 2.2)) if rng.random() < 0.3 else 0.0 for _ in range(2)]
    walk = [float(rng.uniform(2.5, 5.0)) for _ in range(2)]
    park = [bool(rng.random() < 0.2) for _ in range(2)]
    if park[0] and park[1]:
        park[int(rng.integers(2))] = False
    return Street(lane, lanes_left, lanes_right, road_left, road_right, verge[0], verge[1], walk[0], walk[1],
                  park[0], park[1])


# ----- the scene builder ------------------------------------------------------------------------
class _Builder:
    """Holds the canvas, shadow raster, light and instance counters while one scene is drawn."""

    def __init__(self, rng: np.random.Generator, config: SceneConfig) -> None:
        self.rng = rng
        self.config = config
        w, h = config.width, config.height
        f = float(rng.uniform(620.0, 760.0))  # base-frame focal length (1024×512)
        self.camera = Camera(
            fx=f * w / tex.BASE_W, fy=f * h / tex.BASE_H,
            cx=w * (0.5 + float(rng.uniform(-0.05, 0.05))), cy=h * (0.45 + float(rng.uniform(-0.03, 0.03))),
            height=float(rng.uniform(1.3, 1.7)),
        )
        self.canvas = Canvas(w, h, self.camera)
        self.shadow = np.zeros((h, w), dtype=np.float32)
        self.sky = pal.pick(rng, pal.SKIES, tuple(s.weight for s in pal.SKIES))
        # The sun sits 20-70 degrees off the street axis, ahead of or behind the camera, so that
        # facades cast shadows of varied length across the street.
        elevation = np.radians(rng.uniform(35.0, 65.0) if self.sky is not pal.SKIES[3] else rng.uniform(15.0, 25.0))
        azimuth = np.radians(rng.uniform(20.0, 70.0)) * rng.choice([-1.0, 1.0]) + rng.choice([0.0, np.pi])
        sun = np.array([np.cos(elevation) * np.sin(azimuth), np.sin(elevation), np.cos(elevation) * np.cos(azimuth)])
        self.light = Light(sun=sun, ambient=self.sky.ambient, haze=np.asarray(self.sky.horizon, dtype=np.float32),
                           haze_dist=float(rng.uniform(250.0, 500.0)) * (0.5 if self.sky.ambient > 0.8 else 1.0))
        self.street = _make_street(rng)
        self._counters: dict[int, int] = {}
        self.objects: list[tuple[float, Callable[[], None]]] = []  # (depth, draw) for painter's order

    # ----- helpers -------------------------------------------------------------------------
    def instance(self, cls: int) -> int:
        k = self._counters.get(cls, 0)
        self._counters[cls] = min(k + 1, INSTANCE_FACTOR - 1)
        return cls * INSTANCE_FACTOR + k

    def prim(self, label: int, inst: int, color, normal=UP, material: int = Material.FLAT,
             depth: float = 0.0, plane: float = 0.0, lit: float = 1.0) -> int:
        shade = self.light.shade(normal) * lit
        return self.canvas.add(label, inst, np.asarray(color) * shade, material, depth, plane)

    def cast_shadow(self, footprint: np.ndarray, height: float) -> None:
        """Shadow on the ground of a prism with this XZ footprint (N×2) and height.

        The shadow raster is binary (1 = shaded) so that overlapping shadows never lighten each other.
        """
        dx, dz = self.light.shadow_offset(height)
        pts = np.concatenate([footprint, footprint + [dx, dz]]).astype(np.float32)
        hull = cv2.convexHull(pts)[:, 0, :].astype(np.float64)
        self._shadow_poly(np.stack([hull[:, 0], np.zeros(len(hull)), hull[:, 1]], axis=1))

    def _shadow_poly(self, poly3d: np.ndarray) -> None:
        poly3d = clip_near(poly3d)
        if len(poly3d) < 3:
            return
        px = np.round(np.clip(self.camera.project(poly3d), -1e5, 1e5) * (1 << SHIFT)).astype(np.int32)
        cv2.fillPoly(self.shadow, [px], 1.0, shift=SHIFT)

    def in_shadow(self, x: float, z: float) -> float:
        """Light multiplier for an object standing at (x, z): lower if it stands in a building shadow."""
        px = self.camera.project(np.array([x, 0.0, max(z, NEAR)]))
        u, v = int(px[0]), int(px[1])
        if 0 <= v < self.canvas.height and 0 <= u < self.canvas.width and self.shadow[v, u] > 0.5:
            return self.light.shadow_factor
        return 1.0

    def later(self, depth: float, draw: Callable[[], None]) -> None:
        self.objects.append((depth, draw))

    # ----- stages --------------------------------------------------------------------------
    def build(self) -> None:
        self.canvas.fill_px([np.array([[0, 0], [self.canvas.width, 0], [self.canvas.width, self.canvas.height],
                                       [0, self.canvas.height]], dtype=np.float64)],
                            self.canvas.add(SKY, SKY, (1, 1, 1), Material.SKY, 0.0))
        self.skyline()
        self.ground()
        for side in (-1, 1):
            if (self.street.park_left if side < 0 else self.street.park_right):
                self.park(side)
            else:
                self.buildings(side)
        self.street_furniture()
        self.trees()
        self.traffic()
        self.people()
        if self.config.bicycles and self.rng.random() < 0.35:
            self.bicycles()
        for _, draw in sorted(self.objects, key=lambda item: -item[0]):
            draw()

    def skyline(self) -> None:
        rng = self.rng
        z = float(rng.uniform(260.0, 420.0))
        x = -z * 0.9
        while x < z * 0.9:
            w = float(rng.uniform(8, 30))
            top = float(rng.uniform(6, 40))
            style = pal.pick(rng, pal.FACADES)
            p = self.prim(BUILDING, BUILDING, pal.jitter(rng, style.color), TOWARD_CAMERA, Material.PLASTER, z)
            self.canvas.fill([rect_z(x, x + w, 0, top, z)], p)
            x += w
        if rng.random() < 0.6:  # a band of distant trees in front of the skyline
            zt = z * 0.7
            colour = pal.jitter(rng, pal.pick(rng, pal.TREES[:3]))
            p = self.prim(VEGETATION, VEGETATION, colour, TOWARD_CAMERA, Material.FOLIAGE, zt)
            xs = np.arange(-zt, zt, 6.0)
            blobs = [ellipse_poly(float(xx), float(rng.uniform(0, 4)), zt, float(rng.uniform(4, 8)),
                                  float(rng.uniform(4, 9)), 14) for xx in xs]
            self.canvas.fill(blobs, p)

    def ground(self) -> None:
        rng, st = self.rng, self.street
        grass = pal.jitter(rng, pal.pick(rng, pal.GRASS))
        p = self.prim(TERRAIN, TERRAIN, grass, UP, Material.GRASS, -1)
        self.canvas.fill([rect_ground(-400, 400, NEAR, FAR)], p)
        walk_colour = pal.jitter(rng, (0.62, 0.60, 0.57), 0.05)
        for side in (-1, 1):
            inner, outer = st.walk_range(side)
            park = st.park_left if side < 0 else st.park_right
            far_edge = outer + side * (0.0 if park else 40.0)
            p = self.prim(SIDEWALK, SIDEWALK, walk_colour, UP, Material.PAVING, -1)
            self.canvas.fill([rect_ground(min(inner, far_edge), max(inner, far_edge), NEAR, FAR)], p)
            kerb = st.side_edge(side)
            if inner != kerb:  # grass verge
                p = self.prim(TERRAIN, TERRAIN, grass, UP, Material.GRASS, -1)
                self.canvas.fill([rect_ground(min(inner, kerb), max(inner, kerb), NEAR, FAR)], p)
            p = self.prim(SIDEWALK, SIDEWALK, np.full(3, 0.78), UP, Material.FLAT, -1)
            self.canvas.fill([rect_ground(min(kerb, kerb + side * 0.2), max(kerb, kerb + side * 0.2), NEAR, FAR, 0.12)], p)
        asphalt = np.full(3, rng.uniform(0.26, 0.36)) + rng.uniform(-0.01, 0.01, 3)
        p = self.prim(ROAD, ROAD, asphalt, UP, Material.ASPHALT, -1)
        self.canvas.fill([rect_ground(st.road_left, st.road_right, NEAR, FAR)], p)
        for side in (-1, 1):  # kerb faces
            kerb = st.side_edge(side)
            p = self.prim(SIDEWALK, SIDEWALK, np.full(3, 0.62), RIGHT_WALL if side > 0 else LEFT_WALL, Material.FLAT, -1)
            self.canvas.fill([rect_x(kerb, NEAR, FAR, 0.0, 0.12)], p)
        self.markings(asphalt)

    def markings(self, asphalt: np.ndarray) -> None:
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
            for z0 in starts:
                quads.append(rect_ground(x - w, x + w, z0, z0 + dash))

        if rng.random() < 0.5:
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
        if rng.random() < 0.35:  # zebra crossing
            z0 = float(rng.uniform(10, 35))
            xs = np.arange(st.road_left + 0.5, st.road_right - 0.5, 1.0)
            quads.extend(rect_ground(x, x + 0.5, z0, z0 + 3.5) for x in xs)
            self.crossing = (z0, z0 + 3.5)
        if quads:
            self.canvas.fill_batch(np.stack(quads), paint)

    # ----- buildings -----------------------------------------------------------------------
    def buildings(self, side: int) -> None:
        rng = self.rng
        line = self.street.building_line(side)
        blocks = []
        z = float(rng.uniform(-8.0, 0.0))
        while z < 230.0:
            length = float(rng.uniform(9.0, 26.0))
            if rng.random() < 0.1:  # a gap between buildings
                z += float(rng.uniform(3.0, 8.0))
            setback = float(rng.uniform(0.0, 0.8)) if rng.random() < 0.5 else 0.0
            blocks.append((z, z + length, line + side * setback))
            z += length
        for z0, z1, x in reversed(blocks):
            self.building(side, z0, z1, x)

    def building(self, side: int, z0: float, z1: float, x: float) -> None:
        rng = self.rng
        style = pal.pick(rng, pal.FACADES)
        floor_h = float(rng.uniform(2.9, 3.5))
        floors = int(rng.integers(2, 9))
        top = floors * floor_h + float(rng.uniform(0.6, 1.5))
        colour = pal.jitter(rng, style.color)
        normal = LEFT_WALL if side < 0 else RIGHT_WALL
        depth = max((z0 + z1) / 2, NEAR)
        # shadow of the block on the street
        far_x = x + side * 15.0
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
            return np.stack([
                np.stack([xs, ya, za], 1), np.stack([xs, ya, zb], 1),
                np.stack([xs, yb, zb], 1), np.stack([xs, yb, za], 1)], axis=1)

        frame = self.prim(BUILDING, BUILDING, pal.jitter(rng, style.frame), normal, Material.FLAT, depth)
        glass = self.prim(BUILDING, BUILDING, pal.jitter(rng, pal.pick(rng, pal.GLASS)), normal,
                          Material.GLASS, depth)
        self.canvas.fill_batch(quads(zz - frame_w, zz + ww + frame_w, yy - frame_w, yy + wh + frame_w), frame)
        self.canvas.fill_batch(quads(zz, zz + ww, yy, yy + wh), glass)
        if rng.random() < 0.55:  # shop front on the ground floor
            sw = float(rng.uniform(2.0, 4.0))
            scols = np.arange(z0 + 1.0, z1 - sw - 0.5, sw + 1.2)
            if len(scols):
                ya = np.full_like(scols, 0.6)
                self.canvas.fill_batch(quads(scols - 0.1, scols + sw + 0.1, ya - 0.1, ya + 2.2), frame)
                self.canvas.fill_batch(quads(scols, scols + sw, ya, ya + 2.0), glass)

    def park(self, side: int) -> None:
        rng = self.rng
        _, outer = self.street.walk_range(side)
        if rng.random() < 0.5:  # hedge
            hh = float(rng.uniform(0.8, 1.4))
            colour = pal.jitter(rng, pal.TREES[1], 0.05)
            top = self.prim(VEGETATION, VEGETATION, colour, UP, Material.FOLIAGE, 30.0)
            front = self.prim(VEGETATION, VEGETATION, colour, LEFT_WALL if side > 0 else RIGHT_WALL,
                              Material.FOLIAGE, 30.0)
            self.canvas.fill([rect_ground(outer, outer + side * 1.0, NEAR, 300, hh)], top)
            self.canvas.fill([rect_x(outer, NEAR, 300, 0, hh)], front)
        else:  # low wall with a fence on top
            wh = float(rng.uniform(0.5, 0.8))
            stone = pal.jitter(rng, (0.62, 0.58, 0.52), 0.04)
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
            self.later(z, lambda x=x, z=z: self.tree(x, z, big=True))

    # ----- objects -------------------------------------------------------------------------
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
                self.later(z, lambda x=x, z=z: self.tree(x, z))
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
        self._shadow_poly(ground_ellipse(x + dx, z + dz, radius * 0.85, radius * 0.85))
        self.cast_shadow(np.array([[x - 0.1, z - 0.1], [x + 0.1, z - 0.1], [x + 0.1, z + 0.1], [x - 0.1, z + 0.1]]),
                         trunk_h)
        p = self.prim(VEGETATION, VEGETATION, pal.TRUNK, TOWARD_CAMERA, Material.FLAT, z, lit=lit)
        tw = 0.14 * (1.3 if big else 1.0)
        self.canvas.fill([rect_z(x - tw, x + tw, 0, cy, z)], p)
        p = self.prim(VEGETATION, VEGETATION, hue, UP, Material.FOLIAGE, z, lit=lit)
        n = int(4 + density * 6)
        offs = rng.uniform(-0.6, 0.6, (n, 2)) * radius
        rs = rng.uniform(0.45, 0.7, n) * radius
        blobs = [ellipse_poly(x + ox, cy + oy * 0.8, z, r, r * 0.9, 18) for (ox, oy), r in zip(offs, rs)]
        blobs.append(ellipse_poly(x, cy, z, radius * 0.75, radius * 0.7, 20))
        for blob in blobs:  # separate calls: overlapping contours in one call would cut holes
            self.canvas.fill([blob], p)

    def street_furniture(self) -> None:
        rng, st = self.rng, self.street
        lamp_sides = [s for s in (-1, 1) if rng.random() < 0.7]
        for side in lamp_sides:
            x = st.side_edge(side) + side * 0.5
            z = float(rng.uniform(6, 25))
            gap = float(rng.uniform(22, 34))
            while z < 200:
                self.later(z, lambda x=x, z=z, side=side: self.lamp(x, z, side))
                z += gap
        for _ in range(int(rng.integers(0, 4))):
            side = -1 if rng.random() < 0.4 else 1
            x = st.side_edge(side) + side * float(rng.uniform(0.4, 0.8))
            z = float(rng.uniform(7, 45))
            self.later(z, lambda x=x, z=z: self.sign(x, z))
        if rng.random() < 0.5:
            z = float(rng.uniform(14, 40))
            for side in (-1, 1):
                x = st.side_edge(side) + side * 0.6
                self.later(z, lambda x=x, z=z, side=side: self.traffic_light(x, z, side))

    def lamp(self, x: float, z: float, side: int) -> None:
        metal = np.array([0.32, 0.33, 0.35])
        h = 7.5
        p = self.prim(POLE, POLE, metal, TOWARD_CAMERA, Material.FLAT, z, lit=self.in_shadow(x, z))
        self.canvas.fill([rect_z(x - 0.08, x + 0.08, 0, h, z)], p)
        arm = x - side * 1.8
        self.canvas.fill([rect_z(min(x, arm), max(x, arm), h - 0.1, h, z)], p)
        self.canvas.fill([rect_z(arm - 0.35, arm + 0.35, h - 0.25, h + 0.02, z)], p)
        self.cast_shadow(np.array([[x - 0.08, z - 0.08], [x + 0.08, z - 0.08], [x + 0.08, z + 0.08],
                                   [x - 0.08, z + 0.08]]), h)

    def sign(self, x: float, z: float) -> None:
        rng = self.rng
        h = float(rng.uniform(2.2, 2.8))
        metal = np.array([0.55, 0.56, 0.58])
        p = self.prim(POLE, POLE, metal, TOWARD_CAMERA, Material.FLAT, z)
        self.canvas.fill([rect_z(x - 0.04, x + 0.04, 0, h, z)], p)
        kind = int(rng.integers(4))
        red, white, blue = (0.80, 0.08, 0.08), (0.95, 0.95, 0.95), (0.10, 0.30, 0.75)
        outer_c, inner_c = [(red, white), (red, white), (blue, white), (blue, blue)][kind]
        a = self.prim(TRAFFIC_SIGN, TRAFFIC_SIGN, outer_c, TOWARD_CAMERA, Material.FLAT, z)
        b = self.prim(TRAFFIC_SIGN, TRAFFIC_SIGN, inner_c, TOWARD_CAMERA, Material.FLAT, z)
        r = 0.35
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
        else:  # blue disc
            self.canvas.fill([ellipse_poly(x, h, z, r, r)], a)

    def traffic_light(self, x: float, z: float, side: int) -> None:
        rng = self.rng
        p = self.prim(POLE, POLE, (0.25, 0.26, 0.27), TOWARD_CAMERA, Material.FLAT, z)
        h = 3.0
        self.canvas.fill([rect_z(x - 0.07, x + 0.07, 0, h, z)], p)
        box = self.prim(TRAFFIC_LIGHT, TRAFFIC_LIGHT, (0.12, 0.12, 0.13), TOWARD_CAMERA, Material.FLAT, z)
        self.canvas.fill([rect_z(x - 0.17, x + 0.17, h - 0.2, h + 0.8, z)], box)
        state = int(rng.integers(3))
        colours = [(1.0, 0.15, 0.1), (1.0, 0.7, 0.1), (0.2, 1.0, 0.4)]
        for i in range(3):
            colour = colours[i] if i == state else (0.25, 0.25, 0.25)
            q = self.canvas.add(TRAFFIC_LIGHT, TRAFFIC_LIGHT, colour, Material.FLAT, z)
            self.canvas.fill([ellipse_poly(x, h + 0.6 - i * 0.3, z, 0.1, 0.1, 12)], q)

    # ----- vehicles ------------------------------------------------------------------------
    def traffic(self) -> None:
        rng, st, cfg = self.rng, self.street, self.config
        lanes = [(st.road_left + st.lane * (i + 0.5), True) for i in range(st.lanes_left)]
        lanes += [(st.road_left + st.lane * (st.lanes_left + i + 0.5), False) for i in range(st.lanes_right)]
        for x, oncoming in lanes:
            z = float(rng.uniform(7, 25))
            while z < 130:
                if rng.random() < 0.55 * cfg.traffic:
                    kind = "car"
                    if cfg.big_vehicles:
                        r = rng.random()
                        kind = "bus" if r < 0.06 else "truck" if r < 0.14 else "car"
                    xx = x + float(rng.uniform(-0.3, 0.3))
                    self.later(z, lambda xx=xx, z=z, kind=kind, oncoming=oncoming: self.vehicle(xx, z, kind, oncoming))
                    z += 14.0 if kind != "car" else 6.0
                z += float(rng.uniform(6, 30))
        for side in (-1, 1):  # parked cars along the kerb
            if rng.random() < 0.5:
                continue
            x = st.side_edge(side) - side * 1.15
            z = float(rng.uniform(4, 15))
            while z < 100:
                if rng.random() < 0.6 * cfg.traffic:
                    self.later(z, lambda x=x, z=z, side=side: self.vehicle(x, z, "car", side < 0))
                z += float(rng.uniform(5.2, 9.0))

    def vehicle(self, cx: float, z: float, kind: str, front: bool) -> None:
        rng = self.rng
        if kind == "car":
            cls = CAR
            _, colour, _ = pal.pick(rng, pal.CAR_PAINTS, tuple(c[2] for c in pal.CAR_PAINTS))
            width, length = float(rng.uniform(1.7, 1.9)), float(rng.uniform(4.0, 4.8))
            body_top, cab_top = float(rng.uniform(0.85, 1.0)), float(rng.uniform(1.4, 1.65))
        elif kind == "bus":
            cls, colour = BUS, pal.pick(rng, pal.BUS_PAINTS)
            width, length, body_top, cab_top = 2.5, 12.0, 3.0, 3.0
        else:
            cls, colour = TRUCK, pal.pick(rng, pal.TRUCK_PAINTS)
            width, length, body_top, cab_top = 2.4, float(rng.uniform(6.5, 8.5)), 3.3, 3.3
        paint = pal.jitter(rng, colour, 0.02)
        inst = self.instance(cls)
        lit = self.in_shadow(cx, z + length / 2)
        x0, x1 = cx - width / 2, cx + width / 2
        z1 = z + length
        self.cast_shadow(np.array([[x0, z], [x1, z], [x1, z1], [x0, z1]]), cab_top * 0.85)
        self._shadow_poly(rect_ground(x0 - 0.1, x1 + 0.1, z - 0.1, z1))
        tyre = np.array([0.05, 0.05, 0.05])
        glass = np.array([0.10, 0.12, 0.15]) if kind != "bus" else np.array([0.12, 0.16, 0.20])
        side_x = x0 if x0 > 0.2 else x1 if x1 < -0.2 else None
        wheel_r = 0.33 if kind == "car" else 0.5

        def P(color, normal, material=Material.FLAT) -> int:
            return self.prim(cls, inst, color, normal, material, z, lit=lit)

        if side_x is not None:  # the side facing the street centre
            normal = RIGHT_WALL if side_x == x0 else LEFT_WALL
            self.canvas.fill([rect_x(side_x, z, z1, 0.25, body_top)], P(paint, normal, Material.BODY))
            wheels = [ellipse_poly(0, wheel_r, 0, wheel_r, wheel_r, 14) for _ in range(2)]
            pw = P(tyre, normal)
            for wz, wpoly in zip((z + 0.9, z1 - 0.9), wheels):
                pts = np.stack([np.full(len(wpoly), side_x), wpoly[:, 1], wz + wpoly[:, 0]], axis=1)
                self.canvas.fill([pts], pw)
            if kind == "car":
                cab = np.array([[side_x, body_top, z + 0.6], [side_x, body_top, z1 - 0.8],
                                [side_x, cab_top, z1 - 1.5], [side_x, cab_top, z + 1.2]])
                self.canvas.fill([cab], P(paint, normal, Material.BODY))
                inset = np.array([[side_x, body_top + 0.05, z + 0.8], [side_x, body_top + 0.05, z1 - 1.0],
                                  [side_x, cab_top - 0.06, z1 - 1.55], [side_x, cab_top - 0.06, z + 1.3]])
                self.canvas.fill([inset], P(glass, normal, Material.GLASS))
            elif kind == "bus":
                self.canvas.fill([rect_x(side_x, z + 0.5, z1 - 0.3, 1.3, 2.6)], P(glass, normal, Material.GLASS))
        if kind == "car":  # roof and boot lid seen from above, cabin back
            self.canvas.fill([rect_ground(x0 + 0.15, x1 - 0.15, z + 1.2, z1 - 1.5, cab_top)], P(paint, UP, Material.BODY))
            cab = np.array([[x0 + 0.08, body_top, z + 0.6], [x1 - 0.08, body_top, z + 0.6],
                            [x1 - 0.2, cab_top, z + 1.2], [x0 + 0.2, cab_top, z + 1.2]])
            self.canvas.fill([cab], P(paint, TOWARD_CAMERA, Material.BODY))
            win = np.array([[x0 + 0.18, body_top + 0.05, z + 0.65], [x1 - 0.18, body_top + 0.05, z + 0.65],
                            [x1 - 0.28, cab_top - 0.06, z + 1.15], [x0 + 0.28, cab_top - 0.06, z + 1.15]])
            self.canvas.fill([win], P(glass, TOWARD_CAMERA, Material.GLASS))
            self.canvas.fill([rect_ground(x0, x1, z, z + 0.6, body_top)], P(paint * 1.05, UP, Material.BODY))
        # rear (or front) face
        pt = P(tyre, TOWARD_CAMERA)
        self.canvas.fill([rect_z(x0 + 0.05, x0 + 0.3, 0, wheel_r, z + 0.3), rect_z(x1 - 0.3, x1 - 0.05, 0, wheel_r, z + 0.3)], pt)
        self.canvas.fill([rect_z(x0, x1, 0.25, body_top, z)], P(paint, TOWARD_CAMERA, Material.BODY))
        self.canvas.fill([rect_z(x0, x1, 0.25, 0.42, z)], P(np.array([0.12, 0.12, 0.13]), TOWARD_CAMERA))
        if kind == "bus":
            self.canvas.fill([rect_z(x0 + 0.2, x1 - 0.2, 1.4, 2.7, z)], P(glass, TOWARD_CAMERA, Material.GLASS))
        elif kind == "truck":
            self.canvas.fill([rect_z(cx - 0.02, cx + 0.02, 0.5, body_top - 0.2, z)], P(paint * 0.6, TOWARD_CAMERA))
        light = np.array([1.0, 0.95, 0.8]) if front else np.array([0.75, 0.05, 0.05])
        ly = 0.55 if kind != "car" else body_top - 0.25
        pl = self.canvas.add(cls, inst, light * lit, Material.FLAT, z)
        self.canvas.fill([rect_z(x0 + 0.08, x0 + 0.4, ly, ly + 0.14, z), rect_z(x1 - 0.4, x1 - 0.08, ly, ly + 0.14, z)], pl)
        self.canvas.fill([rect_z(cx - 0.26, cx + 0.26, 0.45, 0.57, z)], P(np.array([0.9, 0.9, 0.85]), TOWARD_CAMERA))

    # ----- people --------------------------------------------------------------------------
    def people(self) -> None:
        rng, st = self.rng, self.street
        n = int(rng.poisson(4.0 * self.config.pedestrians))
        for _ in range(n):
            side = -1 if rng.random() < 0.5 else 1
            inner, outer = st.walk_range(side)
            x = float(rng.uniform(min(inner, outer) + 0.3, max(inner, outer) - 0.3))
            z = float(rng.uniform(5, 60))
            self.later(z, lambda x=x, z=z: self.person(x, z, PERSON))
        crossing = getattr(self, "crossing", None)
        if crossing is not None:
            for _ in range(int(rng.integers(0, 4))):
                x = float(rng.uniform(st.road_left + 0.5, st.road_right - 0.5))
                z = float(rng.uniform(*crossing))
                self.later(z, lambda x=x, z=z: self.person(x, z, PERSON))

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
            self.cast_shadow(np.array([[x - 0.2, z - 0.15], [x + 0.2, z - 0.15], [x + 0.2, z + 0.15],
                                       [x - 0.2, z + 0.15]]), h * 0.8)

        def P(color) -> int:
            return self.prim(cls, inst, color, TOWARD_CAMERA, Material.FLAT, z, lit=lit)

        y = base
        hip = y + 0.48 * h
        stride = float(rng.uniform(0.0, 0.12))
        if riding:
            legs = [np.array([[x - 0.2, hip, z], [x - 0.05, hip, z], [x + 0.1, y + 0.25, z], [x - 0.02, y + 0.25, z]])]
        else:
            legs = [np.array([[x - 0.15, hip, z], [x - 0.01, hip, z], [x - 0.03 - stride, y, z], [x - 0.15 - stride, y, z]]),
                    np.array([[x + 0.01, hip, z], [x + 0.15, hip, z], [x + 0.15 + stride, y, z], [x + 0.03 + stride, y, z]])]
        self.canvas.fill(legs, P(trousers))
        shoulder = y + 0.82 * h
        torso = np.array([[x - 0.17, hip - 0.03, z], [x + 0.17, hip - 0.03, z], [x + 0.21, shoulder, z],
                          [x - 0.21, shoulder, z]])
        arms = [np.array([[x - 0.28, y + 0.45 * h, z], [x - 0.19, y + 0.45 * h, z], [x - 0.18, shoulder, z],
                          [x - 0.25, shoulder - 0.02, z]]),
                np.array([[x + 0.19, y + 0.45 * h, z], [x + 0.28, y + 0.45 * h, z], [x + 0.25, shoulder - 0.02, z],
                          [x + 0.18, shoulder, z]])]
        ps = P(shirt)
        self.canvas.fill([torso], ps)
        self.canvas.fill(arms, ps)
        self.canvas.fill([rect_z(x - 0.05, x + 0.05, shoulder - 0.02, shoulder + 0.06, z)], P(skin))
        self.canvas.fill([ellipse_poly(x, y + 0.92 * h, z, 0.085, 0.11, 14)], P(skin))
        self.canvas.fill([ellipse_poly(x, y + 0.95 * h, z, 0.09, 0.08, 14, 0, np.pi)], P(hair))

    def bicycles(self) -> None:
        rng, st = self.rng, self.street
        for _ in range(int(rng.integers(1, 3))):
            if rng.random() < 0.5:  # parked on a sidewalk
                side = -1 if rng.random() < 0.5 else 1
                inner, outer = st.walk_range(side)
                x = float(rng.uniform(min(inner, outer) + 1.0, max(inner, outer) - 1.0))
                z = float(rng.uniform(6, 40))
                self.later(z, lambda x=x, z=z: self.bicycle(x, z, rider=False))
            else:  # crossing the road
                x = float(rng.uniform(st.road_left + 1, st.road_right - 1))
                z = float(rng.uniform(8, 35))
                self.later(z, lambda x=x, z=z: self.bicycle(x, z, rider=True))

    def bicycle(self, x: float, z: float, rider: bool) -> None:
        rng = self.rng
        inst = self.instance(BICYCLE)
        colour = pal.pick(rng, ((0.1, 0.1, 0.1), (0.7, 0.1, 0.1), (0.15, 0.3, 0.6), (0.8, 0.8, 0.8)))
        r = 0.34
        p = self.prim(BICYCLE, inst, colour, TOWARD_CAMERA, Material.FLAT, z, lit=self.in_shadow(x, z))
        tyre = self.prim(BICYCLE, inst, (0.05, 0.05, 0.05), TOWARD_CAMERA, Material.FLAT, z)
        self.cast_shadow(np.array([[x - 0.9, z - 0.05], [x + 0.9, z - 0.05], [x + 0.9, z + 0.05], [x - 0.9, z + 0.05]]),
                         0.6)
        for wx in (x - 0.55, x + 0.55):
            self.canvas.fill([ellipse_poly(wx, r, z, r, r, 20), ellipse_poly(wx, r, z, r - 0.05, r - 0.05, 20)], tyre)
        frame = np.array([[x - 0.55, r, z], [x - 0.1, r, z], [x + 0.35, 0.85, z], [x - 0.2, 0.85, z],
                          [x - 0.55, r, z], [x - 0.2, 0.85, z], [x - 0.1, r, z]])
        self.canvas.stroke(frame, p, 0.04)
        self.canvas.stroke(np.array([[x + 0.55, r, z], [x + 0.35, 0.85, z], [x + 0.32, 1.0, z]]), p, 0.04)
        self.canvas.fill([rect_z(x - 0.3, x - 0.1, 0.9, 0.95, z)], tyre)
        if rider:
            self.person(x - 0.05, z, RIDER, base=0.45, riding=True)


# ----- compositing ------------------------------------------------------------------------------
def _ground_depth(camera: Camera, height: int) -> np.ndarray:
    """Depth (metres) of the ground seen in each row, as an H×1 column (huge above the horizon)."""
    dy = np.maximum(np.arange(height, dtype=np.float32) + 0.5 - camera.cy, 0.5)
    return (camera.fy * camera.height / dy)[:, None]


# Per-material texture response: factor = K + A*fine grain + B*low-frequency + C*mid-frequency noise.
_TEXTURE = {  # material: (K, A, B, C)
    Material.ASPHALT: (1.0, 0.08, 0.07, 0.0),
    Material.PAINT: (0.97, 0.05, -0.05, 0.0),
    Material.GRASS: (1.0, 0.08, 0.0, 0.22),
    Material.PAVING: (1.0, 0.0, 0.0, 0.05),
    Material.PLASTER: (1.0, 0.0, 0.06, 0.035),
    Material.GLASS: (1.12, 0.0, 0.35, 0.0),
    Material.FOLIAGE: (0.9, 0.08, 0.0, 0.42),
    Material.BODY: (1.0, 0.0, 0.03, 0.0),
    Material.BRICK: (1.0, 0.0, 0.04, 0.0),
    Material.PANEL: (1.0, 0.0, 0.0, 0.04),
}
_TEX_TABLE = np.zeros((256, 4), dtype=np.float32)
_TEX_TABLE[:, 0] = 1.0
for _code, _coef in _TEXTURE.items():
    _TEX_TABLE[_code] = _coef
_GROUND_TABLE = np.zeros(256, dtype=np.float32)
_GROUND_TABLE[list(GROUND_MATERIALS)] = 1.0


def _composite(b: _Builder, rng: np.random.Generator) -> np.ndarray:
    """Texture, shade, haze and expose the primitive raster → H×W×3 uint8 RGB.

    Works on three contiguous colour planes (faster than interleaved H×W×3 arithmetic).
    """
    cam, canvas = b.camera, b.canvas
    w, h = canvas.width, canvas.height
    t = canvas.tables()
    pid = canvas.pid
    mat = np.take(t["material"], pid)
    size = (w, h)

    low = tex.fbm(rng, size, 96.0, 3, reduce=4)
    mid = tex.fbm(rng, size, 20.0, 2, reduce=2)
    fine = tex.grain(rng, size, 0.9)
    factor = np.take(_TEX_TABLE[:, 0], mat)
    for column, field in ((1, fine), (2, low), (3, mid)):
        factor += np.take(_TEX_TABLE[:, column], mat) * field
    gz = _ground_depth(cam, h)

    m = mat == Material.PAVING
    if m.any():
        ys, xs = np.nonzero(m)
        z = gz[ys, 0]
        x = (xs.astype(np.float32) + 0.5 - cam.cx) * z / cam.fx
        fade = np.clip(1.0 - z / cam.fy / 0.06, 0.0, 1.0)
        factor[ys, xs] -= 0.2 * tex.grid_lines(x, z, 0.6, 0.6, 0.04) * fade
    for code in (Material.BRICK, Material.PANEL):
        m = mat == code
        if not m.any():
            continue
        ys, xs = np.nonzero(m)
        plane = t["plane"][pid[ys, xs]]
        dx = xs.astype(np.float32) + 0.5 - cam.cx
        dx = np.where(np.abs(dx) < 0.5, 0.5, dx)
        fz = cam.fx * plane / dx  # depth along the street
        fy = cam.height - (ys.astype(np.float32) + 0.5 - cam.cy) * fz / cam.fy
        metres_px = np.abs(fz) / cam.fy
        if code == Material.BRICK:
            joint, rnd = tex.brick_pattern(fz, fy, 0.5, 0.22, 0.06)
            fade = np.clip(1.0 - metres_px / 0.04, 0.0, 1.0)
            factor[ys, xs] += (-0.22 * joint + 0.14 * (rnd - 0.5)) * fade
        else:
            fade = np.clip(1.0 - metres_px / 0.08, 0.0, 1.0)
            factor[ys, xs] -= 0.15 * tex.grid_lines(fz, fy, 3.0, 1.6, 0.05) * fade

    # cast shadows darken the ground only (and the ground lies below the horizon)
    r0 = min(h, max(0, int(cam.cy)))
    k = max(1, round(1.2 * w / 2048)) * 2 + 1
    shadow = cv2.boxFilter(b.shadow[r0:], -1, (k, k))
    factor[r0:] *= 1.0 - (1.0 - b.light.shadow_factor) * shadow * np.take(_GROUND_TABLE, mat[r0:])

    # distance haze, vignette and exposure folded into one multiply-add per plane
    depth = np.take(t["depth"], pid)
    depth = np.where(depth < 0, gz, depth)
    haze = 1.0 - np.exp(-depth / b.light.haze_dist)
    yy = (np.arange(h, dtype=np.float32) - h / 2) / h
    xx = (np.arange(w, dtype=np.float32) - w / 2) / w
    vignette = 255.0 * (1.0 - 0.25 * (yy[:, None] ** 2 + xx[None, :] ** 2))
    gain = factor * (1.0 - haze) * vignette
    veil = haze * vignette
    bias = np.full((h, w), 0.5, dtype=np.float32)
    if b.config.camera_noise > 0:
        # uniform noise with the requested standard deviation (sqrt(12) × std wide); cheaper than normal
        bias += (rng.random((h, w), dtype=np.float32) - 0.5) * (b.config.camera_noise * 3.4641)

    sky_planes = _sky(b, rng, mat == Material.SKY)
    planes = []
    for c in range(3):
        plane = np.take(t["color"][:, c], pid)
        if sky_planes is not None:
            rows, sky_mask, sky = sky_planes
            np.copyto(plane[:rows], sky[c], where=sky_mask)
        plane *= gain
        plane += veil * float(b.light.haze[c])
        plane += bias
        planes.append(np.clip(plane, 0, 255).astype(np.uint8))
    return cv2.merge(planes)


def _sky(b: _Builder, rng: np.random.Generator, mask: np.ndarray) -> tuple[int, np.ndarray, list[np.ndarray]] | None:
    """Sky colour planes (gradient from horizon to zenith, soft clouds) over the rows holding sky."""
    rows_with_sky = np.nonzero(mask.any(axis=1))[0]
    if not len(rows_with_sky):
        return None
    cam = b.camera
    w, h = b.canvas.width, b.canvas.height
    r1 = int(rows_with_sky[-1]) + 1
    up = np.clip((cam.cy - (np.arange(r1, dtype=np.float32) + 0.5)) / max(cam.cy, 1.0), 0.0, 1.0) ** 0.7
    cloud_field = tex.fbm(rng, (w, h), 160.0, 4, aspect=2.5, gain=0.55, reduce=4)[:r1]
    cover = np.clip((cloud_field - (0.35 - 0.7 * b.sky.clouds)) / 0.35, 0.0, 1.0) ** 1.5
    cover *= np.clip(up * 4.0, 0.0, 1.0)[:, None]
    cloud = 0.97 * (1.0 - 0.12 * np.clip(cloud_field, 0, 1)) * cover
    clear = 1.0 - cover
    planes = []
    for c in range(3):
        grad = b.sky.horizon[c] * (1 - up) + b.sky.zenith[c] * up
        planes.append(grad[:, None] * clear + cloud)
    return r1, mask[:r1], planes


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFF, int(index), 0x5C3E])


def generate_scene(seed: int, index: int, config: SceneConfig = SceneConfig()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One scene → (image H×W×3 uint8 RGB, labels H×W uint8 Cityscapes labelIds, instances H×W int32).

    Instances follow Cityscapes: a thing pixel holds class*1000+k, a stuff pixel its class id.
    The result depends only on (seed, index) and config.
    """
    if config.width < 16 or config.height < 16:
        raise ValueError(f"scene size {config.width}×{config.height} is too small (at least 16×16)")
    rng = _rng(seed, index)
    builder = _Builder(rng, config)
    builder.build()
    t = builder.canvas.tables()
    labels = np.take(t["label"], builder.canvas.pid)
    instances = np.take(t["inst"], builder.canvas.pid)
    image = _composite(builder, np.random.default_rng([int(seed) & 0xFFFFFFFFFFFF, int(index), 0x7E11]))
    return image, labels, instances


# ----- writing a dataset ------------------------------------------------------------------------
def scene_name(index: int) -> str:
    return f"scene_{index:06d}.png"


def encode_png_fast(array: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of an RGB uint8, gray uint8 or gray uint16 array (OpenCV's encoder, fast zlib level)."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(array), [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def split_seed(seed: int, split: str) -> int:
    """The seed a split's scenes use: `seed` itself for train, a stable derived seed for others."""
    if split == "train":
        return int(seed)
    return (int(seed) ^ (zlib.crc32(split.encode("utf-8")) << 16)) & 0xFFFFFFFFFFFF


def write_dataset(out: Path, count: int, config: SceneConfig, seed: int, split: str = "train",
                  progress: bool = True) -> None:
    """Write `count` scenes as {split}_img/, {split}_label/ (8-bit), {split}_inst/ (16-bit)."""
    from tqdm import tqdm

    from model.scene_io import atomic_write_bytes

    out = Path(out)
    dirs = {kind: out / f"{split}_{kind}" for kind in ("img", "label", "inst")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    log.info("writing %d %s scenes of %d×%d to %s", count, split, config.width, config.height, out)
    for i in tqdm(range(count), desc=f"{split} scenes", unit="scene", disable=not progress):
        image, labels, instances = generate_scene(split_seed(seed, split), i, config)
        name = scene_name(i)
        atomic_write_bytes(dirs["img"] / name, encode_png_fast(image))
        atomic_write_bytes(dirs["label"] / name, encode_png_fast(labels))
        atomic_write_bytes(dirs["inst"] / name, encode_png_fast(instances.astype(np.uint16)))
