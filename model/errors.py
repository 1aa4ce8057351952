"""The project's own error types.

Every failure a user can cause (a bad file, a mismatched checkpoint) is raised as one of these,
with a one-line message that names the file and the problem. The CLI and the editor show that line
and never a traceback.
"""
from __future__ import annotations

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
