"""Tool options: brush size, instance mode (new object / extend) and the selected-object actions."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QRadioButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from editor.state import EditorState, InstanceMode


class ToolOptions(QWidget):
    def __init__(
        self, state: EditorState, object_actions: Sequence[QAction] = (), parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(state.MIN_BRUSH, 200)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(state.MIN_BRUSH, state.MAX_BRUSH)
        self.size_spin.setSuffix(" px")
        for w in (self.size_slider, self.size_spin):
            w.setToolTip("Brush diameter in image pixels ([ smaller, ] larger)")
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_slider, 1)
        size_row.addWidget(self.size_spin)

        self.new_button = QRadioButton("New object")
        self.new_button.setToolTip("Painting a thing class (car, person…) creates a new instance (N toggles)")
        self.extend_button = QRadioButton("Extend object")
        self.extend_button.setToolTip(
            "Painting a thing class extends the object under the stroke start (N toggles)"
        )
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.new_button)
        self.mode_group.addButton(self.extend_button)

        paint = QGroupBox("Paint")
        form = QFormLayout(paint)
        form.addRow("Size", size_row)
        mode_row = QHBoxLayout()
        mode_row.addWidget(self.new_button)
        mode_row.addWidget(self.extend_button)
        form.addRow("Things", mode_row)

        objects = QGroupBox("Selected object")
        grid = QGridLayout(objects)
        for i, action in enumerate(object_actions):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(
                button.sizePolicy().horizontalPolicy().Expanding, button.sizePolicy().verticalPolicy()
            )
            grid.addWidget(button, i // 2, i % 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(paint)
        layout.addWidget(objects)
        layout.addStretch(1)

        self.size_slider.valueChanged.connect(state.set_brush_size)
        self.size_spin.valueChanged.connect(state.set_brush_size)
        self.new_button.toggled.connect(lambda on: on and state.set_mode(InstanceMode.NEW))
        self.extend_button.toggled.connect(lambda on: on and state.set_mode(InstanceMode.EXTEND))
        state.brush_changed.connect(self._show_size)
        state.mode_changed.connect(self._show_mode)
        self._show_size(state.brush_size)
        self._show_mode(state.mode)

    def _show_size(self, size: int) -> None:
        for w in (self.size_slider, self.size_spin):
            w.blockSignals(True)
            w.setValue(size)
            w.blockSignals(False)

    def _show_mode(self, mode: InstanceMode) -> None:
        (self.new_button if mode is InstanceMode.NEW else self.extend_button).setChecked(True)
