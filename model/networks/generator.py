"""Coarse-to-fine generator: GlobalGenerator (G1) and LocalEnhancer (G2, any number of levels).

The module layout reproduces pix2pixHD's state-dict keys exactly, so official weights load
unchanged: ``model.N`` for the global part, ``model{n}_1`` (front-end) and ``model{n}_2``
(residual blocks + up-sampling) for enhancer level n.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from model.networks.blocks import (
    UPSAMPLERS,
    NormLayer,
    ResnetBlock,
    Upsampler,
    down,
    instance_norm,
    stem,
    to_rgb,
    up,
)


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to rebuild a generator; saved in checkpoints."""

    input_nc: int  # one-hot classes + edge channel + feature channels + noise channels
    output_nc: int = 3
    ngf: int = 64  # filters of the finest level's first conv
    n_downsample_global: int = 4
    n_blocks_global: int = 9
    n_local_enhancers: int = 0  # 0 = plain GlobalGenerator ("global"); ≥1 = LocalEnhancer ("local")
    n_blocks_local: int = 3
    upsampler: Upsampler = "transposed"  # official weights: transposed; "resize_conv" has no checkerboard
    noise_nc: int = 0  # the last input channels are Gaussian noise (model.noise); official weights: 0

    def __post_init__(self) -> None:
        if self.upsampler not in UPSAMPLERS:
            raise ValueError(f"unknown upsampler {self.upsampler!r} (choose from {', '.join(UPSAMPLERS)})")
        if not 0 <= self.noise_nc < self.input_nc:
            raise ValueError(f"noise_nc {self.noise_nc} must be in [0, input_nc {self.input_nc})")

    @property
    def stride(self) -> int:
        """Input sides must be multiples of this."""
        return 2 ** (self.n_downsample_global + self.n_local_enhancers)

    def to_dict(self) -> dict:
        return asdict(self)


class GlobalGenerator(nn.Module):
    """G1: stem, ``n_downsampling`` stride-2 convs, ``n_blocks`` ResNet blocks, as many up-convs, to RGB."""

    def __init__(
        self,
        input_nc: int,
        output_nc: int = 3,
        ngf: int = 64,
        n_downsampling: int = 3,
        n_blocks: int = 9,
        norm_layer: NormLayer = instance_norm,
        with_output_layer: bool = True,
        upsampler: Upsampler = "transposed",
    ) -> None:
        super().__init__()
        layers = stem(input_nc, ngf, norm_layer)
        for i in range(n_downsampling):
            layers += down(ngf * 2**i, ngf * 2 ** (i + 1), norm_layer)
        bottleneck = ngf * 2**n_downsampling
        layers += [ResnetBlock(bottleneck, norm_layer) for _ in range(n_blocks)]
        for i in range(n_downsampling, 0, -1):
            layers += up(ngf * 2**i, ngf * 2 ** (i - 1), norm_layer, upsampler)
        if with_output_layer:
            layers += to_rgb(ngf, output_nc)
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def downsample_input(x: torch.Tensor, times: int = 1) -> torch.Tensor:
    """The enhancer's input pyramid step, ``times`` over: AvgPool(3, stride 2, padding 1,
    count_include_pad=False)."""
    for _ in range(times):
        x = nn.functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
    return x


class LocalEnhancer(nn.Module):
    """G2: a global generator at 2^-n resolution (built with ngf·2^n, output layers dropped),
    wrapped by n enhancer levels. Level n computes ``model{n}_2(model{n}_1(x_n) + coarser)``."""

    def __init__(
        self,
        input_nc: int,
        output_nc: int = 3,
        ngf: int = 32,
        n_downsample_global: int = 3,
        n_blocks_global: int = 9,
        n_local_enhancers: int = 1,
        n_blocks_local: int = 3,
        norm_layer: NormLayer = instance_norm,
        upsampler: Upsampler = "transposed",
    ) -> None:
        super().__init__()
        if n_local_enhancers < 1:
            raise ValueError("a LocalEnhancer needs at least one enhancer level")
        self.n_local_enhancers = n_local_enhancers
        global_ngf = ngf * 2**n_local_enhancers
        self.model = GlobalGenerator(
            input_nc,
            output_nc,
            global_ngf,
            n_downsample_global,
            n_blocks_global,
            norm_layer,
            with_output_layer=False,
            upsampler=upsampler,
        ).model
        for n in range(1, n_local_enhancers + 1):
            level_ngf = ngf * 2 ** (n_local_enhancers - n)
            front = stem(input_nc, level_ngf, norm_layer) + down(level_ngf, level_ngf * 2, norm_layer)
            back: list[nn.Module] = [ResnetBlock(level_ngf * 2, norm_layer) for _ in range(n_blocks_local)]
            back += up(level_ngf * 2, level_ngf, norm_layer, upsampler)
            if n == n_local_enhancers:
                back += to_rgb(ngf, output_nc)
            self.add_module(f"model{n}_1", nn.Sequential(*front))
            self.add_module(f"model{n}_2", nn.Sequential(*back))

    def enhancer(self, n: int) -> tuple[nn.Sequential, nn.Sequential]:
        """(front-end, back-end) of enhancer level n (1 = coarsest)."""
        return getattr(self, f"model{n}_1"), getattr(self, f"model{n}_2")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pyramid = [x]
        for _ in range(self.n_local_enhancers):
            pyramid.append(downsample_input(pyramid[-1]))
        out = self.model(pyramid[-1])
        for n in range(1, self.n_local_enhancers + 1):
            front, back = self.enhancer(n)
            out = back(front(pyramid[self.n_local_enhancers - n]) + out)
        return out


def build_generator(config: GeneratorConfig) -> GlobalGenerator | LocalEnhancer:
    if config.n_local_enhancers == 0:
        return GlobalGenerator(
            config.input_nc,
            config.output_nc,
            config.ngf,
            config.n_downsample_global,
            config.n_blocks_global,
            upsampler=config.upsampler,
        )
    return LocalEnhancer(
        config.input_nc,
        config.output_nc,
        config.ngf,
        config.n_downsample_global,
        config.n_blocks_global,
        config.n_local_enhancers,
        config.n_blocks_local,
        upsampler=config.upsampler,
    )
