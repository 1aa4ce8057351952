"""The anomaly mask layer: where anomalies go, kept apart from the label map. No Qt here.

The layer is an H×W uint8 map of mask ids: 0 is no anomaly, k ≥ 1 is anomaly mask k (one object,
one box in an export, one seed offset). Every change goes through :meth:`AnomalyLayer.apply` with a
bounding box, a boolean mask inside it and the id to write (0 erases), and returns an
:class:`AnomalyDelta` holding only that box's old and new ids. The delta has the interface of a
document delta (``revert``, ``reapply``, ``nbytes``, ``description``), so the editor's undo stack
(``editor.commands.BoundedUndoStack.push_delta``) takes it like any other edit. A drag is one delta:
between :meth:`begin_group` and :meth:`end_group` each dab is written at once and the group's old
values are merged at the end.

On disk the layer is ``NAME_anomalyMasks.png`` beside the scene's ``NAME_labelIds.png``, written in
the same all-or-nothing set as the scene (:func:`save_scene_with_layer`). A scene without that file
opens with an empty layer.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.atomic_files import atomic_write_files, reading
from model.box import Box, mask_box, union_box
from model.errors import EditorError, ImageFileError
from model.scene_io import Scene, encode_png, read_png, scene_paths, styles_to_json

LAYER_SUFFIX = "_anomalyMasks.png"
MAX_MASKS = 255  # ids fit one uint8 channel


class AnomalyLayerError(EditorError):
    """The anomaly layer cannot take an edit or be read."""


def _pack(array: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(array).tobytes(), 1)


def _unpack(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    return np.frombuffer(zlib.decompress(data), dtype=np.uint8).reshape(shape)


class AnomalyDelta:
    """One undo step of the layer: a box with its ids before and after (zlib-packed)."""

    def __init__(self, layer: AnomalyLayer, box: Box, old: np.ndarray, new: np.ndarray, description: str):
        self._layer = layer
        self.bbox = box
        self.description = description
        self._shape = (int(old.shape[0]), int(old.shape[1]))
        self._old, self._new = _pack(old), _pack(new)

    @property
    def nbytes(self) -> int:
        return len(self._old) + len(self._new) + 64

    def revert(self) -> None:
        self._layer.write_box(self.bbox, _unpack(self._old, self._shape))

    def reapply(self) -> None:
        self._layer.write_box(self.bbox, _unpack(self._new, self._shape))


Listener = Callable[[Box | None], None]  # the box that changed; None: the whole layer


@dataclass
class _Atom:
    box: Box
    old: np.ndarray  # the box's ids before the dab


class AnomalyLayer:
    """Mask ids (H×W uint8) with undoable edits and change listeners."""

    def __init__(self, width: int, height: int) -> None:
        self.ids = np.zeros((height, width), np.uint8)
        self.version = 0
        self._listeners: list[Listener] = []
        self._group: list[_Atom] | None = None
        self._group_description = ""
        self._snapshot: tuple[int, np.ndarray | None] | None = None  # (version, ids copy or None: empty)

    # ----- shape and queries --------------------------------------------------------------------
    @property
    def width(self) -> int:
        return int(self.ids.shape[1])

    @property
    def height(self) -> int:
        return int(self.ids.shape[0])

    @property
    def is_empty(self) -> bool:
        return not self.ids.any()

    def mask_ids(self) -> list[int]:
        return [int(i) for i in np.unique(self.ids) if i != 0]

    def masks(self) -> list[np.ndarray]:
        """One H×W bool mask per id, in id order."""
        return [self.ids == i for i in self.mask_ids()]

    def snapshot(self) -> np.ndarray | None:
        """A read-only copy of the ids as they are now, or None when the layer is empty; the same copy
        is returned until the layer changes, so an autosave with no mask edit since the last one copies
        nothing. Safe to hand to another thread."""
        if self._snapshot is None or self._snapshot[0] != self.version:
            copy: np.ndarray | None = None
            if self.ids.any():
                copy = self.ids.copy()
                copy.flags.writeable = False
            self._snapshot = (self.version, copy)
        return self._snapshot[1]

    def id_at(self, x: int, y: int) -> int:
        return int(self.ids[y, x]) if 0 <= x < self.width and 0 <= y < self.height else 0

    def new_id(self) -> int:
        """The lowest id not in use (an undo may free one below the highest)."""
        used = set(self.mask_ids())
        free = next((i for i in range(1, MAX_MASKS + 1) if i not in used), None)
        if free is None:
            raise AnomalyLayerError(f"the anomaly layer holds at most {MAX_MASKS} masks")
        return free

    # ----- listeners ----------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self, box: Box | None) -> None:
        self.version += 1
        for listener in list(self._listeners):
            listener(box)

    # ----- edits ----------------------------------------------------------------------------------
    def apply(
        self, box: Box | None, mask: np.ndarray | None, value: int, description: str
    ) -> AnomalyDelta | None:
        """Write ``value`` under ``mask`` (inside ``box``). Returns the delta (None: nothing changed,
        or inside a group, whose delta :meth:`end_group` returns)."""
        if box is None or mask is None or not mask.any():
            return None
        x0, y0, x1, y1 = box
        crop = self.ids[y0:y1, x0:x1]
        changed = mask & (crop != value)
        tight = mask_box(changed)
        if tight is None:
            return None
        tx0, ty0, tx1, ty1 = tight
        box = (x0 + tx0, y0 + ty0, x0 + tx1, y0 + ty1)
        sub = (slice(ty0, ty1), slice(tx0, tx1))
        old = crop[sub].copy()
        crop[sub][changed[sub]] = value
        if self._group is not None:
            self._group.append(_Atom(box, old))
            self._notify(box)
            return None
        delta = AnomalyDelta(self, box, old, crop[sub].copy(), description)
        self._notify(box)
        return delta

    def apply_masks(self, masks: list[np.ndarray], description: str) -> AnomalyDelta | None:
        """Add full-frame masks, each under a new id, as one step (scattered masks)."""
        self.begin_group(description)
        try:
            for mask in masks:
                box = mask_box(mask)
                if box is not None:
                    self.apply(box, mask[box[1] : box[3], box[0] : box[2]], self.new_id(), description)
        except Exception:
            self.cancel_group()
            raise
        return self.end_group()

    def write_box(self, box: Box, values: np.ndarray) -> None:
        x0, y0, x1, y1 = box
        self.ids[y0:y1, x0:x1] = values
        self._notify(box)

    # ----- grouping (one drag = one delta) ------------------------------------------------------
    @property
    def in_group(self) -> bool:
        return self._group is not None

    def begin_group(self, description: str) -> None:
        if self._group is not None:
            raise RuntimeError("a group is already open")
        self._group, self._group_description = [], description

    def end_group(self) -> AnomalyDelta | None:
        atoms, self._group = self._group, None
        if atoms is None:
            raise RuntimeError("no group is open")
        box: Box | None = None
        for atom in atoms:
            box = union_box(box, atom.box)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        old = self.ids[y0:y1, x0:x1].copy()
        for atom in reversed(atoms):  # the earliest atom's old values are written last
            ax0, ay0, ax1, ay1 = atom.box
            old[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0] = atom.old
        new = self.ids[y0:y1, x0:x1]
        if np.array_equal(old, new):
            return None
        return AnomalyDelta(self, box, old, new.copy(), self._group_description)

    def cancel_group(self) -> None:
        if self._group is None:
            return
        delta = self.end_group()
        if delta is not None:
            delta.revert()

    # ----- whole-layer swaps (open, new scene: no undo) -----------------------------------------
    def reset(self, width: int, height: int, ids: np.ndarray | None = None) -> None:
        self._group = None
        if ids is None:
            self.ids = np.zeros((height, width), np.uint8)
        else:
            if ids.shape != (height, width):
                raise ValueError("layer ids must match the scene's size")
            self.ids = np.ascontiguousarray(ids, dtype=np.uint8)
        self._notify(None)


def layer_path(label_path: str | Path) -> Path:
    """``NAME_anomalyMasks.png`` for a scene saved as ``NAME_labelIds.png`` (or ``…_gtFine_labelIds``)."""
    _label, _inst, styles = scene_paths(label_path)
    return styles.with_name(styles.name.removesuffix("styles.json").removesuffix("_") + LAYER_SUFFIX)


def read_layer(label_path: str | Path, size: tuple[int, int]) -> np.ndarray | None:
    """The saved mask ids of a scene (H×W uint8), or None when it has no layer file.

    ``size`` is the scene's (width, height); a layer of another size or a colour PNG is an error
    naming the file."""
    path = layer_path(label_path)
    with reading([path]):
        if not path.is_file():
            return None
        ids = read_png(path)
    width, height = size
    if ids.ndim != 2 or ids.dtype != np.uint8:
        raise ImageFileError("anomaly mask layer must be a one-channel 8-bit PNG", path)
    if ids.shape != (height, width):
        raise ImageFileError(
            f"anomaly mask layer is {ids.shape[1]}x{ids.shape[0]} but the scene is {width}x{height}", path
        )
    return ids


def save_scene_with_layer(
    scene: Scene, label_path: str | Path, layer: AnomalyLayer | np.ndarray | None
) -> tuple[Path, ...]:
    """The scene's files (as ``model.scene_io.save_scene`` writes them) and its anomaly layer (the
    layer, or a snapshot of its ids), as one atomic set. The layer file is written when the layer
    holds masks or a layer file is already there (an emptied layer must not come back on the next
    open)."""
    label, inst, styles = scene_paths(label_path)
    if scene.instances.max(initial=0) > 65535:
        raise ImageFileError("instance ids above 65535 do not fit a 16-bit PNG", inst)
    files = {
        label: encode_png(np.ascontiguousarray(scene.labels.astype(np.uint8))),
        inst: encode_png(np.ascontiguousarray(scene.instances.astype(np.uint16))),
        styles: json.dumps(styles_to_json(scene.styles), indent=1).encode("utf-8"),
    }
    masks = layer_path(label)
    ids = layer.ids if isinstance(layer, AnomalyLayer) else layer
    if ids is not None and (ids.any() or masks.exists()):
        if ids.shape != scene.labels.shape or ids.dtype != np.uint8:
            raise ImageFileError("anomaly mask layer and scene differ in size or type", masks)
        files[masks] = encode_png(np.ascontiguousarray(ids))
    atomic_write_files(files)
    return tuple(files)
