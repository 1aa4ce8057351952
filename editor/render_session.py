"""What the render worker does with one request, for any renderer (no Qt here).

Every result leaves as a ready display buffer (BGRA, see ``editor.pixels``) with the box it covers,
so the GUI thread only pastes a rectangle. Three kinds of renderer are served:

* a plain renderer (``render()``): the whole frame is rendered, compared with the frame the canvas
  shows, and only the changed box is sent (``kind="full"``, exact);
* an incremental renderer (``update()``, optionally ``full()`` / ``quick_preview()`` as
  ``model.render.incremental.IncrementalRenderer``): a stroke gets a *quick* tile first (finest
  level only, not committed to the cache), then the incremental *update* tile; when the editor is
  idle, ``refresh()`` runs a full pass with live InstanceNorm statistics and sends the *exact*
  frame. A request without a region (open, styles) goes straight to the full pass.

Stale tiles: a quick tile is provisional, and the cache never learns of it. If its request is
superseded before its update runs (an undo, say), the newer update may change nothing there, so
the provisional pixels would stay on screen. Every committed update therefore also repaints the
provisional boxes of its version and older ones from the cache.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from editor.pixels import Box, box_area, changed_box, to_bgra, union_box

log = logging.getLogger(__name__)

Kind = Literal["quick", "update", "full", "exact"]


@dataclass(frozen=True)
class Output:
    """A frame or tile ready for the canvas: ``bgra`` H×W×4, placed at ``box`` (None: whole frame)."""

    version: int
    kind: Kind
    bgra: np.ndarray
    box: Box | None
    seconds: float

    @property
    def exact(self) -> bool:
        return self.kind in ("full", "exact")


def _tile_box(tile: Any, width: int, height: int) -> Box | None:
    x0, y0, x1, y1 = (int(v) for v in tile.box)
    x1, y1 = min(x1, width), min(y1, height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 and tile.image.size else None


class RenderSession:
    """Renders requests for one renderer and reports :class:`Output` through ``emit``.

    ``superseded()`` is true when a newer request waits (or the worker stops); ``stopping()`` only
    when the worker stops. ``peek()`` returns the waiting request, if any (for quick tiles of edits
    that arrive while an update runs).
    """

    def __init__(self, renderer: Any, emit: Callable[[Output], None], superseded: Callable[[], bool],
                 stopping: Callable[[], bool], peek: Callable[[], Any] | None = None) -> None:
        self.renderer = renderer
        self.emit = emit
        self.superseded = superseded
        self.stopping = stopping
        self.peek = peek or (lambda: None)
        self._shown: np.ndarray | None = None  # plain renderer: the BGRA frame the canvas shows
        self._provisional: list[tuple[int, Box]] = []  # (version, box) of quick tiles not yet repainted
        self._quick_shown: int | None = None
        self._exact_due: Any = None  # the last committed request, until its exact frame is sent

    # ----- capabilities -------------------------------------------------------------------------
    @property
    def incremental(self) -> bool:
        return callable(getattr(self.renderer, "update", None))

    @property
    def _has_quick(self) -> bool:
        return (callable(getattr(self.renderer, "quick_preview", None))
                and bool(getattr(self.renderer, "has_quick_preview", True))
                and callable(getattr(self.renderer, "output_tensor", None)))

    @property
    def refresh_due(self) -> bool:
        return self._exact_due is not None

    @property
    def due_version(self) -> int:
        return -1 if self._exact_due is None else int(self._exact_due.version)

    def drop_refresh(self) -> None:
        """Forget the pending exact frame (after a failure: do not retry it forever)."""
        self._exact_due = None

    # ----- requests -----------------------------------------------------------------------------
    def render(self, request: Any) -> None:
        if not self.incremental:
            self._plain(request)
        elif callable(getattr(self.renderer, "full", None)) and (
                request.region is None or not getattr(self.renderer, "ready", True)):
            # the whole frame is needed (open, styles, no cache yet): strokes queued meanwhile do not
            # cancel it, since their updates need its cache; only another whole-frame change does
            self._full_pass(request, self._whole_frame_pending)
        else:
            self._incremental(request)

    def refresh(self) -> None:
        """The exact frame of the last committed request (any newer request cancels it)."""
        request = self._exact_due
        if request is not None and callable(getattr(self.renderer, "full", None)):
            self._full_pass(request, self.superseded)
        else:
            self._exact_due = None

    def _whole_frame_pending(self) -> bool:
        if self.stopping():
            return True
        pending = self.peek()
        return pending is not None and pending.region is None

    # ----- plain renderer -----------------------------------------------------------------------
    def _plain(self, request: Any) -> None:
        start = time.perf_counter()
        image = self.renderer.render(request.labels, request.instances, request.styles, request.seed)
        frame = to_bgra(image)
        height, width = frame.shape[:2]
        box: Box | None = None
        if request.region is not None and self._shown is not None and self._shown.shape == frame.shape:
            box = changed_box(self._shown, frame)
            if box is None:
                self._send(request.version, "full", np.zeros((0, 0, 4), np.uint8), (0, 0, 0, 0), start)
                return
            if box_area(box) < 0.5 * width * height:
                x0, y0, x1, y1 = box
                self._shown = frame
                self._send(request.version, "full", np.ascontiguousarray(frame[y0:y1, x0:x1]), box, start)
                return
        self._shown = frame
        self._send(request.version, "full", frame.copy(), None, start)  # the canvas owns what it gets

    # ----- incremental renderer -----------------------------------------------------------------
    def _full_pass(self, request: Any, cancelled: Callable[[], bool]) -> None:
        start = time.perf_counter()
        image = self.renderer.full(request.labels, request.instances, request.styles, request.seed,
                                   cancelled=cancelled)
        if image is None:  # cancelled: the newer request gets its own full pass or refresh
            return
        self._provisional.clear()
        self._quick_shown = None
        self._exact_due = None
        self._send(request.version, "exact", to_bgra(image), None, start)

    def _quick(self, request: Any) -> None:
        start = time.perf_counter()
        try:
            tile = self.renderer.quick_preview(request.labels, request.instances, request.styles, request.region,
                                               request.seed)
        except Exception:
            log.exception("quick preview failed")
            return
        self._quick_shown = request.version
        if tile is None:
            return
        height, width = request.labels.shape
        box = _tile_box(tile, width, height)
        if box is None:
            return
        self._provisional.append((request.version, box))
        self._send(request.version, "quick", to_bgra(tile.image[: box[3] - box[1], : box[2] - box[0]]), box, start)

    def _between_layers(self) -> None:
        pending = self.peek()
        if pending is not None and pending.region is not None and pending.version != self._quick_shown:
            self._quick(pending)

    def _incremental(self, request: Any) -> None:
        quick = self._has_quick and bool(getattr(self.renderer, "ready", True))
        if quick:
            if request.version != self._quick_shown:
                self._quick(request)
            if self.superseded():
                return  # the newer request carries these changes too (the renderer diffs the maps)
        start = time.perf_counter()
        kwargs: dict[str, Any] = {"region": request.region, "seed": request.seed}
        if quick:
            # a started update runs to the end (cancelled updates would pile up into ever larger
            # ones on a busy CPU); newer edits get quick tiles between its layers
            kwargs.update(cancelled=self.stopping, between_layers=self._between_layers)
        else:
            kwargs.update(cancelled=self.superseded)
        tile = self.renderer.update(request.labels, request.instances, request.styles, **kwargs)
        if tile is None:  # cancelled and rolled back: a newer request carries these changes
            return
        height, width = request.labels.shape
        box = _tile_box(tile, width, height)
        image = None if box is None else tile.image[: box[3] - box[1], : box[2] - box[0]]
        stale = [b for v, b in self._provisional if v <= request.version]
        if stale and quick:
            self._provisional = [(v, b) for v, b in self._provisional if v > request.version]
            repaint = box
            for b in stale:
                repaint = union_box(repaint, b)
            assert repaint is not None
            box, image = repaint, self._cached(repaint)
            if self._provisional:
                self._quick_shown = None  # the repaint may cover a newer quick tile: redo it
        # exact already: a renderer without a separate full pass, or an update that had to render it all
        exact = not callable(getattr(self.renderer, "full", None)) or bool(
            getattr(getattr(self.renderer, "last_stats", None), "full", False))
        self._exact_due = None if exact else request
        kind: Kind = "exact" if exact else "update"
        if box is None or image is None:
            self._send(request.version, kind, np.zeros((0, 0, 4), np.uint8), (0, 0, 0, 0), start)
        else:
            self._send(request.version, kind, to_bgra(image), box, start)

    def _cached(self, box: Box) -> np.ndarray:
        """The renderer's cached frame inside ``box`` as H×W×3 uint8."""
        from model.render.full import to_uint8

        x0, y0, x1, y1 = box
        return to_uint8(self.renderer.output_tensor()[:, :, y0:y1, x0:x1])

    def _send(self, version: int, kind: Kind, bgra: np.ndarray, box: Box | None, start: float) -> None:
        self.emit(Output(version, kind, bgra, box, time.perf_counter() - start))
