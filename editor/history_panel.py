"""The undo history panel: a QUndoView on the editor's stack (click a row to go back to it)."""
from __future__ import annotations

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QUndoView, QWidget


class HistoryPanel(QUndoView):
    def __init__(self, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(stack, parent)
        self.setEmptyLabel("Opened scene")
        self.setToolTip("Undo history: click a step to return to it (Ctrl+Z / Ctrl+Shift+Z)")
