"""The undo history panel: a list of the stack's steps (click a row to go back to it).

QUndoView resets its whole model on every stack change, which costs time proportional to the
number of steps on each stroke. This model follows the stack with row inserts and removals
instead, so a step costs the same at step 10 and step 10,000; a rebuild of a bounded stack (its
oldest steps dropped) resets it once.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

Index = QModelIndex | QPersistentModelIndex


class HistoryModel(QAbstractListModel):
    """Row 0 is the state before the first step; row i is the state after step i."""

    def __init__(self, stack: QUndoStack, empty_label: str = "Opened scene", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = stack
        self.empty_label = empty_label
        self._rows = stack.count() + 1
        stack.indexChanged.connect(self.sync)
        rebuilt = getattr(stack, "rebuilt", None)
        if rebuilt is not None:
            rebuilt.connect(self.reset)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._rows

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or row >= self._rows:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.empty_label if row == 0 else self.stack.text(row - 1)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Click to return to this point" if row else "The scene as opened"
        return None

    def sync(self, _index: int | None = None) -> None:
        """Match the row count to the stack (O(changed rows)) and refresh the current row's text."""
        if getattr(self.stack, "rebuilding", False):
            return
        rows = self.stack.count() + 1
        if rows < self._rows:
            self.beginRemoveRows(QModelIndex(), rows, self._rows - 1)
            self._rows = rows
            self.endRemoveRows()
        elif rows > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, rows - 1)
            self._rows = rows
            self.endInsertRows()
        current = self.index(self.stack.index())
        self.dataChanged.emit(current, current)  # a push after undos replaced this row's step

    def reset(self) -> None:
        self.beginResetModel()
        self._rows = self.stack.count() + 1
        self.endResetModel()


class HistoryPanel(QListView):
    def __init__(self, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stack = stack
        self.history_model = HistoryModel(stack, parent=self)
        self.setModel(self.history_model)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setToolTip("Undo history: click a step to return to it (Ctrl+Z / Ctrl+Shift+Z)")
        self.clicked.connect(self._go_to)
        stack.indexChanged.connect(self._show_current)
        self._show_current()

    def _go_to(self, index: QModelIndex) -> None:
        if index.isValid() and index.row() != self.stack.index():
            self.stack.setIndex(index.row())

    def _show_current(self, _index: int | None = None) -> None:
        if getattr(self.stack, "rebuilding", False):
            return
        current = self.history_model.index(self.stack.index())
        self.selectionModel().setCurrentIndex(current, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.scrollTo(current)
