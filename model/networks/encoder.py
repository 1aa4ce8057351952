"""The feature encoder E and instance-wise average pooling.

E is an encoder–decoder (stem, stride-2 convs, up-convs, 7×7 conv, tanh) whose output is averaged
inside every instance, so each object gets one low-dimensional code: its appearance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from model.networks.blocks import NormLayer, down, instance_norm, stem, to_rgb, up


@dataclass(frozen=True)
class EncoderConfig:
    input_nc: int = 3
    feat_num: int = 3
    nef: int = 16
    n_downsampling: int = 4
    # E sees the photo average-pooled this many times (0: full resolution, as in pix2pixHD). Its
    # output is averaged per instance anyway, so a pooled photo gives nearly the same codes for less.
    # Checkpoints written before this field existed recorded it in training.json instead.
    encoder_downsample: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class FeatureEncoder(nn.Module):
    """Keys match pix2pixHD's ``Encoder`` (``model.N``)."""

    def __init__(
        self,
        input_nc: int = 3,
        feat_num: int = 3,
        nef: int = 16,
        n_downsampling: int = 4,
        norm_layer: NormLayer = instance_norm,
    ) -> None:
        super().__init__()
        self.feat_num = feat_num
        layers = stem(input_nc, nef, norm_layer)
        for i in range(n_downsampling):
            layers += down(nef * 2**i, nef * 2 ** (i + 1), norm_layer)
        for i in range(n_downsampling, 0, -1):
            layers += up(nef * 2**i, nef * 2 ** (i - 1), norm_layer)
        layers += to_rgb(nef, feat_num)
        self.model = nn.Sequential(*layers)

    @classmethod
    def from_config(cls, config: EncoderConfig) -> FeatureEncoder:
        return cls(config.input_nc, config.feat_num, config.nef, config.n_downsampling)

    def forward(self, image: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        """N×3×H×W image, N×H×W instance ids → N×F×H×W map, constant inside every instance."""
        return instance_average(self.model(image), instances)


def instance_segments(instances: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Number every (image, instance id) pair: returns (N·H·W segment index, (segments, 2) [n, id]).

    The pair is packed into one int64 key (image · 2^32 + id) so a 1-D sort finds the segments;
    ``torch.unique(dim=0)`` on stacked rows is an order of magnitude slower.
    """
    if instances.dim() == 4:
        instances = instances[:, 0]
    n = instances.shape[0]
    ids = instances.reshape(n, -1).long()
    keys = (torch.arange(n, device=instances.device).view(n, 1) << 32) + ids
    unique, inverse = torch.unique(keys.reshape(-1), return_inverse=True)
    return inverse, torch.stack([unique >> 32, unique & 0xFFFFFFFF], dim=1)


def instance_means(
    features: torch.Tensor, instances: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per (image, instance) segment: (pixel → segment index, S×2 [n, id], S×C mean feature,
    S pixel count)."""
    c = features.shape[1]
    segment, unique = instance_segments(instances)
    flat = features.permute(0, 2, 3, 1).reshape(-1, c)
    sums = torch.zeros(len(unique), c, dtype=features.dtype, device=features.device)
    sums.index_add_(0, segment, flat)
    counts = torch.bincount(segment, minlength=len(unique))
    return segment, unique, sums / counts.to(features.dtype).unsqueeze(1), counts


def _instance_average_numpy(features: torch.Tensor, ids: np.ndarray, low: int, span: int) -> torch.Tensor:
    """Inference on the CPU (``ids``: N×HW instance ids in low..low+span-1). Instance maps are
    piecewise constant, so each image's flattened ids are a few runs per row: each channel is summed
    per run in one sequential pass (``np.add.reduceat``), the runs' sums are binned per (image, id),
    and the means are written back run by run (``np.repeat``). That touches each pixel about three
    times, where binning every pixel of every channel touched it twice per channel."""
    n, c, h, w = features.shape
    planes = features.detach().transpose(0, 1).reshape(c, -1).numpy()
    flat = ids.reshape(-1)
    new_run = np.empty(flat.size, dtype=bool)
    new_run[0] = True
    np.not_equal(flat[1:], flat[:-1], out=new_run[1:])
    new_run[:: h * w] = True  # a run never crosses into the next image
    starts = np.flatnonzero(new_run)
    lengths = np.diff(np.append(starts, flat.size))
    run_sums = np.add.reduceat(planes, starts, axis=1)  # C × runs
    run_bins = flat[starts] - low + (starts // (h * w)) * span  # (image, id) bins
    bins = n * span
    counts = np.maximum(np.bincount(run_bins, weights=lengths, minlength=bins), 1)
    means = np.stack([np.bincount(run_bins, weights=run_sums[k], minlength=bins) for k in range(c)]) / counts
    out = np.repeat(means[:, run_bins].astype(planes.dtype), lengths, axis=1)
    return torch.from_numpy(out).reshape(c, n, h, w).transpose(0, 1)


def instance_average(features: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """Replace each pixel's features by the mean over its instance (per image), vectorised.

    Instance ids span a small range (Cityscapes: below 34,000), so each (image, id) pair indexes
    a bin directly and a bincount-style sum needs no sort; ids spread too wide for that go through
    :func:`instance_means` (a sort by ``torch.unique``)."""
    n, c, h, w = features.shape
    if instances.dim() == 4:
        instances = instances[:, 0]
    ids = instances.reshape(n, -1).long()
    inference_on_cpu = features.device.type == "cpu" and not (
        torch.is_grad_enabled() and features.requires_grad
    )
    if inference_on_cpu:  # NumPy's min and max run several times faster than torch.aminmax on int64
        ids_np = ids.numpy()
        low, high = int(ids_np.min()), int(ids_np.max())
    else:
        low, high = (int(v) for v in torch.aminmax(ids))
    span = high - low + 1
    if n * span > max(1 << 16, 4 * ids.numel()):
        segment, _, means, _ = instance_means(features, instances)
        return means[segment].reshape(n, h, w, c).permute(0, 3, 1, 2)
    if inference_on_cpu:
        return _instance_average_numpy(features, ids_np, low, span)
    offsets = torch.arange(n, device=ids.device).view(n, 1) * span
    segment = (ids - low + offsets).reshape(-1)
    counts = torch.bincount(segment, minlength=n * span).clamp_(min=1).to(features.dtype)
    sums = torch.zeros(n * span, c, dtype=features.dtype, device=features.device)
    sums.index_add_(0, segment, features.permute(0, 2, 3, 1).reshape(-1, c))
    return (sums / counts.unsqueeze(1))[segment].reshape(n, h, w, c).permute(0, 3, 1, 2)
