"""The one region type of the stroke → render path: a box, and a changed area with a whole-frame flag.

Layout: ``Box = (x0, y0, x1, y1)``, half-open, in the pixels of the image or tensor it belongs to
(``x`` is the column). Document edits, render requests, render results, the incremental
renderer's dirty masks (``model.render.region.Region.box``) and the bench all use it.

``None`` as a ``Box | None`` only ever means "no box" (empty). "The whole frame" is said
explicitly by :class:`Area` with ``whole=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def union_box(a: Box | None, b: Box | None) -> Box | None:
    """The smallest box covering both; None (empty) is the identity."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def clip_box(box: Box, width: int, height: int) -> Box | None:
    """``box`` inside a width×height frame; None when nothing is left."""
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def box_area(box: Box | None) -> int:
    return 0 if box is None else max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def grow_box(box: Box, margin: int, width: int, height: int) -> Box | None:
    """``box`` grown by ``margin`` pixels on every side, clipped to the frame."""
    return clip_box((box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin), width, height)


def mask_box(mask: np.ndarray) -> Box | None:
    """Tight bounding box of a boolean mask (vectorised), or None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


@dataclass(frozen=True)
class Area:
    """A changed (or painted) part of a frame: ``whole`` says "all of it"; otherwise ``box``, where
    None means nothing changed. A whole-frame result may also carry the frame's box."""

    box: Box | None = None
    whole: bool = False

    @classmethod
    def everything(cls, size: tuple[int, int] | None = None) -> Area:
        """The whole frame; ``size`` (width, height) fills in its box when known."""
        return cls((0, 0, size[0], size[1]) if size is not None else None, True)

    @classmethod
    def nothing(cls) -> Area:
        return cls(None, False)

    @classmethod
    def of(cls, box: Box | None) -> Area:
        return cls(box, False)

    @property
    def empty(self) -> bool:
        return not self.whole and self.box is None

    def merge(self, other: Area) -> Area:
        """Both changes together (whole wins)."""
        if self.whole or other.whole:
            return Area(None, True)
        return Area(union_box(self.box, other.box), False)

    def scaled_down(self, factor: int) -> Area:
        """The same area on a frame ``factor`` times smaller (grown to whole pixels)."""
        if self.box is None or factor == 1:
            return self
        x0, y0, x1, y1 = self.box
        return Area((x0 // factor, y0 // factor, -(-x1 // factor), -(-y1 // factor)), self.whole)
