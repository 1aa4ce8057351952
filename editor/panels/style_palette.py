"""The style palette: the selected object's k-means styles, each a swatch of what the object becomes.

A swatch is the object rendered in its own scene with that style, with the canvas's renderer and
InstanceNorm statistics, cropped to a 4:3 box around it (``model.render.swatches``, on its own
thread: ``editor.panels.swatch_worker``). Clicking one sets the object's style through an undo
command. Stuff classes (selected by clicking a stuff region) have per-class styles here too.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from editor.core.document import Box, Document
from editor.panels.swatch_worker import SwatchRequest, SwatchResult, SwatchWorker
from editor.render_worker import RenderWorker, base_renderer
from editor.state import EditorState

log = logging.getLogger(__name__)

ICON = QSize(112, 84)


def swatch_box(doc: Document, box: Box) -> Box:
    """The box a swatch shows around an object's box: padded by a sixth a side, widened to the
    icons' 4:3, at least 48 px high, clipped to the image."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h = max(48.0, (y1 - y0) * 4 / 3, (x1 - x0) * 4 / 3 * 3 / 4)
    w = h * 4 / 3
    x0, x1 = int(max(0, cx - w / 2)), int(min(doc.width, cx + w / 2))
    y0, y1 = int(max(0, cy - h / 2)), int(min(doc.height, cy + h / 2))
    return x0, y0, x1, y1


def to_icon(image: np.ndarray) -> QIcon:
    image = np.ascontiguousarray(image[..., :3])
    height, width = image.shape[:2]
    qimage = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_RGB888).copy()
    return QIcon(
        QPixmap.fromImage(qimage).scaled(
            ICON, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    )


class StylePalette(QWidget):
    COLUMNS = 2

    def __init__(self, state: EditorState, worker: RenderWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.worker = worker
        self.title = QLabel("Select an object (V) to choose its style")
        self.title.setWordWrap(True)
        self.buttons: list[QToolButton] = []
        self.images: dict[int, np.ndarray] = {}  # style index → its swatch (the box below), as rendered
        self.box: Box | None = None  # the document box the swatches show
        self._token: tuple[int, int] | None = None
        self.swatches = SwatchWorker(self)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        # at least one whole row of swatches with their captions, however many docks share the column
        scroll.setMinimumHeight(self.rows_height(1) + 2 * scroll.frameWidth())
        self.scroll = scroll
        self.default_button = QPushButton("Default")
        self.default_button.setToolTip("Clear this object's style (the model's default code)")
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Pick a random style for the selected object (Ctrl+R)")
        self.resample_button = QPushButton("Resample all")
        self.resample_button.setToolTip("Pick a random style for every object and region (Ctrl+Shift+R)")
        self.photo_button = QPushButton("From a photo…")
        self.photo_button.setToolTip(
            "Take this object's style from an object in a labelled photo (Ctrl+Shift+P)"
        )
        row = QHBoxLayout()
        for b in (self.default_button, self.random_button, self.resample_button):
            row.addWidget(b)
        photo_row = QHBoxLayout()
        photo_row.addWidget(self.photo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        layout.addLayout(row)
        layout.addLayout(photo_row)
        self.default_button.clicked.connect(self._clear)
        self.random_button.clicked.connect(self.random_selected)
        self.resample_button.clicked.connect(state.resample_all)
        state.selection_changed.connect(lambda _s: self.refresh())
        state.committed.connect(self._on_committed)
        self.swatches.finished_one.connect(self._on_swatch)
        self.refresh()

    def shutdown(self) -> None:
        self.swatches.stop()

    def rows_height(self, rows: int) -> int:
        """The height of ``rows`` rows of swatch buttons (icon and caption) in the grid."""
        probe = self.swatch_button(0)
        blank = QPixmap(ICON)
        blank.fill(Qt.GlobalColor.transparent)
        probe.setIcon(QIcon(blank))  # a button without an icon would not count the icon's height
        return rows * probe.sizeHint().height() + (rows - 1) * self.grid.spacing()

    def swatch_button(self, index: int) -> QToolButton:
        button = QToolButton()
        button.setIconSize(ICON)
        button.setText(f"Style {index}")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setCheckable(True)
        button.setAutoRaise(True)
        return button

    # ----- actions ------------------------------------------------------------------------------
    def apply_style(self, index: int) -> None:
        sel = self.state.selection
        if sel is not None:
            self.state.set_style(sel, index)

    def random_selected(self) -> None:
        if self.state.selection is not None:
            self.state.random_style(self.state.selection)

    def _clear(self) -> None:
        if self.state.selection is not None:
            self.state.set_style(self.state.selection, None)

    # ----- contents -----------------------------------------------------------------------------
    def _on_committed(self) -> None:
        # pixels or styles changed: thumbnails of the selection are stale only if its pixels moved
        self._mark_current()
        sel = self.state.selection
        if (
            sel is not None
            and self._token is not None
            and self.state.selection_touched
            and self._token[1] != self._shape_key(sel)
        ):
            self.refresh()

    def _shape_key(self, instance: int) -> int:
        """Box and pixel count of an instance (only its box is scanned)."""
        state = self.state
        box = state.selection_box if instance == state.selection else state.document.instance_box(instance)
        return hash((box, int(state.document.instance_mask(instance, box).sum()))) if box else 0

    def refresh(self) -> None:
        for button in self.buttons:
            button.deleteLater()
        self.buttons = []
        self.images = {}
        sel = self.state.selection
        self._token = None
        self.swatches.submit(None)
        enabled = sel is not None
        for b in (self.default_button, self.random_button, self.photo_button):
            b.setEnabled(enabled)
        if sel is None:
            self.title.setText("Select an object or region (V) to choose its style")
            return
        n = self.state.num_styles(sel)
        name = self.state.describe_instance(sel)
        if self.worker.renderer is None:
            self.title.setText(f"<b>{name}</b><br>No model loaded: styles need a model")
            return
        if n == 0:
            self.title.setText(f"<b>{name}</b><br>The model has no styles for this class")
            return
        self.title.setText(f"<b>{name}</b><br>{n} styles (k-means clusters of the instance features)")
        box = self.state.selection_box
        if box is None:
            return
        shares = self.state.style_shares(sel)
        for i in range(n):
            button = self.swatch_button(i)
            common = f", {shares[i]:.0%} of the training examples" if shares is not None else ""
            button.setToolTip(f"Apply style {i} (cluster {i}{common}) to {name}")
            button.clicked.connect(lambda _checked=False, index=i: self.apply_style(index))
            self.grid.addWidget(button, i // self.COLUMNS, i % self.COLUMNS)
            self.buttons.append(button)
        self._mark_current()
        doc = self.state.document
        self._token = (sel, self._shape_key(sel))
        self.box = swatch_box(doc, box)
        self.swatches.set_renderer(base_renderer(self.worker.renderer))
        self.swatches.submit(
            SwatchRequest(
                self._token,
                sel,
                doc.labels.copy(),
                doc.instances.copy(),
                dict(doc.styles),
                self.box,
                tuple(range(n)),
                self.state.seed,
            )
        )

    def _mark_current(self) -> None:
        sel = self.state.selection
        current = self.state.document.styles.get(sel) if sel is not None else None
        for i, button in enumerate(self.buttons):
            button.setChecked(current == i)

    def _on_swatch(self, result: SwatchResult) -> None:
        if result.token != self._token or result.index >= len(self.buttons):
            return
        self.images[result.index] = result.image
        self.buttons[result.index].setIcon(to_icon(result.image))
