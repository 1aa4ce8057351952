"""A small fully convolutional segmenter, the judge of the evaluation protocol.

pix2pixHD scores a generator by running an off-the-shelf segmentation network on its outputs. We
have no such network for procedural scenes, so ``evaluate`` trains this one on real procedural
photos at a reduced resolution (a few minutes on a CPU) and compares its mIoU on real and generated
images of held-out scenes.
"""
from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)


def conv_bn(in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class Segmenter(nn.Module):
    """Encoder to 1/8 resolution with dilated context, a skip from 1/2, bilinear upsampling."""

    def __init__(self, num_classes: int, width: int = 32) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(conv_bn(3, w, 2), conv_bn(w, w))  # 1/2
        self.body = nn.Sequential(
            conv_bn(w, 2 * w, 2), conv_bn(2 * w, 2 * w),  # 1/4
            conv_bn(2 * w, 4 * w, 2), conv_bn(4 * w, 4 * w),  # 1/8
            conv_bn(4 * w, 4 * w, dilation=2), conv_bn(4 * w, 4 * w, dilation=4),
        )
        self.fuse = nn.Sequential(conv_bn(4 * w + w, 2 * w), nn.Conv2d(2 * w, num_classes, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skip = self.stem(image)
        deep = nn.functional.interpolate(self.body(skip), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        logits = self.fuse(torch.cat([deep, skip], 1))
        return nn.functional.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)


def train_segmenter(
    images: torch.Tensor, targets: torch.Tensor, num_classes: int, steps: int = 600, batch_size: int = 8,
    lr: float = 2e-3, seed: int = 0, ignore_index: int = -1,
) -> Segmenter:
    """images N×3×H×W in [-1, 1], targets N×H×W contiguous class indices (``ignore_index`` = skip)."""
    torch.manual_seed(seed)
    model = Segmenter(num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 1), pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for step in range(steps):
        index = torch.randint(len(images), (min(batch_size, len(images)),), generator=gen)
        x, y = images[index], targets[index]
        if torch.rand((), generator=gen) < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        loss = nn.functional.cross_entropy(model(x), y, ignore_index=ignore_index)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == steps - 1:
            log.info("segmenter step %d/%d: loss %.3f", step + 1, steps, loss.item())
    return model.eval()


@torch.inference_mode()
def predict(model: Segmenter, images: torch.Tensor, batch_size: int = 8) -> torch.Tensor:
    return torch.cat([model(images[i:i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])


def confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int = -1) -> np.ndarray:
    """num_classes×num_classes counts [target, prediction], vectorised with bincount."""
    keep = target != ignore_index
    codes = target[keep].long() * num_classes + pred[keep].long()
    return torch.bincount(codes, minlength=num_classes * num_classes).reshape(num_classes, num_classes).numpy()


def scene_confusions(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int = -1) -> np.ndarray:
    """N×num_classes×num_classes: ``confusion`` of each image of an N×H×W batch, in one bincount."""
    keep = target != ignore_index
    scene = torch.arange(len(target)).view(-1, 1, 1).expand_as(target)[keep]
    cells = num_classes * num_classes
    codes = scene * cells + target[keep].long() * num_classes + pred[keep].long()
    counts = torch.bincount(codes, minlength=len(target) * cells)
    return counts.reshape(len(target), num_classes, num_classes).numpy()


def bootstrap_ratio(real: np.ndarray, generated: np.ndarray, draws: int = 1000, seed: int = 0,
                    level: float = 0.95) -> tuple[float, float]:
    """Interval of mIoU(generated) / mIoU(real) when the scenes are resampled with replacement.

    ``real`` and ``generated`` are N×C×C per-scene confusions of the same N scenes; each draw sums
    one resample of both. Returns the central ``level`` interval of the ratio over ``draws``."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(real), size=(draws, len(real)))
    weights = (picks[:, :, None] == np.arange(len(real))).sum(1).astype(np.float64)  # draws×N multiplicities
    ratios = (batched_mean_iou(np.einsum("bs,scd->bcd", weights, generated))
              / batched_mean_iou(np.einsum("bs,scd->bcd", weights, real)))
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


def iou_per_class(matrix: np.ndarray) -> np.ndarray:
    """IoU of every class (NaN where a class is absent from both targets and predictions)."""
    tp = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def batched_mean_iou(matrices: np.ndarray) -> np.ndarray:
    """``mean_iou`` of each of B×C×C confusions, vectorised: B values."""
    tp = np.diagonal(matrices, axis1=1, axis2=2)
    present = matrices.sum(2) > 0
    union = matrices.sum(1) + matrices.sum(2) - tp
    iou = np.where(present, tp / np.maximum(union, 1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return iou.sum(1) / present.sum(1)


def mean_iou(matrix: np.ndarray) -> float:
    """Mean IoU over the classes present in the targets."""
    present = matrix.sum(1) > 0
    return float(np.nanmean(iou_per_class(matrix)[present])) if present.any() else float("nan")
