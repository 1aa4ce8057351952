"""Reading and writing scenes: label PNGs, Cityscapes instance PNGs and style JSON files.

A scene on disk is the pix2pixHD / Cityscapes pair ``NAME_labelIds.png`` (8-bit class ids) and
``NAME_instanceIds.png`` (16-bit, thing id = class*1000+k, stuff = class id), plus an optional
``NAME_styles.json`` mapping instance id → cluster index or code vector.

A scene is saved as one transaction (``model.atomic_files``): after a crash at any instant, Open
finds the whole old scene or the whole new one, and the folder keeps exactly these Cityscapes
files. Opening a scene first completes (or rolls back) a save of it that a crash interrupted, and
says so in ``OpenedScene.notice``; files written by other tools open as they are.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from model.atomic_files import (  # callers import these from here
    atomic_write_bytes,
    atomic_write_files,
    reading,
)
from model.errors import ImageFileError, StyleFileError, read_json_file
from model.labels import LabelSet, check_instances_agree

log = logging.getLogger(__name__)

MAX_PIXELS = 8192 * 8192  # refuse anything larger before decoding it
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

Style = int | tuple[float, ...]  # a cluster index, or an explicit code vector


@dataclass
class Scene:
    labels: np.ndarray  # H×W uint8 class ids
    instances: np.ndarray  # H×W int32 Cityscapes instance ids
    styles: dict[int, Style] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.labels.shape[1]), int(self.labels.shape[0])


# ----- PNG reading ------------------------------------------------------------------------------
def read_png(path: str | Path) -> np.ndarray:
    """Decode a PNG (or any PIL image) to a numpy array, with one clear error for any failure."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width < 2 or height < 2:
                raise ImageFileError(f"image is {width}×{height}; at least 2×2 is needed", path)
            if width * height > MAX_PIXELS:
                raise ImageFileError(
                    f"image is {width}×{height}, above the limit of {MAX_PIXELS} pixels", path
                )
            decoded: Image.Image = img
            if img.mode == "P":
                decoded = img.convert("RGB")
            elif img.mode == "I;16B":
                decoded = img.convert("I;16")
            decoded.load()
            return np.asarray(decoded).copy()
    except ImageFileError:
        raise
    except FileNotFoundError:
        raise ImageFileError("file not found", path) from None
    except IsADirectoryError:
        raise ImageFileError("is a folder, not an image", path) from None
    except Image.DecompressionBombError:
        raise ImageFileError(f"image is above the limit of {MAX_PIXELS} pixels", path) from None
    except UnidentifiedImageError:
        raise ImageFileError("not a readable image (unknown format or empty file)", path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageFileError(f"not a readable image ({exc.__class__.__name__}: {exc})", path) from None


def read_label_png(path: str | Path, label_set: LabelSet) -> np.ndarray:
    """A label PNG holding class ids (grayscale) or palette colours (RGB) → H×W uint8 ids."""
    data = read_png(path)
    if data.ndim == 3:
        rgb = data[..., :3]
        if (
            (rgb[..., 0] == rgb[..., 1]).all()
            and (rgb[..., 1] == rgb[..., 2]).all()
            and _looks_like_ids(rgb[..., 0], label_set)
        ):
            ids = rgb[..., 0]
        else:
            return label_set.decolorize(rgb, path)
    else:
        ids = data
    ids = ids.astype(np.int64)
    label_set.check_ids(ids, path)
    return ids.astype(np.uint8 if label_set.num_classes <= 256 else np.uint16)


def _looks_like_ids(gray: np.ndarray, label_set: LabelSet) -> bool:
    return int(gray.max()) < label_set.num_classes and bool(label_set.valid_mask[np.unique(gray)].all())


def read_instance_png(path: str | Path, labels: np.ndarray | None = None) -> np.ndarray:
    """A Cityscapes instanceIds PNG (8/16/32-bit grayscale) → H×W int32, checked against labels."""
    data = read_png(path)
    if data.ndim != 2:
        raise ImageFileError("instance map must be a single-channel (8/16/32-bit) PNG", path)
    instances = data.astype(np.int32)
    if (instances < 0).any():
        raise ImageFileError("instance map holds negative ids", path)
    if labels is not None:
        if instances.shape != labels.shape:
            raise ImageFileError(
                f"instance map is {instances.shape[1]}×{instances.shape[0]} but the label map is "
                f"{labels.shape[1]}×{labels.shape[0]}",
                path,
            )
        check_instances_agree(labels, instances, path)
    return instances


def read_styles(path: str | Path) -> dict[int, Style]:
    """styles JSON: {"26001": 3, "11": [0.1, -0.2, 0.3]} → {26001: 3, 11: (0.1, -0.2, 0.3)}."""
    return parse_styles(read_json_file(path, StyleFileError, "styles file"), path)


def parse_styles(data: object, source: str | Path | None = None) -> dict[int, Style]:
    if isinstance(data, dict) and "styles" in data and isinstance(data["styles"], dict):
        data = data["styles"]
    if not isinstance(data, dict):
        raise StyleFileError("styles must be an object of instance id → style", source)
    styles: dict[int, Style] = {}
    for key, value in data.items():
        try:
            inst = int(key)
            if inst < 0:
                raise ValueError
        except (TypeError, ValueError):
            raise StyleFileError(f"'{key}' is not an instance id", source) from None
        if isinstance(value, bool):
            raise StyleFileError(f"style of {key} must be a cluster index or a list of numbers", source)
        if isinstance(value, int) and value >= 0:
            styles[inst] = value
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in value)
        ):
            styles[inst] = tuple(float(v) for v in value)
        else:
            raise StyleFileError(f"style of {key} must be a cluster index or a list of numbers", source)
    return styles


