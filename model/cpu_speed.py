"""How fast this CPU runs a network's own convolutions in float32 and in bfloat16.

bf16 convolutions run about twice as fast as float32 on CPUs with AVX-512 BF16 or AMX and many
times slower on CPUs without them, so every bf16 decision (renders: ``model.render.precision``;
training: ``run.cpu_bf16``) is taken by timing a few of the model's own layer shapes, never by
assuming. This module has no renderer or trainer dependencies so that both can use it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

log = logging.getLogger(__name__)

MIN_SPEEDUP = 1.3  # bf16 must be this much faster than fp32 to be worth its rounding


def conv_shapes(model: nn.Module, limit: int = 4) -> list[tuple[int, int, int]]:
    """(in channels, out channels, kernel) of the model's most expensive-looking convs, distinct."""
    shapes: dict[tuple[int, int, int], int] = {}
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            k = module.kernel_size[0]
            key = (module.in_channels, module.out_channels, k)
            shapes[key] = shapes.get(key, 0) + module.in_channels * module.out_channels * k * k
    return sorted(shapes, key=lambda key: -shapes[key])[:limit]


def time_convs(
    shapes: Sequence[tuple[int, int, int]],
    dtype: torch.dtype,
    size: tuple[int, int] = (128, 256),
    repeats: int = 3,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Best-of-``repeats`` milliseconds to run one conv of each shape on a ``size`` map in ``dtype``.
    The caller's random state is left as it was (a trainer times G between seeding and building D)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        layers = [
            nn.Conv2d(cin, cout, k, padding=k // 2).to(dtype=dtype, memory_format=torch.channels_last)  # type: ignore[call-overload]
            for cin, cout, k in shapes
        ]
        inputs = [
            torch.randn(1, cin, *size).to(dtype=dtype, memory_format=torch.channels_last)
            for cin, _cout, _k in shapes
        ]
    best = float("inf")
    with torch.inference_mode():
        for layer, x in zip(layers, inputs, strict=True):  # warm-up: first calls pick kernels
            layer(x)
        for _ in range(repeats):
            start = clock()
            for layer, x in zip(layers, inputs, strict=True):
                layer(x)
            best = min(best, clock() - start)
    return best * 1000.0


def bf16_speedup(model: nn.Module) -> tuple[float, float]:
    """(fp32 ms, bf16 ms) for one conv of each of the model's most expensive shapes."""
    shapes = conv_shapes(model)
    return time_convs(shapes, torch.float32), time_convs(shapes, torch.bfloat16)


def bf16_training_pays(model: nn.Module, setting: str) -> bool:
    """Whether this CPU runs the model's own conv shapes at least MIN_SPEEDUP× faster in bf16, for
    a trainer's bf16 autocast ``setting`` (named in the log line either way)."""
    fp32_ms, bf16_ms = bf16_speedup(model)
    speedup = fp32_ms / bf16_ms if bf16_ms > 0 else 0.0
    if speedup < MIN_SPEEDUP:
        log.warning(
            "%s: bf16 convs only %.2f× the float32 speed on this CPU (needs %.1f×): training in float32",
            setting,
            speedup,
            MIN_SPEEDUP,
        )
        return False
    log.info("%s: bf16 autocast (the model's convs %.2f× faster than float32 here)", setting, speedup)
    return True
