"""Equal tiles of one tensor, recomputed as one batch: how an incremental update covers a dirty mask.

A brush stroke's dirty area is long and thin. Covering it with a few rectangles recomputes about
twice the area it needs, and covering it with many small rectangles pays torch's and oneDNN's
per-call cost for each (docs/rendering.md). So a layer's dirty mask is cut into the tiles of a
fixed grid instead (``occupied_tiles``), every tile has the same size, and all of a layer's tiles
go through the convolution as one batch: the input windows are gathered with one row index, the
results written back with another (``flat_index``).

Rows and columns here are the tensor's own pixels; the grid starts at (0, 0), and a tile that
would cross the bottom or right edge is moved inside it (so two tiles may overlap; they compute
the same values there).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from model.box import Box
from model.render.region import Region


@dataclass(frozen=True)
class Tiles:
    """N tiles of ``size`` (rows, cols) at top-left corners ``ys``, ``xs`` of a tensor of ``shape``."""

    ys: np.ndarray  # N int64 top rows
    xs: np.ndarray  # N int64 left columns
    size: tuple[int, int]
    shape: tuple[int, int]

    @property
    def count(self) -> int:
        return len(self.ys)

    @property
    def positions(self) -> int:
        return self.count * self.size[0] * self.size[1]

    def rows(self) -> np.ndarray:
        """N×h: each tile's rows."""
        return self.ys[:, None] + np.arange(self.size[0])

    def cols(self) -> np.ndarray:
        """N×w: each tile's columns."""
        return self.xs[:, None] + np.arange(self.size[1])

    @functools.cached_property
    def flat_index(self) -> torch.Tensor:
        """The N·h·w positions as row-major indices into the tensor's H·W pixels (tile, row, column
        order: the order of a channels-last N×C×h×w batch's pixels). Computed once: a layer with a
        skip input reads it twice."""
        return torch.from_numpy((self.rows()[:, :, None] * self.shape[1] + self.cols()[:, None, :]).ravel())

    @property
    def box(self) -> Box:
        """The bounding box of every tile."""
        return (
            int(self.xs.min()),
            int(self.ys.min()),
            int(self.xs.max()) + self.size[1],
            int(self.ys.max()) + self.size[0],
        )

    def split(self, tiles_per_part: int) -> Iterator[Tiles]:
        """The tiles in consecutive parts of at most ``tiles_per_part``."""
        step = max(1, tiles_per_part)
        for start in range(0, self.count, step):
            yield Tiles(self.ys[start : start + step], self.xs[start : start + step], self.size, self.shape)

    def covered(self, region: Region) -> np.ndarray:
        """Which of the N·h·w positions (``flat_index`` order) are set in ``region``."""
        rows, cols = self.rows() - region.y0, self.cols() - region.x0
        r_in = (rows >= 0) & (rows < region.mask.shape[0])
        c_in = (cols >= 0) & (cols < region.mask.shape[1])
        inside = r_in[:, :, None] & c_in[:, None, :]
        values = region.mask[
            rows.clip(0, region.mask.shape[0] - 1)[:, :, None],
            cols.clip(0, region.mask.shape[1] - 1)[:, None, :],
        ]
        return (values & inside).ravel()

    def region(self, values: np.ndarray) -> Region | None:
        """The set positions of an N×h×w boolean array over these tiles, as a tight region."""
        if not values.any():
            return None
        x0, y0, x1, y1 = self.box
        mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        rows, cols = self.rows() - y0, self.cols() - x0
        # overlapping tiles hold equal values, so plain assignment is enough
        mask[rows[:, :, None], cols[:, None, :]] = values
        return Region(y0, x0, mask).tight()


def occupied_tiles(region: Region, shape: tuple[int, int], tile: int) -> Tiles:
    """The tiles of a ``tile``-pixel grid over a tensor of ``shape`` that hold a set position of
    ``region`` (a tile side is cut to the tensor's side where that is smaller)."""
    height, width = shape
    th, tw = min(tile, height), min(tile, width)
    gy0, gx0 = region.y0 // th, region.x0 // tw
    gy1, gx1 = -(-region.y1 // th), -(-region.x1 // tw)
    grid = np.zeros(((gy1 - gy0) * th, (gx1 - gx0) * tw), dtype=bool)
    oy, ox = region.y0 - gy0 * th, region.x0 - gx0 * tw
    grid[oy : oy + region.mask.shape[0], ox : ox + region.mask.shape[1]] = region.mask
    occupied = grid.reshape(gy1 - gy0, th, gx1 - gx0, tw).any(axis=(1, 3))
    iy, ix = np.nonzero(occupied)
    ys = np.minimum((gy0 + iy) * th, height - th).astype(np.int64)
    xs = np.minimum((gx0 + ix) * tw, width - tw).astype(np.int64)
    return Tiles(ys, xs, (th, tw), shape)


def source_index(index: np.ndarray, size: int, mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Padded coordinates → indices in 0..size-1, and where they fall outside the tensor (None:
    nowhere). ``reflect`` mirrors without repeating the edge, as reflection padding does; ``zeros``
    clips, and the caller zeroes the positions flagged outside."""
    if mode == "reflect":
        index = np.abs(index)
        return np.where(index > size - 1, 2 * (size - 1) - index, index), None
    outside = (index < 0) | (index >= size)
    return index.clip(0, size - 1), (outside if outside.any() else None)
