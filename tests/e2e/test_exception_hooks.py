"""Uncaught exceptions (in a slot, a QThread, a Python thread, or inside app.main) are logged and
shown as one line, and the editor keeps running.

Run with ``-s`` to see the dialog texts.
"""

from __future__ import annotations

import sys
import threading

import pytest
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from support.gui import (
    paint_some,
)

from editor.main_window import MainWindow


def _read_log() -> str:
    import logging

    from model.app_logging import setup_logging

    path = setup_logging()
    assert path is not None
    for handler in logging.getLogger().handlers:
        if (
            getattr(handler, "_p2p_log_file", None) is not None
        ):  # the file (an earlier test's console may be closed)
            handler.flush()
    return path.read_text(encoding="utf-8")


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_is_logged_shown_and_survived(window_factory, qtbot, dialogs) -> None:
    from editor.error_hook import ErrorHook, message_box

    window = window_factory()
    from model.app_logging import setup_logging

    hook = ErrorHook(message_box(lambda: window), setup_logging()).install()
    try:

        def broken_slot() -> None:
            raise ZeroDivisionError("reliability-test slot failure")

        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: bool(dialogs), timeout=5000)
        brush = window.tools["brush"]
        original = brush.press
        brush.press = lambda pos, event: (_ for _ in ()).throw(RuntimeError("reliability-test press failure"))
        window.set_tool("brush")
        viewport = window.canvas.viewport()
        pos = window.canvas.viewportTransform().map(QPointF(40, 40))
        for _ in range(5):  # a burst of the same error, from the event loop: logged each time, one dialog
            for kind, buttons in (
                (QEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton),
                (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
            ):
                QApplication.postEvent(
                    viewport,
                    QMouseEvent(
                        kind,
                        pos,
                        viewport.mapToGlobal(pos),
                        Qt.MouseButton.LeftButton,
                        buttons,
                        Qt.KeyboardModifier.NoModifier,
                    ),
                )
        qtbot.waitUntil(lambda: hook.count == 6, timeout=5000)
        brush.press = original
    finally:
        hook.uninstall()
    print(f"\n  uncaught exceptions: {dialogs!r}")
    assert len(dialogs) == 2 and all("\n" not in d for d in dialogs)
    assert dialogs[0].startswith(
        "Unexpected error: ZeroDivisionError: reliability-test slot failure. "
        "The editor keeps running; details are in "
    )
    assert "RuntimeError: reliability-test press failure" in dialogs[1]
    assert hook.count == 6
    text = _read_log()
    assert "reliability-test slot failure" in text and "in broken_slot" in text and "Traceback" in text
    assert text.count("RuntimeError: reliability-test press failure") >= 5
    paint_some(window, 1)  # still running and editing
    assert window.state.stack.count() == 1 and window.isVisible()


@pytest.mark.qt_no_exception_capture
def test_exception_in_worker_threads_reaches_the_gui_as_one_line(window_factory, qtbot, dialogs) -> None:
    from PySide6.QtCore import QThread

    from editor.error_hook import ErrorHook, message_box
    from model.app_logging import setup_logging

    window = window_factory()
    hook = ErrorHook(message_box(lambda: window), setup_logging()).install()

    class Broken(QThread):
        def run(self) -> None:
            raise KeyError("reliability-test qthread failure")

    def python_thread() -> None:
        raise OSError("reliability-test python thread failure")

    try:
        worker = Broken()
        worker.start()
        worker.wait(5000)
        thread = threading.Thread(target=python_thread)
        thread.start()
        thread.join(5)
        qtbot.waitUntil(lambda: len(dialogs) == 2, timeout=5000)  # shown on the GUI thread, queued
    finally:
        hook.uninstall()
    print(f"\n  worker-thread exceptions: {dialogs!r}")
    assert any("KeyError: 'reliability-test qthread failure'" in d for d in dialogs)
    assert any("OSError: reliability-test python thread failure" in d for d in dialogs)
    assert threading.excepthook is not hook._thread_hook
    assert "reliability-test qthread failure" in _read_log()


def test_app_main_sets_up_logging_and_the_hook(qtbot, tmp_path, dialogs, monkeypatch) -> None:
    """app.main installs the hook for its event loop (and removes it after); the hook logs and shows one line.

    The exception is handed to the installed hook directly: raising inside app.main's own loop
    works (see the test above for a real slot) but leaves later event loops of the test process stuck.
    """
    import editor.app
    from editor import main_window

    created: list[MainWindow] = []

    class Recorded(MainWindow):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(
                QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                load_default=False,
                size=(64, 32),
            )
            self.files.confirm_discard = lambda: True
            created.append(self)

    monkeypatch.setattr(main_window, "MainWindow", Recorded)
    hooks = []

    def fail() -> None:
        hooks.append(sys.excepthook)
        try:
            raise ValueError("reliability-test failure inside app.main")
        except ValueError:
            sys.excepthook(*sys.exc_info())

    QTimer.singleShot(0, fail)  # both timers start before app.main's event loop
    QTimer.singleShot(0, QApplication.instance().quit)
    previous = sys.excepthook
    assert editor.app.main([]) == 0
    assert created and not created[0].worker.isRunning()
    assert type(hooks[0]).__name__ == "ErrorHook" and sys.excepthook is previous  # installed, then removed
    assert len(dialogs) == 1 and "ValueError: reliability-test failure inside app.main" in dialogs[0]
    assert "reliability-test failure inside app.main" in _read_log()
    created[0].close()
