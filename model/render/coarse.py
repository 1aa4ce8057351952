"""Rendering a global G on its own at the coarse level it was trained for.

``train --netG global --input-downsample N`` trains a global generator on exactly the input a
LocalEnhancer with N levels gives its global part: the native input average-pooled N times. Before
enhancer levels are attached, such a G can only be scored this way: pool the native input N times,
run G, and upsample its output bilinearly to the label map's size. ``evaluate --input-downsample N``
uses it to say how much of a full model's score its global part already carries.
"""

from __future__ import annotations

import torch
from torch import nn

from model.checkpoint import LoadedModel
from model.networks.generator import downsample_input
from model.render.full import Renderer
from model.render.norm_stats import NormMode


class PooledInputRenderer(Renderer):
    def __init__(
        self,
        model: LoadedModel,
        levels: int,
        device: str | torch.device | None = None,
        norm_stats: NormMode = "reference",
    ) -> None:
        if levels < 1:
            raise ValueError("levels must be ≥ 1")
        super().__init__(model, device, norm_stats)
        self.levels = levels
        self.stride *= 2**levels  # the pooled input must still be a multiple of G's own stride

    @torch.inference_mode()
    def render_tensor(self, x: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        pooled_reference = None if reference is None else downsample_input(reference, self.levels)
        out = super().render_tensor(downsample_input(x, self.levels), pooled_reference)
        return nn.functional.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
