"""Shading: texture, shade, haze and expose the primitive raster into the photo; the sky; the
ego vehicle's glossy bonnet, which mirrors the scene above it."""

from __future__ import annotations

import cv2
import numpy as np

from model.data import textures as tex
from model.data.canvas import Camera, Material
from model.data.procedural.base import GROUND_MATERIALS, BuilderBase


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
    Material.HOOD: (1.0, 0.0, 0.03, 0.0),
}
_TEX_TABLE = np.zeros((256, 4), dtype=np.float32)
_TEX_TABLE[:, 0] = 1.0
for _code, _coef in _TEXTURE.items():
    _TEX_TABLE[_code] = _coef
_GROUND_TABLE = np.zeros(256, dtype=np.float32)
_GROUND_TABLE[list(GROUND_MATERIALS)] = 1.0


def composite(b: BuilderBase, rng: np.random.Generator) -> np.ndarray:
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
        planes.append(plane)
    if b.hood is not None:
        _bonnet(b, planes, mat == Material.HOOD)
    return cv2.merge([np.clip(p, 0, 255).astype(np.uint8) for p in planes])


def _bonnet(b: BuilderBase, planes: list[np.ndarray], mask: np.ndarray) -> None:
    """Paint the bonnet: its own colour, darker towards the bottom, plus a blurred, vertically
    mirrored and squashed copy of the scene above its top edge, tinted by the paint."""
    hood = b.hood
    assert hood is not None
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return
    h, w = mask.shape
    top = hood.top[xs]
    below = np.maximum(ys + 0.5 - top, 0.0)
    src = np.clip(top - below * hood.squash, 0, h - 1).astype(np.intp)
    depth = np.clip(below / max(1.0, float(h - hood.top.min())), 0.0, 1.0)
    k = max(3, (w // 160) | 1)
    grad = (0.95 - 0.45 * depth) * 235.0
    fade = hood.gloss * (1.0 - 0.6 * depth)
    for c in range(3):
        blurred = cv2.blur(planes[c], (k, max(3, k // 2)))
        mirrored = blurred[src, xs] * (0.35 + 0.65 * float(hood.paint[c]))
        base = float(hood.paint[c]) * grad
        planes[c][ys, xs] = base * (1.0 - fade) + mirrored * fade + 0.5


def _sky(
    b: BuilderBase, rng: np.random.Generator, mask: np.ndarray
) -> tuple[int, np.ndarray, list[np.ndarray]] | None:
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
