"""Scene state shared by every drawing stage: rng, camera, canvas, light, shadows, instance counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from model.data import palettes as pal
from model.data.canvas import NEAR, SHIFT, Canvas, Material, clip_near
from model.data.procedural.lighting import UP, Light, Normal
from model.data.procedural.street import make_camera, make_street
from model.labels import INSTANCE_FACTOR

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
    big_vehicles: bool = True  # trucks, buses and trams
    bicycles: bool = True  # bicycles, motorcycles and their riders
    ego_vehicle: bool = True  # the camera car's hood and the Cityscapes border bands


@dataclass(frozen=True)
class HoodLook:
    """What the shading stage needs to paint the ego vehicle's bonnet."""

    top: np.ndarray  # per column, the row where the bonnet starts (float)
    paint: np.ndarray  # RGB albedo 0..1
    gloss: float  # strength of the mirrored scene in the paint
    squash: float  # the reflection is compressed vertically by this factor (the bonnet slopes)


def square(x: float, z: float, r: float) -> np.ndarray:
    """An axis-aligned square footprint (4×2, X and Z) of half-size r centred at (x, z)."""
    return np.array([[x - r, z - r], [x + r, z - r], [x + r, z + r], [x - r, z + r]])


class BuilderBase:
    """Holds the canvas, shadow raster, light and instance counters while one scene is drawn."""

    def __init__(self, rng: np.random.Generator, config: SceneConfig) -> None:
        self.rng = rng
        self.config = config
        w, h = config.width, config.height
        self.camera = make_camera(rng, w, h)
        self.canvas = Canvas(w, h, self.camera)
        self.shadow = np.zeros((h, w), dtype=np.float32)
        self.sky = pal.pick(rng, pal.SKIES, tuple(s.weight for s in pal.SKIES))
        # The sun sits 20-70 degrees off the street axis, ahead of or behind the camera, so that
        # facades cast shadows of varied length across the street.
        low_sun = self.sky is pal.SKIES[3]
        elevation = np.radians(rng.uniform(15.0, 25.0) if low_sun else rng.uniform(35.0, 65.0))
        azimuth = np.radians(rng.uniform(20.0, 70.0)) * rng.choice([-1.0, 1.0]) + rng.choice([0.0, np.pi])
        sun = np.array(
            [np.cos(elevation) * np.sin(azimuth), np.sin(elevation), np.cos(elevation) * np.cos(azimuth)]
        )
        self.light = Light(
            sun=sun,
            ambient=self.sky.ambient,
            haze=np.asarray(self.sky.horizon, dtype=np.float32),
            haze_dist=float(rng.uniform(250.0, 500.0)) * (0.5 if self.sky.ambient > 0.8 else 1.0),
        )
        self.street = make_street(rng)
        self._counters: dict[int, int] = {}
        self.objects: list[tuple[float, Callable[[], None]]] = []  # (depth, draw) for painter's order
        self.crossing: tuple[float, float] | None = None  # zebra crossing (z0, z1)
        self.hood: HoodLook | None = None  # set by the ego-vehicle stage

    def instance(self, cls: int) -> int:
        k = self._counters.get(cls, 0)
        self._counters[cls] = min(k + 1, INSTANCE_FACTOR - 1)
        return cls * INSTANCE_FACTOR + k

    def prim(
        self,
        label: int,
        inst: int,
        color: object,
        normal: Normal = UP,
        material: int = Material.FLAT,
        depth: float = 0.0,
        plane: float = 0.0,
        lit: float = 1.0,
    ) -> int:
        shade = self.light.shade(normal) * lit
        return self.canvas.add(label, inst, np.asarray(color) * shade, material, depth, plane)

    def cast_shadow(self, footprint: np.ndarray, height: float) -> None:
        """Shadow on the ground of a prism with this XZ footprint (N×2) and height.

        The shadow raster is binary (1 = shaded) so that overlapping shadows never lighten each other.
        """
        dx, dz = self.light.shadow_offset(height)
        pts = np.concatenate([footprint, footprint + [dx, dz]]).astype(np.float32)
        hull = cv2.convexHull(pts)[:, 0, :].astype(np.float64)
        self.shadow_poly(np.stack([hull[:, 0], np.zeros(len(hull)), hull[:, 1]], axis=1))

    def shadow_poly(self, poly3d: np.ndarray) -> None:
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
        """Queue an object; objects are drawn far to near once all are placed."""
        self.objects.append((depth, draw))

    def side_walk_x(self, side: int, margin: float = 0.3) -> float:
        """A random X on the sidewalk of a side."""
        inner, outer = self.street.walk_range(side)
        lo, hi = min(inner, outer) + margin, max(inner, outer) - margin
        return float(self.rng.uniform(lo, max(lo, hi)))
