"""The generator's input and its average-pooled levels, built cheaply for training.

A LocalEnhancer with n levels reads its input at full resolution (finest enhancer), pooled once
(next level), … and pooled n times (the global part). Training builds that pyramid every step. Done
naively — ``generator_input`` at 2048×1024 (39 float channels), pooled with autograd through the
feature channels — it costs about as much as the networks' own forward pass.

``InputPyramid`` gives the same tensors for less:

* the label channels (one-hot + instance edges) carry no gradient, and a class absent from the
  batch is zero at every level, so they are built and pooled only for the classes present and
  expanded to the full channel layout at the end, and only for the crop that is read;
* E's features (with gradient) are pooled on their own, three channels instead of 39.

Pooling acts per channel, so ``level(k)`` equals ``downsample_input`` applied k times to
``generator_input(...)`` (tests/model/test_train.py checks it).
"""

from __future__ import annotations

import torch

from model.encoding import generator_input
from model.networks.generator import downsample_input

Window = tuple[
    int, int, int, int
]  # (x0, y0, width, height) at full resolution: a crop, not a model.box.Window


def crop(t: torch.Tensor, box: Window, level: int = 0) -> torch.Tensor:
    """``box`` = (x0, y0, width, height) at full resolution, taken at resolution 2^-level."""
    x0, y0, w, h = (v >> level for v in box)
    return t[..., y0 : y0 + h, x0 : x0 + w]


def scale_box(box: Window, level: int) -> Window:
    """A box at resolution 2^-level → the same box at full resolution."""
    x0, y0, w, h = box
    return x0 << level, y0 << level, w << level, h << level


class InputPyramid:
    def __init__(
        self,
        labels: torch.Tensor,
        instances: torch.Tensor | None,
        num_classes: int,
        features: torch.Tensor | None,
        use_edges: bool,
        levels: int,
    ) -> None:
        """labels / instances N×H×W integer maps; features N×F×H×W (may require grad) or None."""
        self.num_classes = num_classes
        self.use_edges = use_edges
        with torch.no_grad():
            self.present = torch.unique(labels)
            remap = torch.zeros(num_classes, dtype=torch.long, device=labels.device)
            remap[self.present] = torch.arange(len(self.present), device=labels.device)
            compact = generator_input(remap[labels.long()], instances, len(self.present), None, use_edges)
            self._labels = [compact]
            for _ in range(levels):
                self._labels.append(downsample_input(self._labels[-1]))
        self._features: list[torch.Tensor] | None = None
        if features is not None:
            self._features = [features.float()]
            for _ in range(levels):
                self._features.append(downsample_input(self._features[-1]))

    @property
    def label_nc(self) -> int:
        """Channels of the one-hot + edge part (what D sees beside the image)."""
        return self.num_classes + int(self.use_edges)

    def label_channels(self, level: int, box: Window | None = None) -> torch.Tensor:
        """The one-hot + edge channels at ``level`` (cropped to ``box``), full channel layout."""
        compact = self._labels[level] if box is None else crop(self._labels[level], box, level)
        present = len(self.present)
        out = compact.new_zeros(compact.shape[0], self.label_nc, *compact.shape[-2:])
        out[:, self.present] = compact[:, :present]
        if self.use_edges:
            out[:, self.num_classes] = compact[:, present]
        return out

    def level(self, level: int, box: Window | None = None) -> torch.Tensor:
        """The generator input pooled ``level`` times (cropped to ``box``)."""
        labels = self.label_channels(level, box)
        if self._features is None:
            return labels
        features = self._features[level] if box is None else crop(self._features[level], box, level)
        return torch.cat([labels, features], 1)
