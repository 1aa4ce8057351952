"""Procedural street scenes in the pix2pixHD / Cityscapes format.

layout.py orders the drawing stages (ground, buildings, vegetation, furniture, clutter, vehicles,
people, hood) over the shared state in base.py; shading.py turns the primitive raster into a photo;
writing.py writes datasets. Scene i depends only on (seed, i) and the config.
"""

from model.data.procedural.base import SceneConfig
from model.data.procedural.classes import STUFF_CLASSES, THING_CLASSES
from model.data.procedural.layout import GENERATOR_VERSION, generate_scene
from model.data.procedural.writing import (
    DATASET_JSON,
    encode_png_fast,
    read_dataset_record,
    scene_name,
    split_seed,
    write_dataset,
)

__all__ = [
    "DATASET_JSON",
    "GENERATOR_VERSION",
    "STUFF_CLASSES",
    "THING_CLASSES",
    "SceneConfig",
    "encode_png_fast",
    "generate_scene",
    "read_dataset_record",
    "scene_name",
    "split_seed",
    "write_dataset",
]
