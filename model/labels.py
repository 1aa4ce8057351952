"""Label sets: class ids, names, colours and which classes have instances.

The Cityscapes table ships as ``label_sets/cityscapes.json``, generated from
``cityscapesscripts.helpers.labels`` (a test checks the two agree), so the app does not pull in
cityscapesscripts' heavy runtime dependencies. Any other dataset uses the same JSON format::

    {"name": "...", "num_classes": N, "unlabeled_id": 0,
     "labels": [{"id": 0, "name": "unlabeled", "color": [0, 0, 0], "is_thing": false}, ...]}

``num_classes`` is the number of one-hot channels the network sees; it may exceed the largest id
(pix2pixHD uses 35 channels for Cityscapes' ids 0..33).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from model.errors import ImageFileError, LabelSetError, read_json_file
from model.resources import label_sets_dir

LABEL_SET_DIR = label_sets_dir()
INSTANCE_FACTOR = 1000  # Cityscapes instanceIds: thing id = class * 1000 + k


@dataclass(frozen=True)
class Label:
    id: int
    name: str
    color: tuple[int, int, int]
    is_thing: bool


@dataclass(frozen=True)
class LabelSet:
    name: str
    num_classes: int
    labels: tuple[Label, ...]
    unlabeled_id: int = 0

    def __post_init__(self) -> None:
        ids = [label.id for label in self.labels]
        if len(set(ids)) != len(ids):
            raise LabelSetError(f"label set '{self.name}' repeats an id")
        if any(i < 0 or i >= self.num_classes for i in ids):
            raise LabelSetError(f"label set '{self.name}' has an id outside 0..{self.num_classes - 1}")
        if self.unlabeled_id not in ids:
            raise LabelSetError(f"label set '{self.name}' lacks its unlabeled id {self.unlabeled_id}")

    # ----- lookups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.labels)

    def by_id(self, label_id: int) -> Label:
        try:
            return self._by_id[label_id]
        except KeyError:
            raise LabelSetError(f"label set '{self.name}' has no class {label_id}") from None

    def by_name(self, name: str) -> Label:
        for label in self.labels:
            if label.name == name:
                return label
        raise LabelSetError(f"label set '{self.name}' has no class named '{name}'")

    @cached_property
    def _by_id(self) -> dict[int, Label]:
        return {label.id: label for label in self.labels}

    @cached_property
    def valid_mask(self) -> np.ndarray:
        """Boolean table over 0..num_classes-1: True where the id is a class of this set."""
        table = np.zeros(self.num_classes, dtype=bool)
        table[[label.id for label in self.labels]] = True
        return table

    @cached_property
    def thing_mask(self) -> np.ndarray:
        """Boolean table over 0..num_classes-1: True where the class has instances."""
        table = np.zeros(self.num_classes, dtype=bool)
        table[[label.id for label in self.labels if label.is_thing]] = True
        return table

    @cached_property
    def palette(self) -> np.ndarray:
        """num_classes×3 uint8 colour table (unused ids are black)."""
        table = np.zeros((self.num_classes, 3), dtype=np.uint8)
        for label in self.labels:
            table[label.id] = label.color
        return table

    @cached_property
    def _color_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted packed-RGB keys and the id each maps to (the lowest id wins a shared colour)."""
        keys: dict[int, int] = {}
        for label in sorted(self.labels, key=lambda lab: lab.id):
            keys.setdefault(_pack_rgb(np.array(label.color, dtype=np.uint8)).item(), label.id)
        packed = np.array(sorted(keys), dtype=np.int64)
        return packed, np.array([keys[k] for k in packed], dtype=np.int64)

    # ----- conversions ---------------------------------------------------------------------
    def colorize(self, ids: np.ndarray) -> np.ndarray:
        """H×W class ids → H×W×3 uint8 colour-coded image."""
        ids = np.asarray(ids)
        return self.palette[np.clip(ids, 0, self.num_classes - 1)]

    def decolorize(self, rgb: np.ndarray, source: str | Path | None = None) -> np.ndarray:
        """H×W×3 colour-coded image → H×W uint8 class ids. Unknown colours raise ImageFileError."""
        packed = _pack_rgb(np.asarray(rgb)[..., :3])
        keys, ids = self._color_keys
        pos = np.clip(np.searchsorted(keys, packed), 0, len(keys) - 1)
        known = keys[pos] == packed
        if not known.all():
            y, x = np.argwhere(~known)[0]
            colour = tuple(int(c) for c in np.asarray(rgb)[y, x, :3])
            raise ImageFileError(
                f"colour {colour} at x={x}, y={y} is not a class of label set '{self.name}'", source
            )
        return ids[pos].astype(np.uint8 if self.num_classes <= 256 else np.uint16)

    def check_ids(self, ids: np.ndarray, source: str | Path | None = None) -> None:
        """Raise ImageFileError naming the first id that is not a class of this set."""
        ids = np.asarray(ids)
        inside = (ids >= 0) & (ids < self.num_classes)
        ok = inside.copy()
        ok[inside] = self.valid_mask[ids[inside]]
        if not ok.all():
            bad = np.unique(ids[~ok])
            raise ImageFileError(
                f"label id(s) {bad[:5].tolist()} are not classes of label set '{self.name}'", source
            )

    # ----- JSON ----------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "unlabeled_id": self.unlabeled_id,
            "labels": [
                {"id": lab.id, "name": lab.name, "color": list(lab.color), "is_thing": lab.is_thing}
                for lab in self.labels
            ],
        }

    @classmethod
    def from_json(cls, data: object, source: str | Path | None = None) -> LabelSet:
        try:
            if not isinstance(data, dict):
                raise TypeError("top level is not an object")
            labels = tuple(
                Label(
                    id=int(entry["id"]),
                    name=str(entry["name"]),
                    color=_rgb_triple(entry["color"]),
                    is_thing=bool(entry.get("is_thing", False)),
                )
                for entry in data["labels"]
            )
            num_classes = int(data.get("num_classes", max(lab.id for lab in labels) + 1))
            return cls(
                name=str(data.get("name", "custom")),
                num_classes=num_classes,
                labels=labels,
                unlabeled_id=int(data.get("unlabeled_id", 0)),
            )
        except LabelSetError as exc:
            raise LabelSetError(str(exc), source) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise LabelSetError(f"not a valid label set ({exc})", source) from None

    @classmethod
    def load(cls, path: str | Path) -> LabelSet:
        return cls.from_json(read_json_file(path, LabelSetError, "label set"), path)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")


