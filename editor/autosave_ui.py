"""Autosave in the editor: when to write (AutosavePolicy), the writer thread, and the recovery prompt.

The controller snapshots the maps on the GUI thread (``EditorState.snapshots``: the boxes changed
since that buffer's last use are copied) and the anomaly mask layer (``AnomalyLayer.snapshot``: one
copy of its ids, made only when they changed since the last autosave, none while the layer is empty)
and hands them to the Qt-free :class:`~editor.core.autosave.AutosaveWriter`, so PNG encoding never
blocks the window. It never writes in the middle of a stroke or of a mask drag. Recovery restores
the layer with the maps; a damaged layer file costs only the masks, with one message naming it.
When the undo stack becomes clean (a save, a newly opened scene) the recovery copy is cleared; a
clean exit clears it too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor.core.anomaly_layer import AnomalyLayer
from editor.core.autosave import AutosavePolicy, AutosaveWriter, RecoveryEntry, RecoveryStore
from editor.state import EditorState
from model.errors import EditorError
from model.scene_io import Scene

log = logging.getLogger(__name__)


class AutosaveController(QObject):
    saved = Signal(object)  # RecoveryEntry, on the GUI thread
    failed = Signal(str)  # one-line message

    def __init__(
        self,
        state: EditorState,
        store: RecoveryStore | None = None,
        policy: AutosavePolicy | None = None,
        tick_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.store = store or RecoveryStore()
        self.policy = policy or AutosavePolicy()
        self.writer = AutosaveWriter(self.store, self._report)  # report runs on the writer thread
        self.last_error: str | None = None
        self.anomaly_layer: AnomalyLayer | None = None  # set by the window's AnomalyController
        self.written_version: tuple[int, int] | None = None  # (document, layer) versions of the newest copy
        self.unsaved_edits = 0  # undo steps between the saved state and now: what a copy holds
        self._counted_index = 0  # the undo index unsaved_edits was counted at
        self._closed = False
        state.committed.connect(self._on_committed)
        state.stack.cleanChanged.connect(self._on_clean_changed)
        state.stack.rebuilt.connect(self._on_rebuilt)
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    # ----- triggers -----------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return not self.state.stack.isClean()

    def _on_committed(self) -> None:
        self._count_unsaved()
        if self._closed or not self.dirty:
            return
        self.policy.note_edit(time.monotonic())
        self._tick()

    def _count_unsaved(self) -> None:
        """Steps from the saved state to now; where that state has left the stack (dropped for memory,
        or recovered work that was never saved here), the count carries on from its last value."""
        stack = self.state.stack
        index, clean = stack.index(), stack.cleanIndex()
        if clean >= 0:
            self.unsaved_edits = abs(index - clean)
        else:
            self.unsaved_edits += abs(index - self._counted_index)
        self._counted_index = index

    def _on_rebuilt(self) -> None:
        self._counted_index = self.state.stack.index()  # the oldest steps went; the edits they made did not

    def carry_unsaved_edits(self, count: int) -> None:
        """Recovered work: its copy held ``count`` unsaved edits, on top of which the new ones count."""
        self.unsaved_edits = count
        self._counted_index = self.state.stack.index()

    def _tick(self) -> None:
        layer = self.anomaly_layer
        mid_drag = self.state.document.in_group or (layer is not None and layer.in_group)
        if self.policy.due(time.monotonic()) and not mid_drag:
            self.autosave_now()

    def _versions(self) -> tuple[int, int]:
        layer = self.anomaly_layer
        return self.state.document.version, layer.version if layer is not None else 0

    def _on_clean_changed(self, clean: bool) -> None:
        if self.state.stack.rebuilding:
            return  # the stack is being rebuilt around the same document, not saved
        if clean:
            self.unsaved_edits = 0
            self._counted_index = self.state.stack.index()
        if clean and not self._closed:
            self.policy.reset()
            self.written_version = None
            self.writer.submit_clear()

    # ----- writing ------------------------------------------------------------------------------
    def autosave_now(self, wait: bool = False) -> bool:
        """Queue a write of the current maps (only with unsaved edits); ``wait``: until written."""
        if self._closed or not self.dirty:
            return False
        doc = self.state.document
        edits = max(self.unsaved_edits, 1)
        if wait:
            self.last_error = None
        labels, instances = self.state.snapshots.take()  # changed boxes copied, not both whole maps
        scene = Scene(labels=labels, instances=instances, styles=dict(doc.styles))
        anomaly = self.anomaly_layer.snapshot() if self.anomaly_layer is not None else None
        self.writer.submit_write(scene, doc.path, doc.label_set.name, edits, anomaly)
        self.written_version = self._versions()
        self.policy.reset()
        if wait:
            self.writer.flush()
        return True

    def ensure_current(self) -> None:
        """Before a save: make the recovery copy hold exactly the maps and masks about to be written
        (waits)."""
        if self.written_version != self._versions() or self.last_error is not None:
            self.autosave_now(wait=True)
        else:
            self.writer.flush()

    def _report(self, entry: RecoveryEntry | None, error: str | None) -> None:
        self.last_error = error
        if error is not None:
            self.failed.emit(error)
        elif entry is not None:
            self.saved.emit(entry)

    def close(self, clear: bool) -> None:
        """Stop autosaving. ``clear``: a clean exit, so the recovery copy goes; else it stays."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        if clear:
            self.writer.submit_clear()
        self.writer.close()
        self.store.close()


