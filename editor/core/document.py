"""The scene being edited: plain numpy state, deltas for undo, and a listener list. No Qt here.

Every change goes through :meth:`Document.apply`, which takes an edit (see ``editor.core.edits``),
writes it and returns a :class:`Delta` holding only what changed: the bounding box, the mask inside
it, and the old and new values under the mask (plus the style entries that changed). Undo is
:meth:`Delta.revert`; redo is :meth:`Delta.reapply`. Whole maps are never copied per step.

A drag is one undo step: between :meth:`Document.begin_group` and :meth:`Document.end_group` each
applied edit is painted at once (so the canvas follows the cursor) and the group's atoms are merged
into a single delta at the end, as napari's labels layer groups its paint atoms.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from model.box import Box, clip_box, mask_box, union_box
from model.labels import INSTANCE_FACTOR, LabelSet
from model.scene_io import Scene, Style

log = logging.getLogger(__name__)

_MISSING = None  # a style entry that did not exist


class _Compact:
    """A 1-D array kept zlib-compressed when large (label runs compress well)."""

    THRESHOLD = 1 << 14

    def __init__(self, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array)
        self.dtype = array.dtype
        self.shape = array.shape
        if array.nbytes >= self.THRESHOLD:
            self._data: bytes | np.ndarray = zlib.compress(array.tobytes(), 1)
        else:
            self._data = array

    def get(self) -> np.ndarray:
        if isinstance(self._data, bytes):
            return np.frombuffer(zlib.decompress(self._data), dtype=self.dtype).reshape(self.shape)
        return self._data

    @property
    def nbytes(self) -> int:
        return len(self._data) if isinstance(self._data, bytes) else int(self._data.nbytes)


@dataclass
class Patch:
    """What an edit wants written: inside ``bbox``, under ``mask``, these labels / instances.

    ``labels`` and ``instances`` are scalars or 1-D arrays with one value per masked pixel.
    ``styles`` maps instance id → new style, or None to remove the entry.
    """

    bbox: Box | None
    mask: np.ndarray | None
    labels: int | np.ndarray = 0
    instances: int | np.ndarray = 0
    styles: dict[int, Style | None] = field(default_factory=dict)


class Edit(Protocol):
    """Anything that can compute a :class:`Patch` against the current document."""

    description: str

    def patch(self, doc: Document) -> Patch | None: ...


class Delta:
    """One undo step: bbox, packed mask, old and new values under it, and style changes."""

    def __init__(
        self,
        doc: Document,
        bbox: Box | None,
        mask: np.ndarray | None,
        old_labels: np.ndarray | None,
        new_labels: np.ndarray | None,
        old_instances: np.ndarray | None,
        new_instances: np.ndarray | None,
        old_styles: dict[int, Style | None],
        new_styles: dict[int, Style | None],
        description: str = "",
    ) -> None:
        self._doc = doc
        self.bbox = bbox
        self.description = description
        self._mask_shape = None if mask is None else mask.shape
        self._mask = None if mask is None else np.packbits(mask, axis=None)
        self._arrays = [
            None if a is None else _Compact(a) for a in (old_labels, new_labels, old_instances, new_instances)
        ]
        self.old_styles = dict(old_styles)
        self.new_styles = dict(new_styles)

    # ----- stored values --------------------------------------------------------------------
    @property
    def mask(self) -> np.ndarray | None:
        if self._mask is None or self._mask_shape is None:
            return None
        count = self._mask_shape[0] * self._mask_shape[1]
        return np.unpackbits(self._mask, count=count).astype(bool).reshape(self._mask_shape)

    def values(self, which: str) -> np.ndarray | None:
        index = {"old_labels": 0, "new_labels": 1, "old_instances": 2, "new_instances": 3}[which]
        compact = self._arrays[index]
        return None if compact is None else compact.get()

    @property
    def nbytes(self) -> int:
        size = 0 if self._mask is None else int(self._mask.nbytes)
        return size + sum(a.nbytes for a in self._arrays if a is not None) + 64 * (len(self.old_styles) + 1)

    @property
    def is_empty(self) -> bool:
        return self.bbox is None and not self.new_styles and not self.old_styles

    # ----- undo / redo ----------------------------------------------------------------------
    def revert(self) -> None:
        self._doc.write_delta(self, forward=False)

    def reapply(self) -> None:
        self._doc.write_delta(self, forward=True)


@dataclass(frozen=True)
class Change:
    """A change notification: the region touched (None: whole map or no pixels) and what kind."""

    region: Box | None
    kind: str  # "pixels", "styles" or "reset"
    version: int


Listener = Callable[[Change], None]


@dataclass
class _Atom:
    bbox: Box
    mask: np.ndarray
    old_labels: np.ndarray
    old_instances: np.ndarray


# ----- the document ------------------------------------------------------------------------------
class Document:
    """labels H×W uint8, instances H×W int32 (Cityscapes ids), styles {instance id: style}."""

    def __init__(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        label_set: LabelSet,
        styles: dict[int, Style] | None = None,
        path: Path | None = None,
    ) -> None:
        if labels.shape != instances.shape or labels.ndim != 2:
            raise ValueError("labels and instances must be H×W arrays of one shape")
        self.labels = np.ascontiguousarray(labels, dtype=np.uint8)
        self.instances = np.ascontiguousarray(instances, dtype=np.int32)
        self.styles: dict[int, Style] = dict(styles or {})
        self.label_set = label_set
        self.path = path
        self.version = 0
        self._listeners: list[Listener] = []
        self._group: list[_Atom] | None = None
        self._group_styles_old: dict[int, Style | None] = {}
        self._group_description = ""
        self._reserved: set[int] = set()
        self._id_bound: dict[int, int] = {}  # class → an id ≥ every thing id of that class in the map

    # ----- construction -----------------------------------------------------------------------
    @classmethod
    def new(cls, width: int, height: int, label_set: LabelSet, fill: int | None = None) -> Document:
        fill = label_set.unlabeled_id if fill is None else fill
        labels = np.full((height, width), fill, dtype=np.uint8)
        instances = np.full((height, width), fill, dtype=np.int32)
        return cls(labels, instances, label_set)

    @classmethod
    def from_scene(cls, scene: Scene, label_set: LabelSet, path: Path | None = None) -> Document:
        return cls(scene.labels, scene.instances, label_set, scene.styles, path)

    def to_scene(self) -> Scene:
        return Scene(labels=self.labels.copy(), instances=self.instances.copy(), styles=dict(self.styles))

    @property
    def width(self) -> int:
        return int(self.labels.shape[1])

    @property
    def height(self) -> int:
        return int(self.labels.shape[0])

    # ----- listeners --------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, region: Box | None, kind: str) -> None:
        self.version += 1
        change = Change(region, kind, self.version)
        for listener in list(self._listeners):
            listener(change)

    # ----- queries ----------------------------------------------------------------------------
    def contains(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def label_at(self, x: int, y: int) -> int:
        return int(self.labels[y, x])

    def instance_at(self, x: int, y: int) -> int:
        return int(self.instances[y, x])

    def is_thing(self, class_id: int) -> bool:
        return 0 <= class_id < self.label_set.num_classes and bool(self.label_set.thing_mask[class_id])

    def instance_box(self, instance: int, within: Box | None = None) -> Box | None:
        """Bounding box of all pixels of an instance id (one vectorised pass over the map).

        ``within``: the caller knows every pixel of the instance lies in this box; only it is scanned."""
        if within is None:
            return mask_box(self.instances == instance)
        clipped = clip_box(within, self.width, self.height)
        if clipped is None:
            return None
        x0, y0, x1, y1 = clipped
        box = mask_box(self.instances[y0:y1, x0:x1] == instance)
        return None if box is None else (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)

    def instance_mask(self, instance: int, box: Box) -> np.ndarray:
        x0, y0, x1, y1 = box
        return self.instances[y0:y1, x0:x1] == instance

    def instance_ids(self) -> np.ndarray:
        return np.unique(self.instances)

    def new_instance_id(self, class_id: int) -> int:
        """A fresh thing id class*1000+k not used in the map (nor reserved by a running stroke).

        The map is scanned once per class; after that an upper bound of the class's ids, raised by
        every write, gives the next id without a scan (ids freed by an undo are not reused until
        the class runs out of its 1000)."""
        base = class_id * INSTANCE_FACTOR
        bound = self._id_bound.get(class_id)
        if bound is None:
            in_class = self.instances[self.labels == class_id]
            in_range = in_class[(in_class >= base) & (in_class < base + INSTANCE_FACTOR)]
            bound = int(in_range.max()) if in_range.size else base - 1
            self._id_bound[class_id] = bound
        top = max(
            [
                bound,
                *(i for i in self._reserved if base <= i < base + INSTANCE_FACTOR),
                *(i for i in self.styles if base <= i < base + INSTANCE_FACTOR),
            ]
        )
        if top + 1 < base + INSTANCE_FACTOR:
            new = top + 1
        else:
            in_class = self.instances[self.labels == class_id]
            used = set(np.unique(in_class[in_class >= base]).tolist()) | self._reserved
            used.update(i for i in self.styles if base <= i < base + INSTANCE_FACTOR)
            free = sorted(set(range(base, base + INSTANCE_FACTOR)) - used)
            if not free:
                raise ValueError(f"class {class_id} has no free instance id left")
            new = free[0]
        self._reserved.add(new)
        return new

    def nearest_stuff(self, mask: np.ndarray, box: Box, ring: int | None = None) -> np.ndarray:
        """For each masked pixel (in ``mask[mask]`` order), the stuff label of the nearest stuff pixel
        outside the mask: a car deleted in front of a facade leaves facade above and road below,
        not one road-coloured silhouette. One distance transform (a discrete Voronoi diagram)."""
        import cv2

        x0, y0, x1, y1 = box
        if ring is None:
            ring = int(np.clip(0.08 * max(x1 - x0, y1 - y0), 3, 24))
        big = clip_box((x0 - ring, y0 - ring, x1 + ring, y1 + ring), self.width, self.height)
        assert big is not None
        bx0, by0, bx1, by1 = big
        inside = np.zeros((by1 - by0, bx1 - bx0), dtype=bool)
        inside[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0] = mask
        labels = self.labels[by0:by1, bx0:bx1]
        source = ~inside & ~self.label_set.thing_mask[np.clip(labels, 0, self.label_set.num_classes - 1)]
        if not source.any():
            if ring < 256 and big != (0, 0, self.width, self.height):
                return self.nearest_stuff(mask, box, ring * 4)
            return np.full(int(mask.sum()), self.label_set.unlabeled_id, dtype=np.int64)
        # every source pixel is a zero of the input and gets its own label, numbered in scan order
        _, nearest = cv2.distanceTransformWithLabels(
            (~source).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        source_labels = labels[source].astype(np.int64)
        return source_labels[nearest[inside] - 1]

    # ----- applying edits ---------------------------------------------------------------------
    def apply(self, edit: Edit) -> Delta | None:
        """Write an edit. Returns its delta, or None when nothing changed (or inside a group)."""
        patch = edit.patch(self)
        if patch is None:
            return None
        return self.apply_patch(patch, getattr(edit, "description", ""))

    def apply_patch(self, patch: Patch, description: str = "") -> Delta | None:
        bbox, mask = patch.bbox, patch.mask
        old_l = new_l = old_i = new_i = None
        if bbox is not None and mask is not None and mask.any():
            x0, y0, x1, y1 = bbox
            lab = self.labels[y0:y1, x0:x1]
            ins = self.instances[y0:y1, x0:x1]
            old_l, old_i = lab[mask], ins[mask]
            new_l = np.broadcast_to(np.asarray(patch.labels, dtype=np.uint8), old_l.shape)
            new_i = np.broadcast_to(np.asarray(patch.instances, dtype=np.int32), old_i.shape)
            changed = (old_l != new_l) | (old_i != new_i)
            if not changed.all():  # keep only pixels that really change
                mask = mask.copy()
                mask[mask] = changed
                old_l, old_i, new_l, new_i = old_l[changed], old_i[changed], new_l[changed], new_i[changed]
            if mask.any():
                tight = mask_box(mask)
                assert tight is not None
                tx0, ty0, tx1, ty1 = tight
                mask = mask[ty0:ty1, tx0:tx1]
                bbox = (x0 + tx0, y0 + ty0, x0 + tx1, y0 + ty1)
                x0, y0, x1, y1 = bbox
                lab = self.labels[y0:y1, x0:x1]
                ins = self.instances[y0:y1, x0:x1]
                lab[mask] = new_l
                ins[mask] = new_i
                self._note_ids(patch.instances)
            else:
                bbox, mask = None, None
        else:
            bbox, mask = None, None
        old_styles: dict[int, Style | None] = {}
        new_styles: dict[int, Style | None] = {}
        for inst, style in patch.styles.items():
            old = self.styles.get(inst, _MISSING)
            if old == style:
                continue
            old_styles[inst], new_styles[inst] = old, style
            self._set_style(inst, style)
        if bbox is None and not new_styles:
            return None
        if self._group is not None:
            if bbox is not None and mask is not None and old_l is not None and old_i is not None:
                self._group.append(_Atom(bbox, mask, np.array(old_l), np.array(old_i)))
            for inst, old in old_styles.items():
                self._group_styles_old.setdefault(inst, old)
            self._notify(bbox, "pixels" if bbox is not None else "styles")
            return None
        delta = Delta(
            self,
            bbox,
            mask,
            old_l,
            np.array(new_l) if new_l is not None else None,
            old_i,
            np.array(new_i) if new_i is not None else None,
            old_styles,
            new_styles,
            description,
        )
        self._reserved.clear()
        self._notify(bbox, "pixels" if bbox is not None else "styles")
        return delta

    def _note_ids(self, instances: int | np.ndarray | None) -> None:
        """Raise the per-class id bounds to cover ids just written."""
        if not self._id_bound or instances is None:
            return
        values = np.asarray(instances)
        ids = [int(values)] if values.ndim == 0 else np.unique(values[values >= INSTANCE_FACTOR]).tolist()
        for inst in ids:
            cls = inst // INSTANCE_FACTOR
            if inst >= INSTANCE_FACTOR and cls in self._id_bound and inst > self._id_bound[cls]:
                self._id_bound[cls] = inst

    def _set_style(self, inst: int, style: Style | None) -> None:
        if style is None:
            self.styles.pop(inst, None)
        else:
            self.styles[inst] = style

    # ----- grouping (one drag = one delta) ----------------------------------------------------
    @property
    def in_group(self) -> bool:
        return self._group is not None

    def begin_group(self, description: str = "") -> None:
        if self._group is not None:
            raise RuntimeError("a group is already open")
        self._group = []
        self._group_styles_old = {}
        self._group_description = description

    def end_group(self) -> Delta | None:
        """Merge the group's atoms into one delta (earliest old value wins, newest value is kept)."""
        atoms, styles_old = self._group, self._group_styles_old
        self._group, self._group_styles_old = None, {}
        self._reserved.clear()
        if atoms is None:
            raise RuntimeError("no group is open")
        bbox: Box | None = None
        for atom in atoms:
            bbox = union_box(bbox, atom.bbox)
        mask = old_l = old_i = new_l = new_i = None
        if bbox is not None:
            x0, y0, x1, y1 = bbox
            mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
            old_lab = self.labels[y0:y1, x0:x1].copy()
            old_ins = self.instances[y0:y1, x0:x1].copy()
            for atom in reversed(atoms):  # the earliest atom's old values are written last
                ax0, ay0, ax1, ay1 = atom.bbox
                sl = (slice(ay0 - y0, ay1 - y0), slice(ax0 - x0, ax1 - x0))
                old_lab[sl][atom.mask] = atom.old_labels
                old_ins[sl][atom.mask] = atom.old_instances
                mask[sl] |= atom.mask
            cur_lab = self.labels[y0:y1, x0:x1]
            cur_ins = self.instances[y0:y1, x0:x1]
            mask &= (old_lab != cur_lab) | (old_ins != cur_ins)  # a dab painted back is no change
            tight = mask_box(mask)
            if tight is None:
                bbox, mask = None, None
            else:
                tx0, ty0, tx1, ty1 = tight
                mask = mask[ty0:ty1, tx0:tx1]
                sl = (slice(ty0, ty1), slice(tx0, tx1))
                old_l, old_i = old_lab[sl][mask], old_ins[sl][mask]
                new_l, new_i = cur_lab[sl][mask], cur_ins[sl][mask]
                bbox = (x0 + tx0, y0 + ty0, x0 + tx1, y0 + ty1)
        new_styles = {inst: self.styles.get(inst, _MISSING) for inst in styles_old}
        styles_old = {k: v for k, v in styles_old.items() if new_styles[k] != v}
        new_styles = {k: new_styles[k] for k in styles_old}
        if bbox is None and not new_styles:
            return None
        return Delta(
            self, bbox, mask, old_l, new_l, old_i, new_i, styles_old, new_styles, self._group_description
        )

    def cancel_group(self) -> None:
        """Abandon an open group, restoring every pixel and style it touched."""
        delta = self.end_group() if self._group is not None else None
        if delta is not None:
            delta.revert()

    # ----- undo / redo ------------------------------------------------------------------------
    def write_delta(self, delta: Delta, forward: bool) -> None:
        if delta.bbox is not None:
            mask = delta.mask
            x0, y0, x1, y1 = delta.bbox
            labels = delta.values("new_labels" if forward else "old_labels")
            instances = delta.values("new_instances" if forward else "old_instances")
            self.labels[y0:y1, x0:x1][mask] = labels
            self.instances[y0:y1, x0:x1][mask] = instances
            self._note_ids(instances)
        for inst, style in (delta.new_styles if forward else delta.old_styles).items():
            self._set_style(inst, style)
        self._notify(delta.bbox, "pixels" if delta.bbox is not None else "styles")

    def replace(
        self,
        labels: np.ndarray,
        instances: np.ndarray,
        styles: dict[int, Style],
        label_set: LabelSet | None = None,
    ) -> None:
        """Swap in whole new maps (open / new scene); listeners get a 'reset'."""
        self.labels = np.ascontiguousarray(labels, dtype=np.uint8)
        self.instances = np.ascontiguousarray(instances, dtype=np.int32)
        self.styles = dict(styles)
        self._id_bound.clear()
        if label_set is not None:
            self.label_set = label_set
        self._notify(None, "reset")
