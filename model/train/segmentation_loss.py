"""OASIS's objective for a segmentation discriminator (Schönfeld et al., ICLR 2021).

- D learns to label real pixels with their semantic class and generated pixels as "fake":
  a class-balanced cross-entropy over the real pixels plus a plain cross-entropy over the fake ones.
- G learns to make D label its pixels with their semantic class: the class-balanced cross-entropy.
- Class balance: a pixel of class c weighs ``P / (K · n_c)``, with P the batch's pixels, n_c
  those of class c and K the classes present, so every present class carries the same total
  weight and the mean weight is 1. Small classes (people, poles, signs) then count as much as road.
- LabelMix (optional): real and fake are mixed by a random binary mask made of whole classes; D's
  logits on the mix must equal the same mix of its logits on real and fake (an L2 penalty), which
  makes D look at the content of each class region rather than at the seams between them.
"""

from __future__ import annotations

import torch
from torch import nn

from model.networks.segmentation_discriminator import FAKE_CLASS


def class_balance_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B, H, W) class ids → (B, H, W) weights P / (K · n_c) of each pixel's class c."""
    counts = torch.bincount(labels.reshape(-1), minlength=num_classes).float()
    present = int((counts > 0).sum())
    coefficients = torch.where(
        counts > 0, labels.numel() / (present * counts.clamp(min=1)), torch.zeros_like(counts)
    )
    return coefficients[labels]


def discriminator_loss(
    logits_real: torch.Tensor, logits_fake: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(real term, fake term): real pixels → their class (channel c + 1, class-balanced); fake → 0."""
    real = nn.functional.cross_entropy(logits_real.float(), labels + 1, reduction="none")
    fake_target = torch.full_like(labels, FAKE_CLASS)
    fake = nn.functional.cross_entropy(logits_fake.float(), fake_target)
    return (real * weights).mean(), fake


def generator_loss(logits_fake: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Class-balanced cross-entropy of D's logits on G's image against the semantic classes."""
    per_pixel = nn.functional.cross_entropy(logits_fake.float(), labels + 1, reduction="none")
    return (per_pixel * weights).mean()


def labelmix_mask(labels: torch.Tensor, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """(B, 1, H, W) float mask: each class of each image is wholly 1 (take the real photo) or 0."""
    table = torch.randint(2, (labels.shape[0], num_classes), generator=generator).to(labels.device)
    picked = torch.gather(table, 1, labels.reshape(labels.shape[0], -1)).reshape(labels.shape)
    return picked.unsqueeze(1).float()


def mix(mask: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return mask * real + (1.0 - mask) * fake


def labelmix_loss(
    logits_mixed: torch.Tensor, logits_real: torch.Tensor, logits_fake: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """L2 between D's logits on the mixed image and the same mix of its logits on real and fake."""
    target = mix(mask, logits_real.float(), logits_fake.float())
    return nn.functional.mse_loss(logits_mixed.float(), target)
