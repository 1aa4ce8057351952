"""The evaluation protocol (segmenter mIoU real vs generated) and appearance control."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model.checkpoint import make_random_checkpoint
from model.segmenter import (Augmentation, augment_batch, batched_mean_iou, bootstrap_ratio, confusion,
                             gaussian_blur, iou_per_class, mean_iou, scene_confusions)
from support.data import write_folder
from support import REPO_ROOT

DEFAULT = REPO_ROOT / "checkpoints" / "default"


def test_confusion_and_miou():
    target = torch.tensor([[0, 0, 1, 1, -1]])
    pred = torch.tensor([[0, 1, 1, 1, 0]])
    matrix = confusion(pred, target, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    np.testing.assert_allclose(iou_per_class(matrix)[:2], [0.5, 2 / 3])
    assert mean_iou(matrix) == pytest.approx((0.5 + 2 / 3) / 2)  # class 2 is absent: not averaged


def test_scene_confusions_sum_to_the_whole_and_the_interval_brackets_the_ratio():
    gen = torch.Generator().manual_seed(0)
    target = torch.randint(-1, 4, (12, 8, 8), generator=gen)
    good = torch.where(torch.rand(12, 8, 8, generator=gen) < 0.8, target.clamp(min=0), 0)
    bad = torch.where(torch.rand(12, 8, 8, generator=gen) < 0.5, target.clamp(min=0), 3)
    real, fake = scene_confusions(good, target, 4), scene_confusions(bad, target, 4)
    assert real.shape == (12, 4, 4)
    np.testing.assert_array_equal(real.sum(0), confusion(good, target, 4))
    np.testing.assert_array_equal(real[5], confusion(good[5:6], target[5:6], 4))
    np.testing.assert_allclose(batched_mean_iou(real), [mean_iou(m) for m in real])
    ratio = mean_iou(fake.sum(0)) / mean_iou(real.sum(0))
    low, high = bootstrap_ratio(real, fake)
    assert low < ratio < high < 1.0  # generated is worse than real, and the interval is not empty
    assert bootstrap_ratio(real, real) == (1.0, 1.0)


def blocks(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """count 32×64 label maps of 8×8 blocks (classes 0-3), and images whose red channel spells them."""
    gen = torch.Generator().manual_seed(1)
    cells = torch.randint(0, 4, (count, 4, 8), generator=gen)
    labels = cells.repeat_interleave(8, 1).repeat_interleave(8, 2)
    images = torch.stack([labels / 3 * 2 - 1 + 0.0, torch.zeros_like(labels, dtype=torch.float),
                          torch.zeros_like(labels, dtype=torch.float)], 1)
    return images, labels


def test_augmentation_moves_photo_and_labels_together_and_ignores_the_padding():
    images, labels = blocks(16)
    still = Augmentation(blur_probability=0.0)
    warped, moved = augment_batch(images, labels, still, torch.Generator().manual_seed(0))
    kept = moved >= 0
    spelled = ((warped[:, 0] + 1) / 2 * 3).round().long()
    assert float((spelled[kept] == moved[kept]).float().mean()) > 0.9  # the same warp (bilinear edges aside)
    assert not torch.equal(moved, labels)  # and it did warp
    assert float((warped[:, 0][~kept]).abs().mean()) < 0.2  # outside the photo: grey padding, ignored
    _, small = augment_batch(images, labels, Augmentation(scale=(0.5, 0.5), blur_probability=0.0),
                             torch.Generator().manual_seed(0))
    assert 0.6 < float((small < 0).float().mean()) < 0.85  # a half-size photo: ~3/4 of the frame is padding


def test_blur_is_per_image_and_keeps_the_mean():
    images = torch.randn(3, 3, 16, 24, generator=torch.Generator().manual_seed(0))
    blurred = gaussian_blur(images, torch.tensor([0.0, 1.0, 2.0]))
    torch.testing.assert_close(blurred[0], images[0])  # sigma 0: untouched
    assert float(blurred[2].std()) < float(blurred[1].std()) < float(images[1].std())
    assert abs(float(blurred[2].mean() - images[2].mean())) < 0.05


def test_the_judge_key_names_its_augmentation(tmp_path):
    from model.evaluate import judge_key
    from model.labels import cityscapes

    write_folder(tmp_path, "train", 2)
    keys = {judge_key(tmp_path, cityscapes(), (32, 16), 3, None, 0, augmentation)
            for augmentation in (None, Augmentation(), Augmentation(blur_probability=0.0))}
    assert len(keys) == 3


def test_evaluate_cli_runs(tmp_path, capsys):
    from cli import run_command

    data = tmp_path / "data"
    write_folder(data, "train", 4)
    write_folder(data, "test", 2, start=100)
    checkpoint = make_random_checkpoint(tmp_path / "ckpt", tiny=True, with_features=True)
    code = run_command(["evaluate", "--checkpoint", str(checkpoint), "--data", str(data), "--size", "32x16",
                        "--steps", "3", "--out", str(tmp_path / "out"), "--device", "cpu", "--appearance-scenes", "2"])
    assert code == 0
    out = capsys.readouterr().out
    for key in ("mIoU real", "mIoU generated", "ratio", "95% interval", "appearance", "ceiling flat", "ceiling blur",
                "pixels", "scenes"):
        assert key in out
    assert sum(line.startswith("appearance     car") for line in out.splitlines()) == 2  # both held-out scenes
    assert (tmp_path / "out" / "render_00.png").exists()


def test_degraded_photos_flatten_each_instance_and_blur(tmp_path):
    from model.data.folders import LoaderConfig, PairedDataset
    from model.evaluate import load_split
    from model.labels import cityscapes

    write_folder(tmp_path, "test", 2)
    photos = load_split(tmp_path, "test", cityscapes(), (64, 32), degrade=True).degraded  # native size
    dataset = PairedDataset(LoaderConfig(root=tmp_path, phase="test", resize="none", flip=False), cityscapes())
    for i in range(2):
        _, instances, image = dataset.load_arrays(i)
        flat = photos["flat"][i]
        for instance in np.unique(instances):
            inside = flat[:, torch.from_numpy(instances == instance)]
            assert float((inside - inside[:, :1]).abs().max()) == 0.0  # one colour per instance
            real = torch.from_numpy(image[instances == instance]).float().mean(0) / 127.5 - 1
            assert torch.allclose(inside[:, 0], real, atol=1 / 127.5)  # and it is the true mean
        real = torch.from_numpy(image).permute(2, 0, 1).float() / 127.5 - 1
        blurred = photos["blur"][i]
        assert float(blurred.std()) < float(real.std())  # the blur removes the noise


def test_evaluate_reuses_the_cached_judge_until_the_data_changes(tmp_path, caplog):
    import logging

    from model.evaluate import JUDGE_FOLDER, evaluate
    from model.labels import cityscapes
    from model.render.full import Renderer

    data = tmp_path / "data"
    write_folder(data, "train", 3)
    write_folder(data, "test", 1, start=100)
    renderer = Renderer.from_checkpoint(make_random_checkpoint(tmp_path / "ckpt", tiny=True), "cpu")
    with caplog.at_level(logging.INFO, logger="model.evaluate"):
        first = evaluate(renderer, data, cityscapes(), (32, 16), steps=3)
        assert len(list((data / JUDGE_FOLDER).glob("*.safetensors"))) == 1
        caplog.clear()
        second = evaluate(renderer, data, cityscapes(), (32, 16), steps=3)
        assert "reusing the judge" in caplog.text
        assert second.miou_real == first.miou_real and second.miou_generated == first.miou_generated
        caplog.clear()
        write_folder(data, "train", 4)  # one more training photo: a new judge
        evaluate(renderer, data, cityscapes(), (32, 16), steps=3)
        assert "reusing the judge" not in caplog.text
        assert len(list((data / JUDGE_FOLDER).glob("*.safetensors"))) == 2


def test_the_report_gives_each_class_its_test_pixels_and_scenes(tmp_path):
    from model.evaluate import evaluate, load_split
    from model.labels import cityscapes
    from model.render.full import Renderer

    data = tmp_path / "data"
    write_folder(data, "train", 3)
    write_folder(data, "test", 3, start=100)
    renderer = Renderer.from_checkpoint(make_random_checkpoint(tmp_path / "ckpt", tiny=True), "cpu")
    report = evaluate(renderer, data, cityscapes(), (32, 16), steps=2, cache_judge=False)
    labels = load_split(data, "test", cityscapes(), (32, 16)).labels  # 3×16×32 class ids
    for class_id, pixels, scenes in zip(report.classes, report.pixels, report.scenes_with):
        assert pixels == (labels == class_id).sum()
        assert scenes == (labels == class_id).any(axis=(1, 2)).sum()
    assert report.pixels.sum() > 0 and report.scenes_with.max() <= 3


@pytest.mark.skipif(not (DEFAULT / "config.json").exists(), reason="no bundled default checkpoint")
def test_default_checkpoint_appearance_control():
    """Switching one car's cluster recolours it (≥ 20/255) and leaves pixels away from it alone (< 2/255)."""
    from model.data.procedural import SceneConfig, generate_scene
    from model.evaluate import appearance_control
    from model.render.full import Renderer

    renderer = Renderer.from_checkpoint(DEFAULT, "cpu")
    assert renderer.num_styles(26) >= 2
    _, labels, instances = generate_scene(424242, 3, SceneConfig())
    result = appearance_control(renderer, labels, instances)
    assert result is not None
    assert result["colour_change"] >= 20.0, result
    assert result["far_change"] < 2.0, result


