"""Incremental rendering: recompute only what an edit changes, from the last full render's activations.

``full()`` renders the whole frame with live InstanceNorm statistics and keeps every layer's
activation (the cache) plus those statistics. ``update()`` then finds what changed in the maps
(it compares them with the cached ones, so a region hint that a latest-wins queue dropped loses
nothing), and walks the layers:

* a layer's *candidate* positions are the outputs whose receptive window reads a changed input
  position (``region.propagate``: reflection / zero padding, stride 2, transposed conv, pool), plus
  the changed positions of its skip input;
* the candidates are covered by the tiles of a fixed grid (``model.render.tiles``), recomputed as
  one batch from windows of the cache with the statistics frozen (folded into the conv weights);
* the new values are compared with the cached ones, and only positions that moved by more than
  ``epsilon`` are passed on as the next layer's changed positions.

``epsilon=0`` is the exact mode: equal (to float rounding) to a full pass with the same frozen
statistics. A small positive epsilon (the fast mode) lets a change die out where it fades, instead
of spreading over the whole receptive field of the 1/16-resolution bottleneck.

Every cache write of an update is journalled; a cancelled update rolls the journal back, so the
cache always describes one consistent document state and a cancelled update returns nothing.

The API (one worker thread owns the object; ``model.render.loop.RenderLoop`` drives it)::

    inc = IncrementalRenderer(Renderer.from_checkpoint(path))
    frame = inc.full(labels, instances, styles, seed)            # H×W×3 uint8; None if cancelled
    tile = inc.quick_preview(labels, instances, styles, hint)     # LocalEnhancer: finest level only, ms
    tile = inc.update(labels, instances, styles, hint, seed, cancelled)  # Tile(image, (x0, y0, x1, y1))
    inc.cache_bytes                                               # activation cache + maps, bytes
    inc.render(...) / inc.render_crop(...)                        # a RendererLike too

``hint`` (a ``model.box.Area``) says where the maps may differ from the cache: the comparison runs
only inside it (``Area.everything()``: compare the whole maps).

Precision: passes run in the renderer's precision (``Renderer.precision``, model.render.precision);
in bfloat16 the cache is stored in bfloat16 too, half the bytes of float32.

Memory: the cache is every layer's activation (``estimate_cache_bytes``). Above
``cache_limit_bytes`` (default: ``model.render.memory.cache_budget_bytes()``) a float32 cache is
stored in float16: updates then stay close but are no longer exact.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from model.box import Area, Box, union_box
from model.errors import ImageFileError
from model.labels import LabelSet
from model.noise import noise_field
from model.render.executor import (
    Executor,
    RenderCancelled,
    Store,
    pixel_rows,
    put_rows,
    take_rows,
    tensor_shapes,
)
from model.render.frozen_norm import FoldedWeights, NormStats
from model.render.full import Renderer, pad_amounts, padded_maps, to_uint8
from model.render.inputs import InputMaps, feature_map
from model.render.memory import cache_budget_bytes
from model.render.plan import Layer, Plan, build_plan
from model.render.region import Region, propagate, union
from model.render.tiles import Tiles, occupied_tiles
from model.scene_io import Style

log = logging.getLogger(__name__)

DEFAULT_EPSILON = 0.5
BIG_BOX_WORK = 1 << 18  # positions × input channels above which an update batch uses every thread
BIG_BOX_MACS = 1 << 28  # or multiply-adds: a small batch of a 1024-channel conv gains from every thread
TILE = 16  # tile side on tensors of at least TILE_FINE_FROM positions
TILE_COARSE = 8  # and on smaller ones
TILE_FINE_FROM = 1 << 16
TILE_BATCH_VALUES = 1 << 24  # gathered input values per batch of tiles (64 MB in float32)


class Tile(NamedTuple):
    """An updated part of the frame: H×W×3 uint8 pixels and where they go (x0, y0, x1, y1)."""

    image: np.ndarray
    box: Box


def layout_key(labels: np.ndarray, instances: np.ndarray, seed: int) -> bytes:
    """A digest of the maps and seed: what the reference statistics depend on."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(seed).encode())
    for array in (labels, instances):
        digest.update(str((array.shape, array.dtype)).encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.digest()


@functools.lru_cache(maxsize=256)
def _bf16_bits(value: float) -> int:
    """The bit pattern of ``value`` rounded to bf16, as a signed 16-bit integer."""
    return int(torch.tensor(value, dtype=torch.bfloat16).view(torch.int16).item())


def moved_positions(delta: torch.Tensor, threshold: float) -> np.ndarray:
    """Which of the P pixel rows of a P×C change moved by more than ``threshold`` in some channel.
    In bf16, |x| orders like the bit pattern without its sign bit, and the integer maximum over
    channels runs about twice as fast as the float one."""
    if delta.dtype == torch.bfloat16:
        limit = _bf16_bits(threshold)
        magnitude = delta.view(torch.int16).bitwise_and_(0x7FFF).amax(dim=1)
        return (magnitude > limit).cpu().numpy()
    return (delta.abs_().amax(dim=1) > threshold).cpu().numpy()


def _empty_tile() -> Tile:
    """The answer when nothing on screen changes."""
    return Tile(np.zeros((0, 0, 3), np.uint8), (0, 0, 0, 0))


@dataclass
class UpdateStats:
    ms: float = 0.0
    changed_pixels: int = 0  # input pixels whose label / instance / style changed
    recomputed: int = 0  # output positions recomputed over all layers
    total: int = 0  # output positions of all layers (a full pass)
    layers: int = 0  # layers that recomputed anything
    epsilon: float = 0.0
    full: bool = False
    per_layer: list[tuple[str, int, int, float]] = field(default_factory=list)  # name, recomputed, moved, ms

    @property
    def work_fraction(self) -> float:
        return self.recomputed / max(1, self.total)


@dataclass
class _Journal:
    # (tensor id, the pixel rows an update wrote, their values before it)
    entries: list[tuple[int, torch.Tensor, torch.Tensor]] = field(default_factory=list)
    maps: list[tuple[Box, np.ndarray, np.ndarray, np.ndarray | None]] = field(default_factory=list)
    styles: dict[int, Style] | None = None


class IncrementalRenderer:
    """Full renders that keep their activations, and incremental updates from them.

    Not thread-safe: one worker thread owns it (see ``model.render.loop.RenderLoop``).
    """

    def __init__(
        self,
        renderer: Renderer,
        epsilon: float = DEFAULT_EPSILON,
        cache_limit_bytes: int | None = None,
        update_threads: int | None = 1,
    ) -> None:
        """``update_threads``: CPU threads for incremental passes. Their ops are small, and on a
        shared or busy CPU intra-op thread hand-offs cost more than they save (docs/rendering.md);
        full renders keep every core. None: leave as is."""
        self.renderer = renderer
        self.update_threads = update_threads
        self._threads = torch.get_num_threads()  # the process's count, restored after updates
        self.device = renderer.device
        self.epsilon = epsilon
        self.cache_limit_bytes = cache_budget_bytes() if cache_limit_bytes is None else cache_limit_bytes
        self._warned: set[tuple[int, int, int]] = set()  # (height, width, limit) whose cache mode was logged
        self.plan: Plan = build_plan(renderer.generator)
        self.compute_dtype = renderer.precision.dtype
        self.executor = Executor(self.plan, self.device, dtype=self.compute_dtype)
        self._store: Store | None = None
        self._frozen: Mapping[int, FoldedWeights] = {}
        self._stats: dict[int, NormStats] = {}
        self._reference: tuple[bytes, dict[int, NormStats]] | None = None  # (layout_key, statistics)
        self._styles: dict[int, Style] = {}
        self._seed = 0
        self._size: tuple[int, int] = (0, 0)  # unpadded H, W
        self.cache_dtype = self.compute_dtype
        self.last_stats = UpdateStats()
        self.relative_epsilon = False  # True: epsilon is a fraction of each tensor's RMS
        self.keep_journal = False  # True: ``revert_last()`` can undo the last update (benchmarks)
        self._last_journal: _Journal | None = None
        self.tile, self.tile_coarse = TILE, TILE_COARSE

    # ----- a RendererLike too (model.render.loop) ---------------------------------------------------
    @property
    def base(self) -> Renderer:
        """The full renderer this one wraps (label set, styles, crops)."""
        return self.renderer

    @property
    def label_set(self) -> LabelSet:
        return self.renderer.label_set

    def num_styles(self, class_id: int) -> int:
        return self.renderer.num_styles(class_id)

    def style_shares(self, class_id: int) -> np.ndarray | None:
        return self.renderer.style_shares(class_id)

    def render(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """The whole frame, updated incrementally from the cache when there is one (else rendered)."""
        tile = self.update(labels, instances, styles, Area.everything(), seed)
        assert tile is not None  # not cancellable without ``cancelled``
        if tile.box == (0, 0, labels.shape[1], labels.shape[0]):
            return tile.image
        return self.image()

    def render_crop(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None,
        box: tuple[int, int, int, int],
        seed: int = 0,
    ) -> np.ndarray:
        """Style thumbnails: a standalone render of the crop, leaving the cache alone."""
        return self.renderer.render_crop(labels, instances, styles, box, seed)

    @torch.inference_mode()
    def revert_last(self) -> None:
        """Undo the last committed update (needs ``keep_journal``): the cache returns to the state
        before it, so several edits can be timed from one full render."""
        if self._last_journal is None:
            raise RuntimeError("no update to revert (set keep_journal before updating)")
        self._rollback(self._last_journal)
        if self._last_journal.styles is not None:
            self._styles = self._last_journal.styles
        self._last_journal = None

    def clear(self) -> None:
        """Drop the cache (frees its memory; the next update renders the full frame)."""
        self._store = None
        self._frozen, self._stats, self._reference = {}, {}, None
        self._last_journal = None

    # ----- introspection --------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._store is not None

    @property
    def cache_bytes(self) -> int:
        """Bytes held by the activation cache and the input maps (0 before the first full render)."""
        if self._store is None:
            return 0
        return self._store.nbytes() + self._store.inputs.nbytes

    def estimate_cache_bytes(self, height: int, width: int, dtype: torch.dtype | None = None) -> int:
        """The activation cache's size for an H×W frame in ``dtype`` (default: the compute precision's;
        input maps not included)."""
        ph, pw = pad_amounts(height, width, self.renderer.stride)
        shapes = tensor_shapes(self.plan, height + ph, width + pw)
        size = torch.tensor([], dtype=dtype or self.compute_dtype).element_size()
        return sum(
            spec.channels
            * shapes[spec.id][0]
            * shapes[spec.id][1]
            * (4 if spec.id == self.plan.output else size)
            for spec in self.plan.tensors
            if spec.id != 0
        )

    def output_tensor(self) -> torch.Tensor:
        """The cached 1×3×H×W float output (padded size)."""
        if self._store is None:
            raise RuntimeError("no full render yet")
        return self._store.tensors[self.plan.output]

    def image(self) -> np.ndarray:
        """The current frame as H×W×3 uint8."""
        height, width = self._size
        return to_uint8(self.output_tensor()[:, :, :height, :width])

    # ----- inputs ---------------------------------------------------------------------------------
    def _padded(self, labels: np.ndarray, instances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return padded_maps(labels, instances, self.renderer.stride)

    def _input_maps(
        self, labels: np.ndarray, instances: np.ndarray, styles: Mapping[int, Style], seed: int
    ) -> InputMaps:
        labels, instances = self._padded(labels, instances)
        labels, instances = np.array(labels), np.array(instances)  # owned copies: updates write into them
        features = (
            feature_map(self.renderer.styles, instances, styles, seed) if self.renderer.feat_num else None
        )
        noise = noise_field(*labels.shape, self.renderer.noise_nc) if self.renderer.noise_nc else None
        return InputMaps(
            labels, instances, features, self.renderer.label_set.num_classes, self.renderer.use_edges, noise
        )

    def _reference_stats(
        self, labels: np.ndarray, instances: np.ndarray, seed: int, cancelled: Callable[[], bool] | None
    ) -> dict[int, NormStats]:
        """Statistics of the reference render (no styles chosen; model.render.norm_stats), from the
        last full render of the same layout and seed when there was one."""
        key = layout_key(labels, instances, seed)
        if self._reference is not None and self._reference[0] == key:
            return self._reference[1]
        maps = self._input_maps(labels, instances, {}, seed)
        store = Store({}, maps, tensor_shapes(self.plan, *maps.shape))
        try:
            stats = self.executor.full_pass(store, cancelled, keep=False)
        finally:
            maps.invalidate()
        self._reference = (key, stats)
        return stats

    # ----- full render ----------------------------------------------------------------------------
    @torch.inference_mode()
    def full(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None = None,
        seed: int = 0,
        cancelled: Callable[[], bool] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> np.ndarray | None:
        """Render the whole frame with fresh statistics (the renderer's ``norm_stats``: live, or
        those of the reference render) and make it the new cache; None if cancelled (the previous
        cache is kept). ``progress`` gets the fraction of the pass's multiply-adds done."""
        start = time.perf_counter()
        if labels.shape != instances.shape or labels.ndim != 2:
            self.renderer.check_maps(labels, instances)  # raises ImageFileError
        self.check_size(*labels.shape)
        self.renderer.label_set.check_ids(labels)
        if cancelled is not None and cancelled():
            return None
        styles = dict(styles or {})
        maps = self._input_maps(labels, instances, styles, seed)
        if cancelled is not None and cancelled():
            return None
        shapes = tensor_shapes(self.plan, *maps.shape)
        store = Store({}, maps, shapes)
        dtype = self._choose_dtype(*labels.shape)
        keep = dtype is not None
        folded = None
        # Nothing reads the current cache's folded weights while the pass runs (this thread owns the
        # renderer), so they are let go: a model-sized copy less at the pass's peak, where the old
        # cache and the new one are both held. A pass that does not finish has them folded again,
        # each layer when an update first needs it, so that cancelling stays quick.
        self._frozen = {}
        finished = False
        try:
            if self.renderer.needs_reference(styles):
                stats = self._reference_stats(labels, instances, seed, cancelled)
                folded = self.executor.fold_all(stats)
                self.executor.full_pass(
                    store,
                    cancelled,
                    frozen=folded,
                    cache_dtype=dtype or self.compute_dtype,
                    keep=keep,
                    progress=progress,
                )
            else:  # live statistics (and, without chosen styles, the reference ones: remember them)
                stats = self.executor.full_pass(
                    store, cancelled, cache_dtype=dtype or self.compute_dtype, keep=keep, progress=progress
                )
                if self.renderer.norm_stats == "reference" and not styles:
                    self._reference = (layout_key(labels, instances, seed), stats)
            finished = True
        except RenderCancelled:
            log.debug("full render cancelled")
            return None
        finally:
            maps.invalidate()
            if not finished and self._store is not None:
                self._frozen = self.executor.fold_lazily(self._stats)
        self._size = labels.shape
        self._last_journal = None
        if not keep:  # no room for a cache: show the frame, keep nothing (updates render in full)
            self.clear()
            height, width = labels.shape
            self.last_stats = UpdateStats(ms=(time.perf_counter() - start) * 1e3, full=True)
            return to_uint8(store.tensors[self.plan.output][:, :, :height, :width])
        self._store, self._stats, self._styles, self._seed = store, stats, styles, seed
        self._frozen = folded if folded is not None else self.executor.fold_all(stats)
        assert dtype is not None  # ``keep``
        self.cache_dtype = dtype
        self.last_stats = UpdateStats(ms=(time.perf_counter() - start) * 1e3, full=True)
        return self.image()

    def check_size(self, height: int, width: int) -> None:
        """Every reflection pad needs more pixels than it pads: the coarsest map must be ≥ 4×4."""
        smallest = 4 * self.renderer.stride
        if min(height, width) < smallest // 2 or height * width < smallest * smallest // 4:
            raise ImageFileError(
                f"{width}x{height} is too small for this network: "
                f"use at least {smallest // 2}x{smallest // 2} (its stride is {self.renderer.stride})"
            )

    def _choose_dtype(self, height: int, width: int) -> torch.dtype | None:
        """The compute precision when the cache fits the limit; for a float32 cache that does not,
        float16 when only that fits; None: keep no cache."""
        if self.estimate_cache_bytes(height, width) <= self.cache_limit_bytes:
            return self.compute_dtype
        half = self.estimate_cache_bytes(height, width, torch.float16)
        key = (height, width, self.cache_limit_bytes)
        warn = log.info if key in self._warned else log.warning  # once per size; the editor's UI says it too
        self._warned.add(key)
        if half > self.cache_limit_bytes:
            warn(
                "activation cache for %dx%d (%.0f MB even at 16 bits) exceeds the %.0f MB limit: "
                "no incremental updates, every edit renders the full frame",
                width,
                height,
                half / 2**20,
                self.cache_limit_bytes / 2**20,
            )
            return None
        warn(
            "activation cache for %dx%d exceeds %.0f MB: storing it in float16 (%.0f MB), "
            "incremental updates become approximate",
            width,
            height,
            self.cache_limit_bytes / 2**20,
            half / 2**20,
        )
        return torch.float16

    @torch.inference_mode()
    def frozen_reference(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None = None,
        seed: int = 0,
    ) -> torch.Tensor:
        """A full pass with the cached (frozen) statistics, without touching the cache: what an exact
        incremental update must equal. Returns the padded 1×3×H×W float output."""
        if not self._frozen:
            raise RuntimeError("no full render yet")
        maps = self._input_maps(labels, instances, dict(styles or {}), seed)
        store = Store({}, maps, tensor_shapes(self.plan, *maps.shape))
        self.executor.full_pass(store, frozen=self._frozen)
        return store.tensors[self.plan.output]

    # ----- incremental update ---------------------------------------------------------------------
    def _hint_window(self, hint: Area, height: int, width: int) -> Box | None:
        """The padded-map window to compare for ``hint`` (None: nothing can differ). The maps are
        edge-padded, so a hint touching the last row or column also covers the padding."""
        padded_h, padded_w = self._store.shapes[0] if self._store is not None else (height, width)
        if hint.whole:
            return 0, 0, padded_w, padded_h
        if hint.box is None:
            return None
        x0, y0, x1, y1 = (
            max(0, hint.box[0]),
            max(0, hint.box[1]),
            min(width, hint.box[2]),
            min(height, hint.box[3]),
        )
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, y0, padded_w if x1 >= width else x1, padded_h if y1 >= height else y1

    def changed_region(
        self, labels: np.ndarray, instances: np.ndarray, styles: Mapping[int, Style], hint: Area | None = None
    ) -> Region | None:
        """Input pixels whose label, instance or style differ from the cache (padded coordinates),
        compared only inside ``hint`` (default: everywhere). A style change compares everywhere."""
        assert self._store is not None
        maps = self._store.inputs
        height, width = labels.shape
        labels, instances = self._padded(labels, instances)
        changed_ids = {k for k in set(styles) | set(self._styles) if styles.get(k) != self._styles.get(k)}
        restyled = bool(changed_ids and self.renderer.feat_num)
        window = self._hint_window(Area.everything() if hint is None or restyled else hint, height, width)
        if window is None:
            return None
        wx0, wy0, wx1, wy1 = window
        part = (slice(wy0, wy1), slice(wx0, wx1))
        diff = (labels[part] != maps.labels[part]) | (instances[part] != maps.instances[part])
        if restyled:
            ids = np.fromiter(changed_ids, dtype=np.int64)
            diff |= np.isin(maps.instances[part], ids) | np.isin(instances[part], ids)
        rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
        if len(rows) == 0:
            return None
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1  # in the window
        return Region(wy0 + y0, wx0 + x0, diff[y0:y1, x0:x1].copy())

    @property
    def has_quick_preview(self) -> bool:
        return bool(self.plan.finest)

    @torch.inference_mode()
    def quick_preview(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None = None,
        hint: Area | None = None,
        seed: int = 0,
    ) -> Tile | None:
        """The first pixels after an edit, in a few milliseconds: only the finest enhancer level is
        recomputed (its receptive field is a few dozen pixels), the coarser levels' contribution is
        taken from the cache as it was. The cache is left untouched (the pass is rolled back); the
        accurate ``update`` follows. None for a global-only generator, or without a cache."""
        if not self.plan.finest or self._store is None or labels.shape != self._size or seed != self._seed:
            return None
        styles = dict(styles or {})
        changed = self.changed_region(labels, instances, styles, hint)
        if changed is None:
            return _empty_tile()
        x0, y0, x1, y1 = changed.box
        self.renderer.label_set.check_ids(labels[y0:y1, x0:x1])
        journal = _Journal()
        try:
            with self._update_thread_count():
                self._write_maps(labels, instances, styles, changed, journal)
                out_box = self._propagate(
                    changed, self.epsilon, journal, UpdateStats(), None, only=self.plan.finest
                )
                return self._tile(out_box)
        finally:
            self._rollback(journal)

    @contextmanager
    def _update_thread_count(self) -> Iterator[None]:
        """Run a partial update on ``update_threads`` CPU threads, then restore the count."""
        threads = self._threads = torch.get_num_threads()
        try:
            if self.device.type == "cpu" and self.update_threads:
                torch.set_num_threads(self.update_threads)
            yield
        finally:
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)

    @contextmanager
    def _threads_for(self, layer: Layer, positions: int) -> Iterator[None]:
        """Inside an update (``update_threads``), give a large batch every thread the process has."""
        work = positions * self.plan.tensors[layer.src].channels
        macs = work * self.plan.tensors[layer.dst].channels * layer.kernel**2
        big = work >= BIG_BOX_WORK or macs >= BIG_BOX_MACS
        if self.device.type != "cpu" or not big or torch.get_num_threads() >= self._threads:
            yield
            return
        torch.set_num_threads(self._threads)
        try:
            yield
        finally:
            torch.set_num_threads(self.update_threads or self._threads)

    def tile_size(self, shape: tuple[int, int]) -> int:
        """The side of the tiles an update recomputes on a tensor of ``shape``: fine tiles fit a thin
        stroke closely; on the small coarse tensors a stroke's dirty area is a few positions wide."""
        return self.tile if shape[0] * shape[1] >= TILE_FINE_FROM else self.tile_coarse

    def _tiles_per_part(self, layer: Layer, tiles: Tiles) -> int:
        """How many tiles one batch holds: at most ``Executor.band_macs`` multiply-adds (the
        cancellation grain) and ``TILE_BATCH_VALUES`` gathered input values."""
        th, tw = tiles.size
        span = (th - 1) * layer.stride + layer.kernel, (tw - 1) * layer.stride + layer.kernel
        channels_in = self.plan.tensors[layer.src].channels
        window = span[0] * span[1] * channels_in
        macs = th * tw * channels_in * self.plan.tensors[layer.dst].channels * layer.kernel**2
        return max(1, min(self.executor.band_macs // max(1, macs), TILE_BATCH_VALUES // max(1, window)))

    def _tile(self, out_box: Box | None) -> Tile:
        if out_box is None:
            return _empty_tile()
        height, width = self._size
        x0, y0, x1, y1 = out_box
        y1, x1 = min(y1, height), min(x1, width)
        if y0 >= y1 or x0 >= x1:
            return _empty_tile()
        return Tile(to_uint8(self.output_tensor()[:, :, y0:y1, x0:x1]), (x0, y0, x1, y1))

    @torch.inference_mode()
    def update(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None = None,
        hint: Area | None = None,
        seed: int = 0,
        cancelled: Callable[[], bool] | None = None,
        epsilon: float | None = None,
        between_layers: Callable[[], None] | None = None,
    ) -> Tile | None:
        """Bring the cache to the new maps and return the part of the frame that changed.

        ``between_layers`` is called after every layer; it may call ``quick_preview`` for a newer
        edit (that pass rolls itself back, so this update resumes unharmed), which is how the render
        loop shows new strokes while an update runs.

        ``hint`` bounds where the maps are compared with the cache (None: everywhere); changes are
        found by that comparison, so a hint only has to cover them. Returns None when
        cancelled (the cache is rolled back) and an empty tile when nothing changed. A size or seed
        change, or no cache yet, falls back to a full render (the tile is then the whole frame).
        """
        start = time.perf_counter()
        eps = self.epsilon if epsilon is None else epsilon
        styles = dict(styles or {})
        if self._store is None or labels.shape != self._size or seed != self._seed:
            image = self.full(labels, instances, styles, seed, cancelled)
            if image is None:
                return None
            return Tile(image, (0, 0, labels.shape[1], labels.shape[0]))
        if labels.shape != instances.shape or labels.ndim != 2:
            self.renderer.check_maps(labels, instances)
        changed = self.changed_region(labels, instances, styles, hint)
        stats = UpdateStats(epsilon=eps)
        if changed is None:
            self.last_stats = stats
            return _empty_tile()
        x0, y0, x1, y1 = changed.box
        self.renderer.label_set.check_ids(labels[y0:y1, x0:x1])  # only the changed part can be new
        stats.changed_pixels = changed.count
        journal = _Journal()
        try:
            with self._update_thread_count():
                self._write_maps(labels, instances, styles, changed, journal)
                out_box = self._propagate(
                    changed, eps, journal, stats, cancelled, between_layers=between_layers
                )
        except RenderCancelled:
            self._rollback(journal)
            log.debug("update cancelled after %.1f ms", (time.perf_counter() - start) * 1e3)
            return None
        journal.styles = self._styles
        self._last_journal = journal if self.keep_journal else None
        self._styles = styles
        stats.ms = (time.perf_counter() - start) * 1e3
        self.last_stats = stats
        return self._tile(out_box)

    def _write_maps(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style],
        changed: Region,
        journal: _Journal,
    ) -> None:
        assert self._store is not None
        maps = self._store.inputs
        labels, instances = self._padded(labels, instances)
        x0, y0, x1, y1 = changed.box
        journal.maps.append(
            (
                changed.box,
                maps.labels[y0:y1, x0:x1].copy(),
                maps.instances[y0:y1, x0:x1].copy(),
                maps.features[y0:y1, x0:x1].copy() if maps.features is not None else None,
            )
        )
        features = (
            feature_map(self.renderer.styles, instances[y0:y1, x0:x1], styles, self._seed)
            if maps.features is not None
            else None
        )
        maps.write(changed.box, labels[y0:y1, x0:x1], instances[y0:y1, x0:x1], features)

    def _propagate(
        self,
        changed: Region,
        eps: float,
        journal: _Journal,
        stats: UpdateStats,
        cancelled: Callable[[], bool] | None,
        only: set[int] | None = None,
        between_layers: Callable[[], None] | None = None,
    ) -> Box | None:
        """Recompute what ``changed`` reaches; ``only``: recompute just these layers (others count as
        unchanged). Returns the output box that was rewritten."""
        assert self._store is not None
        store, plan = self._store, self.plan
        height, width = store.shapes[0]
        # the edge channel reads 4-neighbours: the input changes one pixel around the changed maps
        dirty: dict[int, Region | None] = {
            0: propagate(changed, "conv", 3, 1, 1, "zeros", (height, width), (height, width))
        }
        out_box: Box | None = None
        for layer in plan.layers:
            if cancelled is not None and cancelled():
                raise RenderCancelled
            if between_layers is not None:
                between_layers()
            shape_in, shape_out = store.shapes[layer.src], store.shapes[layer.dst]
            stats.total += shape_out[0] * shape_out[1]
            candidates = propagate(
                dirty.get(layer.src),
                layer.kind,
                layer.kernel,
                layer.stride,
                layer.pad,
                layer.pad_mode,
                shape_in,
                shape_out,
            )
            if layer.skip is not None:
                candidates = union(candidates, dirty.get(layer.skip))
            if candidates is None or (only is not None and layer.dst not in only):
                dirty[layer.dst] = None
                continue
            stats.layers += 1
            layer_start = time.perf_counter()
            done_before = stats.recomputed
            target = store.tensors[layer.dst]
            moved: Region | None = None
            # the input pyramid carries the edit itself: its changes always travel on
            threshold = (
                0.0
                if plan.tensors[layer.dst].is_input_like
                else (eps * store.rms.get(layer.dst, 1.0) if self.relative_epsilon else eps)
            )
            tiles = occupied_tiles(candidates, shape_out, self.tile_size(shape_out))
            rows = pixel_rows(target)
            for index, part in enumerate(tiles.split(self._tiles_per_part(layer, tiles))):
                if index and between_layers is not None:
                    between_layers()  # a newer edit's quick tile need not wait for the whole layer
                positions = part.flat_index.to(target.device)
                wanted = np.ones(part.positions, dtype=bool)
                if eps == 0.0:
                    # exact mode: only candidates can have changed. The rest of a tile keeps its cached
                    # value, which the frozen-statistics recomputation differs from by rounding, and at
                    # a zero threshold that rounding would spread the update over the whole frame. (The
                    # fast mode writes whole tiles: there they also carry changes below epsilon, and
                    # the frame is closer to the exact one; docs/rendering.md.)
                    wanted = part.covered(candidates)
                    positions = positions[torch.from_numpy(np.flatnonzero(wanted)).to(target.device)]
                with self._threads_for(layer, part.positions):
                    new = self.executor.frozen_tiles(layer, store, part, self._frozen[layer.dst])
                    if eps == 0.0:
                        new = new[torch.from_numpy(wanted).to(new.device)]
                    new = new.to(target.dtype)
                    old = take_rows(rows, positions)
                    journal.entries.append((layer.dst, positions, old))
                    put_rows(rows, positions, new)
                    stats.recomputed += part.positions
                    if layer.dst == plan.output:  # no layer reads the output: what moved there is moot
                        out_box = union_box(out_box, part.box)
                        continue
                    changed_rows = moved_positions(new.sub_(old), threshold)  # new is spent: in place
                if changed_rows.any():
                    wanted[wanted] = changed_rows
                    moved = union(moved, part.region(wanted.reshape(part.count, *part.size)))
            dirty[layer.dst] = moved
            stats.per_layer.append(
                (
                    layer.name,
                    stats.recomputed - done_before,
                    moved.count if moved else 0,
                    (time.perf_counter() - layer_start) * 1e3,
                )
            )
        return out_box

    def _rollback(self, journal: _Journal) -> None:
        assert self._store is not None
        for tensor, positions, old in reversed(journal.entries):
            put_rows(pixel_rows(self._store.tensors[tensor]), positions, old)
        maps = self._store.inputs
        for box, labels, instances, features in reversed(journal.maps):
            maps.write(box, labels, instances, features)
