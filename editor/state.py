"""Editor state shared by the canvas, the tools and the panels (the only place that pushes commands).

It owns the :class:`Document` (one object for the app's life; opening a file swaps its maps), the
undo stack, the current label, brush size, instance mode and selection, and it schedules renders:
one request per undo-stack step (so one stroke = one request), never during a drag.

Per undo step the GUI thread does work proportional to the step, not to the map: the render
request's maps come from :class:`~editor.core.snapshots.SnapshotPool` (changed boxes copied), and the
selection's bounding box is kept up to date by scanning only the step's region and the old box.
"""

from __future__ import annotations

import logging
import random
from enum import Enum

import numpy as np
from PySide6.QtCore import QObject, Signal

from editor.commands import BoundedUndoStack, apply_edit
from editor.core.document import Box, Change, Delta, Document, Edit, union_box
from editor.core.edits import DeleteInstance, MoveInstance, RelabelInstance, SetStyles
from editor.core.snapshots import SnapshotPool
from editor.render_worker import RenderRequest, RenderWorker
from model.box import Area
from model.errors import LabelSetError
from model.labels import LabelSet, class_of_instance
from model.scene_io import Style

log = logging.getLogger(__name__)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class InstanceMode(Enum):
    NEW = "new"  # a thing stroke creates a new object
    EXTEND = "extend"  # a thing stroke extends the object under its start


def class_id(instance: int) -> int:
    """The class of one instance id (``model.labels.class_of_instance`` for a scalar)."""
    return int(class_of_instance(np.asarray(instance)))


def style_description(style: Style | None, class_name: str) -> str:
    """The undo history's name of a style change: "Style 2 on car", "Photo style on truck"."""
    if style is None:
        return f"Default style on {class_name}"
    if isinstance(style, int):
        return f"Style {style} on {class_name}"
    return f"Photo style on {class_name}"


