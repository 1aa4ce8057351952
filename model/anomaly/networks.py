"""The inpainter's two small networks, both conditioned on the anomaly mask and the timestep.

* :class:`DenoiserUNet` predicts the noise ε in x_t from (x_t, mask, background outside the mask).
* :class:`Farm` (foreground-aware reconstruction module, FAST) is a smaller encoder–decoder that
  predicts the anomaly-only content mask ⊙ x₀ from (x_t, mask).

A hand-written UNet instead of diffusers' UNet2DModel: it has no attention and no group-norm
overhead at these sizes, which is what the one-second CPU budget needs (docs/anomaly-synthesis.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class NetworkConfig:
    width: int = 32  # channels at full resolution in the denoiser; doubled once below
    farm_width: int = 16  # channels at full resolution in FARM
    time_dim: int = 64


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (B,) → (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResBlock(nn.Module):
    """conv → SiLU → (+ time bias) → conv, with a skip; group norm with few groups keeps it cheap."""

    def __init__(self, c_in: int, c_out: int, time_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(4, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(time_dim, c_out)
        self.norm2 = nn.GroupNorm(4, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class _EncoderDecoder(nn.Module):
    """Three resolutions (1, 1/2, 1/4) with skip connections; input sides must be multiples of 4."""

    def __init__(self, c_in: int, width: int, time_dim: int) -> None:
        super().__init__()
        w1, w2 = width, width * 2
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.stem = nn.Conv2d(c_in, w1, 3, padding=1)
        self.down1 = ResBlock(w1, w1, time_dim)
        self.pool1 = nn.Conv2d(w1, w1, 3, stride=2, padding=1)
        self.down2 = ResBlock(w1, w2, time_dim)
        self.pool2 = nn.Conv2d(w2, w2, 3, stride=2, padding=1)
        self.mid = ResBlock(w2, w2, time_dim)
        self.up2 = ResBlock(w2 + w2, w2, time_dim)
        self.up1 = ResBlock(w2 + w1, w1, time_dim)
        self.head = nn.Sequential(nn.GroupNorm(4, w1), nn.SiLU(), nn.Conv2d(w1, 3, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(timestep_embedding(t, self.time_dim))
        h1 = self.down1(self.stem(x), temb)
        h2 = self.down2(self.pool1(h1), temb)
        h = self.mid(self.pool2(h2), temb)
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h2], 1), temb)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h1], 1), temb)
        return self.head(h)


class DenoiserUNet(nn.Module):
    """ε̂(x_t, mask, background) where background is x₀ outside the mask and 0 inside."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.body = _EncoderDecoder(3 + 1 + 3, config.width, config.time_dim)

    def forward(
        self, x_t: torch.Tensor, mask: torch.Tensor, background: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        return self.body(torch.cat([x_t, mask, background * (1.0 - mask)], 1), t)


class Farm(nn.Module):
    """FARM: the anomaly-only content mask ⊙ x̂₀ from (x_t, mask); zero outside the mask by construction."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.body = _EncoderDecoder(3 + 1, config.farm_width, config.time_dim)

    def forward(self, x_t: torch.Tensor, mask: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.body(torch.cat([x_t, mask], 1), t)) * mask
