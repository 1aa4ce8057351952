"""Logging to the console and to a rotating file in the user's log folder (attach it to bug reports)."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

APP_NAME = "pix2pixhd-editor"


def log_folder() -> Path:
    """``$P2P_LOG_DIR`` if set, else the platform's user log folder."""
    override = os.environ.get("P2P_LOG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_log_dir

    return Path(user_log_dir(APP_NAME, appauthor=False))


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Console at ``level``; file at DEBUG. Returns the log file, or None if it cannot be written."""
    root = logging.getLogger()
    existing = [h for h in root.handlers if getattr(h, "_p2p_log_file", None) is not None]
    if existing:  # already set up in this process
        return existing[0]._p2p_log_file  # type: ignore[attr-defined]
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler()
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    try:
        folder = log_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{APP_NAME}.log"
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file (%s)", exc)
        return None
    handler._p2p_log_file = path  # type: ignore[attr-defined]
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path
