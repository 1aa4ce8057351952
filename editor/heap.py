"""Keeping Python's cyclic garbage collector from stalling the editor.

Once torch and a model are loaded the process holds about 200,000 container objects, and every
full (generation-2) collection walks all of them, for a noticeable fraction of a second on a small
CPU (docs/rendering.md). Such a collection runs on whichever thread happens to allocate, holds the GIL,
and so freezes painting mid-stroke. Almost all of those objects live as long as the process.

:func:`settle_long_lived_objects` collects once, then moves everything alive into the collector's
permanent generation (``gc.freeze``); later collections scan only what editing creates. It thaws
what an earlier call froze first, so a model replaced since then is not kept from collection (a
Renderer has no reference cycles, so refcounting frees it anyway; a test checks both).
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def settle_long_lived_objects() -> int:
    """Collect the garbage there is now, then freeze the survivors; returns how many are frozen."""
    start = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d long-lived objects in %.0f ms", frozen, (time.perf_counter() - start) * 1000)
    return frozen
