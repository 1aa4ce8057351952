"""Per-instance encoding, k-means styles and the encode-features command."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from support.data import write_folder

from model.checkpoint import load_clusters, make_random_checkpoint
from model.features import cluster_features, encoder_features, instance_colours, raw_instance_codes
from model.networks.encoder import FeatureEncoder, instance_average

if TYPE_CHECKING:
    from model.encoder_fit import PooledPhotos


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
    noisy = [m + rng.normal(0, 0.02, (n, 3)) for m, n in zip(modes, members, strict=True)]
    codes = np.concatenate(noisy).astype(np.float32)
    clusters, members = cluster_features({26: codes, 7: modes[:1]}, k=3, seed=0)
    np.testing.assert_allclose(clusters[26], modes[[1, 0, 2]], atol=0.02)  # most populated first
    np.testing.assert_allclose(clusters[7], modes[:1])
    assert members[26].tolist() == [60, 40, 20] and members[7].tolist() == [1]
    with pytest.raises(ValueError):
        cluster_features({26: codes}, k=11)


def test_unstyled_regions_take_the_most_common_look_and_objects_vary():
    from model.render.styles import StyleTable

    centres = {
        7: np.arange(12, dtype=np.float32).reshape(4, 3),
        26: np.arange(30, dtype=np.float32).reshape(10, 3),
    }
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


def test_unstyled_objects_follow_the_cluster_populations():
    from model.render.styles import StyleTable

    centres = {26: np.arange(12, dtype=np.float32).reshape(4, 3), 27: np.zeros((2, 3), np.float32)}
    table = StyleTable(centres, 35, 3, members={26: np.array([600, 300, 100, 0])})
    cars = np.arange(26000, 27000)
    shares = np.bincount(table.default_cluster(cars, seed=3), minlength=4) / len(cars)
    np.testing.assert_allclose(shares, [0.6, 0.3, 0.1, 0.0], atol=0.04)
    trucks = table.default_cluster(np.arange(27000, 28000), seed=3)  # no members: uniform
    np.testing.assert_allclose(np.bincount(trucks, minlength=2) / len(trucks), [0.5, 0.5], atol=0.05)
    assert (table.default_cluster(cars, 3) == table.default_cluster(cars, 3)).all()


def test_cluster_members_round_trip_and_a_mismatch_is_one_clear_error(tmp_path):
    from model.checkpoint import CheckpointError, save_clusters

    centres = {26: np.ones((3, 3), np.float32)}
    save_clusters(tmp_path / "c.npz", centres, {26: np.array([5, 2, 1])})
    loaded, members = load_clusters(tmp_path / "c.npz")
    assert members[26].tolist() == [5, 2, 1] and loaded[26].shape == (3, 3)
    save_clusters(tmp_path / "old.npz", centres)
    assert load_clusters(tmp_path / "old.npz")[1] == {}  # written before members existed
    save_clusters(tmp_path / "bad.npz", centres, {26: np.array([5, 2])})
    with pytest.raises(CheckpointError, match="members_26"):
        load_clusters(tmp_path / "bad.npz")


def test_encode_features_cli_gives_known_clusters(tmp_path):
    """An encoder whose output is the constant tanh(bias) gives exactly one centre per class."""
    from cli import run_command

    checkpoint = make_random_checkpoint(tmp_path / "ckpt", tiny=True, with_features=True)
    state = load_file(str(checkpoint / "encoder.safetensors"))
    last = max((k for k in state if k.endswith(".weight")), key=lambda k: int(k.split(".")[1]))
    state = {k: torch.zeros_like(v) for k, v in state.items()}
    bias = torch.tensor([0.3, -0.2, 0.5])
    state[last.replace("weight", "bias")] = bias
    save_file(state, str(checkpoint / "encoder.safetensors"))
    write_folder(tmp_path / "data", "train", 3)
    args = [
        "encode-features",
        "--checkpoint",
        str(checkpoint),
        "--data",
        str(tmp_path / "data"),
        "--min-pixels",
        "4",
    ]
    assert run_command(args) == 0
    assert load_clusters(checkpoint / "clusters.npz")[1] == {}  # counts only when asked for
    assert run_command([*args, "--store-members"]) == 0
    clusters, members = load_clusters(checkpoint / "clusters.npz")
    assert sorted(clusters) == [7, 11, 23, 26] and sorted(members) == sorted(clusters)
    assert all(counts.sum() > 0 for counts in members.values())
    for centres in clusters.values():
        np.testing.assert_allclose(centres, torch.tanh(bias)[None].numpy(), atol=2e-5)


def test_encode_features_cli_needs_an_encoder(tmp_path, capsys):
    from cli import run_command

    checkpoint = make_random_checkpoint(tmp_path / "ckpt", tiny=True, with_features=False)
    write_folder(tmp_path / "data", "train", 1)
    assert (
        run_command(["encode-features", "--checkpoint", str(checkpoint), "--data", str(tmp_path / "data")])
        == 2
    )
    assert "encoder" in capsys.readouterr().err


def coloured_blocks(count: int, seed: int = 0) -> PooledPhotos:
    """Photos of 4×4 blocks, each a separate car instance with a random flat colour."""
    from model.encoder_fit import PooledPhotos

    g = torch.Generator().manual_seed(seed)
    block_ids = torch.arange(16).reshape(4, 4).repeat_interleave(8, 0).repeat_interleave(8, 1) + 26000
    colours = torch.rand(count, 16, 3, generator=g) * 2 - 1
    images = colours[:, block_ids - 26000].permute(0, 3, 1, 2).contiguous()
    return PooledPhotos(images, block_ids[None].expand(count, -1, -1).contiguous())


def test_fit_encoder_makes_the_codes_carry_colour():
    from model.encoder_fit import EncoderFitConfig, colour_error, fit_encoder

    torch.manual_seed(0)
    encoder = FeatureEncoder(nef=4, n_downsampling=2)
    photos = coloured_blocks(8)
    before = colour_error(encoder, photos)
    losses = fit_encoder(encoder, photos, EncoderFitConfig(steps=60, batch_size=4, lr=5e-3))
    after = colour_error(encoder, photos)
    assert len(losses) == 60
    assert after < 0.5 * before, (before, after)
    held_out = coloured_blocks(4, seed=1)  # new colours: E reads colour, it did not memorise these
    assert colour_error(encoder, held_out) < 0.6 * before


def test_fit_encoder_cli_writes_a_new_checkpoint_and_refuses_to_overwrite(tmp_path, capsys):
    from cli import run_command
    from model.checkpoint import load_native

    checkpoint = make_random_checkpoint(tmp_path / "ckpt", tiny=True, with_features=True)
    before = {k: v.clone() for k, v in load_file(str(checkpoint / "encoder.safetensors")).items()}
    write_folder(tmp_path / "data", "train", 3)
    out = tmp_path / "fitted"
    args = [
        "fit-encoder",
        "--checkpoint",
        str(checkpoint),
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(out),
        "--steps",
        "3",
        "--encoder-downsample",
        "0",
    ]
    assert run_command(args) == 0
    fitted = load_native(out)
    assert fitted.encoder is not None and not (out / "clusters.npz").exists()
    changed = [k for k, v in fitted.encoder.state_dict().items() if not torch.equal(v, before[k])]
    assert changed  # E moved; the source checkpoint is untouched
    assert all(
        torch.equal(v, load_file(str(checkpoint / "encoder.safetensors"))[k]) for k, v in before.items()
    )
    capsys.readouterr()
    assert run_command(args) == 2
    assert "already exists" in capsys.readouterr().err
