"""Teach the feature encoder E to carry every instance's colour in its codes (``fit-encoder``).

pix2pixHD trains E only through G's reconstruction, so nothing asks its 3 numbers per instance to
say what colour the object is: E can learn a code that is mostly one axis (brightness), and k-means
then finds light and dark cars but no red or blue ones (docs/training-history.md, "The encoder's
codes", has the measurements).

This step fits E alone, with G untouched, to minimise ``linear_fit_error``: the L1 error of the
affine map from instance codes to instance mean colours, solved afresh on every batch. After it,
the codes span colour, the clusters become palettes (red, blue, silver cars), and G must be
fine-tuned on the new codes (``train --set schedule.init_weights=…``). Training with
``loss.lambda_code_colour`` asks the same of E from the first step instead.

The photos are pooled to E's resolution once, up front, so a step costs one small E pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from model.data.folders import PairedDataset, photo_tensor
from model.features import instance_colours, linear_fit_error, pooled_instances, raw_instance_codes
from model.networks.encoder import FeatureEncoder
from model.networks.generator import downsample_input

log = logging.getLogger(__name__)


@dataclass
class EncoderFitConfig:
    steps: int = 300
    batch_size: int = 4
    lr: float = 1e-3
    seed: int = 0


@dataclass
class PooledPhotos:
    """Every training photo at E's resolution, with its instance ids subsampled to match."""

    images: torch.Tensor  # N×3×h×w in [-1, 1]
    instances: torch.Tensor  # N×h×w int64


def pool_dataset(dataset: PairedDataset, downsample: int, progress: bool = False) -> PooledPhotos:
    images, instances = [], []
    for i in tqdm(range(len(dataset)), desc="pooling photos", unit="photo", disable=not progress):
        _, inst, img = dataset.load_arrays(i)
        image = downsample_input(photo_tensor(img)[None], downsample)
        images.append(image[0])
        instances.append(pooled_instances(torch.from_numpy(inst.astype(np.int64))[None], downsample)[0])
    sizes = {tuple(image.shape) for image in images}
    if len(sizes) > 1:
        raise ValueError(f"the photos differ in size ({sorted(sizes)[:2]} …); fit-encoder needs one size")
    return PooledPhotos(torch.stack(images), torch.stack(instances))


def colour_error(encoder: FeatureEncoder, photos: PooledPhotos, batch_size: int = 8) -> float:
    """Mean ``linear_fit_error`` over the photos in batches (no gradients)."""
    errors = []
    with torch.inference_mode():
        for start in range(0, len(photos.images), batch_size):
            image = photos.images[start : start + batch_size]
            inst = photos.instances[start : start + batch_size]
            _, codes, _ = raw_instance_codes(encoder, image, inst)
            errors.append(float(linear_fit_error(codes.float(), instance_colours(image, inst).float())))
    return float(np.mean(errors))


def fit_encoder(
    encoder: FeatureEncoder, photos: PooledPhotos, config: EncoderFitConfig, progress: bool = False
) -> list[float]:
    """Adam on E's weights; returns the per-step colour error. Batches are drawn with ``config.seed``."""
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.Adam(encoder.parameters(), lr=config.lr, betas=(0.5, 0.999))
    encoder.train()
    losses = []
    bar = tqdm(range(config.steps), desc="fitting E", unit="step", disable=not progress)
    for _ in bar:
        pick = torch.randint(len(photos.images), (config.batch_size,), generator=generator)
        image, inst = photos.images[pick], photos.instances[pick]
        _, codes, _ = raw_instance_codes(encoder, image, inst)
        loss = linear_fit_error(codes, instance_colours(image, inst))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(colour_error=f"{np.mean(losses[-20:]):.4f}")
    encoder.eval()
    log.info("fitted E for %d steps: colour error %.4f over the last 20", config.steps, np.mean(losses[-20:]))
    return losses
