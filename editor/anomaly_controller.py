"""Wires the anomaly layer into the window: the Anomaly tool (A), the Anomalies panel, the worker
thread that fills the masks, the canvas overlay, scene save / open, and the anomaly-pair export.

* **Layer.** ``editor.core.anomaly_layer.AnomalyLayer``, one per window, sized with the scene. Its
  edits are pushed on the editor's undo stack like label edits.
* **Apply.** Takes the exact full-size render (waiting for it when the canvas shows a preview),
  hands a copy of it and of the masks to :class:`~editor.panels.anomaly_worker.AnomalyWorker`, and
  shows the result over the render in the Render and Blend views while it still matches the scene
  and the masks (any later edit makes it out of date: Apply again).
* **Save / open.** The layer is saved as ``NAME_anomalyMasks.png`` in the same atomic set as the
  scene; a scene without it opens with an empty layer. The autosave copies it and crash recovery
  restores it (``editor.autosave_ui``).
* **Export.** ``NAME.png`` (render with anomalies), ``NAME_anomaly.png`` and ``NAME_anomaly.json``
  through ``model.anomaly.export.write_pair``; an out-of-date result is made again first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QFileDialog, QMenu, QToolBar

from editor.anomaly_tool import MASK_COLOUR, AnomalyTool, DrawMode
from editor.canvas import ViewMode
from editor.core.anomaly_layer import AnomalyDelta, AnomalyLayer, read_layer, save_scene_with_layer
from editor.panels.anomaly_panel import AnomalyPanel
from editor.panels.anomaly_worker import AnomalyJob, AnomalyOutcome, AnomalyWorker
from model.anomaly.export import AnomalyPair, write_pair
from model.anomaly.synthesis import SynthesisConfig, place_masks
from model.box import Box, mask_box
from model.errors import CheckpointError, EditorError
from model.resources import inpainter_dir
from model.scene_io import Scene

if TYPE_CHECKING:
    from editor.main_window import MainWindow

log = logging.getLogger(__name__)


@dataclass
class AppliedAnomalies:
    """A finished Apply and what it was made from (to tell whether it still matches the scene)."""

    outcome: AnomalyOutcome
    doc_version: int
    layer_version: int
    config: SynthesisConfig
    seed: int
    box: Box | None  # the pixels that differ from the render
    preview: QImage | None = field(default=None, repr=False)
    buffer: np.ndarray | None = field(default=None, repr=False)  # keeps the preview's pixels alive


class AnomalyController(QObject):
    result_changed = Signal()  # a result arrived or went out of date
    exported = Signal(object)  # Path of the exported NAME.png

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.canvas = window.canvas
        doc = self.state.document
        self.layer = AnomalyLayer(doc.width, doc.height)
        self.inpainter_path: Path = inpainter_dir()
        self.tool = AnomalyTool(self.state, self)
        self.worker = AnomalyWorker(self)
        settings = window.settings
        self.panel = AnomalyPanel(
            str(settings.value("anomaly/method", "diffusion")),
            int(settings.value("anomaly/steps", 10)),
            int(settings.value("anomaly/seed", 0)),
        )
        self.result: AppliedAnomalies | None = None
        self.job: AnomalyJob | None = None  # the job running (or waiting for the exact render)
        self._job_versions = (-1, -1)
        self._token = 0
        self._waiting_for_render = False
        self._pending_export: Path | None = None
        self._awaiting_path = False
        self._outline: list[QPolygonF] = []
        self._outline_dirty = True
        self._install()
        self._connect()

    # ----- installation into the window ---------------------------------------------------------
    def _install(self) -> None:
        w = self.window
        tool = self.tool
        w.tools[tool.name] = tool
        action = w._action(
            tool.label,
            tool.shortcut,
            tool.tip.split(":")[0] + ": " + tool.tip.split(":", 1)[1].strip(),
            lambda: self.activate(),
            checkable=True,
        )
        action.setToolTip(tool.tip)
        w.tool_group.addAction(action)
        w.tool_actions[tool.name] = action
        self.tool_action = action
        last_tool = list(w.tool_actions.values())[-2]
        for toolbar in w.findChildren(QToolBar):
            if last_tool in toolbar.actions():
                self._insert_after(toolbar, last_tool, action)
        self.export_action = w._action(
            "Export &anomaly pair…",
            None,
            "Export the render with its anomalies, NAME_anomaly.png (0 normal, 1 anomaly, 255 void) "
            "and NAME_anomaly.json",
            self.export_dialog,
        )
        for menu in w.menuBar().findChildren(QMenu):
            if last_tool in menu.actions():
                self._insert_after(menu, last_tool, action)
            if w.act_export_compare in menu.actions():
                self._insert_after(menu, w.act_export_compare, self.export_action)
        # A tab beside History by default, so the right column keeps its height for the Styles dock's
        # swatches; the window restores a saved layout afterwards, which moves it where the user put it.
        # (restoreDockWidget here always succeeded, the dock being already added, so it was never tabbed.)
        self.dock = w._dock("Anomalies", self.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        w.tabifyDockWidget(w.dock_history, self.dock)
        w.dock_history.raise_()
        self.canvas.overlays.append(self.paint)
        w.files.scene_saver = self.save_scene
        w.autosave.anomaly_layer = self.layer  # autosaved and recovered with the maps

    @staticmethod
    def _insert_after(widget: QMenu | QToolBar, anchor, action) -> None:  # noqa: ANN001
        actions = widget.actions()
        i = actions.index(anchor)
        if i + 1 < len(actions):
            widget.insertAction(actions[i + 1], action)
        else:
            widget.addAction(action)

    def _connect(self) -> None:
        p = self.panel
        p.mode_changed.connect(self.tool.set_mode)
        p.settings_changed.connect(self._on_settings)
        p.scatter_clicked.connect(self.scatter)
        p.clear_clicked.connect(self.clear)
        p.apply_clicked.connect(self.apply)
        p.cancel_clicked.connect(self.cancel)
        p.export_clicked.connect(self.export_dialog)
        self.layer.subscribe(self._on_layer)
        self.state.document.subscribe(self._on_document)
        self.state.document_reset.connect(self._on_reset)
        self.window.files.path_changed.connect(self._on_path)
        self.window.worker.rendered.connect(self._on_rendered)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished_job.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)

    def activate(self) -> None:
        """Choose the Anomaly tool; the side-by-side view becomes Blend, where masks and results show."""
        self.window.set_tool(self.tool.name)
        if self.canvas.view_mode is ViewMode.SIDE_BY_SIDE:
            self.window.set_view(ViewMode.BLEND)
        self.dock.show()
        self.dock.raise_()

    # ----- settings -----------------------------------------------------------------------------
    @property
    def config(self) -> SynthesisConfig:
        return replace(SynthesisConfig(), method=self.panel.method_name, steps=self.panel.steps.value())

    @property
    def seed(self) -> int:
        return int(self.panel.seed.value())

    def _on_settings(self) -> None:
        s = self.window.settings
        s.setValue("anomaly/method", self.panel.method_name)
        s.setValue("anomaly/steps", self.panel.steps.value())
        s.setValue("anomaly/seed", self.seed)
        self._refresh_status()

    # ----- messages -----------------------------------------------------------------------------
    def report(self, message: str) -> None:
        """A problem the user must see: one line, in a dialog, the panel and the log."""
        message = " ".join(message.split())
        self.panel.show_status(message)
        self.window.files.error(message)

    def _say(self, text: str) -> None:
        self.panel.show_status(text)
        self.window.statusBar().showMessage(text, 6000)

    # ----- mask edits ---------------------------------------------------------------------------
    def push(self, delta: AnomalyDelta | None) -> None:
        """Put a layer edit on the editor's undo stack (one step)."""
        if delta is not None:
            self.state.stack.push_delta(delta)  # type: ignore[arg-type] - same interface as Delta

    def scatter(self, count: int) -> bool:
        """``count`` object masks standing on road and sidewalk, away from the masks already there."""
        doc = self.state.document
        existing = len(self.layer.mask_ids())
        rng = np.random.default_rng([self.seed, existing, self.layer.version])
        placed = place_masks(doc.labels, count, self.config, rng)
        taken = cv2.dilate((self.layer.ids > 0).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        masks = [mask for mask, _record, _content in placed if not (mask & taken).any()]
        if not masks:
            self.report("There is no free road or sidewalk to scatter anomaly masks on")
            return False
        try:
            delta = self.layer.apply_masks(masks, f"Scatter {len(masks)} anomaly masks")
        except EditorError as exc:
            self.report(str(exc))
            return False
        self.push(delta)
        self._say(f"Scattered {len(masks)} masks on road and sidewalk")
        return True

    def clear(self) -> bool:
        if self.layer.is_empty:
            return False
        h, w = self.layer.ids.shape
        self.push(self.layer.apply((0, 0, w, h), self.layer.ids > 0, 0, "Clear anomaly masks"))
        return True

    # ----- apply --------------------------------------------------------------------------------
    @property
    def result_current(self) -> bool:
        r = self.result
        return (
            r is not None
            and r.doc_version == self.state.document.version
            and r.layer_version == self.layer.version
        )

    @property
    def running(self) -> bool:
        return self.job is not None

    def apply(self) -> bool:
        """Start filling the masks; False (and one message) when it cannot start."""
        config = self.config
        if self.layer.is_empty:
            self.report("There are no anomaly masks to fill: draw some with the Anomaly tool (A) or Scatter")
            return False
        if self.window.worker.renderer is None:
            self.report("No model is loaded, so there is no render to put anomalies in (Model ▸ Open model…)")
            return False
        if config.method == "diffusion" and not self.inpainter_path.is_dir():
            self.report(str(CheckpointError("inpainter checkpoint folder not found", self.inpainter_path)))
            return False
        doc = self.state.document
        self._token += 1
        self._job_versions = (doc.version, self.layer.version)
        self.job = AnomalyJob(
            self._token,
            np.zeros((0, 0, 3), np.uint8),
            tuple(self.layer.masks()),
            config,
            self.seed,
            self.inpainter_path if config.method == "diffusion" else None,
        )
        if self.window.exact_version == doc.version and self.canvas.render_image() is not None:
            self._submit()
        else:
            self._waiting_for_render = True
            self.window.worker.request_full_size()
            self.state.request_render()
            self.panel.show_progress(0, 1)
            self._say("Apply waits for the exact render…")
        return True

    def _submit(self) -> None:
        assert self.job is not None
        frame = self.canvas.render_image()
        if frame is None:
            return
        self._waiting_for_render = False
        self.job = replace(self.job, frame=frame)
        self._job_versions = (self.state.document.version, self._job_versions[1])
        self.worker.submit(self.job)
        total = self.job.config.steps * len(self.job.masks) if self.job.config.method == "diffusion" else 1
        self.panel.show_progress(0, total)
        self._say(f"Making {len(self.job.masks)} anomalies ({self.job.config.method})…")

    def _on_rendered(self, _result: object) -> None:
        if self._waiting_for_render and self.job is not None:
            if self.window.exact_version == self.state.document.version:
                self._submit()

    def cancel(self) -> None:
        self._token += 1
        self.job = None
        self._waiting_for_render = False
        self._pending_export = None
        self.worker.cancel()
        self.panel.show_progress(None)
        self._say("Stopped")

    def _on_progress(self, token: object, done: int, total: int) -> None:
        if token == self._token:
            self.panel.show_progress(done, total)

    def _on_failed(self, token: object, message: str) -> None:
        if token != self._token:
            return
        self.job = None
        self._pending_export = None
        self.panel.show_progress(None)
        self.report(message)

    def _on_finished(self, outcome: AnomalyOutcome) -> None:
        if outcome.token != self._token or self.job is None:
            return
        job = self.job
        self.job = None
        self.panel.show_progress(None)
        changed = np.any(outcome.image != job.frame, axis=2)
        box = mask_box(changed)
        result = AppliedAnomalies(outcome, *self._job_versions, job.config, job.seed, box)
        if box is not None:  # only the changed pixels are opaque: the blend's tint stays elsewhere
            x0, y0, x1, y1 = box
            rgba = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
            rgba[..., :3] = outcome.image[y0:y1, x0:x1]
            rgba[..., 3] = np.where(changed[y0:y1, x0:x1], 255, 0)
            result.buffer = rgba
            result.preview = QImage(rgba.data, x1 - x0, y1 - y0, 4 * (x1 - x0), QImage.Format.Format_RGBA8888)
        self._repaint_result()
        self.result = result
        self._repaint_result()
        self.result_changed.emit()
        if not self.result_current:
            if self._pending_export is not None:
                self.apply()  # the scene changed while it ran: again, for the export
            else:
                self._say("The scene changed while the anomalies were made: Apply again")
            return
        self._say(f"{len(outcome.placed)} anomalies ({job.config.method}) in {outcome.seconds:.1f} s")
        if self._pending_export is not None:
            path, self._pending_export = self._pending_export, None
            self._write_pair(path)

    # ----- export -------------------------------------------------------------------------------
    def export_dialog(self) -> bool:
        doc_path = self.state.document.path
        stem = doc_path.name.replace("_labelIds", "").removesuffix(".png") if doc_path else "anomalies"
        start = str((doc_path.parent if doc_path else Path.cwd()) / f"{stem}.png")
        path, _ = QFileDialog.getSaveFileName(
            self.window,
            "Export anomaly pair (NAME.png, NAME_anomaly.png, NAME_anomaly.json)",
            start,
            "PNG image (*.png)",
        )
        return bool(path) and self.export_pair(Path(path))

    def export_pair(self, path: Path) -> bool:
        """Write the pair as ``path`` (NAME.png) and its companions; Apply first when out of date."""
        path = Path(path).with_suffix(".png")
        if self.result_current:
            return self._write_pair(path)
        self._pending_export = path
        if not self.apply():
            self._pending_export = None
            return False
        return True

    def _write_pair(self, path: Path) -> bool:
        r = self.result
        assert r is not None
        pair = AnomalyPair(
            r.outcome.image, r.outcome.label, r.config.method, r.seed, r.config.steps, list(r.outcome.placed)
        )
        try:
            write_pair(path.parent, path.stem, pair)
        except EditorError as exc:
            self.report(str(exc))
            return False
        self._say(f"Exported {path.name}, {path.stem}_anomaly.png and {path.stem}_anomaly.json")
        self.exported.emit(path)
        return True

    # ----- scene files --------------------------------------------------------------------------
    def save_scene(self, scene: Scene, label_path: Path) -> tuple[Path, ...]:
        """``FileController``'s save: the scene and the anomaly layer as one atomic set."""
        return save_scene_with_layer(scene, label_path, self.layer)

    def _on_reset(self) -> None:
        doc = self.state.document
        self._token += 1
        self.job = None
        self._waiting_for_render = False
        self._pending_export = None
        self.panel.show_progress(None)
        self.result = None
        self.layer.reset(doc.width, doc.height)
        self._awaiting_path = True

    def _on_path(self, path: object) -> None:
        """After an open: the layer saved with that scene, if any."""
        awaiting, self._awaiting_path = self._awaiting_path, False
        if not awaiting or path is None:
            return
        doc = self.state.document
        try:
            ids = read_layer(Path(str(path)), (doc.width, doc.height))
        except EditorError as exc:
            self.report(str(exc))
            return
        if ids is not None:
            self.layer.reset(doc.width, doc.height, ids)
            self._say(f"{len(self.layer.mask_ids())} anomaly masks opened with the scene")

    # ----- display ------------------------------------------------------------------------------
    def _on_layer(self, box: Box | None) -> None:
        self._outline_dirty = True
        if box is None:
            self.canvas.repaint_all()
        else:
            x0, y0, x1, y1 = box
            self.canvas.update_scene_rect(QRectF(x0, y0, x1 - x0, y1 - y0), 4)
        self._became_stale()

    def _on_document(self, _change: object) -> None:
        self._became_stale()

    def _became_stale(self) -> None:
        if self.result is not None and self.result.preview is not None and not self.result_current:
            self._repaint_result()
            self.result.preview = None  # hidden from now on; the pixels stay for nothing else
            self.result_changed.emit()
            self._refresh_status()

    def _refresh_status(self) -> None:
        if self.job is not None:
            return
        if self.result is not None and not self.result_current:
            self.panel.show_status("Masks or scene changed since the last Apply: Apply again to update.")

    def _repaint_result(self) -> None:
        if self.result is not None and self.result.box is not None:
            x0, y0, x1, y1 = self.result.box
            self.canvas.update_scene_rect(QRectF(x0, y0, x1 - x0, y1 - y0), 2)

    def outline(self) -> list[QPolygonF]:
        """The layer's mask outlines in document pixels (recomputed after a change, when painted)."""
        if self._outline_dirty:
            contours, _ = cv2.findContours(
                (self.layer.ids > 0).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE
            )
            self._outline = [
                QPolygonF([QPointF(float(px) + 0.5, float(py) + 0.5) for px, py in c[:, 0, :]])
                for c in contours
                if len(c) > 1
            ]
            self._outline_dirty = False
        return self._outline

    def paint(self, painter: QPainter) -> None:
        """The canvas overlay: the result over the render (Render and Blend views), then the outlines."""
        r = self.result
        if (
            r is not None
            and r.preview is not None
            and r.box is not None
            and self.result_current
            and self.canvas.view_mode in (ViewMode.RENDER, ViewMode.BLEND)
        ):
            x0, y0, x1, y1 = r.box
            painter.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), r.preview)
        outline = self.outline()
        if not outline:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for colour, width, style in (
            (QColor(0, 0, 0), 2.4, Qt.PenStyle.SolidLine),
            (MASK_COLOUR, 1.4, Qt.PenStyle.DashLine),
        ):
            pen = QPen(colour, width, style)
            pen.setCosmetic(True)
            painter.setPen(pen)
            for polygon in outline:
                painter.drawPolygon(polygon)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    # ----- lifetime -----------------------------------------------------------------------------
    def set_mode(self, mode: DrawMode) -> None:
        self.panel.set_mode(mode)

    def shutdown(self) -> None:
        self.worker.stop()
