"""The class-aware data order: scenes rich in rare classes are drawn more often, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.data import CAR, write_folder

from model.data.folders import LoaderConfig, PairedDataset, read_labels
from model.errors import EditorError
from model.labels import cityscapes
from model.train.config import TrainConfig
from model.train.distributed import Dist
from model.train.sampler import (
    StepSampler,
    class_aware_weights,
    rare_pixel_shares,
    rare_scene_weights,
    step_generator,
)
from model.train.trainer import Trainer


def test_weights_ramp_from_one_to_repeat_at_the_full_share():
    weights = rare_scene_weights(np.array([0.0, 0.005, 0.01, 0.3]), repeat=4.0, full_share=0.01)
    assert weights.tolist() == pytest.approx([1.0, 2.5, 4.0, 4.0])


def test_weighted_order_favours_heavy_scenes_and_resumes_exactly():
    weights = torch.tensor([1.0, 1.0, 1.0, 5.0])
    full = list(StepSampler(4, 1, 0, 400, seed=3, weights=weights))
    tail = list(StepSampler(4, 1, 150, 400, seed=3, weights=weights))
    assert full[150:] == tail  # a run resumed at step 150 draws what an uninterrupted one would
    counts = np.bincount(full, minlength=4)
    assert counts[3] > 2 * counts[:3].max(), counts
    assert list(StepSampler(4, 1, 0, 400, seed=4, weights=weights)) != full


def test_without_weights_each_epoch_is_a_permutation():
    order = list(StepSampler(5, 1, 0, 10, seed=0))
    assert sorted(order[:5]) == sorted(order[5:]) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="positive"):
        StepSampler(3, 1, 0, 3, seed=0, weights=torch.tensor([1.0, 0.0, 1.0]))


def test_stream_zero_keeps_the_flip_and_crop_draws_and_other_streams_differ():
    seed, step, rank = 2, 17, 0
    old = torch.Generator().manual_seed((seed * 1_000_003 + step) * 1009 + rank)
    assert torch.equal(
        torch.rand(4, generator=step_generator(seed, step, rank)), torch.rand(4, generator=old)
    )
    a = torch.rand(4, generator=step_generator(seed, step, rank, stream=1))
    assert not torch.equal(a, torch.rand(4, generator=step_generator(seed, step, rank)))


def dataset(root) -> PairedDataset:
    return PairedDataset(LoaderConfig(root=root, resize="none", flip=False), cityscapes())


def test_shares_come_from_the_label_maps_and_unknown_names_are_refused(tmp_path):
    data = dataset(write_folder(tmp_path / "data", "train", 3))
    shares = rare_pixel_shares(data, [CAR])
    expected = [float((read_labels(s.label, cityscapes(), False) == CAR).mean()) for s in data.samples]
    assert shares.tolist() == pytest.approx(expected) and all(0 < v < 0.5 for v in expected)
    weights = class_aware_weights(data, "car", 3.0, 0.01)
    assert weights is not None and weights.tolist() == pytest.approx([3.0, 3.0, 3.0])
    assert class_aware_weights(data, "car", 1.0, 0.01) is None
    with pytest.raises(EditorError, match="no class named 'pedestrian'"):
        class_aware_weights(data, "car, pedestrian", 3.0, 0.01)


def test_trainer_draws_by_the_weights_and_the_settings_are_checked(tmp_path):
    data = dataset(write_folder(tmp_path / "data", "train", 2))
    config = TrainConfig().with_values(
        {
            "run.name": "rare",
            "run.runs_dir": tmp_path / "runs",
            "arch.ngf": 4,
            "arch.n_downsample_global": 1,
            "arch.n_blocks_global": 1,
            "arch.ndf": 4,
            "arch.num_d": 1,
            "loss.lambda_l1": 1.0,
            "data.num_workers": 0,
            "data.rare_classes": "car",
            "data.rare_repeat": 2.0,
            "data.rare_full_share": 0.5,
            "schedule.max_steps": 2,
            "run.sample_every": 0,
        }
    )
    trainer = Trainer(config, data, cityscapes(), Dist())
    assert trainer.scene_weights is not None and bool((trainer.scene_weights > 1).all())
    trainer.train()
    assert trainer.step == 2
    with pytest.raises(EditorError, match="name them"):
        config.with_values({"data.rare_classes": ""}).validate()
    with pytest.raises(EditorError, match="at least 1"):
        config.with_values({"data.rare_repeat": 0.5}).validate()
