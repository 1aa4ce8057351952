"""The bf16/fp32 choice: decided by measured speed and closeness, cached, overridable."""

from __future__ import annotations

import pytest
import torch

from model.cpu_speed import MIN_SPEEDUP, conv_shapes, time_convs
from model.render.precision import (
    MIN_PSNR_DB,
    PrecisionChoice,
    choose_precision,
    decide,
    psnr,
    requested_precision,
)

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    "fp32_ms, bf16_ms, psnr_db, expected",
    [
        (100.0, 50.0, 45.0, "bf16"),  # faster and close: bf16
        (100.0, 400.0, 45.0, "fp32"),  # emulated bf16 (AVX2-only CPUs): many times slower
        (100.0, 90.0, 45.0, "fp32"),  # faster, but not by MIN_SPEEDUP
        (100.0, 50.0, 30.0, "fp32"),  # faster but too lossy
    ],
)
def test_decide_with_fake_timings(fp32_ms, bf16_ms, psnr_db, expected) -> None:
    choice = decide(fp32_ms, bf16_ms, psnr_db)
    assert choice.precision == expected
    assert choice.reason.startswith("auto:")


def test_decide_thresholds_are_inclusive() -> None:
    assert decide(MIN_SPEEDUP * 10.0, 10.0, MIN_PSNR_DB).precision == "bf16"


def test_auto_measures_once_then_uses_the_cache(tmp_path) -> None:
    calls = []

    def measure() -> tuple[float, float, float]:
        calls.append(1)
        return 100.0, 40.0, 48.0

    first = choose_precision("auto", CPU, measure, "model-a", folder=tmp_path)
    second = choose_precision("auto", CPU, measure, "model-a", folder=tmp_path)
    assert first.precision == second.precision == "bf16"
    assert len(calls) == 1 and second.reason.endswith("cached")
    choose_precision("auto", CPU, measure, "model-b", folder=tmp_path)  # another model: measured again
    assert len(calls) == 2


def test_explicit_requests_are_obeyed_without_measuring(tmp_path) -> None:
    def measure() -> tuple[float, float, float]:
        raise AssertionError("an explicit request must not measure")

    assert choose_precision("fp32", CPU, measure, "m", folder=tmp_path).dtype == torch.float32
    assert choose_precision("bf16", CPU, measure, "m", folder=tmp_path).dtype == torch.bfloat16


def test_requested_precision_reads_the_override_then_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("P2P_PRECISION", "bf16")
    assert requested_precision() == "bf16"
    assert requested_precision("fp32") == "fp32"
    monkeypatch.delenv("P2P_PRECISION")
    assert requested_precision() == "auto"
    with pytest.raises(ValueError, match="precision"):
        requested_precision("fp8")


def test_time_convs_uses_the_clock_and_conv_shapes_ranks_by_cost() -> None:
    ticks = iter(range(1000))
    ms = time_convs([(4, 4, 3)], torch.float32, size=(8, 8), repeats=2, clock=lambda: float(next(ticks)))
    assert ms == 1000.0  # each timed repeat spans one fake second
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 7), torch.nn.Conv2d(8, 64, 3), torch.nn.Conv2d(64, 64, 3)
    )
    assert conv_shapes(model, limit=2) == [(64, 64, 3), (8, 64, 3)]


def test_psnr_of_equal_images_is_infinite_and_falls_with_noise() -> None:
    a = torch.rand(1, 3, 16, 16) * 2 - 1
    assert psnr(a, a) == float("inf")
    assert psnr(a, a + 0.01) > psnr(a, a + 0.1)
    assert isinstance(PrecisionChoice("fp32", "x").describe(), str)


def test_timing_convs_leaves_the_callers_random_state_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    time_convs([(4, 4, 3)], torch.float32, size=(8, 8), repeats=1)
    assert torch.equal(torch.rand(3), expected)
