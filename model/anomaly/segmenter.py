"""A small anomaly segmenter: RGB → per-pixel anomaly logit, trained on synthesised pairs.

Every method's data gets the same network, budget (steps × batch of crops) and seed, so the
held-out scores compare the data, not the training. Images are used at 1/``scale`` resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from model.anomaly.synthesis import VOID


@dataclass(frozen=True)
class SegmenterConfig:
    width: int = 24
    steps: int = 300
    batch: int = 8
    crop: int = 128
    lr: float = 2e-3
    scale: int = 4  # images and labels are downscaled by this factor
    seed: int = 0


def build_segmenter(width: int) -> nn.Module:
    """Four 3×3 conv stages with one 2× downsampling and a dilated context stage, then 1×1 to a logit."""
    w = width

    def stage(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, padding=dilation, dilation=dilation),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )

    return nn.Sequential(
        stage(3, w),
        stage(w, 2 * w, stride=2),
        stage(2 * w, 2 * w, dilation=2),
        stage(2 * w, 2 * w, dilation=4),
        nn.Upsample(scale_factor=2.0, mode="bilinear"),
        stage(2 * w, w),
        nn.Conv2d(w, 1, 1),
    )


def downscale(image: np.ndarray, label: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = label.shape
    size = (w // scale, h // scale)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def train_segmenter(images: list[np.ndarray], labels: list[np.ndarray], config: SegmenterConfig) -> nn.Module:
    """Train on (downscaled) images and 0/1/255 labels; crops are biased towards anomalies."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    net = build_segmenter(config.width)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    c = config.crop
    anomaly_pixels = [np.argwhere(lab == 1) for lab in labels]
    net.train()
    for _ in range(config.steps):
        xs, ys = [], []
        for _ in range(config.batch):
            i = int(rng.integers(len(images)))
            h, w = labels[i].shape
            if len(anomaly_pixels[i]) and rng.random() < 0.7:
                cy, cx = anomaly_pixels[i][rng.integers(len(anomaly_pixels[i]))]
            else:
                cy, cx = int(rng.integers(h)), int(rng.integers(w))
            top = int(np.clip(cy - c // 2 + rng.integers(-c // 4, c // 4 + 1), 0, h - c))
            left = int(np.clip(cx - c // 2 + rng.integers(-c // 4, c // 4 + 1), 0, w - c))
            xs.append(images[i][top : top + c, left : left + c])
            ys.append(labels[i][top : top + c, left : left + c])
        x = _tensor(np.stack(xs))
        y = torch.from_numpy(np.stack(ys).astype(np.int64))[:, None]
        logits = net(x)
        valid = (y != VOID).float()
        per_pixel = F.binary_cross_entropy_with_logits(logits, (y == 1).float(), reduction="none")
        loss = (per_pixel * valid).sum() / valid.sum().clamp(min=1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


@torch.inference_mode()
def score_images(net: nn.Module, images: list[np.ndarray]) -> list[np.ndarray]:
    """Per-pixel anomaly probability for each (downscaled) image."""
    out = []
    for image in images:
        h, w = image.shape[:2]
        ph, pw = (-h) % 4, (-w) % 4
        x = F.pad(_tensor(image[None]), (0, pw, 0, ph), mode="replicate")
        out.append(torch.sigmoid(net(x))[0, 0, :h, :w].numpy())
    return out
