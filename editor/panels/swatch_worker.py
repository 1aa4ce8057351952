"""A thread that renders the style palette's swatches (``model.render.swatches``) off the GUI thread.

Latest wins: a new request (another selection, a changed scene) stops the old batch after the
swatch in progress. It runs at the render thread's lower priority, and on its own copy of the
generator's modules (weights shared), so it never disturbs a render in progress.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QThread, Signal

from editor.render_worker import lower_thread_priority
from model.render.swatches import SwatchRenderer
from model.scene_io import Style

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class SwatchRequest:
    """Render ``instance`` inside ``box`` once per style in ``options`` (the rest of ``styles`` kept)."""

    token: Any
    instance: int
    labels: np.ndarray = field(repr=False)
    instances: np.ndarray = field(repr=False)
    styles: dict[int, Style] = field(repr=False)
    box: Box = (0, 0, 0, 0)
    options: tuple[Style, ...] = ()
    seed: int = 0


@dataclass(frozen=True)
class SwatchResult:
    token: Any
    index: int
    image: np.ndarray  # H×W×3 uint8 of the request's box


class SwatchWorker(QThread):
    finished_one = Signal(object)  # SwatchResult

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._request: SwatchRequest | None = None
        self._swatches: SwatchRenderer | None = None
        self.setObjectName("swatch-worker")

    def set_renderer(self, renderer: Any) -> None:
        """The full renderer (``editor.render_worker.base_renderer`` of the worker's)."""
        with self._cond:
            if renderer is None:
                self._swatches = None
            elif self._swatches is None or self._swatches.renderer is not renderer:
                self._swatches = SwatchRenderer(renderer)
            self._request = None

    def submit(self, request: SwatchRequest | None) -> None:
        with self._cond:
            self._request = request
            self._cond.notify()
        if request is not None and not self.isRunning():
            self.start()

    def _superseded(self, request: SwatchRequest) -> bool:
        with self._cond:
            return self._request is not request or self.isInterruptionRequested()

    def run(self) -> None:
        lower_thread_priority()
        while not self.isInterruptionRequested():
            with self._cond:
                while self._request is None and not self.isInterruptionRequested():
                    self._cond.wait(0.5)
                request, swatches = self._request, self._swatches
            if request is None or swatches is None:
                with self._cond:
                    if self._request is request:
                        self._request = None
                continue
            for index, option in enumerate(request.options):
                if self._superseded(request):
                    break
                styles = dict(request.styles)
                styles[request.instance] = option
                try:
                    image = swatches.swatch(
                        request.labels, request.instances, styles, request.box, request.seed
                    )
                except Exception as exc:  # noqa: BLE001 - a swatch must not stop the thread
                    log.warning("swatch failed: %s", exc)
                    break
                self.finished_one.emit(SwatchResult(request.token, index, image))
            with self._cond:
                if self._request is request:
                    self._request = None

    def stop(self, timeout_ms: int = 30000) -> None:
        self.requestInterruption()
        with self._cond:
            self._cond.notify_all()
        self.wait(timeout_ms)
