"""The anomaly export format: one image + label + record triple per frame, in one folder.

    NAME.png            the image (RGB)
    NAME_anomaly.png    uint8 label: 0 normal, 1 anomaly, 255 void (SegmentMeIfYouCan's convention)
    NAME_anomaly.json   {"format", "method", "seed", "steps", "size", "anomalies": [{"family", "box"}]}

The three files of a frame are written as one atomic set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.anomaly.synthesis import ANOMALY, NORMAL, VOID, Placed
from model.atomic_files import atomic_write_files
from model.errors import EditorError, ImageFileError, read_json_file
from model.scene_io import encode_png, read_png

FORMAT_NAME = "pix2pixhd-editor-anomaly"
LABEL_SUFFIX = "_anomaly.png"
RECORD_SUFFIX = "_anomaly.json"


class ExportError(EditorError):
    """An anomaly pair folder or file is missing or malformed."""


@dataclass
class AnomalyPair:
    image: np.ndarray  # H×W×3 uint8
    label: np.ndarray  # H×W uint8 in {0, 1, 255}
    method: str
    seed: int
    steps: int
    anomalies: list[Placed]


def write_pair(folder: Path, name: str, pair: AnomalyPair) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "format": FORMAT_NAME,
        "method": pair.method,
        "seed": pair.seed,
        "steps": pair.steps,
        "size": [int(pair.image.shape[1]), int(pair.image.shape[0])],
        "anomalies": [{"family": p.family, "box": list(p.box)} for p in pair.anomalies],
    }
    atomic_write_files(
        {
            folder / f"{name}.png": encode_png(np.ascontiguousarray(pair.image)),
            folder / f"{name}{LABEL_SUFFIX}": encode_png(np.ascontiguousarray(pair.label)),
            folder / f"{name}{RECORD_SUFFIX}": json.dumps(record, indent=1).encode(),
        }
    )


def read_pair(folder: Path, name: str) -> AnomalyPair:
    record_path = folder / f"{name}{RECORD_SUFFIX}"
    record = read_json_file(record_path, ExportError, "anomaly record")
    if not isinstance(record, dict) or record.get("format") != FORMAT_NAME:
        raise ExportError("not an anomaly record (format field missing or wrong)", record_path)
    image = read_png(folder / f"{name}.png")
    label = read_png(folder / f"{name}{LABEL_SUFFIX}")
    if image.ndim != 3 or image.shape[2] < 3:
        raise ImageFileError("anomaly image must be RGB", folder / f"{name}.png")
    if label.ndim != 2 or label.shape != image.shape[:2]:
        raise ImageFileError(
            "anomaly label must be one channel of the image's size", folder / f"{name}{LABEL_SUFFIX}"
        )
    if not np.isin(label, (NORMAL, ANOMALY, VOID)).all():
        raise ImageFileError(
            "anomaly label holds values other than 0, 1 and 255", folder / f"{name}{LABEL_SUFFIX}"
        )
    try:
        anomalies = [Placed(str(a["family"]), _box(a["box"])) for a in record["anomalies"]]
        return AnomalyPair(
            image[..., :3],
            label.astype(np.uint8),
            str(record["method"]),
            int(record["seed"]),
            int(record["steps"]),
            anomalies,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"malformed anomaly record ({exc})", record_path) from None


def _box(values: object) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(v) for v in values)  # type: ignore[attr-defined]
    return x0, y0, x1, y1


def pair_names(folder: Path) -> list[str]:
    """Names of the pairs in ``folder`` (those with a record), sorted."""
    if not folder.is_dir():
        raise ExportError("anomaly pair folder not found", folder)
    names = sorted(p.name[: -len(RECORD_SUFFIX)] for p in folder.glob(f"*{RECORD_SUFFIX}"))
    if not names:
        raise ExportError("no anomaly pairs (*_anomaly.json) found", folder)
    return names
