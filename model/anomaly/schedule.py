"""The diffusion noise schedule and the two one-jump updates the sampler is built from.

Timesteps run 0..T-1; ``alpha_bar(t)`` is the cumulative product of (1 - beta). Index -1 stands for
the clean image (alpha_bar = 1), so a jump to -1 returns the x̂₀ it was given.

Every update here has the form ``x_s = a·x_t + b·x̂₀ + σ·z`` with z ~ N(0, I):

* :func:`ddpm_posterior` — one ancestral DDPM step t → t-1 (the posterior q(x_{t-1} | x_t, x̂₀));
* :func:`ddim_jump` — DDIM with η = 1 from t straight to any s < t.

With x̂₀ held fixed, composing ancestral steps t → … → s is again of that form, and its (a, b, σ²)
equal DDIM η = 1's for the jump t → s. AIAS uses the jump; a test checks the equivalence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ScheduleConfig:
    steps: int = 1000  # T, the training trajectory's length
    beta_start: float = 1e-4  # DDPM's linear schedule
    beta_end: float = 0.02


@dataclass(frozen=True)
class Affine:
    """x_s = a·x_t + b·x̂₀ + sqrt(var)·z."""

    a: float
    b: float
    var: float


class NoiseSchedule:
    def __init__(self, config: ScheduleConfig = ScheduleConfig()) -> None:
        self.config = config
        betas = torch.linspace(config.beta_start, config.beta_end, config.steps, dtype=torch.float64)
        self.alpha_bars = torch.cumprod(1.0 - betas, dim=0)

    @property
    def steps(self) -> int:
        return self.config.steps

    def alpha_bar(self, t: int) -> float:
        return 1.0 if t < 0 else float(self.alpha_bars[t])

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """Sample q(x_t | x₀); ``t`` is an int or a per-sample tensor of timesteps."""
        ab = self.alpha_bars.to(x0.device)[torch.as_tensor(t, device=x0.device)].float()
        ab = ab.reshape(-1, *([1] * (x0.dim() - 1))) if ab.dim() else ab
        return ab.sqrt() * x0 + (1.0 - ab).sqrt() * noise

    def predict_x0(self, x_t: torch.Tensor, eps: torch.Tensor, t: int) -> torch.Tensor:
        ab = self.alpha_bar(t)
        return (x_t - math.sqrt(1.0 - ab) * eps) / math.sqrt(ab)

    def ddpm_posterior(self, t: int) -> Affine:
        """One ancestral step t → t-1 given x̂₀ (Ho et al. 2020, eq. 6-7)."""
        ab_t, ab_s = self.alpha_bar(t), self.alpha_bar(t - 1)
        alpha_t = ab_t / ab_s
        a = math.sqrt(alpha_t) * (1.0 - ab_s) / (1.0 - ab_t)
        b = math.sqrt(ab_s) * (1.0 - alpha_t) / (1.0 - ab_t)
        return Affine(a, b, (1.0 - ab_s) / (1.0 - ab_t) * (1.0 - alpha_t))

    def ddim_jump(self, t: int, s: int, eta: float = 1.0) -> Affine:
        """DDIM from t to s < t given x̂₀ (Song et al. 2021, eq. 12), written in (x_t, x̂₀) form."""
        if not s < t:
            raise ValueError(f"a jump must go down in time (got {t} → {s})")
        ab_t, ab_s = self.alpha_bar(t), self.alpha_bar(s)
        var = eta**2 * (1.0 - ab_s) / (1.0 - ab_t) * (1.0 - ab_t / ab_s)
        dir_coef = math.sqrt(max(1.0 - ab_s - var, 0.0))  # multiplies ε̂ = (x_t - √ab_t x̂₀)/√(1-ab_t)
        a = dir_coef / math.sqrt(1.0 - ab_t)
        return Affine(a, math.sqrt(ab_s) - a * math.sqrt(ab_t), var)


def compose(first: Affine, second: Affine) -> Affine:
    """The update ``second ∘ first`` with the same x̂₀ fed to both."""
    return Affine(second.a * first.a, second.a * first.b + second.b, second.a**2 * first.var + second.var)


def apply(
    update: Affine, x_t: torch.Tensor, x0_hat: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    out = update.a * x_t + update.b * x0_hat
    if update.var > 0:
        noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype, device=x_t.device)
        out = out + math.sqrt(update.var) * noise
    return out
