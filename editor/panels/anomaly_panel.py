"""The Anomalies panel: how masks are drawn, the method, steps and seed, scatter, Apply and export.

It only shows and edits settings and forwards its buttons; ``editor.anomaly_controller`` does the
work and calls :meth:`AnomalyPanel.show_progress` / :meth:`show_status` back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from editor.anomaly_tool import DrawMode
from model.anomaly.synthesis import MAX_STEPS, METHODS, MIN_STEPS

METHOD_TIPS = {
    "paste": "paste: cut-outs of the training object families (boxes, tyres, stains)",
    "perlin": "Perlin: a foreign texture from this frame inside the mask (DRAEM)",
    "diffusion": "diffusion: the bundled inpainter (FAST: FARM + AIAS few-step sampling)",
}
MAX_SCATTER = 32


class AnomalyPanel(QWidget):
    mode_changed = Signal(object)  # DrawMode
    settings_changed = Signal()
    scatter_clicked = Signal(int)
    clear_clicked = Signal()
    apply_clicked = Signal()
    cancel_clicked = Signal()
    export_clicked = Signal()

    def __init__(
        self, method: str = "diffusion", steps: int = 10, seed: int = 0, parent: QWidget | None = None
    ):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        modes = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[DrawMode, QRadioButton] = {}
        for mode, tip in (
            (DrawMode.BRUSH, "Paint a mask (a new one, or the one the drag starts on); Shift+drag erases"),
            (DrawMode.ERASE, "Erase masks under the brush"),
            (DrawMode.POLYGON, "Click corners; double-click or Enter closes the mask"),
        ):
            button = QRadioButton(mode.value.capitalize())
            button.setToolTip(tip)
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            modes.addWidget(button)
            button.toggled.connect(lambda on, m=mode: on and self.mode_changed.emit(m))
        self.mode_buttons[DrawMode.BRUSH].setChecked(True)
        layout.addLayout(modes)

        form = QFormLayout()
        self.method = QComboBox()
        for name in METHODS:
            self.method.addItem(name.capitalize() if name != "perlin" else "Perlin", name)
            self.method.setItemData(self.method.count() - 1, METHOD_TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.method.setCurrentIndex(max(self.method.findData(method), 0))
        self.method.setToolTip("How the anomaly inside each mask is made")
        self.steps = QSpinBox()
        self.steps.setRange(MIN_STEPS, MAX_STEPS)
        self.steps.setValue(steps)
        self.steps.setToolTip("Diffusion sampler steps (network evaluations per mask); 10 is the default")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(seed)
        self.seed.setToolTip("Same masks, method, steps and seed: the same anomalies")
        form.addRow("Method", self.method)
        form.addRow("Steps", self.steps)
        form.addRow("Seed", self.seed)
        layout.addLayout(form)

        scatter = QHBoxLayout()
        self.scatter_count = QSpinBox()
        self.scatter_count.setRange(1, MAX_SCATTER)
        self.scatter_count.setValue(4)
        self.scatter_count.setToolTip("How many masks Scatter places")
        self.scatter_button = QPushButton("Scatter")
        self.scatter_button.setToolTip("Place this many object masks on road and sidewalk (one undo step)")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every anomaly mask (one undo step)")
        scatter.addWidget(self.scatter_count)
        scatter.addWidget(self.scatter_button, 1)
        scatter.addWidget(self.clear_button)
        layout.addLayout(scatter)

        buttons = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Make the anomalies in the render (on a worker thread; keep painting)")
        self.export_button = QPushButton("Export pair…")
        self.export_button.setToolTip(
            "Write NAME.png (render with anomalies), NAME_anomaly.png (0 normal, 1 anomaly, 255 void) "
            "and NAME_anomaly.json (method, seed, steps, boxes)"
        )
        buttons.addWidget(self.apply_button, 1)
        buttons.addWidget(self.export_button, 1)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.status = QLabel("Draw masks with the Anomaly tool (A), or Scatter.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.method.currentIndexChanged.connect(self._on_method)
        self.steps.valueChanged.connect(lambda _v: self.settings_changed.emit())
        self.seed.valueChanged.connect(lambda _v: self.settings_changed.emit())
        self.scatter_button.clicked.connect(lambda: self.scatter_clicked.emit(self.scatter_count.value()))
        self.clear_button.clicked.connect(self.clear_clicked.emit)
        self.apply_button.clicked.connect(self.apply_clicked.emit)
        self.cancel_button.clicked.connect(self.cancel_clicked.emit)
        self.export_button.clicked.connect(self.export_clicked.emit)
        self._on_method(0)

    def _on_method(self, _index: int) -> None:
        self.steps.setEnabled(self.method_name == "diffusion")
        self.settings_changed.emit()

    @property
    def method_name(self) -> str:
        return str(self.method.currentData())

    def set_mode(self, mode: DrawMode) -> None:
        self.mode_buttons[mode].setChecked(True)

    def show_progress(self, done: int | None, total: int = 0) -> None:
        """A running job's progress (None: no job running)."""
        running = done is not None
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        if running:
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(int(done or 0))
            self.progress.setFormat("%v / %m")

    def show_status(self, text: str) -> None:
        self.status.setText(text)
