"""Convolution of a small box with many channels as one matrix product.

An incremental pass through the official generator's bottleneck convolves boxes of a few hundred
positions with 1024 → 1024-channel 3×3 kernels. oneDNN's direct convolution is tuned for large
images and runs such boxes at a fraction of the CPU's speed; gathering the k×k taps of each
position into one row (im2col, from the channels-last window without a layout change) and
multiplying by the weight matrix is faster there (figures in docs/rendering.md). For large
boxes or few channels the direct convolution stays faster, so
:func:`prefers_gemm` picks per box.
"""

from __future__ import annotations

import torch

GEMM_MIN_CHANNELS = 512  # input channels from which a small box goes through the matrix product
GEMM_MAX_POSITIONS = 512  # output positions up to which it does


def prefers_gemm(
    in_channels: int, out_height: int, out_width: int, max_positions: int = GEMM_MAX_POSITIONS
) -> bool:
    return in_channels >= GEMM_MIN_CHANNELS and out_height * out_width <= max_positions


def conv2d_gemm(
    window: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int
) -> torch.Tensor:
    """``F.conv2d(window, weight, bias, stride=stride)`` for an already padded N×C×H×W window batch
    and a contiguous O×C×k×k weight; the result is channels-last."""
    out_channels, channels, k, _ = weight.shape
    batch, _, height, width = window.shape
    out_h, out_w = (height - k) // stride + 1, (width - k) // stride + 1
    pixels = window.permute(0, 2, 3, 1)  # N×H×W×C: a view of channels-last memory
    span_y, span_x = stride * (out_h - 1) + 1, stride * (out_w - 1) + 1
    taps = [
        pixels[:, dy : dy + span_y : stride, dx : dx + span_x : stride] for dy in range(k) for dx in range(k)
    ]
    # P×(C·k·k) with the tap index fastest, the order of weight.reshape(O, C·k·k)
    columns = torch.stack(taps, dim=-1).reshape(batch * out_h * out_w, channels * k * k)
    matrix = weight.reshape(out_channels, channels * k * k).t()
    out = torch.addmm(bias, columns, matrix) if bias is not None else columns @ matrix
    return out.view(batch, out_h, out_w, out_channels).permute(0, 3, 1, 2)
