"""The render worker: a QThread with a latest-wins queue, so inference never runs on the GUI thread.

Requests carry snapshots of the maps (``editor.core.snapshots``: only the boxes changed since a buffer
was last lent are copied on the GUI thread) and the document version they show. A new request
replaces any pending one, and its changed region grows to cover the dropped one (None, "all of it",
wins). What is rendered, and how, is ``editor.render_session.RenderSession``: results leave this
thread as display-ready BGRA buffers with the box they cover, so the GUI thread pastes a rectangle
and converts nothing. With an incremental renderer a stroke gets a quick tile, then the incremental
tile, and once no request has arrived for ``idle_refresh_s`` the exact frame (a full pass that also
refreshes the frozen InstanceNorm statistics); a newer request cancels a running full pass.
Style thumbnails share the thread at lower priority: a pending render always goes first, and a new
thumbnail batch cancels the old one. The thread stops through ``requestInterruption()``.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QThread, Signal

from editor.render_session import Output, RenderSession
from model.labels import LabelSet
from model.scene_io import Style

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]


class RendererLike(Protocol):
    label_set: LabelSet

    def num_styles(self, class_id: int) -> int: ...

    def style_shares(self, class_id: int) -> np.ndarray | None: ...

    def render(self, labels: np.ndarray, instances: np.ndarray, styles: dict[int, Style], seed: int = 0) -> np.ndarray: ...

    def render_crop(self, labels: np.ndarray, instances: np.ndarray, styles: dict[int, Style], box: Box,
                    seed: int = 0) -> np.ndarray: ...


RENDER_NICENESS = 5  # how much nicer than the GUI thread the render thread runs (Linux)


def lower_thread_priority(step: int = RENDER_NICENESS) -> None:
    """Make the calling thread nicer, so on a busy CPU the GUI thread is scheduled first (Linux
    keeps a nice value per thread; threads it starts afterwards, such as torch's, inherit it).
    Elsewhere this does nothing: QThread priorities have no effect under the default policy."""
    if not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + step)
    except OSError as exc:  # not permitted, or not a per-thread priority system
        log.debug("render thread priority unchanged: %s", exc)


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


def merge_regions(a: Box | None, b: Box | None) -> Box | None:
    """The changed region of two requests merged into one (None means everything)."""
    if a is None or b is None:
        return None
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


@dataclass(frozen=True)
class RenderResult:
    version: int
    region: Box | None  # None: ``bgra`` is the whole frame; else the tile's place (x0, y0, x1, y1)
    bgra: np.ndarray  # H×W×4 uint8 in QImage.Format_RGB32 byte order; the receiver owns it
    seconds: float
    kind: str = "full"  # "quick" (provisional), "update" (incremental), "full" / "exact" (exact frame)

    @property
    def exact(self) -> bool:
        return self.kind in ("full", "exact")

    @property
    def committed(self) -> bool:
        """Not a provisional quick tile."""
        return self.kind != "quick"


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

    def __init__(self, renderer: RendererLike | None = None, parent: Any = None, idle_refresh_s: float = 0.4) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._renderer = renderer
        self.idle_refresh_s = idle_refresh_s
        self._session: RenderSession | None = None
        self._last_activity = time.monotonic()
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
            if self._pending is not None:  # latest wins; it must also redo what the dropped one changed
                request = replace(request, region=merge_regions(self._pending.region, request.region))
            self._pending = request
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
        lower_thread_priority()
        while not self.isInterruptionRequested():
            refresh = False
            with self._cond:
                while self._pending is None and self._thumbs is None and not self.isInterruptionRequested():
                    session = self._session
                    if session is not None and session.refresh_due and session.renderer is self._renderer:
                        idle = time.monotonic() - self._last_activity
                        if idle >= self.idle_refresh_s:
                            refresh = True
                            break
                        self._cond.wait(self.idle_refresh_s - idle)
                    else:
                        self._cond.wait(0.2)
                if self.isInterruptionRequested():
                    return
                renderer = self._renderer
                request, self._pending = self._pending, None
                thumbs, index = (self._thumbs, self._thumb_index) if request is None and not refresh else (None, 0)
                if thumbs is not None:
                    self._thumb_index += 1
                    if self._thumb_index >= len(thumbs.options):
                        self._thumbs = None
            if request is not None:
                self._render(renderer, request)
                self._last_activity = time.monotonic()
            elif refresh and self._session is not None:
                self._run_session(self._session.refresh, self._session.due_version)
            elif thumbs is not None and index < len(thumbs.options):
                self._thumbnail(renderer, thumbs, index)
                self._last_activity = time.monotonic()

    def _render(self, renderer: RendererLike | None, request: RenderRequest) -> None:
        if renderer is None or request.labels is None or request.instances is None:
            return
        if self._session is None or self._session.renderer is not renderer:
            old = None if self._session is None else self._session.renderer
            if old is not None and callable(getattr(old, "clear", None)):
                old.clear()  # an incremental renderer switched away: free its activation cache here, where it ran
            self._session = RenderSession(renderer, self._emit, self._superseded, self.isInterruptionRequested,
                                          self._peek)
        self.busy.emit(request.version)
        self._run_session(lambda: self._session.render(request), request.version)  # type: ignore[union-attr]

    def _run_session(self, call: Any, version: int) -> None:
        try:
            call()
        except Exception as exc:
            log.exception("render failed")
            if self._session is not None:
                self._session.drop_refresh()
            self.failed.emit(version, f"render failed: {exc}")

    def _emit(self, output: Output) -> None:
        self.rendered.emit(RenderResult(output.version, output.box, output.bgra, output.seconds, output.kind))

    def _peek(self) -> RenderRequest | None:
        with self._cond:
            return self._pending

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
