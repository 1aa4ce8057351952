"""A Qt-free latest-wins render queue and the worker thread that drains it.

The GUI submits a ``RenderJob`` per edit (a snapshot of the maps and the document version). The
worker keeps only the newest pending job, merging the changed boxes of the ones it drops, and:

1. for a LocalEnhancer, first recomputes only the finest level around the edit (a few ms) and
   reports it as a *quick* tile, then runs the incremental update (fast mode) and reports it as a
   *preview* tile — skipped when a newer job is already waiting (its quick tile shows sooner), so
   painting shows quick tiles and a pause shows the accurate one. An edit queued while an update
   runs gets its quick tile between two layers of that update;
2. once no job has arrived for ``idle_refresh_s``, runs a full render with live statistics (the
   *exact* frame, which also refreshes the frozen statistics) — cancelled as soon as a newer job
   arrives, which then starts from the cache the preview left.

A started incremental update is not cancelled by newer jobs unless ``cancel_previews``: the
changes it would have committed stay pending, so on a busy CPU cancelled updates pile up into
ever larger ones that never finish (seen in the bench: accurate tiles 8 s late). Skipping the
updates of jobs that are already superseded is enough, since a newer job includes older changes. The editor's QThread worker can run ``RenderLoop.process_one`` in its own loop or
start this thread and forward ``on_result`` through a Qt signal.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from model.render.incremental import ImageBox, IncrementalRenderer
from model.scene_io import Style

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderJob:
    version: int
    labels: np.ndarray = field(repr=False)
    instances: np.ndarray = field(repr=False)
    styles: dict[int, Style] = field(default_factory=dict, repr=False)
    seed: int = 0
    region: ImageBox | None = None  # changed box hint (x0, y0, x1, y1); None: unknown
    submitted: float = field(default_factory=time.perf_counter)
    first_submitted: float | None = None  # of the oldest job merged into this one


@dataclass(frozen=True)
class RenderOutput:
    version: int
    kind: Literal["quick", "preview", "exact"]
    image: np.ndarray  # H×W×3 uint8: a tile (preview) or the whole frame (exact)
    box: ImageBox  # where ``image`` goes; (0, 0, 0, 0) when nothing changed
    ms: float  # time spent rendering it
    submitted: float  # perf_counter() when the oldest job it answers was submitted


def _merge_boxes(a: ImageBox | None, b: ImageBox | None) -> ImageBox | None:
    if a is None or b is None:
        return None
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


class LatestWinsQueue:
    """Holds at most one job: a newer one replaces it (its changed box grows to cover both)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._job: RenderJob | None = None
        self._closed = False

    def put(self, job: RenderJob) -> None:
        with self._cond:
            if self._job is not None:
                job = replace(job, region=_merge_boxes(self._job.region, job.region),
                              first_submitted=self._job.first_submitted or self._job.submitted)
            self._job = job
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> RenderJob | None:
        """The pending job (removed), waiting up to ``timeout`` s; None on timeout or when closed."""
        with self._cond:
            if self._job is None and not self._closed:
                self._cond.wait(timeout)
            job, self._job = self._job, None
            return job

    def peek(self) -> RenderJob | None:
        """The pending job, left in the queue."""
        with self._cond:
            return self._job

    def has_pending(self) -> bool:
        with self._cond:
            return self._job is not None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class RenderLoop:
    """The render worker: previews first, the exact frame when idle, newest job wins."""

    def __init__(self, renderer: IncrementalRenderer, on_result: Callable[[RenderOutput], None],
                 on_error: Callable[[int, str], None] | None = None, idle_refresh_s: float = 0.25,
                 cancel_previews: bool = False) -> None:
        self.renderer = renderer
        self.on_result = on_result
        self.on_error = on_error
        self.idle_refresh_s = idle_refresh_s
        self.cancel_previews = cancel_previews
        self.queue = LatestWinsQueue()
        self._exact_due: RenderJob | None = None
        self._thread: threading.Thread | None = None
        self._quick_shown: int | None = None  # version whose quick tile was shown during an update

    # ----- GUI side ---------------------------------------------------------------------------------
    def submit(self, job: RenderJob) -> None:
        self.queue.put(job)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="render-loop", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.queue.close()
        if self._thread is not None:
            self._thread.join(timeout)

    # ----- worker side ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self.queue.closed:
            self.process_one(self.idle_refresh_s if self._exact_due is not None else 0.5)

    def _stopping(self) -> bool:
        return self.queue.closed

    def _newer_or_stopping(self) -> bool:
        return self.queue.closed or self.queue.has_pending()

    def process_one(self, timeout: float | None) -> RenderOutput | None:
        """Wait up to ``timeout`` for a job and render its preview; on timeout render the exact frame
        if one is due. Returns what was delivered (also passed to ``on_result``)."""
        job = self.queue.take(timeout)
        if job is not None:
            return self._preview(job)
        if self._exact_due is not None and not self.queue.closed:
            return self._exact(self._exact_due)
        return None

    def _quick(self, job: RenderJob) -> None:
        """Show the quick tile of ``job`` (LocalEnhancer only)."""
        start = time.perf_counter()
        try:
            tile = self.renderer.quick_preview(job.labels, job.instances, job.styles, job.region, job.seed)
        except Exception:  # the accurate update reports errors
            log.exception("quick preview failed")
            return
        if tile is not None:
            self._quick_shown = job.version
            self.on_result(RenderOutput(job.version, "quick", tile.image, tile.box,
                                        (time.perf_counter() - start) * 1e3, job.first_submitted or job.submitted))

    def _between_layers(self) -> None:
        """While an update runs: give a newly queued edit its quick tile at once."""
        pending = self.queue.peek()
        if pending is not None and pending.version != self._quick_shown:
            self._quick(pending)

    def _preview(self, job: RenderJob) -> RenderOutput | None:
        quick = self.renderer.has_quick_preview and self.renderer.ready
        if quick:
            if job.version != self._quick_shown:
                self._quick(job)
            if self.queue.has_pending():
                return None  # the newer job supersedes this one's accurate update
        start = time.perf_counter()
        cancel = self._newer_or_stopping if self.cancel_previews else self._stopping
        try:
            tile = self.renderer.update(job.labels, job.instances, job.styles, job.region, job.seed, cancel,
                                        between_layers=self._between_layers if quick else None)
        except Exception as exc:  # a render must never take the editor down
            log.exception("incremental render failed")
            if self.on_error:
                self.on_error(job.version, f"render failed: {exc}")
            return None
        if tile is None:  # cancelled: the newer job carries these changes too
            return None
        self._exact_due = job
        output = RenderOutput(job.version, "preview", tile.image, tile.box, (time.perf_counter() - start) * 1e3,
                              job.first_submitted or job.submitted)
        self.on_result(output)
        return output

    def _exact(self, job: RenderJob) -> RenderOutput | None:
        start = time.perf_counter()
        try:
            image = self.renderer.full(job.labels, job.instances, job.styles, job.seed, self._newer_or_stopping)
        except Exception as exc:
            log.exception("full render failed")
            self._exact_due = None
            if self.on_error:
                self.on_error(job.version, f"render failed: {exc}")
            return None
        if image is None:
            return None  # a newer job arrived: it gets its preview, then its own exact frame
        self._exact_due = None
        height, width = image.shape[:2]
        output = RenderOutput(job.version, "exact", image, (0, 0, width, height),
                              (time.perf_counter() - start) * 1e3, job.first_submitted or job.submitted)
        self.on_result(output)
        return output
