"""The class chooser that Relabel opens: a searchable list of the classes an object may become.

An object (a thing with its own id) may become another thing class only; a stuff region may become
any class. The object's current class is listed but disabled. Type to filter, Enter or a
double-click chooses.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from model.labels import LabelSet


def colour_icon(rgb: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


class ClassChooser(QDialog):
    def __init__(
        self, label_set: LabelSet, current: int, things_only: bool, title: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Relabel object")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Type to search the classes…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        for label in sorted(label_set.labels, key=lambda lab: lab.name):
            if label.id == label_set.unlabeled_id or (things_only and not label.is_thing):
                continue
            item = QListWidgetItem(colour_icon(label.color), f"{label.name}  ({label.id})")
            item.setData(Qt.ItemDataRole.UserRole, label.id)
            if label.id == current:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setText(f"{label.name}  ({label.id}, current)")
            self.list.addItem(item)
        kind = "thing classes (it keeps its shape)" if things_only else "classes (it keeps its shape)"
        heading = QLabel(f"<b>{title}</b><br>Choose one of the {kind}:")
        heading.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Relabel")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)
        self.resize(320, 420)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._accept_first)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.list.currentItemChanged.connect(lambda _a, _b: self._update_ok())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.filter("")

    def visible_ids(self) -> list[int]:
        return [
            int(self.list.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.list.count())
            if not self.list.item(i).isHidden()
        ]

    def filter(self, text: str) -> None:
        text = text.strip().lower()
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            hidden = bool(text) and text not in item.text().lower()
            item.setHidden(hidden)
            if not hidden and first is None and item.flags() & Qt.ItemFlag.ItemIsEnabled:
                first = item
        self.list.setCurrentItem(first)
        self._update_ok()

    def _update_ok(self) -> None:
        item = self.list.currentItem()
        ok = item is not None and not item.isHidden() and bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def _accept_first(self) -> None:
        if self.chosen() is not None:
            self.accept()

    def chosen(self) -> int | None:
        item = self.list.currentItem()
        if item is None or item.isHidden() or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        return int(item.data(Qt.ItemDataRole.UserRole))


def choose_class(
    parent: QWidget | None, label_set: LabelSet, current: int, things_only: bool, title: str
) -> int | None:
    """Ask for the new class (modal); None when cancelled."""
    dialog = ClassChooser(label_set, current, things_only, title, parent)
    dialog.search.setFocus()
    return dialog.chosen() if dialog.exec() == QDialog.DialogCode.Accepted else None
