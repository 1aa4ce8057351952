"""Layer builders shared by the generator and encoder (pix2pixHD's exact layer order)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

NormLayer = Callable[[int], nn.Module]
Upsampler = Literal["transposed", "resize_conv"]
UPSAMPLERS: tuple[str, ...] = ("transposed", "resize_conv")


def instance_norm(channels: int) -> nn.Module:
    """InstanceNorm without affine parameters or running stats, as pix2pixHD's default norm."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def stem(in_ch: int, out_ch: int, norm: NormLayer) -> list[nn.Module]:
    """ReflectionPad 3 → 7×7 conv → norm → ReLU (4 layers)."""
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7), norm(out_ch), nn.ReLU(True)]


def down(in_ch: int, out_ch: int, norm: NormLayer) -> list[nn.Module]:
    """Stride-2 3×3 conv → norm → ReLU (3 layers)."""
    return [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1), norm(out_ch), nn.ReLU(True)]


def up(in_ch: int, out_ch: int, norm: NormLayer, upsampler: Upsampler = "transposed") -> list[nn.Module]:
    """×2 up-sampling → norm → ReLU (3 layers).

    ``transposed`` is pix2pixHD's stride-2 3×3 transposed conv (output_padding 1); its kernel
    overlaps the output unevenly, which prints a checkerboard. ``resize_conv`` is nearest ×2 then a
    3×3 conv (Odena et al., Distill 2016), which spreads every input pixel evenly by construction.
    """
    if upsampler == "resize_conv":
        layer: nn.Module = ResizeConv(in_ch, out_ch)
    elif upsampler == "transposed":
        layer = nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1)
    else:
        raise ValueError(f"unknown upsampler {upsampler!r} (choose from {', '.join(UPSAMPLERS)})")
    return [layer, norm(out_ch), nn.ReLU(True)]


# Row k of this matrix says which taps of a 3-tap kernel after a nearest ×2 up-sampling land on
# tap k of the equivalent 4-tap stride-2 transposed kernel (padding 1). See ResizeConv.
_FOLD = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


class ResizeConv(nn.Module):
    """Nearest ×2 up-sampling followed by a 3×3 conv (zero padding 1), computed in one step.

    Up-sampling by repetition then convolving equals a stride-2 transposed conv whose 4×4 kernel
    is the 3×3 kernel folded by ``_FOLD`` (each output phase sums the taps that fall on the same
    input pixel). Running it that way skips the 4×-larger intermediate, and lets the incremental
    renderer treat it as the transposed conv ``as_transposed()`` returns. The trained parameter is
    the 3×3 kernel in ``conv``, so all four output phases share it and no checkerboard can form.
    """

    stride = 2
    padding = 1

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)

    def folded_weight(self) -> torch.Tensor:
        """(in, out, 4, 4) transposed-conv kernel equal to nearest ×2 + this 3×3 conv."""
        fold = _FOLD.to(self.conv.weight)
        folded = torch.einsum("ka,oiab,lb->iokl", fold, self.conv.weight, fold)
        return folded.contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv_transpose2d(x, self.folded_weight(), self.conv.bias, stride=2, padding=1)

    def as_transposed(self) -> nn.ConvTranspose2d:
        """An nn.ConvTranspose2d computing the same function (weights copied, not shared)."""
        weight = self.folded_weight().detach()
        layer = nn.ConvTranspose2d(weight.shape[0], weight.shape[1], 4, stride=2, padding=1)
        layer = layer.to(device=weight.device, dtype=weight.dtype)
        assert self.conv.bias is not None and layer.bias is not None  # both built with bias=True
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.bias.copy_(self.conv.bias)
        return layer


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)
