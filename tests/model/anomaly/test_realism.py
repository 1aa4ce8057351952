"""The realism check scores only the normal pixels and finds no drop when nothing changed."""

from __future__ import annotations

import numpy as np
import torch

from model.anomaly.export import AnomalyPair, write_pair
from model.anomaly.realism import TOLERANCE, normal_pixel_confusions, realism_check, scene_key
from model.anomaly.synthesis import ANOMALY, VOID, Placed
from model.evaluate.judge import Segmenter
from model.labels import cityscapes
from model.scene_io import write_png


class ChannelJudge(torch.nn.Module):
    """A stand-in judge whose class is the brightest colour channel, so its reading follows the image."""

    def __init__(self) -> None:
        super().__init__()
        self.classify = torch.nn.Identity()

    def features(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return image, image


def _judge() -> tuple[Segmenter, list[int]]:
    return ChannelJudge(), [7, 8, 26]  # type: ignore[return-value]  # road, sidewalk, car


def _scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = np.full((32, 64), 7, np.uint8)
    labels[:, 40:] = 8
    labels[:8, :20] = 26
    image = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)
    anomaly = np.zeros((32, 64), np.uint8)
    anomaly[12:20, 10:18] = VOID
    anomaly[13:19, 11:17] = ANOMALY
    return labels, image, anomaly


def test_scene_key_strips_the_pair_index() -> None:
    assert scene_key("scene_000003_00017") == "scene_000003"
    assert scene_key("street") == "street"


def test_confusion_counts_only_normal_pixels() -> None:
    judge, classes = _judge()
    labels, image, anomaly = _scene(np.random.default_rng(0))
    matrix = normal_pixel_confusions(judge, classes, image, labels, anomaly)
    assert matrix.shape == (3, 3)
    assert matrix.sum() == int((anomaly == 0).sum())
    assert matrix[2].sum() == 8 * 20  # the car rows, all normal


def test_unchanged_background_has_no_drop_and_a_changed_one_is_measured(tmp_path) -> None:
    judge, classes = _judge()
    rng = np.random.default_rng(1)
    for folder in ("label", "clean", "same", "changed"):
        (tmp_path / folder).mkdir()
    for i in range(3):
        labels, image, anomaly = _scene(rng)
        write_png(tmp_path / "label" / f"s{i}.png", labels)
        write_png(tmp_path / "clean" / f"s{i}.png", image)
        inside = image.copy()
        inside[anomaly == ANOMALY] = 255 - inside[anomaly == ANOMALY]
        record = [Placed("box", (11, 13, 17, 19))]
        write_pair(tmp_path / "same", f"s{i}_{i:05d}", AnomalyPair(image, anomaly, "paste", 0, 10, record))
        write_pair(
            tmp_path / "changed", f"s{i}_{i:05d}", AnomalyPair(255 - image, anomaly, "paste", 0, 10, record)
        )
    args = (cityscapes(), tmp_path / "clean", tmp_path / "label")
    same = realism_check(judge, classes, args[0], tmp_path / "same", *args[1:], reps=20)
    assert same.images == 3 and same.drop.value == 0.0 and same.passed
    assert same.clean == same.synthesised
    changed = realism_check(judge, classes, args[0], tmp_path / "changed", *args[1:], reps=20)
    assert changed.clean == same.clean and changed.synthesised != changed.clean
    assert changed.drop.low <= changed.drop.value <= changed.drop.high
    assert TOLERANCE == 0.02
