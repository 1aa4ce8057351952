"""The render worker: a QThread with a latest-wins queue, so inference never runs on the GUI thread.

Requests carry a snapshot of the maps (copied on the GUI thread, a few ms at 2048×1024) and the
document version they show. A new request replaces any pending one; a running render is never
torn down, but a result that is already stale is still delivered (the canvas shows it while the
next one runs) and tagged with its version. Style thumbnails share the thread at lower priority:
a pending full render always goes first, and a new thumbnail batch cancels the old one.
The thread stops through ``requestInterruption()``.

Incremental renderers plug in without changes here: a renderer with an
``update(labels, instances, styles, region=, seed=, cancelled=) -> tile | None`` method (as
``model.render.incremental.IncrementalRenderer``) is called with the request's region and a
``cancelled`` callback that turns true when a newer request arrives or the thread is stopped; its
tile (``.image``, ``.box``) comes back as a RenderResult whose ``region`` is the tile's box. A
request without a region (a new scene, a style change) calls its ``full(...)`` pass instead, so
the frozen normalisation statistics are refreshed.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QThread, Signal

from model.labels import LabelSet
from model.scene_io import Style

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]


class RendererLike(Protocol):
    label_set: LabelSet

    def num_styles(self, class_id: int) -> int: ...

    def render(self, labels: np.ndarray, instances: np.ndarray, styles: dict[int, Style], seed: int = 0) -> np.ndarray: ...

    def render_crop(self, labels: np.ndarray, instances: np.ndarray, styles: dict[int, Style], box: Box,
                    seed: int = 0) -> np.ndarray: ...


def base_renderer(renderer: Any) -> Any:
    """The object with label_set / num_styles / render_crop: the renderer itself, or the full
    renderer an incremental one wraps (its ``.renderer``)."""
    if renderer is None or hasattr(renderer, "num_styles"):
        return renderer
    return getattr(renderer, "renderer", renderer)


@dataclass(frozen=True)
class RenderRequest:
    """Render the document at ``version``; ``region`` is the part that changed (None: all of it)."""

    region: Box | None
    version: int
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    instances: np.ndarray | None = field(default=None, repr=False, compare=False)
    styles: dict[int, Style] = field(default_factory=dict, repr=False, compare=False)
    seed: int = 0


@dataclass(frozen=True)
class RenderResult:
    version: int
    region: Box | None  # None: ``image`` is the whole frame; else the tile's place (x0, y0, x1, y1)
    image: np.ndarray  # H×W×3 uint8
    seconds: float


@dataclass(frozen=True)
class ThumbnailRequest:
    """Render one crop once per candidate style of ``instance`` (style thumbnails)."""

    token: Any
    instance: int
    labels: np.ndarray = field(repr=False)
    instances: np.ndarray = field(repr=False)
    styles: dict[int, Style] = field(repr=False)
    options: tuple[Style, ...] = ()


@dataclass(frozen=True)
class ThumbnailResult:
    token: Any
    index: int
    image: np.ndarray


class RenderWorker(QThread):
    rendered = Signal(object)  # RenderResult
    failed = Signal(int, str)  # version, one-line message
    busy = Signal(int)  # version now rendering
    thumbnail = Signal(object)  # ThumbnailResult

    def __init__(self, renderer: RendererLike | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._renderer = renderer
        self._pending: RenderRequest | None = None
        self._thumbs: ThumbnailRequest | None = None
        self._thumb_index = 0
        self.setObjectName("render-worker")

    # ----- GUI-thread API -----------------------------------------------------------------------
    @property
    def renderer(self) -> RendererLike | None:
        return self._renderer

    @property
    def model(self) -> RendererLike | None:
        """The renderer's label set / styles / crop side (see :func:`base_renderer`)."""
        return base_renderer(self._renderer)

    def set_renderer(self, renderer: RendererLike | None) -> None:
        with self._cond:
            self._renderer = renderer
            self._thumbs = None

    def submit(self, request: RenderRequest) -> None:
        with self._cond:
            self._pending = request  # latest wins
            self._cond.notify()

    def submit_thumbnails(self, request: ThumbnailRequest | None) -> None:
        with self._cond:
            self._thumbs = request
            self._thumb_index = 0
            self._cond.notify()

    @property
    def has_pending(self) -> bool:
        with self._cond:
            return self._pending is not None

    def stop(self, timeout_ms: int = 30000) -> None:
        self.requestInterruption()
        with self._cond:
            self._cond.notify_all()
        self.wait(timeout_ms)

    # ----- worker thread ------------------------------------------------------------------------
    def run(self) -> None:
        while not self.isInterruptionRequested():
            with self._cond:
                while self._pending is None and self._thumbs is None and not self.isInterruptionRequested():
                    self._cond.wait(0.2)
                if self.isInterruptionRequested():
                    return
                renderer = self._renderer
                request, self._pending = self._pending, None
                thumbs, index = (self._thumbs, self._thumb_index) if request is None else (None, 0)
                if thumbs is not None:
                    self._thumb_index += 1
                    if self._thumb_index >= len(thumbs.options):
                        self._thumbs = None
            if request is not None:
                self._render(renderer, request)
            elif thumbs is not None and index < len(thumbs.options):
                self._thumbnail(renderer, thumbs, index)

    def _render(self, renderer: RendererLike | None, request: RenderRequest) -> None:
        if renderer is None or request.labels is None or request.instances is None:
            return
        self.busy.emit(request.version)
        start = time.perf_counter()
        update = getattr(renderer, "update", None)
        try:
            full = getattr(renderer, "full", None)
            if callable(update) and request.region is None and callable(full):
                # everything may have changed (open, new scene, styles): a full pass, fresh statistics
                image = full(request.labels, request.instances, request.styles, request.seed, cancelled=self._superseded)
                if image is None:
                    return
                region = None
            elif callable(update):
                tile = update(request.labels, request.instances, request.styles, region=request.region,
                              seed=request.seed, cancelled=self._superseded)
                if tile is None:  # cancelled: a newer request is pending
                    return
                region: Box | None = tuple(int(v) for v in tile.box)  # type: ignore[assignment]
                image = tile.image
            else:
                region, image = None, renderer.render(request.labels, request.instances, request.styles, request.seed)
        except Exception as exc:
            log.exception("render failed")
            self.failed.emit(request.version, f"render failed: {exc}")
            return
        self.rendered.emit(RenderResult(request.version, region, np.ascontiguousarray(image),
                                        time.perf_counter() - start))

    def _superseded(self) -> bool:
        """True when the running render is no longer wanted (newer request, or stopping)."""
        return self.isInterruptionRequested() or self.has_pending

    def _thumbnail(self, renderer: RendererLike | None, request: ThumbnailRequest, index: int) -> None:
        renderer = base_renderer(renderer)
        if renderer is None:
            return
        styles = dict(request.styles)
        styles[request.instance] = request.options[index]
        height, width = request.labels.shape
        try:
            image = renderer.render_crop(request.labels, request.instances, styles, (0, 0, width, height))
        except Exception as exc:  # noqa: BLE001 - a thumbnail must not stop the worker
            log.warning("thumbnail failed: %s", exc)
            return
        self.thumbnail.emit(ThumbnailResult(request.token, index, np.ascontiguousarray(image)))
