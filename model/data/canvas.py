"""A pinhole street camera and a primitive-id canvas for the procedural scene generator.

Scenes are built from flat 3D polygons in street coordinates (metres): X to the right, Y up from
the ground, Z forward along the street. The camera sits at (0, height, 0) looking down +Z with the
horizon level. Each polygon becomes one *primitive* with a class id, an instance id, a shaded
colour, a material and a depth; the canvas rasterises primitive indices into one int32 map with
cv2.fillPoly (later drawings overwrite earlier ones: painter's order), and the label, instance and
albedo images are gathered from the primitive table at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

SHIFT = 2  # fillPoly sub-pixel bits
NEAR = 0.5  # metres: polygons are clipped against this plane


class Material:
    """Material codes: which texture the compositor applies to a primitive's pixels."""

    FLAT = 0
    SKY = 1
    ASPHALT = 2
    PAVING = 3
    GRASS = 4
    BRICK = 5
    PLASTER = 6
    PANEL = 7
    GLASS = 8
    FOLIAGE = 9
    PAINT = 10
    BODY = 11
    HOOD = 12  # the ego vehicle's bonnet: shows a reflection of the scene above it
    VOID = 13  # rectification border: black
    CHROME = 14  # badges, rails: bright with a reflection-like gradient


@dataclass(frozen=True)
class Camera:
    """Pinhole camera: focal lengths and vanishing point in output pixels, height in metres."""

    fx: float
    fy: float
    cx: float
    cy: float
    height: float
    bend: float = 0.0  # road curvature (1/m): the street shifts sideways by about bend·z² ...
    bend_reach: float = 70.0  # ... up to this depth, then keeps its heading

    def lateral(self, z: np.ndarray) -> np.ndarray:
        """Sideways shift (metres) of the curved street at depth z (0 on a straight street)."""
        return self.bend * z * z / (1.0 + z / self.bend_reach)

    def project(self, pts: np.ndarray) -> np.ndarray:
        """(..., 3) street points → (..., 2) pixel coordinates (Z must be positive)."""
        out = np.empty(pts.shape[:-1] + (2,), dtype=np.float64)
        inv = 1.0 / pts[..., 2]
        x = pts[..., 0] + self.lateral(pts[..., 2]) if self.bend else pts[..., 0]
        out[..., 0] = self.cx + self.fx * x * inv
        out[..., 1] = self.cy - self.fy * (pts[..., 1] - self.height) * inv
        return out

    def ground_scale(self, z: float) -> float:
        """Output pixels per metre at depth z (vertical)."""
        return self.fy / z


def clip_near(poly: np.ndarray, near: float = NEAR) -> np.ndarray:
    """Clip a convex-or-simple 3D polygon (N×3) against the plane Z = near (Sutherland–Hodgman)."""
    if poly[:, 2].min() >= near:
        return poly
    out: list[np.ndarray] = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        a_in, b_in = a[2] >= near, b[2] >= near
        if a_in:
            out.append(a)
        if a_in != b_in:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out, dtype=np.float64).reshape(-1, 3)


