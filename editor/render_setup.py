"""How the editor sets up rendering for a loaded model: the incremental wrapper and its cache mode.

The cache budget comes from ``model.render.memory.cache_budget_bytes`` (RAM available, or
``P2P_CACHE_MB``); :class:`CachePlan` says which mode the cache is in, for the status bar. No Qt here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from model.render.memory import CACHE_ENV, cache_budget_bytes

log = logging.getLogger(__name__)


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

    @property
    def mode(self) -> str:
        """A few words for the status bar."""
        if self.none:
            return "no cache: full renders"
        return "cache float16: approximate updates" if self.half else "cache float32: exact updates"

    def describe(self) -> str:
        mb = 2**20
        where = f"at {self.size[0]}×{self.size[1]} (limit {self.limit / mb:.0f} MB from the memory available, {CACHE_ENV})"
        if self.none:
            return f"no activation cache: {self.needed / mb:.0f} MB needed {where}; every change renders the whole frame"
        kind = "float16, approximate updates" if self.half else "float32, exact updates"
        return f"activation cache {self.needed / mb / (2 if self.half else 1):.0f} MB, {kind}, {where}"


def plan_cache(
    incremental: Any, size: tuple[int, int], scale: int = 1, limit: int | None = None
) -> CachePlan:
    """The cache mode of ``incremental`` for a (width, height) scene rendered at 1/scale."""
    width, height = -(-size[0] // scale), -(-size[1] // scale)
    limit = incremental.cache_limit_bytes if limit is None else limit
    return CachePlan(limit, incremental.estimate_cache_bytes(height, width), (width, height))


def wrap_incremental(renderer: Any, size: tuple[int, int]) -> tuple[Any, CachePlan]:
    """An IncrementalRenderer around ``renderer`` with the memory-based cache budget (seconds on a
    big model's first call; run it off the GUI thread). ``size``: (width, height) of the scene."""
    from model.render.incremental import IncrementalRenderer

    incremental = IncrementalRenderer(renderer, cache_limit_bytes=cache_budget_bytes())
    plan = plan_cache(incremental, size)
    log.info("incremental rendering ready: %s", plan.describe())
    return incremental, plan
