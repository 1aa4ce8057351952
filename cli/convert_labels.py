"""``python main.py convert-labels``: colour-coded label PNG ⇄ labelIds PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.labels import LabelSet, cityscapes
from model.scene_io import read_label_png, write_png


def convert_label_png(source: str | Path, target: str | Path, to: str, label_set: LabelSet) -> None:
    """Read ids or colours (auto-detected), write ``to`` = "ids" (8-bit gray) or "color" (RGB)."""
    ids = read_label_png(source, label_set)
    write_png(target, ids if to == "ids" else label_set.colorize(ids))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="label PNG (ids or palette colours)")
    parser.add_argument("target", help="output PNG")
    parser.add_argument("--to", choices=("ids", "color"), required=True)
    parser.add_argument("--labels-json", help="label set JSON (default: Cityscapes)")


def run(args: argparse.Namespace) -> int:
    label_set = LabelSet.load(args.labels_json) if args.labels_json else cityscapes()
    convert_label_png(args.source, args.target, args.to, label_set)
    print(f"wrote {args.target}")
    return 0
