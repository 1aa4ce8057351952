"""Periodic artefacts: how far a render's spectrum peaks at periods of 2, 4, 8, 16 (and 32) pixels,
compared with the photos' own spectrum at the same period.

A stride-2 transposed convolution prints a grid whose period is 2 px at its own resolution, so
each one in a generator adds a peak at a power-of-two period in the output. The luma of every row
(columns for y) is Fourier transformed and its power averaged over rows and images. At a period p
the *prominence* is the power of the bin at p in dB above the median of its neighbouring bins,
and the artefact is the renders' prominence minus the photos'. Blur lowers a bin and its
neighbours alike, and a real periodic texture in the photos (windows, a brick bond) cancels, so
only a grid the photos do not have reads as a positive number."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PERIODS = (2, 4, 8, 16, 32)  # px; the headline figure is the strongest of 2-16
HEADLINE_PERIODS = (2, 4, 8, 16)
AXES = ("x", "y")


def luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def line_power(image: np.ndarray) -> dict[str, np.ndarray]:
    """The mean power spectrum of an H×W×3 image's rows ("x") and of its columns ("y")."""
    y = luma(image)
    rows = np.fft.rfft(y - y.mean(1, keepdims=True), axis=1)
    cols = np.fft.rfft(y - y.mean(0, keepdims=True), axis=0)
    return {"x": (np.abs(rows) ** 2).mean(0), "y": (np.abs(cols) ** 2).mean(1)}


def prominence(power: np.ndarray, length: int, period: int) -> float:
    """dB of the bin at ``period`` (in a transform of ``length`` samples) above its neighbours' median."""
    k = round(length / period)
    if k < 2 or k >= len(power):
        return float("nan")
    half = max(3, k // 8)
    around = np.r_[max(1, k - half) : k - 1, k + 2 : min(len(power), k + half + 1)]
    floor = float(np.median(power[around])) if around.size else float("nan")
    return float(10 * np.log10(max(power[k], 1e-20) / max(floor, 1e-20)))


@dataclass
class Spectrum:
    """Running sums of line power spectra over images of one size."""

    shape: tuple[int, int] = (0, 0)
    count: int = 0
    sums: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, image: np.ndarray) -> None:
        if self.count and image.shape[:2] != self.shape:
            raise ValueError(
                f"image of {image.shape[1]}×{image.shape[0]} among images of {self.shape[1]}×{self.shape[0]}"
            )
        self.shape = image.shape[:2]
        for axis, power in line_power(image).items():
            self.sums[axis] = self.sums.get(axis, 0) + power
        self.count += 1

    def prominences(self) -> dict[tuple[str, int], float]:
        lengths = {"x": self.shape[1], "y": self.shape[0]}
        return {
            (axis, p): prominence(self.sums[axis] / self.count, lengths[axis], p)
            for axis in AXES
            for p in PERIODS
        }


def artefacts(images: Spectrum, photos: Spectrum) -> dict[tuple[str, int], float]:
    """(axis, period) → dB of the images' peak above the photos' (positive: a grid the photos lack)."""
    mine, theirs = images.prominences(), photos.prominences()
    return {key: mine[key] - theirs[key] for key in mine}


def strongest(table: dict[tuple[str, int], float], periods: tuple[int, ...] = HEADLINE_PERIODS) -> float:
    """The largest artefact over both axes and ``periods`` (NaN where the frame is too small)."""
    values = [v for (_, p), v in table.items() if p in periods and np.isfinite(v)]
    return max(values) if values else float("nan")
