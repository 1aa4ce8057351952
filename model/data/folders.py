"""Paired label / instance / photo datasets on disk, for training.

Three layouts are understood (``layout="auto"`` picks the first that matches ``root``):

* ``pix2pixhd``: ``{phase}_label/``, ``{phase}_inst/`` (optional), ``{phase}_img/``;
* ``cityscapes``: ``gtFine/{phase}/{city}/*_gtFine_labelIds.png`` and ``*_gtFine_instanceIds.png``,
  ``leftImg8bit/{phase}/{city}/*_leftImg8bit.png``;
* ``plain``: ``labels/``, ``images/`` and optional ``instances/`` (or the same under ``{phase}/``),
  paired by file name, for custom datasets with their own JSON label set.

Files are paired by a *key*: the file stem with the Cityscapes suffixes (``_gtFine_labelIds``,
``_leftImg8bit``, ...) removed, so ``aachen_000000_000019_leftImg8bit.png`` pairs with
``aachen_000000_000019_gtFine_labelIds.png``. Without any instance file the label map serves as
the instance map, as in pix2pixHD. Labels and instances stay integer from the PNG to the
LongTensor: they are resized with nearest neighbour and never pass through a float image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from model.errors import DatasetError, ImageFileError
from model.labels import LabelSet, check_instances_agree
from model.scene_io import read_instance_png, read_label_png, read_png

log = logging.getLogger(__name__)

LAYOUTS = ("pix2pixhd", "cityscapes", "plain")
RESIZE_MODES = ("scale_width", "crop", "none")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
KEY_SUFFIXES = (
    "_gtFine_labelIds",
    "_gtFine_instanceIds",
    "_gtFine_color",
    "_leftImg8bit",
    "_labelIds",
    "_instanceIds",
)


@dataclass(frozen=True)
class LoaderConfig:
    """Where a dataset is and how its samples are resized, cropped and flipped."""

    root: Path
    phase: str = "train"  # split name
    layout: str = "auto"  # "pix2pixhd" | "cityscapes" | "plain" | "auto" (detect)
    resize: str = "scale_width"  # "scale_width" | "crop" (random crop at load size) | "none"
    load_size: tuple[int, int] | None = None  # (width, height) after scaling; None = native
    crop_size: tuple[int, int] | None = None  # (width, height) random crop after resize; None = no crop
    flip: bool = True
    ignore_unknown: bool = False  # map label ids outside the label set to its unlabeled id
    check_instances: bool = True  # require instance ids to agree with the label map (Cityscapes rule)


@dataclass(frozen=True)
class Sample:
    """The files of one training pair (inst is None when the dataset has no instance maps)."""

    key: str
    label: Path
    image: Path
    inst: Path | None


# ----- finding files ----------------------------------------------------------------------------
def pair_key(path: Path) -> str:
    """File stem without the Cityscapes suffixes: the name that pairs label, instance and photo."""
    stem = path.stem
    for suffix in KEY_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def detect_layout(root: Path, phase: str) -> str:
    """The layout of a dataset folder, or DatasetError saying what was looked for."""
    if not root.is_dir():
        raise DatasetError("dataset folder not found", root)
    if (root / f"{phase}_label").is_dir():
        return "pix2pixhd"
    if (root / "gtFine" / phase).is_dir():
        return "cityscapes"
    if (root / "labels").is_dir() or (root / phase / "labels").is_dir():
        return "plain"
    raise DatasetError(
        f"no dataset layout found: expected {phase}_label/ (pix2pixHD), gtFine/{phase}/ (Cityscapes) "
        f"or labels/ + images/ (plain)",
        root,
    )


def _index(folder: Path, pattern: str, recursive: bool = False) -> dict[str, Path]:
    files = folder.rglob(pattern) if recursive else folder.glob(pattern)
    out: dict[str, Path] = {}
    for path in sorted(files):
        if path.is_file() and (pattern != "*" or path.suffix.lower() in IMAGE_EXTS):
            key = pair_key(path)
            if key in out:
                raise DatasetError(
                    f"two files pair under the name '{key}': {out[key].name} and {path.name}", folder
                )
            out[key] = path
    return out


def _pair(
    labels: dict[str, Path],
    images: dict[str, Path],
    insts: dict[str, Path] | None,
    image_dir: Path,
    inst_dir: Path | None,
) -> list[Sample]:
    samples = []
    for key, label in sorted(labels.items()):
        image = images.get(key)
        if image is None:
            raise DatasetError(f"no photo for this label map in {image_dir}", label)
        inst = None
        if insts is not None:
            inst = insts.get(key)
            if inst is None:
                raise DatasetError(f"no instance map for this label map in {inst_dir}", label)
        samples.append(Sample(key, label, image, inst))
    return samples


def find_samples(root: Path, phase: str = "train", layout: str = "auto") -> list[Sample]:
    """All (label, image, instance) triples of a dataset, sorted by key."""
    root = Path(root)
    if layout == "auto":
        layout = detect_layout(root, phase)
    if layout not in LAYOUTS:
        raise DatasetError(f"unknown layout '{layout}' (expected one of {', '.join(LAYOUTS)} or auto)")
    if layout == "pix2pixhd":
        label_dir, inst_dir, image_dir = (
            root / f"{phase}_label",
            root / f"{phase}_inst",
            root / f"{phase}_img",
        )
        labels = _require(label_dir, _index(label_dir, "*.png") if label_dir.is_dir() else {})
        insts = _index(inst_dir, "*.png") if inst_dir.is_dir() else None
        images = _index(image_dir, "*") if image_dir.is_dir() else {}
    elif layout == "cityscapes":
        label_dir, image_dir = root / "gtFine" / phase, root / "leftImg8bit" / phase
        inst_dir = label_dir
        labels = _require(
            label_dir,
            _index(label_dir, "*_gtFine_labelIds.png", recursive=True) if label_dir.is_dir() else {},
        )
        insts = _index(label_dir, "*_gtFine_instanceIds.png", recursive=True) or None
        images = _index(image_dir, "*_leftImg8bit.png", recursive=True) if image_dir.is_dir() else {}
    else:
        base = root / phase if (root / phase / "labels").is_dir() else root
        label_dir, inst_dir, image_dir = base / "labels", base / "instances", base / "images"
        labels = _require(label_dir, _index(label_dir, "*.png") if label_dir.is_dir() else {})
        insts = _index(inst_dir, "*.png") if inst_dir.is_dir() else None
        images = _index(image_dir, "*") if image_dir.is_dir() else {}
    if not images and not image_dir.is_dir():
        raise DatasetError("photo folder not found", image_dir)
    return _pair(labels, images, insts, image_dir, inst_dir)


def _require(folder: Path, found: dict[str, Path]) -> dict[str, Path]:
    if not found:
        raise DatasetError("no label maps found" if folder.is_dir() else "label folder not found", folder)
    return found


# ----- reading and transforming one sample -------------------------------------------------------
def read_labels(path: Path, label_set: LabelSet, ignore_unknown: bool) -> np.ndarray:
    """A label PNG → H×W int64 class ids; unknown ids raise ImageFileError or become unlabeled."""
    if not ignore_unknown:
        return read_label_png(path, label_set).astype(np.int64)
    data = read_png(path)
    if data.ndim == 3:
        rgb = data[..., :3]
        if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
            data = rgb[..., 0]
        else:  # a colour-coded label map: unknown colours cannot be mapped to ids
            return read_label_png(path, label_set).astype(np.int64)
    ids = data.astype(np.int64)
    known = (ids >= 0) & (ids < label_set.num_classes)
    known[known] = label_set.valid_mask[ids[known]]
    if not known.all():
        log.debug("%s: %d pixels with unknown ids mapped to unlabeled", path, int((~known).sum()))
        ids[~known] = label_set.unlabeled_id
    return ids


def read_image(path: Path) -> np.ndarray:
    """A photo → H×W×3 uint8 RGB (gray is replicated, alpha dropped, 16-bit scaled down)."""
    data = read_png(path)
    if data.dtype == np.uint16 or data.dtype == np.int32:
        data = (data.astype(np.float32) / 257.0).clip(0, 255).astype(np.uint8)
    elif data.dtype == np.bool_:
        data = data.astype(np.uint8) * 255
    elif data.dtype != np.uint8:
        raise ImageFileError(f"unsupported photo pixel type {data.dtype}", path)
    if data.ndim == 2:
        data = np.repeat(data[..., None], 3, axis=2)
    elif data.shape[2] == 4:
        data = data[..., :3]
    elif data.shape[2] != 3:
        raise ImageFileError(f"photo has {data.shape[2]} channels; expected 1, 3 or 4", path)
    return np.ascontiguousarray(data)


def _resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an integer map, keeping the exact values (via int32)."""
    return cv2.resize(array.astype(np.int32), size, interpolation=cv2.INTER_NEAREST).astype(array.dtype)


