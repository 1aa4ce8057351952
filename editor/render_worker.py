"""The render thread: a thin QThread shell around ``model.render.loop.RenderLoop``.

Requests go in (``submit``), results and progress come out as signals; everything about what is
rendered and when (latest wins, quick → incremental → exact, cancellation, the no-stale-tile rule,
render size) is the Qt-free loop, which ``bench`` measures. Results arrive as display-ready BGRA
buffers with the area they cover, so the GUI thread pastes a rectangle and converts nothing.

Style swatches run on their own thread (``editor/panels/swatch_worker.py``). This thread stops
through ``requestInterruption()``.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from PySide6.QtCore import QThread, Signal

from model.render.loop import (
    EDITOR_POLICY,
    LoopPolicy,
    Progress,
    RendererLike,
    RenderLoop,
    RenderRequest,
    RenderResult,
    base_renderer,
)

log = logging.getLogger(__name__)

__all__ = ["RenderRequest", "RenderResult", "RenderWorker", "RendererLike", "base_renderer"]

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


class RenderWorker(QThread):
    rendered = Signal(object)  # RenderResult
    failed = Signal(int, str)  # version, one-line message
    busy = Signal(int)  # version now rendering
    progress = Signal(object)  # Progress of a long exact frame

    def __init__(
        self, renderer: RendererLike | None = None, parent: Any = None, policy: LoopPolicy = EDITOR_POLICY
    ) -> None:
        super().__init__(parent)
        self.loop = RenderLoop(
            renderer,
            self.rendered.emit,
            policy,
            on_error=self.failed.emit,
            on_progress=self._progress,
            on_busy=self.busy.emit,
        )
        self.setObjectName("render-worker")

    # ----- GUI-thread API -----------------------------------------------------------------------
    @property
    def renderer(self) -> RendererLike | None:
        return self.loop.renderer

    @property
    def base_renderer(self) -> RendererLike | None:
        """The renderer's label set / styles / crop side (an incremental renderer's wrapped one)."""
        return base_renderer(self.loop.renderer)

    @property
    def idle_refresh_s(self) -> float:
        return self.loop.policy.idle_refresh_s

    @idle_refresh_s.setter
    def idle_refresh_s(self, seconds: float) -> None:
        from dataclasses import replace

        self.loop.policy = replace(self.loop.policy, idle_refresh_s=seconds)

    def set_renderer(self, renderer: RendererLike | None) -> None:
        self.loop.set_renderer(renderer)

    def submit(self, request: RenderRequest) -> None:
        self.loop.submit(request)

    def set_render_scale(self, scale: int) -> None:
        self.loop.set_render_scale(scale)

    def request_full_size(self) -> None:
        self.loop.request_full_size()

    def cancel_exact(self) -> None:
        self.loop.cancel_exact()

    @property
    def has_pending(self) -> bool:
        return self.loop.has_pending()

    def stop(self, timeout_ms: int = 30000) -> None:
        self.requestInterruption()
        self.loop.close()
        self.wait(timeout_ms)

    # ----- worker thread ------------------------------------------------------------------------
    def _progress(self, progress: Progress) -> None:
        self.progress.emit(progress)

    def run(self) -> None:
        lower_thread_priority()
        while not self.isInterruptionRequested() and not self.loop.closed:
            self.loop.step(0.2)