@dataclass
class Canvas:
    """Primitive-id raster plus the table of primitives drawn so far."""

    width: int
    height: int
    camera: Camera
    pid: np.ndarray = field(init=False)
    labels: list[int] = field(default_factory=list)
    instances: list[int] = field(default_factory=list)
    colors: list[tuple[float, float, float]] = field(default_factory=list)
    materials: list[int] = field(default_factory=list)
    depths: list[float] = field(default_factory=list)  # metres; <= 0 means "ground: depth from row"
    planes: list[float] = field(default_factory=list)  # facade plane X (metres) for wall textures

    def __post_init__(self) -> None:
        self.pid = np.zeros((self.height, self.width), dtype=np.int32)

    def add(
        self,
        label: int,
        instance: int,
        color: tuple[float, float, float] | np.ndarray,
        material: int = Material.FLAT,
        depth: float = 0.0,
        plane: float = 0.0,
    ) -> int:
        """Register a primitive and return its index (index 0 is whatever is drawn first)."""
        self.labels.append(label)
        self.instances.append(instance)
        r, g, b = (min(1.5, max(0.0, float(v))) for v in color)
        self.colors.append((r, g, b))
        self.materials.append(material)
        self.depths.append(depth)
        self.planes.append(plane)
        return len(self.labels) - 1

    # ----- rasterising ---------------------------------------------------------------------
    def fill_px(self, polys: list[np.ndarray], prim: int) -> None:
        """Fill 2D pixel polygons (each N×2 float) with a primitive index."""
        if not polys:
            return
        # After near-plane clipping coordinates stay far below the int32 range, so no clamping
        # (which would bend edges that cross the image) is needed.
        pts = [np.round(p * (1 << SHIFT)).astype(np.int32) for p in polys if len(p) >= 3]
        if pts:
            cv2.fillPoly(self.pid, pts, int(prim), lineType=cv2.LINE_8, shift=SHIFT)

    def fill(self, polys3d: list[np.ndarray] | np.ndarray, prim: int) -> None:
        """Fill 3D street polygons (each N×3), clipped at the near plane, with a primitive index."""
        polys = []
        for poly in polys3d:
            poly = clip_near(poly)
            if len(poly) >= 3:
                polys.append(self.camera.project(poly))
        self.fill_px(polys, prim)

    def fill_batch(self, quads: np.ndarray, prim: int) -> None:
        """Fill many 3D polygons at once (K×N×3 array); polygons crossing the near plane are dropped."""
        if len(quads) == 0:
            return
        keep = (quads[..., 2] >= NEAR).all(axis=1)
        if keep.any():
            px = self.camera.project(quads[keep])
            self.fill_px(list(px), prim)

    def stroke(self, pts3d: np.ndarray, prim: int, width_m: float, closed: bool = False) -> None:
        """Draw a polyline of constant world width (approximated at the polyline's mean depth)."""
        pts3d = np.asarray(pts3d, dtype=np.float64)
        if (pts3d[:, 2] < NEAR).any():
            return
        z = float(pts3d[:, 2].mean())
        thickness = max(1, round(width_m * self.camera.fy / z))
        px = np.round(self.camera.project(pts3d) * (1 << SHIFT)).astype(np.int32)
        cv2.polylines(
            self.pid, [px], closed, int(prim), thickness=thickness, lineType=cv2.LINE_8, shift=SHIFT
        )

    # ----- gathering -----------------------------------------------------------------------
    def tables(self) -> dict[str, np.ndarray]:
        """Primitive table as arrays indexed by primitive id."""
        return {
            "label": np.asarray(self.labels, dtype=np.uint8),
            "inst": np.asarray(self.instances, dtype=np.int32),
            "color": np.asarray(self.colors, dtype=np.float32),
            "material": np.asarray(self.materials, dtype=np.uint8),
            "depth": np.asarray(self.depths, dtype=np.float32),
            "plane": np.asarray(self.planes, dtype=np.float32),
        }


@lru_cache(maxsize=64)
def _circle(n: int, start: float, stop: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(start, stop, n, endpoint=False)
    return np.cos(t), np.sin(t)


def ellipse_poly(
    cx: float,
    cy: float,
    z: float,
    rx: float,
    ry: float,
    n: int = 20,
    start: float = 0.0,
    stop: float = 2 * np.pi,
) -> np.ndarray:
    """An ellipse (or arc) in the vertical plane Z = z, as an n×3 polygon."""
    cos, sin = _circle(n, start, stop)
    out = np.empty((n, 3))
    out[:, 0] = cx + rx * cos
    out[:, 1] = cy + ry * sin
    out[:, 2] = z
    return out


def ground_ellipse(cx: float, cz: float, rx: float, rz: float, n: int = 16) -> np.ndarray:
    """An ellipse lying on the ground (Y = 0) centred at (cx, cz)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), np.zeros(n), cz + rz * np.sin(t)], axis=1)


def rect_z(x0: float, x1: float, y0: float, y1: float, z: float) -> np.ndarray:
    """Axis-aligned rectangle in the plane Z = z (facing the camera)."""
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], dtype=np.float64)


def _z_steps(z0: float, z1: float) -> np.ndarray:
    """Depths along an edge from z0 to z1: just the ends for short spans, else geometric steps
    (so that a long strip follows a curved street; on a straight one the extra points are collinear)."""
    if z1 - z0 < 6.0 or z0 <= 0:
        return np.array([z0, z1])
    n = min(40, 2 + int(np.log(z1 / z0) * 8))
    return np.geomspace(z0, z1, n)


def rect_x(x: float, z0: float, z1: float, y0: float, y1: float) -> np.ndarray:
    """Rectangle in the plane X = x (a side wall running along the street)."""
    z = _z_steps(min(z0, z1), max(z0, z1))
    n = len(z)
    out = np.empty((2 * n, 3))
    out[:, 0] = x
    out[:n, 1], out[n:, 1] = y0, y1
    out[:n, 2], out[n:, 2] = z, z[::-1]
    return out


def rect_ground(x0: float, x1: float, z0: float, z1: float, y: float = 0.0) -> np.ndarray:
    """Rectangle on the horizontal plane Y = y."""
    z = _z_steps(min(z0, z1), max(z0, z1))
    n = len(z)
    out = np.empty((2 * n, 3))
    out[:n, 0], out[n:, 0] = x0, x1
    out[:, 1] = y
    out[:n, 2], out[n:, 2] = z, z[::-1]
    return out
