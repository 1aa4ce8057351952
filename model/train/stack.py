"""G and (optionally) E as one module: what DistributedDataParallel wraps and the optimiser trains.

Coarse to fine: a GlobalGenerator trained with ``input_downsample = n`` sees exactly the input a
LocalEnhancer with n levels gives its global part. With a crop box, the enhancer levels run on the
crop only while the global part still sees the whole (downscaled) scene, whose output is cropped
to match: its normalisation statistics stay those of full scenes, as at render time.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from model.features import codes_per_pixel, raw_instance_codes
from model.input_pyramid import InputPyramid, Window, crop, scale_box
from model.networks.encoder import FeatureEncoder
from model.networks.generator import LocalEnhancer


class StackOutput(NamedTuple):
    label_channels: torch.Tensor  # G's one-hot + edge channels (no features): what D sees beside the image
    fake: torch.Tensor  # G's image
    codes: (
        torch.Tensor | None
    )  # E's code per (image, instance), in the order of model.features; None without E


class GeneratorStack(nn.Module):
    def __init__(
        self,
        generator: nn.Module,
        encoder: FeatureEncoder | None,
        num_classes: int,
        use_edges: bool,
        input_downsample: int,
        encoder_downsample: int,
        noise_nc: int = 0,
    ) -> None:
        super().__init__()
        self.generator = generator
        self.encoder = encoder
        self.num_classes = num_classes
        self.use_edges = use_edges
        self.input_downsample = input_downsample
        self.encoder_downsample = encoder_downsample
        self.noise_nc = noise_nc

    def forward(
        self, labels: torch.Tensor, instances: torch.Tensor, image: torch.Tensor, box: Window | None = None
    ) -> StackOutput:
        """G's input from labels, instances and (through E) the real image; outputs cropped to ``box``
        (in the coordinates of G's input level) when given."""
        features = codes = None
        if self.encoder is not None:
            instances = instances.long()
            unique, codes, _ = raw_instance_codes(self.encoder, image, instances, self.encoder_downsample)
            features = codes_per_pixel(unique, codes, instances)
        if self.noise_nc:  # fresh every step; the channels after the codes (model.noise)
            height, width = labels.shape[-2:]
            noise = torch.randn(labels.shape[0], self.noise_nc, height, width, device=labels.device)
            features = noise if features is None else torch.cat([features, noise], 1)
        enhancer = self.generator if isinstance(self.generator, LocalEnhancer) else None
        base = self.input_downsample
        levels = base + (enhancer.n_local_enhancers if enhancer is not None and box is not None else 0)
        pyramid = InputPyramid(
            labels, instances if self.use_edges else None, self.num_classes, features, self.use_edges, levels
        )
        full_box = None if box is None else scale_box(box, base)
        if enhancer is not None and box is not None:
            fake = enhancer_forward_cropped(enhancer, pyramid, box, base)
            return StackOutput(pyramid.label_channels(base, full_box), fake, codes)
        x = pyramid.level(base, full_box)
        return StackOutput(x[:, : pyramid.label_nc].detach(), self.generator(x), codes)


def enhancer_forward_cropped(
    g: LocalEnhancer, pyramid: InputPyramid, box: Window, base: int = 0
) -> torch.Tensor:
    """LocalEnhancer.forward restricted to ``box``: the global part runs on the whole downscaled
    input and its output is cropped; each enhancer level runs on its crop only. Box sides and
    corners must be multiples of 2^levels. ``base``: the pyramid level of the enhancer's input;
    ``box`` is in that level's coordinates."""
    n = g.n_local_enhancers
    out = crop(g.model(pyramid.level(base + n)), box, n)
    for level in range(1, n + 1):
        front, back = g.enhancer(level)
        out = back(front(pyramid.level(base + n - level, scale_box(box, base))) + out)
    return out
