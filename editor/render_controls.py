"""Status-bar and menu controls of the render loop: progress of a long exact frame (Esc cancels it),
the render size (full, ½, ¼; export stays full size) and which mode the activation cache is in.

The main window creates one :class:`RenderControls` and hands it its status bar and Render menu.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QProgressBar

from editor.render_setup import plan_cache
from editor.render_status import duration
from editor.render_worker import RenderWorker
from model.render.loop import RENDER_SCALES, Progress

SHOW_PROGRESS_AFTER_S = 1.0  # exact frames estimated shorter than this show no bar
SCALE_NAMES = {1: "Full size", 2: "½ size", 4: "¼ size"}


class RenderControls(QObject):
    def __init__(self, window: QMainWindow, worker: RenderWorker, state: Any, menu: QMenu | None) -> None:
        super().__init__(window)
        self.worker = worker
        self.state = state
        self._incremental: Any = None
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(220)
        self.bar.setFormat("exact frame %p%")
        self.bar.setToolTip("Rendering the exact frame; Esc cancels it until the next edit")
        self.bar.hide()
        self.cache_label = QLabel()
        self.cache_label.setToolTip("Which mode the activation cache of incremental rendering is in")
        status = window.statusBar()
        status.addPermanentWidget(self.bar)
        status.addPermanentWidget(self.cache_label)
        worker.progress.connect(self.show_progress)
        worker.rendered.connect(lambda _r: self.bar.hide())
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.escape.setContext(Qt.ShortcutContext.WindowShortcut)
        self.escape.activated.connect(self.cancel)
        self.scale_actions: dict[int, QAction] = {}
        group = QActionGroup(self)
        sizes = menu.addMenu("Render &size") if menu is not None else None
        for scale in RENDER_SCALES:
            action = QAction(SCALE_NAMES[scale], self, checkable=True, checked=scale == 1)
            action.setToolTip(
                "Edit at a smaller render size (the label map is downscaled, the render "
                "upscaled); export always renders full size"
            )
            action.triggered.connect(lambda _c=False, s=scale: self.set_scale(s))
            group.addAction(action)
            self.scale_actions[scale] = action
            if sizes is not None:
                sizes.addAction(action)
        self.act_full_size = QAction("Render &full size now", self)
        self.act_full_size.triggered.connect(self.render_full_size)
        if menu is not None:
            menu.addAction(self.act_full_size)

    @property
    def scale(self) -> int:
        return self.worker.loop.render_scale

    def set_scale(self, scale: int) -> None:
        self.worker.set_render_scale(scale)
        self.scale_actions[scale].setChecked(True)
        self._show_cache()
        self.state.request_render()

    def render_full_size(self) -> None:
        self.worker.request_full_size()
        self.state.request_render()

    def cancel(self) -> None:
        self.worker.cancel_exact()
        self.bar.hide()

    def show_progress(self, progress: Progress) -> None:
        if progress.done:
            self.bar.hide()
            return
        if progress.eta_s is None or (not self.bar.isVisible() and progress.eta_s < SHOW_PROGRESS_AFTER_S):
            return
        self.bar.setValue(int(progress.fraction * 1000))
        self.bar.setFormat(f"exact frame %p% · {duration(progress.eta_s)} left · Esc cancels")
        self.bar.show()

    def set_incremental(self, incremental: Any) -> None:
        """The incremental renderer in use (None: plain renders), for the cache-mode label."""
        self._incremental = incremental
        self._show_cache()

    def _show_cache(self) -> None:
        if self._incremental is None:
            self.cache_label.setText("")
            return
        height, width = self.state.document.labels.shape
        plan = plan_cache(self._incremental, (width, height), self.scale)
        self.cache_label.setText(plan.mode)
        self.cache_label.setToolTip(plan.describe())
