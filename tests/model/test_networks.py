"""Tiny-config shapes and the official pix2pixHD key layout."""

import pytest
import torch

from model.encoding import generator_input, instance_edges, one_hot
from model.networks import (
    FeatureEncoder,
    GeneratorConfig,
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    build_generator,
    instance_average,
)


@pytest.mark.parametrize("n_local", [0, 1, 2])
def test_generator_shapes(n_local):
    torch.manual_seed(0)
    cfg = GeneratorConfig(
        input_nc=6,
        ngf=4,
        n_downsample_global=2,
        n_blocks_global=1,
        n_local_enhancers=n_local,
        n_blocks_local=1,
    )
    g = build_generator(cfg)
    assert isinstance(g, LocalEnhancer if n_local else GlobalGenerator)
    x = torch.randn(2, 6, cfg.stride * 2, cfg.stride * 3)
    y = g(x)
    assert y.shape == (2, 3, cfg.stride * 2, cfg.stride * 3)
    assert y.abs().max() <= 1.0


def test_multiscale_discriminator_returns_features_per_scale():
    d = MultiscaleDiscriminator(input_nc=5, ndf=4, n_layers=3, num_d=3)
    out = d(torch.randn(1, 5, 64, 64))
    assert len(out) == 3 and all(len(scale) == 5 for scale in out)
    assert [scale[-1].shape[1] for scale in out] == [1, 1, 1]
    assert out[0][-1].shape[-1] > out[1][-1].shape[-1] > out[2][-1].shape[-1]
    assert len(d.state_dict()) == 3 * 5 * 2


def test_encoder_output_is_constant_inside_each_instance():
    enc = FeatureEncoder(nef=4, n_downsampling=2)
    inst = torch.zeros(1, 32, 32, dtype=torch.long)
    inst[:, 4:20, 6:30] = 26001
    feat = enc(torch.randn(1, 3, 32, 32), inst)
    assert feat.shape == (1, 3, 32, 32)
    for value in (0, 26001):
        region = feat[0][:, inst[0] == value]
        assert torch.allclose(region, region[:, :1].expand_as(region))


def test_input_encoding_channel_order():
    labels = torch.tensor([[[0, 2], [2, 1]]])
    feat = torch.full((1, 3, 2, 2), 0.5)
    x = generator_input(labels, labels, num_classes=4, features=feat)
    assert x.shape == (1, 4 + 1 + 3, 2, 2)
    assert torch.equal(x[:, :4], one_hot(labels, 4)) and torch.equal(x[:, 4:5], instance_edges(labels))
    assert torch.equal(x[:, 5:], feat)


# ----- official layout ---------------------------------------------------------------------------
# label2city_1024p: --netG local --ngf 32 --n_downsample_global 4 --n_blocks_global 9 --n_blocks_local 3,
# 35 labels + 1 edge channel. The global part is built with ngf 64; conv weights are out×in×k×k and
# transposed-conv weights in×out×k×k. Written from the architecture's facts, not from our code.
OFFICIAL_1024P = {
    "model.1.weight": (64, 36, 7, 7),
    "model.4.weight": (128, 64, 3, 3),
    "model.7.weight": (256, 128, 3, 3),
    "model.10.weight": (512, 256, 3, 3),
    "model.13.weight": (1024, 512, 3, 3),
    **{f"model.{i}.conv_block.{j}.weight": (1024, 1024, 3, 3) for i in range(16, 25) for j in (1, 5)},
    "model.25.weight": (1024, 512, 3, 3),
    "model.28.weight": (512, 256, 3, 3),
    "model.31.weight": (256, 128, 3, 3),
    "model.34.weight": (128, 64, 3, 3),
    "model1_1.1.weight": (32, 36, 7, 7),
    "model1_1.4.weight": (64, 32, 3, 3),
    **{f"model1_2.{i}.conv_block.{j}.weight": (64, 64, 3, 3) for i in range(3) for j in (1, 5)},
    "model1_2.3.weight": (64, 32, 3, 3),
    "model1_2.7.weight": (3, 32, 7, 7),
}


