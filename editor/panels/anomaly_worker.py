"""A thread that fills the anomaly layer's masks (``model.anomaly.synthesis.fill_masks``) off the GUI
thread, so painting goes on while the inpainter runs.

Latest wins: a new job stops the one in progress at its next sampler step. The inpainter is loaded
on this thread the first time a diffusion job needs it (and kept per folder). Signals carry the
job's token, so the receiver can tell a result of the scene as it is from one it has since left.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QThread, Signal

from editor.render_worker import lower_thread_priority
from model.anomaly.inpainter import Inpainter, load_inpainter
from model.anomaly.synthesis import Placed, SynthesisConfig, fill_masks
from model.errors import EditorError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnomalyJob:
    """Fill ``masks`` (H×W bool each) of ``frame`` (H×W×3 uint8, the exact render) with ``config``."""

    token: Any
    frame: np.ndarray = field(repr=False)
    masks: tuple[np.ndarray, ...] = field(repr=False)
    config: SynthesisConfig = SynthesisConfig()
    seed: int = 0
    inpainter: Path | None = None  # the checkpoint folder (diffusion only)


@dataclass(frozen=True)
class AnomalyOutcome:
    token: Any
    image: np.ndarray = field(repr=False)  # H×W×3 uint8: the frame with its anomalies
    label: np.ndarray = field(repr=False)  # H×W uint8: 0 normal, 1 anomaly, 255 void
    placed: tuple[Placed, ...]
    seconds: float


class _Superseded(Exception):
    """A newer job (or a stop) arrived: leave the running one."""


class AnomalyWorker(QThread):
    progress = Signal(object, int, int)  # token, units done, units in all
    finished_job = Signal(object)  # AnomalyOutcome
    failed = Signal(object, str)  # token, one-line message

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._job: AnomalyJob | None = None
        self._inpainters: dict[Path, Inpainter] = {}
        self.setObjectName("anomaly-worker")

    def submit(self, job: AnomalyJob) -> None:
        with self._cond:
            self._job = job
            self._cond.notify()
        if not self.isRunning():
            self.start()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._job is not None

    def _check(self, job: AnomalyJob) -> None:
        with self._cond:
            if self._job is not job or self.isInterruptionRequested():
                raise _Superseded

    def _inpainter(self, folder: Path) -> Inpainter:
        if folder not in self._inpainters:
            self._inpainters[folder] = load_inpainter(folder)
        return self._inpainters[folder]

    def run(self) -> None:
        lower_thread_priority()
        while not self.isInterruptionRequested():
            with self._cond:
                while self._job is None and not self.isInterruptionRequested():
                    self._cond.wait(0.5)
                job = self._job
            if job is None:
                continue
            try:
                self._run(job)
            except _Superseded:
                log.info("anomaly job %s superseded", job.token)
            except EditorError as exc:
                self.failed.emit(job.token, str(exc))
            except Exception as exc:  # noqa: BLE001 - one bad job must not stop the thread
                log.exception("anomaly synthesis failed")
                self.failed.emit(job.token, f"anomaly synthesis failed: {exc}")
            with self._cond:
                if self._job is job:
                    self._job = None

    def _run(self, job: AnomalyJob) -> None:
        start = time.perf_counter()
        inpainter = None
        if job.config.method == "diffusion":
            if job.inpainter is None:
                raise EditorError("the diffusion method needs an inpainter checkpoint")
            inpainter = self._inpainter(job.inpainter)

        def on_progress(done: int, total: int) -> None:
            self._check(job)
            self.progress.emit(job.token, done, total)

        self._check(job)
        image, label, placed = fill_masks(
            job.frame, list(job.masks), job.config, job.seed, inpainter, on_progress
        )
        self._check(job)
        self.finished_job.emit(
            AnomalyOutcome(job.token, image, label, tuple(placed), time.perf_counter() - start)
        )

    def cancel(self) -> None:
        """Drop the job in progress (it stops at its next sampler step) and any waiting one."""
        with self._cond:
            self._job = None

    def stop(self, timeout_ms: int = 30000) -> None:
        self.requestInterruption()
        with self._cond:
            self._job = None
            self._cond.notify_all()
        self.wait(timeout_ms)
