"""Training pix2pixHD: the conditional GAN with multi-scale D, feature matching, optional VGG and L1.

Read ``Trainer`` top to bottom: it builds the networks from a ``TrainConfig``, owns the two
optimisers, and each ``step`` updates D and then G on one batch. Everything a run writes lives in
``runs/NAME/``:

    checkpoint/        the native model (model.checkpoint.save_checkpoint) + training.json
    saves/step_N/      with --keep-saves, a copy of checkpoint/ at every save (to score them all later)
    state.safetensors  D weights, both optimisers' states and G/E weights: what ``resume`` reads
    state.json         the step count and the TrainConfig of the run
    loss_log.csv       one row per logged step
    samples/           label | generated | real grids

Coarse to fine: train a ``GlobalGenerator`` with ``input_downsample=n`` (it then sees exactly the
input a LocalEnhancer with n levels gives its global part), then a ``LocalEnhancer`` with
``init_global`` pointing at that run; ``fix_global_steps`` keeps the global part (and E) fixed at
first. With ``crop_size`` the enhancer levels train on random crops while the global part still
sees the whole (downscaled) scene: its output is cropped to match.

Multi-process: start with ``torchrun --nproc_per_node N main.py train …``; gradients are averaged
by DistributedDataParallel (gloo on CPU, nccl on CUDA). Mixed precision is used on CUDA.
"""
from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from model.checkpoint import LoadedModel, ModelConfig, load_checkpoint, save_checkpoint
from model.errors import CheckpointError, EditorError
from model.features import (codes_per_pixel, instance_colours, linear_fit_error, pooled_instances,
                            raw_instance_codes)
from model.frozen_stats_loss import random_block_edit
from model.input_pyramid import Box, InputPyramid, crop, scale_box
from model.labels import LabelSet
from model.losses import GANLoss, VGG19Features, VGGLoss, class_balanced_l1, feature_matching_loss
from model.networks.discriminator import MultiscaleDiscriminator
from model.networks.encoder import EncoderConfig, FeatureEncoder
from model.networks.generator import GeneratorConfig, GlobalGenerator, LocalEnhancer, build_generator, downsample_input
from model.render.norm_stats import Moments, recording_moments, using_moments
from model.scene_io import write_png
from model.weight_average import WeightAverage

log = logging.getLogger(__name__)

STATE_FILE = "state.safetensors"
STATE_JSON = "state.json"
SAVES_DIR = "saves"  # with --keep-saves: one exported checkpoint per save, step_NNNNNNN
TRAINING_JSON = "training.json"
Size = tuple[int, int]  # (width, height)


@dataclass
class TrainConfig:
    name: str
    runs_dir: Path = Path("runs")
    seed: int = 0
    # generator (see model.networks.generator.GeneratorConfig)
    netG: str = "global"  # "global" or "local"
    ngf: int = 64
    n_downsample_global: int = 4
    n_blocks_global: int = 9
    n_local_enhancers: int = 1
    n_blocks_local: int = 3
    use_edges: bool = True
    # instance features: encoder E, trained jointly, its per-instance mean concatenated to G's input
    instance_feat: bool = False
    feat_num: int = 3
    nef: int = 16
    n_downsample_E: int = 4
    encoder_downsample: int = 0  # E runs on the image average-pooled this many times
    # discriminator
    ndf: int = 64
    n_layers_D: int = 3
    num_d: int = 3
    # input geometry
    input_downsample: int = 0  # a global G trained as the coarse level: inputs average-pooled n times
    crop_size: Size | None = None  # random crops of the loaded images (LocalEnhancer: global sees all)
    flip: bool = True
    batch_size: int = 1
    num_workers: int = 1
    # objective
    gan_mode: str = "lsgan"
    lambda_gan: float = 1.0  # 0 with lambda_feat 0: no D at all (a regression-only warm-up)
    lambda_feat: float = 10.0
    lambda_vgg: float = 10.0
    vgg_weights: Path | None = None
    lambda_l1: float = 0.0
    l1_class_balance: float = 0.0  # L1 pixel weight ∝ (its class's pixel count)^-this; 0: plain L1
    lambda_frozen_stats: float = 0.0  # L1 of an edit rendered with the unedited map's norm statistics
    lambda_code_colour: float = 0.0  # L1 of the best affine map from instance codes to mean colours
    code_colour_fit: str = "solved"  # that map: "solved" per batch, or "readout" (a trained linear layer)
    frozen_stats_area: float = 0.01  # that edit's share of the frame
    # schedule (epochs as in pix2pixHD's niter / niter_decay; steps override)
    epochs: int = 100
    decay_epochs: int = 100
    max_steps: int | None = None  # stop after this many optimiser steps (the schedule is unchanged)
    lr: float = 2e-4
    lr_encoder: float | None = None  # E's own peak rate; None: ``lr``
    beta1: float = 0.5
    beta2: float = 0.999
    fix_global_epochs: int = 0
    fix_global_steps: int | None = None
    init_global: Path | None = None  # a run or checkpoint with a GlobalGenerator (+E) to start from
    init_weights: Path | None = None  # a run or checkpoint of this very architecture: continue from its G (+E)
    # with both, init_global replaces the global part (and E) that init_weights loaded
    ema_decay: float = 0.0  # > 0: export a moving average of G's (and E's) weights (model/weight_average.py)
    # runs
    save_every_minutes: float = 5.0
    keep_saves: bool = False  # also copy each exported checkpoint to runs/NAME/saves/step_N (to score later)
    sample_every: int = 200
    log_every: int = 10
    threads: int | None = None
    device: str | None = None
    amp: bool = True  # mixed precision, CUDA only

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name

    def generator_config(self, input_nc: int) -> GeneratorConfig:
        return GeneratorConfig(
            input_nc=input_nc, ngf=self.ngf, n_downsample_global=self.n_downsample_global,
            n_blocks_global=self.n_blocks_global, n_local_enhancers=self.n_local_enhancers if self.netG == "local" else 0,
            n_blocks_local=self.n_blocks_local,
        )

    def to_json(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping) -> TrainConfig:
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key in ("runs_dir", "vgg_weights", "init_global", "init_weights") and value is not None:
                value = Path(value)
            if key == "crop_size" and value is not None:
                value = (int(value[0]), int(value[1]))
            values[key] = value
        return cls(**values)


