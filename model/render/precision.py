"""Which floating-point precision renders run in: chosen by measuring, not by guessing.

bf16 halves the bytes every conv moves and, on CPUs with AVX-512 BF16 or AMX, runs convs at
about twice the fp32 rate; on AVX2-only CPUs it is emulated and many times slower. So ``auto``
times a few of the model's own conv shapes in both precisions on first use, checks that a bf16
render stays close to fp32, and picks bf16 only when it is clearly faster and close enough.
The decision is cached per CPU model, torch version and model in the user cache folder, so the
measurement runs once per machine and model.

``P2P_PRECISION`` (auto | fp32 | bf16) overrides the default; the CLI's ``--precision`` and the
editor's Render menu override both.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from collections.abc import Callable
from copy import deepcopy
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from model.cpu_speed import MIN_SPEEDUP
from model.errors import EditorError

log = logging.getLogger(__name__)

Precision = Literal["fp32", "bf16"]
PrecisionRequest = Literal["auto", "fp32", "bf16"]
PRECISION_REQUESTS: tuple[str, ...] = ("auto", "fp32", "bf16")
PRECISION_ENV = "P2P_PRECISION"

MIN_PSNR_DB = 40.0  # and its render this close to the fp32 render (PSNR on [0, 255] images)

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision renders use, and why (shown in the status bar and by ``bench``)."""

    precision: Precision
    reason: str
    fp32_ms: float | None = None
    bf16_ms: float | None = None
    psnr_db: float | None = None

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.precision]

    @property
    def speedup(self) -> float | None:
        if self.fp32_ms is None or self.bf16_ms is None or self.bf16_ms <= 0:
            return None
        return self.fp32_ms / self.bf16_ms

    def describe(self) -> str:
        return f"{self.precision} ({self.reason})"


FP32 = PrecisionChoice("fp32", "the default")


class Float32Norm(nn.Module):
    """Runs a normalisation layer in float32 inside a lower-precision network: its statistics are
    measured and applied in float32, and the result is rounded back to the input's dtype. The
    wrapped layer stays a submodule, so forward hooks on it (model.render.norm_stats) still fire."""

    def __init__(self, norm: nn.Module) -> None:
        super().__init__()
        self.norm = norm.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.float()).to(x.dtype)


def lowered_copy(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    """A copy of ``module`` in ``dtype`` and channels-last memory, its InstanceNorms in float32."""
    copy = deepcopy(module)
    for parent in list(copy.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.InstanceNorm2d):
                setattr(parent, name, Float32Norm(child))
    for sub in copy.modules():
        if not isinstance(sub, nn.InstanceNorm2d):
            for param in list(sub.parameters(recurse=False)):
                param.data = param.data.to(dtype)
            for name, buffer in list(sub.named_buffers(recurse=False)):
                if buffer.is_floating_point():
                    setattr(sub, name, buffer.to(dtype))
    return copy.to(memory_format=torch.channels_last).eval()  # type: ignore[call-overload]


class PrecisionError(EditorError, ValueError):
    """An unknown precision name (from the command line or ``P2P_PRECISION``)."""


def requested_precision(override: str | None = None) -> PrecisionRequest:
    """``override`` if given, else ``P2P_PRECISION``, else ``auto``; anything else is an error."""
    value = (override or os.environ.get(PRECISION_ENV) or "auto").strip().lower()
    if value not in PRECISION_REQUESTS:
        where = "" if override else f" in ${PRECISION_ENV}"
        raise PrecisionError(
            f"unknown precision {value!r}{where} (choose from {', '.join(PRECISION_REQUESTS)})"
        )
    return value  # type: ignore[return-value]


def decide(fp32_ms: float, bf16_ms: float, psnr_db: float) -> PrecisionChoice:
    """The rule: bf16 only if ≥ MIN_SPEEDUP× faster and ≥ MIN_PSNR_DB against fp32."""
    speedup = fp32_ms / bf16_ms if bf16_ms > 0 else 0.0
    timing = dict(fp32_ms=fp32_ms, bf16_ms=bf16_ms, psnr_db=psnr_db)
    if speedup < MIN_SPEEDUP:
        reason = f"auto: bf16 only {speedup:.2f}× the fp32 speed here (needs {MIN_SPEEDUP}×)"
        return PrecisionChoice("fp32", reason, **timing)
    if psnr_db < MIN_PSNR_DB:
        reason = f"auto: bf16 {speedup:.2f}× faster but {psnr_db:.1f} dB from fp32 (needs {MIN_PSNR_DB:.0f})"
        return PrecisionChoice("fp32", reason, **timing)
    return PrecisionChoice("bf16", f"auto: {speedup:.2f}× faster than fp32, {psnr_db:.1f} dB", **timing)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [-1, 1], measured on the [0, 255] scale they are shown at."""
    mse = ((a.float() - b.float()) * 127.5).pow(2).mean().item()
    return float("inf") if mse == 0 else 10.0 * float(torch.log10(torch.tensor(255.0**2 / mse)))


def cache_key(model_id: str) -> str:
    """One decision per CPU model, torch version and model."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu
            )
    except OSError:
        pass
    text = f"{cpu}|{torch.__version__}|{model_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_folder() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pix2pixhd-editor")) / "precision"


def load_cached(key: str, folder: Path | None = None) -> PrecisionChoice | None:
    path = (folder or cache_folder()) / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PrecisionChoice(**data)
    except (OSError, ValueError, TypeError):
        return None


def store_cached(key: str, choice: PrecisionChoice, folder: Path | None = None) -> None:
    from model.scene_io import atomic_write_bytes

    folder = folder or cache_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / f"{key}.json", json.dumps(asdict(choice), indent=1).encode())
    except Exception as exc:  # noqa: BLE001 - a cache that cannot be written only costs a re-measure
        log.debug("precision cache not written: %s", exc)


def choose_precision(
    request: PrecisionRequest,
    device: torch.device,
    measure: Callable[[], tuple[float, float, float]],
    model_id: str,
    folder: Path | None = None,
) -> PrecisionChoice:
    """Resolve ``request`` for ``device``.

    ``measure()`` returns (fp32 ms, bf16 ms, PSNR of a bf16 render against fp32) and is only called
    for ``auto`` on a CPU with no cached decision; explicit requests are obeyed as given.
    """
    if request == "fp32":
        return PrecisionChoice("fp32", "asked for fp32")
    if request == "bf16":
        return PrecisionChoice("bf16", "asked for bf16")
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return PrecisionChoice("bf16", "auto: this CUDA device runs bf16 natively")
        return PrecisionChoice("fp32", "auto: this CUDA device has no native bf16")
    if device.type != "cpu":
        return PrecisionChoice("fp32", f"auto: fp32 on {device.type}")
    key = cache_key(model_id)
    cached = load_cached(key, folder)
    if cached is not None:
        return PrecisionChoice(
            cached.precision, cached.reason + ", cached", cached.fp32_ms, cached.bf16_ms, cached.psnr_db
        )
    fp32_ms, bf16_ms, psnr_db = measure()
    choice = decide(fp32_ms, bf16_ms, psnr_db)
    log.info("precision: %s", choice.describe())
    store_cached(key, choice, folder)
    return choice
