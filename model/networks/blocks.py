"""Layer builders shared by the generator and encoder (pix2pixHD's exact layer order)."""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

NormLayer = Callable[[int], nn.Module]


def instance_norm(channels: int) -> nn.Module:
    """InstanceNorm without affine parameters or running stats, as pix2pixHD's default norm."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def stem(in_ch: int, out_ch: int, norm: NormLayer) -> list[nn.Module]:
    """ReflectionPad 3 → 7×7 conv → norm → ReLU (4 layers)."""
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7), norm(out_ch), nn.ReLU(True)]


def down(in_ch: int, out_ch: int, norm: NormLayer) -> list[nn.Module]:
    """Stride-2 3×3 conv → norm → ReLU (3 layers)."""
    return [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1), norm(out_ch), nn.ReLU(True)]


def up(in_ch: int, out_ch: int, norm: NormLayer) -> list[nn.Module]:
    """Stride-2 3×3 transposed conv (output_padding 1) → norm → ReLU (3 layers)."""
    return [
        nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1),
        norm(out_ch),
        nn.ReLU(True),
    ]


def to_rgb(in_ch: int, out_ch: int) -> list[nn.Module]:
    """ReflectionPad 3 → 7×7 conv → tanh (3 layers)."""
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7), nn.Tanh()]


class ResnetBlock(nn.Module):
    """x + [pad, conv3, norm, ReLU, pad, conv3, norm](x); keys ``conv_block.1`` and ``conv_block.5``."""

    def __init__(self, channels: int, norm: NormLayer = instance_norm) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            norm(channels),
        )

    def forward(self, x):  # type: ignore[no-untyped-def]
        return x + self.conv_block(x)
