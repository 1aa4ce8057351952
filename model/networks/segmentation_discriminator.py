"""A segmentation discriminator as in OASIS (Schönfeld et al., ICLR 2021).

Instead of one real/fake score per patch, D labels every pixel of an image with one of N + 1
classes: the N semantic classes for real photos, class 0 ("fake") for generated ones. G is then
rewarded for pixels that D recognises as their true class, which gives it per-class, per-pixel
feedback where the PatchGAN gives one number per patch.

The network is an encoder-decoder (U-Net) of residual blocks with spectral normalisation and no
other normalisation, as the paper's; only its width and depth are parameters here, so that it can
be made small enough to train on a CPU. D sees the image alone: the label map enters through the
loss targets (``model.train.segmentation_loss``).

``forward`` returns one list (a single "scale") of the decoder's features with the per-pixel
(N + 1)-class logits last, the layout ``model.losses.feature_matching_loss`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

FAKE_CLASS = 0  # channel of the "fake" class; semantic class c is channel c + 1


@dataclass(frozen=True)
class SegmentationDiscriminatorConfig:
    """Everything needed to rebuild the segmentation D."""

    num_classes: int  # N semantic classes; D predicts N + 1 channels
    ndf: int = 32  # channels after the first block; each further level doubles them up to max_channels
    n_levels: int = 4  # stride-2 levels of the encoder (the decoder mirrors them)
    max_channels: int = 256
    input_nc: int = 3

    def __post_init__(self) -> None:
        if self.num_classes < 1 or self.ndf < 1 or self.n_levels < 1 or self.max_channels < 1:
            raise ValueError(f"invalid segmentation discriminator {self}")

    def channels(self) -> list[int]:
        """Channels at each encoder level, finest first."""
        return [min(self.ndf * 2**i, self.max_channels) for i in range(self.n_levels)]


def _conv(in_ch: int, out_ch: int, kernel: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2))


class ResidualBlock(nn.Module):
    """OASIS's D block: [LeakyReLU, conv3, LeakyReLU, conv3] plus a learned 1×1 shortcut, with the
    resolution halved (``down``) at the end or doubled (``up``) at the start of both paths."""

    def __init__(self, in_ch: int, out_ch: int, resample: str, first: bool = False) -> None:
        super().__init__()
        if resample not in ("down", "up"):
            raise ValueError(f"resample must be 'down' or 'up', not {resample!r}")
        self.resample = resample
        # no activation before the first conv of the first block: it sees the image itself
        self.act_in: nn.Module = nn.Identity() if first else nn.LeakyReLU(0.2)
        self.conv1 = _conv(in_ch, out_ch, 3)
        self.act_mid = nn.LeakyReLU(0.2)
        self.conv2 = _conv(out_ch, out_ch, 3)
        self.shortcut = _conv(in_ch, out_ch, 1)

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        if self.resample == "down":
            return nn.functional.avg_pool2d(x, 2)
        return nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.resample == "up":
            x = self._resample(x)
        out = self.conv2(self.act_mid(self.conv1(self.act_in(x))))
        out = out + self.shortcut(x)
        return self._resample(out) if self.resample == "down" else out


class SegmentationDiscriminator(nn.Module):
    """U-Net D: ``n_levels`` down blocks, as many up blocks each fed the matching encoder
    features (concatenated), then a 1×1 conv to N + 1 class logits at the input's resolution.
    Input sides must be multiples of 2^n_levels."""

    def __init__(self, config: SegmentationDiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.channels()
        self.down_blocks = nn.ModuleList()
        previous = config.input_nc
        for i, width in enumerate(widths):
            self.down_blocks.append(ResidualBlock(previous, width, "down", first=i == 0))
            previous = width
        # up block i undoes down block (n-1-i); all but the first also take that level's skip
        self.up_blocks = nn.ModuleList()
        for i in range(config.n_levels):
            level = config.n_levels - 1 - i
            in_ch = previous if i == 0 else previous + widths[level]
            out_ch = widths[level - 1] if level > 0 else widths[0]
            self.up_blocks.append(ResidualBlock(in_ch, out_ch, "up"))
            previous = out_ch
        self.classifier = nn.Conv2d(previous, config.num_classes + 1, 1)

    @property
    def stride(self) -> int:
        return 2**self.config.n_levels

    def forward(self, image: torch.Tensor) -> list[list[torch.Tensor]]:
        skips = []
        x = image
        for block in self.down_blocks:
            x = block(x)
            skips.append(x)
        features = []
        for i, block in enumerate(self.up_blocks):
            if i > 0:
                x = torch.cat([x, skips[len(skips) - 1 - i]], 1)
            x = block(x)
            features.append(x)
        return [[*features, self.classifier(x)]]


def segmentation_logits(scores: list[list[torch.Tensor]]) -> torch.Tensor:
    """The (B, N + 1, H, W) logits from a ``SegmentationDiscriminator`` output."""
    return scores[0][-1]