def test_a_global_g_renders_from_its_pooled_input_upsampled_to_native_size(tmp_path, capsys):
    from cli import run_command
    from model.checkpoint import load_checkpoint
    from model.networks.generator import downsample_input
    from model.render.coarse import PooledInputRenderer
    from model.render.full import Renderer

    checkpoint = make_random_checkpoint(tmp_path / "ckpt", tiny=True, with_features=True, n_local_enhancers=0)
    rng = np.random.default_rng(0)
    labels = rng.choice([7, 8, 26], size=(60, 100)).astype(np.uint8)
    instances = np.where(labels == 26, 26000 + (np.arange(100) // 25)[None], labels).astype(np.int32)
    coarse = PooledInputRenderer(load_checkpoint(checkpoint), 2, "cpu")
    native = Renderer(load_checkpoint(checkpoint), "cpu")
    image = coarse.render(labels, instances)
    assert image.shape == (60, 100, 3)
    x = coarse.network_input(labels, instances, {})  # padded to G's stride × 4
    assert coarse.stride == 4 * native.stride and x.shape[-2] % coarse.stride == 0
    with torch.inference_mode():
        small = coarse.generator(downsample_input(downsample_input(x)))
        upsampled = torch.nn.functional.interpolate(small, size=x.shape[-2:], mode="bilinear",
                                                    align_corners=False)
    expected = np.clip((upsampled[0, :, :60, :100].permute(1, 2, 0).numpy() + 1) / 2 * 255, 0, 255)
    assert np.array_equal(image, expected.astype(np.uint8))
    assert not np.array_equal(image, native.render(labels, instances))

    data = tmp_path / "data"
    write_folder(data, "train", 4)
    write_folder(data, "test", 2, start=100)
    code = run_command(["evaluate", "--checkpoint", str(checkpoint), "--data", str(data), "--size", "32x16",
                        "--steps", "3", "--device", "cpu", "--input-downsample", "2"])
    assert code == 0 and "mIoU generated" in capsys.readouterr().out
