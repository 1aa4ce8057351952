"""`make-dataset`: write procedural street scenes in the pix2pixHD folder layout.

    python main.py make-dataset --out DIR --count N [--size 2048x1024] [--seed S] [--split train|val|test]
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cli.args import int_at_least, size_type
from model.data.procedural import SceneConfig, write_dataset
from model.errors import EditorError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write into")
    parser.add_argument("--count", type=int_at_least(1), required=True, help="number of scenes")
    parser.add_argument("--size", type=size_type(16), default=(2048, 1024), metavar="WxH",
                        help="output size (default 2048x1024)")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="scene i depends only on (seed, i)")
    parser.add_argument("--split", default="train", choices=("train", "val", "test"),
                        help="folder prefix: train_label/, val_label/ or test_label/ ... (val and test use "
                             "seeds derived from --seed, so no split repeats another's scenes)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    width, height = args.size
    config = SceneConfig(width=width, height=height)
    try:
        write_dataset(Path(args.out), args.count, config, args.seed, split=args.split,
                      progress=not getattr(args, "no_progress", False))
    except (EditorError, OSError) as exc:
        log.error("%s", exc)
        return 1
    log.info("wrote %d scenes to %s", args.count, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make-dataset", description=__doc__.splitlines()[0])
    add_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
