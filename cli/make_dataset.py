"""`make-dataset`: write procedural street scenes in the pix2pixHD folder layout, or print a dataset's
class statistics.

    python main.py make-dataset --out DIR --count N [--size 2048x1024] [--seed S] [--split train|val|test]
    python main.py make-dataset --stats DIR [--phase train] [--compare]
    python main.py make-dataset --contact-sheet SHEET.png [--count 16] [--size 512x256] [--seed S]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cli.args import int_at_least, size_type
from model.data.procedural import GENERATOR_VERSION, SceneConfig, write_dataset
from model.data.procedural.writing import V1_COMMIT
from model.errors import DatasetError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="dataset folder to write into")
    parser.add_argument("--count", type=int_at_least(1), help="number of scenes")
    parser.add_argument(
        "--size",
        type=size_type(16),
        default=None,
        metavar="WxH",
        help="output size (default 2048x1024; 512x256 for --contact-sheet)",
    )
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="scene i depends only on (seed, i)")
    parser.add_argument(
        "--split",
        default="train",
        choices=("train", "val", "test"),
        help="folder prefix: train_label/, val_label/ or test_label/ ... (val and test use "
        "seeds derived from --seed, so no split repeats another's scenes)",
    )
    parser.add_argument(
        "--generator-version",
        type=int,
        default=GENERATOR_VERSION,
        metavar="N",
        help=f"which generator draws the scenes (recorded in the folder's procedural_dataset.json);"
        f" only {GENERATOR_VERSION} is built in, version 1 is git commit {V1_COMMIT}",
    )
    parser.add_argument(
        "--stats",
        type=Path,
        metavar="DIR",
        help="print the class statistics of any dataset folder (pix2pixHD, Cityscapes or plain "
        "layout, or *labelIds.png files) instead of writing scenes",
    )
    parser.add_argument("--phase", default="train", help="with --stats: which split to read (default train)")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="with --stats: add the real driving data's statistics and the issue-24 checks; "
        "exit status 1 if a check fails",
    )
    parser.add_argument(
        "--contact-sheet",
        type=Path,
        metavar="PNG",
        help="write a contact sheet (labels over photos) of the first --count scenes (default 16)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    if args.stats is not None:
        return _print_stats(args)
    if args.generator_version != GENERATOR_VERSION:
        raise DatasetError(
            f"generator version {args.generator_version} is not built in (this one draws version "
            f"{GENERATOR_VERSION}); version 1 scenes are reproduced by git commit {V1_COMMIT}"
        )
    if args.contact_sheet is not None:
        return _contact_sheet(args)
    if args.out is None or args.count is None:
        raise DatasetError("make-dataset needs --out and --count (or --stats DIR, or --contact-sheet PNG)")
    width, height = args.size or (2048, 1024)
    try:
        write_dataset(
            Path(args.out),
            args.count,
            SceneConfig(width=width, height=height),
            args.seed,
            split=args.split,
            progress=not args.no_progress,
        )
    except OSError as exc:
        raise DatasetError(f"cannot write the dataset: {exc}", args.out) from exc
    log.info("wrote %d scenes to %s", args.count, args.out)
    return 0


def _print_stats(args: argparse.Namespace) -> int:
    from model.data.stats import check_against_reference, dataset_stats, format_table

    stats = dataset_stats(args.stats, args.phase, progress=not args.no_progress)
    print(format_table(stats, compare=args.compare))
    return 1 if args.compare and check_against_reference(stats) else 0


def _contact_sheet(args: argparse.Namespace) -> int:
    from model.data.procedural import encode_png_fast
    from model.data.procedural.sheet import contact_sheet
    from model.scene_io import atomic_write_bytes

    width, height = args.size or (512, 256)
    sheet = contact_sheet(args.seed, args.count or 16, SceneConfig(width=width, height=height))
    try:
        atomic_write_bytes(args.contact_sheet, encode_png_fast(sheet, level=6))
    except OSError as exc:
        raise DatasetError(f"cannot write the contact sheet: {exc}", args.contact_sheet) from exc
    log.info("wrote %s", args.contact_sheet)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make-dataset", description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