def test_official_label2city_1024p_key_layout():
    cfg = GeneratorConfig(
        input_nc=36, ngf=32, n_downsample_global=4, n_blocks_global=9, n_local_enhancers=1, n_blocks_local=3
    )
    with torch.device("meta"):
        g = build_generator(cfg)
    state = g.state_dict()
    weights = {k: tuple(v.shape) for k, v in state.items() if k.endswith(".weight")}
    assert weights == OFFICIAL_1024P
    biases = {k.removesuffix(".bias") for k in state if k.endswith(".bias")}
    assert biases == {k.removesuffix(".weight") for k in OFFICIAL_1024P}
    n_params = sum(v.numel() for v in state.values())
    assert round(n_params / 1e6, 1) == 182.9
    assert cfg.stride == 32


def test_instance_average_matches_naive_loop():
    torch.manual_seed(1)
    feats = torch.randn(2, 3, 17, 23, dtype=torch.float64)
    inst = torch.randint(0, 5, (2, 17, 23)) * 1000 + torch.randint(0, 3, (2, 17, 23))
    fast = instance_average(feats, inst)
    naive = torch.empty_like(feats)
    for b in range(2):
        for value in inst[b].unique():
            mask = inst[b] == value
            for c in range(3):
                naive[b, c][mask] = feats[b, c][mask].mean()
    assert torch.allclose(fast, naive, atol=1e-6)


def test_instance_average_of_block_maps_keeps_images_apart():
    """Piecewise-constant maps (long runs), with one id running on from image 0 into image 1."""
    torch.manual_seed(3)
    feats = torch.randn(2, 3, 16, 24)
    inst = torch.full((2, 16, 24), 26000)
    inst[:, 4:12, 6:18] = 26001
    inst[0, :, :5] = 7
    expected = torch.empty_like(feats)
    for b in range(2):
        for value in inst[b].unique():
            mask = inst[b] == value
            expected[b][:, mask] = feats[b][:, mask].mean(dim=1, keepdim=True)
    with torch.inference_mode():
        assert torch.allclose(instance_average(feats, inst), expected, atol=1e-6)


def test_edges_match_naive_four_neighbour_rule():
    torch.manual_seed(2)
    inst = torch.randint(0, 3, (1, 9, 11))
    fast = instance_edges(inst)[0, 0]
    naive = torch.zeros(9, 11)
    for y in range(9):
        for x in range(11):
            for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                yy, xx = y + dy, x + dx
                if 0 <= yy < 9 and 0 <= xx < 11 and inst[0, yy, xx] != inst[0, y, x]:
                    naive[y, x] = 1
    assert torch.equal(fast, naive)


def test_resize_conv_equals_nearest_upsampling_then_conv() -> None:
    from model.networks.blocks import ResizeConv

    torch.manual_seed(0)
    layer = ResizeConv(3, 5)
    x = torch.randn(2, 3, 7, 9)
    reference = layer.conv(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
    assert torch.allclose(layer(x), reference, atol=1e-5)
    assert torch.allclose(layer.as_transposed()(x), reference, atol=1e-5)


@pytest.mark.parametrize("upsampler, even", [("resize_conv", True), ("transposed", False)])
def test_only_resize_conv_up_samples_a_constant_map_evenly(upsampler, even) -> None:
    """A constant map comes out constant (away from the border) only if every output phase of
    the up-sampler sums the same kernel taps: the transposed conv's phases differ, a checkerboard."""
    from model.networks.blocks import up

    torch.manual_seed(1)
    layer = up(4, 6, lambda channels: torch.nn.Identity(), upsampler)[0]
    inner = layer(torch.ones(1, 4, 12, 12))[..., 2:-2, 2:-2]
    spread = (inner - inner.mean(dim=(-2, -1), keepdim=True)).abs().max()
    assert (spread < 1e-5) == even


def test_generator_config_rejects_an_unknown_upsampler() -> None:
    with pytest.raises(ValueError, match="upsampler"):
        GeneratorConfig(input_nc=4, upsampler="bicubic")  # type: ignore[arg-type]
