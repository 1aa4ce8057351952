"""`train-inpainter`: train the anomaly inpainter (denoiser + FARM) on road crops of a dataset's photos.

    python main.py train-inpainter --data DATASET --run runs/inpainter [--steps N] [--export DIR]

The run folder is resumable: run the same command again to continue from its last save.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from cli.args import int_at_least
from model.anomaly.crops import CropBankConfig, build_crop_bank
from model.anomaly.inpainter import InpainterConfig, save_inpainter
from model.anomaly.networks import NetworkConfig
from model.anomaly.training import TrainConfig, train_inpainter
from model.errors import DatasetError

log = logging.getLogger(__name__)
BANK_FILE = "bank.npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    parser.add_argument("--data", type=Path, required=True, help="dataset folder (train_label/, train_img/)")
    parser.add_argument(
        "--run", type=Path, required=True, help="run folder (created; resumed if it has a state)"
    )
    parser.add_argument("--steps", type=int_at_least(1), default=defaults.steps, help="total optimiser steps")
    parser.add_argument("--batch", type=int_at_least(1), default=defaults.batch, help="crops per step")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="Adam learning rate")
    parser.add_argument(
        "--farm-weight",
        type=float,
        default=defaults.farm_weight,
        help="weight of FARM's reconstruction loss (FAST uses 5)",
    )
    parser.add_argument(
        "--width",
        type=int_at_least(4),
        default=NetworkConfig().width,
        help="denoiser channels at full resolution (multiple of 4)",
    )
    parser.add_argument(
        "--farm-width",
        type=int_at_least(4),
        default=NetworkConfig().farm_width,
        help="FARM channels at full resolution (multiple of 4)",
    )
    parser.add_argument(
        "--crop",
        type=int_at_least(16),
        default=CropBankConfig().crop,
        help="crop side the networks see (multiple of 4)",
    )
    parser.add_argument(
        "--recolour",
        type=float,
        default=defaults.recolour,
        help="share of training objects given a random colour, brightness and texture (0 = none)",
    )
    parser.add_argument("--save-every", type=int_at_least(1), default=defaults.save_every)
    parser.add_argument("--seed", type=int_at_least(0), default=0)
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        help="also write the weight-averaged model as an inpainter checkpoint here",
    )
    parser.add_argument(
        "--cpu-bf16",
        action="store_true",
        help="bf16 autocast: about 2× faster steps on CPUs with AVX-512 BF16 or AMX (timed at start; "
        "float32 where bf16 is not faster)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    run_dir: Path = args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    bank_path = run_dir / BANK_FILE
    if bank_path.is_file():
        bank = np.load(bank_path)["crops"]
    else:
        bank_config = CropBankConfig(crop=args.crop, context=2 * args.crop, seed=args.seed)
        bank = build_crop_bank(args.data, bank_config)
        if len(bank) == 0:
            raise DatasetError("no photo crops on road or sidewalk found", args.data)
        np.savez(bank_path, crops=bank)
    config = replace(
        TrainConfig(),
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        farm_weight=args.farm_weight,
        save_every=args.save_every,
        recolour=args.recolour,
        seed=args.seed,
        cpu_bf16=args.cpu_bf16,
    )
    model_config = InpainterConfig(
        network=NetworkConfig(width=args.width, farm_width=args.farm_width), extra={"data": str(args.data)}
    )
    model = train_inpainter(bank, run_dir, config, model_config, progress=not args.no_progress)
    if args.export is not None:
        save_inpainter(args.export, model, step=config.steps)
        log.info("wrote %s", args.export)
    return 0
