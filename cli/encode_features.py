"""``python main.py encode-features --checkpoint C --data DIR``: per-class style clusters → C/clusters.npz.

Runs the checkpoint's encoder E over the training set, pools its output per instance, clusters the
codes of every class with k-means (k ≤ 10, fixed seed) and writes ``clusters.npz`` into the
checkpoint folder. E runs at the resolution it was trained at (the encoder's ``encoder_downsample``
in ``config.json``; ``--encoder-downsample`` overrides it).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from model.checkpoint import CLUSTERS_FILE, CONFIG_FILE, load_native, save_clusters
from model.errors import CheckpointError, EditorError
from model.features import cluster_features, encode_dataset
from model.networks.encoder import EncoderConfig

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="native checkpoint folder (has an encoder)"
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset root")
    parser.add_argument("--phase", default="train", help="dataset split (default %(default)s)")
    parser.add_argument(
        "--k", type=int, default=10, help="clusters per class, at most 10 (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="k-means seed (default %(default)s)")
    parser.add_argument("--encoder-downsample", type=int, help="default: the checkpoint's own")
    parser.add_argument(
        "--min-pixels",
        type=int,
        default=16,
        help="skip instances smaller than this at E's resolution (default %(default)s)",
    )
    parser.add_argument("--limit", type=int, help="use only the first N training images")
    parser.add_argument(
        "--store-members",
        action="store_true",
        help="also store how many instances each cluster holds: unstyled objects then draw "
        "clusters by those counts, and the style palette shows them (off by default: "
        "uniform draws scored better, docs/training-history.md)",
    )


LEGACY_TRAINING_JSON = "training.json"


def encoder_downsample_of(folder: Path, encoder: EncoderConfig) -> int:
    """How many times E's photo is pooled: the checkpoint's encoder config records it; checkpoints
    written before it did keep it as the top-level ``encoder_downsample`` of ``training.json``."""
    try:
        recorded = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")).get("encoder") or {}
        if "encoder_downsample" in recorded or not (folder / LEGACY_TRAINING_JSON).exists():
            return encoder.encoder_downsample
        legacy = json.loads((folder / LEGACY_TRAINING_JSON).read_text(encoding="utf-8"))
        return int(legacy.get("encoder_downsample", 0))
    except (OSError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"cannot read the encoder's input pooling ({exc})", folder) from None


def run(args: argparse.Namespace) -> int:
    from torch.utils.data import DataLoader, Subset

    from model.data.folders import LoaderConfig, PairedDataset

    if not 1 <= args.k <= 10:
        raise EditorError(f"--k must be in 1..10, not {args.k}")
    if not args.checkpoint.is_dir():
        raise CheckpointError("expected a native checkpoint folder", args.checkpoint)
    model = load_native(args.checkpoint)
    if model.encoder is None or model.config.encoder is None:
        raise CheckpointError(
            "checkpoint has no feature encoder (train with arch.instance_feat=true)", args.checkpoint
        )
    config = model.config
    downsample = (
        args.encoder_downsample
        if args.encoder_downsample is not None
        else encoder_downsample_of(args.checkpoint, config.encoder or EncoderConfig())
    )
    loader_config = LoaderConfig(
        root=args.data,
        phase=args.phase,
        resize="scale_width" if config.train_size else "none",
        load_size=config.train_size,
        flip=False,
    )
    dataset = PairedDataset(loader_config, config.label_set)
    if len(dataset) == 0:
        raise EditorError(f"no {args.phase} pairs in {args.data}")
    if args.limit:
        dataset = Subset(dataset, range(min(args.limit, len(dataset))))  # type: ignore[assignment]
    log.info("encoding %d images (E on the image pooled %d times)", len(dataset), downsample)
    features = encode_dataset(
        model.encoder,
        DataLoader(dataset, batch_size=1, num_workers=0),
        downsample,
        min_pixels=args.min_pixels,
    )
    clusters, members = cluster_features(features, k=args.k, seed=args.seed)
    save_clusters(args.checkpoint / CLUSTERS_FILE, clusters, members if args.store_members else None)
    total = sum(len(v) for v in features.values())
    centres = sum(len(c) for c in clusters.values())
    print(
        f"{total} instances in {len(features)} classes → {centres} clusters, "
        f"written to {args.checkpoint / CLUSTERS_FILE}"
    )
    return 0