# ----- distributed ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str | None = None) -> Dist:
    """Join the process group torchrun describes (env WORLD_SIZE/RANK/LOCAL_RANK), if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    chosen = torch.device(device)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Dist(rank, world, chosen)


# ----- data order -------------------------------------------------------------------------------
class StepSampler(Sampler[int]):
    """Sample indices for steps ``start``..``stop``-1: epoch e is a permutation seeded by (seed, e),
    split across ranks. Depends only on the step, so a resumed run sees the same batches."""

    def __init__(self, size: int, batch_size: int, start: int, stop: int, seed: int, rank: int = 0, world: int = 1):
        self.size, self.batch_size, self.start, self.stop = size, batch_size, start, stop
        self.seed, self.rank, self.world = seed, rank, world
        self.steps_per_epoch = max(1, size // (batch_size * world))

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch_size

    def __iter__(self) -> Iterator[int]:
        epoch, order = -1, torch.empty(0, dtype=torch.long)
        for step in range(self.start, self.stop):
            if step // self.steps_per_epoch != epoch:
                epoch = step // self.steps_per_epoch
                order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed * 7919 + epoch))
            first = (step % self.steps_per_epoch) * self.batch_size * self.world + self.rank * self.batch_size
            for b in range(self.batch_size):
                yield int(order[(first + b) % self.size])


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The random source of one step's flips and crops (no state to save for resuming)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 1009 + rank)


# ----- the generator side as one module (what DDP wraps) ---------------------------------------
class GeneratorStack(nn.Module):
    """G and (optionally) E. ``forward`` builds G's input from labels, instances and the real image
    and returns (G's label channels: one-hot + edges, fake image), both cropped to ``box`` when given.
    The label channels, without E's features, are what D sees beside the image, as in pix2pixHD."""

    def __init__(self, generator: nn.Module, encoder: FeatureEncoder | None, num_classes: int,
                 use_edges: bool, input_downsample: int, encoder_downsample: int,
                 code_colour: bool = False, code_colour_fit: str = "solved") -> None:
        """``code_colour``: ``forward(..., score_codes=True)`` also leaves in ``code_colour_error`` how
        badly the instance codes explain the instances' mean colours: through the affine map solved
        on the batch (``linear_fit_error``), or with ``code_colour_fit="readout"`` through a linear
        layer trained alongside (how the bundled default's stage 5 ran; it learns at Adam's pace)."""
        super().__init__()
        self.generator = generator
        self.encoder = encoder
        self.code_colour = code_colour and encoder is not None
        self.code_readout = (nn.Linear(encoder.feat_num, 3)
                             if self.code_colour and code_colour_fit == "readout" else None)
        self.code_colour_error: torch.Tensor | None = None
        self.num_classes = num_classes
        self.use_edges = use_edges
        self.input_downsample = input_downsample
        self.encoder_downsample = encoder_downsample

    def forward(self, labels: torch.Tensor, instances: torch.Tensor, image: torch.Tensor,
                box: Box | None = None, score_codes: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        features = None
        if self.encoder is not None:
            instances = instances.long()
            unique, codes, _ = raw_instance_codes(self.encoder, image, instances, self.encoder_downsample)
            features = codes_per_pixel(unique, codes, instances)
            if self.code_colour and score_codes:
                colours = instance_colours(image, instances, self.encoder_downsample)
                self.code_colour_error = (
                    linear_fit_error(codes.float(), colours.float()) if self.code_readout is None
                    else nn.functional.l1_loss(self.code_readout(codes.float()), colours.float()))
        enhancer = self.generator if isinstance(self.generator, LocalEnhancer) else None
        base = self.input_downsample
        levels = base + (enhancer.n_local_enhancers if enhancer is not None and box is not None else 0)
        pyramid = InputPyramid(labels, instances if self.use_edges else None, self.num_classes, features,
                               self.use_edges, levels)
        full_box = None if box is None else scale_box(box, base)
        if enhancer is not None and box is not None:
            return pyramid.label_channels(base, full_box), enhancer_forward_cropped(enhancer, pyramid, box, base)
        x = pyramid.level(base, full_box)
        return x[:, : pyramid.label_nc].detach(), self.generator(x)


def enhancer_forward_cropped(g: LocalEnhancer, pyramid: InputPyramid, box: Box, base: int = 0) -> torch.Tensor:
    """LocalEnhancer.forward restricted to ``box``: the global part runs on the whole downscaled
    input (its normalisation statistics stay those of full scenes) and its output is cropped; each
    enhancer level runs on its crop only. Box sides and corners must be multiples of 2^levels.
    ``base``: the pyramid level of the enhancer's input; ``box`` is in that level's coordinates."""
    n = g.n_local_enhancers
    out = crop(g.model(pyramid.level(base + n)), box, n)
    for level in range(1, n + 1):
        front, back = g.enhancer(level)
        out = back(front(pyramid.level(base + n - level, scale_box(box, base))) + out)
    return out


def load_run_or_checkpoint(path: Path) -> tuple[Path, LoadedModel]:
    """A run folder (its ``checkpoint/``) or a checkpoint itself: (the folder read, the model)."""
    source = path / "checkpoint" if (path / "checkpoint").is_dir() else path
    return source, load_checkpoint(source)


def global_parameters(generator: nn.Module) -> list[nn.Parameter]:
    """The parameters of a LocalEnhancer's global part (``model.*``)."""
    return list(generator.model.parameters()) if isinstance(generator, LocalEnhancer) else []


def load_global_into_local(local: LocalEnhancer, global_state: Mapping[str, torch.Tensor]) -> int:
    """Copy a trained GlobalGenerator's layers (all but its RGB output) into ``local.model``."""
    own = local.model.state_dict()
    copied = {}
    for key, value in global_state.items():
        inner = key.removeprefix("model.")
        if inner in own:
            if tuple(own[inner].shape) != tuple(value.shape):
                raise CheckpointError(
                    f"global weights '{key}' are {tuple(value.shape)}, the enhancer's global part needs "
                    f"{tuple(own[inner].shape)} (global ngf must be ngf·2^levels)"
                )
            copied[inner] = value
    missing = [k for k in own if k not in copied]
    if missing:
        raise CheckpointError(f"global weights lack {missing[:3]}")
    local.model.load_state_dict(copied)
    return len(copied)


# ----- training state (resume) ------------------------------------------------------------------
def optimizer_tensors(optimizer: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], list]:
    """An optimiser's state as flat tensors + JSON-able param groups (no pickling)."""
    state = optimizer.state_dict()
    tensors = {
        f"{prefix}.{index}.{name}": value.detach().cpu().contiguous()
        for index, slots in state["state"].items() for name, value in slots.items()
        if isinstance(value, torch.Tensor)
    }
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in group.items()} for group in state["param_groups"]]
    return tensors, groups


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], prefix: str,
                      groups: list) -> None:
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1:].split(".", 1)
            slots.setdefault(int(index), {})[name] = value
    restored = [{k: tuple(v) if k == "betas" else v for k, v in group.items()} for group in groups]
    optimizer.load_state_dict({"state": slots, "param_groups": restored})


def atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp))
    tmp.replace(path)


def atomic_write_json(data: object, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


# ----- the trainer ------------------------------------------------------------------------------
class Trainer:
    def __init__(self, config: TrainConfig, dataset: Dataset, label_set: LabelSet, dist_info: Dist | None = None):
        self.config = config
        self.dataset = dataset
        self.label_set = label_set
        self.dist = dist_info or setup_distributed(config.device)
        self.device = self.dist.device
        if config.threads:
            torch.set_num_threads(config.threads)
        self.amp = config.amp and self.device.type == "cuda"

        # schedule, in optimiser steps
        self.steps_per_epoch = max(1, len(dataset) // (config.batch_size * self.dist.world))  # type: ignore[arg-type]
        self.constant_steps = config.epochs * self.steps_per_epoch
        self.decay_steps = config.decay_epochs * self.steps_per_epoch
        self.total_steps = self.constant_steps + self.decay_steps
        self.stop_step = min(self.total_steps, config.max_steps) if config.max_steps is not None else self.total_steps
        self.fix_global_steps = (config.fix_global_steps if config.fix_global_steps is not None
                                 else config.fix_global_epochs * self.steps_per_epoch)

        # networks (same seed on every rank; DDP also broadcasts rank 0's weights)
        torch.manual_seed(config.seed)
        feat_num = config.feat_num if config.instance_feat else 0
        input_nc = label_set.num_classes + int(config.use_edges) + feat_num
        self.encoder_config = (EncoderConfig(feat_num=feat_num, nef=config.nef, n_downsampling=config.n_downsample_E)
                               if config.instance_feat else None)
        self.model_config = ModelConfig(config.generator_config(input_nc), label_set, config.use_edges, feat_num,
                                        self.encoder_config)
        generator = build_generator(self.model_config.generator)
        encoder = FeatureEncoder.from_config(self.encoder_config) if self.encoder_config else None
        self.stack = GeneratorStack(generator, encoder, label_set.num_classes, config.use_edges,
                                    config.input_downsample, config.encoder_downsample,
                                    code_colour=config.lambda_code_colour > 0,
                                    code_colour_fit=config.code_colour_fit).to(self.device)
        self.D = MultiscaleDiscriminator(label_set.num_classes + int(config.use_edges) + 3, config.ndf, config.n_layers_D, config.num_d).to(self.device)

        # objective
        self.gan_loss = GANLoss(config.gan_mode)
        self.vgg_loss = None
        if config.vgg_weights is not None:
            self.vgg_loss = VGGLoss(VGG19Features.from_file(config.vgg_weights)).to(self.device)
            log.info("VGG perceptual loss on (λ=%g, weights %s)", config.lambda_vgg, config.vgg_weights)
        else:
            log.info("VGG perceptual loss off (pass --vgg-weights PATH to a torchvision vgg19 state dict)")

        # optimisers: frozen parameters have no gradient, and Adam skips them
        betas = (config.beta1, config.beta2)
        self.opt_G = torch.optim.Adam(self.generator_param_groups(), lr=config.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=betas)
        self.scaler_G = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.scaler_D = torch.amp.GradScaler("cuda", enabled=self.amp)

        self.adversarial = config.lambda_gan > 0 or config.lambda_feat > 0
        if not self.adversarial:
            log.info("no adversarial loss (--lambda-gan 0 --lambda-feat 0): D is not trained")
        self.thing_table = torch.from_numpy(label_set.thing_mask)
        if not (self.adversarial or config.lambda_l1 or self.vgg_loss is not None):
            raise EditorError("every loss is off: give --lambda-l1, --vgg-weights, --lambda-gan or --lambda-feat")
        self.step = 0
        self.average: WeightAverage | None = None
        saved_average = self.resume()
        if saved_average is None:
            # both: the enhancer levels come from init_weights, the global part (and E) from init_global
            if config.init_weights is not None:
                self.load_init_weights(config.init_weights)
            if config.init_global is not None:
                self.load_init_global(config.init_global)
        if config.ema_decay:
            self.average = WeightAverage(self.stack, config.ema_decay)
            if saved_average:  # None (a fresh run) or empty (a resumed run that kept no average)
                self.average.load_state_dict(saved_average)
            log.info("exporting a moving average of the weights (decay %g)", config.ema_decay)
        self.g_train: nn.Module = self.stack
        self.d_train: nn.Module = self.D
        self.global_fixed: bool | None = None

    # ----- setup helpers ------------------------------------------------------------------------
    def generator_param_groups(self) -> list[dict]:
        """One Adam group for G and E, or two when E (with a code read-out) has its own rate;
        ``lr_scale`` is each group's share of the scheduled rate."""
        if self.config.lr_encoder is None or self.stack.encoder is None:
            return [{"params": list(self.stack.parameters()), "lr_scale": 1.0}]
        encoder_ids = {id(p) for p in self.stack.encoder.parameters()}
        if self.stack.code_readout is not None:
            encoder_ids |= {id(p) for p in self.stack.code_readout.parameters()}
        params = list(self.stack.parameters())
        return [{"params": [p for p in params if id(p) not in encoder_ids], "lr_scale": 1.0},
                {"params": [p for p in params if id(p) in encoder_ids],
                 "lr_scale": self.config.lr_encoder / self.config.lr}]

    def load_init_weights(self, path: Path) -> None:
        """Start G (and E) from a checkpoint with the same architecture; D and the optimisers start fresh."""
        source, loaded = load_run_or_checkpoint(path)
        if loaded.config.generator != self.model_config.generator:
            raise CheckpointError(f"--init-weights holds a different generator ({loaded.config.generator}); "
                                  f"this run builds {self.model_config.generator}", source)
        if (loaded.encoder is None) != (self.stack.encoder is None):
            raise CheckpointError("--init-weights: the checkpoint and this run disagree on --instance-feat", source)
        self.stack.generator.load_state_dict(loaded.generator.state_dict())
        if self.stack.encoder is not None and loaded.encoder is not None:
            self.stack.encoder.load_state_dict(loaded.encoder.state_dict())
        log.info("initialised G%s from %s", " and E" if loaded.encoder is not None else "", source)

    def load_init_global(self, path: Path) -> None:
        source, loaded = load_run_or_checkpoint(path)
        generator = self.stack.generator
        if not isinstance(generator, LocalEnhancer) or not isinstance(loaded.generator, GlobalGenerator):
            raise CheckpointError("--init-global needs a local G and a checkpoint holding a global G", source)
        count = load_global_into_local(generator, loaded.generator.state_dict())
        if self.stack.encoder is not None and loaded.encoder is not None:
            self.stack.encoder.load_state_dict(loaded.encoder.state_dict())
        log.info("initialised the global part (%d tensors)%s from %s", count,
                 " and E" if loaded.encoder is not None and self.stack.encoder is not None else "", source)

    def set_phase(self) -> None:
        """Freeze the global part and E for the first ``fix_global_steps``; (re)wrap DDP on a change."""
        fixed = self.step < self.fix_global_steps and isinstance(self.stack.generator, LocalEnhancer)
        if fixed == self.global_fixed:
            return
        self.global_fixed = fixed
        for p in global_parameters(self.stack.generator):
            p.requires_grad_(not fixed)
        if self.stack.encoder is not None:
            self.stack.encoder.requires_grad_(not fixed)
        if fixed:
            log.info("global generator%s fixed until step %d", " and encoder" if self.stack.encoder else "",
                     self.fix_global_steps)
        elif self.fix_global_steps and self.step >= self.fix_global_steps:
            log.info("step %d: fine-tuning all generator layers", self.step)
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = nn.parallel.DistributedDataParallel(self.stack, device_ids=ids)
            if not isinstance(self.d_train, nn.parallel.DistributedDataParallel):
                self.d_train = nn.parallel.DistributedDataParallel(self.D, device_ids=ids)

    def learning_rate(self, step: int) -> float:
        """Constant for ``epochs``, then linear decay to zero over ``decay_epochs``."""
        if step < self.constant_steps or self.decay_steps == 0:
            return self.config.lr
        return self.config.lr * max(0.0, 1.0 - (step - self.constant_steps) / self.decay_steps)

    def random_geometry(self, step: int, size: Size) -> tuple[bool, tuple[int, int, int, int] | None]:
        """(flip?, crop box) of one step; crop corners on a 2^levels grid."""
        gen = step_generator(self.config.seed, step, self.dist.rank)
        flip = self.config.flip and bool(torch.randint(2, (1,), generator=gen).item())
        if self.config.crop_size is None:
            return flip, None
        width, height = size
        cw, ch = min(self.config.crop_size[0], width), min(self.config.crop_size[1], height)
        grid = 2 ** (self.model_config.generator.n_local_enhancers + self.config.input_downsample)
        x0 = int(torch.randint((width - cw) // grid + 1, (1,), generator=gen).item()) * grid
        y0 = int(torch.randint((height - ch) // grid + 1, (1,), generator=gen).item()) * grid
        return flip, (x0, y0, cw, ch)

    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else contextlib.nullcontext()

    def l1_loss(self, fake: torch.Tensor, real: torch.Tensor, labels: torch.Tensor, box: Box | None) -> torch.Tensor:
        """Plain L1, or class-balanced with the labels taken (nearest) at G's input size and box."""
        if not self.config.l1_class_balance:
            return nn.functional.l1_loss(fake, real)
        scale = 2 ** self.config.input_downsample
        labels = labels[..., ::scale, ::scale]
        return class_balanced_l1(fake, real, labels if box is None else crop(labels, box, 0),
                                 self.config.l1_class_balance)

    # ----- one optimiser step -------------------------------------------------------------------
    def train_step(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        config = self.config
        self.set_phase()
        lr = self.learning_rate(self.step)
        for opt in (self.opt_G, self.opt_D):
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)

        labels = batch["label"].to(self.device).long()
        instances = batch["inst"].to(self.device).long()
        image = batch["image"].to(self.device).float()
        self.image_size = (int(labels.shape[-1]), int(labels.shape[-2]))
        scale = 2 ** config.input_downsample  # crop boxes are in G-input coordinates
        flip, box = self.random_geometry(self.step, (labels.shape[-1] // scale, labels.shape[-2] // scale))
        if flip:
            labels, instances, image = labels.flip(-1), instances.flip(-1), image.flip(-1)
        real = downsample_input(image, config.input_downsample)
        if box is not None:
            real = crop(real, box, 0)

        # generator forward (recording the norm statistics for the frozen-statistics term)
        recording = (recording_moments(self.stack.generator, detach=False) if config.lambda_frozen_stats
                     else contextlib.nullcontext([]))  # the unedited statistics depend on the weights too
        with self.autocast(), recording as unedited_moments:
            g_input, fake = self.g_train(labels, instances, image, box, score_codes=True)
        code_error = self.stack.code_colour_error if self.stack.code_colour else None

        # discriminator: fake (detached) and real in one batch; skipped in a regression-only warm-up
        zero = fake.new_zeros((), dtype=torch.float32)
        loss_d_fake = loss_d_real = loss_g_gan = loss_g_feat = zero
        if self.adversarial:
            with self.autocast():
                scores = self.d_train(torch.cat([torch.cat([g_input, fake.detach()], 1),
                                                 torch.cat([g_input, real], 1)]))
            n = labels.shape[0]
            pred_fake = [[f[:n] for f in scale] for scale in scores]
            pred_real = [[f[n:] for f in scale] for scale in scores]
            loss_d_fake = self.gan_loss(pred_fake, real=False)
            loss_d_real = self.gan_loss(pred_real, real=True)
            self.opt_D.zero_grad(set_to_none=True)
            self.scaler_D.scale(0.5 * (loss_d_fake + loss_d_real)).backward()

            # generator: fool D and match its features; D is frozen for this pass
            self.D.requires_grad_(False)
            with self.autocast():
                pred_fake_g = self.D(torch.cat([g_input, fake], 1))
            loss_g_gan = config.lambda_gan * self.gan_loss(pred_fake_g, real=True, for_discriminator=False)
            if config.lambda_feat:
                loss_g_feat = config.lambda_feat * feature_matching_loss(pred_fake_g, pred_real)
        loss_g_vgg = config.lambda_vgg * self.vgg_loss(fake, real) if self.vgg_loss is not None else zero
        loss_g_l1 = config.lambda_l1 * self.l1_loss(fake.float(), real, labels, box) if config.lambda_l1 else zero
        loss_g_frozen = zero
        if config.lambda_frozen_stats:
            loss_g_frozen = config.lambda_frozen_stats * self.frozen_stats_loss(
                labels, instances, image, box, unedited_moments)
        loss_g_code = config.lambda_code_colour * code_error if code_error is not None else zero
        loss_g = loss_g_gan + loss_g_feat + loss_g_vgg + loss_g_l1 + loss_g_frozen + loss_g_code
        self.opt_G.zero_grad(set_to_none=True)
        self.scaler_G.scale(loss_g).backward()
        self.D.requires_grad_(True)

        self.scaler_G.step(self.opt_G)
        self.scaler_G.update()
        if self.adversarial:
            self.scaler_D.step(self.opt_D)
            self.scaler_D.update()
        self.step += 1
        if self.average is not None:
            self.average.update(self.step)
        self.last_visual = (labels, box, fake.detach(), real)
        values = {"G_GAN": loss_g_gan, "G_GAN_Feat": loss_g_feat, "G_VGG": loss_g_vgg, "G_L1": loss_g_l1,
                  "G_frozen": loss_g_frozen, "G_code": loss_g_code, "D_real": loss_d_real, "D_fake": loss_d_fake}
        return {**{k: float(v.detach()) for k, v in values.items()}, "lr": lr}

    def frozen_stats_loss(self, labels: torch.Tensor, instances: torch.Tensor, image: torch.Tensor,
                          box: Box | None, unedited_moments: Moments) -> torch.Tensor:
        """L1 between an edited map rendered with its own statistics and with the unedited map's
        (model/frozen_stats_loss.py)."""
        edit_random = step_generator(self.config.seed + 1, self.step, self.dist.rank)
        edited = random_block_edit(labels, instances, box, self.config.frozen_stats_area, edit_random,
                                   self.thing_table)
        with self.autocast():  # both sides carry gradients: the exact frame moves with the weights too
            _, exact = self.g_train(*edited, image, box)
            with using_moments(self.stack.generator, unedited_moments):
                _, frozen = self.g_train(*edited, image, box)
        return nn.functional.l1_loss(frozen.float(), exact.float())

    # ----- the loop -----------------------------------------------------------------------------
    def train(self) -> None:
        config = self.config
        if self.step >= self.stop_step:
            log.info("nothing to do: step %d ≥ %d", self.step, self.stop_step)
            return
        sampler = StepSampler(len(self.dataset), config.batch_size, self.step, self.stop_step,  # type: ignore[arg-type]
                              config.seed, self.dist.rank, self.dist.world)
        loader = DataLoader(self.dataset, batch_size=config.batch_size, sampler=sampler,
                            num_workers=config.num_workers, persistent_workers=False)
        if self.dist.main:
            config.run_dir.mkdir(parents=True, exist_ok=True)
            log.info("training %s: steps %d → %d of %d (%d per epoch), run folder %s", config.name, self.step,
                     self.stop_step, self.total_steps, self.steps_per_epoch, config.run_dir)
        progress = _progress(self.step, self.stop_step, config.name, self.dist.main)
        last_save = time.monotonic()
        started = time.monotonic()
        stop = _stop_on_sigterm()
        for batch in loader:
            losses = self.train_step(batch)
            progress.update(1)
            if self.dist.main:
                progress.set_postfix({k: f"{v:.3f}" for k, v in losses.items() if k != "lr"}, refresh=False)
                if self.step % config.log_every == 0 or self.step == self.stop_step:
                    self.log_losses(losses, (time.monotonic() - started))
                if config.sample_every and (self.step % config.sample_every == 0 or self.step == self.stop_step):
                    self.save_sample()
            if time.monotonic() - last_save > config.save_every_minutes * 60:
                self.save()
                last_save = time.monotonic()
            if stop.is_set():
                log.info("SIGTERM: saving step %d and stopping", self.step)
                break
        progress.close()
        self.save()

    # ----- outputs ------------------------------------------------------------------------------
    def log_losses(self, losses: Mapping[str, float], elapsed: float) -> None:
        path = self.config.run_dir / "loss_log.csv"
        row = {"step": self.step, "epoch": self.step / self.steps_per_epoch, **losses, "elapsed_s": round(elapsed, 1)}
        new = not path.exists()
        with path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)

    def save_sample(self) -> None:
        """label | generated | real, first image of the last batch."""
        labels, box, fake, real = self.last_visual
        labels = pooled_instances(labels, self.config.input_downsample)
        if box is not None:
            labels = crop(labels, box)
        colour = self.label_set.colorize(labels[0].cpu().numpy())

        def to_rgb(t: torch.Tensor) -> np.ndarray:
            return ((t[0].float().clamp(-1, 1).permute(1, 2, 0).cpu().numpy() + 1) * 127.5).astype(np.uint8)

        grid = np.concatenate([colour, to_rgb(fake), to_rgb(real)], axis=1)
        folder = self.config.run_dir / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        write_png(folder / f"step_{self.step:07d}.png", grid)
        write_png(folder / "latest.png", grid)

    def save(self) -> None:
        """The native checkpoint (for users: the weight average when there is one) and the training
        state (for resuming); rank 0 only."""
        if not self.dist.main:
            return
        run_dir = self.config.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        size = getattr(self, "image_size", None)
        model_config = ModelConfig(self.model_config.generator, self.label_set, self.model_config.use_edges,
                                   self.model_config.feat_num, self.encoder_config, size)
        exported = self.stack if self.average is None else self.average.module
        folder = save_checkpoint(run_dir / "checkpoint", model_config, exported.generator, exported.encoder)
        atomic_write_json({"encoder_downsample": self.config.encoder_downsample, "step": self.step,
                           "train": self.config.to_json()}, folder / TRAINING_JSON)
        if self.config.keep_saves:
            kept = run_dir / SAVES_DIR / f"step_{self.step:07d}"
            if kept.exists():
                shutil.rmtree(kept)
            shutil.copytree(folder, kept)
        tensors = {f"G.{k}": v.detach().cpu().contiguous() for k, v in self.stack.state_dict().items()}
        tensors.update({f"D.{k}": v.detach().cpu().contiguous() for k, v in self.D.state_dict().items()})
        if self.average is not None:
            tensors.update({f"A.{k}": v.detach().cpu().contiguous() for k, v in self.average.state_dict().items()})
        opt_g, groups_g = optimizer_tensors(self.opt_G, "optG")
        opt_d, groups_d = optimizer_tensors(self.opt_D, "optD")
        atomic_save_tensors({**tensors, **opt_g, **opt_d}, run_dir / STATE_FILE)
        atomic_write_json({"step": self.step, "param_groups_G": groups_g, "param_groups_D": groups_d,
                           "config": self.config.to_json()}, run_dir / STATE_JSON)
        log.info("saved step %d to %s", self.step, run_dir)

    def resume(self) -> dict[str, torch.Tensor] | None:
        """Load ``runs/NAME/state.*`` when present. Returns None when there is none to resume, else
        the run's saved weight average (empty if it kept none), for the caller to restore."""
        run_dir = self.config.run_dir
        if not (run_dir / STATE_FILE).exists() or not (run_dir / STATE_JSON).exists():
            return None
        try:
            meta = json.loads((run_dir / STATE_JSON).read_text(encoding="utf-8"))
            tensors = load_file(str(run_dir / STATE_FILE))
            self.stack.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("G.")})
            self.D.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("D.")})
            restore_optimizer(self.opt_G, tensors, "optG", meta["param_groups_G"])
            restore_optimizer(self.opt_D, tensors, "optD", meta["param_groups_D"])
            saved_average = {k[2:]: v for k, v in tensors.items() if k.startswith("A.")}
        except (OSError, KeyError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"cannot resume ({exc.__class__.__name__}: {str(exc).splitlines()[0]})",
                                  run_dir) from None
        self.step = int(meta["step"])
        log.info("resumed %s at step %d", run_dir, self.step)
        return saved_average


def _stop_on_sigterm() -> threading.Event:
    """An event set by SIGTERM (main thread only), so ``kill PID`` ends a run after a saved step."""
    event = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: event.set())
    return event


def _progress(start: int, stop: int, name: str, enabled: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=stop, initial=start, desc=name, unit="step", disable=not enabled, dynamic_ncols=True)


def check_sizes(config: TrainConfig, size: Size) -> None:
    """Refuse image sizes the networks cannot take, with one clear line."""
    gen = config.generator_config(1)
    stride = gen.stride * 2 ** config.input_downsample
    for what, (w, h) in (("image", size), ("crop", config.crop_size or size)):
        if w % stride or h % stride:
            raise EditorError(f"{what} size {w}x{h} is not a multiple of {stride} (the network's stride)")
    if config.encoder_downsample and (size[0] % 2 ** config.encoder_downsample or size[1] % 2 ** config.encoder_downsample):
        raise EditorError(f"image size {size[0]}x{size[1]} cannot be pooled {config.encoder_downsample} times")
    if not math.isfinite(config.lr) or config.lr <= 0:
        raise EditorError(f"learning rate {config.lr} must be positive")
    if not 0 <= config.ema_decay < 1:
        raise EditorError(f"--ema-decay {config.ema_decay} must be in [0, 1)")
    if not 0 <= config.l1_class_balance <= 1:
        raise EditorError(f"--l1-class-balance {config.l1_class_balance} must be in [0, 1]")
    if config.lr_encoder is not None and (not math.isfinite(config.lr_encoder) or config.lr_encoder <= 0):
        raise EditorError(f"encoder learning rate {config.lr_encoder} must be positive")
