"""The data order and the per-step random source.

Both depend only on (seed, step, rank), so a run resumed from step N sees exactly the batches,
flips and crops an uninterrupted run would, with no random state to save.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class StepSampler(Sampler[int]):
    """Sample indices for steps ``start``..``stop``-1: epoch e is a permutation seeded by (seed, e),
    split across ranks."""

    def __init__(
        self, size: int, batch_size: int, start: int, stop: int, seed: int, rank: int = 0, world: int = 1
    ) -> None:
        self.size, self.batch_size, self.start, self.stop = size, batch_size, start, stop
        self.seed, self.rank, self.world = seed, rank, world
        self.steps_per_epoch = max(1, size // (batch_size * world))

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch_size

    def __iter__(self) -> Iterator[int]:
        epoch, order = -1, torch.empty(0, dtype=torch.long)
        for step in range(self.start, self.stop):
            if step // self.steps_per_epoch != epoch:
                epoch = step // self.steps_per_epoch
                order = torch.randperm(
                    self.size, generator=torch.Generator().manual_seed(self.seed * 7919 + epoch)
                )
            first = (step % self.steps_per_epoch) * self.batch_size * self.world + self.rank * self.batch_size
            for b in range(self.batch_size):
                yield int(order[(first + b) % self.size])


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The random source of one step's flips and crops."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 1009 + rank)
