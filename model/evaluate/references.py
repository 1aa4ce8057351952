"""Reference rows, scored like a render to read its figures against: the photo itself degraded.

"blur σ" is the photo under a Gaussian of σ native pixels; "flat" paints every instance in its
mean photo colour, so it has every object outline and nothing inside (a render must beat it)."""

from __future__ import annotations

import cv2
import numpy as np
import torch

BLUR_SIGMAS = (2.0, 3.0, 4.0)  # native px: the judge's ceilings are σ 2 and 4; the goal compares with σ 3
UNFIT_AT = 0.85  # a judge that scores σ 4 above this share of real cannot see blur


def blurred(photo: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(photo, (0, 0), sigma)


def flat(photo: np.ndarray, instances: np.ndarray) -> np.ndarray:
    """Each instance (stuff regions included) filled with its mean photo colour."""
    from model.networks.encoder import instance_average

    pixels = torch.from_numpy(np.ascontiguousarray(photo)).permute(2, 0, 1).float()[None]
    means = instance_average(pixels, torch.from_numpy(instances.astype(np.int64))[None])
    return means[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def reference_images(photo: np.ndarray, instances: np.ndarray) -> dict[str, np.ndarray]:
    """Row name → the degraded photo, in the order the report prints them."""
    rows = {f"blur σ{sigma:g}": blurred(photo, sigma) for sigma in BLUR_SIGMAS}
    rows["flat"] = flat(photo, instances)
    return rows
