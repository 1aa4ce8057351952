import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("P2P_LOG_DIR", tempfile.mkdtemp(prefix="p2p-test-logs-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
