"""The main window: wires the canvas, panels, actions, status bar, render worker and files together.

It holds no editing logic (EditorState), no drawing (Canvas), no panel internals (their modules)
and no file code (FileController).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QSplitter,
    QToolBar,
    QWidget,
)

from editor.anomaly_controller import AnomalyController
from editor.autosave_ui import AutosaveController, ask_recovery, offer_recovery
from editor.canvas import STALE_TEXT, Canvas, ViewMode
from editor.core.document import Document
from editor.core.exports import companion_path, label_colours, side_by_side
from editor.core.photo_style import has_encoder
from editor.files import FileController
from editor.history_panel import HistoryPanel
from editor.icons import icon
from editor.model_loader import DEFAULT_CHECKPOINT, ModelBundle, ModelLoader
from editor.panels.class_chooser import choose_class
from editor.panels.label_palette import LabelPalette, frequent_ids
from editor.panels.photo_style import PhotoStyleDialog
from editor.panels.style_palette import StylePalette
from editor.pyside_guard import protect_singletons
from editor.render_controls import RenderControls
from editor.render_status import RenderStatus
from editor.render_worker import RenderRequest, RenderResult, RenderWorker, base_renderer
from editor.side_view import RenderMirror
from editor.state import EditorState, InstanceMode, class_id
from editor.tool_options import ToolOptions
from editor.tools import TOOL_CLASSES, Tool
from model.errors import EditorError
from model.labels import cityscapes

log = logging.getLogger(__name__)

APP_NAME = "pix2pixHD editor"
# The dock layout's version in the settings (QMainWindow.saveState / restoreState). Raise it when the
# default dock arrangement changes: a layout saved under another version is not restored, and the
# window keeps its default arrangement. 1: the Anomalies dock, a tab beside History (layouts saved
# before carry version 0: without that dock, or with it split off as a third row on the right).
LAYOUT_VERSION = 1


def model_display_name(path: Path) -> str:
    """A short name for the status bar: runs/default/checkpoint → "default/checkpoint"."""
    generic = {"checkpoint", "checkpoints", "latest_net_g.pth", "config.json", "generator.safetensors"}
    if path.name.lower() in generic and path.parent.name:
        if path.parent.name.lower() in generic and path.parent.parent.name:
            return f"{path.parent.parent.name}/{path.parent.name}"
        return f"{path.parent.name}/{path.name}"
    return path.name


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: QSettings | None = None,
        renderer: Any = None,
        checkpoint: Path | None = None,
        load_default: bool = True,
        size: tuple[int, int] = (2048, 1024),
    ) -> None:
        super().__init__()
        protect_singletons()  # PySide6 6.12 + Python 3.11 would abort after enough Qt calls
        self.settings = settings or QSettings()
        self.worker = RenderWorker(renderer)
        label_set = base_renderer(renderer).label_set if renderer is not None else cityscapes()
        road = 7 if label_set is cityscapes() else label_set.unlabeled_id
        self.document = Document.new(size[0], size[1], label_set, fill=road)
        self.state = EditorState(self.document, self.worker, self)
        self.canvas = Canvas(self.state)
        self.files = FileController(self.state, self.settings, self)
        self.files.export_source = self._render_for_export
        self.autosave = AutosaveController(self.state, parent=self)  # recovery folder: $P2P_RECOVERY_DIR
        self.recovery_prompt = ask_recovery  # injectable: (parent, entries) -> RecoveryChoice
        self.class_prompt = choose_class  # injectable: (parent, label_set, current, things_only, title) -> id
        self.scene_name: str | None = None  # an untitled scene's origin (a bundled sample), for the title
        self._pending_compare: Path | None = None  # a side-by-side export waiting for the exact frame
        self.autosave.failed.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.files.before_save = self.autosave.ensure_current
        self.render_version = -1  # the document version the canvas shows (not counting quick tiles)
        self.exact_version = -1  # ... as an exact frame (a full render)
        self.render_seconds = 0.0
        self.render_status = RenderStatus()
        self._cursor: tuple[int, int] | None = None
        self._loader: ModelLoader | None = None
        self._model: ModelBundle | None = None
        self._model_path: Path | None = None  # where the loaded model came from (reloads)
        self.model_name = "" if renderer is None else "injected model"
        self.mirror = RenderMirror(self.canvas)
        self.views = QSplitter(Qt.Orientation.Horizontal)
        self.views.setChildrenCollapsible(False)
        self.views.addWidget(self.canvas)
        self.views.addWidget(self.mirror)
        self.views.setSizes([10_000, 10_000])  # equal halves ([1, 1] is first raised to the minimum widths)
        self.setCentralWidget(self.views)
        self._build_status_bar()
        self._build_actions()
        self._build_docks()
        self._build_menus_and_toolbar()
        self._connect()
        self.anomaly = AnomalyController(self)  # the Anomaly tool, its panel, worker and layer (issue 23)
        self.worker.start()
        self.set_tool("brush")
        self.set_view(self.saved_view_mode())
        self._show_selection(None)
        self._update_title()
        self._show_model_state()
        self.resize(1500, 900)
        self._restore_layout()
        if renderer is not None:
            self.state.request_render()
        elif checkpoint is not None:
            self.load_model(checkpoint)
        elif load_default and DEFAULT_CHECKPOINT.exists():
            self.load_model(DEFAULT_CHECKPOINT)

    # ----- construction -------------------------------------------------------------------------
    def _action(
        self,
        text: str,
        shortcut: str | QKeySequence.StandardKey | list | None,
        tip: str,
        slot: Callable[..., Any] | None = None,
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut:
            action.setShortcut(QKeySequence(shortcut))
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({keys})" if keys else tip)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work even when menus are hidden
        return action

    def _build_actions(self) -> None:
        s, f = self.state, self.files
        a = self._action
        self.act_new = a(
            "&New scene…", QKeySequence.StandardKey.New, "Create an empty scene of a chosen size", f.new_scene
        )
        self.act_open = a(
            "&Open…",
            QKeySequence.StandardKey.Open,
            "Open a scene, a Cityscapes labelIds PNG or a colour label PNG",
            f.open_dialog,
        )
        self.act_save = a(
            "&Save", QKeySequence.StandardKey.Save, "Save labelIds + instanceIds PNGs and styles JSON", f.save
        )
        self.act_save_as = a("Save &as…", "Ctrl+Shift+S", "Save the scene under a new name", f.save_as)
        self.act_export = a(
            "&Export render…",
            "Ctrl+E",
            "Export the rendered image as a full-resolution PNG "
            "(and, when ticked below, the label colours beside it)",
            self.export_render_dialog,
        )
        self.act_export_labels_too = a(
            "Also export the label colours",
            None,
            "Exporting a render also writes NAME_labels.png, the label map in its colours",
            self._toggle_export_labels,
            checkable=True,
        )
        self.act_export_labels_too.setChecked(self.export_labels_too)
        self.act_export_labels = a(
            "Export &label colours…", None, "Export the label map as a colour PNG", self.export_labels_dialog
        )
        self.act_export_compare = a(
            "Export &side-by-side…",
            "Ctrl+Shift+E",
            "Export labels and render next to each other in one PNG",
            self.export_compare_dialog,
        )
        style = self.style()
        for act, sp in ((self.act_open, "SP_DialogOpenButton"), (self.act_save, "SP_DialogSaveButton")):
            act.setIcon(style.standardIcon(getattr(style.StandardPixmap, sp)))
        self.act_quit = a("&Quit", QKeySequence.StandardKey.Quit, "Quit the editor", self.close)
        self.act_undo = self.state.stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence("Ctrl+Z"))
        self.act_redo = self.state.stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for act, name in ((self.act_undo, "undo"), (self.act_redo, "redo")):
            act.setIcon(icon(name))
            act.setIconText(name.capitalize())  # the toolbar keeps its width; menus show "Undo Brush"
            self.addAction(act)
        self.act_delete = a(
            "Delete object",
            "Delete",
            "Delete the selected object; the surrounding stuff fills it",
            s.delete_selected,
        )
        self.act_relabel = a(
            "Relabel object…",
            "L",
            "Choose a new class for the selected object (same shape)",
            self.relabel_dialog,
        )
        self.act_duplicate = a(
            "Duplicate object", "Ctrl+D", "Copy the selected object next to itself", s.duplicate_selected
        )
        self.act_deselect = a("Deselect", "Ctrl+Shift+A", "Clear the selection", lambda: s.select(None))
        self.act_random = a(
            "Random style", "Ctrl+R", "A random style for the selected object", self._random_style
        )
        self.act_resample = a(
            "Resample all styles",
            "Ctrl+Shift+R",
            "A random style for every object and region",
            s.resample_all,
        )
        self.act_photo_style = a(
            "Style from a &photo…",
            "Ctrl+Shift+P",
            "Take the selected object's style from an object in a labelled photo",
            self.photo_style_dialog,
        )
        self.act_mode = a(
            "New object mode",
            "N",
            "Thing strokes create a new object (on) or extend the one under the stroke (off)",
            self._toggle_mode,
            checkable=True,
        )
        self.act_mode.setChecked(True)
        self.act_smaller = a("Smaller brush", "[", "Make the brush smaller", lambda: s.grow_brush(1 / 1.2))
        self.act_larger = a("Larger brush", "]", "Make the brush larger", lambda: s.grow_brush(1.2))
        self.act_find_label = a("Find label", "Ctrl+F", "Search the label palette", self._focus_label_search)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        self.tools: dict[str, Tool] = {}
        for cls in TOOL_CLASSES:
            tool = cls(self.state)
            self.tools[cls.name] = tool
            action = a(
                cls.label,
                cls.shortcut,
                cls.tip.split(":")[0] + ": " + cls.tip.split(":", 1)[1].strip(),
                lambda name=cls.name: self.set_tool(name),
                checkable=True,
            )
            action.setToolTip(cls.tip)
            action.setIcon(icon(cls.name))
            self.tool_group.addAction(action)
            self.tool_actions[cls.name] = action
        self.view_group = QActionGroup(self)
        self.view_actions: dict[ViewMode, QAction] = {}
        views = (
            (ViewMode.LABELS, "Labels", "the labels only"),
            (ViewMode.RENDER, "Render", "the render only"),
            (ViewMode.BLEND, "Blend", "the labels blended over the render"),
            (ViewMode.SIDE_BY_SIDE, "Side by side", "labels (paint here) and render side by side, same zoom"),
        )
        for i, (mode, text, tip) in enumerate(views):
            action = a(text, f"Ctrl+{i + 1}", f"Show {tip}", lambda m=mode: self.set_view(m), checkable=True)
            self.view_group.addAction(action)
            self.view_actions[mode] = action
        self.act_fit = a(
            "Fit to window", ["Ctrl+0", "F"], "Fit the whole scene in the window", self.canvas.fit
        )
        self.act_fit.setIcon(icon("fit"))
        self.act_actual = a("Actual pixels", "Ctrl+Alt+0", "Zoom to 100 %", lambda: self.canvas.set_zoom(1.0))
        self.act_open_model = a(
            "Open &model…",
            "Ctrl+M",
            "Load an official latest_net_G.pth or a checkpoint's config.json",
            self.open_model_dialog,
        )
        self.act_open_model_dir = a(
            "Open model &folder…",
            "Ctrl+Shift+M",
            "Load a native checkpoint folder",
            self.open_model_folder_dialog,
        )
        self.act_default_model = a(
            "Load &default model",
            None,
            "Load the bundled model from checkpoints/default",
            lambda: self.load_model(DEFAULT_CHECKPOINT),
        )
        self.act_incremental = a(
            "&Incremental rendering",
            None,
            "Re-render only what a stroke changes (preview first, exact frame when idle); "
            "off: every change renders the whole frame",
            self._toggle_incremental,
            checkable=True,
        )
        self.act_incremental.setChecked(self.incremental_enabled)
        self.act_refresh = a(
            "Re-render &now",
            "F5",
            "Render the whole frame again with fresh statistics",
            lambda: self.state.request_render(),
        )
        self.label_actions: list[QAction] = []
        self._build_label_shortcuts()

    def _build_label_shortcuts(self) -> None:
        for action in self.label_actions:
            self.removeAction(action)
        self.label_actions = []
        for i, label_id in enumerate(frequent_ids(self.state.label_set)):
            name = self.state.label_set.by_id(label_id).name
            self.label_actions.append(
                self._action(
                    f"Label: {name}",
                    str((i + 1) % 10),
                    f"Paint with {name}",
                    lambda lid=label_id: self.state.set_label(lid),
                )
            )

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_"))
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.label_palette = LabelPalette(self.state)
        self.tool_options = ToolOptions(
            self.state, [self.act_delete, self.act_relabel, self.act_duplicate, self.act_deselect]
        )
        self.style_palette = StylePalette(self.state, self.worker)
        self.history = HistoryPanel(self.state.stack)
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.dock_labels = self._dock("Labels", self.label_palette, left)
        self.dock_options = self._dock("Tool options", self.tool_options, left)
        self.dock_styles = self._dock("Styles", self.style_palette, right)
        self.dock_history = self._dock("History", self.history, right)
        self.resizeDocks([self.dock_labels, self.dock_styles], [250, 250], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_labels, self.dock_options], [560, 240], Qt.Orientation.Vertical)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.act_new, self.act_open])
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addSeparator()
        file_menu.addActions([self.act_save, self.act_save_as])
        file_menu.addSeparator()
        file_menu.addActions(
            [self.act_export, self.act_export_labels, self.act_export_compare, self.act_export_labels_too]
        )
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        edit.addSeparator()
        edit.addActions([self.act_delete, self.act_relabel, self.act_duplicate, self.act_deselect])
        edit.addSeparator()
        edit.addActions([self.act_random, self.act_resample, self.act_photo_style])
        view = bar.addMenu("&View")
        view.addActions(list(self.view_actions.values()))
        view.addSeparator()
        view.addActions([self.act_fit, self.act_actual])
        view.addSeparator()
        for dock in (self.dock_labels, self.dock_options, self.dock_styles, self.dock_history):
            view.addAction(dock.toggleViewAction())
        tools = bar.addMenu("&Tools")
        tools.addActions(list(self.tool_actions.values()))
        tools.addSeparator()
        tools.addActions([self.act_mode, self.act_smaller, self.act_larger, self.act_find_label])
        labels = tools.addMenu("Frequent labels")
        labels.addActions(self.label_actions)
        model = bar.addMenu("&Model")
        model.addActions([self.act_open_model, self.act_open_model_dir, self.act_default_model])
        render = bar.addMenu("&Render")
        render.addActions([self.act_incremental, self.act_refresh])
        self.render_controls = RenderControls(self, self.worker, self.state, render, self.settings)
        self.render_controls.precision_changed.connect(self._reload_model)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(
            self._action("Keyboard shortcuts", "F1", "List the keyboard shortcuts", self.show_shortcuts)
        )

        toolbar = QToolBar("Tools")
        toolbar.setObjectName("tools")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.addActions([self.act_open, self.act_save, self.act_export])
        toolbar.addSeparator()
        toolbar.addActions([self.act_undo, self.act_redo])
        toolbar.addSeparator()
        toolbar.addActions(list(self.tool_actions.values()))
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" View "))
        self.view_combo = QComboBox()
        for mode in ViewMode:
            self.view_combo.addItem(mode.value.capitalize(), mode)
        self.view_combo.setToolTip("Labels, render, both blended, or side by side (Ctrl+1 … Ctrl+4)")
        toolbar.addWidget(self.view_combo)
        toolbar.addWidget(QLabel("  Label opacity "))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setFixedWidth(120)
        self.opacity.setValue(round(self.canvas.label_opacity * 100))
        self.opacity.setToolTip("Opacity of the label colours over the render in the blend view")
        toolbar.addWidget(self.opacity)
        toolbar.addSeparator()
        toolbar.addAction(self.act_fit)
        self.addToolBar(toolbar)
        self._fill_recent(self.files.recent())

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.cursor_label = QLabel("—")
        self.selection_label = QLabel("No selection")
        self.render_label = QLabel()
        self.model_label = QLabel()
        self.zoom_label = QLabel()
        self.cursor_label.setMinimumWidth(330)
        self.cursor_label.setToolTip("Cursor position, label and instance id under it")
        self.selection_label.setToolTip("Selected object: its instance id and class")
        self.render_label.setToolTip("Render state and the time the last render took")
        self.render_label.setMinimumWidth(250)
        bar.addWidget(self.cursor_label)
        bar.addWidget(self.selection_label, 1)
        for w in (self.render_label, self.model_label, self.zoom_label):
            bar.addPermanentWidget(w)

    def _connect(self) -> None:
        s = self.state
        self.canvas.cursor_moved.connect(self._show_cursor)
        s.committed.connect(lambda: self._show_cursor(self._cursor))  # the pixel under it may have changed
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        s.selection_changed.connect(self._show_selection)
        s.committed.connect(lambda: self._show_selection(s.selection))
        s.mode_changed.connect(lambda m: self.act_mode.setChecked(m is InstanceMode.NEW))
        s.label_set_changed.connect(lambda _ls: self._build_label_shortcuts())
        s.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        s.render_requested.connect(self._on_render_requested)
        s.stack.cleanChanged.connect(lambda _c: self._update_title())
        self.worker.rendered.connect(self._on_rendered)
        self.worker.failed.connect(self._on_render_failed)
        self.files.status.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.files.path_changed.connect(self._on_path_changed)
        self.style_palette.photo_button.clicked.connect(self.photo_style_dialog)
        self.files.recent_changed.connect(self._fill_recent)
        self.view_combo.currentIndexChanged.connect(lambda _i: self.set_view(self.view_combo.currentData()))
        self.opacity.valueChanged.connect(lambda v: self.canvas.set_label_opacity(v / 100))

    # ----- tools and views ----------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        self.tool_actions[name].setChecked(True)
        self.canvas.set_tool(self.tools[name])

    def saved_view_mode(self) -> ViewMode:
        try:
            return ViewMode(str(self.settings.value("view/mode", ViewMode.SIDE_BY_SIDE.value)))
        except ValueError:
            return ViewMode.SIDE_BY_SIDE

    def set_view(self, mode: ViewMode) -> None:
        self.canvas.set_view_mode(mode)
        self.mirror.setVisible(mode is ViewMode.SIDE_BY_SIDE)
        self.settings.setValue("view/mode", mode.value)
        self.view_actions[mode].setChecked(True)
        self.view_combo.blockSignals(True)
        self.view_combo.setCurrentIndex(list(ViewMode).index(mode))
        self.view_combo.blockSignals(False)
        self.opacity.setEnabled(mode is ViewMode.BLEND)

    def _toggle_mode(self) -> None:
        self.state.set_mode(InstanceMode.NEW if self.act_mode.isChecked() else InstanceMode.EXTEND)

    def _random_style(self) -> None:
        if self.state.selection is not None:
            self.state.random_style(self.state.selection)

    def _focus_label_search(self) -> None:
        self.dock_labels.show()
        self.label_palette.search.setFocus()
        self.label_palette.search.selectAll()

    # ----- status bar ---------------------------------------------------------------------------
    def _show_cursor(self, pos: tuple[int, int] | None) -> None:
        self._cursor = pos
        if pos is None or not self.state.document.contains(*pos):
            self.cursor_label.setText("—")
            return
        x, y = pos
        doc = self.state.document
        label = doc.label_at(x, y)
        inst = doc.instance_at(x, y)
        try:
            name = doc.label_set.by_id(label).name
        except EditorError:
            name = "?"
        self.cursor_label.setText(f"x {x}, y {y}   {name} ({label})   instance {inst}")

    def _show_selection(self, sel: int | None) -> None:
        is_object = self.state.is_object(sel)
        for action in (self.act_delete, self.act_duplicate):
            action.setEnabled(is_object)
        for action in (self.act_relabel, self.act_deselect, self.act_random, self.act_photo_style):
            action.setEnabled(sel is not None)
        if sel is None:
            self.selection_label.setText("No selection")
        else:
            style = self.state.document.styles.get(sel)
            extra = "" if style is None else f" · style {style if isinstance(style, int) else 'custom'}"
            self.selection_label.setText(f"Selected: {self.state.describe_instance(sel)}{extra}")

    @property
    def model_loading(self) -> bool:
        return self._loader is not None and self._loader.isRunning()

    def _show_model_state(self) -> None:
        self.mirror.model_loading = self.model_loading
        self.mirror.update()
        if self.worker.renderer is None:
            if self.model_loading:
                self.render_label.setText("loading model…")
            else:
                self.model_label.setText("No model loaded")
                self.render_label.setText("label view only (Model ▸ Open model…)")
        else:
            self.model_label.setText(f"Model: {self.model_name} ({self.worker.base_renderer.label_set.name})")

    def _on_render_requested(self, request: RenderRequest) -> None:
        if self.worker.renderer is not None:
            self.render_label.setText(self.render_status.requested())

    def _on_rendered(self, result: RenderResult) -> None:
        """Paste a result (the worker made it display-ready: this is a rectangle copy at most)."""
        if result.area.whole:
            if result.pixels.shape[:2] != self.document.labels.shape:
                return  # a frame of a scene that has since been replaced
            self.canvas.set_stale_render(False)  # the new model's first whole frame
            self.canvas.set_render(result.pixels, None)
        elif result.pixels.size:
            self.canvas.set_render(result.pixels, result.area.box)
        current = result.version == self.document.version
        if result.committed:
            self.render_version = result.version
            self.render_seconds = result.seconds
        if result.full_size_exact:
            self.exact_version = result.version
        elif result.scale != 1 and result.pixels.size:
            self.exact_version = -1  # the canvas now shows a smaller render, not what an export writes
        self.render_label.setText(self.render_status.result(result.kind, result.seconds, current))
        if self.files.pending_export is not None and current and result.full_size_exact:
            self.files.render_arrived(result.version, self.canvas.render_image())
        if self._pending_compare is not None and current and result.full_size_exact:
            path, self._pending_compare = self._pending_compare, None
            self._write_compare(path)

    def _on_render_failed(self, _version: int, message: str) -> None:
        self.render_label.setText("render failed")
        self.statusBar().showMessage(message, 8000)

    def _render_for_export(self, version: int) -> np.ndarray | None:
        if self.exact_version == version:
            return self.canvas.render_image()
        self.worker.request_full_size()  # export is full size whatever the render size
        return None

    def open_sample(self, path: Path) -> bool:
        """Open a bundled sample as an untitled scene (Save asks where), titled after the sample."""
        if not self.files.open_path(path, as_template=True):
            return False
        self.scene_name = f"{Path(path).name.replace('_labelIds', '').removesuffix('.png')} (sample)"
        self._update_title()
        return True

    def _on_path_changed(self, _path: object) -> None:
        self.scene_name = None
        self._update_title()

    def _update_title(self) -> None:
        path = self.state.document.path
        name = (
            path.name.replace("_labelIds", "").removesuffix(".png") if path else self.scene_name or "Untitled"
        )
        self.setWindowTitle(f"{name}{' •' if not self.state.stack.isClean() else ''} — {APP_NAME}")

    def _fill_recent(self, items: list[str]) -> None:
        self.recent_menu.clear()
        for path in items:
            self.recent_menu.addAction(
                Path(path).name, lambda p=path: self.files.confirm_discard() and self.files.open_path(p)
            )
        self.recent_menu.setEnabled(bool(items))

    def show_shortcuts(self) -> None:
        lines = []
        for action in self.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                lines.append(
                    f"<tr><td><b>{keys}</b></td><td>&nbsp;{action.text().replace('&', '')}</td></tr>"
                )
        lines.append("<tr><td><b>Space+drag / middle drag</b></td><td>&nbsp;Pan</td></tr>")
        lines.append("<tr><td><b>Wheel</b></td><td>&nbsp;Zoom around the cursor</td></tr>")
        QMessageBox.information(self, "Keyboard shortcuts", "<table>" + "".join(lines) + "</table>")

    # ----- incremental rendering ----------------------------------------------------------------
    @property
    def incremental_enabled(self) -> bool:
        return str(self.settings.value("render/incremental", "true")).lower() in ("true", "1")

    def _toggle_incremental(self) -> None:
        self.settings.setValue("render/incremental", self.act_incremental.isChecked())
        if self._model is not None:
            self._use_renderer()
            self.state.request_render()

    def _use_renderer(self) -> None:
        """Give the worker the loaded model, wrapped for incremental rendering when that is on."""
        loaded = self._model
        if loaded is None:
            return
        use_incremental = self.incremental_enabled and loaded.incremental is not None
        renderer = loaded.incremental if use_incremental else loaded.renderer
        self.worker.set_renderer(renderer)  # the worker drops the old wrapper's cache (see RenderWorker)
        tip = "Render state and the time the last render took."
        if use_incremental and loaded.cache is not None:
            tip += f"\nIncremental rendering on: {loaded.cache.describe()}."
            tip += "\nA stroke shows a quick preview, then the updated region; the exact frame follows when idle."
        elif loaded.incremental is not None:
            tip += "\nIncremental rendering off (Render menu): every change renders the whole frame."
        self.render_label.setToolTip(tip)
        self.render_status.incremental = use_incremental
        self.render_controls.set_incremental(loaded.incremental if use_incremental else None)

    # ----- model --------------------------------------------------------------------------------
    def open_model_dialog(self) -> None:
        start = str(DEFAULT_CHECKPOINT.parent)
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open model: a checkpoint's config.json or an official latest_net_G.pth",
            start,
            "Checkpoints (*.pth *.json *.safetensors);;All files (*)",
        )
        if path:
            self.load_model(Path(path))

    def open_model_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open model folder", str(DEFAULT_CHECKPOINT.parent))
        if path:
            self.load_model(Path(path))

    def load_model(self, path: Path) -> None:
        if self._loader is not None and self._loader.isRunning():
            self.statusBar().showMessage("A model is already loading", 4000)
            return
        self.model_label.setText(f"Loading model {Path(path).name}…")
        self._loader = ModelLoader(
            Path(path),
            self,
            (self.document.width, self.document.height),
            self.render_controls.precision_request,
        )
        self._loader.loaded.connect(self._on_model_loaded)
        self._loader.failed.connect(self._on_model_failed)
        self._loader.start()
        self._show_model_state()

    def _on_model_loaded(self, loaded: ModelBundle | Any, path: Path) -> None:
        if self._loader is not None:
            self._loader.wait(5000)  # it emits as its last act: let isRunning() turn false
        if not isinstance(loaded, ModelBundle):
            loaded = ModelBundle(loaded, None, None)  # a bare renderer (tests, injected)
        renderer = loaded.renderer
        try:
            base_renderer(renderer).label_set.check_ids(self.document.labels)
        except EditorError as exc:
            self._on_model_failed(f"{path}: this model's label set cannot render the open scene ({exc})")
            return
        self._model = loaded
        self._model_path = Path(path)
        self._use_renderer()
        self.model_name = model_display_name(Path(path))
        if hasattr(base_renderer(renderer), "precision"):
            self.render_controls.show_precision(base_renderer(renderer).precision)
        if self.canvas.has_render:  # the previous model's picture stays, dimmed, until the new frame
            self.canvas.set_stale_render(True)
        label_set = base_renderer(renderer).label_set
        if label_set != self.state.label_set:
            self.state.set_label_set(label_set)
        self._show_model_state()
        self.style_palette.refresh()
        self.state.request_render()
        if self.canvas.stale_render:
            self.render_label.setText(STALE_TEXT)

    def _reload_model(self, _precision: str) -> None:
        """Load the current model again in the precision just chosen in the Render menu."""
        if self._model_path is not None:
            self.load_model(self._model_path)

    def _on_model_failed(self, message: str) -> None:
        if self._loader is not None:
            self._loader.wait(5000)
        self._show_model_state()
        self.files.error(message)

    # ----- object dialogs -----------------------------------------------------------------------
    def relabel_dialog(self) -> bool:
        """Relabel: a searchable chooser of the classes the selection may become (things for an object)."""
        sel = self.state.selection
        if sel is None:
            self.statusBar().showMessage("Select an object or region (V) to relabel it", 4000)
            return False
        chosen = self.class_prompt(
            self,
            self.state.label_set,
            class_id(sel),
            self.state.is_object(sel),
            self.state.describe_instance(sel),
        )
        return chosen is not None and self.state.relabel_selected(int(chosen))

    def photo_style_dialog(self) -> bool:
        """Style from a photo: the clicked photo object's encoder code becomes the selection's style."""
        sel = self.state.selection
        renderer = base_renderer(self.worker.renderer)
        if sel is None:
            self.statusBar().showMessage(
                "Select an object or region (V) first, then take its style from a photo", 5000
            )
            return False
        if not has_encoder(renderer):
            self.files.error("This model has no feature encoder, so it cannot take styles from a photo")
            return False
        dialog = PhotoStyleDialog(renderer, self.state.describe_instance(sel), self, class_id(sel))
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.code is None:
            return False
        if dialog.mismatch:  # the user chose "Use anyway"
            self.statusBar().showMessage("Another class's code: it may look wrong (Ctrl+Z undoes it)", 8000)
        return self.state.set_style(sel, dialog.code)

    # ----- exports ------------------------------------------------------------------------------
    @property
    def export_labels_too(self) -> bool:
        return str(self.settings.value("export/labels_too", "true")).lower() in ("true", "1")

    def _toggle_export_labels(self) -> None:
        self.settings.setValue("export/labels_too", self.act_export_labels_too.isChecked())

    def _export_start(self, kind: str) -> str:
        path = self.state.document.path
        stem = (
            path.name.replace("_labelIds", "").removesuffix(".png")
            if path
            else (self.scene_name or "scene").replace(" (sample)", "")
        )
        return str((path.parent if path else Path.cwd()) / f"{stem}_{kind}.png")

    def _ask_png(self, title: str, kind: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, self._export_start(kind), "PNG image (*.png)")
        return Path(path).with_suffix(".png") if path else None

    def export_render_dialog(self) -> bool:
        path = self._ask_png("Export render", "render")
        return path is not None and self.export_render(path)

    def export_render(self, path: Path) -> bool:
        """The full-resolution render (when it is up to date, or as soon as it is), and the label
        colours beside it as NAME_labels.png when that option is on."""
        if not self.files.export_to(path):
            return False
        if self.export_labels_too:
            return self.export_labels(companion_path(path, "labels"))
        return True

    def export_labels_dialog(self) -> bool:
        path = self._ask_png("Export label colours", "labels")
        return path is not None and self.export_labels(path)

    def export_labels(self, path: Path) -> bool:
        return self._write(path, label_colours(self.document.labels, self.state.label_set))

    def export_compare_dialog(self) -> bool:
        path = self._ask_png("Export side-by-side comparison", "compare")
        return path is not None and self.export_compare(path)

    def export_compare(self, path: Path) -> bool:
        """Labels | render in one PNG, with the exact full-size render of the scene (waits for it)."""
        if self.worker.renderer is None:
            self.files.error("No model is loaded, so there is no render to compare (Model ▸ Open model…)")
            return False
        image = self._render_for_export(self.document.version)
        if image is not None:
            return self._write_compare(path)
        self._pending_compare = path
        self.statusBar().showMessage(f"Export to {path.name} waits for the render…", 6000)
        self.state.request_render()
        return True

    def _write_compare(self, path: Path) -> bool:
        render = self.canvas.render_image()
        if render is None:
            return False
        return self._write(
            path, side_by_side(label_colours(self.document.labels, self.state.label_set), render)
        )

    def _write(self, path: Path, image: np.ndarray) -> bool:
        if not self.files.write_exports({path: image}):
            return False
        self.statusBar().showMessage(f"Exported {path.name} ({image.shape[1]}×{image.shape[0]})", 6000)
        return True

    # ----- lifetime -----------------------------------------------------------------------------
    def offer_recovery(self) -> bool:
        """After a crash: offer the autosaved scenes (Recover / Discard); True when one was opened."""
        return offer_recovery(self.state, self.autosave, self.files.error, self.recovery_prompt, self)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.confirm_discard():
            event.ignore()
            return
        self.autosave.close(clear=True)  # a clean exit: saved or knowingly discarded
        self._save_layout()
        self.shutdown()
        event.accept()

    def _restore_layout(self) -> None:
        geometry, layout = self.settings.value("window/geometry"), self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if layout is not None and not self.restoreState(layout, LAYOUT_VERSION):
            log.info("the saved dock layout is from an older version of the editor: using the default")

    def _save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))

    def shutdown(self) -> None:
        """Stop the threads and cut the stack's signals (it emits while being destroyed). Idempotent."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for signal in (self.state.stack.cleanChanged, self.state.stack.indexChanged):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass
        self.autosave.close(clear=False)
        self.style_palette.shutdown()
        self.anomaly.shutdown()
        self.worker.stop()
        if self._loader is not None:
            self._loader.wait(30000)
