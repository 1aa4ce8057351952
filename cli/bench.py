"""``python main.py bench``: full renders, brush-stroke edits on the sample scenes, first-pixel latency
through the editor's render loop, instance pooling and cache memory (see model/render/bench.py).

``--official-size`` times a random-weight model with the released label2city_1024p architecture
(no file needed). Without ``--checkpoint`` it benches the bundled default, found from the package
(``model.resources``) wherever it runs; if that is missing it benches random weights of the
default's architecture and says so in its first line.
"""

from __future__ import annotations

import argparse
import logging
import sys

from cli.args import add_precision_argument, size_type
from model.render.threads import prefer_short_omp_spin

prefer_short_omp_spin()  # before torch loads OpenMP (see model/render/threads.py)

from model.checkpoint import load_checkpoint
from model.render.bench import STROKES_PER_AREA, format_table, random_weights_line, run_bench, to_json
from model.render.device import check_device, choose_device
from model.render.full import measure_precision, model_identity
from model.render.incremental import DEFAULT_EPSILON
from model.render.precision import choose_precision, requested_precision
from model.render.random_models import default_generator_config, official_generator_config, random_model
from model.resources import default_checkpoint_dir

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="checkpoint folder / .pth (default: the bundled default model)")
    parser.add_argument(
        "--official-size",
        action="store_true",
        help="random weights in the released label2city_1024p architecture (182.9M parameters)",
    )
    parser.add_argument("--size", type=size_type(16), default=(2048, 1024), help="WxH (default 2048x1024)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--device", help="cpu, cuda, mps (default: best available)")
    parser.add_argument(
        "--epsilon",
        type=float,
        default=DEFAULT_EPSILON,
        help=f"fast-mode change threshold (default {DEFAULT_EPSILON})",
    )
    parser.add_argument(
        "--strokes",
        type=int,
        help="simulated strokes for preview latency "
        "(default 50; 0 for official-size, whose updates take seconds)",
    )
    parser.add_argument(
        "--repeats", type=int, help="full renders to take the median of (default 3, official 1)"
    )
    parser.add_argument("--no-exact", action="store_true", help="skip the exact-mode (epsilon 0) timings")
    parser.add_argument("--scenes", type=int, help="sample scenes to edit (default all 3; official-size 1)")
    parser.add_argument(
        "--strokes-per-area",
        type=int,
        help=f"brush strokes per edit area and scene (default {STROKES_PER_AREA}; official-size 2)",
    )
    add_precision_argument(parser)
    parser.add_argument(
        "--no-precision-compare",
        action="store_true",
        help="skip the float32-against-bf16 rows (full render, 1%% strokes, first pixels, PSNR, cache)",
    )


def run(args: argparse.Namespace) -> int:
    width, height = args.size
    if args.device:
        check_device(args.device)  # one error line before any weights are read
    official = args.official_size or args.checkpoint == "official-size"
    random_weights = True
    if official:
        model, name = random_model(official_generator_config()), "official-size architecture"
    elif args.checkpoint:
        model, name, random_weights = load_checkpoint(args.checkpoint), str(args.checkpoint), False
    elif (default := default_checkpoint_dir()).exists():
        model, name, random_weights = load_checkpoint(default), str(default), False
    else:
        model, name = random_model(default_generator_config()), f"default architecture (no {default})"
    if random_weights:
        print(random_weights_line(name), file=sys.stderr if args.json else sys.stdout, flush=True)
    device = check_device(args.device) if args.device else choose_device()
    precision = choose_precision(
        requested_precision(args.precision),
        device,
        lambda: measure_precision(model, device),
        model_identity(model),
    )
    strokes = args.strokes if args.strokes is not None else (0 if official else 50)
    repeats = args.repeats if args.repeats is not None else (1 if official else 3)
    result = run_bench(
        model,
        name,
        width,
        height,
        args.device,
        args.epsilon,
        strokes,
        repeats,
        exact=not args.no_exact,
        compare_module=not official,
        random_weights=random_weights,
        scenes=args.scenes or (1 if official else None),
        strokes_per_area=args.strokes_per_area or (2 if official else STROKES_PER_AREA),
        precision=precision,
        compare=not args.no_precision_compare,
    )
    if args.json:
        print(to_json(result))
    else:  # the random-weights line is already out, first
        print("\n".join(format_table(result).splitlines()[1 if random_weights else 0 :]))
    return 0
