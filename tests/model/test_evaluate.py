"""The evaluation protocol: the full-resolution judge (training, cache, crops), its scores and
interval, the printed report with its references and verdicts, and appearance control."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from support import REPO_ROOT
from support.data import write_folder

from model.checkpoint import make_random_checkpoint
from model.evaluate.metrics import (
    batched_mean_iou,
    bootstrap_ratio,
    confusion,
    iou_per_class,
    mean_iou,
    scene_confusions,
)

DEFAULT = REPO_ROOT / "checkpoints" / "default"


def tiny_judge(steps: int = 3):
    from model.evaluate import JudgeConfig

    return JudgeConfig(crop=16, steps=steps, batch_size=4)


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


def test_training_crops_keep_photo_and_labels_aligned_at_native_resolution():
    from model.evaluate.judge import random_crops

    labels = torch.randint(0, 4, (3, 40, 72), generator=torch.Generator().manual_seed(0)).to(torch.int8)
    photos = (
        (labels.to(torch.uint8) * 60)[..., None].expand(3, 40, 72, 3).contiguous()
    )  # grey spells the class
    images, targets = random_crops(photos, labels, 16, 24, torch.Generator().manual_seed(1))
    assert images.shape == (16, 3, 24, 24) and targets.shape == (16, 24, 24)
    torch.testing.assert_close(images[:, 0], targets.float() * 60 / 127.5 - 1)  # no resampling, no blur
    windows = {
        tuple(labels[i, y : y + 24, x : x + 24].flatten().tolist())
        for i in range(3)
        for y in range(17)
        for x in range(49)
    }
    mirrored = {
        tuple(labels[i, y : y + 24, x : x + 24].flip(-1).flatten().tolist())
        for i in range(3)
        for y in range(17)
        for x in range(49)
    }
    for target in targets:
        assert tuple(target.flatten().tolist()) in windows | mirrored  # a true window, possibly mirrored


def test_the_judge_key_names_its_settings(tmp_path):
    from model.evaluate import JudgeConfig
    from model.evaluate.judge import judge_key
    from model.labels import cityscapes

    write_folder(tmp_path, "train", 2)
    keys = {
        judge_key(tmp_path, cityscapes(), config)
        for config in (JudgeConfig(), JudgeConfig(crop=64), JudgeConfig(steps=7), JudgeConfig(seed=1))
    }
    assert len(keys) == 4


def test_the_judge_trains_once_on_a_tiny_folder_and_is_reused_until_the_data_changes(tmp_path, caplog):
    from model.evaluate import JUDGE_FOLDER, EvaluateConfig, evaluate
    from model.labels import cityscapes
    from model.render.full import Renderer

    data = tmp_path / "data"
    write_folder(data, "train", 3)
    write_folder(data, "test", 1, start=100)
    renderer = Renderer.from_checkpoint(make_random_checkpoint(tmp_path / "ckpt", tiny=True), "cpu")
    config = EvaluateConfig(judge=tiny_judge())
    with caplog.at_level(logging.INFO, logger="model.evaluate"):
        first = evaluate(renderer, data, cityscapes(), config)
        assert len(list((data / JUDGE_FOLDER).glob("*.safetensors"))) == 1
        caplog.clear()
        second = evaluate(renderer, data, cityscapes(), config)
        assert "reusing the judge" in caplog.text
        assert second.miou_real == first.miou_real and second.miou_generated == first.miou_generated
        assert second.generated.fid == first.generated.fid
        caplog.clear()
        write_folder(data, "train", 4)  # one more training photo: a new judge
        evaluate(renderer, data, cityscapes(), config)
        assert "reusing the judge" not in caplog.text
        assert len(list((data / JUDGE_FOLDER).glob("*.safetensors"))) == 2


def test_the_report_gives_each_class_its_test_pixels_and_scenes_and_every_row(tmp_path):
    from model.data.folders import LoaderConfig, PairedDataset
    from model.evaluate import EvaluateConfig, evaluate
    from model.labels import cityscapes
    from model.render.full import Renderer

    data = tmp_path / "data"
    write_folder(data, "train", 3)
    write_folder(data, "test", 3, start=100)
    renderer = Renderer.from_checkpoint(make_random_checkpoint(tmp_path / "ckpt", tiny=True), "cpu")
    report = evaluate(renderer, data, cityscapes(), EvaluateConfig(judge=tiny_judge(2), cache_judge=False))
    dataset = PairedDataset(LoaderConfig(root=data, phase="test", resize="none", flip=False), cityscapes())
    labels = np.stack([dataset.load_arrays(i)[0] for i in range(3)])  # native size: the judge's size
    for class_id, pixels, scenes in zip(report.classes, report.pixels, report.scenes_with, strict=True):
        assert pixels == (labels == class_id).sum()
        assert scenes == (labels == class_id).any(axis=(1, 2)).sum()
    assert list(report.rows) == ["photo", "render", "blur σ2", "blur σ3", "blur σ4", "flat"]
    assert report.real.fid == pytest.approx(0.0, abs=1e-6) and report.real.edge_f1 == 1.0
    assert report.real.strongest_artefact == 0.0 and report.size == (64, 32)


def test_evaluate_cli_prints_every_figure_and_writes_the_crop_sheet(tmp_path, capsys):
    from cli import run_command

    data = tmp_path / "data"
    write_folder(data, "train", 4)
    write_folder(data, "test", 2, start=100)
    checkpoint = make_random_checkpoint(tmp_path / "ckpt", tiny=True, with_features=True)
    out = tmp_path / "out"
    code = run_command(
        [
            "evaluate",
            "--checkpoint",
            str(checkpoint),
            "--data",
            str(data),
            "--judge-crop",
            "16",
            "--judge-steps",
            "3",
            "--out",
            str(out),
            "--device",
            "cpu",
            "--appearance-scenes",
            "2",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    for key in (
        "mIoU real",
        "mIoU generated",
        "ratio",
        "95% interval",
        "FID floor",
        "edge F1",
        "peak dB",
        "render peaks along x",
        "ceiling blur σ2",
        "ceiling blur σ4",
        "flat",
        "blur σ3",
        "pixels",
        "scenes",
        "below 1024×512",
        "adopt on ≥ 60",
        "crop sheet",
    ):
        assert key in printed, key
    assert sum(line.startswith("appearance     car") for line in printed.splitlines()) == 2  # both scenes
    assert (
        (out / "render_00.png").exists() and (out / "crops.png").exists() and (out / "report.json").exists()
    )


def test_a_judge_that_cannot_see_blur_is_declared_unfit():
    from model.evaluate.report import Report, RowScores

    real = np.zeros((2, 3, 3), np.int64)
    real[:, [0, 1, 2], [0, 1, 2]] = 100
    worse = real.copy()
    worse[:, 0, 0], worse[:, 0, 1] = 60, 40
    edges = np.ones((2, 4))

    def row(name: str, confusions: np.ndarray) -> RowScores:
        return RowScores(name, confusions, edges, 0.0, {("x", 2): 0.0})

    def report(sigma4: np.ndarray) -> Report:
        rows = {
            n: row(n, c)
            for n, c in (
                ("photo", real),
                ("render", worse),
                ("blur σ2", real),
                ("blur σ4", sigma4),
                ("flat", worse),
            )
        }
        return Report([7, 8, 11], rows, 1.0, 0.1, (2048, 1024))

    blind = report(real)
    assert not blind.judge_fit
    assert any("not fit to measure image quality" in line for line in blind.lines({}))
    hard = worse.copy()
    hard[:, 1, 1], hard[:, 1, 0] = 10, 90
    assert report(hard).judge_fit


@pytest.mark.skipif(not (DEFAULT / "config.json").exists(), reason="no bundled default checkpoint")
def test_default_checkpoint_appearance_control():
    """Switching one car's cluster recolours it (≥ 20/255) and leaves pixels away from it alone (< 2/255)."""
    from model.data.procedural import SceneConfig, generate_scene
    from model.evaluate.appearance import appearance_control
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
        upsampled = torch.nn.functional.interpolate(
            small, size=x.shape[-2:], mode="bilinear", align_corners=False
        )
    expected = np.clip((upsampled[0, :, :60, :100].permute(1, 2, 0).numpy() + 1) / 2 * 255, 0, 255)
    assert np.array_equal(image, expected.astype(np.uint8))
    assert not np.array_equal(image, native.render(labels, instances))

    data = tmp_path / "data"
    write_folder(data, "train", 4)
    write_folder(data, "test", 2, start=100)
    code = run_command(
        [
            "evaluate",
            "--checkpoint",
            str(checkpoint),
            "--data",
            str(data),
            "--judge-crop",
            "16",
            "--judge-steps",
            "3",
            "--device",
            "cpu",
            "--input-downsample",
            "2",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0 and "mIoU generated" in capsys.readouterr().out


def test_renders_are_written_once_and_then_reused(tmp_path):
    from model.evaluate.protocol import render_or_reuse

    class Counting:
        calls = 0

        def render(self, labels, instances, styles, seed):
            Counting.calls += 1
            return np.full((*labels.shape, 3), 40 + seed, np.uint8)

    labels = np.zeros((8, 12), np.uint8)
    stored = tmp_path / "renders" / "s000.png"
    first, seconds = render_or_reuse(Counting(), labels, labels.astype(np.int32), 3, stored)
    assert seconds is not None and stored.is_file() and Counting.calls == 1
    again, seconds = render_or_reuse(Counting(), labels, labels.astype(np.int32), 3, stored)
    assert seconds is None and Counting.calls == 1 and np.array_equal(again, first)
    _, seconds = render_or_reuse(Counting(), np.zeros((9, 12), np.uint8), labels, 3, stored)  # wrong size
    assert seconds is not None and Counting.calls == 2
