"""Helpers shared by tests in several folders (scenes, fake renderers, GUI events, broken files)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
