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

from model.render.styles import StyleTable
from model.scene_io import Style


@dataclass
class InputMaps:
    """Padded H×W maps the input is built from (owned: the incremental renderer edits them in place)."""

    labels: np.ndarray  # H×W integer class ids
    instances: np.ndarray  # H×W int64 instance ids
    features: np.ndarray | None  # F×H×W float32, or None without feature channels
    num_classes: int
    use_edges: bool

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape[0], self.labels.shape[1]

    @property
    def channels(self) -> int:
        return (
            self.num_classes + int(self.use_edges) + (0 if self.features is None else self.features.shape[0])
        )

    def __post_init__(self) -> None:
        self._memo: tuple[tuple[int, int, int, int], torch.Tensor, torch.Tensor] | None = None
        self._present = np.zeros(self.num_classes, dtype=bool)
        self.mark_present(self.labels)

    def mark_present(self, labels: np.ndarray) -> None:
        """Note the classes of ``labels`` as present (the set only grows until the next full render)."""
        counts = np.bincount(labels.ravel(), minlength=self.num_classes)[: self.num_classes]
        self._present |= counts > 0
        self._memo = None

    def present_channels(self) -> torch.Tensor:
        """Input channels that may be non-zero somewhere: present classes, edge and features."""
        extra = int(self.use_edges) + (0 if self.features is None else self.features.shape[0])
        return torch.from_numpy(
            np.concatenate(
                [np.flatnonzero(self._present), np.arange(self.num_classes, self.num_classes + extra)]
            )
        )

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
        extra = int(self.use_edges) + (0 if self.features is None else self.features.shape[0])
        return torch.from_numpy(
            np.concatenate([present, np.arange(self.num_classes, self.num_classes + extra)])
        )

    def _rows(self, y0: int, y1: int, x0: int, x1: int, present: np.ndarray) -> torch.Tensor:
        """(h·w)×C' rows: one-hot over ``present`` classes (a superset of the crop's), edge, features."""
        crop = self.labels[y0:y1, x0:x1]
        h, w = crop.shape
        edges = self._edges(y0, y1, x0, x1).ravel() if self.use_edges else None
        features = self.features[:, y0:y1, x0:x1].reshape(-1, h * w) if self.features is not None else None
        return self._assemble(crop.ravel(), edges, features, present)

    def rows_at(self, rows: np.ndarray, cols: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The input at the grid of every tile: ``rows`` N×h and ``cols`` N×w (indices inside the
        maps) → ((N·h·w)×C' float32 rows in tile, row, column order; the C' channel indices)."""
        ys, xs = rows[:, :, None], cols[:, None, :]
        labels = self.labels[ys, xs].ravel()
        present = np.flatnonzero(np.bincount(labels, minlength=self.num_classes)[: self.num_classes])
        edges = self._edges_at(ys, xs).ravel() if self.use_edges else None
        features = (
            self.features[:, ys, xs].reshape(self.features.shape[0], -1)
            if self.features is not None
            else None
        )
        return self._assemble(labels, edges, features, present), self._channel_index(present)

    def _assemble(
        self, labels: np.ndarray, edges: np.ndarray | None, features: np.ndarray | None, present: np.ndarray
    ) -> torch.Tensor:
        """P×C' rows from P labels (one-hot over ``present``), edge flags and F×P features."""
        lut = np.full(self.num_classes, -1, dtype=np.int64)
        lut[present] = np.arange(len(present))
        extra = int(self.use_edges) + (0 if self.features is None else self.features.shape[0])
        channels = len(present) + extra
        table = np.zeros((len(present), channels), dtype=np.float32)
        table[np.arange(len(present)), np.arange(len(present))] = 1.0
        data = torch.from_numpy(table[lut[labels]])  # one-hot rows, extra columns zero
        column = len(present)
        if edges is not None:
            data[:, column] = torch.from_numpy(edges.astype(np.float32, copy=False))
            column += 1
        if features is not None:
            data[:, column:] = torch.from_numpy(features.T)
        return data

    def _edges_at(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """``_edges`` at the positions ys × xs (broadcast index arrays inside the maps)."""
        height, width = self.shape
        inst = self.instances[ys, xs]
        edge = np.zeros(inst.shape, dtype=bool)
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):  # the 4 neighbours, each one vectorised step
            ny, nx = ys + dy, xs + dx
            inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
            edge |= inside & (self.instances[ny.clip(0, height - 1), nx.clip(0, width - 1)] != inst)
        return edge

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
        return edge[y0 - gy0 : y1 - gy0, x0 - gx0 : x1 - gx0].astype(np.float32)


def feature_map(
    table: StyleTable, instances: np.ndarray, styles: Mapping[int, Style], seed: int
) -> np.ndarray:
    """F×H×W codes; a lookup table indexed by id when ids are small (Cityscapes: < 34 000), else np.unique."""
    flat = instances.ravel()
    low, high = int(flat.min()), int(flat.max())
    if low < 0 or high > 4_000_000:
        return table.feature_map(instances, styles, seed)
    ids = np.flatnonzero(np.bincount(flat, minlength=high + 1))
    lookup = np.zeros((high + 1, table.feat_num), dtype=np.float32)
    lookup[ids] = table.codes(ids, styles, seed)
    return np.ascontiguousarray(lookup[instances].transpose(2, 0, 1))
