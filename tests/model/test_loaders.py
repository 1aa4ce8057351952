"""Dataset loaders on generated fixtures of each layout, and each bad-input case."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from model.data.folders import LoaderConfig, PairedDataset, detect_layout, find_samples, pair_key
from model.data.procedural import SceneConfig, write_dataset
from model.errors import DatasetError, ImageFileError
from model.labels import LabelSet, cityscapes

W, H = 64, 32
ROAD, CAR, SKY = 7, 26, 23


def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)  # uint16 arrays become 16-bit PNGs
    return path


def _scene(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left: road; right: two cars; top rows: sky. The photo's colour encodes the class."""
    rng = np.random.default_rng(seed)
    labels = np.full((H, W), ROAD, np.uint8)
    labels[:, W // 2 :] = CAR
    labels[:4] = SKY
    inst = labels.astype(np.int32)
    inst[4:, W // 2 : 3 * W // 4] = CAR * 1000 + 1
    inst[4:, 3 * W // 4 :] = CAR * 1000 + int(rng.integers(2, 30))
    image = np.zeros((H, W, 3), np.uint8)
    image[labels == ROAD] = (200, 0, 0)
    image[labels == CAR] = (0, 0, 200)
    image[labels == SKY] = (0, 200, 0)
    return labels, inst, image


@pytest.fixture
def cityscapes_tree(tmp_path: Path) -> Path:
    root = tmp_path / "cs"
    for city, n in (("aachen", 2), ("bremen", 1)):
        for k in range(n):
            stem = f"{city}_{k:06d}_000019"
            labels, inst, image = _scene(k)
            _save(root / "gtFine" / "train" / city / f"{stem}_gtFine_labelIds.png", labels)
            _save(root / "gtFine" / "train" / city / f"{stem}_gtFine_instanceIds.png", inst.astype(np.uint16))
            _save(
                root / "gtFine" / "train" / city / f"{stem}_gtFine_color.png", cityscapes().colorize(labels)
            )
            _save(root / "leftImg8bit" / "train" / city / f"{stem}_leftImg8bit.png", image)
    return root


@pytest.fixture
def p2p_tree(tmp_path: Path) -> Path:
    root = tmp_path / "p2p"
    for k in range(3):
        labels, inst, image = _scene(k)
        _save(root / "train_label" / f"s{k}.png", labels)
        _save(root / "train_inst" / f"s{k}.png", inst.astype(np.uint16))
        _save(root / "train_img" / f"s{k}.jpg" if k == 2 else root / "train_img" / f"s{k}.png", image)
    return root


@pytest.fixture
def plain_tree(tmp_path: Path) -> tuple[Path, LabelSet]:
    root = tmp_path / "plain"
    ls = LabelSet.from_json(
        {
            "name": "toy",
            "labels": [
                {"id": 0, "name": "void", "color": [0, 0, 0]},
                {"id": 1, "name": "grass", "color": [0, 255, 0]},
                {"id": 2, "name": "rock", "color": [128, 128, 128], "is_thing": True},
            ],
        }
    )
    (tmp_path / "toy.json").write_text(json.dumps(ls.to_json()))
    ls = LabelSet.load(tmp_path / "toy.json")
    for k in range(2):
        labels = np.ones((H, W), np.uint8)
        labels[:, : W // 3] = 2
        _save(root / "labels" / f"img{k}.png", labels)
        _save(root / "images" / f"img{k}.png", np.full((H, W, 3), 90 + k, np.uint8))
    return root, ls


# ----- layouts ----------------------------------------------------------------------------------
def test_generated_dataset_loads(tmp_path: Path) -> None:
    write_dataset(tmp_path, 2, SceneConfig(width=128, height=64), seed=1, progress=False)
    assert detect_layout(tmp_path, "train") == "pix2pixhd"
    ds = PairedDataset(LoaderConfig(tmp_path, load_size=(64, 32), flip=False), cityscapes())
    assert len(ds) == 2
    item = ds[1]
    assert item["label"].dtype == torch.int64 and item["label"].shape == (32, 64)
    assert item["inst"].dtype == torch.int64 and item["inst"].shape == (32, 64)
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 32, 64)
    assert -1.0 <= item["image"].min() and item["image"].max() <= 1.0
    assert item["path"].endswith("scene_000001.png")
    inst, lab = item["inst"], item["label"]
    things = inst >= 1000
    assert (inst[things] // 1000 == lab[things]).all() and (inst[~things] == lab[~things]).all()


def test_cityscapes_layout(cityscapes_tree: Path) -> None:
    assert detect_layout(cityscapes_tree, "train") == "cityscapes"
    samples = find_samples(cityscapes_tree)
    assert [s.key for s in samples] == [
        "aachen_000000_000019",
        "aachen_000001_000019",
        "bremen_000000_000019",
    ]
    assert all(s.inst is not None and s.inst.name.endswith("_gtFine_instanceIds.png") for s in samples)
    ds = PairedDataset(LoaderConfig(cityscapes_tree, resize="none", flip=False), cityscapes())
    item = ds[0]
    labels, inst, _ = _scene(0)
    assert (item["label"].numpy() == labels).all()
    assert (item["inst"].numpy() == inst).all()  # 16-bit ids like 26001 survive
    assert item["inst"].max().item() > 26000


def test_plain_layout_with_json_label_set(plain_tree: tuple[Path, LabelSet]) -> None:
    root, ls = plain_tree
    assert detect_layout(root, "train") == "plain"
    ds = PairedDataset(LoaderConfig(root, resize="none", flip=False), ls)
    item = ds[1]
    assert set(item["label"].unique().tolist()) == {1, 2}
    assert torch.equal(item["inst"], item["label"])  # no instance folder: labels serve as instances
    assert torch.allclose(item["image"], torch.full((3, H, W), 91 / 127.5 - 1))


def test_pix2pixhd_pairs_mixed_extensions_and_without_instances(p2p_tree: Path) -> None:
    assert [s.image.suffix for s in find_samples(p2p_tree)] == [".png", ".png", ".jpg"]
    for f in (p2p_tree / "train_inst").iterdir():
        f.unlink()
    (p2p_tree / "train_inst").rmdir()
    ds = PairedDataset(LoaderConfig(p2p_tree, resize="none"), cityscapes())
    assert torch.equal(ds[0]["inst"], ds[0]["label"])


def test_pair_key_strips_cityscapes_suffixes() -> None:
    assert pair_key(Path("a_1_2_leftImg8bit.png")) == pair_key(Path("a_1_2_gtFine_labelIds.png")) == "a_1_2"


# ----- transforms -------------------------------------------------------------------------------
def _check_joint(item: dict) -> None:
    lab, img = item["label"], item["image"]
    red = img[0] > 0.5
    blue = img[2] > 0.5
    assert torch.equal(red, lab == ROAD) and torch.equal(blue, lab == CAR)


def test_scale_width_keeps_ids_integer(cityscapes_tree: Path) -> None:
    ds = PairedDataset(
        LoaderConfig(cityscapes_tree, resize="scale_width", load_size=(128, 64)), cityscapes(), seed=3
    )
    item = ds[2]
    assert item["label"].shape == (64, 128)
    assert set(item["label"].unique().tolist()) <= {ROAD, CAR, SKY}
    _, inst, _ = _scene(0)
    assert set(item["inst"].unique().tolist()) <= set(np.unique(inst).tolist())


def test_random_crop_and_joint_flip(p2p_tree: Path) -> None:
    ds = PairedDataset(LoaderConfig(p2p_tree, resize="crop", load_size=(40, 24)), cityscapes(), seed=0)
    flipped = 0
    for epoch in range(8):
        ds.set_epoch(epoch)
        item = ds[0]
        assert item["label"].shape == (24, 40)
        _check_joint(item)
        inst, lab = item["inst"], item["label"]
        assert ((inst // 1000 == lab) | (inst == lab)).all()
        flipped += int(lab[10, 0] == CAR)  # cars are on the right unless flipped
    assert 0 < flipped < 8


def test_scale_then_crop(p2p_tree: Path) -> None:
    cfg = LoaderConfig(p2p_tree, resize="scale_width", load_size=(32, 16), crop_size=(16, 16))
    item = PairedDataset(cfg, cityscapes())[1]
    assert item["label"].shape == (16, 16) and item["image"].shape == (3, 16, 16)


def test_same_seed_same_sample(p2p_tree: Path) -> None:
    cfg = LoaderConfig(p2p_tree, resize="crop", load_size=(30, 20))
    a, b = PairedDataset(cfg, cityscapes(), seed=5)[0], PairedDataset(cfg, cityscapes(), seed=5)[0]
    assert torch.equal(a["label"], b["label"]) and torch.equal(a["image"], b["image"])


# ----- bad input --------------------------------------------------------------------------------
def test_unknown_label_value(p2p_tree: Path) -> None:
    labels, _, _ = _scene(0)
    labels[5, 5] = 200
    bad = _save(p2p_tree / "train_label" / "s0.png", labels)
    ds = PairedDataset(LoaderConfig(p2p_tree, resize="none", flip=False), cityscapes())
    with pytest.raises(ImageFileError, match="200") as err:
        ds[0]
    assert str(bad) in str(err.value)
    ok = PairedDataset(LoaderConfig(p2p_tree, resize="none", flip=False, ignore_unknown=True), cityscapes())[
        0
    ]
    assert ok["label"][5, 5].item() == 0 and ok["inst"][5, 5].item() == 0


def test_missing_photo(p2p_tree: Path) -> None:
    (p2p_tree / "train_img" / "s1.png").unlink()
    with pytest.raises(DatasetError, match="no photo") as err:
        PairedDataset(LoaderConfig(p2p_tree), cityscapes())
    assert "s1.png" in str(err.value)


def test_missing_instance_partner(cityscapes_tree: Path) -> None:
    victim = next((cityscapes_tree / "gtFine" / "train" / "bremen").glob("*_instanceIds.png"))
    victim.unlink()
    with pytest.raises(DatasetError, match="no instance map") as err:
        find_samples(cityscapes_tree)
    assert "bremen_000000_000019_gtFine_labelIds.png" in str(err.value)


def test_size_mismatch_photo(p2p_tree: Path) -> None:
    bad = _save(p2p_tree / "train_img" / "s1.png", np.zeros((H, W + 2, 3), np.uint8))
    ds = PairedDataset(LoaderConfig(p2p_tree), cityscapes())
    with pytest.raises(ImageFileError, match="photo is") as err:
        ds[1]
    assert str(bad) in str(err.value)


def test_size_mismatch_instances(p2p_tree: Path) -> None:
    bad = _save(p2p_tree / "train_inst" / "s1.png", np.full((H + 1, W), 7, np.uint16))
    with pytest.raises(ImageFileError, match="instance map is") as err:
        PairedDataset(LoaderConfig(p2p_tree), cityscapes())[1]
    assert str(bad) in str(err.value)


def test_instances_disagreeing_with_labels(p2p_tree: Path) -> None:
    _, inst, _ = _scene(0)
    inst[0, 0] = 26005  # a car instance in the sky
    _save(p2p_tree / "train_inst" / "s0.png", inst.astype(np.uint16))
    with pytest.raises(ImageFileError, match="disagrees"):
        PairedDataset(LoaderConfig(p2p_tree), cityscapes())[0]
    relaxed = LoaderConfig(p2p_tree, check_instances=False, flip=False, resize="none")
    assert PairedDataset(relaxed, cityscapes())[0]["inst"][0, 0].item() == 26005


@pytest.mark.parametrize("which", ["train_label", "train_inst", "train_img"])
def test_unreadable_png(p2p_tree: Path, which: str) -> None:
    bad = p2p_tree / which / "s1.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    ds = PairedDataset(LoaderConfig(p2p_tree), cityscapes())
    with pytest.raises(ImageFileError) as err:
        ds[1]
    assert str(bad) in str(err.value)


def test_no_dataset_here(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no dataset layout"):
        PairedDataset(LoaderConfig(tmp_path), cityscapes())
    with pytest.raises(DatasetError, match="not found"):
        PairedDataset(LoaderConfig(tmp_path / "nope"), cityscapes())
    (tmp_path / "train_label").mkdir()
    with pytest.raises(DatasetError, match="no label maps"):
        PairedDataset(LoaderConfig(tmp_path), cityscapes())


def test_bad_options(p2p_tree: Path) -> None:
    with pytest.raises(DatasetError, match="resize mode"):
        PairedDataset(LoaderConfig(p2p_tree, resize="zoom"), cityscapes())
    with pytest.raises(DatasetError, match="layout"):
        PairedDataset(LoaderConfig(p2p_tree, layout="coco"), cityscapes())
    with pytest.raises(DatasetError, match="larger"):
        PairedDataset(LoaderConfig(p2p_tree, resize="none", crop_size=(W * 2, H)), cityscapes())[0]
