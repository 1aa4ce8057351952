"""Which InstanceNorm statistics a render uses: the styled scene's own ("live"), or the reference ones.

pix2pixHD normalises every layer by whole-image statistics. E's feature channels enter those
statistics, so switching one object's style moves every layer's mean and variance a little, and
with them every pixel of the image. On the bundled default, switching a 215k-pixel car between its
two most distant clusters changed the pixels more than 64 px away from it by 7.95/255 on average
with live statistics, and by 0.03/255 with the statistics held fixed.

A style is a per-object choice, so the editor should not let it reach across the image. With
``"reference"`` statistics (the default) every layer is normalised by the statistics of the
*reference render*: the same layout and seed with no styles chosen (every object at its default
cluster). They depend on the layout and seed only, so a style change is local, and a render is
still a function of the document alone (not of its edit history). A scene without chosen styles
is its own reference (one pass, identical to "live"); one with chosen styles costs a second pass
for each new layout (the incremental renderer remembers the last layout's statistics). ``"live"``
is the official pipeline's behaviour, bit for bit (``render --norm-stats live``).

This module holds the nn.Module side (forward hooks on ``nn.InstanceNorm2d``); the incremental
renderer measures and folds statistics itself (model.render.executor / frozen_norm).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, cast

import torch
from torch import nn

NormMode = Literal["reference", "live"]
NORM_MODES: tuple[NormMode, ...] = ("reference", "live")

Moments = list[tuple[torch.Tensor, torch.Tensor]]  # per InstanceNorm, in call order: (mean, var) N×C×1×1


def _norms(module: nn.Module) -> list[nn.InstanceNorm2d]:
    norms = [m for m in module.modules() if isinstance(m, nn.InstanceNorm2d)]
    for m in norms:
        if m.track_running_stats:
            raise ValueError("frozen statistics need InstanceNorm without running stats")
    return norms


@contextmanager
def _hooks(module: nn.Module, hook) -> Iterator[None]:  # type: ignore[no-untyped-def]
    handles = [m.register_forward_hook(hook) for m in _norms(module)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def recording_moments(module: nn.Module, detach: bool = True) -> Iterator[Moments]:
    """Inside the block, every InstanceNorm of ``module`` appends its input's (mean, variance) to the
    yielded list, in call order; with ``detach=False`` they stay in the autograd graph."""
    moments: Moments = []

    def record(norm: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        x = inputs[0].detach() if detach else inputs[0]
        var, mean = torch.var_mean(x.float(), dim=(2, 3), keepdim=True, unbiased=False)
        moments.append((mean, var))

    with _hooks(module, record):
        yield moments


@contextmanager
def using_moments(module: nn.Module, moments: Moments) -> Iterator[None]:
    """Inside the block, every InstanceNorm of ``module`` normalises by the given statistics (in call
    order) instead of its input's; gradients still flow through its input."""
    calls = iter(moments)

    def replace(norm: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
        mean, var = next(calls)
        layer = cast(nn.InstanceNorm2d, norm)
        out = (inputs[0].float() - mean) * torch.rsqrt(var + layer.eps)
        if layer.affine:
            out = out * layer.weight.view(1, -1, 1, 1) + layer.bias.view(1, -1, 1, 1)
        return out.to(output.dtype)

    with _hooks(module, replace):
        yield


def measure_moments(module: nn.Module, x: torch.Tensor) -> Moments:
    """Run ``module`` on ``x`` and return every InstanceNorm's input statistics, in call order."""
    with recording_moments(module) as moments:
        module(x)
    return moments


def forward_with_moments(module: nn.Module, x: torch.Tensor, moments: Moments) -> torch.Tensor:
    """``module(x)`` with every InstanceNorm using the given statistics instead of its input's."""
    with using_moments(module, moments):
        return module(x)
