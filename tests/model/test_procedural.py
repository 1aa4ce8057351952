"""Procedural scenes: determinism, Cityscapes id validity, scaling, dataset writing and the CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli.args import size_type
from cli.make_dataset import add_arguments, run
from model.data.procedural import (
    STUFF_CLASSES,
    THING_CLASSES,
    SceneConfig,
    generate_scene,
    scene_name,
    split_seed,
    write_dataset,
)
from model.labels import INSTANCE_FACTOR, cityscapes

SMALL = SceneConfig(width=256, height=128)


def test_same_seed_same_bytes() -> None:
    a = generate_scene(7, 3, SMALL)
    b = generate_scene(7, 3, SMALL)
    for x, y in zip(a, b, strict=True):
        assert x.tobytes() == y.tobytes()
    c = generate_scene(7, 4, SMALL)
    d = generate_scene(8, 3, SMALL)
    assert a[0].tobytes() != c[0].tobytes()
    assert a[0].tobytes() != d[0].tobytes()


def test_types_and_shapes() -> None:
    image, labels, instances = generate_scene(0, 0, SceneConfig(width=200, height=120))
    assert image.shape == (120, 200, 3) and image.dtype == np.uint8
    assert labels.shape == (120, 200) and labels.dtype == np.uint8
    assert instances.shape == (120, 200) and instances.dtype == np.int32


@pytest.mark.parametrize("index", range(8))
def test_ids_are_valid_cityscapes(index: int) -> None:
    _, labels, instances = generate_scene(11, index, SMALL)
    allowed = set(THING_CLASSES) | set(STUFF_CLASSES)
    assert set(np.unique(labels).tolist()) <= allowed
    cityscapes().check_ids(labels)  # every id is a Cityscapes class
    things = instances >= INSTANCE_FACTOR
    assert np.isin(instances[things] // INSTANCE_FACTOR, THING_CLASSES).all()
    assert (instances[things] // INSTANCE_FACTOR == labels[things]).all()
    assert (instances[~things] == labels[~things]).all()
    assert np.isin(labels[~things], STUFF_CLASSES).all()  # thing pixels always carry an instance
    assert instances.max() <= 65535


def test_scenes_have_the_main_classes() -> None:
    seen: set[int] = set()
    for i in range(6):
        _, labels, _ = generate_scene(2, i, SMALL)
        present = set(np.unique(labels).tolist())
        assert {7, 23} <= present  # road and sky in every scene
        seen |= present
    assert {7, 8, 11, 21, 23, 26} <= seen


def test_geometry_scales_with_size() -> None:
    _, small, _ = generate_scene(5, 1, SceneConfig(width=256, height=128))
    _, big, _ = generate_scene(5, 1, SceneConfig(width=512, height=256))
    agree = (big[1::2, 1::2] == small).mean()
    assert agree > 0.93


def test_write_dataset_is_stable_when_count_grows(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a", 2, SMALL, seed=4, progress=False)
    write_dataset(tmp_path / "b", 3, SMALL, seed=4, progress=False)
    for kind in ("img", "label", "inst"):
        a = (tmp_path / "a" / f"train_{kind}" / scene_name(1)).read_bytes()
        b = (tmp_path / "b" / f"train_{kind}" / scene_name(1)).read_bytes()
        assert a == b
    assert len(list((tmp_path / "b" / "train_img").glob("*.png"))) == 3


def test_written_files_are_cityscapes_pngs(tmp_path: Path) -> None:
    write_dataset(tmp_path, 1, SMALL, seed=9, split="test", progress=False)
    name = scene_name(0)
    image, labels, instances = generate_scene(split_seed(9, "test"), 0, SMALL)
    with Image.open(tmp_path / "test_label" / name) as im:
        assert im.mode == "L"
        assert (np.asarray(im) == labels).all()
    with Image.open(tmp_path / "test_inst" / name) as im:
        assert im.mode.startswith("I")  # 16-bit
        assert (np.asarray(im).astype(np.int32) == instances).all()
    with Image.open(tmp_path / "test_img" / name) as im:
        assert im.mode == "RGB"
        assert (np.asarray(im) == image).all()
    assert split_seed(9, "test") != 9 and split_seed(9, "train") == 9
    assert len({split_seed(9, s) for s in ("train", "val", "test")}) == 3  # no split repeats another


def test_cli_writes_a_tree(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--out", str(tmp_path), "--count", "2", "--size", "128x64", "--seed", "3", "--no-progress"]
    )
    assert run(args) == 0
    for kind in ("img", "label", "inst"):
        assert sorted(p.name for p in (tmp_path / f"train_{kind}").iterdir()) == [
            scene_name(0),
            scene_name(1),
        ]
    with Image.open(tmp_path / "train_img" / scene_name(0)) as im:
        assert im.size == (128, 64)


@pytest.mark.parametrize("text", ["big", "100", "0x10", "10x-5", "20000x100"])
def test_cli_rejects_bad_sizes(text: str) -> None:
    parse_size = size_type(16)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)
    assert parse_size("2048x1024") == (2048, 1024) and parse_size("64×32") == (64, 32)
