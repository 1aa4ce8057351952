"""PatchGAN discriminators: NLayerDiscriminator and a multi-scale stack returning all features."""

from __future__ import annotations

import torch
from torch import nn

from model.networks.blocks import NormLayer, instance_norm


class NLayerDiscriminator(nn.Module):
    """70×70-style PatchGAN. ``forward`` returns every stage's output; the last is the patch score map."""

    def __init__(
        self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm_layer: NormLayer = instance_norm
    ) -> None:
        super().__init__()
        kernel, pad = 4, 2
        stages: list[nn.Sequential] = [
            nn.Sequential(nn.Conv2d(input_nc, ndf, kernel, stride=2, padding=pad), nn.LeakyReLU(0.2, True))
        ]
        channels = ndf
        for n in range(1, n_layers + 1):
            prev, channels = channels, min(channels * 2, 512)
            stride = 2 if n < n_layers else 1
            stages.append(
                nn.Sequential(
                    nn.Conv2d(prev, channels, kernel, stride=stride, padding=pad),
                    norm_layer(channels),
                    nn.LeakyReLU(0.2, True),
                )
            )
        stages.append(nn.Sequential(nn.Conv2d(channels, 1, kernel, stride=1, padding=pad)))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` NLayerDiscriminators on the input at scales 1, 1/2, 1/4, …

    Returns one list of features per scale (finest first); the last item of each is the score map.
    """

    def __init__(
        self,
        input_nc: int,
        ndf: int = 64,
        n_layers: int = 3,
        num_d: int = 3,
        norm_layer: NormLayer = instance_norm,
    ) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            NLayerDiscriminator(input_nc, ndf, n_layers, norm_layer) for _ in range(num_d)
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        for i, discriminator in enumerate(self.discriminators):
            if i > 0:
                x = nn.functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            results.append(discriminator(x))
        return results
