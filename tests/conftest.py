import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("P2P_LOG_DIR", tempfile.mkdtemp(prefix="p2p-test-logs-"))
os.environ.setdefault("P2P_RECOVERY_DIR", tempfile.mkdtemp(prefix="p2p-test-recovery-"))
# Renders in float32 unless a test asks otherwise: "auto" would measure this machine, and the
# suite's expected values must not depend on which CPU runs it (tests/model/test_precision.py).
os.environ.setdefault("P2P_PRECISION", "fp32")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: model, editor, cli
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/: the shared support package


@pytest.fixture(autouse=True)
def _own_recovery_folder(tmp_path_factory, monkeypatch):
    """Each test autosaves into its own folder: never the user's, never another test's."""
    monkeypatch.setenv("P2P_RECOVERY_DIR", str(tmp_path_factory.mktemp("recovery")))


@pytest.fixture
def settings(tmp_path):
    """The editor's settings in a file of this test's own (windows a test opens share it)."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window_factory(qtbot, settings, monkeypatch):
    """Open active, exposed editor windows with no model (``scene``: a street scene of ``size``);
    extra keyword arguments go to MainWindow. Each is shut down afterwards."""
    from PySide6.QtWidgets import QApplication
    from support.gui import street_scene

    from editor.main_window import MainWindow

    monkeypatch.setenv("P2P_THREADS", "1")
    made: list[MainWindow] = []

    def make(renderer=None, size=(320, 160), scene=True, **kwargs) -> MainWindow:
        window = MainWindow(settings, renderer=renderer, load_default=False, size=size, **kwargs)
        qtbot.addWidget(window)
        window.files.confirm_discard = lambda: True  # no modal prompt in tests
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
        if scene:
            s = street_scene(*size)
            window.state.reset_document(s.labels, s.instances, s.styles, None)
        window.canvas.fit()
        made.append(window)
        return window

    yield make
    for window in made:
        window.shutdown()


@pytest.fixture
def make_window(window_factory):
    """The editor tests' name for conftest's window_factory."""
    return window_factory
