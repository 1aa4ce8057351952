"""Instance features: encode images per instance, and cluster the codes per class into styles.

Training and clustering share ``encoder_features``: the encoder E may run on the image average-pooled
``downsample`` times (cheaper on a CPU); its output is averaged per instance at that resolution and
each full-resolution pixel receives its instance's mean, looked up by instance id.

``encode_dataset`` + ``cluster_features`` implement pix2pixHD's ``encode_features``: every instance
of the training set gives one code (its mean E output), and scikit-learn's k-means finds up to k
centres per class; they are saved as ``clusters.npz``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from model.labels import INSTANCE_FACTOR
from model.networks.encoder import FeatureEncoder, instance_means
from model.networks.generator import downsample_input

log = logging.getLogger(__name__)

KEY_STRIDE = 1 << 32  # packs (batch index, instance id) into one sortable int64


def pooled_instances(instances: torch.Tensor, downsample: int) -> torch.Tensor:
    """N×H×W instance ids subsampled to the size of an input average-pooled ``downsample`` times."""
    for _ in range(downsample):
        instances = instances[:, ::2, ::2]
    return instances


def raw_instance_codes(
    encoder: FeatureEncoder, image: torch.Tensor, instances: torch.Tensor, downsample: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """E at 2^-downsample resolution, pooled per instance: (S×2 [n, id] sorted, S×F means, S pixel counts)."""
    image = downsample_input(image, downsample)
    small = pooled_instances(instances.long(), downsample)
    _, unique, means, counts = instance_means(encoder.model(image), small)
    return unique, means, counts


def encoder_features(
    encoder: nn.Module, image: torch.Tensor, instances: torch.Tensor, downsample: int = 0
) -> torch.Tensor:
    """N×3×H×W image, N×H×W instance ids → N×F×H×W map holding each instance's mean code.

    Instances too small to survive the subsampling get a zero code.
    """
    instances = instances.long()
    unique, means, _ = raw_instance_codes(encoder, image, instances, downsample)  # type: ignore[arg-type]
    return codes_per_pixel(unique, means, instances)


def codes_per_pixel(unique: torch.Tensor, means: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
    """S×2 [n, id] segments (sorted) with S×F codes, N×H×W instance ids → N×F×H×W map of each
    pixel's instance code (zero where an instance has none)."""
    n, h, w = instances.shape
    keys = unique[:, 0] * KEY_STRIDE + unique[:, 1]  # ascending: torch.unique sorts rows
    batch = torch.arange(n, device=instances.device).view(n, 1, 1)
    pixel_keys = (batch * KEY_STRIDE + instances).reshape(-1)
    pos = torch.searchsorted(keys, pixel_keys).clamp_(max=len(keys) - 1)
    found = (keys[pos] == pixel_keys).unsqueeze(1).to(means.dtype)
    per_pixel = means[pos] * found
    return per_pixel.reshape(n, h, w, -1).permute(0, 3, 1, 2)


def instance_colours(image: torch.Tensor, instances: torch.Tensor, downsample: int = 0) -> torch.Tensor:
    """S×3 mean colour of every instance, at E's resolution and in ``raw_instance_codes``' order."""
    image = downsample_input(image, downsample)
    _, _, means, _ = instance_means(image, pooled_instances(instances.long(), downsample))
    return means


def linear_fit_error(codes: torch.Tensor, colours: torch.Tensor, ridge: float = 1e-3) -> torch.Tensor:
    """Mean L1 error of the least-squares affine map from S×F ``codes`` to S×3 ``colours``.

    The map is solved afresh on every batch (ridge-regularised normal equations), so there is no
    read-out to train: the error says how much colour the codes carry, and its gradient reaches
    E through the solution."""
    design = torch.cat([codes, torch.ones_like(codes[:, :1])], 1)
    gram = design.T @ design + ridge * torch.eye(design.shape[1], dtype=design.dtype, device=design.device)
    weights = torch.linalg.solve(gram, design.T @ colours)
    return nn.functional.l1_loss(design @ weights, colours)


# ----- clustering -------------------------------------------------------------------------------
def class_of_ids(ids: torch.Tensor) -> torch.Tensor:
    return torch.where(ids >= INSTANCE_FACTOR, torch.div(ids, INSTANCE_FACTOR, rounding_mode="floor"), ids)


@torch.inference_mode()
def encode_dataset(
    encoder: FeatureEncoder,
    batches: Iterable[Mapping[str, torch.Tensor]],
    downsample: int = 0,
    min_pixels: int = 1,
    device: torch.device | str = "cpu",
) -> dict[int, np.ndarray]:
    """Every instance's mean code, grouped by class: {class id: M×F}. Instances smaller than
    ``min_pixels`` (at the encoder's resolution) are skipped."""
    encoder = encoder.to(device).eval()
    classes, codes = [], []
    for batch in batches:
        image = batch["image"].to(device)
        instances = batch["inst"].to(device).long()
        if image.dim() == 3:
            image, instances = image[None], instances[None]
        unique, means, counts = raw_instance_codes(encoder, image, instances, downsample)
        keep = counts >= min_pixels
        classes.append(class_of_ids(unique[keep, 1]).cpu())
        codes.append(means[keep].float().cpu())
    if not codes:
        return {}
    all_classes = torch.cat(classes).numpy()
    all_codes = torch.cat(codes).numpy()
    return {int(c): all_codes[all_classes == c] for c in np.unique(all_classes)}


def cluster_features(
    features: Mapping[int, np.ndarray], k: int = 10, seed: int = 0
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """k-means per class (scikit-learn, fixed seed): ({class id: min(k, distinct codes)×F centres},
    {class id: how many instances each centre holds}).

    Centres are ordered by how many instances they hold, most first (ties by their coordinates),
    so cluster 0 is the class's most common look: the default of regions without a chosen style
    (model.render.styles), and the first swatch of the editor's style palette. Objects without a
    chosen style draw a centre in proportion to its members."""
    from sklearn.cluster import KMeans

    if not 1 <= k <= 10:
        raise ValueError(f"k must be in 1..10, not {k}")
    clusters: dict[int, np.ndarray] = {}
    populations: dict[int, np.ndarray] = {}
    for class_id, codes in sorted(features.items()):
        distinct, group = np.unique(codes.round(decimals=4), axis=0, return_inverse=True)
        n_clusters = min(k, len(distinct))
        if n_clusters == 0:
            continue
        if n_clusters == len(distinct):  # no more codes than clusters: the (averaged) codes themselves
            group = group.reshape(-1)
            centres = np.zeros((len(distinct), codes.shape[1]), np.float64)
            np.add.at(centres, group, codes)
            centres /= np.bincount(group, minlength=len(distinct))[:, None]
        else:
            kmeans = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(codes)
            centres, group = kmeans.cluster_centers_, kmeans.labels_
        members = np.bincount(group, minlength=len(centres))
        order = np.lexsort((*centres.T[::-1], -members))
        clusters[class_id] = centres[order].astype(np.float32)
        populations[class_id] = members[order].astype(np.int64)
        log.info("class %d: %d instances → %d clusters", class_id, len(codes), n_clusters)
    return clusters, populations
