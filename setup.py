"""The build's file layout; everything else about the distribution is in pyproject.toml.

The repository keeps the bundled default model, the anomaly inpainter and the sample scenes at its
top level (``checkpoints/default``, ``checkpoints/inpainter``, ``assets/scenes``), yet a wheel must
carry them inside a package, where ``model/resources.py`` finds them with ``importlib.resources``.
``package_dir`` maps a package name onto any folder, so the folders become data-only packages
(``pix2pixhd_editor.checkpoints.default``, ``pix2pixhd_editor.checkpoints.inpainter``,
``pix2pixhd_editor.assets.scenes``): the wheel holds ``pix2pixhd_editor/checkpoints/default/…``,
an sdist holds the folders where they are, and an editable install points at the repository's own
copies. This needs a file because pyproject.toml lists packages either by discovery or by hand,
not both: here discovery finds the code, so a new subpackage needs no edit, and the data packages
are added by name.
"""

from setuptools import find_packages, setup

BUNDLED = {  # package name → repository folder
    "pix2pixhd_editor.checkpoints.default": "checkpoints/default",
    "pix2pixhd_editor.checkpoints.inpainter": "checkpoints/inpainter",
    "pix2pixhd_editor.assets.scenes": "assets/scenes",
}
BUNDLED_FILES = ["*.safetensors", "*.json", "*.npz", "*.md", "*.png"]  # never pickles

setup(
    py_modules=["main"],
    packages=find_packages(include=["model*", "editor*", "cli*", "pix2pixhd_editor"]) + list(BUNDLED),
    package_dir=BUNDLED,
    package_data={"model": ["label_sets/*.json"], **{name: BUNDLED_FILES for name in BUNDLED}},
)