def _resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    shrink = size[0] < w or size[1] < h
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def transform_geometry(
    config: LoaderConfig, size: tuple[int, int], rng: np.random.Generator
) -> tuple[tuple[int, int] | None, tuple[int, int, int, int] | None, bool]:
    """(resize to (w, h) or None, crop box (x, y, w, h) or None, flip) for an image of `size`."""
    width, height = size
    target: tuple[int, int] | None = None
    window = config.crop_size
    if config.resize == "scale_width":
        if config.load_size is not None:
            new_w = int(config.load_size[0])
            target = (new_w, max(1, round(height * new_w / width)))
    elif config.resize == "crop":
        window = config.crop_size or config.load_size
    elif config.resize != "none":
        raise DatasetError(
            f"unknown resize mode '{config.resize}' (expected one of {', '.join(RESIZE_MODES)})"
        )
    cur_w, cur_h = target if target is not None else (width, height)
    box = None
    if window is not None:
        cw, ch = int(window[0]), int(window[1])
        if cw > cur_w or ch > cur_h:
            raise DatasetError(f"crop {cw}×{ch} is larger than the {cur_w}×{cur_h} image")
        x = int(rng.integers(0, cur_w - cw + 1))
        y = int(rng.integers(0, cur_h - ch + 1))
        box = (x, y, cw, ch)
    flip = bool(config.flip and rng.random() < 0.5)
    return target, box, flip


