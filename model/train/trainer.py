"""The Trainer: builds G (+E) and D from a TrainConfig, owns the two optimisers, and each ``step``
updates D and then G on one batch. Read it top to bottom: setup, one step, the loop, outputs.

Multi-process: start with ``torchrun --nproc_per_node N main.py train …``; gradients are averaged
by DistributedDataParallel. Mixed precision is used on CUDA.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import signal
import threading
import time
from collections.abc import Mapping, Sized
from dataclasses import replace
from pathlib import Path
from typing import NoReturn, cast

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from model.checkpoint import ModelConfig
from model.cpu_speed import bf16_training_pays
from model.data.folders import PairedDataset
from model.errors import CheckpointError
from model.features import instance_colours, linear_fit_error, pooled_instances
from model.input_pyramid import Window, crop
from model.labels import LabelSet
from model.losses import GANLoss, VGG19Features, VGGLoss, feature_matching_loss
from model.networks.discriminator import MultiscaleDiscriminator
from model.networks.encoder import EncoderConfig, FeatureEncoder
from model.networks.generator import GlobalGenerator, LocalEnhancer, build_generator, downsample_input
from model.networks.segmentation_discriminator import (
    SegmentationDiscriminator,
    SegmentationDiscriminatorConfig,
    segmentation_logits,
)
from model.scene_io import write_png
from model.train.config import Size, TrainConfig
from model.train.distributed import Dist, setup_distributed
from model.train.run_state import (
    Trainable,
    export_checkpoint,
    load_state,
    save_state,
    saved_discriminator,
)
from model.train.sampler import StepSampler, class_aware_weights, step_generator
from model.train.segmentation_loss import (
    class_balance_weights,
    discriminator_loss,
    generator_loss,
    labelmix_loss,
    labelmix_mask,
    mix,
)
from model.train.stack import GeneratorStack
from model.train.weights import (
    global_parameters,
    load_global_into_local,
    load_run_or_checkpoint,
    widened_inputs,
)
from model.weight_average import WeightAverage

log = logging.getLogger(__name__)


class Trainer:
    def __init__(
        self, config: TrainConfig, dataset: Dataset, label_set: LabelSet, dist_info: Dist | None = None
    ):
        config.validate()
        self.config = config
        arch, loss, schedule = config.arch, config.loss, config.schedule
        self.dataset = dataset
        self.dataset_size = len(cast(Sized, dataset))
        self.label_set = label_set
        self.dist = dist_info or setup_distributed(config.run.device)
        self.device = self.dist.device
        if config.run.threads:
            torch.set_num_threads(config.run.threads)
        self.amp = config.run.amp and self.device.type == "cuda"
        self.cpu_bf16 = False  # decided once G exists, by timing its convs

        # schedule, in optimiser steps
        self.steps_per_epoch = max(1, self.dataset_size // (config.data.batch_size * self.dist.world))
        self.constant_steps = schedule.epochs * self.steps_per_epoch
        self.decay_steps = schedule.decay_epochs * self.steps_per_epoch
        self.total_steps = self.constant_steps + self.decay_steps
        self.stop_step = (
            min(self.total_steps, schedule.max_steps) if schedule.max_steps is not None else self.total_steps
        )

        # networks (same seed on every rank; DDP also broadcasts rank 0's weights)
        torch.manual_seed(config.run.seed)
        feat_num = arch.feat_num if arch.instance_feat else 0
        input_nc = label_set.num_classes + int(arch.use_edges) + feat_num + arch.noise_nc
        self.encoder_config = (
            EncoderConfig(
                feat_num=feat_num,
                nef=arch.nef,
                n_downsampling=arch.n_downsample_E,
                encoder_downsample=arch.encoder_downsample,
            )
            if arch.instance_feat
            else None
        )
        self.model_config = ModelConfig(
            config.generator_config(input_nc), label_set, arch.use_edges, feat_num, self.encoder_config
        )
        generator = build_generator(self.model_config.generator)
        if config.run.cpu_bf16 and self.device.type == "cpu":
            self.cpu_bf16 = bf16_training_pays(generator, "run.cpu_bf16")
        encoder = FeatureEncoder.from_config(self.encoder_config) if self.encoder_config else None
        self.stack = GeneratorStack(
            generator,
            encoder,
            label_set.num_classes,
            arch.use_edges,
            arch.input_downsample,
            arch.encoder_downsample,
            arch.noise_nc,
        ).to(self.device)
        self.segmenting_d = arch.discriminator == "oasis"
        self.D = build_discriminator(config, label_set).to(self.device)
        self.scene_weights = self.class_aware_order()

        # objective
        self.gan_loss = GANLoss(loss.gan_mode)
        self.vgg_loss = None
        if loss.vgg_weights is not None:
            self.vgg_loss = VGGLoss(VGG19Features.from_file(loss.vgg_weights)).to(self.device)
            log.info("VGG perceptual loss on (λ=%g, weights %s)", loss.lambda_vgg, loss.vgg_weights)
        else:
            log.info("VGG perceptual loss off (set loss.vgg_weights to a torchvision vgg19 state dict)")
        self.adversarial = loss.lambda_gan > 0 or loss.lambda_feat > 0
        if not self.adversarial:
            log.info("no adversarial loss (lambda_gan = lambda_feat = 0): D is not trained")
        self.code_colour = loss.lambda_code_colour > 0 and encoder is not None

        # optimisers: frozen parameters have no gradient, and Adam skips them
        betas = (schedule.beta1, schedule.beta2)
        self.opt_G = torch.optim.Adam(self.stack.parameters(), lr=schedule.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=schedule.lr, betas=betas)
        self.scaler_G = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.scaler_D = torch.amp.GradScaler("cuda", enabled=self.amp)

        # where the weights start: a resumed run, or other runs' G (+E), or random
        self.step = 0
        self.average: WeightAverage | None = None
        saved_average = self.resume()
        if saved_average is None:
            if schedule.init_weights is not None:
                self.load_init_weights(schedule.init_weights)
            if schedule.init_global is not None:  # after init_weights: it replaces the global part
                self.load_init_global(schedule.init_global)
        if schedule.ema_decay:
            self.average = WeightAverage(self.stack, schedule.ema_decay)
            if saved_average:  # None (a fresh run) or empty (a resumed run that kept no average)
                self.average.load_state_dict(saved_average)
            log.info("exporting a moving average of the weights (decay %g)", schedule.ema_decay)
        self.g_train: nn.Module = self.stack
        self.d_train: nn.Module = self.D
        self.global_fixed: bool | None = None

    # ----- setup helpers ------------------------------------------------------------------------
    def class_aware_order(self) -> torch.Tensor | None:
        """Per-scene draw weights for ``data.rare_classes``, or None for the plain order."""
        data = self.config.data
        if data.rare_repeat == 1.0:
            return None
        if not isinstance(self.dataset, PairedDataset):
            raise TypeError("data.rare_classes reads the label maps of a PairedDataset")
        weights = class_aware_weights(self.dataset, data.rare_classes, data.rare_repeat, data.rare_full_share)
        if weights is not None:
            log.info(
                "class-aware order for %s: weights %.2f–%.2f, %.0f%% of draws on scenes above weight 1.5",
                data.rare_classes,
                float(weights.min()),
                float(weights.max()),
                100.0 * float(weights[weights > 1.5].sum() / weights.sum()),
            )
        return weights

    def load_init_weights(self, path: Path) -> None:
        """Start G (and E) from a checkpoint with the same architecture, or one lacking only this
        run's noise inputs; the optimisers start fresh, and D too unless ``init_discriminator``."""
        source, loaded = load_run_or_checkpoint(path)
        own = self.model_config.generator
        theirs = loaded.config.generator
        extra = own.noise_nc - theirs.noise_nc
        if extra < 0 or replace(theirs, input_nc=theirs.input_nc + extra, noise_nc=own.noise_nc) != own:
            raise CheckpointError(
                f"init_weights holds a different generator ({theirs}); this run builds {own}", source
            )
        if (loaded.encoder is None) != (self.stack.encoder is None):
            raise CheckpointError(
                "init_weights: the checkpoint and this run disagree on arch.instance_feat", source
            )
        generator = self.stack.generator
        generator.load_state_dict(
            widened_inputs(generator.state_dict(), loaded.generator.state_dict(), extra)
        )
        if self.stack.encoder is not None and loaded.encoder is not None:
            self.stack.encoder.load_state_dict(loaded.encoder.state_dict())
        log.info(
            "initialised G%s from %s%s",
            " and E" if loaded.encoder is not None else "",
            source,
            f" ({extra} noise inputs added at zero weight)" if extra else "",
        )
        if self.config.schedule.init_discriminator:
            self.D.load_state_dict(saved_discriminator(path))
            log.info("initialised D from %s", path)

    def load_init_global(self, path: Path) -> None:
        """Copy a trained global G (and its E) into this local G's global part."""
        source, loaded = load_run_or_checkpoint(path)
        generator = self.stack.generator
        if not isinstance(generator, LocalEnhancer) or not isinstance(loaded.generator, GlobalGenerator):
            raise CheckpointError("init_global needs a local G and a checkpoint holding a global G", source)
        count = load_global_into_local(generator, loaded.generator.state_dict())
        if self.stack.encoder is not None and loaded.encoder is not None:
            self.stack.encoder.load_state_dict(loaded.encoder.state_dict())
        log.info(
            "initialised the global part (%d tensors)%s from %s",
            count,
            " and E" if loaded.encoder is not None and self.stack.encoder is not None else "",
            source,
        )

    def set_phase(self) -> None:
        """Freeze the global part and E for the first ``fix_global_steps``; (re)wrap DDP on a change."""
        fix_steps = self.config.schedule.fix_global_steps
        fixed = self.step < fix_steps and isinstance(self.stack.generator, LocalEnhancer)
        if fixed == self.global_fixed:
            return
        self.global_fixed = fixed
        for p in global_parameters(self.stack.generator):
            p.requires_grad_(not fixed)
        if self.stack.encoder is not None:
            self.stack.encoder.requires_grad_(not fixed)
        if fixed:
            log.info(
                "global generator%s fixed until step %d",
                " and encoder" if self.stack.encoder else "",
                fix_steps,
            )
        elif fix_steps and self.step >= fix_steps:
            log.info("step %d: fine-tuning all generator layers", self.step)
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = nn.parallel.DistributedDataParallel(self.stack, device_ids=ids)
            if not isinstance(self.d_train, nn.parallel.DistributedDataParallel):
                self.d_train = nn.parallel.DistributedDataParallel(self.D, device_ids=ids)

    def learning_rate(self, step: int) -> float:
        """Constant for ``epochs``, then linear decay to zero over ``decay_epochs``."""
        lr = self.config.schedule.lr
        if step < self.constant_steps or self.decay_steps == 0:
            return lr
        return lr * max(0.0, 1.0 - (step - self.constant_steps) / self.decay_steps)

    def random_geometry(self, step: int, size: Size) -> tuple[bool, Window | None]:
        """(flip?, crop box) of one step; crop corners on a 2^levels grid."""
        data = self.config.data
        gen = step_generator(self.config.run.seed, step, self.dist.rank)
        flip = data.flip and bool(torch.randint(2, (1,), generator=gen).item())
        if data.crop_size is None:
            return flip, None
        width, height = size
        cw, ch = min(data.crop_size[0], width), min(data.crop_size[1], height)
        grid = 2 ** (self.model_config.generator.n_local_enhancers + self.config.arch.input_downsample)
        x0 = int(torch.randint((width - cw) // grid + 1, (1,), generator=gen).item()) * grid
        y0 = int(torch.randint((height - ch) // grid + 1, (1,), generator=gen).item()) * grid
        return flip, (x0, y0, cw, ch)

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward passes' precision: float16 on CUDA (amp), bfloat16 on a CPU where it pays
        (run.cpu_bf16); the weights, the optimiser state and the losses stay float32."""
        if self.amp:
            return torch.autocast("cuda", dtype=torch.float16)
        if self.cpu_bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ----- one optimiser step -------------------------------------------------------------------
    def train_step(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        arch, loss = self.config.arch, self.config.loss
        self.set_phase()
        lr = self.learning_rate(self.step)
        for opt in (self.opt_G, self.opt_D):
            for group in opt.param_groups:
                group["lr"] = lr

        labels = batch["label"].to(self.device).long()
        instances = batch["inst"].to(self.device).long()
        image = batch["image"].to(self.device).float()
        self.image_size = (int(labels.shape[-1]), int(labels.shape[-2]))
        scale = 2**arch.input_downsample  # crop boxes are in G-input coordinates
        flip, box = self.random_geometry(self.step, (labels.shape[-1] // scale, labels.shape[-2] // scale))
        if flip:
            labels, instances, image = labels.flip(-1), instances.flip(-1), image.flip(-1)
        real = downsample_input(image, arch.input_downsample)
        if box is not None:
            real = crop(real, box, 0)

        with self.autocast():
            g_input, fake, codes = self.g_train(labels, instances, image, box)

        # discriminator: fake (detached) and real in one batch; skipped in a regression-only warm-up
        zero = fake.new_zeros((), dtype=torch.float32)
        loss_d_fake = loss_d_real = loss_d_mix = loss_g_gan = loss_g_feat = zero
        if self.adversarial and self.segmenting_d:
            class_map = pooled_instances(labels, arch.input_downsample)
            if box is not None:
                class_map = crop(class_map, box)
            loss_d_real, loss_d_fake, loss_d_mix, loss_g_gan, loss_g_feat = self.segmentation_terms(
                class_map, fake, real
            )
        elif self.adversarial:
            with self.autocast():
                scores = self.d_train(
                    torch.cat([torch.cat([g_input, fake.detach()], 1), torch.cat([g_input, real], 1)])
                )
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
            loss_g_gan = loss.lambda_gan * self.gan_loss(pred_fake_g, real=True, for_discriminator=False)
            if loss.lambda_feat:
                loss_g_feat = loss.lambda_feat * feature_matching_loss(pred_fake_g, pred_real)
        loss_g_vgg = loss.lambda_vgg * self.vgg_loss(fake, real) if self.vgg_loss is not None else zero
        loss_g_l1 = loss.lambda_l1 * nn.functional.l1_loss(fake.float(), real) if loss.lambda_l1 else zero
        loss_g_code = zero
        if self.code_colour and codes is not None:  # how badly the codes explain the instances' colours
            colours = instance_colours(image, instances, arch.encoder_downsample)
            loss_g_code = loss.lambda_code_colour * linear_fit_error(codes.float(), colours.float())
        loss_g = loss_g_gan + loss_g_feat + loss_g_vgg + loss_g_l1 + loss_g_code
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
        values = {
            "G_GAN": loss_g_gan,
            "G_GAN_Feat": loss_g_feat,
            "G_VGG": loss_g_vgg,
            "G_L1": loss_g_l1,
            "G_code": loss_g_code,
            "D_real": loss_d_real,
            "D_fake": loss_d_fake,
            **({"D_labelmix": loss_d_mix} if self.segmenting_d else {}),
        }
        return {**{k: float(v.detach()) for k, v in values.items()}, "lr": lr}

    def segmentation_terms(
        self, labels: torch.Tensor, fake: torch.Tensor, real: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """OASIS's step for the segmentation D: D's loss (real, fake, LabelMix) is backpropagated
        here; returns those three and G's (adversarial, feature-matching) terms, D left frozen."""
        loss = self.config.loss
        num_classes = self.label_set.num_classes
        weights = class_balance_weights(labels, num_classes)
        n = labels.shape[0]
        with self.autocast():
            scores = self.d_train(torch.cat([fake.detach(), real]))
        logits = segmentation_logits(scores).float()  # losses in float32 under bf16 autocast
        d_real, d_fake = discriminator_loss(logits[n:], logits[:n], labels, weights)
        d_mix = fake.new_zeros((), dtype=torch.float32)
        if loss.lambda_labelmix:
            gen = step_generator(self.config.run.seed, self.step, self.dist.rank, stream=1)
            mask = labelmix_mask(labels, num_classes, gen).to(real.dtype)
            with self.autocast():
                mixed = segmentation_logits(self.d_train(mix(mask, real, fake.detach()))).float()
            d_mix = loss.lambda_labelmix * labelmix_loss(mixed, logits[n:], logits[:n], mask)
        self.opt_D.zero_grad(set_to_none=True)
        self.scaler_D.scale(d_real + d_fake + d_mix).backward()

        pred_real = [[f[n:].detach() for f in scores[0]]]
        self.D.requires_grad_(False)
        with self.autocast():
            scores_g = self.D(fake)
        g_gan = loss.lambda_gan * generator_loss(segmentation_logits(scores_g).float(), labels, weights)
        g_feat = d_mix.new_zeros(())
        if loss.lambda_feat:
            g_feat = loss.lambda_feat * feature_matching_loss(scores_g, pred_real)
        return d_real, d_fake, d_mix, g_gan, g_feat

    # ----- the loop -----------------------------------------------------------------------------
    def train(self) -> None:
        config = self.config
        if self.step >= self.stop_step:
            log.info("nothing to do: step %d ≥ %d", self.step, self.stop_step)
            return
        sampler = StepSampler(
            self.dataset_size,
            config.data.batch_size,
            self.step,
            self.stop_step,
            config.run.seed,
            self.dist.rank,
            self.dist.world,
            self.scene_weights,
        )
        loader = DataLoader(
            self.dataset,
            batch_size=config.data.batch_size,
            sampler=sampler,
            num_workers=config.data.num_workers,
            persistent_workers=False,
        )
        if self.dist.main:
            config.run_dir.mkdir(parents=True, exist_ok=True)
            log.info(
                "training %s: steps %d → %d of %d (%d per epoch), run folder %s",
                config.run.name,
                self.step,
                self.stop_step,
                self.total_steps,
                self.steps_per_epoch,
                config.run_dir,
            )
        progress = _progress(self.step, self.stop_step, config.run.name, self.dist.main)
        last_save = time.monotonic()
        started = time.monotonic()
        stop = _stop_on_sigterm()
        for batch in loader:
            losses = self.train_step(batch)
            progress.update(1)
            if self.dist.main:
                progress.set_postfix({k: f"{v:.3f}" for k, v in losses.items() if k != "lr"}, refresh=False)
                if self.step % config.run.log_every == 0 or self.step == self.stop_step:
                    self.log_losses(losses, (time.monotonic() - started))
                every = config.run.sample_every
                if every and (self.step % every == 0 or self.step == self.stop_step):
                    self.save_sample()
            if time.monotonic() - last_save > config.run.save_every_minutes * 60:
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
        row = {
            "step": self.step,
            "epoch": self.step / self.steps_per_epoch,
            **losses,
            "elapsed_s": round(elapsed, 1),
        }
        new = not path.exists()
        with path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)

    def save_sample(self) -> None:
        """label | generated | real, first image of the last batch."""
        labels, box, fake, real = self.last_visual
        labels = pooled_instances(labels, self.config.arch.input_downsample)
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

    def trainable(self) -> Trainable:
        return Trainable(
            self.stack,
            self.D,
            self.opt_G,
            self.opt_D,
            self.average.module if self.average is not None else None,
        )

    def save(self) -> None:
        """The native checkpoint (for users: the weight average when there is one) and the training
        state (for resuming); rank 0 only."""
        if not self.dist.main:
            return
        run_dir = self.config.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        size = getattr(self, "image_size", None)
        model_config = ModelConfig(
            self.model_config.generator,
            self.label_set,
            self.model_config.use_edges,
            self.model_config.feat_num,
            self.encoder_config,
            size,
        )
        exported = self.stack if self.average is None else cast(GeneratorStack, self.average.module)
        export_checkpoint(self.config, model_config, exported.generator, exported.encoder, self.step)
        save_state(run_dir, self.step, self.config, self.trainable())
        log.info("saved step %d to %s", self.step, run_dir)

    def resume(self) -> dict[str, torch.Tensor] | None:
        """Load ``runs/NAME/state.*`` when present. Returns None when there is none to resume, else
        the run's saved weight average (empty if it kept none), for the caller to restore."""
        restored = load_state(self.config.run_dir, self.trainable())
        if restored is None:
            return None
        self.step, saved_average = restored
        log.info("resumed %s at step %d", self.config.run_dir, self.step)
        return saved_average


def build_discriminator(config: TrainConfig, label_set: LabelSet) -> nn.Module:
    """The D that ``arch.discriminator`` names: the multi-scale PatchGAN sees the label channels
    beside the image; the segmentation D sees the image alone and predicts the classes."""
    arch = config.arch
    if arch.discriminator == "oasis":
        return SegmentationDiscriminator(
            SegmentationDiscriminatorConfig(label_set.num_classes, arch.oasis_ndf, arch.oasis_levels)
        )
    d_input = label_set.num_classes + int(arch.use_edges) + 3
    return MultiscaleDiscriminator(d_input, arch.ndf, arch.n_layers_D, arch.num_d)


def _stop_on_sigterm() -> threading.Event:
    """An event set by SIGTERM (main thread only), so ``kill PID`` ends a run after a saved step."""
    event = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: event.set())
    return event


def _progress(start: int, stop: int, name: str, enabled: bool) -> tqdm[NoReturn]:
    return tqdm(total=stop, initial=start, desc=name, unit="step", disable=not enabled, dynamic_ncols=True)
