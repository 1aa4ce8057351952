"""The project's own error types.

Every failure a user can cause (a bad file, a mismatched checkpoint) is raised as one of these,
with a one-line message that names the file and the problem. The CLI and the editor show that line
and never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path


class EditorError(Exception):
    """Base class of every user-facing error in the project."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        super().__init__(f"{path}: {message}" if path is not None else message)


class LabelSetError(EditorError):
    """A label-set JSON file is malformed or inconsistent."""


class ImageFileError(EditorError):
    """A PNG cannot be read, has the wrong size or holds values outside the label set."""


class CheckpointError(EditorError):
    """A checkpoint is missing, truncated, unsafe or does not fit the requested setup."""


class DatasetError(EditorError):
    """A dataset folder is incomplete or inconsistent."""


class StyleFileError(EditorError):
    """A styles JSON file is malformed."""


def read_json_file(path: str | Path, error: type[EditorError], what: str) -> object:
    """Parse a JSON file; a missing or unreadable file raises ``error`` naming it and ``what`` it is."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} not found", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"cannot read {what} ({exc})", path) from None
