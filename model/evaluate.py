"""Evaluation: pix2pixHD's segmentation protocol and the appearance-control check.

1. Train a small segmenter (model.segmenter) on *real* photos of the training split, at a reduced
   resolution, with PSPNet's augmentation (mirror, resize, rotation, blur) unless told otherwise.
2. On held-out scenes, segment the real photos and the generator's renders of their label maps.
   The generator is good when mIoU(generated) is close to mIoU(real): the judge recognises its
   classes as it recognises real ones.
3. Appearance control: switch one car's style cluster and measure how much the car's mean colour
   changes, and how little the pixels away from it change.
4. Ceilings, to read the ratio against: the same judge on degraded *real* photos. "flat" fills every
   instance with its true mean colour (perfect colours, no texture or shading); "blur" is the photo
   under a Gaussian blur of ``BLUR_SIGMA`` native pixels (one judge pixel at 2048 → 256).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from model.data.folders import LoaderConfig, PairedDataset, photo_tensor
from model.labels import LabelSet
from model.render.full import Renderer
from model.segmenter import (Augmentation, Segmenter, bootstrap_ratio, confusion, iou_per_class, mean_iou,
                             predict, scene_confusions, train_segmenter)

log = logging.getLogger(__name__)

CAR = 26  # Cityscapes labelId of "car"
BLUR_SIGMA = 8.0  # native pixels, for the "blur" ceiling
JUDGE_FOLDER = ".judge"  # inside the dataset root


@dataclass
class Split:
    images: torch.Tensor  # N×3×h×w in [-1, 1] at the segmenter's size
    labels: np.ndarray  # N×h×w class ids at the segmenter's size
    full_labels: list[np.ndarray] = field(default_factory=list)  # native size, for rendering
    full_instances: list[np.ndarray] = field(default_factory=list)
    degraded: dict[str, torch.Tensor] = field(default_factory=dict)  # "flat" / "blur" photos, for the ceilings


def shrink_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def shrink_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(labels.astype(np.int32), size, interpolation=cv2.INTER_NEAREST)


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.stack([photo_tensor(image) for image in images])


def load_split(root: Path, phase: str, label_set: LabelSet, size: tuple[int, int], limit: int | None = None,
               keep_full: bool = False, degrade: bool = False) -> Split:
    """The split's photos and label maps at the judge's size; ``keep_full`` also keeps the native
    label and instance maps, ``degrade`` the degraded photos of the ceilings (``degraded_photo``)."""
    dataset = PairedDataset(LoaderConfig(root=root, phase=phase, resize="none", flip=False), label_set)
    count = min(len(dataset), limit) if limit else len(dataset)
    images, labels, split = [], [], Split(torch.empty(0), np.empty(0))
    degraded: dict[str, list[np.ndarray]] = {}
    for i in range(count):
        lab, inst, img = dataset.load_arrays(i)
        images.append(shrink_image(img, size))
        labels.append(shrink_labels(lab, size))
        if keep_full:
            split.full_labels.append(lab.astype(np.uint8))
            split.full_instances.append(inst.astype(np.int32))
        if degrade:
            for name, photo in degraded_photo(img, inst, size).items():
                degraded.setdefault(name, []).append(photo)
    split.images = to_tensor(images)
    split.labels = np.stack(labels)
    split.degraded = {name: to_tensor(photos) for name, photos in degraded.items()}
    return split


def degraded_photo(image: np.ndarray, instances: np.ndarray, size: tuple[int, int]) -> dict[str, np.ndarray]:
    """One real photo degraded two ways (see the module docstring), shrunk for the judge."""
    from model.networks.encoder import instance_average

    pixels = torch.from_numpy(image).permute(2, 0, 1).float()[None]
    means = instance_average(pixels, torch.from_numpy(instances.astype(np.int64))[None])
    return {"flat": shrink_image(means[0].permute(1, 2, 0).round().numpy().astype(np.uint8), size),
            "blur": shrink_image(cv2.GaussianBlur(image, (0, 0), BLUR_SIGMA), size)}


@dataclass
class Report:
    miou_real: float
    miou_generated: float
    classes: list[int]
    iou_real: np.ndarray
    iou_generated: np.ndarray
    render_seconds: float
    appearance: list[dict[str, float]] = field(default_factory=list)  # one per scene checked
    ceilings: dict[str, float] = field(default_factory=dict)  # degraded real photos: name → mIoU
    ratio_interval: tuple[float, float] = (float("nan"), float("nan"))  # 95%, scenes resampled
    scene_count: int = 0
    # per class: its pixels in the held-out labels at the judge's size, and the held-out scenes showing it
    pixels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    scenes_with: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def ratio(self) -> float:
        return self.miou_generated / self.miou_real if self.miou_real > 0 else float("nan")


def class_index(labels: np.ndarray, classes: list[int], ignore: int = -1) -> torch.Tensor:
    """Class ids → contiguous indices into ``classes``; other ids → ``ignore``."""
    table = np.full(256, ignore, dtype=np.int64)
    table[classes] = np.arange(len(classes))
    return torch.from_numpy(table[labels.astype(np.int64)])


def render_split(renderer: Renderer, split: Split, size: tuple[int, int], seed: int = 0,
                 out_dir: Path | None = None, label_set: LabelSet | None = None) -> tuple[torch.Tensor, float]:
    """Render every held-out label map at native size; return them shrunk for the segmenter."""
    shrunk, seconds = [], 0.0
    for i, (labels, instances) in enumerate(zip(split.full_labels, split.full_instances)):
        start = time.perf_counter()
        image = renderer.render(labels, instances, {}, seed)
        seconds += time.perf_counter() - start
        shrunk.append(shrink_image(image, size))
        if out_dir is not None and i < 4:
            from model.scene_io import write_png

            out_dir.mkdir(parents=True, exist_ok=True)
            write_png(out_dir / f"render_{i:02d}.png", image)
            if label_set is not None:
                write_png(out_dir / f"label_{i:02d}.png", label_set.colorize(labels))
    return to_tensor(shrunk), seconds / max(1, len(split.full_labels))


def appearance_control(renderer: Renderer, labels: np.ndarray, instances: np.ndarray,
                       class_id: int = CAR, margin: int = 64) -> dict[str, float] | None:
    """Switch the largest instance of ``class_id`` between its two most different clusters.

    Returns the change of its mean colour (Euclidean RGB distance, in 1/255 units) and the mean
    absolute change of the pixels outside its bounding box grown by ``margin`` (1/255 units).
    """
    centres = renderer.styles.centres[class_id, : renderer.num_styles(class_id)]
    things = instances[instances >= class_id * 1000]
    things = things[things // 1000 == class_id]
    if len(centres) < 2 or things.size == 0:
        return None
    ids, counts = np.unique(things, return_counts=True)
    target = int(ids[np.argmax(counts)])
    distance = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    a, b = np.unravel_index(np.argmax(distance), distance.shape)
    first = renderer.render(labels, instances, {target: int(a)}).astype(np.float64)
    second = renderer.render(labels, instances, {target: int(b)}).astype(np.float64)
    mask = instances == target
    ys, xs = np.nonzero(mask)
    far = np.ones_like(mask)
    far[max(0, ys.min() - margin): ys.max() + margin + 1, max(0, xs.min() - margin): xs.max() + margin + 1] = False
    colour_change = float(np.linalg.norm(first[mask].mean(0) - second[mask].mean(0)))
    far_change = float(np.abs(first[far] - second[far]).mean()) if far.any() else 0.0
    return {"instance": float(target), "pixels": float(mask.sum()), "cluster_a": float(a), "cluster_b": float(b),
            "colour_change": colour_change, "far_change": far_change}


def judge_key(data: Path, label_set: LabelSet, size: tuple[int, int], steps: int, limit: int | None,
              seed: int, augmentation: Augmentation | None = None) -> str:
    """What the judge depends on: its settings and the training files (names, sizes, mtimes).
    A mirror-only judge keeps the key it had before augmentation existed."""
    settings: dict = {"format": 1, "size": size, "steps": steps, "seed": seed, "labels": label_set.name}
    if augmentation is not None:
        settings["augmentation"] = asdict(augmentation)
    dataset = PairedDataset(LoaderConfig(root=data, phase="train", resize="none", flip=False), label_set)
    digest = hashlib.sha256(json.dumps(settings).encode())
    for sample in dataset.samples[:limit] if limit else dataset.samples:
        for path in (sample.label, sample.image):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:20]


def load_judge(folder: Path, key: str) -> tuple[Segmenter, list[int]] | None:
    weights, meta = folder / f"{key}.safetensors", folder / f"{key}.json"
    if not (weights.is_file() and meta.is_file()):
        return None
    try:
        classes = [int(c) for c in json.loads(meta.read_text())["classes"]]
        segmenter = Segmenter(len(classes))
        segmenter.load_state_dict(load_file(weights))
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        log.warning("%s: cached judge unreadable (%s); training a new one", weights, exc)
        return None
    return segmenter.eval(), classes


def save_judge(folder: Path, key: str, segmenter: Segmenter, classes: list[int]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in segmenter.state_dict().items()}, folder / f"{key}.safetensors")
        (folder / f"{key}.json").write_text(json.dumps({"classes": classes}))
    except OSError as exc:
        log.warning("%s: cannot cache the judge (%s)", folder, exc)


def evaluate(renderer: Renderer, data: Path, label_set: LabelSet, size: tuple[int, int] = (256, 128),
             steps: int = 1500, train_limit: int | None = None, test_limit: int | None = None,
             seed: int = 0, out_dir: Path | None = None, test_phase: str = "test", cache_judge: bool = True,
             appearance_scenes: int = 1, augmentation: Augmentation | None = Augmentation(),
             progress: bool = False) -> Report:
    """The segmentation protocol. With ``cache_judge`` the trained segmenter is kept in
    DATA/.judge/ and reused while its settings and the training files are unchanged, so every
    checkpoint evaluated on the same data faces the same judge (and the run takes seconds).
    ``appearance_scenes``: how many held-out scenes with a car the appearance check runs on.
    ``augmentation``: how the judge's training photos are varied (None: mirror only).
    ``progress``: a progress bar while the judge trains."""
    key = judge_key(data, label_set, size, steps, train_limit, seed, augmentation)
    cached = load_judge(data / JUDGE_FOLDER, key) if cache_judge else None
    if cached is not None:
        segmenter, classes = cached
        log.info("reusing the judge %s/%s", JUDGE_FOLDER, key)
    else:
        log.info("loading real training photos at %dx%d", *size)
        train = load_split(data, "train", label_set, size, train_limit)
        classes = [int(c) for c in np.unique(train.labels) if c != label_set.unlabeled_id]
        log.info("training the segmenter on %d photos, %d classes, %d steps", len(train.images), len(classes), steps)
        segmenter = train_segmenter(train.images, class_index(train.labels, classes), len(classes), steps=steps,
                                    seed=seed, augmentation=augmentation, progress=progress)
        if cache_judge:
            save_judge(data / JUDGE_FOLDER, key, segmenter, classes)
    test = load_split(data, test_phase, label_set, size, test_limit, keep_full=True, degrade=True)
    target = class_index(test.labels, classes)
    scenes_real = scene_confusions(predict(segmenter, test.images), target, len(classes))
    log.info("rendering %d held-out label maps", len(test.full_labels))
    generated, seconds = render_split(renderer, test, size, seed, out_dir, label_set)
    scenes_fake = scene_confusions(predict(segmenter, generated), target, len(classes))
    matrix_real, matrix_fake = scenes_real.sum(0), scenes_fake.sum(0)
    ceilings = {name: mean_iou(confusion(predict(segmenter, images), target, len(classes)))
                for name, images in test.degraded.items()}
    appearance = []
    for labels, instances in zip(test.full_labels, test.full_instances):
        if len(appearance) >= appearance_scenes:
            break
        result = appearance_control(renderer, labels, instances)
        if result is not None:
            appearance.append(result)
    return Report(mean_iou(matrix_real), mean_iou(matrix_fake), classes, iou_per_class(matrix_real),
                  iou_per_class(matrix_fake), seconds, appearance, ceilings,
                  bootstrap_ratio(scenes_real, scenes_fake, seed=seed), len(scenes_real),
                  pixels=matrix_real.sum(1), scenes_with=(scenes_real.sum(2) > 0).sum(0))
