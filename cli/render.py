"""``python main.py render``: render a label map (+ instance map, styles) with a checkpoint, headless."""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from cli.args import add_norm_stats_argument, size_type
from model.errors import ImageFileError
from model.render.full import Renderer
from model.scene_io import load_scene, write_png

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="native checkpoint folder or official latest_net_G.pth")
    parser.add_argument("--label", required=True, help="labelIds PNG or colour-coded label PNG")
    parser.add_argument("--inst", help="Cityscapes instanceIds PNG (default: found next to the label, else the label map)")
    parser.add_argument("--styles", help="styles JSON: instance id → cluster index or code vector")
    parser.add_argument("--labels-json", help="label set JSON for official checkpoints of other datasets")
    parser.add_argument("--seed", type=int, default=0, help="picks clusters for objects without a style")
    parser.add_argument("--size", type=size_type(2), help="render at WxH (maps are resized nearest-neighbour)")
    parser.add_argument("--device", help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--out", required=True, help="output PNG")
    add_norm_stats_argument(parser)


def resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Integer maps stay integer: nearest-neighbour via index arrays (no interpolation)."""
    width, height = size
    rows = (np.arange(height) * array.shape[0] // height).clip(0, array.shape[0] - 1)
    cols = (np.arange(width) * array.shape[1] // width).clip(0, array.shape[1] - 1)
    return array[rows[:, None], cols[None, :]]


def run(args: argparse.Namespace) -> int:
    from model.labels import LabelSet

    out = Path(args.out)
    if not out.parent.exists():
        raise ImageFileError("output folder does not exist", out.parent)
    label_set = LabelSet.load(args.labels_json) if args.labels_json else None
    renderer = Renderer.from_checkpoint(args.checkpoint, args.device, label_set, args.norm_stats)
    scene = load_scene(args.label, renderer.label_set, args.inst, args.styles)
    labels, instances = scene.labels, scene.instances
    if args.size and args.size != scene.size:
        labels, instances = resize_nearest(labels, args.size), resize_nearest(instances, args.size)
    start = time.perf_counter()
    image = renderer.render(labels, instances, scene.styles, args.seed)
    log.info("rendered %dx%d in %.0f ms on %s", labels.shape[1], labels.shape[0],
             1000 * (time.perf_counter() - start), renderer.device)
    write_png(out, image)
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]})")
    return 0



