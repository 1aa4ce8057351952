"""Tiny seeded generators and a small street scene with edits, for the incremental renderer's tests."""

from __future__ import annotations

import numpy as np

from model.networks.generator import GeneratorConfig
from model.render.full import Renderer
from model.render.random_models import random_model
from support.render_scenes import street_scene

HEIGHT, WIDTH = 70, 100  # not a multiple of the stride: exercises the edge padding too


def tiny(
    n_local: int, features: bool = True, seed: int = 0, upsampler: str = "transposed", noise: int = 0
) -> Renderer:
    feat = 3 if features else 0
    config = GeneratorConfig(
        input_nc=35 + 1 + feat + noise,
        ngf=4,
        n_downsample_global=2,
        n_blocks_global=2,
        n_local_enhancers=n_local,
        n_blocks_local=1,
        upsampler=upsampler,  # type: ignore[arg-type]
        noise_nc=noise,
    )
    return Renderer(random_model(config, feat_num=feat, seed=seed), "cpu")


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return street_scene(WIDTH, HEIGHT, seed=seed)


def edit(
    labels: np.ndarray,
    instances: np.ndarray,
    box: tuple[int, int, int, int],
    class_id: int,
    instance: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = box
    labels, instances = labels.copy(), instances.copy()
    labels[y0:y1, x0:x1] = class_id
    instances[y0:y1, x0:x1] = class_id if instance is None else instance
    return labels, instances


EDITS = [
    (0, 0, 5, 4),  # top-left corner
    (WIDTH - 3, HEIGHT - 6, WIDTH, HEIGHT),  # bottom-right corner (touches the padded rows)
    (0, 30, 2, 41),  # left border
    (40, 0, 61, 1),  # top border, one row
    (WIDTH - 1, 10, WIDTH, 60),  # right border, one column
    (47, 33, 48, 34),  # one pixel
    (10, 10, 90, 60),  # most of the frame
    (0, 0, WIDTH, HEIGHT),  # everything
]
