"""The generator's input, built window by window from the label / instance / feature maps.

The full-resolution input (35 one-hot channels + edge + features at 2048×1024 is 300 MB) is never
stored. A window is built on demand, and only with the one-hot channels of the classes present
in it: the first conv then runs on those channels alone (the absent ones are zeros and add
nothing), so the stem's cost follows the number of classes a window holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from model.box import Box
from model.render.styles import StyleTable
from model.scene_io import Style


@dataclass
class InputMaps:
    """Padded H×W maps the input is built from. The incremental renderer changes them through
    ``write``, which also keeps the derived edge map current."""

    labels: np.ndarray  # H×W integer class ids
    instances: np.ndarray  # H×W int64 instance ids
    features: np.ndarray | None  # H×W×F float32 (a pixel's codes are one row), or None
    num_classes: int
    use_edges: bool
    noise: np.ndarray | None = None  # H×W×K float32 render noise (model.noise): never written

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape[0], self.labels.shape[1]

    @property
    def feat_num(self) -> int:
        return 0 if self.features is None else self.features.shape[2]

    @property
    def noise_nc(self) -> int:
        return 0 if self.noise is None else self.noise.shape[2]

    @property
    def channels(self) -> int:
        return self.num_classes + int(self.use_edges) + self.feat_num + self.noise_nc

    @property
    def nbytes(self) -> int:
        maps = (self.labels, self.instances, self.features, self.edges)  # noise: shared, not owned
        return sum(array.nbytes for array in maps if array is not None)

    def __post_init__(self) -> None:
        self._memo: tuple[tuple[int, int, int, int], torch.Tensor, torch.Tensor] | None = None
        self._present = np.zeros(self.num_classes, dtype=bool)
        self.mark_present(self.labels)
        # The edge channel of every pixel, kept so that a batch of tiles reads it with one gather
        # instead of comparing each position with its four neighbours again.
        height, width = self.shape
        self.edges = self._edges(0, height, 0, width) if self.use_edges else None

    def write(self, box: Box, labels: np.ndarray, instances: np.ndarray, features: np.ndarray | None) -> None:
        """Put new maps into ``box``, and refresh the edges they touch."""
        x0, y0, x1, y1 = box
        self.labels[y0:y1, x0:x1] = labels
        self.mark_present(labels)
        self.instances[y0:y1, x0:x1] = instances
        if features is not None and self.features is not None:
            self.features[y0:y1, x0:x1] = features
        if self.edges is not None:  # a pixel's edge flag reads its 4-neighbours: one pixel around
            height, width = self.shape
            ey0, ey1, ex0, ex1 = max(0, y0 - 1), min(height, y1 + 1), max(0, x0 - 1), min(width, x1 + 1)
            self.edges[ey0:ey1, ex0:ex1] = self._edges(ey0, ey1, ex0, ex1)
        self._memo = None

    def mark_present(self, labels: np.ndarray) -> None:
        """Note the classes of ``labels`` as present (the set only grows until the next full render)."""
        counts = np.bincount(labels.ravel(), minlength=self.num_classes)[: self.num_classes]
        self._present |= counts > 0
        self._memo = None

    def present_channels(self) -> torch.Tensor:
        """Input channels that may be non-zero somewhere: present classes, edge, features, noise."""
        return self._channel_index(np.flatnonzero(self._present))

    def invalidate(self) -> None:
        self._memo = None

    def prepare_whole(self, cancelled: Callable[[], bool] | None = None, rows: int = 64) -> bool:
        """Build the whole input once (a full pass reads it band by band, twice), ``rows`` at a time so
        that ``cancelled()`` is polled; False if cancelled. ``invalidate`` frees it."""
        height, width = self.shape
        present = np.flatnonzero(self._present)
        idx = self._channel_index(present)
        whole = torch.empty(height * width, len(idx), dtype=torch.float32)
        for y0 in range(0, height, rows):
            if cancelled is not None and cancelled():
                return False
            y1 = min(height, y0 + rows)
            whole[y0 * width : y1 * width] = self._rows(y0, y1, 0, width, present)
        self._memo = ((0, height, 0, width), whole.view(1, height, width, len(idx)).permute(0, 3, 1, 2), idx)
        return True

    def window(self, y0: int, y1: int, x0: int, x1: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(1×C'×h×w channels-last float32 window, the C' input channel indices it holds)."""
        key = (y0, y1, x0, x1)
        if self._memo is not None:
            (my0, my1, mx0, mx1), tensor, idx = self._memo
            if my0 <= y0 and y1 <= my1 and mx0 <= x0 and x1 <= mx1:
                return tensor[:, :, y0 - my0 : y1 - my0, x0 - mx0 : x1 - mx0], idx
        crop = self.labels[y0:y1, x0:x1]
        present = np.flatnonzero(np.bincount(crop.ravel(), minlength=self.num_classes)[: self.num_classes])
        idx = self._channel_index(present)
        tensor = self._rows(y0, y1, x0, x1, present).view(1, y1 - y0, x1 - x0, len(idx)).permute(0, 3, 1, 2)
        self._memo = (key, tensor, idx)
        return tensor, idx

    def _channel_index(self, present: np.ndarray) -> torch.Tensor:
        extra = int(self.use_edges) + self.feat_num + self.noise_nc
        return torch.from_numpy(
            np.concatenate([present, np.arange(self.num_classes, self.num_classes + extra)])
        )

    def _rows(self, y0: int, y1: int, x0: int, x1: int, present: np.ndarray) -> torch.Tensor:
        """(h·w)×C' float32 rows: one-hot over ``present`` classes (a superset of the crop's), edge,
        features, noise."""
        crop = self.labels[y0:y1, x0:x1]
        edges = self.edges[y0:y1, x0:x1].ravel() if self.edges is not None else None
        features = self.features[y0:y1, x0:x1].reshape(crop.size, -1) if self.features is not None else None
        noise = self.noise[y0:y1, x0:x1].reshape(crop.size, -1) if self.noise is not None else None
        return self._assemble(crop.ravel(), edges, features, noise, present, torch.float32)

    def rows_at(
        self, rows: np.ndarray, cols: np.ndarray, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The input at the grid of every tile: ``rows`` N×h and ``cols`` N×w (indices inside the
        maps) → ((N·h·w)×C' rows in ``dtype``, in tile, row, column order; the C' channel indices)."""
        ys, xs = rows[:, :, None], cols[:, None, :]
        labels = self.labels[ys, xs].ravel()
        present = np.flatnonzero(np.bincount(labels, minlength=self.num_classes)[: self.num_classes])
        edges = self.edges[ys, xs].ravel() if self.edges is not None else None
        features = self.features[ys, xs].reshape(labels.size, -1) if self.features is not None else None
        noise = self.noise[ys, xs].reshape(labels.size, -1) if self.noise is not None else None
        return self._assemble(labels, edges, features, noise, present, dtype), self._channel_index(present)

    def _assemble(
        self,
        labels: np.ndarray,
        edges: np.ndarray | None,
        features: np.ndarray | None,
        noise: np.ndarray | None,
        present: np.ndarray,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        """P×C' rows in ``dtype`` from P labels (one-hot over ``present``), edge flags, P×F features
        and P×K noise."""
        lut = np.zeros(self.num_classes, dtype=np.int64)
        lut[present] = np.arange(len(present))
        channels = len(present) + int(self.use_edges) + self.feat_num + self.noise_nc
        table = torch.zeros(len(present), channels, dtype=dtype)  # one-hot rows, extra columns zero
        table[torch.arange(len(present)), torch.arange(len(present))] = 1.0
        data = table.index_select(0, torch.from_numpy(lut[labels]))
        column = len(present)
        if edges is not None:
            data[:, column] = torch.from_numpy(edges)
            column += 1
        if features is not None:
            data[:, column : column + self.feat_num] = torch.from_numpy(features)
            column += self.feat_num
        if noise is not None:  # the shared field is read-only; torch wants a writable array
            data[:, column:] = torch.from_numpy(np.require(noise, requirements="W"))
        return data

    def _edges(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """1 where an instance id differs from a 4-neighbour (neighbours outside the image don't count)."""
        height, width = self.shape
        gy0, gy1, gx0, gx1 = max(0, y0 - 1), min(height, y1 + 1), max(0, x0 - 1), min(width, x1 + 1)
        inst = self.instances[gy0:gy1, gx0:gx1]
        edge = np.zeros(inst.shape, dtype=bool)
        horizontal = inst[:, 1:] != inst[:, :-1]
        vertical = inst[1:, :] != inst[:-1, :]
        edge[:, 1:] |= horizontal
        edge[:, :-1] |= horizontal
        edge[1:, :] |= vertical
        edge[:-1, :] |= vertical
        return edge[y0 - gy0 : y1 - gy0, x0 - gx0 : x1 - gx0].view(np.uint8)


def feature_map(
    table: StyleTable, instances: np.ndarray, styles: Mapping[int, Style], seed: int
) -> np.ndarray:
    """H×W×F codes; a lookup table indexed by id when ids are small (Cityscapes: < 34 000), else np.unique."""
    flat = instances.ravel()
    low, high = int(flat.min()), int(flat.max())
    if low < 0 or high > 4_000_000:
        return table.feature_map(instances, styles, seed)
    ids = np.flatnonzero(np.bincount(flat, minlength=high + 1))
    lookup = np.zeros((high + 1, table.feat_num), dtype=np.float32)
    lookup[ids] = table.codes(ids, styles, seed)
    return lookup[instances]
