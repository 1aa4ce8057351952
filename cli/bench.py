"""``python main.py bench``: full render, incremental edits, preview latency, pooling and cache memory.

``--checkpoint official-size`` times a random-weight model with the released label2city_1024p
architecture (no file needed); the default is checkpoints/default when present, else a random
model of the bundled default's architecture.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cli.args import size_type
from model.render.threads import prefer_passive_omp

prefer_passive_omp()  # before torch loads OpenMP (see model/render/threads.py)

from model.checkpoint import load_checkpoint
from model.render.bench import format_table, run_bench, to_json
from model.render.incremental import DEFAULT_EPSILON
from model.render.scenes import default_generator_config, official_generator_config, random_model

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path("checkpoints/default")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="checkpoint folder / .pth, or 'official-size' "
                        "(random weights, released architecture); default: checkpoints/default or a random default")
    parser.add_argument("--size", type=size_type(16), default=(2048, 1024), help="WxH (default 2048x1024)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--device", help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--epsilon", type=float, default=DEFAULT_EPSILON,
                        help=f"fast-mode change threshold (default {DEFAULT_EPSILON})")
    parser.add_argument("--strokes", type=int, help="simulated strokes for preview latency "
                        "(default 50; 0 for official-size, whose updates take seconds)")
    parser.add_argument("--repeats", type=int, help="full renders to take the median of (default 3, official 1)")
    parser.add_argument("--no-exact", action="store_true", help="skip the exact-mode (epsilon 0) timings")


def run(args: argparse.Namespace) -> int:
    width, height = args.size
    official = args.checkpoint == "official-size"
    if official:
        model, name = random_model(official_generator_config()), "official-size (random weights)"
    elif args.checkpoint:
        model, name = load_checkpoint(args.checkpoint), str(args.checkpoint)
    elif DEFAULT_CHECKPOINT.exists():
        model, name = load_checkpoint(DEFAULT_CHECKPOINT), str(DEFAULT_CHECKPOINT)
    else:
        model, name = random_model(default_generator_config()), "default architecture (random weights)"
    strokes = args.strokes if args.strokes is not None else (0 if official else 50)
    repeats = args.repeats if args.repeats is not None else (1 if official else 3)
    result = run_bench(model, name, width, height, args.device, args.epsilon, strokes, repeats,
                       exact=not (args.no_exact or official), compare_module=not official)
    print(to_json(result) if args.json else format_table(result))
    return 0
