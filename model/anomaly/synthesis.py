"""Putting anomalies into full frames (e.g. 2048×1024 renders).

One anomaly = one binary mask in frame coordinates. Its content is made in a square window around
the mask: for ``diffusion`` the window is resized to the inpainter's crop, inpainted with AIAS,
and upsampled back; ``paste`` and ``perlin`` fill it at full resolution. The result is blended in
with a feathered alpha: 1 on the mask, falling to 0 within ``feather`` pixels, so every pixel
farther than that from the mask keeps its exact value. The label marks the mask 1 and the feather
band 255 (void, SegmentMeIfYouCan's convention), everything else 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from model.anomaly.baselines import fill_paste, fill_perlin, perlin_mask
from model.anomaly.crops import ground_mask
from model.anomaly.families import TRAIN_FAMILIES, draw_random
from model.anomaly.inpainter import Inpainter
from model.anomaly.sampler import SamplerConfig, aias_sample
from model.errors import EditorError

METHODS: tuple[str, ...] = ("paste", "perlin", "diffusion")
MIN_STEPS, MAX_STEPS = 2, 50  # AIAS network evaluations offered to users
ANOMALY, NORMAL, VOID = 1, 0, 255


class AnomalyError(EditorError):
    """An anomaly mask or request that cannot be synthesised (empty, wrong size, no inpainter)."""


@dataclass(frozen=True)
class SynthesisConfig:
    method: str = "diffusion"
    steps: int = 10  # AIAS network evaluations (diffusion only)
    feather: int = 3  # alpha ramp width in frame pixels
    context: float = 2.2  # window side / mask side (the inpainter trained near 2.2)
    families: tuple[str, ...] = TRAIN_FAMILIES  # where object shapes (and paste colours) come from
    min_size: float = 0.025  # object side / frame height at the top of the ground …
    max_size: float = 0.21  # … and at the bottom of the frame
    use_farm: bool = True
    spacing: str = SamplerConfig().spacing  # AIAS segment ends (sampler.py)


@dataclass
class Placed:
    """One anomaly in a frame: its family (or method) and box (x0, y0, x1, y1)."""

    family: str
    box: tuple[int, int, int, int]
    extra: dict[str, float] = field(default_factory=dict)


def feather_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """Alpha in [0, 1]: 1 on ``mask``, a ramp down to 0 within ``feather`` pixels, 0 beyond it."""
    m = mask.astype(np.float32)
    if feather <= 0:
        return m
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip(1.0 - dist / (feather + 1.0), 0.0, 1.0).astype(np.float32)


def window_around(
    box: tuple[int, int, int, int], shape: tuple[int, int], context: float
) -> tuple[int, int, int]:
    """(top, left, side) of a square window ``context`` × the box's long side, shifted into the frame."""
    x0, y0, x1, y1 = box
    h, w = shape
    side = int(np.ceil(max(x1 - x0, y1 - y0) * context))
    side = max(8, min(side, h, w))
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    top = int(np.clip(cy - side // 2, 0, h - side))
    left = int(np.clip(cx - side // 2, 0, w - side))
    return top, left, side


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def check_mask(frame: np.ndarray, mask: np.ndarray) -> None:
    if mask.shape != frame.shape[:2]:
        raise AnomalyError(
            f"anomaly mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{frame.shape[1]}x{frame.shape[0]}"
        )
    if not mask.any():
        raise AnomalyError("anomaly mask is empty")


StepCallback = Callable[[int, int], None]  # (network evaluations done, of) for one inpaint


def inpaint_window(
    model: Inpainter,
    window: np.ndarray,
    mask: np.ndarray,
    steps: int,
    seed: int,
    use_farm: bool = True,
    on_step: StepCallback | None = None,
    spacing: str = SamplerConfig().spacing,
) -> np.ndarray:
    """Diffusion content for a square float [0,1] window: resize to the crop, AIAS, resize back."""
    crop = model.config.crop
    side = window.shape[0]
    small = cv2.resize(window, (crop, crop), interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask.astype(np.float32), (crop, crop), interpolation=cv2.INTER_AREA) > 0.3
    if not small_mask.any():
        small_mask[crop // 2, crop // 2] = True
    bg = torch.from_numpy(small).permute(2, 0, 1)[None] * 2 - 1
    m = torch.from_numpy(small_mask.astype(np.float32))[None, None]
    gen = torch.Generator().manual_seed(seed)
    out = aias_sample(
        model, bg, m, SamplerConfig(steps=steps, use_farm=use_farm, spacing=spacing), gen, on_step
    )
    rgb = ((out[0].permute(1, 2, 0).numpy() + 1) / 2).astype(np.float32)
    return cv2.resize(rgb, (side, side), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def fill_mask(
    frame: np.ndarray,
    mask: np.ndarray,
    config: SynthesisConfig,
    seed: int,
    inpainter: Inpainter | None = None,
    content: np.ndarray | None = None,
    on_step: StepCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Put an anomaly of ``config.method`` inside ``mask`` (H×W bool) of ``frame`` (H×W×3 uint8).

    ``content`` (H×W×3 float [0,1]) gives the object's own colours (paste of a known object).
    ``on_step`` follows the diffusion sampler (it may raise to stop it).
    Returns the new frame (uint8) and the label (0 normal, 1 anomaly, 255 feather band).
    """
    check_mask(frame, mask)
    if config.method not in METHODS:
        raise AnomalyError(f"unknown anomaly method '{config.method}' (choose {', '.join(METHODS)})")
    if config.method == "diffusion" and inpainter is None:
        raise AnomalyError("the diffusion method needs an inpainter checkpoint")
    rng = np.random.default_rng(seed)
    top, left, side = window_around(mask_box(mask), mask.shape, config.context)
    sl = (slice(top, top + side), slice(left, left + side))
    window = frame[sl].astype(np.float32) / 255.0
    wmask = mask[sl]
    if content is not None:
        filled = window.copy()
        filled[wmask] = content[sl][wmask]
    elif config.method == "paste":
        filled = fill_paste(window, wmask, rng, config.families)
    elif config.method == "perlin":
        filled = fill_perlin(window, wmask, frame, rng)
    else:
        assert inpainter is not None
        filled = inpaint_window(
            inpainter, window, wmask, config.steps, seed, config.use_farm, on_step, config.spacing
        )
    alpha = feather_alpha(mask, config.feather)[sl][..., None]
    out = frame.copy()
    out[sl] = np.round((alpha * filled + (1 - alpha) * window) * 255).clip(0, 255).astype(np.uint8)
    label = np.zeros(mask.shape, np.uint8)
    band = alpha[..., 0] > 0
    label[sl][band] = VOID
    label[mask] = ANOMALY
    return out, label


def object_size(y: int, horizon: int, height: int, config: SynthesisConfig) -> int:
    """Side in pixels for an object standing at row ``y``: grows linearly below the horizon."""
    f = float(np.clip((y - horizon) / max(height - horizon, 1), 0.0, 1.0))
    return max(6, int(round(height * (config.min_size + f * (config.max_size - config.min_size)))))


def place_masks(
    labels: np.ndarray, count: int, config: SynthesisConfig, rng: np.random.Generator
) -> list[tuple[np.ndarray, Placed, np.ndarray | None]]:
    """``count`` object masks (full frame) standing on road / sidewalk, each with its record and,
    for paste, its colours. Masks do not overlap. Fewer are returned if the ground is too small."""
    h, w = labels.shape
    ground = ground_mask(labels)
    ys, xs = np.nonzero(ground[::4, ::4])
    out: list[tuple[np.ndarray, Placed, np.ndarray | None]] = []
    if len(ys) == 0:
        return out
    horizon = int(ys.min() * 4)
    taken = np.zeros((h, w), bool)
    for _ in range(count * 6):
        if len(out) == count:
            break
        i = int(rng.integers(len(ys)))
        cy, cx = int(ys[i] * 4), int(xs[i] * 4)
        size = object_size(cy, horizon, h, config)
        top, left = cy - size + size // 5, cx - size // 2  # the object stands on (cy, cx)
        if top < 0 or left < 0 or top + size > h or left + size > w:
            continue
        if config.method == "perlin":
            local, family, rgb = perlin_mask(size, rng), "perlin", None
        else:
            patch = draw_random(config.families, size, rng)
            local, family, rgb = patch.mask, patch.family, patch.rgb
        mask = np.zeros((h, w), bool)
        mask[top : top + size, left : left + size] = local
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        if (grown & taken).any() or not mask.any():
            continue
        content = None
        if config.method == "paste" and rgb is not None:
            content = np.zeros((h, w, 3), np.float32)
            content[top : top + size, left : left + size] = rgb
        taken |= grown
        out.append((mask, Placed(family, mask_box(mask)), content))
    return out


def check_steps(steps: int) -> None:
    if not MIN_STEPS <= steps <= MAX_STEPS:
        raise AnomalyError(f"steps must be {MIN_STEPS}..{MAX_STEPS}, not {steps}")


def fill_masks(
    frame: np.ndarray,
    masks: list[np.ndarray],
    config: SynthesisConfig,
    seed: int,
    inpainter: Inpainter | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[Placed]]:
    """Fill each of ``masks`` (H×W bool, drawn by hand or scattered) in turn: the editor's Apply.

    Anomaly k uses seed ``seed * 1009 + k`` as :func:`synthesize_frame` does. ``on_progress``
    gets (units done, units in all); a unit is one sampler step (diffusion) or one mask (the others).
    Returns (image, label 0 / 1 / 255, one record per mask: method and box).
    """
    if not masks:
        raise AnomalyError("there are no anomaly masks to fill (draw or scatter some first)")
    check_steps(config.steps)
    for mask in masks:
        check_mask(frame, mask)
    if config.method == "diffusion" and inpainter is None:
        raise AnomalyError("the diffusion method needs an inpainter checkpoint")
    per_mask = config.steps if config.method == "diffusion" else 1  # AIAS: one evaluation per step
    total = per_mask * len(masks)
    image, label = frame, np.zeros(frame.shape[:2], np.uint8)
    placed: list[Placed] = []
    for k, mask in enumerate(masks):

        def step(done: int, _of: int, k: int = k) -> None:
            if on_progress is not None:
                on_progress(k * per_mask + done, total)

        image, one = fill_mask(image, mask, config, seed * 1009 + k, inpainter, on_step=step)
        label[(one == VOID) & (label == NORMAL)] = VOID
        label[one == ANOMALY] = ANOMALY
        placed.append(Placed(config.method, mask_box(mask)))
        if config.method != "diffusion":
            step(1, 1)
    return image, label, placed


def synthesize_frame(
    frame: np.ndarray,
    labels: np.ndarray,
    count: int,
    config: SynthesisConfig,
    seed: int,
    inpainter: Inpainter | None = None,
) -> tuple[np.ndarray, np.ndarray, list[Placed]]:
    """Add ``count`` anomalies on the ground of ``frame``; returns (image, anomaly label, records)."""
    if labels.shape != frame.shape[:2]:
        raise AnomalyError(
            f"label map {labels.shape[1]}x{labels.shape[0]} and image "
            f"{frame.shape[1]}x{frame.shape[0]} differ in size"
        )
    rng = np.random.default_rng(seed)
    placed = place_masks(labels, count, config, rng)
    image = frame
    label = np.zeros(labels.shape, np.uint8)
    for k, (mask, _record, content) in enumerate(placed):
        image, one = fill_mask(image, mask, config, seed * 1009 + k, inpainter, content)
        label[(one == VOID) & (label == NORMAL)] = VOID
        label[one == ANOMALY] = ANOMALY
    return image, label, [record for _, record, _ in placed]
