"""Undo commands. They only call Document.apply / Delta.revert / Delta.reapply.

:class:`BoundedUndoStack` keeps an unlimited number of steps as long as their deltas fit a memory
bound; past it the oldest steps are dropped (the stack is rebuilt from the kept deltas, which are
already applied, so nothing is redone).
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoStack

from editor.document import Delta, Document, Edit

log = logging.getLogger(__name__)

DEFAULT_MEMORY_LIMIT = 512 * 1024 * 1024


class DeltaCommand(QUndoCommand):
    """One undo step holding one delta. ``applied``: the delta is already written (a finished stroke)."""

    def __init__(self, delta: Delta, text: str = "", applied: bool = True) -> None:
        super().__init__(text or delta.description or "Edit")
        self.delta = delta
        self._pending_skip = applied

    def redo(self) -> None:
        if self._pending_skip:
            self._pending_skip = False
            return
        self.delta.reapply()

    def undo(self) -> None:
        self.delta.revert()


def apply_edit(doc: Document, stack: BoundedUndoStack, edit: Edit) -> Delta | None:
    """Apply an edit and push it as one step (nothing is pushed when nothing changed)."""
    delta = doc.apply(edit)
    if delta is not None:
        stack.push_delta(delta)
    return delta


class BoundedUndoStack(QUndoStack):
    def __init__(self, parent: QObject | None = None, memory_limit: int = DEFAULT_MEMORY_LIMIT) -> None:
        super().__init__(parent)
        self.memory_limit = memory_limit
        self._commands: list[DeltaCommand] = []  # mirrors the stack (keeps the Python objects alive)
        self.rebuilding = False

    def push_delta(self, delta: Delta, text: str = "") -> None:
        del self._commands[self.index():]
        command = DeltaCommand(delta, text, applied=True)
        self._commands.append(command)
        self.push(command)
        self._enforce_memory_limit()

    def clear_history(self) -> None:
        self._commands.clear()
        self.clear()

    @property
    def nbytes(self) -> int:
        return sum(c.delta.nbytes for c in self._commands)

    def _enforce_memory_limit(self) -> None:
        sizes = [c.delta.nbytes for c in self._commands]
        total = sum(sizes)
        if total <= self.memory_limit or len(sizes) <= 1:
            return
        drop = 0
        while drop < len(sizes) - 1 and total > self.memory_limit:
            total -= sizes[drop]
            drop += 1
        log.info("undo history over %d MB: dropping the %d oldest steps", self.memory_limit >> 20, drop)
        kept = [(c.delta, c.text()) for c in self._commands[drop:]]  # read before clear() deletes them
        clean = self.cleanIndex() - drop if self.cleanIndex() >= 0 else -1
        self.rebuilding = True
        try:
            self.clear()
            self._commands = []
            for i, (delta, text) in enumerate(kept):
                if i == clean:
                    self.setClean()
                command = DeltaCommand(delta, text, applied=True)
                self._commands.append(command)
                self.push(command)
            if clean == len(kept):
                self.setClean()
            elif clean < 0:
                self.resetClean()
        finally:
            self.rebuilding = False
        self.indexChanged.emit(self.index())