# ----- the recovery prompt ------------------------------------------------------------------------
@dataclass(frozen=True)
class RecoveryChoice:
    action: str  # "recover", "discard" or "later"
    entry: RecoveryEntry | None = None


Prompt = Callable[[QWidget | None, list[RecoveryEntry]], RecoveryChoice]
ITEM_PADDING_PX = 24  # a list row's own margins around its text (style dependent; generous)


class RecoveryDialog(QDialog):
    def __init__(self, entries: list[RecoveryEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover unsaved work")
        self.entries = entries
        self.choice = RecoveryChoice("later")
        text = QLabel("The editor did not close properly last time. These scenes have unsaved work:")
        text.setWordWrap(True)
        self.list = QListWidget()
        for entry in entries:
            self.list.addItem(entry.describe())
            item = self.list.item(self.list.count() - 1)
            item.setToolTip(str(entry.source) if entry.source is not None else entry.name)
        self.list.setCurrentRow(0)
        self.list.setMinimumWidth(self._list_width(entries))
        self.list.setWordWrap(True)  # a line wider than the screen wraps rather than being cut
        buttons = QDialogButtonBox()
        self.recover_button = QPushButton("Recover")
        self.discard_button = QPushButton("Discard")
        self.recover_button.setToolTip("Open the selected scene with its unsaved edits")
        self.discard_button.setToolTip("Delete every recovery copy listed here")
        buttons.addButton(self.recover_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.recover_button.setDefault(True)
        self.recover_button.clicked.connect(self._recover)
        self.discard_button.clicked.connect(self._discard)
        self.list.itemDoubleClicked.connect(lambda _item: self._recover())
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        """Size the list again once shown: the font it is drawn with is only final after polishing."""
        self.list.setMinimumWidth(self._list_width(self.entries))
        super().showEvent(event)

    def _list_width(self, entries: list[RecoveryEntry]) -> int:
        """Wide enough for the longest line (scene, date, size, edits), up to 90% of the screen."""
        metrics = self.list.fontMetrics()
        widest = max((metrics.horizontalAdvance(entry.describe()) for entry in entries), default=0)
        frame = 2 * self.list.frameWidth() + self.list.verticalScrollBar().sizeHint().width()
        screen = self.screen()
        limit = int(0.9 * screen.availableGeometry().width()) if screen is not None else 1600
        return min(widest + frame + ITEM_PADDING_PX, limit)

    def _recover(self) -> None:
        row = max(self.list.currentRow(), 0)
        self.choice = RecoveryChoice("recover", self.entries[row])
        self.accept()

    def _discard(self) -> None:
        self.choice = RecoveryChoice("discard")
        self.accept()


def ask_recovery(parent: QWidget | None, entries: list[RecoveryEntry]) -> RecoveryChoice:
    """The modal prompt; closing it (Esc) keeps the copies for the next start."""
    dialog = RecoveryDialog(entries, parent)
    dialog.exec()
    return dialog.choice


def offer_recovery(
    state: EditorState,
    controller: AutosaveController,
    show_error: Callable[[str], None],
    prompt: Prompt = ask_recovery,
    parent: QWidget | None = None,
) -> bool:
    """Offer the recovery copies of crashed sessions; True when one was opened."""
    entries = controller.store.discover()
    if not entries:
        return False
    log.info("found %d recovery cop%s", len(entries), "y" if len(entries) == 1 else "ies")
    choice = prompt(parent, entries)
    if choice.action == "discard":
        for entry in entries:
            controller.store.discard(entry)
        return False
    if choice.action != "recover" or choice.entry is None:
        return False
    entry = choice.entry
    try:
        scene = controller.store.load(entry, state.label_set)
    except EditorError as exc:
        show_error(f"Cannot recover {entry.name}: {exc}")
        return False
    layer = controller.anomaly_layer
    masks, masks_error = None, None
    if layer is not None:
        try:
            masks = controller.store.load_anomaly(entry)
        except EditorError as exc:
            masks_error = f"Recovered {entry.name} without its anomaly masks: {exc}"
    state.reset_document(scene.labels, scene.instances, scene.styles, entry.source)
    if layer is not None and masks is not None:
        layer.reset(scene.size[0], scene.size[1], masks)  # after the reset, which empties the layer
    state.stack.resetClean()  # recovered work is unsaved work
    controller.carry_unsaved_edits(entry.edits)
    controller.policy.note_edit(time.monotonic())
    controller.autosave_now(wait=True)  # our own copy first, then the old one may go
    if controller.last_error is None:
        controller.store.discard(entry)
    state.message.emit(
        f"Recovered {entry.name} (autosaved {time.strftime('%H:%M:%S', time.localtime(entry.saved_at))}); "
        "save it to keep it"
    )
    if masks_error is not None:
        show_error(masks_error)
    return True
