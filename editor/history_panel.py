"""The undo history panel: the stack's latest steps (click a row to go back to it).

QUndoView resets its whole model on every stack change, and any list view lays out all of its rows
when one is inserted, so both cost time proportional to the number of steps on each stroke. This
model follows the stack with row inserts and removals and shows at most ``window`` steps (the
newest, or those around the current one); older ones fold into a first row "⋯ N earlier steps".
A stroke therefore costs the same at step 10 and step 10,000.
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
WINDOW = 100


class HistoryModel(QAbstractListModel):
    """Row r is the stack state ``offset + r`` (state i: after step i; state 0: before the first)."""

    def __init__(
        self,
        stack: QUndoStack,
        empty_label: str = "Opened scene",
        window: int = WINDOW,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.stack = stack
        self.empty_label = empty_label
        self.window = window
        self.offset, self._rows = self._wanted()
        stack.indexChanged.connect(self.sync)
        rebuilt = getattr(stack, "rebuilt", None)
        if rebuilt is not None:
            rebuilt.connect(self.reset)

    def _wanted(self) -> tuple[int, int]:
        count, index = self.stack.count(), self.stack.index()
        offset = max(0, min(index, count - self.window))
        return offset, count - offset + 1

    def state_of(self, row: int) -> int:
        return self.offset + row

    def row_of(self, state: int) -> int:
        return state - self.offset

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._rows

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or row >= self._rows:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if row == 0:
                return self.empty_label if self.offset == 0 else f"⋯ {self.offset} earlier steps"
            return self.stack.text(self.offset + row - 1)
        if role == Qt.ItemDataRole.ToolTipRole:
            if row == 0:
                return "The scene as opened" if self.offset == 0 else "Return here; Ctrl+Z undoes further"
            return "Click to return to this point"
        return None

    def sync(self, _index: int | None = None) -> None:
        """Follow the stack with O(changed rows) inserts and removals (a reset when it jumped back)."""
        if getattr(self.stack, "rebuilding", False):
            return
        offset, rows = self._wanted()
        if offset < self.offset or offset - self.offset >= self._rows:
            self.reset()
            return
        if offset > self.offset:  # the oldest shown steps fold into the first row
            self.beginRemoveRows(QModelIndex(), 1, offset - self.offset)
            self._rows -= offset - self.offset
            self.offset = offset
            self.endRemoveRows()
            first = self.index(0)
            self.dataChanged.emit(first, first)
        if rows < self._rows:
            self.beginRemoveRows(QModelIndex(), rows, self._rows - 1)
            self._rows = rows
            self.endRemoveRows()
        elif rows > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, rows - 1)
            self._rows = rows
            self.endInsertRows()
        current = self.index(self.row_of(self.stack.index()))
        self.dataChanged.emit(current, current)  # a push after undos replaced this row's step

    def reset(self) -> None:
        self.beginResetModel()
        self.offset, self._rows = self._wanted()
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
        state = self.history_model.state_of(index.row())
        if index.isValid() and state != self.stack.index():
            self.stack.setIndex(state)

    def _show_current(self, _index: int | None = None) -> None:
        if getattr(self.stack, "rebuilding", False):
            return
        current = self.history_model.index(self.history_model.row_of(self.stack.index()))
        self.selectionModel().setCurrentIndex(current, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.scrollTo(current)
