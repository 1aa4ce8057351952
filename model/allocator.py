"""Handing the C heap's free memory back to the OS once a frame is done.

glibc serves large blocks with mmap and unmaps them when freed, but it raises that threshold to
the size of each large block freed (up to 32 MB), so after the first frames most activations come
from the heap. Freed heap memory is kept by the process and fragments: an editing session with the
released generator at full size grew by 0.1–0.25 GiB a round of strokes. ``malloc_trim`` returns
the free pages, including those in the middle of the heap. Fixing the threshold low instead stops
the growth too, but then every activation is mapped and faulted in afresh, and a full render of
the bundled default took 1.8× as long (figures in docs/rendering.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        log.debug("no malloc_trim in the C library: freed heap memory stays with the process")
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS (glibc; a no-op elsewhere). True if any were."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
