"""Device choice: CUDA, then Apple MPS, then CPU, with an explicit override."""
from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger(__name__)


def choose_device(override: str | None = None) -> torch.device:
    """``override`` ("cpu", "cuda", "cuda:1", "mps") wins; else the best device present."""
    if override:
        return torch.device(override)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def configure_cpu_threads(threads: int | None = None) -> int:
    """Use one intra-op thread per physical core unless told otherwise (env P2P_THREADS or argument)."""
    wanted = threads or int(os.environ.get("P2P_THREADS", "0")) or (os.cpu_count() or 1)
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    log.debug("torch CPU threads: %d", wanted)
    return wanted
