"""pix2pixHD's objective: GAN loss (LSGAN or hinge), discriminator feature matching, VGG perceptual loss.

The discriminator returns, per scale, a list of intermediate features whose last item is the
patch score map (see ``model.networks.discriminator``). Every loss here takes that nested list.

The VGG19 network is never downloaded: the user supplies a torchvision-layout ``vgg19`` state dict
(``features.N.weight`` keys), loaded with ``weights_only=True`` into our own feature module.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from model.errors import CheckpointError

log = logging.getLogger(__name__)

Features = list[list[torch.Tensor]]  # per discriminator scale: intermediate features, score map last


class GANLoss(nn.Module):
    """``mode`` "lsgan" (least squares, the paper's choice) or "hinge".

    ``loss(scores, real, for_discriminator)`` averages over the scales of a multi-scale D.
    """

    def __init__(self, mode: str = "lsgan") -> None:
        super().__init__()
        if mode not in ("lsgan", "hinge"):
            raise ValueError(f"unknown GAN loss '{mode}' (expected lsgan or hinge)")
        self.mode = mode

    def forward(self, features: Features, real: bool, for_discriminator: bool = True) -> torch.Tensor:
        losses = [self._one(scale[-1].float(), real, for_discriminator) for scale in features]
        return torch.stack(losses).sum()

    def _one(self, score: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        if self.mode == "lsgan":
            return ((score - (1.0 if real else 0.0)) ** 2).mean()
        if not for_discriminator:  # hinge generator loss: raise the fake score
            return -score.mean()
        return torch.relu(1.0 - score).mean() if real else torch.relu(1.0 + score).mean()


def feature_matching_loss(fake: Features, real: Features) -> torch.Tensor:
    """L1 between D's intermediate features on fake and (detached) real inputs, as in pix2pixHD:
    each layer weighted 4/(n_layers+1), each scale 1/num_D; the score maps are left out."""
    num_d = len(fake)
    total = fake[0][0].new_zeros((), dtype=torch.float32)
    for fake_scale, real_scale in zip(fake, real, strict=True):
        layer_weight = 4.0 / (len(fake_scale) - 1)  # n_layers + 2 stages → 4 / (n_layers + 1)
        for f, r in zip(fake_scale[:-1], real_scale[:-1], strict=True):
            total = total + layer_weight / num_d * nn.functional.l1_loss(f.float(), r.detach().float())
    return total


# ----- VGG19 ------------------------------------------------------------------------------------
VGG19_LAYOUT = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    512,
)
VGG_SLICES = ((0, 2), (2, 7), (7, 12), (12, 21), (21, 30))  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
VGG_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """torchvision's ``vgg19().features`` (same indices, so its state-dict keys load), frozen.

    ``forward`` takes images in [-1, 1] and returns the relu1_1 … relu5_1 activations.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in VGG19_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=True)]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_file(cls, path: str | Path) -> VGG19Features:
        """Load a torchvision ``vgg19`` state dict (classifier keys are ignored)."""
        path = Path(path)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise CheckpointError("VGG19 weights file not found", path) from None
        except Exception as exc:  # noqa: BLE001 - weights_only refusals, zip and EOF errors
            raise CheckpointError(
                f"not a weights-only VGG19 state dict ({exc.__class__.__name__})", path
            ) from None
        if not isinstance(state, dict):
            raise CheckpointError("expected a state dict", path)
        features = {k: v for k, v in state.items() if k.startswith("features.")}
        model = cls()
        try:
            model.load_state_dict(features, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(
                f"not a torchvision vgg19 state dict ({str(exc).splitlines()[0]})", path
            ) from None
        return model

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        x = ((image + 1.0) / 2.0 - self.mean) / self.std
        outputs = []
        for start, stop in VGG_SLICES:
            x = self.features[start:stop](x)
            outputs.append(x)
        return outputs


class VGGLoss(nn.Module):
    """Σ_i w_i · L1(VGG_i(fake), VGG_i(real)) with w = [1/32, 1/16, 1/8, 1/4, 1]."""

    def __init__(self, vgg: VGG19Features) -> None:
        super().__init__()
        self.vgg = vgg

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        fake_features = self.vgg(fake.float())
        with torch.no_grad():
            real_features = self.vgg(real.float())
        pairs = zip(VGG_WEIGHTS, fake_features, real_features, strict=True)
        return sum(
            (w * nn.functional.l1_loss(f, r) for w, f, r in pairs),
            start=fake.new_zeros((), dtype=torch.float32),
        )
