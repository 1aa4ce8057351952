"""Memory figures and the activation-cache budget (the one place ``P2P_CACHE_MB`` is read).

The incremental renderer keeps every layer's activation of the last full render: about 330 MB for
the bundled default at 2048×1024 and 2.1 GB for the released 1024p generator. The budget is the
smallest of 2 GiB, a quarter of the machine's memory and a third of what is available now, so a
laptop with other programs open keeps room for the full render's working set. A cache over the
budget is stored in float16 (updates close, no longer exact); over twice the budget, none is kept.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)

CACHE_ENV = "P2P_CACHE_MB"
DESKTOP_CACHE_LIMIT = 2 * 2**30


def physical_memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux); None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass(frozen=True)
class MemoryFigures:
    physical: int | None
    available: int | None


def memory_figures() -> MemoryFigures:
    return MemoryFigures(physical_memory_bytes(), available_memory_bytes())


def cache_budget_bytes(figures: MemoryFigures | None = None, env: str | None = None) -> int:
    """``P2P_CACHE_MB`` when set, else min(2 GiB, physical / 4, available / 3)."""
    env = os.environ.get(CACHE_ENV) if env is None else env
    if env:
        try:
            return max(0, int(float(env) * 2**20))
        except ValueError:
            log.warning("%s=%r is not a number; using the memory-based budget", CACHE_ENV, env)
    figures = figures or memory_figures()
    budget = DESKTOP_CACHE_LIMIT
    if figures.physical is not None:
        budget = min(budget, figures.physical // 4)
    if figures.available is not None:
        budget = min(budget, figures.available // 3)
    return budget
