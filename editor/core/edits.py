"""Edits: small Qt-free objects that compute a :class:`~editor.core.document.Patch` on a bbox crop.

All of them are vectorised (cv2 drawing on crops, numpy masks); none loops over pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from editor.core.document import Box, Document, Patch, clip_box, union_box
from model.scene_io import Style

Point = tuple[float, float]


def _stroke_box(points: Sequence[Point], radius: float, doc: Document) -> Box | None:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    r = int(np.ceil(radius)) + 1
    return clip_box(
        (
            int(np.floor(min(xs))) - r,
            int(np.floor(min(ys))) - r,
            int(np.ceil(max(xs))) + r + 1,
            int(np.ceil(max(ys))) + r + 1,
        ),
        doc.width,
        doc.height,
    )


@dataclass
class BrushDab:
    """A round brush segment through ``points`` (one or more) with a radius in pixels."""

    points: Sequence[Point]
    radius: float
    label: int
    instance: int
    description: str = "Brush"

    def patch(self, doc: Document) -> Patch | None:
        box = _stroke_box(self.points, self.radius, doc)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        canvas = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        shift = 4  # sub-pixel precision for cv2 drawing
        scale = 1 << shift
        pts = [(round((px - x0) * scale), round((py - y0) * scale)) for px, py in self.points]
        r = max(0.5, self.radius)
        if r < 1.0:  # a one-pixel pencil
            for px, py in self.points:
                ix, iy = int(np.floor(px)) - x0, int(np.floor(py)) - y0
                if 0 <= ix < canvas.shape[1] and 0 <= iy < canvas.shape[0]:
                    canvas[iy, ix] = 1
            if len(pts) > 1:
                cv2.polylines(canvas, [np.array(pts, dtype=np.int32)], False, 1, 1, cv2.LINE_8, shift)
        else:
            radius_fixed = round(r * scale)
            for p in pts:
                cv2.circle(canvas, p, radius_fixed, 1, -1, cv2.LINE_8, shift)
            if len(pts) > 1:
                thickness = max(1, round(2 * r))
                cv2.polylines(canvas, [np.array(pts, dtype=np.int32)], False, 1, thickness, cv2.LINE_8, shift)
        return Patch(box, canvas.astype(bool), self.label, self.instance)


@dataclass
class FloodFill:
    """Fill the 4-connected region of the instance id under (x, y)."""

    x: int
    y: int
    label: int
    instance: int
    description: str = "Fill"

    def patch(self, doc: Document) -> Patch | None:
        if not doc.contains(self.x, self.y):
            return None
        ids = doc.instances.astype(np.float32)  # exact for ids < 2**24
        mask = np.zeros((doc.height + 2, doc.width + 2), dtype=np.uint8)
        flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
        _, _, _, rect = cv2.floodFill(ids, mask, (self.x, self.y), 0, 0, 0, flags)
        rx, ry, rw, rh = rect
        box = (rx, ry, rx + rw, ry + rh)
        region = mask[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw] > 0
        return Patch(box, region, self.label, self.instance)


@dataclass
class FillPolygon:
    """Fill a polygon (a rectangle is a four-point polygon)."""

    points: Sequence[Point]
    label: int
    instance: int
    description: str = "Polygon fill"

    def patch(self, doc: Document) -> Patch | None:
        if len(self.points) < 3:
            return None
        box = _stroke_box(self.points, 0, doc)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        canvas = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        shift = 4
        pts = np.array(
            [(round((px - x0) * 16), round((py - y0) * 16)) for px, py in self.points], dtype=np.int32
        )
        cv2.fillPoly(canvas, [pts], 1, cv2.LINE_8, shift)
        return Patch(box, canvas.astype(bool), self.label, self.instance)


def rectangle(a: Point, b: Point) -> list[Point]:
    """Corners of the pixel rectangle spanned by two points (cv2 fills both end pixels)."""
    x0, x1 = sorted((float(np.floor(a[0])), float(np.floor(b[0]))))
    y0, y1 = sorted((float(np.floor(a[1])), float(np.floor(b[1]))))
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


@dataclass
class DeleteInstance:
    """Remove an instance; each of its pixels takes the label of the nearest stuff around it."""

    instance: int
    description: str = "Delete object"

    def patch(self, doc: Document) -> Patch | None:
        box = doc.instance_box(self.instance)
        if box is None:
            return None
        mask = doc.instance_mask(self.instance, box)
        fill = doc.nearest_stuff(mask, box)
        return Patch(box, mask, fill, fill, {self.instance: None})


@dataclass
class RelabelInstance:
    """Give an instance a new class: same shape, a fresh id of the new class (or the stuff id)."""

    instance: int
    new_class: int
    description: str = "Relabel object"
    new_instance: int | None = field(default=None, init=False)

    def patch(self, doc: Document) -> Patch | None:
        box = doc.instance_box(self.instance)
        if box is None:
            return None
        mask = doc.instance_mask(self.instance, box)
        new_id = doc.new_instance_id(self.new_class) if doc.is_thing(self.new_class) else self.new_class
        self.new_instance = new_id
        styles: dict[int, Style | None] = {self.instance: None} if new_id != self.instance else {}
        return Patch(box, mask, self.new_class, new_id, styles)


@dataclass
class MoveInstance:
    """Move (or copy) an instance by (dx, dy). A move fills the vacated pixels from the surroundings."""

    instance: int
    dx: int
    dy: int
    copy: bool = False
    description: str = "Move object"
    new_instance: int | None = field(default=None, init=False)

    def patch(self, doc: Document) -> Patch | None:
        src = doc.instance_box(self.instance)
        if src is None or (self.dx == 0 and self.dy == 0 and not self.copy):
            return None
        src_mask = doc.instance_mask(self.instance, src)
        class_id = int(doc.labels[src[1] : src[3], src[0] : src[2]][src_mask][0])
        dst = clip_box(
            (src[0] + self.dx, src[1] + self.dy, src[2] + self.dx, src[3] + self.dy), doc.width, doc.height
        )
        box = union_box(src, dst)
        assert box is not None
        x0, y0, x1, y1 = box
        new_lab = doc.labels[y0:y1, x0:x1].copy()
        new_ins = doc.instances[y0:y1, x0:x1].copy()
        changed = np.zeros(new_lab.shape, dtype=bool)
        styles: dict[int, Style | None] = {}
        if not self.copy:
            fill = doc.nearest_stuff(src_mask, src)
            sl = (slice(src[1] - y0, src[3] - y0), slice(src[0] - x0, src[2] - x0))
            new_lab[sl][src_mask] = fill
            new_ins[sl][src_mask] = fill
            changed[sl] |= src_mask
            new_id = self.instance
        else:
            new_id = doc.new_instance_id(class_id) if doc.is_thing(class_id) else class_id
            if self.instance in doc.styles:
                styles[new_id] = doc.styles[self.instance]
        self.new_instance = new_id
        if dst is not None:
            # the part of the shifted source mask that lands inside the image
            sx0, sy0 = dst[0] - self.dx - src[0], dst[1] - self.dy - src[1]
            part = src_mask[sy0 : sy0 + dst[3] - dst[1], sx0 : sx0 + dst[2] - dst[0]]
            sl = (slice(dst[1] - y0, dst[3] - y0), slice(dst[0] - x0, dst[2] - x0))
            new_lab[sl][part] = class_id
            new_ins[sl][part] = new_id
            changed[sl] |= part
        return Patch(box, changed, new_lab[changed], new_ins[changed], styles)


@dataclass
class SetStyles:
    """Set (or clear, with None) the style of one or more instance ids. No pixels change."""

    styles: dict[int, Style | None]
    description: str = "Style"

    def patch(self, doc: Document) -> Patch | None:
        return Patch(None, None, styles=dict(self.styles)) if self.styles else None
