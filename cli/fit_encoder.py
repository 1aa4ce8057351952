"""``python main.py fit-encoder --checkpoint C --data DIR --out NEW``: teach E to carry colour.

Copies checkpoint C to NEW with E refitted so that every instance's code says its mean colour
(model/encoder_fit.py). G is copied unchanged and must then be fine-tuned on the new codes
(``train --set schedule.init_weights=NEW``, E training along); ``encode-features`` makes the new
clusters. NEW's config records E's input pooling, so later commands read it from there.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

from cli.args import int_at_least
from model.checkpoint import CLUSTERS_FILE, ENCODER_FILE, load_native, save_checkpoint
from model.errors import CheckpointError, EditorError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="native checkpoint folder with an encoder"
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset root with a train split")
    parser.add_argument("--out", type=Path, required=True, help="new checkpoint folder (must not exist yet)")
    parser.add_argument(
        "--steps", type=int_at_least(1), default=300, help="optimiser steps (default %(default)s)"
    )
    parser.add_argument(
        "--batch-size", type=int_at_least(1), default=4, help="photos per step (default %(default)s)"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default %(default)s)")
    parser.add_argument("--encoder-downsample", type=int, help="default: the checkpoint's own")
    parser.add_argument("--limit", type=int, help="use only the first N training photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    import torch

    from cli.encode_features import encoder_downsample_of
    from model.data.folders import LoaderConfig, PairedDataset
    from model.encoder_fit import EncoderFitConfig, colour_error, fit_encoder, pool_dataset

    if not args.checkpoint.is_dir():
        raise CheckpointError("expected a native checkpoint folder", args.checkpoint)
    if args.out.exists():
        raise EditorError(f"{args.out}: already exists; fit-encoder writes a new checkpoint folder")
    if not args.lr > 0:
        raise EditorError(f"--lr must be positive, not {args.lr}")
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_native(args.checkpoint)
    if model.encoder is None or model.config.encoder is None:
        raise CheckpointError(
            "checkpoint has no feature encoder (train with arch.instance_feat=true)", args.checkpoint
        )
    downsample = (
        args.encoder_downsample
        if args.encoder_downsample is not None
        else encoder_downsample_of(args.checkpoint, model.config.encoder)
    )
    dataset = PairedDataset(
        LoaderConfig(root=args.data, phase="train", resize="none", flip=False), model.config.label_set
    )
    if args.limit:
        dataset.samples = dataset.samples[: args.limit]
    if len(dataset) == 0:
        raise EditorError(f"{args.data}: no training pairs")
    try:
        photos = pool_dataset(dataset, downsample, progress=True)
    except ValueError as exc:
        raise EditorError(f"{args.data}: {exc}") from None
    config = EncoderFitConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    torch.manual_seed(args.seed)
    before = colour_error(model.encoder, photos)
    fit_encoder(model.encoder, photos, config, progress=True)
    after = colour_error(model.encoder, photos)

    shutil.copytree(args.checkpoint, args.out, ignore=shutil.ignore_patterns(CLUSTERS_FILE, ".*"))
    encoder_config = dataclasses.replace(model.config.encoder, encoder_downsample=downsample)
    save_checkpoint(
        args.out, dataclasses.replace(model.config, encoder=encoder_config), model.generator, model.encoder
    )
    print(
        f"colour error of the codes (L1 of the best affine map, [-1, 1] units): {before:.4f} → {after:.4f} "
        f"on {len(photos.images)} photos; E written to {args.out / ENCODER_FILE} "
        f"(no clusters yet: fine-tune G, then run encode-features)"
    )
    return 0
