"""`evaluate-anomaly`: train one small anomaly segmenter per synthesised set (same budget and seed)
and score each on held-out anomalies that no generator here produced.

    python main.py evaluate-anomaly --train O_paste O_perlin O_diffusion --test O_heldout [--none]
    python main.py evaluate-anomaly --train O_diffusion --clean CACHE --realism-data DATA

``--test`` is a folder written by ``synth-anomalies --families test`` (held-out object families).
``--none`` adds the segmenter trained with no anomaly pixels at all. Prints pixel AP, FPR at 95%
TPR, AUROC and anomaly IoU with 95% bootstrap intervals (over test images); ``--json`` saves them.

``--clean`` (the ``--cache`` folder of clean renders the pairs were made from) runs the realism
check on every ``--train`` folder: the judge segmenter of ``--realism-data`` scores the non-anomaly
pixels of the synthesised images and of the clean renders (model/anomaly/realism.py).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cli.args import int_at_least
from model.anomaly.export import pair_names, read_pair
from model.anomaly.metrics import METRICS, Interval, metrics_with_intervals
from model.anomaly.segmenter import SegmenterConfig, downscale, score_images, train_segmenter
from model.anomaly.synthesis import AnomalyError
from model.atomic_files import atomic_write_bytes

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = SegmenterConfig()
    parser.add_argument("--train", type=Path, nargs="+", required=True, help="pair folders, one per method")
    parser.add_argument(
        "--test", type=Path, default=None, help="held-out pair folder (--families test) for AP etc."
    )
    parser.add_argument(
        "--clean", type=Path, default=None, help="clean renders of the --train pairs: run the realism check"
    )
    parser.add_argument(
        "--realism-data",
        type=Path,
        default=None,
        help="dataset the --train pairs were rendered from (its label maps and judge segmenter)",
    )
    parser.add_argument("--phase", default="train", help="split of --realism-data the pairs came from")
    parser.add_argument("--none", action="store_true", help="also score a segmenter trained on no anomalies")
    parser.add_argument("--steps", type=int_at_least(1), default=d.steps, help="segmenter training steps")
    parser.add_argument("--batch", type=int_at_least(1), default=d.batch, help="crops per step")
    parser.add_argument("--scale", type=int_at_least(1), default=d.scale, help="downscale factor of images")
    parser.add_argument("--seed", type=int_at_least(0), default=0)
    parser.add_argument("--reps", type=int_at_least(1), default=100, help="bootstrap resamplings")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")


def load_folder(folder: Path, scale: int) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    images, labels, method = [], [], ""
    for name in pair_names(folder):
        pair = read_pair(folder, name)
        image, label = downscale(pair.image, pair.label, scale)
        images.append(image)
        labels.append(label)
        method = f"{pair.method} ({pair.steps} steps)" if pair.method == "diffusion" else pair.method
    return images, labels, method


def format_row(name: str, result: dict[str, Interval]) -> str:
    cells = [
        f"{100 * result[m].value:6.2f} [{100 * result[m].low:6.2f}, {100 * result[m].high:6.2f}]"
        for m in METRICS
    ]
    return f"{name:28s} " + "  ".join(cells)


def run_realism(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Print and return the realism check of every --train folder."""
    from model.anomaly.realism import TOLERANCE, realism_check
    from model.evaluate.judge import JudgeConfig, obtain_judge
    from model.labels import cityscapes

    if args.realism_data is None:
        raise AnomalyError("--clean needs --realism-data (the dataset with the label maps)")
    label_set = cityscapes()
    judge, classes = obtain_judge(args.realism_data, label_set, JudgeConfig())
    label_folder = args.realism_data / f"{args.phase}_label"
    print(f"{'realism (judge mIoU, normal pixels)':36s} {'clean':>7s} {'synth':>7s}  drop [95% interval]")
    out = {}
    for folder in args.train:
        result = realism_check(
            judge, classes, label_set, folder, args.clean, label_folder, args.reps, args.seed
        )
        verdict = "ok" if result.passed else f"over {TOLERANCE}"
        print(
            f"{folder.name:36s} {result.clean:7.4f} {result.synthesised:7.4f}  {result.drop.value:+.4f} "
            f"[{result.drop.low:+.4f}, {result.drop.high:+.4f}] {verdict} ({result.images} images)"
        )
        out[folder.name] = {
            "clean": result.clean,
            "synthesised": result.synthesised,
            "drop": result.drop.value,
            "drop_low": result.drop.low,
            "drop_high": result.drop.high,
        }
    return out


def run(args: argparse.Namespace) -> int:
    if args.test is None and args.clean is None:
        raise AnomalyError("evaluate-anomaly needs --test (held-out pairs) and/or --clean (realism check)")
    realism = run_realism(args) if args.clean is not None else {}
    if args.test is None:
        if args.json is not None:
            atomic_write_bytes(args.json, json.dumps({"realism": realism}, indent=1).encode())
        return 0
    config = replace(SegmenterConfig(), steps=args.steps, batch=args.batch, scale=args.scale, seed=args.seed)
    test_images, test_labels, _ = load_folder(args.test, config.scale)
    sets = [(folder, *load_folder(folder, config.scale)) for folder in args.train]
    if args.none:
        _, images, labels, _ = sets[0]
        sets.append(
            (Path("none"), images, [np.where(lab == 1, 0, lab).astype(np.uint8) for lab in labels], "none")
        )
    results = {}
    for folder, images, labels, method in tqdm(sets, desc="evaluate-anomaly"):
        net = train_segmenter(images, labels, config)
        scores = score_images(net, test_images)
        key = f"{method} <{folder.name}>"
        results[key] = metrics_with_intervals(test_labels, scores, args.reps, args.seed)
    print(f"{'training data':28s} " + "  ".join(f"{m.upper():>22s}" for m in METRICS))
    for name, result in results.items():
        print(format_row(name, result))
    print(
        f"(percent; [95% bootstrap interval over {len(test_images)} held-out images]; FPR95: lower is better)"
    )
    if args.json is not None:
        data = {
            "segmenter": asdict(config),
            "test": str(args.test),
            "results": {k: {m: asdict(v) for m, v in r.items()} for k, r in results.items()},
            "realism": realism,
        }
        atomic_write_bytes(args.json, json.dumps(data, indent=1).encode())
    return 0
