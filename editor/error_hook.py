"""Uncaught exceptions (in Qt slots, event handlers, timers) go to the log file and a one-line dialog.

PySide6 reports an exception raised in a slot through ``sys.excepthook`` and carries on, so this
hook is what keeps a bug from either killing the editor or vanishing: the traceback is written to
the log file and the user sees one line naming the error and the log file. A burst of the same
error (a failing paint handler repeats on every repaint) shows one dialog, not hundreds.
"""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from model.errors import EditorError

log = logging.getLogger(__name__)

ShowError = Callable[[str], None]
REPEAT_QUIET_S = 10.0  # the same message again within this time goes to the log only


def one_line(exc: BaseException, log_file: Path | None) -> str:
    if isinstance(exc, EditorError):
        text = str(exc)
    else:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        text = f"Unexpected error: {exc.__class__.__name__}" + (f": {detail}" if detail else "")
        text += ". The editor keeps running"
        text += f"; details are in {log_file}" if log_file is not None else ""
    text = " ".join(text.split())
    return text if len(text) <= 400 else text[:399] + "…"


class ErrorHook:
    """A ``sys.excepthook``: log with traceback, then ``show`` one line (never re-entrantly)."""

    def __init__(self, show: ShowError, log_file: Path | None = None) -> None:
        self.show = show
        self.log_file = log_file
        self.previous = sys.excepthook
        self.count = 0
        self._showing = False
        self._last: tuple[str, float] | None = None

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self.previous(exc_type, exc, tb)
            return
        self.count += 1
        message = one_line(exc, self.log_file)
        log.error("uncaught exception: %s", message)  # one line on the console
        log.debug("uncaught exception, traceback:", exc_info=(exc_type, exc, tb))  # the log file (DEBUG) has it all
        now = time.monotonic()
        repeated = self._last is not None and self._last[0] == message and now - self._last[1] < REPEAT_QUIET_S
        if self._showing or repeated:
            return
        self._last = (message, now)
        self._showing = True
        try:
            self.show(message)
        except Exception:
            log.exception("could not show the error dialog")
        finally:
            self._showing = False

    def install(self) -> ErrorHook:
        self.previous = sys.excepthook
        sys.excepthook = self
        return self

    def uninstall(self) -> None:
        if sys.excepthook is self:
            sys.excepthook = self.previous


def message_box(parent_of: Callable[[], object | None]) -> ShowError:
    """A ShowError that opens a warning box over the current main window."""

    def show(message: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(parent_of(), "pix2pixHD editor", message)

    return show
