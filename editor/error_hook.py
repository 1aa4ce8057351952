"""Uncaught exceptions (in Qt slots, event handlers, timers) go to the log file and a one-line dialog.

PySide6 reports an exception raised in a slot through ``sys.excepthook`` and carries on, so this
hook is what keeps a bug from either killing the editor or vanishing: the traceback is written to
the log file and the user sees one line naming the error and the log file. A burst of the same
error (a failing paint handler repeats on every repaint) shows one dialog, not hundreds.
"""

from __future__ import annotations

import logging
import sys
import threading
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
        self._previous_thread_hook = threading.excepthook
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
        log.debug(
            "uncaught exception, traceback:", exc_info=(exc_type, exc, tb)
        )  # the log file (DEBUG) has it all
        now = time.monotonic()
        repeated = (
            self._last is not None and self._last[0] == message and now - self._last[1] < REPEAT_QUIET_S
        )
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

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self(args.exc_type, args.exc_value, args.exc_traceback)

    def install(self) -> ErrorHook:
        """Become ``sys.excepthook`` and ``threading.excepthook`` (Python threads)."""
        self.previous = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        sys.excepthook = self
        threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        if sys.excepthook is self:
            sys.excepthook = self.previous
        if threading.excepthook == self._thread_hook:
            threading.excepthook = self._previous_thread_hook


def message_box(parent_of: Callable[[], object | None]) -> ShowError:
    """A ShowError that opens an error box over the main window, on the GUI thread.

    Call it on the GUI thread (it makes a QObject there). An exception in a worker thread reaches
    the hook on that thread; the message then travels to the GUI thread through a queued signal.
    """
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QMessageBox

    class _Bridge(QObject):
        message = Signal(str)

    bridge = _Bridge()
    bridge.message.connect(lambda text: QMessageBox.critical(parent_of(), "pix2pixHD editor", text))

    def show(message: str) -> None:
        bridge.message.emit(message)  # direct on the GUI thread, queued from any other

    show.bridge = bridge  # type: ignore[attr-defined]  # keeps the QObject alive with the function
    return show
