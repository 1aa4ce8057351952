"""The crop sheet: the render next to the photo at 100%, one row per kind of object.

For a thing class the crop centres on the largest instance that fits the window (the largest one
when none fits); for a region class on the window it fills most. The best crop of each class is
kept while the held-out scenes stream past, so the sheet costs no second pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

SHEET_CLASSES = {26: "car", 24: "person", 25: "rider", 11: "building (facade)", 7: "road"}
THINGS = {24, 25, 26}
HEADER = 22  # px of caption above each row


@dataclass
class Candidate:
    score: float
    scene: int
    box: tuple[int, int, int, int]  # y0, x0, y1, x1
    photo: np.ndarray
    render: np.ndarray


def window(centre_y: int, centre_x: int, size: int, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    sy, sx = min(size, h), min(size, w)
    y0 = int(np.clip(centre_y - sy // 2, 0, h - sy))
    x0 = int(np.clip(centre_x - sx // 2, 0, w - sx))
    return y0, x0, y0 + sy, x0 + sx


def best_window(
    labels: np.ndarray, instances: np.ndarray, class_id: int, size: int
) -> tuple[float, tuple[int, int, int, int]] | None:
    """(score, box) of this scene's best crop of ``class_id``, or None where the class is absent."""
    mask = labels == class_id
    if not mask.any():
        return None
    if class_id in THINGS:
        ids, counts = np.unique(instances[mask], return_counts=True)
        spans = {}
        for k in ids[np.argsort(-counts)][:8]:  # the 8 largest instances are enough to choose from
            ys, xs = np.nonzero(instances == k)
            spans[int(k)] = (ys.min(), xs.min(), ys.max(), xs.max(), len(ys))
        fitting = [k for k, s in spans.items() if s[2] - s[0] < size and s[3] - s[1] < size]
        pick = max(fitting or spans, key=lambda k: spans[k][4])
        y0, x0, y1, x1, pixels = spans[pick]
        return float(pixels) + (1e9 if fitting else 0.0), window(
            (y0 + y1) // 2, (x0 + x1) // 2, size, labels.shape
        )
    share = cv2.boxFilter(mask.astype(np.float32), -1, (size, size), borderType=cv2.BORDER_CONSTANT)
    y, x = np.unravel_index(int(np.argmax(share)), share.shape)
    return float(share[y, x]), window(int(y), int(x), size, labels.shape)


@dataclass
class CropPicker:
    size: int = 256
    best: dict[int, Candidate] = field(default_factory=dict)

    def offer(
        self, scene: int, photo: np.ndarray, render: np.ndarray, labels: np.ndarray, instances: np.ndarray
    ) -> None:
        for class_id in SHEET_CLASSES:
            found = best_window(labels, instances, class_id, self.size)
            if found is None or (class_id in self.best and self.best[class_id].score >= found[0]):
                continue
            y0, x0, y1, x1 = found[1]
            self.best[class_id] = Candidate(
                found[0], scene, found[1], photo[y0:y1, x0:x1].copy(), render[y0:y1, x0:x1].copy()
            )

    def sheet(self) -> np.ndarray:
        """Rows of [photo | render] with a caption above each; absent classes are left out."""
        rows = []
        for class_id, name in SHEET_CLASSES.items():
            c = self.best.get(class_id)
            if c is None:
                continue
            h, w = c.photo.shape[:2]
            row = np.full((HEADER + h, 2 * w + 8, 3), 255, np.uint8)
            row[HEADER:, :w], row[HEADER:, w + 8 :] = c.photo, c.render
            caption = f"{name}, scene {c.scene} at x {c.box[1]}, y {c.box[0]}: photo | render (100%)"
            cv2.putText(
                row, caption, (4, HEADER - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA
            )
            rows.append(row)
        if not rows:
            return np.full((HEADER, 2 * self.size + 8, 3), 255, np.uint8)
        width = max(r.shape[1] for r in rows)
        padded = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
        return np.concatenate(padded, 0)

    def write(self, path: Path) -> Path:
        from model.scene_io import write_png

        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(path, self.sheet())
        return path
