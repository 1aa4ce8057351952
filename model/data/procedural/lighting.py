"""One sun and a sky: face shading, cast-shadow offsets and distance haze parameters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Normal = tuple[float, float, float]
LEFT_WALL: Normal = (1.0, 0.0, 0.0)  # normal of a facade on the left side (faces +X)
RIGHT_WALL: Normal = (-1.0, 0.0, 0.0)
TOWARD_CAMERA: Normal = (0.0, 0.0, -1.0)
AWAY: Normal = (0.0, 0.0, 1.0)
UP: Normal = (0.0, 1.0, 0.0)


@dataclass(frozen=True)
class Light:
    """Sun direction (unit vector towards the sun), ambient share, haze colour and distance."""

    sun: np.ndarray
    ambient: float
    haze: np.ndarray
    haze_dist: float

    def shade(self, normal: Normal) -> float:
        """Brightness of a face with this normal, relative to the sunlit ground."""
        direct = max(0.0, float(np.dot(normal, self.sun)))
        ground = self.ambient + (1 - self.ambient) * float(self.sun[1])
        return min(1.25, (self.ambient + (1 - self.ambient) * direct) / ground)

    def shadow_offset(self, height: float) -> tuple[float, float]:
        """Ground displacement (dX, dZ) of the shadow of a point `height` metres up."""
        k = height / max(float(self.sun[1]), 0.2)
        return -k * float(self.sun[0]), -k * float(self.sun[2])

    @property
    def shadow_factor(self) -> float:
        """Brightness of ground in full shadow relative to sunlit ground."""
        ground = self.ambient + (1 - self.ambient) * float(self.sun[1])
        return self.ambient / ground
