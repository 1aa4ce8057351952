"""``python main.py train --recipe recipes/….toml [--set SECTION.KEY=VALUE …]``: train pix2pixHD.

The config (model/train/config.py) starts from its defaults, takes the recipe's tables, then each
``--set`` and the common flags below, in that order. A run resumes automatically from
``runs/NAME/state.safetensors`` when it exists. Multi-process: ``torchrun --nproc_per_node 2
main.py train …``.
"""

from __future__ import annotations

import argparse
import logging
import textwrap
from pathlib import Path
from typing import Any

from model.errors import EditorError
from model.train import settings
from model.train.config import TrainConfig

log = logging.getLogger(__name__)

# common flag → the field it sets (anything else: --set SECTION.KEY=VALUE)
SHORTCUTS = {
    "data": "data.root",
    "name": "run.name",
    "runs": "run.runs_dir",
    "seed": "run.seed",
    "epochs": "schedule.epochs",
    "max_steps": "schedule.max_steps",
}


def _field_list() -> str:
    lines = []
    for section in settings.sections(TrainConfig):
        names = [
            path.split(".")[1]
            for path, _, _ in settings.iter_fields(TrainConfig)
            if path.startswith(section + ".")
        ]
        lines.append(
            textwrap.fill(
                ", ".join(names),
                width=100,
                initial_indent=f"  {section + ':':10s}",
                subsequent_indent=" " * 12,
            )
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "config fields (--list-fields shows each one's type, default and help):\n"
        + _field_list()
        + "\n\nexample: main.py train --recipe recipes/default/1_global.toml --data data/scenes "
        "--set run.threads=2"
        + "\nolder versions' per-field flags map to --set: --ngf 32 is --set arch.ngf=32,"
        "\n--instance-feat is --set arch.instance_feat=true"
    )
    a = parser.add_argument
    a("--recipe", type=Path, help="TOML recipe with [arch] [loss] [schedule] [data] [run] tables (recipes/)")
    a(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="set one config field, e.g. --set arch.ngf=32 --set data.crop_size=256x1024 (repeatable)",
    )
    a("--list-fields", action="store_true", help="list every config field with its type, default and help")
    a("--data", type=Path, help="dataset root (data.root)")
    a("--name", help="run name: outputs go to RUNS/NAME (run.name)")
    a("--runs", type=Path, help="runs folder (run.runs_dir, default runs)")
    a("--seed", type=int, help="seed of weights, data order, flips and crops (run.seed)")
    a("--epochs", type=int, help="epochs at the initial learning rate (schedule.epochs)")
    a("--max-steps", type=int, help="stop after N optimiser steps (schedule.max_steps)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the recipe, then --set, then the common flags; validated."""
    config = TrainConfig.from_recipe(args.recipe) if args.recipe else TrainConfig()
    values: dict[str, Any] = dict(settings.parse_assignment(text) for text in args.assignments)
    config = config.with_values(values, "--set")
    flags = {path: getattr(args, flag) for flag, path in SHORTCUTS.items() if getattr(args, flag) is not None}
    config = config.with_values(flags, "command line")
    config.validate()
    return config


def list_fields() -> None:
    for path, kind, default, help_text in settings.describe(TrainConfig):
        print(f"{path:28s} {kind:22s} {default:12s} {help_text}")


def run(args: argparse.Namespace) -> int:
    if args.list_fields:
        list_fields()
        return 0
    from model.data.folders import LoaderConfig, PairedDataset
    from model.labels import LabelSet, cityscapes
    from model.train.trainer import Trainer

    config = config_from_args(args)
    data = config.data
    if data.root is None:
        raise EditorError("no dataset: --data DIR or data.root in the recipe")
    label_set = LabelSet.load(data.label_set) if data.label_set else cityscapes()
    loader_config = LoaderConfig(
        root=data.root,
        phase=data.phase,
        resize="scale_width" if data.load_size else "none",
        load_size=data.load_size,
        flip=False,  # flips and crops are drawn per step by the trainer
    )
    dataset = PairedDataset(loader_config, label_set, seed=config.run.seed)
    if len(dataset) == 0:
        raise EditorError(f"no training pairs in {data.root}")
    first = dataset[0]
    config.check_image_size((int(first["label"].shape[-1]), int(first["label"].shape[-2])))
    Trainer(config, dataset, label_set).train()
    return 0