class EditorState(QObject):
    label_changed = Signal(int)
    brush_changed = Signal(int)
    mode_changed = Signal(object)
    selection_changed = Signal(object)  # int | None
    label_set_changed = Signal(object)  # LabelSet
    document_reset = Signal()
    committed = Signal()  # an undo step was pushed, undone or redone
    render_requested = Signal(object)  # RenderRequest
    message = Signal(str)

    MIN_BRUSH, MAX_BRUSH = 1, 400

    def __init__(
        self, document: Document, worker: RenderWorker | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.worker = worker
        self.stack = BoundedUndoStack(self)
        self.current_label = (
            7
            if document.label_set.valid_mask.size > 7 and document.label_set.valid_mask[7]
            else document.label_set.labels[0].id
        )
        self.brush_size = 24  # diameter in pixels
        self.mode = InstanceMode.NEW
        self.selection: int | None = None
        self.selection_box: Box | None = None  # bounding box of the selection (kept per step)
        self.selection_anchor: tuple[int, int] | None = None  # the pixel the user clicked to select
        self.selection_touched = False  # the last committed step changed the selection's pixels
        self.seed = 0
        self.snapshots = SnapshotPool(document)
        self._dirty: Box | None = None
        self._dirty_all = True
        self._requested_version = -1  # the document version of the last render request
        self._step_region: Box | None = None  # pixels changed since the last committed step
        self._step_all = False
        self._stroke_open = False
        document.subscribe(self._on_change)
        self.stack.indexChanged.connect(self._on_index_changed)

    # ----- simple settings ----------------------------------------------------------------------
    @property
    def label_set(self) -> LabelSet:
        return self.document.label_set

    def set_label(self, label_id: int) -> None:
        label_set = self.label_set
        if not (0 <= label_id < label_set.num_classes and label_set.valid_mask[label_id]):
            return
        if label_id != self.current_label:
            self.current_label = label_id
            self.label_changed.emit(label_id)

    def set_brush_size(self, size: int) -> None:
        size = int(np.clip(size, self.MIN_BRUSH, self.MAX_BRUSH))
        if size != self.brush_size:
            self.brush_size = size
            self.brush_changed.emit(size)

    def grow_brush(self, factor: float) -> None:
        step = (
            max(1, round(self.brush_size * (factor - 1)))
            if factor > 1
            else -max(1, round(self.brush_size * (1 - factor)))
        )
        self.set_brush_size(self.brush_size + step)

    def set_mode(self, mode: InstanceMode) -> None:
        if mode != self.mode:
            self.mode = mode
            self.mode_changed.emit(mode)

    def set_label_set(self, label_set: LabelSet) -> None:
        self.document.label_set = label_set
        if not (0 <= self.current_label < label_set.num_classes and label_set.valid_mask[self.current_label]):
            self.current_label = label_set.labels[0].id
        self.label_set_changed.emit(label_set)
        self.label_changed.emit(self.current_label)

    # ----- selection ----------------------------------------------------------------------------
    def is_object(self, instance: int | None) -> bool:
        """True for a thing with its own instance id (the label set's thing rule), not a stuff region."""
        if instance is None:
            return False
        cls = class_id(instance)
        return cls != instance and self.document.is_thing(cls)

    def select(
        self, instance: int | None, within: Box | None = None, anchor: tuple[int, int] | None = None
    ) -> None:
        """Select an instance id (None: nothing). ``within``: all its pixels lie in this box (a
        stroke that just created it), so only that box is scanned. ``anchor``: the pixel clicked to
        select it; when a later step gives that pixel another id, the selection follows it."""
        if anchor is not None or instance is None:
            self.selection_anchor = anchor
        if instance is not None and instance == self.selection and within is None:
            return
        box = None if instance is None else self.document.instance_box(instance, within)
        if box is None:
            instance = None
        self.selection_box = box
        if instance != self.selection:
            self.selection = instance
            self.selection_changed.emit(instance)

    def _track_selection(self) -> None:
        """After a step: update the selection's box from the changed region only."""
        region, everything = self._step_region, self._step_all
        self._step_region, self._step_all = None, False
        self.selection_touched = False
        sel, old = self.selection, self.selection_box
        if sel is None:
            return
        if everything or old is None:
            box = self.document.instance_box(sel)
        elif region is None or not _overlaps(region, old) and not self._present(sel, region):
            return  # the step did not touch the selection
        else:
            box = self.document.instance_box(sel, union_box(old, region))
        self.selection_touched = True
        anchor = self.selection_anchor
        doc = self.document
        if anchor is not None and doc.contains(*anchor) and doc.instance_at(*anchor) != sel:
            # the clicked region changed class (a fill, a relabel) or moved away: follow the pixel
            # that was clicked for a region; an object that still exists elsewhere stays selected
            now = doc.instance_at(*anchor)
            if box is None or not self.is_object(sel):
                self.select(now, anchor=anchor)
                return
        if box is None:
            self.select(None)
        else:
            self.selection_box = box

    def _present(self, instance: int, region: Box) -> bool:
        x0, y0, x1, y1 = region
        return bool((self.document.instances[y0:y1, x0:x1] == instance).any())

    def describe_instance(self, instance: int) -> str:
        name = self.class_name(instance)
        kind = f"object {instance}" if self.is_object(instance) else f"stuff id {instance}"
        return f"{name} · {kind}"

    # ----- painting -----------------------------------------------------------------------------
    def stroke_target(self, x: int, y: int) -> tuple[int, int]:
        """(label, instance id) a stroke or fill starting at (x, y) paints with."""
        doc = self.document
        label = self.current_label
        if not doc.is_thing(label):
            return label, label
        if self.mode is InstanceMode.EXTEND:
            under = doc.instance_at(x, y) if doc.contains(x, y) else -1
            if self.is_object(under):
                return class_id(under), under
            if self.is_object(self.selection) and class_id(self.selection) == label:
                return label, self.selection
        return label, doc.new_instance_id(label)

    def begin_stroke(self, description: str) -> None:
        self.document.begin_group(description)
        self._stroke_open = True

    def paint(self, edit: Edit) -> None:
        self.document.apply(edit)

    def end_stroke(self) -> Delta | None:
        """Close the stroke's group and push it as one undo step (None: it changed nothing)."""
        self._stroke_open = False
        delta = self.document.end_group()
        if delta is not None:
            self.stack.push_delta(delta)
        return delta

    def cancel_stroke(self) -> None:
        if self.document.in_group:
            self.document.cancel_group()
        self._stroke_open = False

    def apply(self, edit: Edit) -> Delta | None:
        return apply_edit(self.document, self.stack, edit)

    # ----- object operations --------------------------------------------------------------------
    def delete_selected(self) -> bool:
        if not self.is_object(self.selection):
            self.message.emit("Select an object (a thing, not stuff) to delete it")
            return False
        delta = self.apply(DeleteInstance(self.selection))
        self.select(None)
        return delta is not None

    def relabel_selected(self, new_class: int) -> bool:
        """Give the selection the class ``new_class``: same shape, a fresh id, and where the new
        class has styles, the old style's index (modulo their number) so a styled car stays styled.
        One undo step."""
        sel = self.selection
        if sel is None or not (
            0 <= new_class < self.label_set.num_classes and self.label_set.valid_mask[new_class]
        ):
            return False
        if new_class == class_id(sel):
            self.message.emit("The object already has that class")
            return False
        old_style = self.document.styles.get(sel)
        edit = RelabelInstance(sel, new_class)
        doc = self.document
        doc.begin_group("Relabel object")
        try:
            doc.apply(edit)
            n = self.num_styles(new_class)
            if edit.new_instance is not None and isinstance(old_style, int) and n > 0:
                doc.apply(SetStyles({edit.new_instance: old_style % n}, description="Relabel object"))
        except Exception:
            doc.cancel_group()
            raise
        delta = doc.end_group()
        if delta is None:
            return False
        self.stack.push_delta(delta)
        self.select(edit.new_instance, anchor=self.selection_anchor)
        return True

    def move_selected(self, dx: int, dy: int, copy: bool = False) -> bool:
        if not self.is_object(self.selection):
            return False
        edit = MoveInstance(self.selection, dx, dy, copy=copy)
        edit.description = "Copy object" if copy else "Move object"
        if self.apply(edit) is None:
            return False
        self.select(
            edit.new_instance,
            anchor=None
            if self.selection_anchor is None
            else (self.selection_anchor[0] + dx, self.selection_anchor[1] + dy),
        )
        return True

    def duplicate_selected(self, offset: int = 24) -> bool:
        return self.move_selected(offset, offset, copy=True)

    # ----- styles -------------------------------------------------------------------------------
    def num_styles(self, instance: int) -> int:
        renderer = self.worker.base_renderer if self.worker is not None else None
        return renderer.num_styles(class_id(instance)) if renderer is not None else 0

    def style_shares(self, instance: int) -> np.ndarray | None:
        """Each style's share of the training instances of the object's class, where the model knows it."""
        renderer = self.worker.base_renderer if self.worker is not None else None
        return renderer.style_shares(class_id(instance)) if renderer is not None else None

    def set_style(self, instance: int, style: Style | None) -> bool:
        edit = SetStyles({instance: style}, description=style_description(style, self.class_name(instance)))
        return self.apply(edit) is not None

    def class_name(self, instance: int) -> str:
        try:
            return self.label_set.by_id(class_id(instance)).name
        except LabelSetError:
            return f"class {class_id(instance)}"

    def random_style(self, instance: int) -> bool:
        n = self.num_styles(instance)
        if n <= 0:
            return False
        current = self.document.styles.get(instance)
        choices = [i for i in range(n) if i != current] or [0]
        return self.set_style(instance, random.choice(choices))

    def resample_all(self) -> bool:
        ids = self.document.instance_ids()
        styles: dict[int, Style | None] = {}
        for inst in ids.tolist():
            n = self.num_styles(inst)
            if n > 0:
                styles[inst] = random.randrange(n)
        if not styles:
            self.message.emit("The model has no styles to resample")
            return False
        return self.apply(SetStyles(styles, description="Resample all styles")) is not None

    # ----- document swaps -----------------------------------------------------------------------
    def reset_document(
        self, labels: np.ndarray, instances: np.ndarray, styles: dict[int, Style], path=None
    ) -> None:
        self.cancel_stroke()
        self.stack.clear_history()
        self.document.path = path
        self.selection = None
        self.selection_box = None
        self.selection_anchor = None
        self.document.replace(labels, instances, styles)
        self.stack.setClean()
        self.selection_changed.emit(None)
        self.document_reset.emit()
        self.request_render()

    # ----- rendering ----------------------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if change.kind == "reset":
            self._dirty_all = True
            self._step_all = True
        elif change.kind == "styles":
            self._dirty_all = True  # a style may apply to many pixels; the renderer re-encodes all of it
        else:
            self._dirty = union_box(self._dirty, change.region)
            if change.region is None:
                self._step_all = True
            self._step_region = union_box(self._step_region, change.region)

    def _on_index_changed(self, _index: int) -> None:
        if self.stack.rebuilding:
            return
        self._track_selection()
        self.committed.emit()
        if self.document.version == self._requested_version and self._dirty is None and not self._dirty_all:
            return  # an undo step outside the maps (the anomaly mask layer): nothing to render
        self.request_render()

    def request_render(self) -> RenderRequest | None:
        area = Area.everything() if self._dirty_all else Area.of(self._dirty)
        self._dirty, self._dirty_all = None, False
        doc = self.document
        self._requested_version = doc.version
        if self.worker is None or self.worker.renderer is None:
            self.render_requested.emit(RenderRequest(doc.version, area))
            return None
        labels, instances = self.snapshots.take()
        request = RenderRequest(doc.version, area, labels, instances, dict(doc.styles), self.seed)
        self.render_requested.emit(request)
        self.worker.submit(request)
        return request
