"""Undo commands. They only call Document.apply / Delta.revert / Delta.reapply.

:class:`BoundedUndoStack` keeps an unlimited number of steps as long as their deltas fit a memory
bound; past it the oldest steps are dropped (the stack is rebuilt from the kept deltas, which are
already applied, so nothing is redone). The memory total is kept as a running sum, so a push
costs the same after 10 or 10,000 steps.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from editor.core.document import Delta, Document, Edit

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
    rebuilt = Signal()  # the oldest steps were dropped: every row of a history view moved

    def __init__(self, parent: QObject | None = None, memory_limit: int = DEFAULT_MEMORY_LIMIT) -> None:
        super().__init__(parent)
        self.memory_limit = memory_limit
        self._commands: list[DeltaCommand] = []  # mirrors the stack (keeps the Python objects alive)
        self._sizes: list[int] = []  # delta.nbytes of each command (a delta's size never changes)
        self._total = 0
        self.rebuilding = False

    def push_delta(self, delta: Delta, text: str = "") -> None:
        cut = self.index()
        if cut < len(self._commands):  # the redo branch goes
            self._total -= sum(self._sizes[cut:])
            del self._commands[cut:], self._sizes[cut:]
        command = DeltaCommand(delta, text, applied=True)
        self._commands.append(command)
        self._sizes.append(delta.nbytes)
        self._total += self._sizes[-1]
        self.push(command)
        self._enforce_memory_limit()

    def clear_history(self) -> None:
        self._commands.clear()
        self._sizes.clear()
        self._total = 0
        self.clear()

    @property
    def nbytes(self) -> int:
        return self._total

    def _enforce_memory_limit(self) -> None:
        if self._total <= self.memory_limit or len(self._sizes) <= 1:
            return
        sizes, total = self._sizes, self._total
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
            self._sizes = sizes[drop:]
            self._total = total
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
        self.rebuilt.emit()
        self.indexChanged.emit(self.index())