def styles_to_json(styles: dict[int, Style]) -> dict[str, int | list[float]]:
    return {str(k): (v if isinstance(v, int) else [float(x) for x in v]) for k, v in sorted(styles.items())}


# ----- scene pairs ------------------------------------------------------------------------------
LABEL_SUFFIXES = ("_gtFine_labelIds.png", "_labelIds.png")


def scene_paths(label_path: str | Path) -> tuple[Path, Path, Path]:
    """The label, instance and styles paths of the scene a label PNG belongs to."""
    label_path = Path(label_path)
    name = label_path.name
    for suffix in LABEL_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            inst_suffix = suffix.replace("labelIds", "instanceIds")
            return (
                label_path,
                label_path.with_name(stem + inst_suffix),
                label_path.with_name(stem + suffix.replace("labelIds.png", "styles.json")),
            )
    stem = label_path.stem
    return (
        label_path,
        label_path.with_name(stem + "_instanceIds.png"),
        label_path.with_name(stem + "_styles.json"),
    )


def dataset_instance_path(label_path: Path) -> Path | None:
    """The instance map of a label map in a pix2pixHD dataset (``X_label/NAME`` → ``X_inst/NAME``)."""
    folder = label_path.parent
    if not folder.name.endswith("_label"):
        return None
    return folder.with_name(folder.name[: -len("_label")] + "_inst") / label_path.name


def find_instance_file(label_path: Path, beside: Path) -> Path | None:
    """The instance map found for a label map: beside it, else in its dataset's ``_inst`` folder."""
    for candidate in (beside, dataset_instance_path(label_path)):
        if candidate is not None and candidate.is_file():
            return candidate
    log.info("%s: no instance map found; every object of a class is one instance", label_path)
    return None


@dataclass(frozen=True)
class OpenedScene:
    scene: Scene
    notice: str | None  # one line when an interrupted save of this scene was completed or rolled back


def open_scene(
    label_path: str | Path,
    label_set: LabelSet,
    inst_path: str | Path | None = None,
    styles_path: str | Path | None = None,
) -> OpenedScene:
    """Open a scene from its label PNG; the instance and styles files are found next to it (the
    instance map also in a pix2pixHD dataset's ``_inst`` folder).

    A save of this scene that a crash interrupted is completed (it had reached its commit point)
    or rolled back first, and ``notice`` says which. Without an instance file the label map serves
    as the instance map, as in pix2pixHD.
    """
    label_path, auto_inst, auto_styles = scene_paths(label_path)
    with reading([label_path, auto_inst, auto_styles]) as recovery:
        labels = read_label_png(label_path, label_set)
        inst_file = Path(inst_path) if inst_path is not None else find_instance_file(label_path, auto_inst)
        instances = read_instance_png(inst_file, labels) if inst_file is not None else labels.astype(np.int32)
        style_file = (
            Path(styles_path) if styles_path is not None else (auto_styles if auto_styles.exists() else None)
        )
        styles = read_styles(style_file) if style_file is not None else {}
    return OpenedScene(Scene(labels=labels, instances=instances, styles=styles), recovery.notice)


def load_scene(
    label_path: str | Path,
    label_set: LabelSet,
    inst_path: str | Path | None = None,
    styles_path: str | Path | None = None,
) -> Scene:
    """:func:`open_scene`'s scene; its notice, if any, is logged as a warning."""
    opened = open_scene(label_path, label_set, inst_path, styles_path)
    if opened.notice is not None:
        log.warning("%s: %s", label_path, opened.notice)
    return opened.scene


def save_scene(scene: Scene, label_path: str | Path) -> tuple[Path, Path, Path]:
    """Write labelIds PNG + instanceIds PNG (16-bit) + styles JSON as one atomic set."""
    label_path, inst_path, styles_path = scene_paths(label_path)
    if scene.instances.max(initial=0) > 65535:
        raise ImageFileError("instance ids above 65535 do not fit a 16-bit PNG", inst_path)
    atomic_write_files(
        {
            label_path: encode_png(np.ascontiguousarray(scene.labels.astype(np.uint8))),
            inst_path: encode_png(np.ascontiguousarray(scene.instances.astype(np.uint16))),
            styles_path: json.dumps(styles_to_json(scene.styles), indent=1).encode("utf-8"),
        }
    )
    return label_path, inst_path, styles_path


# ----- encoding ---------------------------------------------------------------------------------
def encode_png(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: str | Path, array: np.ndarray) -> None:
    atomic_write_bytes(path, encode_png(np.ascontiguousarray(array)))


def write_pngs(images: dict[Path, np.ndarray]) -> None:
    """Export several PNGs into one folder as one atomic set: after a crash, all old or all new."""
    atomic_write_files({Path(p): encode_png(np.ascontiguousarray(a)) for p, a in images.items()})
