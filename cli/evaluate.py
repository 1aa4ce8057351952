"""``python main.py evaluate --checkpoint C --data DIR``: image quality at full resolution.

Trains (once, cached in DIR/.judge/) a small segmenter on DIR's real training photos at their
native resolution, then scores the checkpoint's renders of DIR's held-out label maps against the
photos: the judge's mIoU ratio with its blur ceilings, a domain FID with its real-vs-real floor,
periodic artefacts in dB above the photos, an edge F1 with blur and flat-colour references, a
crop sheet at 100%, and the appearance-control check. docs/evaluation.md explains each figure.
Choose checkpoints on --test-phase val; score test once per adopted model.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cli.args import add_norm_stats_argument, int_at_least

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from model.evaluate import JudgeConfig

    defaults = JudgeConfig()
    parser.add_argument("--checkpoint", type=Path, required=True, help="native folder or official .pth")
    parser.add_argument(
        "--data", type=Path, required=True, help="dataset root with train and held-out splits"
    )
    parser.add_argument(
        "--test-phase",
        default="test",
        help="held-out split (default %(default)s; choose checkpoints on val, score test "
        "once per adopted model)",
    )
    parser.add_argument("--test-limit", type=int_at_least(1), help="use only the first N held-out scenes")
    parser.add_argument(
        "--floor-limit",
        type=int_at_least(2),
        help="training photos for the FID floor (default: as many as held-out scenes)",
    )
    parser.add_argument(
        "--judge-steps",
        type=int_at_least(1),
        default=defaults.steps,
        help="judge training steps (default %(default)s)",
    )
    parser.add_argument(
        "--judge-crop",
        type=int_at_least(16),
        default=defaults.crop,
        help="side of the judge's native-resolution training crops (default %(default)s)",
    )
    parser.add_argument(
        "--train-limit", type=int_at_least(1), help="train the judge on the first N photos only"
    )
    parser.add_argument("--seed", type=int, default=0, help="judge training seed and render seed")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for crops.png, report.json and the first renders "
        "(default runs/evaluate/<checkpoint name>-<phase>)",
    )
    parser.add_argument(
        "--renders",
        type=Path,
        help="folder of this checkpoint's renders of the held-out maps (one PNG per label file "
        "name): existing ones are scored as they are, missing ones rendered and written",
    )
    parser.add_argument("--device", help="render device (default: best available)")
    add_norm_stats_argument(parser)
    parser.add_argument(
        "--appearance-scenes",
        type=int_at_least(1),
        default=1,
        help="held-out scenes with a car to run the appearance check on (default 1)",
    )
    parser.add_argument(
        "--input-downsample",
        type=int_at_least(1),
        metavar="N",
        help="score a global G trained with train --input-downsample N on its own: its input "
        "pooled N times, its output upsampled bilinearly to native size",
    )
    parser.add_argument(
        "--retrain-judge",
        action="store_true",
        help="train a new judge instead of reusing the one cached in DATA/.judge/",
    )


def run(args: argparse.Namespace) -> int:
    from model.evaluate import EvaluateConfig, JudgeConfig, evaluate
    from model.render.full import Renderer

    if args.input_downsample:
        from model.checkpoint import load_checkpoint
        from model.render.coarse import PooledInputRenderer

        renderer: Renderer = PooledInputRenderer(
            load_checkpoint(args.checkpoint), args.input_downsample, args.device, norm_stats=args.norm_stats
        )
    else:
        renderer = Renderer.from_checkpoint(args.checkpoint, args.device, norm_stats=args.norm_stats)
    out = args.out or Path("runs") / "evaluate" / f"{args.checkpoint.resolve().name}-{args.test_phase}"
    judge = JudgeConfig(
        crop=args.judge_crop, steps=args.judge_steps, seed=args.seed, train_limit=args.train_limit
    )
    config = EvaluateConfig(
        judge=judge,
        phase=args.test_phase,
        limit=args.test_limit,
        floor_limit=args.floor_limit,
        seed=args.seed,
        cache_judge=not args.retrain_judge,
        appearance_scenes=args.appearance_scenes,
        out=out,
        renders=args.renders,
    )
    report = evaluate(renderer, args.data, renderer.label_set, config, progress=True)
    names = {label.id: label.name for label in renderer.label_set.labels}
    for line in report.lines(names):
        print(line)
    return 0
