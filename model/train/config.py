"""The training config: architecture, losses, schedule, data and run, each a typed section.

Every field is declared once, here, with its type, default, help and check (``settings.setting``);
the ``train`` command's ``--set``, ``--list-fields`` and validation are derived from these
declarations. A recipe (``recipes/*.toml``) holds one table per section:

    [arch]
    netG = "local"
    [loss]
    lambda_l1 = 10.0

Fields a recipe leaves out keep the defaults below, which follow pix2pixHD where it has the setting.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.errors import EditorError
from model.networks.generator import UPSAMPLERS, GeneratorConfig
from model.train import settings
from model.train.settings import at_least, positive, setting, within

log = logging.getLogger(__name__)

Size = tuple[int, int]  # (width, height)
DISCRIMINATORS: tuple[str, ...] = ("multiscale", "oasis")


@dataclass
class ArchConfig:
    """The networks: G (global or local), the feature encoder E and D (multi-scale or segmentation)."""

    netG: str = setting(
        "global", "generator: a GlobalGenerator, or a LocalEnhancer around one", choices=("global", "local")
    )
    ngf: int = setting(
        64, "G's filters at full resolution (a local G's global part has ngf·2^levels)", check=at_least(1)
    )
    n_downsample_global: int = setting(4, "stride-2 convolutions in the global G", check=at_least(1))
    n_blocks_global: int = setting(9, "residual blocks in the global G", check=at_least(0))
    n_local_enhancers: int = setting(
        1, "enhancer levels of a local G, each doubling the resolution", check=at_least(1)
    )
    n_blocks_local: int = setting(3, "residual blocks per enhancer level", check=at_least(0))
    upsampler: str = setting(
        "transposed", "G's ×2 upsampling: transposed conv (pix2pixHD) or resize-conv", choices=UPSAMPLERS
    )
    use_edges: bool = setting(True, "feed G and D the instance-boundary channel")
    noise_nc: int = setting(
        0,
        "channels of Gaussian noise appended to G's input (model.noise): fresh every step in training, "
        "a fixed function of pixel position in renders; a source for textures no label describes",
        check=at_least(0),
    )
    instance_feat: bool = setting(
        False, "train the feature encoder E jointly; its per-instance codes become G's style channels"
    )
    feat_num: int = setting(3, "feature channels E makes per instance", check=at_least(1))
    nef: int = setting(16, "E's filters at full resolution", check=at_least(1))
    n_downsample_E: int = setting(4, "stride-2 convolutions in E", check=at_least(1))
    encoder_downsample: int = setting(
        0,
        "E sees the photo average-pooled this many times (cheaper; the codes are per-instance means anyway)",
        check=at_least(0),
    )
    input_downsample: int = setting(
        0,
        "pool G's input this many times: a global G trained as the coarse "
        "level of an enhancer with that many levels",
        check=at_least(0),
    )
    ndf: int = setting(64, "D's filters in its first layer", check=at_least(1))
    n_layers_D: int = setting(3, "stride-2 layers per D scale", check=at_least(1))
    num_d: int = setting(3, "D scales, each on the input pooled once more", check=at_least(1))
    discriminator: str = setting(
        "multiscale",
        "D: pix2pixHD's multi-scale PatchGAN (ndf, n_layers_D, num_d), or OASIS's per-pixel "
        "(N+1)-class segmenter (oasis_ndf, oasis_levels)",
        choices=DISCRIMINATORS,
    )
    oasis_ndf: int = setting(
        32, "oasis D: channels of its first level, doubling per level", check=at_least(1)
    )
    oasis_levels: int = setting(
        4, "oasis D: stride-2 levels of its U-Net (D's input sides: multiples of 2^levels)", check=at_least(1)
    )


@dataclass
class LossConfig:
    """The objective: LSGAN/hinge (or, with the oasis D, its class-balanced cross-entropy) + D feature
    matching + optional VGG, L1, LabelMix and code-colour terms."""

    gan_mode: str = setting(
        "lsgan", "adversarial loss of the multiscale D (the oasis D has its own)", choices=("lsgan", "hinge")
    )
    lambda_gan: float = setting(
        1.0, "adversarial term (0 with lambda_feat 0: no D, a regression warm-up)", check=at_least(0)
    )
    lambda_feat: float = setting(
        10.0, "D feature-matching term (oasis D: its decoder features; not in OASIS)", check=at_least(0)
    )
    lambda_vgg: float = setting(
        10.0, "VGG perceptual term, used when vgg_weights is given", check=at_least(0)
    )
    vgg_weights: Path | None = setting(None, "torchvision vgg19 state dict; turns the VGG term on")
    lambda_l1: float = setting(
        0.0, "L1 reconstruction (not in pix2pixHD; converges much faster on a CPU)", check=at_least(0)
    )
    lambda_labelmix: float = setting(
        0.0, "LabelMix consistency term of the oasis D (OASIS uses 10; 0: off)", check=at_least(0)
    )
    lambda_code_colour: float = setting(
        0.0,
        "L1 error of the best affine map from E's instance codes to "
        "the instances' mean colours, so that styles differ in colour",
        check=at_least(0),
    )


@dataclass
class ScheduleConfig:
    """Where the weights start, how long training runs and at what learning rate."""

    epochs: int = setting(100, "epochs at the initial learning rate", check=at_least(0))
    decay_epochs: int = setting(100, "epochs of linear decay to 0 after those", check=at_least(0))
    max_steps: int | None = setting(
        None, "stop after this many optimiser steps (the schedule is unchanged)", check=at_least(0)
    )
    lr: float = setting(2e-4, "Adam learning rate of G, E and D", check=positive)
    beta1: float = setting(0.5, "Adam beta1", check=within(0, 1, high_open=True))
    beta2: float = setting(0.999, "Adam beta2", check=within(0, 1, high_open=True))
    fix_global_steps: int = setting(
        0, "a local G's global part and E stay fixed for this many steps", check=at_least(0)
    )
    init_global: Path | None = setting(
        None, "run or checkpoint with a global G (+E): the global part of this local G (and E) start from it"
    )
    init_weights: Path | None = setting(
        None,
        "run or checkpoint of this architecture: G (+E) start from "
        "it, D fresh; with init_global, that replaces the global part. "
        "A G without this run's noise channels gets zero weights on them (the same function at the start)",
    )
    init_discriminator: bool = setting(
        False,
        "with init_weights naming a run folder: D starts from that run's D too "
        "(a fine-tune that only adds inputs to G keeps its trained critic)",
    )
    ema_decay: float = setting(
        0.0,
        "export a moving average of G's and E's weights with this decay (e.g. 0.995; 0: the trained weights)",
        check=within(0, 1, high_open=True),
    )


@dataclass
class DataConfig:
    """The training pairs and how each step draws them."""

    root: Path | None = setting(None, "dataset root (pix2pixHD or Cityscapes layout)")
    phase: str = setting("train", "dataset split")
    label_set: Path | None = setting(None, "label set JSON (none: Cityscapes labelIds)")
    load_size: Size | None = setting(None, "WxH the images are scaled to (none: native)")
    crop_size: Size | None = setting(
        None, "WxH random crops of G's input (a local G's global part still sees the whole scene)"
    )
    flip: bool = setting(True, "random horizontal flips")
    batch_size: int = setting(1, "pairs per step and process", check=at_least(1))
    num_workers: int = setting(1, "data-loading processes", check=at_least(0))
    rare_classes: str = setting(
        "", "comma-separated class names (e.g. person,rider,bicycle) whose scenes rare_repeat favours"
    )
    rare_repeat: float = setting(
        1.0,
        "draw a scene with rare_full_share of its pixels in rare_classes this many times as often as "
        "one with none, less in between (1: every scene once per epoch)",
        check=at_least(1),
    )
    rare_full_share: float = setting(
        0.02,
        "share of the frame in rare_classes at which a scene gets the full rare_repeat",
        check=within(0, 1, low_open=True),
    )


@dataclass
class RunConfig:
    """Where a run writes, how often, and on what hardware."""

    name: str = setting("", "run name: outputs go to runs_dir/name")
    runs_dir: Path = setting(Path("runs"), "folder of all runs")
    seed: int = setting(0, "seed of the weights, the data order, flips and crops")
    save_every_minutes: float = setting(
        5.0, "save the checkpoint and the training state this often", check=positive
    )
    keep_saves: bool = setting(False, "also keep each save's checkpoint in saves/step_N, to score them later")
    sample_every: int = setting(
        200, "write a label | generated | real grid every N steps (0: never)", check=at_least(0)
    )
    log_every: int = setting(10, "append the losses to loss_log.csv every N steps", check=at_least(1))
    threads: int | None = setting(None, "torch CPU threads (none: torch's choice)", check=at_least(1))
    device: str | None = setting(None, "cpu, cuda, cuda:1 (none: the best available)")
    amp: bool = setting(True, "mixed precision on CUDA: float16 autocast with loss scaling")
    cpu_bf16: bool = setting(
        False,
        "bfloat16 autocast on the CPU: about 2× faster steps where the CPU has AVX-512 BF16 or AMX; "
        "timed at start on G's own conv shapes, and left off where bf16 is not faster",
    )


@dataclass
class TrainConfig:
    arch: ArchConfig = field(default_factory=ArchConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=RunConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.run.runs_dir) / self.run.name

    def generator_config(self, input_nc: int) -> GeneratorConfig:
        arch = self.arch
        return GeneratorConfig(
            input_nc=input_nc,
            ngf=arch.ngf,
            n_downsample_global=arch.n_downsample_global,
            n_blocks_global=arch.n_blocks_global,
            n_local_enhancers=arch.n_local_enhancers if arch.netG == "local" else 0,
            n_blocks_local=arch.n_blocks_local,
            upsampler=arch.upsampler,  # type: ignore[arg-type]
            noise_nc=arch.noise_nc,
        )

    # ----- building and changing --------------------------------------------------------------
    def with_values(self, values: Mapping[str, Any], source: str = "settings") -> TrainConfig:
        """A copy with {"section.key": value} applied; values may be text (``--set``) or TOML values."""
        return settings.updated(self, values, source)

    @classmethod
    def from_recipe(cls, path: Path) -> TrainConfig:
        """The defaults with a TOML recipe's tables applied."""
        try:
            tree = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EditorError(f"{path}: recipe not found") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise EditorError(f"{path}: not a readable TOML recipe ({exc})") from None
        return cls().with_values(settings.flatten(tree, str(path)), str(path))

    def to_json(self) -> dict[str, dict[str, Any]]:
        return settings.to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "training config") -> TrainConfig:
        """A saved config: nested (this format), or the flat one runs wrote before (converted)."""
        from model.train.legacy import is_flat, nested_from_flat

        if is_flat(data):
            data = nested_from_flat(data)
        return cls().with_values(settings.flatten(data, source), source)

    # ----- checks -----------------------------------------------------------------------------
    def validate(self) -> None:
        """Every field's own check, then the rules that tie fields together (EditorError)."""
        settings.validate_fields(self)
        if not self.run.name:
            raise EditorError("a run needs a name: --name NAME or run.name in the recipe")
        if self.loss.lambda_code_colour and not self.arch.instance_feat:
            raise EditorError("loss.lambda_code_colour reads E's codes: set arch.instance_feat=true")
        if self.data.rare_repeat != 1.0 and not self.data.rare_classes.strip():
            raise EditorError("data.rare_repeat favours data.rare_classes: name them, e.g. person,rider")
        if self.loss.lambda_labelmix and self.arch.discriminator != "oasis":
            raise EditorError("loss.lambda_labelmix needs the segmentation D: set arch.discriminator=oasis")
        if self.schedule.init_discriminator and self.schedule.init_weights is None:
            raise EditorError("schedule.init_discriminator reads the run that schedule.init_weights names")
        adversarial = self.loss.lambda_gan > 0 or self.loss.lambda_feat > 0
        if not (adversarial or self.loss.lambda_l1 or self.loss.vgg_weights is not None):
            raise EditorError(
                "every loss is off: set loss.lambda_l1, loss.vgg_weights, loss.lambda_gan or loss.lambda_feat"
            )

    def check_image_size(self, size: Size) -> None:
        """Refuse image and crop sizes the networks cannot take, with one clear line."""
        stride = self.generator_config(1 + self.arch.noise_nc).stride * 2**self.arch.input_downsample
        for what, (w, h) in (("image", size), ("crop", self.data.crop_size or size)):
            if w % stride or h % stride:
                raise EditorError(f"{what} size {w}x{h} is not a multiple of {stride} (the network's stride)")
        if self.arch.discriminator == "oasis":  # D sees G's output: the crop, or the pooled image
            d_stride = 2**self.arch.oasis_levels
            pooled_size = (size[0] >> self.arch.input_downsample, size[1] >> self.arch.input_downsample)
            crop_size = self.data.crop_size or pooled_size
            w, h = min(crop_size[0], pooled_size[0]), min(crop_size[1], pooled_size[1])
            if w % d_stride or h % d_stride:
                raise EditorError(f"D's input {w}x{h} is not a multiple of {d_stride} (2^arch.oasis_levels)")
        pooled = 2**self.arch.encoder_downsample
        if self.arch.instance_feat and (size[0] % pooled or size[1] % pooled):
            raise EditorError(
                f"image size {size[0]}x{size[1]} cannot be pooled "
                f"{self.arch.encoder_downsample} times (arch.encoder_downsample)"
            )
