"""Device choice: CUDA, then Apple MPS, then CPU, with an explicit override."""
from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

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


# ----- per-device execution settings (used by the incremental renderer) ----------------------------
@dataclass(frozen=True)
class DeviceSettings:
    """How renders run on a device.

    CPU: float32, channels-last, ``torch.inference_mode``, threads from ``configure_cpu_threads``
    (and OMP_WAIT_POLICY=PASSIVE set by the entry points, see model/render/threads.py).
    CUDA: autocast to bfloat16 (float16 where bf16 is unsupported), channels-last. torch.compile and
    CUDA graphs are not used: incremental passes run every layer on boxes of changing sizes, which
    would recompile or re-capture on nearly every edit. (Untested here: no GPU on the dev machines.)
    MPS: float32, contiguous (channels-last convs are not faster there).
    """

    device: torch.device
    autocast_dtype: torch.dtype | None
    channels_last: bool

    def autocast(self) -> AbstractContextManager:
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)


def device_settings(device: torch.device, half: bool | None = None) -> DeviceSettings:
    """Settings for ``device``; ``half`` (default: env P2P_HALF, else on for CUDA) enables autocast."""
    if half is None:
        half = os.environ.get("P2P_HALF", "1" if device.type == "cuda" else "0") == "1"
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return DeviceSettings(device, dtype if half else None, True)
    if device.type == "mps":
        return DeviceSettings(device, torch.float16 if half else None, False)
    return DeviceSettings(device, None, True)
