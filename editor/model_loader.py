"""Loading a model off the GUI thread (a big official checkpoint takes seconds to read)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

from model.errors import EditorError

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"


class ModelLoader(QThread):
    """Loads ``Renderer.from_checkpoint(path)``; emits ``loaded(renderer, path)`` or ``failed(message)``."""

    loaded = Signal(object, object)
    failed = Signal(str)

    def __init__(self, path: Path, parent: Any = None) -> None:
        super().__init__(parent)
        self.path = Path(path)

    def run(self) -> None:
        try:
            from model.render.full import Renderer

            renderer = Renderer.from_checkpoint(self.path)
        except EditorError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # an unexpected failure still must not crash the editor
            log.exception("loading %s failed", self.path)
            self.failed.emit(f"{self.path}: cannot load model ({exc.__class__.__name__}: {exc})")
            return
        self.loaded.emit(renderer, self.path)
