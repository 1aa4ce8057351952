"""A generator flattened into a list of region-computable layers.

The incremental renderer cannot run ``nn.Sequential`` on a crop: reflection padding, stride-2
convs, transposed convs, the input pyramid and the residual / enhancer sums all behave differently
at a crop's border than at the image's border. So the generator is rewritten once into ``Layer``
records, each "conv (+ InstanceNorm) (+ activation) (+ skip tensor)" or "3×3/2 average pool",
that read one tensor and write another. Every layer knows how to compute any output box of its
tensor from a padded input window (see ``model/render/executor.py``).

Tensor 0 is the network input (full resolution). Tensor ids grow in execution order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal, cast

import torch
from torch import nn

from model.errors import EditorError
from model.networks.blocks import ResizeConv, ResnetBlock
from model.networks.generator import GlobalGenerator, LocalEnhancer

log = logging.getLogger(__name__)

LayerKind = Literal["conv", "convT", "pool"]
PadMode = Literal["reflect", "zeros"]
Activation = Literal["relu", "tanh"] | None


class UnsupportedGeneratorError(EditorError):
    """The generator holds a layer the region-wise renderer does not know how to crop."""


@dataclass(frozen=True)
class NormSpec:
    """An InstanceNorm after a conv: eps and optional affine parameters."""

    eps: float
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None


@dataclass(frozen=True)
class TensorSpec:
    id: int
    name: str
    channels: int
    scale: int  # this tensor's side = input side // scale
    is_input_like: bool = False  # one-hot input or its pyramid: mostly-zero channels


@dataclass(frozen=True)
class Layer:
    """dst = act(norm(op(pad(src)))) + skip.  ``op`` is a conv, a transposed conv or an average pool."""

    name: str
    kind: LayerKind
    src: int
    dst: int
    kernel: int
    stride: int
    pad: int
    pad_mode: PadMode
    weight: torch.Tensor | None = field(default=None, repr=False)
    bias: torch.Tensor | None = field(default=None, repr=False)
    norm: NormSpec | None = None
    act: Activation = None
    skip: int | None = None

    @property
    def index(self) -> int:
        return self.dst  # one layer writes each tensor


@dataclass
class Plan:
    tensors: list[TensorSpec]
    layers: list[Layer]

    finest: set[int] = field(default_factory=set)  # dst of the finest enhancer level's layers (LocalEnhancer)

    @property
    def output(self) -> int:
        return self.layers[-1].dst

    def readers(self, tensor: int) -> list[Layer]:
        return [layer for layer in self.layers if layer.src == tensor or layer.skip == tensor]


class _Builder:
    def __init__(self, input_nc: int) -> None:
        self.tensors = [TensorSpec(0, "input", input_nc, 1, True)]
        self.layers: list[Layer] = []

    def new_tensor(self, name: str, channels: int, scale: int, input_like: bool = False) -> int:
        spec = TensorSpec(len(self.tensors), name, channels, scale, input_like)
        self.tensors.append(spec)
        return spec.id

    def pool(self, src: int, name: str) -> int:
        spec = self.tensors[src]
        dst = self.new_tensor(name, spec.channels, spec.scale * 2, spec.is_input_like)
        self.layers.append(Layer(name, "pool", src, dst, 3, 2, 1, "zeros"))
        return dst

    def sequence(
        self, modules: nn.Sequential | list[nn.Module], src: int, name: str, final_skip: int | None = None
    ) -> int:
        """Turn a run of pad/conv/norm/act/ResnetBlock modules into layers; return the output tensor."""
        items = list(modules)
        pending_pad = 0
        current = src
        pending: dict | None = None  # the layer being assembled

        def flush() -> None:
            nonlocal pending, current
            if pending is None:
                return
            spec = self.tensors[pending["src"]]
            scale = (
                spec.scale * 2
                if pending["kind"] == "conv" and pending["stride"] == 2
                else (spec.scale // 2 if pending["kind"] == "convT" else spec.scale)
            )
            dst = self.new_tensor(
                pending["name"], pending["weight"].shape[0 if pending["kind"] == "conv" else 1], scale
            )
            self.layers.append(Layer(dst=dst, **pending))
            current = dst
            pending = None

        for index, module in enumerate(items):
            label = f"{name}.{index}"
            if isinstance(module, nn.ReflectionPad2d):
                flush()
                pad = module.padding
                if len(set(pad)) != 1:
                    raise UnsupportedGeneratorError(f"{label}: asymmetric reflection padding {pad}")
                pending_pad = int(pad[0])
            elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, ResizeConv)):
                flush()
                conv = module.as_transposed() if isinstance(module, ResizeConv) else module
                pending = self._conv(conv, current, label, pending_pad)
                pending_pad = 0
            elif isinstance(module, nn.InstanceNorm2d):
                if pending is None or pending["norm"] is not None or pending["act"] is not None:
                    raise UnsupportedGeneratorError(f"{label}: InstanceNorm not directly after a conv")
                if module.track_running_stats:
                    raise UnsupportedGeneratorError(f"{label}: InstanceNorm with running stats")
                pending["norm"] = NormSpec(
                    float(module.eps),
                    module.weight.detach().clone() if module.affine else None,
                    module.bias.detach().clone() if module.affine else None,
                )
            elif isinstance(module, (nn.ReLU, nn.Tanh)):
                if pending is None or pending["act"] is not None:
                    raise UnsupportedGeneratorError(f"{label}: activation not after a conv")
                pending["act"] = "relu" if isinstance(module, nn.ReLU) else "tanh"
            elif isinstance(module, ResnetBlock):
                flush()
                current = self.sequence(module.conv_block, current, f"{label}.conv_block", final_skip=current)
            elif isinstance(module, nn.Sequential):
                flush()
                current = self.sequence(module, current, label)
            else:
                raise UnsupportedGeneratorError(f"{label}: unsupported layer {type(module).__name__}")
        if pending is not None and final_skip is not None:
            pending["skip"] = final_skip
        flush()
        if final_skip is not None and self.layers[-1].skip != final_skip:
            raise UnsupportedGeneratorError(f"{name}: a residual sum needs a conv as the last layer")
        return current

    @staticmethod
    def _conv(module: nn.Conv2d | nn.ConvTranspose2d, src: int, label: str, reflect_pad: int) -> dict:
        k = module.kernel_size
        s = module.stride
        if k[0] != k[1] or s[0] != s[1] or module.groups != 1 or tuple(module.dilation) != (1, 1):
            raise UnsupportedGeneratorError(f"{label}: only square, ungrouped, undilated convs are supported")
        padding = module.padding if isinstance(module.padding, tuple) else (module.padding, module.padding)
        if isinstance(module, nn.ConvTranspose2d):
            kind: LayerKind = "convT"
            # both double the size exactly: pix2pixHD's 3×3 (output_padding 1), and the 4×4 of a
            # resize-conv (model.networks.blocks.ResizeConv)
            shape = (k[0], s[0], padding[0], module.output_padding[0])
            if shape not in ((3, 2, 1, 1), (4, 2, 1, 0)):
                raise UnsupportedGeneratorError(
                    f"{label}: only 3×3/2 transposed convs with output_padding 1 or 4×4/2 with padding 1"
                )
            pad, mode = 1, "zeros"
        else:
            kind = "conv"
            if padding[0] != padding[1] or (reflect_pad and padding[0]):
                raise UnsupportedGeneratorError(f"{label}: unsupported padding")
            if module.padding_mode not in ("zeros", "reflect"):
                raise UnsupportedGeneratorError(f"{label}: padding mode {module.padding_mode}")
            pad = reflect_pad or int(padding[0])
            mode = "reflect" if reflect_pad or module.padding_mode == "reflect" else "zeros"
        # views of the generator's own tensors, not copies: a released generator's weights are
        # 0.7 GB, and nothing writes to them while a plan is in use
        bias = module.bias.detach() if module.bias is not None else None
        return {
            "name": label,
            "kind": kind,
            "src": src,
            "kernel": int(k[0]),
            "stride": int(s[0]),
            "pad": pad,
            "pad_mode": mode,
            "weight": module.weight.detach(),
            "bias": bias,
            "norm": None,
            "act": None,
            "skip": None,
        }


def build_plan(generator: nn.Module) -> Plan:
    """Flatten a GlobalGenerator or LocalEnhancer into layers (their weights are views of the generator's)."""
    if isinstance(generator, LocalEnhancer):
        first = generator.model[1]
        builder = _Builder(cast(nn.Conv2d, first).in_channels)
        levels = generator.n_local_enhancers
        pyramid = [0]
        for level in range(1, levels + 1):
            pyramid.append(builder.pool(pyramid[-1], f"pyramid.{level}"))
        out = builder.sequence(generator.model, pyramid[levels], "model")
        for n in range(1, levels + 1):
            front, back = generator.enhancer(n)
            summed = builder.sequence(front, pyramid[levels - n], f"model{n}_1", final_skip=out)
            out = builder.sequence(back, summed, f"model{n}_2")
    elif isinstance(generator, GlobalGenerator):
        builder = _Builder(cast(nn.Conv2d, generator.model[1]).in_channels)
        builder.sequence(generator.model, 0, "model")
    else:
        raise UnsupportedGeneratorError(f"not a pix2pixHD generator: {type(generator).__name__}")
    plan = Plan(builder.tensors, builder.layers)
    if isinstance(generator, LocalEnhancer):
        prefix = f"model{generator.n_local_enhancers}_"
        plan.finest = {layer.dst for layer in plan.layers if layer.name.startswith(prefix)}
    log.debug("plan: %d layers, %d tensors", len(plan.layers), len(plan.tensors))
    return plan
