"""The data order and the per-step random source.

Both depend only on (seed, step, rank), so a run resumed from step N sees exactly the batches,
flips and crops an uninterrupted run would, with no random state to save.

Class-aware order (``data.rare_classes``): G rarely sees small classes such as people, riders and
two-wheelers, so scenes holding many of their pixels can be drawn more often. Each scene gets a
weight from its share of those pixels (``rare_scene_weights``), and each epoch draws its indices
with replacement in proportion to the weights, still seeded by (seed, epoch) alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

from model.data.folders import PairedDataset, read_labels
from model.errors import EditorError
from model.labels import LabelSet


class StepSampler(Sampler[int]):
    """Sample indices for steps ``start``..``stop``-1: epoch e is a permutation seeded by (seed, e),
    split across ranks. With ``weights`` (one per scene), epoch e instead draws its indices with
    replacement in proportion to them, seeded the same way."""

    def __init__(
        self,
        size: int,
        batch_size: int,
        start: int,
        stop: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        weights: torch.Tensor | None = None,
    ) -> None:
        self.size, self.batch_size, self.start, self.stop = size, batch_size, start, stop
        self.seed, self.rank, self.world = seed, rank, world
        self.steps_per_epoch = max(1, size // (batch_size * world))
        if weights is not None and (weights.shape != (size,) or not bool((weights > 0).all())):
            raise ValueError(f"weights must be {size} positive numbers, one per scene")
        self.weights = weights

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch_size

    def __iter__(self) -> Iterator[int]:
        epoch, order = -1, torch.empty(0, dtype=torch.long)
        for step in range(self.start, self.stop):
            if step // self.steps_per_epoch != epoch:
                epoch = step // self.steps_per_epoch
                order = self.epoch_order(epoch)
            first = (step % self.steps_per_epoch) * self.batch_size * self.world + self.rank * self.batch_size
            for b in range(self.batch_size):
                yield int(order[(first + b) % self.size])

    def epoch_order(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 7919 + epoch)
        if self.weights is None:
            return torch.randperm(self.size, generator=generator)
        draws = self.steps_per_epoch * self.batch_size * self.world
        return torch.multinomial(self.weights.double(), draws, replacement=True, generator=generator)


def step_generator(seed: int, step: int, rank: int, stream: int = 0) -> torch.Generator:
    """The random source of one step: stream 0 draws its flips and crops, stream 1 its LabelMix
    masks (independent streams, so adding one leaves the others' draws unchanged)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 1009 + rank + stream * 7_919_000_003)


def parse_class_names(text: str, label_set: LabelSet) -> list[int]:
    """ "person, rider" → their class ids; an unknown name raises EditorError naming it."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    return [label_set.by_name(name).id for name in names]


def rare_scene_weights(shares: np.ndarray, repeat: float, full_share: float) -> torch.Tensor:
    """Per-scene draw weights from each scene's share of rare-class pixels: 1 with none, rising
    linearly to ``repeat`` at ``full_share`` of the frame and staying there. A ramp, not a
    threshold, so that one distant pedestrian does not count like a crowd."""
    ramp = np.clip(np.asarray(shares, dtype=np.float64) / full_share, 0.0, 1.0)
    return torch.from_numpy(1.0 + (repeat - 1.0) * ramp)


def rare_pixel_shares(dataset: PairedDataset, class_ids: Sequence[int]) -> np.ndarray:
    """Each training scene's share of pixels in ``class_ids`` (reads the label maps only)."""
    table = np.zeros(dataset.label_set.num_classes, dtype=bool)
    table[list(class_ids)] = True
    shares = np.empty(len(dataset.samples))
    for i, sample in enumerate(dataset.samples):
        labels = read_labels(sample.label, dataset.label_set, dataset.config.ignore_unknown)
        shares[i] = float(table[labels].mean())
    return shares


def class_aware_weights(
    dataset: PairedDataset, names: str, repeat: float, full_share: float
) -> torch.Tensor | None:
    """The weights ``data.rare_classes`` asks for, or None for the plain order."""
    if not names.strip() or repeat == 1.0:
        return None
    ids = parse_class_names(names, dataset.label_set)
    if not ids:
        raise EditorError(f"data.rare_classes '{names}' names no class")
    return rare_scene_weights(rare_pixel_shares(dataset, ids), repeat, full_share)
