"""AIAS (anomaly-informed accelerated sampling, FAST) over the inpainter's networks.

``steps`` network evaluations: the trajectory T-1 → 1 is split into S = steps - 2 segments (at least
one), spaced quadratically in t by default (short segments near the clean end, where the object's
detail forms; evenly spaced segments on DDPM's linear schedule spend half the evaluations on nearly
pure noise and take the last x̂₀ from t ≈ T/S, where it is still a blurred average). Each segment
predicts x̂₀ once and jumps to the segment's end in closed form with DDIM η = 1 (which equals
composing the ancestral DDPM steps with x̂₀ held fixed; see schedule.py). Then two ordinary steps
finish (1 → 0 → clean). At every evaluation:

* inside the mask, FARM's anomaly-only prediction replaces x̂₀ there, so the jump re-noises it to
  the segment's end and it becomes the latent inside the mask;
* outside the mask, the latent is the clean background re-noised to the segment's end.

The sample is composited onto the clean background (mask inside, background outside).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from model.anomaly.inpainter import Inpainter
from model.anomaly.schedule import apply


@dataclass(frozen=True)
class SamplerConfig:
    steps: int = 10  # network evaluations (2..1000)
    use_farm: bool = True  # False: the plain denoiser inside the mask ("FAST without FARM")
    spacing: str = "quadratic"  # segment ends: "quadratic" (DDIM's t_i ∝ i²) or "uniform" in t


SPACINGS: tuple[str, ...] = ("quadratic", "uniform")


def evaluation_timesteps(total: int, steps: int, spacing: str = "quadratic") -> list[tuple[int, int]]:
    """(t, s) pairs: evaluate at t, land at s (-1 = clean). The last two are single steps when steps ≥ 3."""
    if steps < 2:
        raise ValueError("AIAS needs at least 2 steps")
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; known: {', '.join(SPACINGS)}")
    segments = max(steps - 2, 1)
    end = 1 if steps >= 3 else 0
    fraction = np.linspace(1.0, 0.0, segments + 1)
    if spacing == "quadratic":
        fraction = fraction**2
    bounds = np.round(end + fraction * (total - 1 - end)).astype(int)
    # rounding may make neighbours equal near the clean end: push them apart so there are S segments
    to_end = np.arange(len(bounds))[::-1]
    bounds = (np.maximum.accumulate((bounds - to_end)[::-1])[::-1] + to_end).tolist()
    pairs = list(zip(bounds[:-1], bounds[1:], strict=True))
    pairs += [(1, 0), (0, -1)] if steps >= 3 else [(0, -1)]
    return pairs


@torch.inference_mode()
def aias_sample(
    model: Inpainter,
    background: torch.Tensor,
    mask: torch.Tensor,
    config: SamplerConfig,
    generator: torch.Generator | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Inpaint ``mask`` (B×1×H×W in {0,1}) into ``background`` (B×3×H×W in [-1,1]); H, W multiples of 4."""
    schedule = model.schedule
    pairs = evaluation_timesteps(schedule.steps, config.steps, config.spacing)

    def renoised_background(t: int) -> torch.Tensor:
        if t < 0:
            return background
        noise = torch.randn(background.shape, generator=generator, dtype=background.dtype)
        return schedule.add_noise(background, noise, t)

    noise = torch.randn(background.shape, generator=generator, dtype=background.dtype)
    x = mask * noise + (1.0 - mask) * renoised_background(pairs[0][0])
    for i, (t, s) in enumerate(pairs):
        t_batch = torch.full((background.shape[0],), t, dtype=torch.long)
        eps = model.denoiser(x, mask, background, t_batch)
        x0_hat = schedule.predict_x0(x, eps, t).clamp(-1.0, 1.0)
        if config.use_farm:
            x0_hat = mask * model.farm(x, mask, t_batch) + (1.0 - mask) * x0_hat
        x = apply(schedule.ddim_jump(t, s, eta=1.0), x, x0_hat, generator)
        x = mask * x + (1.0 - mask) * renoised_background(s)
        if on_step is not None:
            on_step(i + 1, len(pairs))
    return (mask * x + (1.0 - mask) * background).clamp(-1.0, 1.0)
