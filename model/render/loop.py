"""THE render loop (no Qt): what the editor's render thread runs and what ``bench`` measures.

The GUI thread calls :meth:`RenderLoop.submit` once per document change with a snapshot of the maps
(a :class:`RenderRequest`). One worker thread calls :meth:`RenderLoop.step` (or :meth:`run`), and
every result leaves through ``emit`` as a :class:`RenderResult`: display-ready pixels and the
:class:`~model.box.Area` of the frame they cover (``whole`` for a frame).

* **Latest wins.** At most one request waits; a newer one replaces it and its changed area grows
  to cover the dropped one.
* **Quick → incremental → exact.** With an incremental renderer a stroke first gets a *quick* tile
  (a LocalEnhancer's finest level only, provisional: the cache never learns of it), then the
  incremental *update* tile (frozen InstanceNorm statistics), and once no request has arrived for
  ``policy.idle_refresh_s`` the *exact* frame (a full pass with live statistics). A request that
  changes everything (open, styles, render size, no cache yet) goes straight to a full pass.
* **Cancellation.** Any newer request cancels a running exact refresh between two bands of a layer
  (``Executor.band_macs`` bounds that time); a whole-frame pass is cancelled only by another
  whole-frame request, since queued strokes need its cache. A started update runs to its end (on a
  busy CPU cancelled updates pile up into ever larger ones); newer edits get their quick tiles
  between its layers. ``cancel_exact()`` (the editor's Esc) drops the exact frame until the next edit.
* **No stale tile.** A quick tile whose update never runs (its request was superseded, say by an
  undo that changes nothing there) would stay on screen. Every committed update therefore also
  repaints the provisional boxes of its version and older ones from the cache.
* **Changed area as a hint.** The loop remembers what changed since the cache last committed
  (requests it skipped, updates that were cancelled) and passes that area to the renderer, which then
  compares the maps only inside it instead of over the whole frame.
* **Render size.** ``set_render_scale(2)`` or ``(4)`` renders label maps downscaled by nearest
  neighbour and upscales the pixels back to document size (a fully convolutional G keeps the
  layout at 4× or 16× less cost). ``request_full_size()`` makes the next exact frame full size.

A plain renderer (``render()`` only) gets the whole frame rendered, compared with the frame on
screen, and only the changed box sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, runtime_checkable

import cv2
import numpy as np
import torch

from model.allocator import release_free_memory
from model.box import Area, Box, box_area, clip_box, mask_box, union_box
from model.labels import LabelSet
from model.scene_io import Style

log = logging.getLogger(__name__)

Kind = Literal["quick", "update", "exact"]
PixelFormat = Literal["rgb", "bgra"]
RENDER_SCALES = (1, 2, 4)


# ----- what the loop renders with ---------------------------------------------------------------
class RendererLike(Protocol):
    """A renderer of whole frames and crops (``model.render.full.Renderer``, or an incremental one)."""

    @property
    def label_set(self) -> LabelSet: ...

    def num_styles(self, class_id: int) -> int: ...

    def style_shares(self, class_id: int) -> np.ndarray | None: ...

    def render(
        self, labels: np.ndarray, instances: np.ndarray, styles: Mapping[int, Style], seed: int = 0
    ) -> np.ndarray: ...

    def render_crop(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None,
        box: Box,
        seed: int = 0,
    ) -> np.ndarray: ...


class TileLike(Protocol):
    image: np.ndarray
    box: Box


@runtime_checkable
class IncrementalLike(Protocol):
    """What ``model.render.incremental.IncrementalRenderer`` offers the loop."""

    @property
    def ready(self) -> bool: ...

    @property
    def has_quick_preview(self) -> bool: ...

    def full(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None = None,
        seed: int = 0,
        cancelled: Callable[[], bool] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> np.ndarray | None: ...

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
    ) -> TileLike | None: ...

    def quick_preview(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: Mapping[int, Style] | None = None,
        hint: Area | None = None,
        seed: int = 0,
    ) -> TileLike | None: ...

    def output_tensor(self) -> torch.Tensor: ...

    def clear(self) -> None: ...

    @property
    def base(self) -> RendererLike: ...


def base_renderer(renderer: RendererLike | IncrementalLike | None) -> RendererLike | None:
    """The renderer with label set, styles and crops: ``renderer`` itself or the one it wraps."""
    if isinstance(renderer, IncrementalLike):
        return renderer.base
    return renderer


# ----- requests and results ---------------------------------------------------------------------
@dataclass(frozen=True)
class RenderRequest:
    """Render the document at ``version``; ``area`` is what changed since the previous request."""

    version: int
    area: Area
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    instances: np.ndarray | None = field(default=None, repr=False, compare=False)
    styles: dict[int, Style] = field(default_factory=dict, repr=False, compare=False)
    seed: int = 0
    submitted: float = field(default_factory=time.perf_counter, compare=False)  # of the oldest merged one


@dataclass(frozen=True)
class RenderResult:
    """Pixels for the canvas (h×w×3 RGB or h×w×4 BGRA, see ``LoopPolicy.pixels``; the receiver owns
    them) and where they go in document pixels: ``area.whole`` for a whole frame, else a tile box;
    an empty area when nothing on screen changed."""

    version: int
    kind: Kind  # "quick" (provisional), "update" (incremental, frozen statistics), "exact"
    pixels: np.ndarray = field(repr=False)
    area: Area
    seconds: float  # time spent rendering it
    submitted: float  # perf_counter() when the oldest request it answers was submitted
    scale: int = 1  # rendered at 1/scale of the document size, then upscaled

    @property
    def exact(self) -> bool:
        return self.kind == "exact"

    @property
    def committed(self) -> bool:
        """Not a provisional quick tile."""
        return self.kind != "quick"

    @property
    def full_size_exact(self) -> bool:
        """Exact pixels at document size (a frame, or a plain renderer's changed box): after it the
        canvas holds what an export may write."""
        return self.kind == "exact" and self.scale == 1


@dataclass(frozen=True)
class Progress:
    """An exact frame's progress, from the layer plan's cost: ``fraction`` in [0, 1], the estimated
    seconds left (None before there is anything to extrapolate from), ``done`` at the end."""

    version: int
    fraction: float
    eta_s: float | None
    done: bool = False


@dataclass(frozen=True)
class LoopPolicy:
    """How the loop paces its work (the editor's is :data:`EDITOR_POLICY`; ``bench`` uses it too)."""

    idle_refresh_s: float = 0.4  # quiet time after the last request before the exact frame
    pixels: PixelFormat = "bgra"  # the canvas paints QImage.Format_RGB32 (BGRA bytes)
    progress_interval_s: float = 0.1  # at most one progress report per interval


EDITOR_POLICY = LoopPolicy()


def to_bgra(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 uint8 RGB → a new C-contiguous H×W×4 BGRA buffer (cv2, off the GUI thread)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.size == 0:
        return np.zeros(rgb.shape[:2] + (4,), np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)


def downscale_maps(labels: np.ndarray, instances: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour label and instance maps at 1/scale (each block's top-left pixel)."""
    if scale == 1:
        return labels, instances
    return np.ascontiguousarray(labels[::scale, ::scale]), np.ascontiguousarray(instances[::scale, ::scale])


def upscale_tile(pixels: np.ndarray, box: Box, scale: int, width: int, height: int) -> tuple[np.ndarray, Box]:
    """A tile rendered at 1/scale → document pixels (each pixel repeated scale×scale) and its box."""
    if scale == 1:
        return pixels, box
    x0, y0, x1, y1 = box
    doc = (x0 * scale, y0 * scale, min(width, x1 * scale), min(height, y1 * scale))
    big = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    return np.ascontiguousarray(big[: doc[3] - doc[1], : doc[2] - doc[0]]), doc


_UNSET = object()


class RenderLoop:
    """The latest-wins render loop for one renderer at a time (see the module docstring).

    GUI side (any thread): ``submit``, ``set_renderer``, ``set_render_scale``, ``request_full_size``,
    ``cancel_exact``, ``close``. Worker side (one thread): ``step`` / ``run``.
    """

    def __init__(
        self,
        renderer: RendererLike | None,
        emit: Callable[[RenderResult], None],
        policy: LoopPolicy = EDITOR_POLICY,
        on_error: Callable[[int, str], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_busy: Callable[[int], None] | None = None,
    ) -> None:
        self.emit = emit
        self.on_busy = on_busy
        self.policy = policy
        self.on_error = on_error
        self.on_progress = on_progress
        self._cond = threading.Condition()
        self._pending: RenderRequest | None = None
        self._closed = False
        self._next_renderer: object = _UNSET
        self._next_scale = 1
        self._cancel_exact = False
        self._full_size_once = False
        self._last_activity = time.monotonic()
        # worker-side state
        self._renderer: RendererLike | None = renderer
        self._scale = 1
        self._owed = Area.everything()  # changes the renderer's cache has not committed yet
        self._shown: np.ndarray | None = None  # plain renderer: the frame on screen
        self._provisional: list[tuple[int, Box]] = []  # (version, render-size box) of quick tiles
        self._quick_shown: int | None = None
        self._exact_due: RenderRequest | None = None  # the last committed request, until its exact frame

    # ----- GUI side -------------------------------------------------------------------------------
    @property
    def renderer(self) -> RendererLike | None:
        """The renderer in use, or the one that will be from the next step."""
        with self._cond:
            pending = self._next_renderer
        return self._renderer if pending is _UNSET else pending  # type: ignore[return-value]

    @property
    def render_scale(self) -> int:
        return self._next_scale

    def submit(self, request: RenderRequest) -> None:
        with self._cond:
            if self._pending is not None:  # latest wins; it must also redo what the dropped one changed
                request = replace(
                    request, area=self._pending.area.merge(request.area), submitted=self._pending.submitted
                )
            self._pending = request
            self._cancel_exact = False
            self._cond.notify_all()

    def set_renderer(self, renderer: RendererLike | None) -> None:
        with self._cond:
            self._next_renderer = renderer
            self._cond.notify_all()

    def set_render_scale(self, scale: int) -> None:
        """Render at 1/scale of the document size from the next request on (1, 2 or 4)."""
        if scale not in RENDER_SCALES:
            raise ValueError(f"render scale must be one of {RENDER_SCALES}, not {scale}")
        with self._cond:
            self._next_scale = scale
            self._cond.notify_all()

    def request_full_size(self) -> None:
        """Make the next exact frame full size whatever the render scale (export, "render full size")."""
        with self._cond:
            self._full_size_once = True
            self._cancel_exact = False
            self._cond.notify_all()

    def cancel_exact(self) -> None:
        """Stop the exact frame that runs, and start none until the next request (Esc)."""
        with self._cond:
            self._cancel_exact = True
            self._cond.notify_all()

    def has_pending(self) -> bool:
        with self._cond:
            return self._pending is not None

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    # ----- worker side ----------------------------------------------------------------------------
    def run(self, stopping: Callable[[], bool] = lambda: False) -> None:
        """Serve requests until ``close()`` or ``stopping()``."""
        while not self._closed and not stopping():
            self.step(0.2)

    @property
    def exact_due(self) -> bool:
        return self._exact_due is not None and not self._cancel_exact

    def step(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a request and render it, or render the exact frame once the
        loop has been idle long enough. Returns whether anything was rendered."""
        with self._cond:
            self._apply_settings()
            if self._pending is None and not self._closed:
                wait = timeout
                if self.exact_due:
                    wait = min(
                        wait, max(0.0, self.policy.idle_refresh_s - (time.monotonic() - self._last_activity))
                    )
                if wait > 0:
                    self._cond.wait(wait)
                self._apply_settings()
            if self._closed:
                return False
            request, self._pending = self._pending, None
        if request is not None:
            self._guarded(request.version, lambda: self._render(request))
            self._last_activity = time.monotonic()
            return True
        if self.exact_due and time.monotonic() - self._last_activity >= self.policy.idle_refresh_s:
            due = self._exact_due
            assert due is not None
            self._guarded(due.version, lambda: self._refresh(due))
            release_free_memory()  # idle now: the frame's freed activations go back to the OS
            return True
        return False

    def _apply_settings(self) -> None:
        """Switch renderer or render size (worker thread, under the lock)."""
        if self._next_renderer is not _UNSET:
            old, self._renderer = self._renderer, self._next_renderer  # type: ignore[assignment]
            self._next_renderer = _UNSET
            if isinstance(old, IncrementalLike) and old is not self._renderer:
                old.clear()  # free the activation cache here, on the thread that used it
            self._reset()
        if self._next_scale != self._scale:
            self._scale = self._next_scale
            if isinstance(self._renderer, IncrementalLike):
                self._renderer.clear()  # the cache is for the old size
            self._reset()

    def _reset(self) -> None:
        self._owed = Area.everything()
        self._shown = None
        self._provisional.clear()
        self._quick_shown = None
        self._exact_due = None

    def _guarded(self, version: int, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception as exc:  # a render must never take the editor down
            log.exception("render failed")
            self._exact_due = None  # do not retry a failing exact frame forever
            if self.on_error is not None:
                self.on_error(version, f"render failed: {exc}")

    def _superseded(self) -> bool:
        with self._cond:
            return self._closed or self._pending is not None

    def _exact_cancelled(self) -> bool:
        with self._cond:
            return self._closed or self._pending is not None or self._cancel_exact

    def _stopping(self) -> bool:
        return self._closed

    def _whole_frame_pending(self) -> bool:
        with self._cond:
            return self._closed or (self._pending is not None and self._pending.area.whole)

    def _peek(self) -> RenderRequest | None:
        with self._cond:
            return self._pending

    # ----- rendering ------------------------------------------------------------------------------
    def _render(self, request: RenderRequest) -> None:
        renderer = self._renderer
        if renderer is None or request.labels is None or request.instances is None:
            return
        if self.on_busy is not None:
            self.on_busy(request.version)
        self._exact_due = None  # set again when this request commits
        self._owed = self._owed.merge(request.area)
        if not isinstance(renderer, IncrementalLike):
            self._plain(renderer, request)
        elif self._owed.whole or not renderer.ready:
            # strokes queued meanwhile do not cancel it (their updates need its cache); only another
            # whole-frame change does
            self._full_pass(renderer, request, self._whole_frame_pending)
        else:
            self._incremental(renderer, request)

    def _maps(self, request: RenderRequest, scale: int) -> tuple[np.ndarray, np.ndarray]:
        assert request.labels is not None and request.instances is not None
        return downscale_maps(request.labels, request.instances, scale)

    def _refresh(self, request: RenderRequest) -> None:
        """The exact frame of the last committed request (a newer request or Esc cancels it)."""
        renderer = self._renderer
        with self._cond:
            full_size, self._full_size_once = self._full_size_once and self._scale != 1, False
        if full_size:
            self._full_size_frame(renderer, request)
        elif isinstance(renderer, IncrementalLike):
            self._full_pass(renderer, request, self._exact_cancelled)
        else:
            self._exact_due = None

    def _full_size_frame(self, renderer: RendererLike | None, request: RenderRequest) -> None:
        """A document-size exact frame while editing at a smaller render size (the cache is left alone)."""
        base = base_renderer(renderer)
        if base is None or request.labels is None or request.instances is None:
            return
        start = time.perf_counter()
        image = base.render(request.labels, request.instances, request.styles, request.seed)
        height, width = request.labels.shape
        self._send(request, "exact", image, Area.everything((width, height)), start, scale=1)

    def _full_pass(
        self, renderer: IncrementalLike, request: RenderRequest, cancelled: Callable[[], bool]
    ) -> None:
        start = time.perf_counter()
        labels, instances = self._maps(request, self._scale)
        progress = self._progress_reporter(request.version, start)
        image = renderer.full(
            labels, instances, request.styles, request.seed, cancelled=cancelled, progress=progress
        )
        if image is None:  # cancelled: the newer request gets its own full pass or refresh
            return
        if self.on_progress is not None:
            self.on_progress(Progress(request.version, 1.0, 0.0, done=True))
        self._provisional.clear()
        self._quick_shown = None
        self._exact_due = request if self._full_size_once and self._scale != 1 else None
        self._owed = Area.nothing()
        height, width = request.labels.shape  # type: ignore[union-attr]
        self._send(request, "exact", image, Area.everything((width, height)), start)

    def _progress_reporter(self, version: int, start: float) -> Callable[[float], None] | None:
        if self.on_progress is None:
            return None
        on_progress = self.on_progress
        last = [0.0]

        def report(fraction: float) -> None:
            now = time.perf_counter()
            if now - last[0] < self.policy.progress_interval_s or fraction >= 1.0:
                return
            last[0] = now
            elapsed = now - start
            eta = elapsed * (1.0 - fraction) / fraction if fraction > 0 else None
            on_progress(Progress(version, fraction, eta))

        return report

    def _quick(self, renderer: IncrementalLike, request: RenderRequest, hint: Area) -> None:
        start = time.perf_counter()
        labels, instances = self._maps(request, self._scale)
        try:
            tile = renderer.quick_preview(
                labels, instances, request.styles, hint.scaled_down(self._scale), request.seed
            )
        except Exception:  # the update reports errors
            log.exception("quick preview failed")
            return
        self._quick_shown = request.version
        box = self._tile_box(tile, labels.shape)
        if tile is None or box is None:
            return
        self._provisional.append((request.version, box))
        self._send_tile(request, "quick", tile.image[: box[3] - box[1], : box[2] - box[0]], box, start)

    def _between_layers(self) -> None:
        """While an update runs: give a newly queued edit its quick tile at once."""
        pending = self._peek()
        renderer = self._renderer
        if (
            pending is not None
            and not pending.area.whole
            and pending.version != self._quick_shown
            and isinstance(renderer, IncrementalLike)
        ):
            self._quick(renderer, pending, pending.area)

    def _incremental(self, renderer: IncrementalLike, request: RenderRequest) -> None:
        quick = renderer.has_quick_preview
        if quick:
            if request.version != self._quick_shown:
                self._quick(renderer, request, self._owed)
            if self._superseded():
                return  # the newer request carries these changes too (they stay owed)
        start = time.perf_counter()
        labels, instances = self._maps(request, self._scale)
        tile = renderer.update(
            labels,
            instances,
            request.styles,
            hint=self._owed.scaled_down(self._scale),
            seed=request.seed,
            cancelled=self._stopping if quick else self._superseded,
            between_layers=self._between_layers if quick else None,
        )
        if tile is None:  # cancelled and rolled back: the changes stay owed
            return
        self._owed = Area.nothing()
        box = self._tile_box(tile, labels.shape)
        image = None if box is None else tile.image[: box[3] - box[1], : box[2] - box[0]]
        stale = [b for v, b in self._provisional if v <= request.version]
        if stale:
            self._provisional = [(v, b) for v, b in self._provisional if v > request.version]
            repaint = box
            for b in stale:
                repaint = union_box(repaint, b)
            assert repaint is not None
            box, image = repaint, self._cached(renderer, repaint)
            if self._provisional:
                self._quick_shown = None  # the repaint may cover a newer quick tile: redo it
        self._exact_due = request
        if box is None or image is None:
            self._send(request, "update", np.zeros((0, 0, 3), np.uint8), Area.nothing(), start)
        else:
            self._send_tile(request, "update", image, box, start)

    @staticmethod
    def _tile_box(tile: TileLike | None, shape: tuple[int, ...]) -> Box | None:
        if tile is None or not tile.image.size:
            return None
        height, width = shape[:2]
        return clip_box(tile.box, width, height)

    @staticmethod
    def _cached(renderer: IncrementalLike, box: Box) -> np.ndarray:
        """The renderer's cached frame inside ``box`` as H×W×3 uint8."""
        from model.render.full import to_uint8

        x0, y0, x1, y1 = box
        return to_uint8(renderer.output_tensor()[:, :, y0:y1, x0:x1])

    def _plain(self, renderer: RendererLike, request: RenderRequest) -> None:
        start = time.perf_counter()
        with self._cond:
            scale, self._full_size_once = (1 if self._full_size_once else self._scale), False
        labels, instances = self._maps(request, scale)
        frame = renderer.render(labels, instances, request.styles, request.seed)
        if scale != self._scale:  # a one-off full-size frame: show it whole, then carry on small
            self._shown = None
            height, width = request.labels.shape  # type: ignore[union-attr]
            self._send(request, "exact", frame, Area.everything((width, height)), start, scale=1)
            return
        height, width = frame.shape[:2]
        previous, self._shown = self._shown, frame
        self._exact_due = None
        if not request.area.whole and previous is not None and previous.shape == frame.shape:
            box = mask_box((previous != frame).any(axis=2))
            if box is None:
                self._send(request, "exact", np.zeros((0, 0, 3), np.uint8), Area.nothing(), start)
                return
            if box_area(box) < 0.5 * width * height:
                x0, y0, x1, y1 = box
                self._send_tile(request, "exact", frame[y0:y1, x0:x1], box, start)
                return
        doc_height, doc_width = request.labels.shape  # type: ignore[union-attr]
        self._send(request, "exact", frame, Area.everything((doc_width, doc_height)), start)

    # ----- sending --------------------------------------------------------------------------------
    def _send_tile(
        self, request: RenderRequest, kind: Kind, image: np.ndarray, box: Box, start: float
    ) -> None:
        self._send(request, kind, image, Area.of(box), start)

    def _send(
        self,
        request: RenderRequest,
        kind: Kind,
        image: np.ndarray,
        area: Area,
        start: float,
        scale: int | None = None,
    ) -> None:
        """Upscale to document size when rendering smaller, convert to the display format, emit."""
        scale = self._scale if scale is None else scale
        height, width = request.labels.shape  # type: ignore[union-attr]
        if area.whole:
            image, _ = upscale_tile(image, (0, 0, image.shape[1], image.shape[0]), scale, width, height)
        elif area.box is not None:
            image, box = upscale_tile(image, area.box, scale, width, height)
            area = Area.of(box)
        pixels = to_bgra(image) if self.policy.pixels == "bgra" else np.array(image, dtype=np.uint8)
        self.emit(
            RenderResult(
                request.version, kind, pixels, area, time.perf_counter() - start, request.submitted, scale
            )
        )
