"""pix2pixHD networks: generators, discriminators and the feature encoder."""

from model.networks.discriminator import MultiscaleDiscriminator, NLayerDiscriminator
from model.networks.encoder import FeatureEncoder, instance_average
from model.networks.generator import GeneratorConfig, GlobalGenerator, LocalEnhancer, build_generator

__all__ = [
    "FeatureEncoder",
    "GeneratorConfig",
    "GlobalGenerator",
    "LocalEnhancer",
    "MultiscaleDiscriminator",
    "NLayerDiscriminator",
    "build_generator",
    "instance_average",
]
