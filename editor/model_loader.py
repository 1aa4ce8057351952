"""Loading a model off the GUI thread (a big official checkpoint takes seconds to read).

The loader also builds the incremental wrapper (its layer plan takes a while for a big model), so
switching incremental rendering on or off later only swaps objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

from editor.heap import settle_long_lived_objects
from editor.render_setup import CachePlan, wrap_incremental
from model.errors import EditorError
from model.resources import default_checkpoint_dir

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = default_checkpoint_dir()


@dataclass(frozen=True)
class ModelBundle:
    """What the editor keeps of a loaded model: the renderer, its incremental wrapper and cache plan."""

    renderer: Any  # model.render.full.Renderer
    incremental: Any  # its IncrementalRenderer, or None when it cannot be built
    cache: CachePlan | None


class ModelLoader(QThread):
    """Loads ``Renderer.from_checkpoint(path)``; emits ``loaded(ModelBundle, path)`` or ``failed(message)``."""

    loaded = Signal(object, object)
    failed = Signal(str)

    def __init__(
        self,
        path: Path,
        parent: Any = None,
        size: tuple[int, int] = (2048, 1024),
        precision: str | None = None,
    ) -> None:
        """``precision``: "auto", "fp32" or "bf16" (None: P2P_PRECISION, else auto); auto measures
        this machine on the first load of a model (model.render.precision), here off the GUI thread."""
        super().__init__(parent)
        self.path = Path(path)
        self.size = size
        self.precision = precision

    def run(self) -> None:
        try:
            from model.render.full import Renderer

            renderer = Renderer.from_checkpoint(self.path, precision=self.precision)
        except EditorError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # an unexpected failure still must not crash the editor
            log.exception("loading %s failed", self.path)
            self.failed.emit(f"{self.path}: cannot load model ({exc.__class__.__name__}: {exc})")
            return
        incremental, cache = None, None
        try:
            incremental, cache = wrap_incremental(renderer, self.size)
        except Exception:
            log.exception("incremental rendering is unavailable for %s; using full renders", self.path)
        settle_long_lived_objects()  # torch and the model stay for good: keep full collections off them
        self.loaded.emit(ModelBundle(renderer, incremental, cache), self.path)
