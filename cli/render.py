"""``python main.py render``: render a label map (+ instance map, styles) with a checkpoint, headless.

``--label X --out Y`` renders one scene; ``--label-dir IN --out-dir OUT`` renders every scene of a
folder (each ``*_labelIds.png``, or every label PNG when there are none), with a progress bar. A
scene that cannot be read gets one ``error:`` line and the others still render; the exit status is
then 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

from cli.args import add_norm_stats_argument, add_precision_argument, size_type
from editor.core.exports import companion_path, label_colours, side_by_side
from model.errors import EditorError, ImageFileError
from model.render.full import Renderer
from model.resources import default_checkpoint_dir
from model.scene_io import load_scene, write_png

log = logging.getLogger(__name__)


class UsageError(EditorError):
    """Options that do not fit together."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        help="native checkpoint folder or official latest_net_G.pth (default: the bundled model)",
    )
    parser.add_argument("--label", help="labelIds PNG or colour-coded label PNG (one scene)")
    parser.add_argument("--label-dir", help="render every scene in this folder (with --out-dir)")
    parser.add_argument(
        "--inst", help="Cityscapes instanceIds PNG (default: found next to the label, else the label map)"
    )
    parser.add_argument("--styles", help="styles JSON: instance id → cluster index or code vector")
    parser.add_argument("--labels-json", help="label set JSON for official checkpoints of other datasets")
    parser.add_argument("--seed", type=int, default=0, help="picks clusters for objects without a style")
    parser.add_argument(
        "--size", type=size_type(2), help="render at WxH (maps are resized nearest-neighbour)"
    )
    parser.add_argument("--device", help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--out", help="output PNG (with --label)")
    parser.add_argument(
        "--out-dir", help="output folder (with --label-dir; made if missing): NAME_render.png per scene"
    )
    parser.add_argument(
        "--with-labels", action="store_true", help="also write NAME_labels.png, the label colours"
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="also write NAME_compare.png, labels and render side by side",
    )
    add_norm_stats_argument(parser)
    add_precision_argument(parser)


def resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Integer maps stay integer: nearest-neighbour via index arrays (no interpolation)."""
    width, height = size
    rows = (np.arange(height) * array.shape[0] // height).clip(0, array.shape[0] - 1)
    cols = (np.arange(width) * array.shape[1] // width).clip(0, array.shape[1] - 1)
    return array[rows[:, None], cols[None, :]]


def scene_files(folder: Path) -> list[Path]:
    """The scenes of a folder: its ``*_labelIds.png``, else every PNG that is not an instance map
    or an output of this command."""
    scenes = sorted(folder.glob("*_labelIds.png"))
    if scenes:
        return scenes
    skip = ("_instanceIds", "_render", "_labels", "_compare")
    return sorted(p for p in folder.glob("*.png") if not p.stem.endswith(skip))


def scene_name(label_path: Path) -> str:
    return label_path.stem.removesuffix("_labelIds")


def check_targets(args: argparse.Namespace) -> None:
    """Exactly one of --label/--out and --label-dir/--out-dir; the label folder and --out's folder
    must exist (a typo there is refused), the --out-dir folder is made when the renders start."""
    if args.label_dir is not None or args.out_dir is not None:
        if args.label is not None or args.out is not None:
            raise UsageError("use either --label with --out, or --label-dir with --out-dir")
        if args.label_dir is None or args.out_dir is None:
            raise UsageError("--label-dir and --out-dir go together")
        if not Path(args.label_dir).is_dir():
            raise ImageFileError("label folder does not exist", args.label_dir)
        if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
            raise ImageFileError("not a folder", args.out_dir)
        return
    if args.label is None or args.out is None:
        raise UsageError("give --label and --out (one scene) or --label-dir and --out-dir (a folder)")
    if not Path(args.out).parent.exists():
        raise ImageFileError("output folder does not exist", Path(args.out).parent)


def render_scene(
    renderer: Renderer,
    args: argparse.Namespace,
    label: Path,
    out: Path,
    inst: str | None = None,
    styles: str | None = None,
) -> np.ndarray:
    """Render one scene to ``out`` (and its label colours / comparison when asked); the image."""
    scene = load_scene(label, renderer.label_set, inst, styles)
    labels, instances = scene.labels, scene.instances
    if args.size and args.size != scene.size:
        labels, instances = resize_nearest(labels, args.size), resize_nearest(instances, args.size)
    start = time.perf_counter()
    image = renderer.render(labels, instances, scene.styles, args.seed)
    log.info(
        "rendered %s %dx%d in %.0f ms on %s in %s",
        label.name,
        labels.shape[1],
        labels.shape[0],
        1000 * (time.perf_counter() - start),
        renderer.device,
        renderer.precision.precision,
    )
    write_png(out, image)
    if args.with_labels or args.side_by_side:
        colours = label_colours(labels, renderer.label_set)
        if args.with_labels:
            write_png(companion_path(out, "labels"), colours)
        if args.side_by_side:
            write_png(companion_path(out, "compare"), side_by_side(colours, image))
    return image


def run_folder(renderer: Renderer, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    scenes = scene_files(Path(args.label_dir))
    if not scenes:
        raise ImageFileError("no label PNGs in this folder", args.label_dir)
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    failed = 0
    for label in tqdm(scenes, desc="render", unit="scene"):
        out = Path(args.out_dir) / f"{scene_name(label)}_render.png"
        try:
            render_scene(renderer, args, label, out)
        except EditorError as exc:
            failed += 1
            tqdm.write(f"error: {exc}", file=sys.stderr)
    print(f"wrote {len(scenes) - failed} of {len(scenes)} renders to {args.out_dir}")
    return 2 if failed else 0


def run(args: argparse.Namespace) -> int:
    from model.labels import LabelSet

    check_targets(args)
    label_set = LabelSet.load(args.labels_json) if args.labels_json else None
    checkpoint = args.checkpoint or default_checkpoint_dir()
    renderer = Renderer.from_checkpoint(checkpoint, args.device, label_set, args.norm_stats, args.precision)
    log.info("precision: %s", renderer.precision.describe())
    if args.label_dir is not None:
        return run_folder(renderer, args)
    out = Path(args.out)
    image = render_scene(renderer, args, Path(args.label), out, args.inst, args.styles)
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]})")
    return 0