def photo_tensor(image: np.ndarray) -> torch.Tensor:
    """An H×W×3 uint8 photo (any strides) as a 3×H×W float tensor in [-1, 1], G's and E's range."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(127.5).sub_(1.0)


class PairedDataset(Dataset):
    """Training pairs: {"label": LongTensor H×W, "inst": LongTensor H×W, "image": 3×H×W in [-1, 1], "path"}.

    Random crops and flips come from (seed, epoch, index); call set_epoch() each epoch to vary them.
    """

    def __init__(self, config: LoaderConfig, label_set: LabelSet, seed: int = 0) -> None:
        if config.resize not in RESIZE_MODES:
            raise DatasetError(
                f"unknown resize mode '{config.resize}' (expected one of {', '.join(RESIZE_MODES)})"
            )
        self.config = config
        self.label_set = label_set
        self.seed = int(seed)
        self.epoch = 0
        self.samples = find_samples(Path(config.root), config.phase, config.layout)
        log.info("%s: %d %s pairs", config.root, len(self.samples), config.phase)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def load_arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Native-size (labels int64, instances int64, image uint8 RGB) of sample i, all checked."""
        sample = self.samples[i]
        labels = read_labels(sample.label, self.label_set, self.config.ignore_unknown)
        if sample.inst is None:
            instances = labels.copy()
        else:
            instances = read_instance_png(sample.inst).astype(np.int64)
            if instances.shape != labels.shape:
                raise ImageFileError(
                    f"instance map is {instances.shape[1]}×{instances.shape[0]} but its label map "
                    f"{sample.label.name} is {labels.shape[1]}×{labels.shape[0]}",
                    sample.inst,
                )
            if self.config.ignore_unknown:
                unknown = labels == self.label_set.unlabeled_id
                instances[unknown] = self.label_set.unlabeled_id
            if self.config.check_instances:
                check_instances_agree(labels, instances, sample.inst)
        image = read_image(sample.image)
        if image.shape[:2] != labels.shape:
            raise ImageFileError(
                f"photo is {image.shape[1]}×{image.shape[0]} but its label map {sample.label.name} is "
                f"{labels.shape[1]}×{labels.shape[0]}",
                sample.image,
            )
        return labels, instances, image

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self.samples):
            raise IndexError(i)
        labels, instances, image = self.load_arrays(i)
        rng = np.random.default_rng([self.seed, self.epoch, i])
        target, box, flip = transform_geometry(self.config, (labels.shape[1], labels.shape[0]), rng)
        if target is not None and target != (labels.shape[1], labels.shape[0]):
            labels = _resize_nearest(labels, target)
            instances = _resize_nearest(instances, target)
            image = _resize_image(image, target)
        if box is not None:
            x, y, w, h = box
            labels, instances, image = (
                labels[y : y + h, x : x + w],
                instances[y : y + h, x : x + w],
                image[y : y + h, x : x + w],
            )
        if flip:
            labels, instances, image = labels[:, ::-1], instances[:, ::-1], image[:, ::-1]
        image_t = photo_tensor(image)
        return {
            "label": torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)),
            "inst": torch.from_numpy(np.ascontiguousarray(instances, dtype=np.int64)),
            "image": image_t,
            "path": str(self.samples[i].label),
        }
