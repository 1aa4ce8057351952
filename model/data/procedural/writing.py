"""Writing a procedural dataset: pix2pixHD folders plus a small JSON saying which generator made it."""

from __future__ import annotations

import json
import logging
import zlib
from pathlib import Path

import cv2
import numpy as np

from model.data.procedural.base import SceneConfig
from model.data.procedural.layout import GENERATOR_VERSION, generate_scene
from model.errors import DatasetError

log = logging.getLogger(__name__)

DATASET_JSON = "procedural_dataset.json"
V1_COMMIT = "2a031b6"  # the last commit whose generator draws version-1 scenes


def scene_name(index: int) -> str:
    return f"scene_{index:06d}.png"


def encode_png_fast(array: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of an RGB uint8, gray uint8 or gray uint16 array (OpenCV's encoder, fast zlib level)."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(array), [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def split_seed(seed: int, split: str) -> int:
    """The seed a split's scenes use: `seed` itself for train, a stable derived seed for others."""
    if split == "train":
        return int(seed)
    return (int(seed) ^ (zlib.crc32(split.encode("utf-8")) << 16)) & 0xFFFFFFFFFFFF


def read_dataset_record(out: Path) -> dict:
    """The recorded generator description of a dataset folder ({} if none was written)."""
    path = Path(out) / DATASET_JSON
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"unreadable dataset record: {exc}", path) from exc
    if not isinstance(data, dict):
        raise DatasetError("dataset record is not a JSON object", path)
    return data


def write_dataset(
    out: Path, count: int, config: SceneConfig, seed: int, split: str = "train", progress: bool = True
) -> None:
    """Write `count` scenes as {split}_img/, {split}_label/ (8-bit), {split}_inst/ (16-bit), and record
    the generator version, seed and size per split in procedural_dataset.json.

    A folder made by another generator version or size is refused rather than mixed."""
    from tqdm import tqdm

    from model.atomic_files import atomic_write_bytes

    out = Path(out)
    record = read_dataset_record(out)
    entry = {
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "width": config.width,
        "height": config.height,
        "count": int(count),
    }
    old = record.get("splits", {}).get(split)
    if isinstance(old, dict):
        for key in ("generator_version", "seed", "width", "height"):
            if old.get(key) != entry[key]:
                raise DatasetError(
                    f"the {split} scenes here were made with {key} {old.get(key)}, not {entry[key]}; "
                    f"write to a new folder",
                    out / DATASET_JSON,
                )
        entry["count"] = max(int(count), int(old.get("count", 0)))
    dirs = {kind: out / f"{split}_{kind}" for kind in ("img", "label", "inst")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    record.setdefault("generator", "procedural street scenes (model/data/procedural)")
    record["note"] = f"generator version 1 is reproducible from git commit {V1_COMMIT}"
    record.setdefault("splits", {})[split] = entry
    atomic_write_bytes(out / DATASET_JSON, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    log.info("writing %d %s scenes of %d×%d to %s", count, split, config.width, config.height, out)
    for i in tqdm(range(count), desc=f"{split} scenes", unit="scene", disable=not progress):
        image, labels, instances = generate_scene(split_seed(seed, split), i, config)
        name = scene_name(i)
        atomic_write_bytes(dirs["img"] / name, encode_png_fast(image))
        atomic_write_bytes(dirs["label"] / name, encode_png_fast(labels))
        atomic_write_bytes(dirs["inst"] / name, encode_png_fast(instances.astype(np.uint16)))
