"""The evaluation protocol: one pass over the held-out scenes, every measure at native resolution.

For each scene the photo, the checkpoint's render and the reference rows (``references``) go
through the judge (segmentation and features), the line spectra and the edge detector; only
per-scene counts and running sums are kept, so 2048×1024 frames stream through in constant memory.
The floor of the domain FID is the judge's features of real *training* photos against the held-out
photos."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from model.data.folders import LoaderConfig, PairedDataset
from model.evaluate.appearance import appearance_control
from model.evaluate.crops import CropPicker
from model.evaluate.edges import distance_to, edge_counts, edge_map
from model.evaluate.fid import Moments, cell_features, fid
from model.evaluate.judge import JudgeConfig, Segmenter, class_table, obtain_judge, segment
from model.evaluate.metrics import scene_confusions
from model.evaluate.references import reference_images
from model.evaluate.report import PHOTO, RENDER, Report, RowScores
from model.evaluate.spectral import Spectrum, artefacts
from model.labels import LabelSet
from model.render.full import Renderer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluateConfig:
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    phase: str = "test"  # choose checkpoints on "val"; score "test" once per adopted model
    limit: int | None = None  # use only the first N held-out scenes
    floor_limit: int | None = None  # training photos for the FID floor (default: as many as held-out scenes)
    seed: int = 0  # render seed (object styles)
    cache_judge: bool = True
    appearance_scenes: int = 1
    crop: int = 256  # crop sheet window, px at 100%
    out: Path | None = None  # crop sheet, first renders and report.json
    renders: Path | None = None  # this checkpoint's renders, one PNG per label file name: reused or written


@dataclass
class RowSums:
    confusions: list[np.ndarray] = field(default_factory=list)
    edges: list[np.ndarray] = field(default_factory=list)
    moments: Moments = field(default_factory=Moments)
    spectrum: Spectrum = field(default_factory=Spectrum)


def judge_image(
    judge: Segmenter, image: np.ndarray, target: torch.Tensor, num_classes: int, sums: RowSums
) -> None:
    pred, deep, fused = segment(judge, image)
    sums.confusions.append(scene_confusions(pred[None], target[None], num_classes)[0])
    sums.moments.add(cell_features(deep, fused))


def photo_moments(judge: Segmenter, dataset: PairedDataset, count: int) -> Moments:
    moments = Moments()
    for i in range(count):
        _, _, photo = dataset.load_arrays(i)
        _, deep, fused = segment(judge, photo)
        moments.add(cell_features(deep, fused))
    return moments


def render_or_reuse(
    renderer: Renderer, labels: np.ndarray, instances: np.ndarray, seed: int, stored: Path | None
) -> tuple[np.ndarray, float | None]:
    """The render of one scene and its seconds; read from ``stored`` when that PNG exists (no
    time), else rendered and, with ``stored``, written there for the next run."""
    from model.scene_io import read_png, write_png

    if stored is not None and stored.is_file():
        image = read_png(stored)
        if image.shape[:2] == labels.shape and image.ndim == 3:
            return image[..., :3], None
        log.warning(
            "%s: %s, not a %d×%d RGB render; rendering again", stored, image.shape, *labels.shape[::-1]
        )
    start = time.perf_counter()
    image = renderer.render(labels, instances, {}, seed)
    seconds = time.perf_counter() - start
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        write_png(stored, image)
    return image, seconds


def evaluate(
    renderer: Renderer,
    data: Path,
    label_set: LabelSet,
    config: EvaluateConfig = EvaluateConfig(),
    progress: bool = False,
) -> Report:
    """Score ``renderer`` on DATA's held-out split (``config.phase``); see the module docstring."""
    from tqdm import tqdm

    judge, classes = obtain_judge(data, label_set, config.judge, config.cache_judge, progress)
    table = class_table(classes)
    held_out = PairedDataset(
        LoaderConfig(root=data, phase=config.phase, resize="none", flip=False), label_set
    )
    count = min(len(held_out), config.limit) if config.limit else len(held_out)
    rows: dict[str, RowSums] = {}
    picker = CropPicker(config.crop)
    timings: list[float] = []
    size = (0, 0)
    appearance: list[dict[str, float]] = []
    for i in tqdm(
        range(count),
        desc=f"scoring {config.phase} scenes",
        unit="scene",
        disable=not progress,
        dynamic_ncols=True,
    ):
        labels, instances, photo = held_out.load_arrays(i)
        size = (photo.shape[1], photo.shape[0])
        stored = config.renders / held_out.samples[i].label.name if config.renders is not None else None
        render, seconds = render_or_reuse(renderer, labels, instances, config.seed, stored)
        if seconds is not None:
            timings.append(seconds)
        images = {PHOTO: photo, RENDER: render, **reference_images(photo, instances)}
        target = torch.from_numpy(table[labels])
        photo_edges = edge_map(photo)
        photo_distance = distance_to(photo_edges)
        for name, image in images.items():
            sums = rows.setdefault(name, RowSums())
            judge_image(judge, image, target, len(classes), sums)
            sums.spectrum.add(image)
            sums.edges.append(edge_counts(edge_map(image), photo_edges, photo_distance))
        picker.offer(i, photo, render, labels, instances)
        if len(appearance) < config.appearance_scenes:
            result = appearance_control(renderer, labels, instances)
            if result is not None:
                appearance.append(result)
        if config.out is not None and i < 4:
            from model.scene_io import write_png

            config.out.mkdir(parents=True, exist_ok=True)
            write_png(config.out / f"render_{i:02d}.png", render)
            write_png(config.out / f"label_{i:02d}.png", label_set.colorize(labels))
    train = PairedDataset(LoaderConfig(root=data, phase="train", resize="none", flip=False), label_set)
    floor_count = min(len(train), config.floor_limit or count)
    log.info("judge features of %d training photos for the FID floor", floor_count)
    floor = fid(photo_moments(judge, train, floor_count), rows[PHOTO].moments)
    scores = {
        name: RowScores(
            name,
            np.stack(s.confusions),
            np.stack(s.edges),
            fid(s.moments, rows[PHOTO].moments),
            artefacts(s.spectrum, rows[PHOTO].spectrum),
        )
        for name, s in rows.items()
    }
    render_seconds = float(np.mean(timings)) if timings else float("nan")
    report = Report(
        classes=classes,
        rows=scores,
        fid_floor=floor,
        render_seconds=render_seconds,
        size=size,
        phase=config.phase,
        appearance=appearance,
        floor_photos=floor_count,
    )
    if config.out is not None:
        report.crop_sheet = picker.write(config.out / "crops.png")
        report.write_json(config.out / "report.json")
    return report
