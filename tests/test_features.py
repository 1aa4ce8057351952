"""Per-instance encoding, k-means styles and the encode-features command."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from model.checkpoint import load_clusters, make_random_checkpoint
from model.features import cluster_features, encoder_features, instance_colours, raw_instance_codes
from model.networks.encoder import FeatureEncoder, instance_average
from test_train import write_folder


def test_encoder_features_full_resolution_is_instance_average():
    torch.manual_seed(0)
    encoder = FeatureEncoder(nef=4, n_downsampling=2)
    image = torch.rand(2, 3, 32, 64) * 2 - 1
    instances = torch.randint(0, 4, (2, 32, 64)) * 1000 + 26000
    expected = instance_average(encoder.model(image), instances)
    torch.testing.assert_close(encoder_features(encoder, image, instances, 0), expected)


def test_encoder_features_downsampled_are_constant_per_instance():
    torch.manual_seed(0)
    encoder = FeatureEncoder(nef=4, n_downsampling=2)
    image = torch.rand(1, 3, 32, 64) * 2 - 1
    instances = torch.full((1, 32, 64), 7)
    instances[:, 8:24, 10:30] = 26001
    instances[:, 1, 1] = 26002  # a one-pixel instance vanishes when subsampled: zero code
    features = encoder_features(encoder, image, instances, downsample=1)
    assert features.shape == (1, 3, 32, 64)
    car = features[0, :, instances[0] == 26001]
    torch.testing.assert_close(car, car[:, :1].expand_as(car))
    assert torch.all(features[0, :, 1, 1] == 0)
    assert car.abs().sum() > 0


def test_instance_colours_line_up_with_the_codes():
    encoder = FeatureEncoder(nef=4, n_downsampling=2)
    image = torch.zeros(2, 3, 16, 32)
    instances = torch.full((2, 16, 32), 7)
    instances[1, :, 16:] = 26001
    image[0] = 0.5  # image 0: all road, grey
    image[1, 0, :, 16:] = 1.0  # image 1: a red car on black road
    unique, codes, _ = raw_instance_codes(encoder, image, instances, downsample=1)
    colours = instance_colours(image, instances, downsample=1)
    assert unique.tolist() == [[0, 7], [1, 7], [1, 26001]]
    assert colours.shape == (3, 3) and codes.shape == (3, 3)
    expected = torch.tensor([[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    torch.testing.assert_close(colours, expected, atol=0.05, rtol=0)  # pooling blurs the car's edge a little


def test_cluster_features_finds_known_modes():
    rng = np.random.default_rng(0)
    modes = np.array([[-0.8, 0.0, 0.5], [0.0, 0.7, -0.5], [0.9, -0.6, 0.0]], np.float32)
    members = (40, 60, 20)
    codes = np.concatenate([m + rng.normal(0, 0.02, (n, 3)) for m, n in zip(modes, members)]).astype(np.float32)
    clusters = cluster_features({26: codes, 7: modes[:1]}, k=3, seed=0)
    np.testing.assert_allclose(clusters[26], modes[[1, 0, 2]], atol=0.02)  # most populated first
    np.testing.assert_allclose(clusters[7], modes[:1])
    with pytest.raises(ValueError):
        cluster_features({26: codes}, k=11)


def test_unstyled_regions_take_the_most_common_look_and_objects_vary():
    from model.render.styles import StyleTable

    centres = {7: np.arange(12, dtype=np.float32).reshape(4, 3), 26: np.arange(30, dtype=np.float32).reshape(10, 3)}
    table = StyleTable(centres, 35, 3)
    ids = np.array([7, 26, *range(26000, 26040)])
    for seed in range(5):
        picked = table.default_cluster(ids, seed)
        assert picked[0] == 0 and picked[1] == 0  # road, and cars painted without instance ids
    objects = np.stack([table.default_cluster(ids, seed)[2:] for seed in range(5)])
    assert len(np.unique(objects)) > 5  # cars get varied looks, and a new seed changes them
    assert (objects[0] != objects[1]).any()
    official = StyleTable(centres, 35, 3, most_common_first=False)  # cluster order unknown: hash
    assert len({int(official.default_cluster(np.array([7]), seed)[0]) for seed in range(20)}) > 1


def test_encode_features_cli_gives_known_clusters(tmp_path):
    """An encoder whose output is the constant tanh(bias) gives exactly one centre per class."""
    from main import run_command

    checkpoint = make_random_checkpoint(tmp_path / "ckpt", tiny=True, with_features=True)
    state = load_file(str(checkpoint / "encoder.safetensors"))
    last = max((k for k in state if k.endswith(".weight")), key=lambda k: int(k.split(".")[1]))
    state = {k: torch.zeros_like(v) for k, v in state.items()}
    bias = torch.tensor([0.3, -0.2, 0.5])
    state[last.replace("weight", "bias")] = bias
    save_file(state, str(checkpoint / "encoder.safetensors"))
    write_folder(tmp_path / "data", "train", 3)
    assert run_command(["encode-features", "--checkpoint", str(checkpoint), "--data", str(tmp_path / "data"),
                        "--min-pixels", "4"]) == 0
    clusters = load_clusters(checkpoint / "clusters.npz")
    assert sorted(clusters) == [7, 11, 23, 26]
    for centres in clusters.values():
        np.testing.assert_allclose(centres, torch.tanh(bias)[None].numpy(), atol=2e-5)


def test_encode_features_cli_needs_an_encoder(tmp_path, capsys):
    from main import run_command

    checkpoint = make_random_checkpoint(tmp_path / "ckpt", tiny=True, with_features=False)
    write_folder(tmp_path / "data", "train", 1)
    assert run_command(["encode-features", "--checkpoint", str(checkpoint), "--data", str(tmp_path / "data")]) == 2
    assert "encoder" in capsys.readouterr().err
