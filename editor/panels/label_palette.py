"""The label palette: searchable class list with Cityscapes colours and number-key shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from editor.state import EditorState
from model.errors import LabelSetError
from model.labels import LabelSet

# Frequent classes for keys 1…9, 0 (by name; classes the label set lacks are skipped)
FREQUENT = ("road", "sidewalk", "building", "vegetation", "sky", "car", "person", "terrain", "pole", "truck")


def swatch(rgb: tuple[int, int, int], size: int = 16, outline: bool = True) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setBrush(QColor(*rgb))
    painter.setPen(QColor(20, 20, 20) if outline else Qt.PenStyle.NoPen)
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


def frequent_ids(label_set: LabelSet) -> list[int]:
    """Ids bound to keys 1…9, 0: the frequent Cityscapes classes, else the first ten classes."""
    names = {label.name: label.id for label in label_set.labels}
    ids = [names[n] for n in FREQUENT if n in names]
    if len(ids) < 5:
        ids = [label.id for label in label_set.labels if label.id != label_set.unlabeled_id]
    return ids[:10]


class LabelPalette(QWidget):
    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.search = QLineEdit(placeholderText="Search classes…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        self.current = QLabel()
        self.current.setObjectName("currentLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.current)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self.pick_first_match)
        self.list.currentItemChanged.connect(self._picked)
        state.label_changed.connect(self._show_current)
        state.label_set_changed.connect(lambda _ls: self.populate())
        self.populate()

    def populate(self) -> None:
        label_set = self.state.label_set
        keys = {label_id: (i + 1) % 10 for i, label_id in enumerate(frequent_ids(label_set))}
        self.list.blockSignals(True)
        self.list.clear()
        for label in label_set.labels:
            key = f"   [{keys[label.id]}]" if label.id in keys else ""
            kind = "  ◆" if label.is_thing else ""
            item = QListWidgetItem(swatch(label.color), f"{label.name}{kind}{key}")
            item.setData(Qt.ItemDataRole.UserRole, label.id)
            item.setToolTip(
                f"{label.name}: id {label.id}, colour {label.color}"
                + (", thing class (has instances)" if label.is_thing else ", stuff class")
            )
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._filter(self.search.text())
        self._show_current(self.state.current_label)

    def _filter(self, text: str) -> None:
        text = text.strip().lower()
        for row in range(self.list.count()):
            item = self.list.item(row)
            hidden = (
                bool(text)
                and text not in item.text().lower()
                and text != str(item.data(Qt.ItemDataRole.UserRole))
            )
            item.setHidden(hidden)

    def pick_first_match(self) -> None:
        """Enter in the search box: take the first class the filter shows."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if not item.isHidden():
                self.list.setCurrentItem(item)
                return

    def _picked(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is not None:
            self.state.set_label(int(item.data(Qt.ItemDataRole.UserRole)))

    def _show_current(self, label_id: int) -> None:
        try:
            label = self.state.label_set.by_id(label_id)
        except LabelSetError:
            return
        r, g, b = label.color
        fg = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
        self.current.setText(f"  {label.name}  ·  id {label.id}{'  ·  thing' if label.is_thing else ''}")
        self.current.setStyleSheet(
            f"background: rgb({r},{g},{b}); color: {fg}; padding: 6px; border-radius: 4px;font-weight: 600;"
        )
        for row in range(self.list.count()):
            item = self.list.item(row)
            if int(item.data(Qt.ItemDataRole.UserRole)) == label_id:
                if self.list.currentItem() is not item:
                    self.list.blockSignals(True)
                    self.list.setCurrentItem(item)
                    self.list.blockSignals(False)
                break
