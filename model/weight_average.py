"""An exponential moving average of a module's weights (not in pix2pixHD).

GAN iterates oscillate: from one checkpoint to the next the samples change more than they improve.
The running average of the weights, kept beside the trained copy and never back-propagated through,
is meant to smooth that out (Yazıcı et al., "The unusual effectiveness of averaging in GAN
training", ICLR 2019; the ``G_ema`` of progressive GANs and StyleGAN). The average is what a run
exports (``checkpoint/``); the trained weights keep training, and the sample grids show them.

Each update is ``avg ← avg + (1 − d)·(w − avg)`` with ``d = min(decay, (1 + step) / (10 + step))``:
the warm-up lets an average that starts from random weights follow the first steps quickly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn


class WeightAverage:
    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"weight-average decay {decay} must be in (0, 1)")
        self.decay = decay
        self.module = copy.deepcopy(module).requires_grad_(False)
        self._averaged: list[torch.Tensor] = list(self.module.parameters())
        self._trained: list[torch.Tensor] = list(module.parameters())
        self._buffers = list(zip(self.module.buffers(), module.buffers(), strict=True))

    def rate(self, step: int) -> float:
        """The weight of the newest parameters at ``step``: 1 − the effective decay."""
        return 1.0 - min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        torch._foreach_lerp_(self._averaged, self._trained, self.rate(step))
        for a, w in self._buffers:  # buffers (none in InstanceNorm) are copied, not averaged
            a.copy_(w)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
