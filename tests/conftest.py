import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("P2P_LOG_DIR", tempfile.mkdtemp(prefix="p2p-test-logs-"))
os.environ.setdefault("P2P_RECOVERY_DIR", tempfile.mkdtemp(prefix="p2p-test-recovery-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(autouse=True)
def _own_recovery_folder(tmp_path_factory, monkeypatch):
    """Each test autosaves into its own folder: never the user's, never another test's."""
    monkeypatch.setenv("P2P_RECOVERY_DIR", str(tmp_path_factory.mktemp("recovery")))


@pytest.fixture
def window_factory(qtbot, tmp_path, monkeypatch):
    """Open editor windows with their own settings file and no model; each is shut down afterwards."""
    from PySide6.QtCore import QSettings
    from test_editor import street_scene

    from editor.main_window import MainWindow

    monkeypatch.setenv("P2P_THREADS", "1")
    made: list[MainWindow] = []

    def make(renderer=None, size=(320, 160), scene=True) -> MainWindow:
        settings = QSettings(str(tmp_path / f"settings{len(made)}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, renderer=renderer, load_default=False, size=size)
        qtbot.addWidget(window)
        window.files.confirm_discard = lambda: True
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        if scene:
            s = street_scene(*size)
            window.state.reset_document(s.labels, s.instances, s.styles, None)
        window.canvas.fit()
        made.append(window)
        return window

    yield make
    for window in made:
        window.shutdown()
