"""Random-weight models for timing without weights: the bundled default's architecture (read from
its own ``config.json``, so there is one description of it) and pix2pixHD's released 1024p one."""

from __future__ import annotations

import json

import numpy as np
import torch

from model.checkpoint import CONFIG_FILE, LoadedModel, ModelConfig
from model.labels import LabelSet, cityscapes
from model.networks.encoder import EncoderConfig
from model.networks.generator import GeneratorConfig, build_generator
from model.resources import default_checkpoint_dir


def default_model_config() -> ModelConfig:
    """The bundled default's ``config.json`` (architecture, label set, features)."""
    path = default_checkpoint_dir() / CONFIG_FILE
    return ModelConfig.from_json(json.loads(path.read_text(encoding="utf-8")), path)


def default_generator_config() -> GeneratorConfig:
    """The bundled default's generator architecture, from its checkpoint's config."""
    return default_model_config().generator


def official_generator_config(input_nc: int = 36) -> GeneratorConfig:
    """pix2pixHD's released label2city_1024p netG (182.9M parameters)."""
    return GeneratorConfig(
        input_nc=input_nc,
        ngf=32,
        n_downsample_global=4,
        n_blocks_global=9,
        n_local_enhancers=1,
        n_blocks_local=3,
    )


def random_model(
    generator: GeneratorConfig, label_set: LabelSet | None = None, feat_num: int | None = None, seed: int = 0
) -> LoadedModel:
    """A LoadedModel with random weights (and random cluster centres when it takes features)."""
    label_set = label_set or cityscapes()
    if feat_num is None:
        feat_num = generator.input_nc - label_set.num_classes - 1 - generator.noise_nc
    torch.manual_seed(seed)
    config = ModelConfig(
        generator,
        label_set,
        use_edges=True,
        feat_num=feat_num,
        encoder=EncoderConfig(feat_num=feat_num) if feat_num else None,
    )
    rng = np.random.default_rng(seed)
    clusters = (
        {lab.id: rng.uniform(-1, 1, size=(4, feat_num)).astype(np.float32) for lab in label_set.labels}
        if feat_num
        else {}
    )
    return LoadedModel(config, build_generator(generator).eval(), None, clusters)
