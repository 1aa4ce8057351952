"""The generator's input: one-hot labels + instance boundary map (+ per-instance feature channels).

Channel order follows pix2pixHD: ``num_classes`` one-hot channels, then 1 edge channel (when
instances are used), then ``feat_num`` feature channels (when features are used).
"""

from __future__ import annotations

import torch


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """N×H×W (or N×1×H×W) integer class ids → N×C×H×W float one-hot."""
    if labels.dim() == 4:
        labels = labels[:, 0]
    n, h, w = labels.shape
    out = torch.zeros(n, num_classes, h, w, dtype=torch.float32, device=labels.device)
    return out.scatter_(1, labels.long().unsqueeze(1), 1.0)


def instance_edges(instances: torch.Tensor) -> torch.Tensor:
    """N×H×W instance ids → N×1×H×W float map, 1 where a pixel differs from any 4-neighbour."""
    if instances.dim() == 4:
        instances = instances[:, 0]
    edge = torch.zeros_like(instances, dtype=torch.bool)
    horizontal = instances[:, :, 1:] != instances[:, :, :-1]
    vertical = instances[:, 1:, :] != instances[:, :-1, :]
    edge[:, :, 1:] |= horizontal
    edge[:, :, :-1] |= horizontal
    edge[:, 1:, :] |= vertical
    edge[:, :-1, :] |= vertical
    return edge.unsqueeze(1).float()


def generator_input(
    labels: torch.Tensor,
    instances: torch.Tensor | None,
    num_classes: int,
    features: torch.Tensor | None = None,
    use_edges: bool = True,
) -> torch.Tensor:
    """Concatenate one-hot labels, the boundary map and optional N×F×H×W feature channels."""
    parts = [one_hot(labels, num_classes)]
    if use_edges:
        parts.append(instance_edges(instances if instances is not None else labels))
    if features is not None:
        parts.append(features.float())
    return torch.cat(parts, dim=1)
