"""``python main.py train --data DIR --name NAME [options]``: train pix2pixHD (see model/train.py).

Multi-process: ``torchrun --nproc_per_node 2 main.py train …``. A run resumes automatically from
``runs/NAME/state.safetensors`` when it exists.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cli.args import size_type
from model.errors import EditorError
from model.train import TrainConfig, Trainer, check_sizes

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig(name="")
    a = parser.add_argument
    a("--data", type=Path, required=True, help="dataset root (pix2pixHD or Cityscapes layout)")
    a("--name", required=True, help="run name: outputs go to RUNS/NAME")
    a("--runs", type=Path, default=d.runs_dir, help="runs folder (default %(default)s)")
    a("--phase", default="train", help="dataset split (default %(default)s)")
    a("--label-set", type=Path, help="label set JSON (default: Cityscapes labelIds)")
    a("--seed", type=int, default=d.seed)
    g = parser.add_argument_group("generator")
    g.add_argument("--netG", choices=("global", "local"), default=d.netG)
    g.add_argument("--ngf", type=int, default=d.ngf)
    g.add_argument("--n-downsample-global", type=int, default=d.n_downsample_global)
    g.add_argument("--n-blocks-global", type=int, default=d.n_blocks_global)
    g.add_argument("--n-local-enhancers", type=int, default=d.n_local_enhancers)
    g.add_argument("--n-blocks-local", type=int, default=d.n_blocks_local)
    g.add_argument("--no-instance", action="store_true", help="no instance boundary channel")
    g.add_argument("--instance-feat", action="store_true", help="train the feature encoder E jointly")
    g.add_argument("--feat-num", type=int, default=d.feat_num)
    g.add_argument("--nef", type=int, default=d.nef)
    g.add_argument("--n-downsample-E", type=int, default=d.n_downsample_E)
    g.add_argument("--encoder-downsample", type=int, default=d.encoder_downsample,
                   help="E sees the image average-pooled this many times (default %(default)s)")
    g.add_argument("--init-global", type=Path,
                   help="run folder or checkpoint of a trained global G (+E); with --init-weights it "
                        "replaces that checkpoint's global part and E, keeping its enhancer levels")
    g.add_argument("--init-weights", type=Path,
                   help="run folder or checkpoint of this architecture: start G (+E) from it, with a fresh D")
    g.add_argument("--ema-decay", type=float, default=d.ema_decay, metavar="D",
                   help="export a moving average of G's and E's weights with this decay, e.g. 0.995 "
                        "(not in pix2pixHD; default 0: the trained weights)")
    g = parser.add_argument_group("discriminator and losses")
    g.add_argument("--ndf", type=int, default=d.ndf)
    g.add_argument("--n-layers-D", type=int, default=d.n_layers_D)
    g.add_argument("--num-d", type=int, default=d.num_d)
    g.add_argument("--gan-mode", choices=("lsgan", "hinge"), default=d.gan_mode)
    g.add_argument("--lambda-gan", type=float, default=d.lambda_gan,
                   help="weight of the adversarial term (0 with --lambda-feat 0: no D, a regression warm-up)")
    g.add_argument("--lambda-feat", type=float, default=d.lambda_feat)
    g.add_argument("--vgg-weights", type=Path, help="torchvision vgg19 state dict: turns the VGG loss on")
    g.add_argument("--lambda-vgg", type=float, default=d.lambda_vgg)
    g.add_argument("--lambda-l1", type=float, default=d.lambda_l1, help="L1 reconstruction (default off)")
    g.add_argument("--l1-class-balance", type=float, default=d.l1_class_balance, metavar="P",
                   help="weight each pixel's L1 by its class's pixel count^-P, so small classes (signs, people) "
                        "count more; 0 plain (default), 1 every class equal")
    g.add_argument("--lambda-frozen-stats", type=float, default=d.lambda_frozen_stats,
                   help="L1 between a random edit rendered with its own InstanceNorm statistics and with the "
                        "unedited map's, as incremental edits render it (default off)")
    g.add_argument("--lambda-code-colour", type=float, default=d.lambda_code_colour,
                   help="L1 error of the least-squares affine map from the batch's instance codes to their "
                        "mean colours, so the style clusters differ in colour, not only brightness (default off)")
    g.add_argument("--code-colour-fit", choices=("solved", "readout"), default=d.code_colour_fit,
                   help="that affine map: solved on each batch, or a linear layer trained alongside "
                        "(stage 5 of the bundled default; default %(default)s)")
    g.add_argument("--frozen-stats-area", type=float, default=d.frozen_stats_area,
                   help="that edit's share of the frame (default %(default)s)")
    g = parser.add_argument_group("data")
    g.add_argument("--load-size", type=size_type(2), help="WxH the images are scaled to (default: native)")
    g.add_argument("--crop-size", type=size_type(2), help="WxH random crops (of G's input)")
    g.add_argument("--input-downsample", type=int, default=d.input_downsample,
                   help="global G trained as the coarse level of an n-level enhancer: inputs pooled n times")
    g.add_argument("--no-flip", action="store_true")
    g.add_argument("--batch-size", type=int, default=d.batch_size)
    g.add_argument("--num-workers", type=int, default=d.num_workers)
    g = parser.add_argument_group("schedule")
    g.add_argument("--epochs", type=int, default=d.epochs, help="epochs at the initial learning rate")
    g.add_argument("--decay-epochs", type=int, default=d.decay_epochs, help="epochs of linear decay to 0")
    g.add_argument("--max-steps", type=int, help="stop after N optimiser steps")
    g.add_argument("--lr", type=float, default=d.lr)
    g.add_argument("--lr-encoder", type=float,
                   help="peak learning rate of E (default: --lr), decayed alike")
    g.add_argument("--beta1", type=float, default=d.beta1)
    g.add_argument("--fix-global-epochs", type=int, default=d.fix_global_epochs)
    g.add_argument("--fix-global-steps", type=int)
    g = parser.add_argument_group("run")
    g.add_argument("--save-every-minutes", type=float, default=d.save_every_minutes)
    g.add_argument("--keep-saves", action="store_true",
                   help="also keep each save's checkpoint in runs/NAME/saves/step_N, not only the latest")
    g.add_argument("--sample-every", type=int, default=d.sample_every)
    g.add_argument("--log-every", type=int, default=d.log_every)
    g.add_argument("--threads", type=int, help="torch CPU threads")
    g.add_argument("--device", help="cpu, cuda, cuda:1 (default: best available)")
    g.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        name=args.name, runs_dir=args.runs, seed=args.seed, netG=args.netG, ngf=args.ngf,
        n_downsample_global=args.n_downsample_global, n_blocks_global=args.n_blocks_global,
        n_local_enhancers=args.n_local_enhancers, n_blocks_local=args.n_blocks_local, use_edges=not args.no_instance,
        instance_feat=args.instance_feat, feat_num=args.feat_num, nef=args.nef, n_downsample_E=args.n_downsample_E,
        encoder_downsample=args.encoder_downsample, ndf=args.ndf, n_layers_D=args.n_layers_D, num_d=args.num_d,
        input_downsample=args.input_downsample, crop_size=args.crop_size, flip=not args.no_flip,
        batch_size=args.batch_size, num_workers=args.num_workers, gan_mode=args.gan_mode,
        lambda_gan=args.lambda_gan, lambda_feat=args.lambda_feat, lambda_vgg=args.lambda_vgg, vgg_weights=args.vgg_weights,
        lambda_l1=args.lambda_l1, lambda_frozen_stats=args.lambda_frozen_stats, lambda_code_colour=args.lambda_code_colour,
        code_colour_fit=args.code_colour_fit, l1_class_balance=args.l1_class_balance,
        frozen_stats_area=args.frozen_stats_area, epochs=args.epochs, decay_epochs=args.decay_epochs, max_steps=args.max_steps,
        lr=args.lr, lr_encoder=args.lr_encoder, beta1=args.beta1, fix_global_epochs=args.fix_global_epochs,
        fix_global_steps=args.fix_global_steps, init_global=args.init_global, init_weights=args.init_weights,
        ema_decay=args.ema_decay, save_every_minutes=args.save_every_minutes, keep_saves=args.keep_saves,
        sample_every=args.sample_every, log_every=args.log_every,
        threads=args.threads, device=args.device, amp=not args.no_amp,
    )


def run(args: argparse.Namespace) -> int:
    from model.data.folders import LoaderConfig, PairedDataset
    from model.labels import LabelSet, cityscapes

    config = config_from_args(args)
    if config.max_steps is not None and config.max_steps < 0:
        raise EditorError("--max-steps must be ≥ 0")
    if not 0 < args.frozen_stats_area <= 1:
        raise EditorError("--frozen-stats-area must be in (0, 1]")
    if config.lambda_code_colour and not config.instance_feat:
        raise EditorError("--lambda-code-colour reads E's codes: add --instance-feat")
    label_set = LabelSet.load(args.label_set) if args.label_set else cityscapes()
    loader_config = LoaderConfig(
        root=args.data, phase=args.phase, resize="scale_width" if args.load_size else "none",
        load_size=args.load_size, flip=False,  # flips and crops are drawn per step by the trainer
    )
    dataset = PairedDataset(loader_config, label_set, seed=config.seed)
    if len(dataset) == 0:
        raise EditorError(f"no training pairs in {args.data}")
    first = dataset[0]
    check_sizes(config, (int(first["label"].shape[-1]), int(first["label"].shape[-2])))
    Trainer(config, dataset, label_set).train()
    return 0
