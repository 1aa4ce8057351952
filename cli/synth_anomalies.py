"""`synth-anomalies`: render scenes with the pix2pixHD model, add anomalies, write image + label pairs.

    python main.py synth-anomalies --data D --out O --count N --method {paste,perlin,diffusion} \
        [--steps 10] [--seed S] [--families train|test] [--inpainter checkpoints/inpainter]
    python main.py synth-anomalies --bench [--steps 10] [--bench-side 128]

Each frame is written as NAME.png, NAME_anomaly.png (0 normal, 1 anomaly, 255 void) and
NAME_anomaly.json (method, seed, steps, boxes). ``--families test`` pastes the held-out families:
that is the test set ``evaluate-anomaly`` scores on. ``--bench`` writes nothing: it times one
inpaint of a ``--bench-side``² crop with ``--steps`` steps and prints the figure.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from cli.args import int_at_least, size_type
from model.anomaly.bench import time_inpaint
from model.anomaly.export import AnomalyPair, write_pair
from model.anomaly.families import TEST_FAMILIES, TRAIN_FAMILIES
from model.anomaly.inpainter import Inpainter, load_inpainter
from model.anomaly.sampler import SPACINGS, SamplerConfig
from model.anomaly.synthesis import (
    MAX_STEPS,
    METHODS,
    MIN_STEPS,
    AnomalyError,
    SynthesisConfig,
    synthesize_frame,
)
from model.data.folders import find_samples
from model.errors import DatasetError
from model.resources import default_checkpoint_dir, inpainter_dir
from model.scene_io import load_scene, read_png, write_png

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=Path, default=None, help="dataset folder with {phase}_label/ (+ _inst/)"
    )
    parser.add_argument("--phase", default="train", help="which split of --data to use (default train)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the pairs")
    parser.add_argument("--count", type=int_at_least(1), default=None, help="number of frames")
    parser.add_argument("--method", choices=METHODS, default=None, help="how anomalies are made")
    parser.add_argument(
        "--steps", type=steps_type, default=10, help=f"AIAS steps (diffusion; {MIN_STEPS}..{MAX_STEPS})"
    )
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="frame i depends only on (seed, i)")
    parser.add_argument("--per-frame", type=int_at_least(1), default=4, help="anomalies per frame")
    parser.add_argument(
        "--families",
        choices=("train", "test"),
        default="train",
        help="object families for shapes and paste colours; test = the held-out set",
    )
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="pix2pixHD checkpoint (default: bundled)"
    )
    parser.add_argument(
        "--inpainter",
        type=Path,
        default=None,
        help="inpainter checkpoint folder (default: the bundled checkpoints/inpainter)",
    )
    parser.add_argument(
        "--size",
        type=size_type(16),
        default=None,
        metavar="WxH",
        help="render size (default: the label maps' size)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder of clean renders to reuse and fill (several methods share one)",
    )
    parser.add_argument("--no-farm", action="store_true", help="diffusion without FARM (ablation)")
    parser.add_argument(
        "--spacing",
        choices=SPACINGS,
        default=SamplerConfig().spacing,
        help="where the AIAS segments end: quadratic in t (short ones near the clean end) or uniform",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--bench",
        action="store_true",
        help="time one inpaint with the inpainter (--steps, --bench-side) instead of writing pairs",
    )
    parser.add_argument(
        "--bench-side", type=int_at_least(8), default=128, help="crop side for --bench (a multiple of 4)"
    )


def steps_type(text: str) -> int:
    value = int_at_least(MIN_STEPS)(text)
    if value > MAX_STEPS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_STEPS}")
    return value


def bench(args: argparse.Namespace) -> int:
    if args.bench_side % 4:
        raise AnomalyError(f"--bench-side must be a multiple of 4, not {args.bench_side}")
    model = load_inpainter(args.inpainter or inpainter_dir())
    print(time_inpaint(model, args.bench_side, args.steps).describe())
    return 0


def clean_render(
    renderer,
    label_path: Path,
    inst_path: Path | None,
    size: tuple[int, int] | None,
    cache: Path | None,
    name: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(render uint8, labels) of one scene, read from or written to ``cache``."""
    scene = load_scene(label_path, renderer.label_set, inst_path)
    labels, instances = scene.labels, scene.instances
    if size is not None and (labels.shape[1], labels.shape[0]) != size:
        labels = cv2.resize(labels.astype(np.int32), size, interpolation=cv2.INTER_NEAREST).astype(
            labels.dtype
        )
        instances = cv2.resize(instances.astype(np.int32), size, interpolation=cv2.INTER_NEAREST)
    cached = cache / f"{name}.png" if cache is not None else None
    if cached is not None and cached.is_file():
        image = read_png(cached)[..., :3]
        if image.shape[:2] == labels.shape:
            return image, labels
    image = renderer.render(labels, instances, scene.styles)
    if cached is not None:
        cache.mkdir(parents=True, exist_ok=True)
        write_png(cached, image)
    return image, labels


def run(args: argparse.Namespace) -> int:
    from model.render.full import Renderer

    if args.bench:
        return bench(args)
    missing = [f"--{name}" for name in ("data", "out", "count", "method") if getattr(args, name) is None]
    if missing:
        raise AnomalyError("synth-anomalies needs " + ", ".join(missing) + " (or --bench)")
    samples = find_samples(args.data, args.phase)
    if len(samples) < 1:
        raise DatasetError("no label maps found", args.data)
    inpainter: Inpainter | None = None
    if args.method == "diffusion":
        inpainter = load_inpainter(args.inpainter or inpainter_dir())
    renderer = Renderer.from_checkpoint(args.checkpoint or default_checkpoint_dir())
    families = TEST_FAMILIES if args.families == "test" else TRAIN_FAMILIES
    config = replace(
        SynthesisConfig(),
        method=args.method,
        steps=args.steps,
        families=families,
        use_farm=not args.no_farm,
        spacing=args.spacing,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for i in tqdm(range(args.count), desc=f"synth-anomalies ({args.method})", disable=args.no_progress):
        sample = samples[i % len(samples)]
        frame, labels = clean_render(renderer, sample.label, sample.inst, args.size, args.cache, sample.key)
        seed = args.seed * 1_000_003 + i
        image, label, placed = synthesize_frame(frame, labels, args.per_frame, config, seed, inpainter)
        write_pair(
            args.out,
            f"{sample.key}_{i:05d}",
            AnomalyPair(image, label, args.method, seed, args.steps, placed),
        )
    log.info("wrote %d pairs to %s", args.count, args.out)
    return 0
