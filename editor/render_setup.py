"""How the editor sets up rendering for a loaded model: the incremental wrapper and its cache limit.

The activation cache of ``model.render.incremental.IncrementalRenderer`` holds every layer's
output for the whole frame (about 330 MB for the bundled model at 2048×1024, 2.1 GB for the
released 1024p generator). On a desktop the editor allows at most 2 GiB, and never more than a
quarter of the machine's memory; a bigger cache is stored in float16 by the renderer (updates stay
close but are no longer exact; the idle exact refresh still is). ``P2P_CACHE_MB`` overrides it.
No Qt here.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DESKTOP_CACHE_LIMIT = 2 * 2**30


def physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def cache_limit_bytes() -> int:
    """The activation cache budget: ``P2P_CACHE_MB`` if set, else min(2 GiB, a quarter of RAM)."""
    env = os.environ.get("P2P_CACHE_MB")
    if env:
        try:
            return max(0, int(float(env) * 2**20))
        except ValueError:
            log.warning("P2P_CACHE_MB=%r is not a number; using the default", env)
    memory = physical_memory()
    return DESKTOP_CACHE_LIMIT if memory is None else min(DESKTOP_CACHE_LIMIT, memory // 4)


@dataclass(frozen=True)
class CachePlan:
    limit: int  # bytes
    needed: int  # bytes for a float32 cache at the planned size
    size: tuple[int, int]  # width, height it was planned for

    @property
    def half(self) -> bool:
        return self.needed > self.limit

    @property
    def none(self) -> bool:
        """Even a float16 cache is over the limit: the renderer keeps none (full renders only)."""
        return self.needed / 2 > self.limit

    def describe(self) -> str:
        mb = 2**20
        where = f"at {self.size[0]}×{self.size[1]} (limit {self.limit / mb:.0f} MB, P2P_CACHE_MB)"
        if self.none:
            return f"no activation cache: {self.needed / mb:.0f} MB needed {where}; every change renders the whole frame"
        kind = "float16, approximate updates" if self.half else "float32, exact updates"
        return f"activation cache {self.needed / mb / (2 if self.half else 1):.0f} MB, {kind}, {where}"


def wrap_incremental(renderer: Any, size: tuple[int, int]) -> tuple[Any, CachePlan]:
    """An IncrementalRenderer around ``renderer`` with the desktop cache limit (seconds on a big
    model's first call; run it off the GUI thread). ``size``: (width, height) of the scene."""
    from model.render.incremental import IncrementalRenderer

    limit = cache_limit_bytes()
    incremental = IncrementalRenderer(renderer, cache_limit_bytes=limit)
    width, height = size
    plan = CachePlan(limit, incremental.estimate_cache_bytes(height, width), size)
    log.info("incremental rendering ready: %s", plan.describe())
    return incremental, plan