def _rgb_triple(value: object) -> tuple[int, int, int]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"colour {value!r} is not a list of three numbers")
    r, g, b = (int(v) for v in value)
    if not all(0 <= c <= 255 for c in (r, g, b)):
        raise ValueError(f"colour {value} is outside 0..255")
    return (r, g, b)


def _pack_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


@cache
def cityscapes() -> LabelSet:
    """The Cityscapes labelIds set pix2pixHD uses (35 channels)."""
    return LabelSet.load(LABEL_SET_DIR / "cityscapes.json")


def class_of_instance(instances: np.ndarray) -> np.ndarray:
    """Cityscapes instanceIds → class ids (ids ≥ 1000 are class*1000+k, others are the class)."""
    instances = np.asarray(instances)
    return np.where(instances >= INSTANCE_FACTOR, instances // INSTANCE_FACTOR, instances)


def check_instances_agree(
    labels: np.ndarray, instances: np.ndarray, source: str | Path | None = None
) -> None:
    """Raise ImageFileError when an instance id's class disagrees with the label map."""
    mismatch = class_of_instance(instances) != labels
    if mismatch.any():
        y, x = np.argwhere(mismatch)[0]
        raise ImageFileError(
            f"instance id {int(instances[y, x])} at x={x}, y={y} disagrees with label {int(labels[y, x])}",
            source,
        )
