"""Frozen InstanceNorm statistics.

InstanceNorm normalises by whole-image statistics, so an edited crop cannot be normalised on its
own. The incremental renderer keeps the per-channel mean and 1/std measured by the last full render
and, with them fixed, conv → norm is an affine map that folds into the conv's weights and bias::

    norm(conv(x)) = (conv(x) - mean) · rstd = conv_{w·rstd}(x) + (b - mean) · rstd
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from model.render.plan import Layer, NormSpec


@dataclass(frozen=True)
class FoldedWeights:
    weight: torch.Tensor | None
    bias: torch.Tensor | None


@dataclass(frozen=True)
class NormStats:
    mean: torch.Tensor  # C
    rstd: torch.Tensor  # C: 1 / sqrt(var + eps)
    norm: NormSpec

    def scale_shift(self) -> tuple[torch.Tensor, torch.Tensor]:
        """y = x·scale + shift reproduces the norm (affine parameters included)."""
        scale, shift = self.rstd, -self.mean * self.rstd
        if self.norm.weight is not None:
            gamma = self.norm.weight.to(scale.device)
            scale, shift = scale * gamma, shift * gamma
        if self.norm.bias is not None:
            shift = shift + self.norm.bias.to(shift.device)
        return scale, shift

    def apply_(self, x: torch.Tensor) -> torch.Tensor:
        scale, shift = self.scale_shift()
        return x.mul_(scale.view(1, -1, 1, 1)).add_(shift.view(1, -1, 1, 1))


def combine(moments: list[tuple[int, torch.Tensor, torch.Tensor]], norm: NormSpec) -> NormStats:
    """Whole-image statistics from per-band (pixels, mean, biased variance), as InstanceNorm's."""
    total = sum(n for n, _, _ in moments)
    mean = torch.stack([m * (n / total) for n, m, _ in moments]).sum(0)
    var = torch.stack([(v + (m - mean) ** 2) * (n / total) for n, m, v in moments]).sum(0)
    return NormStats(mean, torch.rsqrt(var + norm.eps), norm)


def fold(layer: Layer, raw: FoldedWeights, stats: NormStats) -> FoldedWeights:
    """Conv weights with the frozen norm folded in."""
    assert raw.weight is not None
    scale, shift = stats.scale_shift()
    if layer.kind == "convT":  # weight is in × out × k × k
        weight = raw.weight * scale.view(1, -1, 1, 1)
    else:
        weight = raw.weight * scale.view(-1, 1, 1, 1)
    bias = shift if raw.bias is None else raw.bias * scale + shift
    return FoldedWeights(weight.contiguous(), bias.contiguous())
