"""AIAS's jump is DDIM η = 1, which equals composing ancestral DDPM steps with x̂₀ held fixed."""

from __future__ import annotations

import math

import pytest
import torch

from model.anomaly.inpainter import Inpainter, InpainterConfig
from model.anomaly.networks import NetworkConfig
from model.anomaly.sampler import SamplerConfig, aias_sample, evaluation_timesteps
from model.anomaly.schedule import NoiseSchedule, apply, compose


@pytest.mark.parametrize(("t", "s"), [(999, 874), (500, 120), (126, 1), (40, -1), (3, 2)])
def test_ddim_eta1_jump_equals_composed_ddpm_steps(t: int, s: int) -> None:
    schedule = NoiseSchedule()
    composed = schedule.ddpm_posterior(t)
    for step in range(t - 1, s, -1):
        composed = compose(composed, schedule.ddpm_posterior(step))
    jump = schedule.ddim_jump(t, s, eta=1.0)
    assert math.isclose(composed.a, jump.a, rel_tol=1e-6, abs_tol=1e-9)
    assert math.isclose(composed.b, jump.b, rel_tol=1e-6, abs_tol=1e-9)
    assert math.isclose(composed.var, jump.var, rel_tol=1e-6, abs_tol=1e-12)


def test_composed_samples_match_the_jump_in_distribution() -> None:
    """Monte Carlo: running the ancestral steps one by one gives the jump's mean and variance."""
    schedule = NoiseSchedule()
    t, s = 300, 200
    gen = torch.Generator().manual_seed(0)
    x_t, x0 = torch.full((200_000,), 0.3), torch.full((200_000,), -0.5)
    x = x_t
    for step in range(t, s, -1):
        x = apply(schedule.ddpm_posterior(step), x, x0, gen)
    jump = schedule.ddim_jump(t, s)
    assert abs(float(x.mean()) - (jump.a * 0.3 + jump.b * -0.5)) < 4e-3
    assert abs(float(x.var()) - jump.var) < 0.02 * jump.var
    # η = 1 is not η = 0: the deterministic jump has no variance
    assert schedule.ddim_jump(t, s, eta=0.0).var == 0.0 and jump.var > 0.01


def test_step_plan_counts_network_evaluations() -> None:
    for steps in (2, 3, 10, 50):
        pairs = evaluation_timesteps(1000, steps)
        assert len(pairs) == steps
        assert pairs[0][0] == 999 and pairs[-1] == (0, -1)
        assert all(s < t for t, s in pairs)
    assert evaluation_timesteps(1000, 10)[-2:] == [(1, 0), (0, -1)]


def test_quadratic_spacing_puts_short_segments_near_the_clean_end() -> None:
    for steps in (3, 10, 27, 50):
        pairs = evaluation_timesteps(1000, steps, "quadratic")
        assert len(pairs) == steps and pairs[0][0] == 999
        assert all(s < t for t, s in pairs) and all(
            a[1] == b[0] for a, b in zip(pairs[:-1], pairs[1:], strict=True)
        )
    quad = [t - s for t, s in evaluation_timesteps(1000, 10, "quadratic")[:-2]]
    uniform = [t - s for t, s in evaluation_timesteps(1000, 10, "uniform")[:-2]]
    assert quad == sorted(quad, reverse=True) and quad[-1] < quad[0] / 5
    assert max(uniform) - min(uniform) <= 1
    # the last x̂₀ before the two final steps comes from a far less noisy step than with uniform spacing
    assert evaluation_timesteps(1000, 10)[-3][0] < 30 < evaluation_timesteps(1000, 10, "uniform")[-3][0]


def test_sampler_keeps_the_background_and_is_seeded() -> None:
    torch.manual_seed(0)
    model = Inpainter(InpainterConfig(NetworkConfig(width=8, farm_width=4, time_dim=16), crop=16)).eval()
    background = torch.rand(1, 3, 16, 16) * 2 - 1
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:10, 5:12] = 1
    a = aias_sample(model, background, mask, SamplerConfig(steps=4), torch.Generator().manual_seed(1))
    b = aias_sample(model, background, mask, SamplerConfig(steps=4), torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert torch.equal(a * (1 - mask), background * (1 - mask))
    assert (a - background).abs()[mask.expand_as(a) > 0].mean() > 1e-3
