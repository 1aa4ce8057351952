"""Crashing a write at each of its file steps (``model.atomic_files.step_hook``), for the tests that
check what a crash at any moment leaves on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from editor.core.autosave import RecoveryStore
from model import atomic_files


class Killed(BaseException):
    """The process dying at a write step: not an Exception, so no handler in the code under test
    catches it."""


@contextmanager
def step_hook(hook: atomic_files.StepHook) -> Iterator[None]:
    """Call ``hook(step, path)`` at each write step inside the block."""
    atomic_files.step_hook = hook
    try:
        yield
    finally:
        atomic_files.step_hook = None


def write_steps(write: Callable[[], object]) -> list[tuple[str, str]]:
    """The steps ``write()`` takes: (step, file name) each."""
    steps: list[tuple[str, str]] = []
    with step_hook(lambda step, path: steps.append((step, path.name))):
        write()
    return steps


def kill_at_step(k: int, write: Callable[[], object]) -> None:
    """Run ``write()`` and kill it at its step ``k`` (counted from 0); fails if it finishes first."""
    calls = 0

    def kill(step: str, path: Path) -> None:
        nonlocal calls
        calls += 1
        if calls == k + 1:
            raise Killed

    with step_hook(kill), pytest.raises(Killed):
        write()


@dataclass(frozen=True)
class KilledWrite:
    step: tuple[str, str]  # the step the second write died at: (step, file name)
    folder: Path  # the recovery folder as the crash left it


def recovery_write_killed_at_each_step(
    root: Path, write: Callable[[RecoveryStore, int], object]
) -> list[KilledWrite]:
    """For each step of a recovery store's second write, a folder under ``root`` where
    ``write(store, 1)`` finished and ``write(store, 2)`` died at that step; the store is then closed,
    as process death closes it (the lock goes, the files stay)."""
    probe = RecoveryStore(root / "probe")
    write(probe, 1)
    steps = write_steps(lambda: write(probe, 2))
    probe.close()
    killed = []
    for k, step in enumerate(steps):
        folder = root / f"k{k:02d}"
        store = RecoveryStore(folder)
        write(store, 1)
        kill_at_step(k, lambda store=store: write(store, 2))
        store.close()
        killed.append(KilledWrite(step, folder))
    return killed
