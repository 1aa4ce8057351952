"""Class statistics of a dataset folder (pix2pixHD, Cityscapes or plain layout, or any folder of
``*labelIds.png``): per class the pixel share, the share of maps showing it and, for thing classes
with instance maps, the instances per map; and a comparison against real driving data."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.data.folders import detect_layout, pair_key
from model.data.reference_stats import (
    PIXEL_RATIO,
    PIXEL_SHARE_MIN,
    SHOWN_IN_MIN,
    SHOWN_IN_TOLERANCE,
    ReferenceClass,
    reference_by_id,
)
from model.errors import DatasetError
from model.labels import INSTANCE_FACTOR, LabelSet, cityscapes
from model.scene_io import read_instance_png, read_label_png

log = logging.getLogger(__name__)

MAX_ID = 256


@dataclass
class ClassStats:
    """Accumulated statistics over label maps (add maps, then read the properties)."""

    maps: int = 0
    pixels: np.ndarray = field(default_factory=lambda: np.zeros(MAX_ID, dtype=np.float64))  # summed shares
    shown: np.ndarray = field(default_factory=lambda: np.zeros(MAX_ID, dtype=np.int64))
    instances: np.ndarray = field(default_factory=lambda: np.zeros(MAX_ID, dtype=np.int64))
    maps_with_instances: int = 0

    def add(self, labels: np.ndarray, instances: np.ndarray | None = None) -> None:
        counts = np.bincount(labels.ravel().astype(np.int64), minlength=MAX_ID)[:MAX_ID]
        self.maps += 1
        self.pixels += counts / labels.size
        self.shown += counts > 0
        if instances is not None:
            self.maps_with_instances += 1
            ids = np.unique(instances[instances >= INSTANCE_FACTOR])
            np.add.at(self.instances, np.minimum(ids // INSTANCE_FACTOR, MAX_ID - 1), 1)

    def pixel_share(self, label_id: int) -> float:
        return float(self.pixels[label_id]) / max(self.maps, 1)

    def shown_in(self, label_id: int) -> float:
        return float(self.shown[label_id]) / max(self.maps, 1)

    def per_map(self, label_id: int) -> float | None:
        if not self.maps_with_instances:
            return None
        return float(self.instances[label_id]) / self.maps_with_instances


def label_files(root: Path, phase: str = "train") -> list[tuple[Path, Path | None]]:
    """(label map, instance map or None) pairs of a dataset folder, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError("dataset folder not found", root)
    try:
        layout = detect_layout(root, phase)
    except DatasetError:
        layout = "loose"
    if layout == "pix2pixhd":
        labels, inst_dir = sorted((root / f"{phase}_label").glob("*.png")), root / f"{phase}_inst"
        pairs = [(p, inst_dir / p.name if (inst_dir / p.name).is_file() else None) for p in labels]
    elif layout == "plain":
        base = root / phase if (root / phase / "labels").is_dir() else root
        labels, inst_dir = sorted((base / "labels").glob("*.png")), base / "instances"
        pairs = [(p, inst_dir / p.name if (inst_dir / p.name).is_file() else None) for p in labels]
    else:
        base = root / "gtFine" / phase if layout == "cityscapes" else root
        pairs = []
        for p in sorted(base.rglob("*labelIds.png")):
            key = pair_key(p)
            stem = p.name[: -len("labelIds.png")]
            candidates = [p.with_name(stem + "instanceIds.png"), p.with_name(key + "_gtFine_instanceIds.png")]
            pairs.append((p, next((c for c in candidates if c.is_file()), None)))
    if not pairs:
        raise DatasetError(
            f"no label maps found (looked for the {layout} layout, phase '{phase}', or *labelIds.png files)",
            root,
        )
    return pairs


def iter_maps(
    pairs: Iterable[tuple[Path, Path | None]], label_set: LabelSet
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    for label_path, inst_path in pairs:
        labels = read_label_png(label_path, label_set)
        yield labels, read_instance_png(inst_path, labels) if inst_path is not None else None


def dataset_stats(
    root: Path, phase: str = "train", label_set: LabelSet | None = None, progress: bool = False
) -> ClassStats:
    """Statistics of every label map in a dataset folder."""
    from tqdm import tqdm

    label_set = label_set or cityscapes()
    pairs = label_files(root, phase)
    stats = ClassStats()
    for labels, instances in tqdm(
        iter_maps(pairs, label_set), total=len(pairs), desc="label maps", unit="map", disable=not progress
    ):
        stats.add(labels, instances)
    return stats


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def format_table(stats: ClassStats, label_set: LabelSet | None = None, compare: bool = False) -> str:
    """A markdown table of the classes present (and, with compare, of the reference's classes)."""
    label_set = label_set or cityscapes()
    ref = reference_by_id() if compare else {}
    ids = sorted(set(np.nonzero(stats.shown)[0].tolist()) | set(ref))
    head = "| id | class | pixels | shown in | per map |"
    rule = "|---|---|---|---|---|"
    if compare:
        head += " real pixels | real shown in | real per map | source | ratio | check |"
        rule += "---|---|---|---|---|---|"
    rows = [f"{stats.maps} label maps", "", head, rule]
    failures = dict(check_against_reference(stats)) if compare else {}
    for i in ids:
        label = label_set.by_id(i)
        name = label.name
        per = stats.per_map(i) if label.is_thing else None
        row = (
            f"| {i} | {name} | {_pct(stats.pixel_share(i))} | {_pct(stats.shown_in(i))} | "
            f"{'' if per is None else f'{per:.1f}'} |"
        )
        if compare and i in ref:
            r = ref[i]
            ratio = stats.pixel_share(i) / r.pixel_share
            real_per = "" if r.per_map is None else f"{r.per_map:.1f}"
            real_shown = "?" if r.shown_in is None else _pct(r.shown_in)
            check = failures.get(i, "ok" if _checked(r) else "–")
            row += (
                f" {_pct(r.pixel_share)} | {real_shown} | {real_per} | {r.source} | {ratio:.2f} | {check} |"
            )
        elif compare:
            row += " | | | | | |"
        rows.append(row)
    if compare:
        rows += [
            "",
            (
                "ratio = pixels / real pixels. check: the issue-24 rules (classes shown in >= 30% of real "
                "maps appear within 25 points of the real share; classes with >= 0.1% of real pixels "
                "within 0.5x-2x); - = not checked. Sources: model/data/reference_stats.py."
            ),
        ]
    return "\n".join(rows)


def _checked(r: ReferenceClass) -> bool:
    return (r.shown_in is not None and r.shown_in >= SHOWN_IN_MIN) or r.pixel_share >= PIXEL_SHARE_MIN


def check_against_reference(stats: ClassStats) -> list[tuple[int, str]]:
    """(class id, what is off) for every reference class that breaks the issue-24 rules."""
    out = []
    for r in reference_by_id().values():
        problems = []
        if r.shown_in is not None and r.shown_in >= SHOWN_IN_MIN:
            shown = stats.shown_in(r.label_id)
            if abs(shown - r.shown_in) > SHOWN_IN_TOLERANCE:
                problems.append(f"shown in {_pct(shown)} vs {_pct(r.shown_in)}")
        if r.pixel_share >= PIXEL_SHARE_MIN:
            ratio = stats.pixel_share(r.label_id) / r.pixel_share
            if not PIXEL_RATIO[0] <= ratio <= PIXEL_RATIO[1]:
                problems.append(f"pixels {ratio:.2f}x real")
        if problems:
            out.append((r.label_id, "; ".join(problems)))
    return out
