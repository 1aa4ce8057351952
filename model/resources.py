"""Where the files that ship with the program live: the default model, the sample scenes, label sets.

Every caller asks here; nothing looks relative to the current folder, so every entry point works
from any folder. The same relative paths (``checkpoints/default``, ``assets/scenes``) hold under
one of two roots, tried in this order:

1. installed (a wheel: ``pip install .``, ``pipx install .``): the build maps the repository's
   top-level ``checkpoints/default``, ``checkpoints/inpainter`` and ``assets/scenes`` into the
   ``pix2pixhd_editor`` package (see setup.py), found here with ``importlib.resources``;
2. a checkout (plain, or an editable install): the repository itself, the folder that holds the
   ``model`` package and a ``pyproject.toml``.

Label sets are package data of ``model`` in both layouts.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

BUNDLE_PACKAGE = "pix2pixhd_editor"  # the package a wheel carries the bundled files in
DEFAULT_CHECKPOINT = ("checkpoints", "default")  # relative to a bundle root
INPAINTER_CHECKPOINT = ("checkpoints", "inpainter")  # the anomaly inpainter (issue 23)
SAMPLE_SCENES = ("assets", "scenes")


def _package_dir(package: str) -> Path | None:
    """The folder of an importable package on disk, or None (not importable, or inside a zip)."""
    try:
        folder = importlib.resources.files(package)
    except ModuleNotFoundError:
        return None
    return folder if isinstance(folder, Path) else None


def checkout_root() -> Path | None:
    """The repository folder when the code runs from a checkout, else None (an installed wheel)."""
    model_dir = _package_dir("model")
    if model_dir is None:
        return None
    root = model_dir.parent
    return root if (root / "pyproject.toml").is_file() else None


def bundle_roots() -> list[Path]:
    """The folders the bundled files are looked for under, first match wins."""
    roots = [root for root in (_package_dir(BUNDLE_PACKAGE), checkout_root()) if root is not None]
    return list(dict.fromkeys(roots))


def bundled(*parts: str) -> Path:
    """The first existing ``root/parts`` over :func:`bundle_roots`; if none exists, the first
    candidate (so an error message names where it was expected)."""
    candidates = [root.joinpath(*parts) for root in bundle_roots()]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    if not candidates:
        raise RuntimeError(f"cannot locate the {BUNDLE_PACKAGE} or model package folder on disk")
    return candidates[0]


def default_checkpoint_dir() -> Path:
    """The bundled default model's folder (native checkpoint: safetensors + JSON)."""
    return bundled(*DEFAULT_CHECKPOINT)


def inpainter_dir() -> Path:
    """The bundled anomaly inpainter's folder (safetensors + JSON, see ``model.anomaly.inpainter``)."""
    return bundled(*INPAINTER_CHECKPOINT)


def sample_scenes_dir() -> Path:
    """The folder of the bundled sample scenes (labelIds + instanceIds PNGs + styles JSON)."""
    return bundled(*SAMPLE_SCENES)


def sample_scenes() -> list[Path]:
    """The bundled scenes' ``*_labelIds.png`` files, sorted by name (empty when none ship)."""
    return sorted(sample_scenes_dir().glob("*_labelIds.png"))


def label_sets_dir() -> Path:
    """The folder of the label set JSON tables (``cityscapes.json``, …)."""
    folder = _package_dir("model")
    if folder is None:
        raise RuntimeError("cannot locate the model package folder on disk")
    return folder / "label_sets"
