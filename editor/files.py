"""File handling: new / open / save / export, recent files and the unsaved-changes prompt.

Reading and writing go through ``model.scene_io``: a save replaces the scene's files as one atomic
set, Open first completes or rolls back a save that a crash interrupted (the status line says which),
and exports are each whole or absent. At start the folders of the recent files are tidied of the
temporary files that a killed write of this program left there. Any ``EditorError`` becomes a
one-line error dialog. Every dialog-driven entry point has a path-taking twin for tests and scripts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QMessageBox,
    QSpinBox,
    QWidget,
)

from editor.state import EditorState
from model.atomic_files import tidy_folder
from model.errors import EditorError
from model.scene_io import open_scene, save_scene, write_png, write_pngs

log = logging.getLogger(__name__)

MAX_RECENT = 8
SCENE_FILTER = "Scenes (*_labelIds.png *.png);;All files (*)"
SIZES = ((2048, 1024), (1024, 512), (512, 256), (1920, 1080), (1024, 1024))


def label_path_for(path: str | Path) -> Path:
    """Where to save a scene chosen as ``path``: keep ``*_labelIds.png``, else add the suffix."""
    path = Path(path)
    name = path.name
    if name.endswith("_labelIds.png"):
        return path
    stem = name[:-4] if name.lower().endswith(".png") else name
    return path.with_name(f"{stem}_labelIds.png")


class NewSceneDialog(QDialog):
    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New scene")
        self.preset = QComboBox()
        for w, h in SIZES:
            self.preset.addItem(f"{w} × {h}", (w, h))
        self.preset.addItem("Custom", None)
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(16, 8192)
            box.setSuffix(" px")
        self.width_box.setValue(2048)
        self.height_box.setValue(1024)
        self.fill = QComboBox()
        for label in state.label_set.labels:
            if not label.is_thing:
                self.fill.addItem(label.name, label.id)
        road = self.fill.findText("road")
        self.fill.setCurrentIndex(max(road, 0))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Size", self.preset)
        form.addRow("Width", self.width_box)
        form.addRow("Height", self.height_box)
        form.addRow("Fill with", self.fill)
        form.addRow(buttons)
        self.preset.currentIndexChanged.connect(self._preset)

    def _preset(self, _index: int) -> None:
        size = self.preset.currentData()
        if size:
            self.width_box.setValue(size[0])
            self.height_box.setValue(size[1])

    def values(self) -> tuple[int, int, int]:
        return self.width_box.value(), self.height_box.value(), int(self.fill.currentData())


class FileController(QObject):
    recent_changed = Signal(list)
    path_changed = Signal(object)
    status = Signal(str)

    def __init__(self, state: EditorState, settings: QSettings, window: QWidget | None = None) -> None:
        super().__init__(window)
        self.state = state
        self.settings = settings
        self.window = window
        self.pending_export: Path | None = None
        self.export_source = None  # callable(version) -> image or None, set by the main window
        self.before_save = None  # callable() run before a save writes: the main window's recovery copy
        self.scene_saver = save_scene  # (scene, label path) -> paths written as one set (+ anomaly layer)
        self.tidy_recent_folders()

    # ----- prompts ------------------------------------------------------------------------------
    def error(self, message: str) -> None:
        log.warning("%s", message)
        if self.window is not None:
            QMessageBox.warning(self.window, "pix2pixHD editor", message)

    @property
    def modified(self) -> bool:
        return not self.state.stack.isClean()

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current scene (saved, or the user says so)."""
        if not self.modified or self.window is None:
            return True
        name = self.state.document.path.name if self.state.document.path else "Untitled"
        answer = QMessageBox.question(
            self.window,
            "Unsaved changes",
            f"Save the changes to {name} before closing it?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # ----- new / open ---------------------------------------------------------------------------
    def new_scene(self) -> bool:
        if not self.confirm_discard():
            return False
        dialog = NewSceneDialog(self.state, self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.new_scene_of_size(*dialog.values())
        return True

    def new_scene_of_size(self, width: int, height: int, fill: int | None = None) -> None:
        fill = self.state.label_set.unlabeled_id if fill is None else fill
        labels = np.full((height, width), fill, dtype=np.uint8)
        self.state.reset_document(labels, labels.astype(np.int32), {}, None)
        self.path_changed.emit(None)
        self.status.emit(f"New scene {width}×{height}")

    def open_dialog(self) -> bool:
        if not self.confirm_discard():
            return False
        start = str(self.state.document.path.parent) if self.state.document.path else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open scene", start, SCENE_FILTER)
        return bool(path) and self.open_path(path)

    def open_path(self, path: str | Path, as_template: bool = False) -> bool:
        """Open a label PNG (ids or colours); its instanceIds / styles files are found next to it.

        ``as_template`` opens it as an untitled scene (the bundled samples): Save then asks where.
        """
        path = Path(path)
        try:
            opened = open_scene(path, self.state.label_set)
        except EditorError as exc:
            self.error(str(exc))
            return False
        scene = opened.scene
        self.state.reset_document(scene.labels, scene.instances, scene.styles, None if as_template else path)
        if not as_template:
            self.add_recent(path)
        self.path_changed.emit(None if as_template else path)
        width, height = scene.size
        if opened.notice is not None:
            log.warning("%s: %s", path, opened.notice)
        self.status.emit(
            f"Opened {path.name} ({width}×{height})" + (f"; {opened.notice}" if opened.notice else "")
        )
        return True

    # ----- save ---------------------------------------------------------------------------------
    def save(self) -> bool:
        path = self.state.document.path
        if path is None or not path.name.endswith("_labelIds.png"):
            return self.save_as()
        return self.save_to(path)

    def save_as(self) -> bool:
        start = str(self.state.document.path or (Path.cwd() / "scene_labelIds.png"))
        path, _ = QFileDialog.getSaveFileName(self.window, "Save scene", start, "Scenes (*_labelIds.png)")
        return bool(path) and self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        label_path = label_path_for(path)
        if self.before_save is not None:
            self.before_save()  # a save killed half-way must not lose the work: it is in the recovery copy
        try:
            written = self.scene_saver(self.state.document.to_scene(), label_path)
        except EditorError as exc:
            self.error(str(exc))
            return False
        self.state.document.path = label_path
        self.state.stack.setClean()
        self.add_recent(label_path)
        self.path_changed.emit(label_path)
        self.status.emit("Saved " + ", ".join(p.name for p in written))
        return True

    # ----- export -------------------------------------------------------------------------------
    def export_dialog(self) -> bool:
        doc_path = self.state.document.path
        start = (
            str(doc_path.with_name(doc_path.name.replace("_labelIds", "_render")))
            if doc_path
            else "render.png"
        )
        path, _ = QFileDialog.getSaveFileName(self.window, "Export render", start, "PNG image (*.png)")
        return bool(path) and self.export_to(path)

    def export_to(self, path: str | Path) -> bool:
        """Write the full-resolution render; when it is not up to date, write it as soon as it is."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        if self.state.worker is None or self.state.worker.renderer is None:
            self.error("No model is loaded, so there is no render to export (Model ▸ Open model…)")
            return False
        image = self.export_source(self.state.document.version) if self.export_source else None
        if image is None:
            self.pending_export = path
            self.status.emit(f"Export to {path.name} waits for the render…")
            self.state.request_render()
            return True
        return self._write_export(path, image)

    def render_arrived(self, version: int, image) -> None:
        if self.pending_export is not None and version == self.state.document.version:
            path, self.pending_export = self.pending_export, None
            self._write_export(path, image)

    def _write_export(self, path: Path, image) -> bool:
        if not self.write_exports({path: image}):
            return False
        self.status.emit(f"Exported {path.name} ({image.shape[1]}×{image.shape[0]})")
        return True

    def write_exports(self, images: dict[Path, np.ndarray]) -> bool:
        """Write PNG exports into one folder, each whole or absent (several: all old or all new);
        a failure becomes one error dialog and leaves the old files as they were."""
        try:
            if len(images) == 1:
                write_png(*next(iter(images.items())))
            else:
                write_pngs(images)
        except EditorError as exc:
            self.error(str(exc))
            return False
        return True

    # ----- recent files -------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def tidy_recent_folders(self) -> None:
        """At start: remove what killed writes of this program left in the recent files' folders."""
        for folder in sorted({Path(p).parent for p in self.recent()}):
            removed = tidy_folder(folder).removed
            if removed:
                log.info(
                    "%s: removed %d temporary file(s) left by an interrupted write", folder, len(removed)
                )

    def add_recent(self, path: Path) -> None:
        entry = str(Path(path).resolve())
        items = [entry] + [p for p in self.recent() if p != entry]
        self.settings.setValue("recent_files", items[:MAX_RECENT])
        self.recent_changed.emit(items[:MAX_RECENT])
