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
