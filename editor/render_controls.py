"""Status-bar and menu controls of the render loop: progress of a long exact frame (Esc cancels it),
the render size (full, ½, ¼; export stays full size), which mode the activation cache is in, and
the precision renders run in (auto, float32 or bf16; model.render.precision).

The main window creates one :class:`RenderControls` and hands it its status bar and Render menu.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QProgressBar

from editor.render_setup import plan_cache
from editor.render_status import duration
from editor.render_worker import RenderWorker
from model.render.loop import RENDER_SCALES, Progress

SHOW_PROGRESS_AFTER_S = 1.0  # exact frames estimated shorter than this show no bar
SCALE_NAMES = {1: "Full size", 2: "½ size", 4: "¼ size"}
PRECISION_NAMES = {
    "auto": "&Automatic (measured on this machine)",
    "fp32": "&float32",
    "bf16": "&bfloat16 (about 2× faster on CPUs with AVX-512 BF16 or AMX)",
}
PRECISION_SETTING = "render/precision"


class RenderControls(QObject):
    precision_changed = Signal(str)  # the request ("auto", "fp32", "bf16"): the model must be reloaded

    def __init__(
        self,
        window: QMainWindow,
        worker: RenderWorker,
        state: Any,
        menu: QMenu | None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(window)
        self.settings = settings
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
        self.precision_label = QLabel()
        status.addPermanentWidget(self.bar)
        status.addPermanentWidget(self.cache_label)
        status.addPermanentWidget(self.precision_label)
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
        self.precision_actions: dict[str, QAction] = {}
        precisions = QActionGroup(self)
        submenu = menu.addMenu("&Precision") if menu is not None else None
        for name, text in PRECISION_NAMES.items():
            action = QAction(text, self, checkable=True, checked=name == self.precision_request)
            action.setToolTip("What the generator computes in; changing it reloads the model")
            action.triggered.connect(lambda _c=False, n=name: self.set_precision_request(n))
            precisions.addAction(action)
            self.precision_actions[name] = action
            if submenu is not None:
                submenu.addAction(action)

    @property
    def precision_request(self) -> str | None:
        """The precision asked for in the Render menu (None: never chosen, so P2P_PRECISION or auto)."""
        if self.settings is None:
            return None
        value = self.settings.value(PRECISION_SETTING)
        return str(value) if value in PRECISION_NAMES else None

    def set_precision_request(self, name: str) -> None:
        if self.settings is not None:
            self.settings.setValue(PRECISION_SETTING, name)
        self.precision_actions[name].setChecked(True)
        self.precision_changed.emit(name)

    def show_precision(self, choice: Any) -> None:
        """The loaded renderer's precision (a model.render.precision.PrecisionChoice) and why."""
        self.precision_label.setText(choice.precision)
        self.precision_label.setToolTip(f"Renders run in {choice.describe()}; Render ▸ Precision changes it")

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
