"""Copies of the document maps for render requests, kept current by the changed boxes only.

A render request needs maps that stay fixed while the worker reads them, but copying both maps
(10 MB at 2048×1024) on the GUI thread for every undo step costs milliseconds each time. The pool
keeps a few buffers; each remembers the boxes changed since it was last brought up to date, so
lending one copies only those boxes (a stroke's bounding box, typically a few kB). A buffer comes
back to the pool when the request's ``labels`` view is garbage collected (``weakref.finalize``),
in whichever thread dropped it. No Qt here.
"""

from __future__ import annotations

import logging
import threading
import weakref

import numpy as np

from editor.core.document import Box, Change, Document

log = logging.getLogger(__name__)

MAX_BOXES = 256  # beyond this many separate changed boxes a buffer is simply copied whole
MAX_BUFFERS = 4  # buffers kept; more may be lent at once, the extras are dropped on return


def _overlap(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


class _Buffer:
    def __init__(self, shape: tuple[int, int]) -> None:
        self.labels = np.empty(shape, np.uint8)
        self.instances = np.empty(shape, np.int32)
        self.boxes: list[Box] | None = None  # changed since the last sync; None: everything
        self.lent = False

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    def mark(self, box: Box | None) -> None:
        if self.boxes is None:
            return
        if box is None:
            self.boxes = None
        elif self.boxes and _overlap(self.boxes[-1], box):  # the dabs of one stroke: one box
            last = self.boxes[-1]
            self.boxes[-1] = (
                min(last[0], box[0]),
                min(last[1], box[1]),
                max(last[2], box[2]),
                max(last[3], box[3]),
            )
        elif len(self.boxes) >= MAX_BOXES:
            self.boxes = None
        else:
            self.boxes.append(box)

    def sync(self, doc: Document) -> int:
        """Bring the copy up to ``doc``; returns the number of pixels copied."""
        if self.boxes is None:
            np.copyto(self.labels, doc.labels)
            np.copyto(self.instances, doc.instances)
            copied = doc.labels.size
        else:
            copied = 0
            for x0, y0, x1, y1 in self.boxes:
                self.labels[y0:y1, x0:x1] = doc.labels[y0:y1, x0:x1]
                self.instances[y0:y1, x0:x1] = doc.instances[y0:y1, x0:x1]
                copied += (y1 - y0) * (x1 - x0)
        self.boxes = []
        return copied


class SnapshotPool:
    """Lends read-only snapshots of a document's maps (see the module docstring)."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self._lock = threading.Lock()
        self._buffers: list[_Buffer] = []
        self.last_copied = 0  # pixels copied by the last ``take`` (tests, timing)
        document.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if change.kind == "styles":
            return
        box = change.region if change.kind == "pixels" else None
        with self._lock:
            for buffer in self._buffers:
                buffer.mark(box)

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """(labels, instances) equal to the document's maps now; valid while ``labels`` lives.
        GUI thread only (the document must not change during the call)."""
        doc = self.document
        with self._lock:
            self._buffers = [b for b in self._buffers if b.lent or b.shape == doc.labels.shape]
            buffer = next((b for b in self._buffers if not b.lent and b.shape == doc.labels.shape), None)
            if buffer is None:
                buffer = _Buffer(doc.labels.shape)  # type: ignore[arg-type]
                self._buffers.append(buffer)
            buffer.lent = True
        self.last_copied = buffer.sync(doc)
        labels = buffer.labels[...]  # a view of its own: its death returns the buffer
        labels.flags.writeable = False
        instances = buffer.instances[...]
        instances.flags.writeable = False
        weakref.finalize(labels, self._give_back, buffer)
        return labels, instances

    def _give_back(self, buffer: _Buffer) -> None:
        with self._lock:
            buffer.lent = False
            if len(self._buffers) > MAX_BUFFERS and buffer in self._buffers:
                self._buffers.remove(buffer)

    @property
    def buffers(self) -> int:
        with self._lock:
            return len(self._buffers)
