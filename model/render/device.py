"""Device choice: CUDA, then Apple MPS, then CPU, with an explicit override."""

from __future__ import annotations

import logging
import os

import torch

from model.errors import EditorError

log = logging.getLogger(__name__)


class DeviceError(EditorError):
    """The requested device does not exist in this torch build or on this machine."""


def available_devices() -> list[str]:
    """The devices this process can render on, best first ("cuda:0", …, "mps", "cpu")."""
    found = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def check_device(name: str) -> torch.device:
    """``name`` as a torch device, or a one-line DeviceError saying which devices there are. Cheap:
    call it before reading any weights."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise DeviceError(
            f"unknown device {name!r}; this machine has: {', '.join(available_devices())}"
        ) from None
    if device.type == "cpu":
        return device
    present = available_devices()
    if device.type == "cuda":
        index = 0 if device.index is None else device.index
        if f"cuda:{index}" in present:
            return device
        why = (
            "this torch build has no CUDA"
            if not torch.backends.cuda.is_built()
            else "no CUDA GPU is visible"
            if torch.cuda.device_count() == 0
            else f"there is no GPU {index}"
        )
    elif device.type == "mps":
        if "mps" in present:
            return device
        why = "Apple MPS is not available here"
    else:
        why = f"{device.type!r} is not supported by the renderer"
    raise DeviceError(f"device {name!r} is not available ({why}); use one of: {', '.join(present)}")


def choose_device(override: str | None = None) -> torch.device:
    """``override`` ("cpu", "cuda", "cuda:1", "mps"), checked; else the best device present."""
    if override:
        return check_device(override)
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
