"""Running plan layers on boxes: full passes (live InstanceNorm statistics) and frozen-statistics passes.

Every layer computes an output box from a window of its input that is read from the activation
store, clipped to the image and padded the way the layer pads (reflection or zeros), so a box at
the image border gives exactly what the whole-image layer gives there. Transposed convs read the
input rows that scatter into the box. The average-pool pyramid divides by the count of in-image
taps (count_include_pad=False). Incremental updates run a layer on a batch of equal tiles instead
(``frozen_tiles``): the windows are gathered by pixel-row index from the channels-last store.

Precision: layers run in the executor's ``dtype`` (float32, or bfloat16 where
model.render.precision chose it). InstanceNorm statistics are always measured and applied in
float32, and the folded weights are folded in float32 before they are rounded to ``dtype``; the
output layer is kept in float32.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from model.box import Box
from model.render.box_gemm import GEMM_MAX_POSITIONS, conv2d_gemm, prefers_gemm
from model.render.frozen_norm import FoldedWeights, NormStats, combine, fold
from model.render.inputs import InputMaps
from model.render.plan import Layer, Plan
from model.render.tiles import Tiles, source_index

log = logging.getLogger(__name__)

Cancelled = Callable[[], bool]
CHANNELS_LAST = torch.channels_last
NORMALISE_CHUNK_VALUES = 1 << 22  # values a live norm converts to float32 at once (16 MB)


class RenderCancelled(Exception):
    """Raised inside a pass when ``cancelled()`` turns true; the caller discards or rolls back."""


@dataclass
class Store:
    """Activations of one render: tensor id → 1×C×H×W (channels-last), plus the input maps."""

    tensors: dict[int, torch.Tensor]
    inputs: InputMaps
    shapes: dict[int, tuple[int, int]]
    rms: dict[int, float] = field(default_factory=dict)  # typical magnitude of each tensor (subsampled)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors.values())


def tensor_shapes(plan: Plan, height: int, width: int) -> dict[int, tuple[int, int]]:
    return {spec.id: (height // spec.scale, width // spec.scale) for spec in plan.tensors}


class Executor:
    """Computes layer outputs on boxes. ``band_pixels`` and ``band_macs`` (multiply-adds) bound the
    work between two cancellation checks of a full pass, so a wide bottleneck layer is split too;
    ``gemm_max_positions``: boxes up to this many outputs with many channels go through
    :func:`~model.render.box_gemm.conv2d_gemm` on the CPU (0: never); ``dtype``: what the layers
    compute and the activations are stored in."""

    def __init__(
        self,
        plan: Plan,
        device: torch.device,
        band_pixels: int = 1 << 17,
        band_macs: int = 1 << 31,
        gemm_max_positions: int = GEMM_MAX_POSITIONS,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.plan = plan
        self.device = device
        self.dtype = dtype
        self.band_pixels = band_pixels
        self.band_macs = band_macs
        self.gemm_max_positions = gemm_max_positions if device.type == "cpu" else 0
        self.input_like = {spec.id for spec in plan.tensors if spec.is_input_like}
        # float32 weights, which statistics are folded into
        self.master = {
            layer.dst: FoldedWeights(
                layer.weight.to(device) if layer.weight is not None else None,
                layer.bias.to(device) if layer.bias is not None else None,
            )
            for layer in plan.layers
        }
        # The same in ``dtype``, kept only for the layers without a norm (their weights are also
        # their frozen ones). A normalised layer's copy is made when a full pass reaches it: in bf16
        # that keeps half the model's size (0.37 GB for the released G) out of memory.
        self._raw_kept = {
            layer.dst: self._cast(self.master[layer.dst]) for layer in plan.layers if layer.norm is None
        }

    def raw(self, layer: Layer) -> FoldedWeights:
        """The layer's weights in ``dtype``, without any statistics folded in."""
        kept = self._raw_kept.get(layer.dst)
        return kept if kept is not None else self._cast(self.master[layer.dst])

    def _cast(self, weights: FoldedWeights) -> FoldedWeights:
        if self.dtype == torch.float32:
            return weights
        return FoldedWeights(
            weights.weight.to(self.dtype) if weights.weight is not None else None,
            weights.bias.to(self.dtype) if weights.bias is not None else None,
        )

    # ----- reading windows ----------------------------------------------------------------------
    def fetch(
        self,
        store: Store,
        tensor: int,
        y0: int,
        y1: int,
        x0: int,
        x1: int,
        mode: str,
        dtype: torch.dtype | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Window [y0, y1)×[x0, x1) of a tensor in ``dtype`` (default: the executor's), padded
        outside the image; (window, channel idx or None)."""
        dtype = dtype or self.dtype
        height, width = store.shapes[tensor]
        cy0, cy1, cx0, cx1 = max(0, y0), min(height, y1), max(0, x0), min(width, x1)
        if tensor == 0:
            window, idx = store.inputs.window(cy0, cy1, cx0, cx1)
            window = window.to(self.device, dtype)
        else:
            window = store.tensors[tensor][:, :, cy0:cy1, cx0:cx1]
            if window.dtype != dtype:
                window = window.to(dtype)
            idx = None
            if tensor in self.input_like:  # pyramid levels: only the channels of classes present
                present = store.inputs.present_channels()
                if len(present) < window.shape[1]:
                    idx = present.to(window.device)
                    window = select_channels(window, idx)
        pads = (cx0 - x0, x1 - cx1, cy0 - y0, y1 - cy1)
        if any(pads):
            window = pad_channels_last(window, pads, reflect=mode == "reflect")
        return window, idx

    # ----- one box --------------------------------------------------------------------------------
    def raw_box(self, layer: Layer, store: Store, box: Box, weights: FoldedWeights) -> torch.Tensor:
        """The layer's output on ``box`` before norm-with-live-stats, activation and skip."""
        x0, y0, x1, y1 = box
        k, s, p = layer.kernel, layer.stride, layer.pad
        if layer.kind == "convT":
            h, w = store.shapes[layer.src]
            iy0, iy1 = max(0, -((-(y0 + p - k + 1)) // s)), min(h, (y1 - 1 + p) // s + 1)
            ix0, ix1 = max(0, -((-(x0 + p - k + 1)) // s)), min(w, (x1 - 1 + p) // s + 1)
            window, _ = self.fetch(store, layer.src, iy0, iy1, ix0, ix1, "zeros")
            assert weights.weight is not None
            out = F.conv_transpose2d(
                window.contiguous(memory_format=CHANNELS_LAST), weights.weight, weights.bias, stride=s
            )
            oy, ox = y0 - (iy0 * s - p), x0 - (ix0 * s - p)
            return out[:, :, oy : oy + y1 - y0, ox : ox + x1 - x0]
        window, idx = self.fetch(
            store,
            layer.src,
            y0 * s - p,
            (y1 - 1) * s + k - p,
            x0 * s - p,
            (x1 - 1) * s + k - p,
            layer.pad_mode,
            # the input pyramid's depthwise sums gain nothing from bf16 and run slower in it
            torch.float32 if layer.kind == "pool" else None,
        )
        if layer.kind == "pool":
            # window sums as a depthwise all-ones conv: the same sums as avg_pool2d, faster channels-last
            ones = torch.ones(window.shape[1], 1, k, k, dtype=window.dtype, device=window.device)
            summed = F.conv2d(
                window.contiguous(memory_format=CHANNELS_LAST), ones, stride=s, groups=window.shape[1]
            )
            h, w = store.shapes[layer.src]
            counts = _tap_counts(y0, y1, h, k, s, p)[:, None] * _tap_counts(x0, x1, w, k, s, p)[None, :]
            out = summed / counts.to(summed.device, summed.dtype)
            if idx is not None:  # back to every input channel (absent classes are zero)
                channels = store.inputs.channels if layer.src == 0 else self.plan.tensors[layer.src].channels
                out = scatter_channels(out.contiguous(memory_format=CHANNELS_LAST), idx, channels)
            return out.contiguous(memory_format=CHANNELS_LAST)
        assert weights.weight is not None
        weight = weights.weight if idx is None else weights.weight[:, idx]
        if prefers_gemm(window.shape[1], y1 - y0, x1 - x0, self.gemm_max_positions):
            return conv2d_gemm(
                window.contiguous(memory_format=CHANNELS_LAST), weight.contiguous(), weights.bias, s
            )
        return F.conv2d(window.contiguous(memory_format=CHANNELS_LAST), weight, weights.bias, stride=s)

    def finish(self, layer: Layer, out: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        if layer.act == "relu":
            out = torch.relu_(out)
        elif layer.act == "tanh":
            out = torch.tanh_(out)
        if skip is not None:
            out = out.add_(skip)
        return out

    def frozen_box(self, layer: Layer, store: Store, box: Box, weights: FoldedWeights) -> torch.Tensor:
        """The layer's final output on ``box`` with frozen (folded) statistics."""
        out = self.raw_box(layer, store, box, weights)
        if layer.kind != "pool":
            out = out.contiguous(memory_format=CHANNELS_LAST)
        skip = None
        if layer.skip is not None:
            x0, y0, x1, y1 = box
            skip = store.tensors[layer.skip][:, :, y0:y1, x0:x1].to(out.dtype)
        return self.finish(layer, out, skip)

    # ----- a batch of equal tiles (incremental updates) ------------------------------------------
    def gather(
        self,
        store: Store,
        tensor: int,
        rows: np.ndarray,
        cols: np.ndarray,
        mode: str,
        dtype: torch.dtype,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The windows ``rows`` (N×h) × ``cols`` (N×w) of a tensor in padded coordinates, padded the
        way ``mode`` says: an N×C'×h×w channels-last batch in ``dtype``, and the C' channel indices
        (None: every channel)."""
        height, width = store.shapes[tensor]
        r, r_out = source_index(rows, height, mode)
        c, c_out = source_index(cols, width, mode)
        idx = None
        if tensor == 0:
            data, idx = store.inputs.rows_at(r, c, dtype)
            data = data.to(self.device)
        else:
            index = torch.from_numpy((r[:, :, None] * width + c[:, None, :]).ravel()).to(self.device)
            data = take_rows(pixel_rows(store.tensors[tensor]), index)
            if tensor in self.input_like:  # pyramid levels: only the channels of classes present
                present = store.inputs.present_channels()
                if len(present) < data.shape[1]:
                    idx = present.to(self.device)
                    data = pick_columns(data, idx)
        window = data.to(dtype).view(rows.shape[0], rows.shape[1], cols.shape[1], data.shape[1])
        if r_out is not None or c_out is not None:
            outside = np.zeros(window.shape[:3], dtype=bool)
            if r_out is not None:
                outside |= r_out[:, :, None]
            if c_out is not None:
                outside |= c_out[:, None, :]
            window.masked_fill_(torch.from_numpy(outside).to(self.device)[..., None], 0)
        return window.permute(0, 3, 1, 2), idx

    def frozen_tiles(self, layer: Layer, store: Store, tiles: Tiles, weights: FoldedWeights) -> torch.Tensor:
        """The layer's final output on every tile, with frozen (folded) statistics: (N·h·w)×C rows
        in tile, row, column order (``Tiles.flat_index``), in the executor's dtype (pool: float32)."""
        th, tw = tiles.size
        k, s, p = layer.kernel, layer.stride, layer.pad
        if layer.kind == "convT":
            # tile corners are multiples of the stride, so every tile reads an equal input window
            iy0, ix0 = -((-(tiles.ys + p - k + 1)) // s), -((-(tiles.xs + p - k + 1)) // s)
            h_in = (int(tiles.ys[0]) + th - 1 + p) // s + 1 - int(iy0[0])
            w_in = (int(tiles.xs[0]) + tw - 1 + p) // s + 1 - int(ix0[0])
            window, _ = self.gather(
                store,
                layer.src,
                iy0[:, None] + np.arange(h_in),
                ix0[:, None] + np.arange(w_in),
                "zeros",
                self.dtype,
            )
            assert weights.weight is not None
            out = F.conv_transpose2d(window, weights.weight, weights.bias, stride=s)
            oy, ox = int(tiles.ys[0] - (iy0[0] * s - p)), int(tiles.xs[0] - (ix0[0] * s - p))
            out = out[:, :, oy : oy + th, ox : ox + tw]
        else:
            pool = layer.kind == "pool"
            window, idx = self.gather(
                store,
                layer.src,
                (tiles.ys * s - p)[:, None] + np.arange((th - 1) * s + k),
                (tiles.xs * s - p)[:, None] + np.arange((tw - 1) * s + k),
                layer.pad_mode,
                torch.float32 if pool else self.dtype,
            )
            if pool:
                ones = torch.ones(window.shape[1], 1, k, k, dtype=window.dtype, device=window.device)
                summed = F.conv2d(window, ones, stride=s, groups=window.shape[1])
                h, w = store.shapes[layer.src]
                counts = (
                    tap_counts(tiles.rows(), h, k, s, p)[:, :, None]
                    * tap_counts(tiles.cols(), w, k, s, p)[:, None, :]
                )
                out = summed / torch.from_numpy(counts).to(summed.device)[:, None]
                if idx is not None:  # back to every input channel (absent classes are zero)
                    channels = (
                        store.inputs.channels if layer.src == 0 else self.plan.tensors[layer.src].channels
                    )
                    out = scatter_channels(out.contiguous(memory_format=CHANNELS_LAST), idx, channels)
            else:
                assert weights.weight is not None
                weight = weights.weight if idx is None else weights.weight[:, idx]
                if prefers_gemm(window.shape[1], tiles.positions, 1, self.gemm_max_positions):
                    out = conv2d_gemm(window, weight.contiguous(), weights.bias, s)
                else:
                    out = F.conv2d(window, weight, weights.bias, stride=s)
        rows = out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])
        skip = None
        if layer.skip is not None:
            index = tiles.flat_index.to(self.device)
            skip = take_rows(pixel_rows(store.tensors[layer.skip]), index).to(rows.dtype)
        return self.finish(layer, rows, skip)

    # ----- whole passes ---------------------------------------------------------------------------
    def layer_costs(self, shapes: dict[int, tuple[int, int]]) -> list[float]:
        """Each layer's multiply-adds on a frame of ``shapes`` (what progress is measured in)."""
        costs = []
        for layer in self.plan.layers:
            height, width = shapes[layer.dst]
            src = self.plan.tensors[layer.src].channels
            dst = 1 if layer.kind == "pool" else self.plan.tensors[layer.dst].channels
            costs.append(float(height * width) * src * dst * layer.kernel**2)
        return costs

    def bands(self, height: int, width: int, row_macs: float = 0.0) -> list[Box]:
        """Row bands of an output; ``row_macs``: multiply-adds of one output row."""
        rows = max(8, self.band_pixels // max(1, width))
        if row_macs > 0:
            rows = min(rows, max(1, int(self.band_macs // row_macs)))
        return [(0, y, width, min(height, y + rows)) for y in range(0, height, rows)]

    def full_pass(
        self,
        store: Store,
        cancelled: Cancelled | None = None,
        frozen: Mapping[int, FoldedWeights] | None = None,
        cache_dtype: torch.dtype = torch.float32,
        keep: bool = True,
        progress: Callable[[float], None] | None = None,
    ) -> dict[int, NormStats]:
        """Compute every layer over the whole image into ``store``.

        With ``frozen`` (folded weights per layer) the statistics are not measured: that is the
        reference an incremental pass must equal. Otherwise InstanceNorm uses live statistics,
        which are returned; a normalised layer is assembled and normalised in float32, then stored
        in ``cache_dtype`` (the output layer always in float32). Raises RenderCancelled between
        bands when ``cancelled()`` is true.
        ``keep=False`` frees each activation after its last reader (only the output stays): the
        peak memory of a plain render instead of the whole cache. ``progress`` is called after every
        band with the fraction of the pass's multiply-adds done (:meth:`layer_costs`), ending at 1.
        """
        stats: dict[int, NormStats] = {}
        costs = self.layer_costs(store.shapes)
        total_cost, done_cost = float(sum(costs)) or 1.0, 0.0
        if not store.inputs.prepare_whole(cancelled):
            raise RenderCancelled
        last_reader: dict[int, int] = {}
        for i, layer in enumerate(self.plan.layers):
            last_reader[layer.src] = i
            if layer.skip is not None:
                last_reader[layer.skip] = i
        for index, layer in enumerate(self.plan.layers):
            if index == last_reader[0] + 1:
                store.inputs.invalidate()  # nothing reads the whole input any more: free it
            if not keep:
                for tensor in [
                    t for t in store.tensors if last_reader.get(t, -1) < index and t != self.plan.output
                ]:
                    del store.tensors[tensor]
            height, width = store.shapes[layer.dst]
            channels = self.plan.tensors[layer.dst].channels
            live = frozen is None and layer.norm is not None
            weights = frozen[layer.dst] if frozen is not None and layer.dst in frozen else self.raw(layer)
            bands = self.bands(height, width, costs[index] / max(1, height))
            dst = None
            if len(bands) > 1:
                # a live norm's layer holds its raw output here until the statistics are known: that
                # output is already in the compute dtype, so holding it in float32 would only cost memory
                dst = torch.empty(
                    1,
                    channels,
                    height,
                    width,
                    dtype=self.dtype,
                    device=self.device,
                    memory_format=CHANNELS_LAST,
                )
            moments = []  # per band: (pixels, mean, biased variance), while the band is in cache
            band_cost = costs[index] / len(bands)
            for box in bands:
                if cancelled is not None and cancelled():
                    raise RenderCancelled
                out = (
                    self.raw_box(layer, store, box, weights)
                    if live
                    else self.frozen_box(layer, store, box, weights)
                )
                if live:
                    moments.append(band_moments(out))
                if dst is None:
                    dst = out.contiguous(memory_format=CHANNELS_LAST)
                else:
                    dst[:, :, box[1] : box[3]] = out
                done_cost += band_cost
                if progress is not None:
                    progress(min(1.0, done_cost / total_cost))
            assert dst is not None
            wanted = torch.float32 if layer.dst == self.plan.output else cache_dtype
            if live:
                assert layer.norm is not None
                stats[layer.dst] = combine(moments, layer.norm)
                dst = self._normalise(layer, store, dst, stats[layer.dst], wanted)
            store.rms[layer.dst] = float(dst[:, :, ::4, ::4].float().pow(2).mean().sqrt())
            store.tensors[layer.dst] = dst if dst.dtype == wanted else dst.to(wanted)
        return stats

    def _normalise(
        self, layer: Layer, store: Store, raw: torch.Tensor, stats: NormStats, wanted: torch.dtype
    ) -> torch.Tensor:
        """The layer's raw output normalised with ``stats``, activated and added to its skip input, in
        float32, a few rows at a time (never a float32 copy of the whole layer), stored in ``wanted``:
        in place when ``raw`` already has that dtype."""
        _, channels, height, width = raw.shape
        out = raw if raw.dtype == wanted else torch.empty_like(raw, dtype=wanted)
        rows = max(1, NORMALISE_CHUNK_VALUES // max(1, channels * width))
        for y0 in range(0, height, rows):
            y1 = min(height, y0 + rows)
            band = raw[:, :, y0:y1].float()
            stats.apply_(band)
            skip = store.tensors[layer.skip][:, :, y0:y1].float() if layer.skip is not None else None
            out[:, :, y0:y1] = self.finish(layer, band, skip)
        return out

    def fold_layer(self, layer: Layer, stats: dict[int, NormStats]) -> FoldedWeights:
        """The layer's weights with its frozen statistics folded in (in float32), in ``dtype``."""
        if layer.norm is None:
            return self.raw(layer)
        return self._cast(fold(layer, self.master[layer.dst], stats[layer.dst]))

    def fold_all(self, stats: dict[int, NormStats]) -> dict[int, FoldedWeights]:
        """Every layer's folded weights, now."""
        return {layer.dst: self.fold_layer(layer, stats) for layer in self.plan.layers}

    def fold_lazily(self, stats: dict[int, NormStats]) -> Folds:
        """Every layer's folded weights, each folded when first asked for."""
        return Folds(self, stats)


class Folds(Mapping[int, FoldedWeights]):
    """Folded weights by output tensor, folded on first use: after a cancelled full pass only the
    layers an update reaches pay for it (folding the released G whole takes about 0.3 s)."""

    def __init__(self, executor: Executor, stats: dict[int, NormStats]) -> None:
        self._executor, self._stats = executor, stats
        self._layers = {layer.dst: layer for layer in executor.plan.layers}
        self._folded: dict[int, FoldedWeights] = {}

    def __getitem__(self, dst: int) -> FoldedWeights:
        folded = self._folded.get(dst)
        if folded is None:
            folded = self._folded[dst] = self._executor.fold_layer(self._layers[dst], self._stats)
        return folded

    def __iter__(self) -> Iterator[int]:
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)


def pad_channels_last(window: torch.Tensor, pads: tuple[int, int, int, int], reflect: bool) -> torch.Tensor:
    """``F.pad(window, pads, "reflect" or "constant")`` into a new channels-last tensor: one copy of
    the window plus its thin border strips (F.pad on a channels-last view runs 2-6x slower here)."""
    left, right, top, bottom = pads
    n, c, h, w = window.shape
    out = torch.empty(
        n,
        c,
        h + top + bottom,
        w + left + right,
        dtype=window.dtype,
        device=window.device,
        memory_format=CHANNELS_LAST,
    )
    out[:, :, top : top + h, left : left + w] = window
    if not reflect:
        out[:, :, :top] = 0
        out[:, :, top + h :] = 0
        out[:, :, top : top + h, :left] = 0
        out[:, :, top : top + h, left + w :] = 0
        return out
    if top:  # row -i mirrors row i
        out[:, :, :top, left : left + w] = window[:, :, 1 : top + 1].flip(2)
    if bottom:  # row h-1+i mirrors row h-1-i
        out[:, :, top + h :, left : left + w] = window[:, :, h - 1 - bottom : h - 1].flip(2)
    if left:  # whole columns, mirrored rows included: the corners come out as F.pad's
        out[:, :, :, :left] = out[:, :, :, left + 1 : 2 * left + 1].flip(3)
    if right:
        out[:, :, :, left + w :] = out[:, :, :, left + w - 1 - right : left + w - 1].flip(3)
    return out


def band_moments(out: torch.Tensor) -> tuple[int, torch.Tensor, torch.Tensor]:
    """(pixels, per-channel mean, biased variance) of a 1×C×h×w band, for ``combine``.

    One pass of float32 sums of x and x² over the pixel rows of the channels-last band (far cheaper
    than ``torch.var_mean`` over dims (0, 2, 3) there); mean and variance are formed in float64.
    """
    rows = out.float().permute(0, 2, 3, 1).reshape(-1, out.shape[1])
    pixels = rows.shape[0]
    mean = rows.sum(0).double() / pixels
    var = ((rows * rows).sum(0).double() / pixels - mean * mean).clamp_(min=0.0)
    return pixels, mean.float(), var.float()


def _tap_counts(o0: int, o1: int, size: int, k: int, s: int, p: int) -> torch.Tensor:
    """For outputs o0..o1-1 of a k/s/p window op: how many taps fall inside 0..size-1."""
    return torch.from_numpy(tap_counts(np.arange(o0, o1), size, k, s, p))


def tap_counts(outputs: np.ndarray, size: int, k: int, s: int, p: int) -> np.ndarray:
    """For output indices of a k/s/p window op: how many taps fall inside 0..size-1 (float32)."""
    start = outputs * s - p
    return (np.minimum(start + k, size) - np.maximum(start, 0)).astype(np.float32)


def take_rows(rows: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``rows.index_select(0, index)`` for a contiguous P×C tensor, moved as the widest integer words
    that tile a row: torch copies narrow (bf16) elements one by one, several times slower."""
    words = _word_dtype(rows)
    return rows.view(words).index_select(0, index).view(rows.dtype)


def put_rows(rows: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> None:
    """``rows.index_copy_(0, index, values)``, moved as integer words like :func:`take_rows`."""
    words = _word_dtype(rows)
    rows.view(words).index_copy_(0, index, values.contiguous().view(words))


def _word_dtype(rows: torch.Tensor) -> torch.dtype:
    row_bytes = rows.shape[1] * rows.element_size()
    for words in (torch.int64, torch.int32, torch.int16):
        if row_bytes % words.itemsize == 0 and words.itemsize >= rows.element_size():
            return words
    return rows.dtype


def pixel_rows(tensor: torch.Tensor) -> torch.Tensor:
    """A 1×C×H×W channels-last tensor as its (H·W)×C pixel rows: a view, so writes reach the tensor."""
    if not tensor.is_contiguous(memory_format=CHANNELS_LAST):
        raise ValueError("activation is not stored channels-last")
    return tensor.permute(0, 2, 3, 1).reshape(-1, tensor.shape[1])


def select_channels(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x[:, idx] for a channels-last tensor (see :func:`pick_columns`)."""
    n, c, h, w = x.shape
    rows = pick_columns(x.permute(0, 2, 3, 1).reshape(-1, c), idx)
    return rows.view(n, h, w, len(idx)).permute(0, 3, 1, 2)


def pick_columns(rows: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """rows[:, idx] of a P×C tensor as a (P × C) @ (C × C') 0/1 matmul: exact for finite values and far
    faster than index_select across the short rows of channels-last memory."""
    picker = torch.zeros(rows.shape[1], len(idx), dtype=rows.dtype, device=rows.device)
    picker[idx, torch.arange(len(idx), device=rows.device)] = 1.0
    return rows @ picker


def scatter_channels(x: torch.Tensor, idx: torch.Tensor, channels: int) -> torch.Tensor:
    """The inverse of ``select_channels``: C'-channel x → ``channels`` channels, x in rows ``idx``."""
    n, c, h, w = x.shape
    placer = torch.zeros(c, channels, dtype=x.dtype, device=x.device)
    placer[torch.arange(c, device=x.device), idx.to(x.device)] = 1.0
    rows = x.permute(0, 2, 3, 1).reshape(-1, c)
    return (rows @ placer).view(n, h, w, channels).permute(0, 3, 1, 2)
