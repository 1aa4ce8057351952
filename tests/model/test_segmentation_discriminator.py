"""The OASIS-style segmentation discriminator, its losses and its place in training."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from support import REPO_ROOT
from support.data import CAR, ROAD, SKY, TinyScenes, write_folder

from model import cpu_speed
from model.errors import EditorError
from model.labels import cityscapes
from model.networks.segmentation_discriminator import (
    FAKE_CLASS,
    SegmentationDiscriminator,
    SegmentationDiscriminatorConfig,
    segmentation_logits,
)
from model.train.config import TrainConfig
from model.train.distributed import Dist
from model.train.run_state import STATE_FILE
from model.train.segmentation_loss import (
    class_balance_weights,
    discriminator_loss,
    generator_loss,
    labelmix_loss,
    labelmix_mask,
    mix,
)
from model.train.settings import iter_fields
from model.train.trainer import Trainer

FIELD_PATH = {path.split(".")[1]: path for path, _, _ in iter_fields(TrainConfig)}  # "ngf" → "arch.ngf"


def tiny_config(tmp_path, name="tiny", **overrides) -> TrainConfig:
    """A global G of a few filters with E, on TinyScenes, saving only at the end."""
    values = dict(
        name=name,
        runs_dir=tmp_path,
        netG="global",
        ngf=4,
        n_downsample_global=1,
        n_blocks_global=1,
        n_local_enhancers=1,
        n_blocks_local=1,
        instance_feat=True,
        nef=4,
        n_downsample_E=1,
        flip=False,
        num_workers=0,
        epochs=50,
        decay_epochs=0,
        sample_every=0,
        log_every=1,
        save_every_minutes=1e9,
    )
    values.update(overrides)
    return TrainConfig().with_values({FIELD_PATH[key]: value for key, value in values.items()})


def json_step(run_dir) -> int:
    return json.loads((run_dir / "state.json").read_text())["step"]


def sets(*assignments: str) -> list[str]:
    return [arg for text in assignments for arg in ("--set", text)]


def confident_logits(labels: torch.Tensor, num_classes: int, channel_of=lambda c: c + 1) -> torch.Tensor:
    """Logits of (B, N+1, H, W) that put a large margin on ``channel_of(label)`` at every pixel."""
    logits = torch.zeros(labels.shape[0], num_classes + 1, *labels.shape[1:])
    return logits.scatter(1, channel_of(labels).unsqueeze(1), 20.0)


def test_discriminator_gives_n_plus_one_logits_per_pixel_and_decoder_features():
    torch.manual_seed(0)
    config = SegmentationDiscriminatorConfig(num_classes=5, ndf=4, n_levels=3)
    d = SegmentationDiscriminator(config)
    image = torch.randn(2, 3, 32, 48, requires_grad=True)
    scores = d(image)
    assert len(scores) == 1 and len(scores[0]) == config.n_levels + 1
    logits = segmentation_logits(scores)
    assert logits.shape == (2, 6, 32, 48)
    assert [f.shape[-1] for f in scores[0][:-1]] == [12, 24, 48]  # decoder: 1/4, 1/2, 1/1
    logits.sum().backward()
    assert image.grad is not None and float(image.grad.abs().sum()) > 0
    assert config.channels() == [4, 8, 16] and d.stride == 8
    # spectral normalisation bounds every conv: its largest singular value is about 1
    conv = d.down_blocks[0].conv1
    sigma = torch.linalg.matrix_norm(conv.weight.detach().reshape(conv.weight.shape[0], -1), ord=2)
    assert float(sigma) == pytest.approx(1.0, abs=0.1)


def test_class_balance_gives_every_present_class_the_same_total_weight():
    labels = torch.full((2, 8, 8), ROAD)
    labels[0, :2] = SKY  # 16 pixels
    labels[1, 0, :3] = CAR  # 3 pixels
    weights = class_balance_weights(labels, 35)
    assert weights.shape == labels.shape
    assert float(weights.mean()) == pytest.approx(1.0)
    totals = [float(weights[labels == c].sum()) for c in (ROAD, SKY, CAR)]
    assert totals == pytest.approx([labels.numel() / 3] * 3)
    assert (
        float(weights[labels == CAR][0])
        > float(weights[labels == SKY][0])
        > float(weights[labels == ROAD][0])
    )


def test_discriminator_and_generator_losses_reward_the_right_classes():
    labels = torch.randint(0, 4, (1, 6, 6), generator=torch.Generator().manual_seed(0))
    weights = class_balance_weights(labels, 4)
    right = confident_logits(labels, 4)  # every pixel called its true class
    fake_called = confident_logits(labels, 4, lambda c: torch.full_like(c, FAKE_CLASS))
    wrong = confident_logits(labels, 4, lambda c: (c + 1) % 4 + 1)
    d_real_good, d_fake_good = discriminator_loss(right, fake_called, labels, weights)
    d_real_bad, d_fake_bad = discriminator_loss(wrong, right, labels, weights)
    assert 0 <= float(d_real_good) < 1e-6 and 0 <= float(d_fake_good) < 1e-6
    assert float(d_real_bad) > 10 and float(d_fake_bad) > 10
    # G wants D to call its pixels by their class, not "fake"
    assert float(generator_loss(right, labels, weights)) < 1e-6
    assert float(generator_loss(fake_called, labels, weights)) > 10
    logits = torch.zeros(1, 5, 6, 6, requires_grad=True)
    generator_loss(logits, labels, weights).backward()
    true_channel = logits.grad.gather(1, (labels + 1).unsqueeze(1))
    assert bool((true_channel < 0).all()) and bool((logits.grad[:, FAKE_CLASS] > 0).all())


def test_labelmix_masks_whole_classes_and_its_loss_is_zero_for_a_pixelwise_d():
    labels = torch.tensor([[[0, 0, 1, 1], [2, 2, 1, 1]]]).repeat(8, 1, 1)
    mask = labelmix_mask(labels, 3, torch.Generator().manual_seed(0))
    assert mask.shape == (8, 1, 2, 4)
    for b in range(8):
        for c in range(3):
            assert mask[b, 0][labels[b] == c].unique().numel() == 1
    assert 0 < float(mask.mean()) < 1  # both photos take part
    again = labelmix_mask(labels, 3, torch.Generator().manual_seed(0))
    assert torch.equal(mask, again)
    real, fake = torch.randn(8, 4, 2, 4), torch.randn(8, 4, 2, 4)
    assert float(labelmix_loss(mix(mask, real, fake), real, fake, mask)) == 0.0
    assert float(labelmix_loss(mix(1 - mask, real, fake), real, fake, mask)) > 0.1


def oasis_config(tmp_path, name="oasis", **overrides):
    values = dict(discriminator="oasis", oasis_ndf=4, oasis_levels=2, lambda_feat=0.0, lambda_labelmix=10.0)
    values.update(overrides)
    return tiny_config(tmp_path, name, **values)


def test_a_few_oasis_steps_teach_d_the_classes_and_g_the_photo(tmp_path):
    config = oasis_config(tmp_path, lambda_l1=1.0, lr=2e-3)
    trainer = Trainer(config, TinyScenes(count=1), cityscapes(), Dist())
    assert isinstance(trainer.D, SegmentationDiscriminator)
    batch = {k: v[None] for k, v in TinyScenes(count=1)[0].items() if k != "path"}
    losses = [trainer.train_step(batch) for _ in range(24)]
    assert {"D_real", "D_fake", "D_labelmix", "G_GAN"} <= losses[0].keys()
    first, last = losses[0], losses[-1]
    assert last["D_real"] + last["D_fake"] < 0.8 * (first["D_real"] + first["D_fake"]), (first, last)
    assert last["G_L1"] < first["G_L1"]
    assert all(step["D_labelmix"] >= 0 for step in losses)


def test_bf16_autocast_on_the_cpu_still_teaches_d_and_g_and_falls_back_where_it_is_slow(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(cpu_speed, "bf16_speedup", lambda model: (100.0, 50.0))
    trainer = Trainer(
        oasis_config(tmp_path, lambda_l1=1.0, lr=2e-3, cpu_bf16=True), TinyScenes(1), cityscapes(), Dist()
    )
    assert trainer.cpu_bf16
    batch = {k: v[None] for k, v in TinyScenes(count=1)[0].items() if k != "path"}
    losses = [trainer.train_step(batch) for _ in range(24)]
    assert trainer.last_visual[2].dtype == torch.bfloat16  # G ran in bf16
    assert all(p.dtype == torch.float32 for p in trainer.stack.parameters())  # its weights did not
    first, last = losses[0], losses[-1]
    assert last["D_real"] + last["D_fake"] < 0.8 * (first["D_real"] + first["D_fake"]), (first, last)
    assert last["G_L1"] < first["G_L1"]

    monkeypatch.setattr(cpu_speed, "bf16_speedup", lambda model: (100.0, 400.0))  # emulated bf16
    slow = Trainer(oasis_config(tmp_path, "slow", cpu_bf16=True), TinyScenes(1), cityscapes(), Dist())
    assert not slow.cpu_bf16 and "training in float32" in caplog.text
    slow.train_step(batch)
    assert slow.last_visual[2].dtype == torch.float32


def test_oasis_resume_equals_uninterrupted(tmp_path):
    label_set = cityscapes()
    local = dict(netG="local", crop_size=(32, 32), encoder_downsample=1, fix_global_steps=1, flip=True)
    Trainer(
        oasis_config(tmp_path, "straight", max_steps=2, **local), TinyScenes(3), label_set, Dist()
    ).train()
    Trainer(oasis_config(tmp_path, "resumed", max_steps=1, **local), TinyScenes(3), label_set, Dist()).train()
    resumed = Trainer(
        oasis_config(tmp_path, "resumed", max_steps=2, **local), TinyScenes(3), label_set, Dist()
    )
    assert resumed.step == 1
    resumed.train()
    a = load_file(str(tmp_path / "straight" / STATE_FILE))
    b = load_file(str(tmp_path / "resumed" / STATE_FILE))
    assert a.keys() == b.keys() and any("parametrizations" in k for k in a if k.startswith("D."))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)


def test_oasis_settings_are_checked(tmp_path):
    with pytest.raises(EditorError, match="arch.discriminator=oasis"):
        tiny_config(tmp_path, lambda_labelmix=10.0).validate()
    with pytest.raises(EditorError, match="must be one of multiscale, oasis"):
        tiny_config(tmp_path, discriminator="unet").validate()
    with pytest.raises(EditorError, match=r"not a multiple of 16 \(2\^arch.oasis_levels\)"):
        oasis_config(tmp_path, oasis_levels=4, crop_size=(32, 24)).check_image_size((64, 32))
    oasis_config(tmp_path, oasis_levels=4).check_image_size((64, 32))


def test_tiny_recipe_with_the_oasis_d_trains_saves_and_resumes_from_the_command_line(tmp_path):
    from cli import run_command

    write_folder(tmp_path / "data", "train", 2, height=32, width=64)
    common = [
        "train",
        "--recipe",
        str(REPO_ROOT / "recipes/tiny.toml"),
        "--data",
        str(tmp_path / "data"),
        "--name",
        "tiny",
        "--runs",
        str(tmp_path / "runs"),
        *sets("arch.discriminator=oasis", "arch.oasis_ndf=4", "loss.lambda_labelmix=10"),
    ]
    assert run_command([*common, "--max-steps", "1"]) == 0
    run = tmp_path / "runs" / "tiny"
    assert json_step(run) == 1
    assert run_command([*common, "--max-steps", "3"]) == 0
    assert json_step(run) == 3
    saved = json.loads((run / "state.json").read_text())["config"]
    assert saved["arch"]["discriminator"] == "oasis" and saved["loss"]["lambda_labelmix"] == 10.0
    rows = (run / "loss_log.csv").read_text().splitlines()
    assert "D_labelmix" in rows[0].split(",")
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3"]
