"""The bench: brush strokes on the sample scenes, its PSNRs, pooling and the JSON / table output."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model.box import mask_box
from model.networks.encoder import instance_average
from model.render.bench import (
    EDIT_AREAS,
    PSNR_CAP_DB,
    format_table,
    pooling_times,
    psnr,
    psnr_uint8,
    random_weights_line,
    run_bench,
)
from model.render.random_models import default_generator_config, random_model
from model.render.strokes import brush_stroke, stroke_mask


@pytest.mark.slow
def test_bench_json_keeps_its_keys_with_stroke_figures_under_incremental(capsys) -> None:
    from main import main

    # 256x128: at 128x64 the bundled model's 1/32-scale bottleneck is 4x2 positions
    assert (
        main(
            [
                "bench",
                "--size",
                "256x128",
                "--json",
                "--strokes",
                "1",
                "--repeats",
                "1",
                "--scenes",
                "1",
                "--strokes-per-area",
                "2",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    for key in (
        "device",
        "size",
        "full_ms",
        "incremental",
        "preview_p50_ms",
        "preview_p95_ms",
        "pooling_speedup",
        "cache_mb",
    ):
        assert key in data
    assert data["size"] == "256x128" and data["random_weights"] is False and len(data["scenes"]) == 1
    assert [round(e["area"], 4) for e in data["incremental"]] == list(EDIT_AREAS)
    for edit in data["incremental"]:
        assert edit["strokes"] == 2 and edit["ms"] <= edit["ms_p90"]
        assert edit["speedup"] == pytest.approx(data["full_ms"] / edit["ms"], rel=0.5)
        assert 0 < edit["work_fraction"] <= 1
        # a stroke only changes pixels near it: the frame can only score higher than its box
        assert edit["psnr_db"] >= edit["psnr_box_db"] - 1e-6
        assert edit["exact_psnr_box_db"] >= edit["psnr_box_db"] - 3.0  # epsilon may only lose a little
    assert data["pooling_max_difference"] <= 1e-6
    assert data["exact_cancel_ms"] is not None and data["exact_cancel_ms"] < data["full_ms"] * 5
    assert data["preview_samples"] > 0 and data["preview_p50_ms"] <= data["preview_p95_ms"]


def test_random_weights_are_named_in_the_first_table_line() -> None:
    result = run_bench(
        random_model(default_generator_config()),
        "tiny",
        128,
        64,
        strokes=0,
        repeats=1,
        exact=False,
        compare_module=False,
        random_weights=True,
        scenes=1,
        strokes_per_area=1,
    )
    lines = format_table(result).splitlines()
    assert lines[0] == random_weights_line("tiny")
    assert any(line.startswith("first pixels") for line in lines)
    assert [e.strokes for e in result.incremental] == [1, 1, 1]


def test_psnr_values() -> None:
    a = torch.zeros(1, 3, 4, 4)
    assert psnr(a, a) == float("inf")
    assert abs(psnr(a, a + 0.2) - 20.0) < 1e-6  # 0.1 on the [0, 1] scale
    image = np.zeros((10, 20, 3), np.uint8)
    other = image.copy()
    other[0:2, 0:2] = 255  # 12 of 600 values at full error: mse = 255² · 0.02
    assert psnr_uint8(image, image) == PSNR_CAP_DB
    assert psnr_uint8(image, other) == pytest.approx(10 * np.log10(1 / 0.02))
    assert psnr_uint8(image, other, (0, 0, 4, 4)) == pytest.approx(10 * np.log10(1 / 0.25))
    assert psnr_uint8(image, other, (10, 0, 20, 10)) == PSNR_CAP_DB


@pytest.mark.parametrize("area", EDIT_AREAS)
def test_strokes_paint_their_area_as_a_long_thin_seeded_polyline(area: float) -> None:
    mask = stroke_mask(256, 512, area, seed=3)
    assert np.array_equal(mask, stroke_mask(256, 512, area, seed=3))
    painted = mask.mean()
    assert area <= painted < area * 1.6
    x0, y0, x1, y1 = mask_box(mask)
    assert (x1 - x0) * (y1 - y0) > 2.5 * mask.sum()  # a stroke, not a disc (which fills ~79 % of its box)
    labels = np.full((256, 512), 7, np.uint8)
    new_labels, new_instances, box = brush_stroke(labels, labels.astype(np.int32), area, 3, 26, thing=True)
    assert box == (x0, y0, x1, y1)
    assert set(np.unique(new_instances[mask])) == {26999} and (new_labels[mask] == 26).all()
    assert (new_labels[~mask] == 7).all()


def test_vectorised_pooling_equals_the_per_instance_loop() -> None:
    rng = np.random.default_rng(0)
    instances = rng.choice(np.array([7, 26000, 26001, 24003], np.int32), size=(64, 96))
    vec_ms, loop_ms, difference = pooling_times(instances)
    assert vec_ms > 0 and loop_ms > 0 and difference <= 1e-6
    features = torch.arange(2 * 8, dtype=torch.float32).reshape(1, 2, 2, 4)
    inst = torch.tensor([[[1, 1, 2, 2], [1, 1, 2, 9]]])
    out = instance_average(features, inst)
    assert out[0, 0, 0, 0] == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert out[0, 1, 0, 2] == pytest.approx((10 + 11 + 14) / 3) and out[0, 1, 1, 3] == 15
    trained = features.clone().requires_grad_()  # the training path (autograd) gives the same means
    with_grad = instance_average(trained, inst)
    assert torch.allclose(with_grad, out)
    with_grad.sum().backward()
    assert trained.grad is not None and torch.allclose(trained.grad.sum(), torch.tensor(16.0))
