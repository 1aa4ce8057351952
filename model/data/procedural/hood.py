"""Ego-vehicle stage: the camera car's bonnet and badge at the bottom of the frame, and the
Cityscapes border bands (rectification border wedges, the out-of-roi frame)."""

from __future__ import annotations

import numpy as np

from model.data import palettes as pal
from model.data.canvas import Material
from model.data.procedural.base import BuilderBase, HoodLook
from model.data.procedural.classes import EGO_VEHICLE, OUT_OF_ROI, RECTIFICATION_BORDER

ROI_MARGIN = 0.003  # out-of-roi frame width as a share of the image width (about 6 px at 2048)


class HoodStage(BuilderBase):
    def ego_vehicle(self) -> None:
        """Bonnet outline, height, curvature, badge and paint vary by car; about 3% of frames have none."""
        rng = self.rng
        w, h = self.canvas.width, self.canvas.height
        if rng.random() < 0.03:
            self.rectification_border()
            return
        xs = np.linspace(0.0, w, 97)
        u = 2.0 * xs / w - 1.0 - float(rng.uniform(-0.1, 0.1))
        rise = float(rng.uniform(0.045, 0.11))  # bonnet height at its crest, share of the frame height
        curve = float(rng.uniform(0.01, 0.07))
        corner = float(rng.uniform(0.0, 0.12))  # some bonnets fall away steeply at the frame corners
        top = h * (1.0 - rise + curve * u**2 + corner * u**8)
        poly = np.concatenate([np.stack([xs, top], 1), [[w, h + 2.0], [0.0, h + 2.0]]])
        _, mode, _ = pal.pick(rng, pal.CAR_PAINTS, tuple(c[2] for c in pal.CAR_PAINTS))
        paint = pal.jitter(rng, mode, 0.02)
        self.canvas.fill_px([poly], self.canvas.add(EGO_VEHICLE, EGO_VEHICLE, paint, Material.HOOD, 1.0))
        columns = np.arange(w) + 0.5
        self.hood = HoodLook(
            np.interp(columns, xs, top).astype(np.float32),
            paint,
            float(rng.uniform(0.25, 0.6)),
            float(rng.uniform(1.5, 3.0)),
        )
        if rng.random() < 0.6:  # a badge standing on the bonnet's crest
            bx = w * (0.5 + float(rng.uniform(-0.02, 0.02)))
            by = float(np.interp(bx, xs, top))
            r = h * float(rng.uniform(0.012, 0.022))
            t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
            ring = np.stack([bx + r * np.cos(t), by - r * 0.9 + r * np.sin(t)], 1)
            chrome = self.canvas.add(EGO_VEHICLE, EGO_VEHICLE, (0.85, 0.86, 0.88), Material.CHROME, 1.0)
            self.canvas.fill_px([ring], chrome)
            inner = self.canvas.add(EGO_VEHICLE, EGO_VEHICLE, (0.15, 0.15, 0.17), Material.FLAT, 1.0)
            self.canvas.fill_px(
                [np.stack([bx + 0.7 * r * np.cos(t), by - r * 0.9 + 0.7 * r * np.sin(t)], 1)], inner
            )
        self.rectification_border()

    def rectification_border(self) -> None:
        """Black wedges along the left and right frame edges, left where the image was rectified."""
        rng = self.rng
        w, h = self.canvas.width, self.canvas.height
        if rng.random() > 0.65:
            return
        void = self.canvas.add(
            RECTIFICATION_BORDER, RECTIFICATION_BORDER, (0.0, 0.0, 0.0), Material.VOID, 0.5
        )
        sides = [s for s in (-1, 1) if rng.random() < 0.65] or [int(rng.choice([-1, 1]))]
        for side in sides:
            width = w * float(rng.uniform(0.025, 0.09))
            start = h * float(rng.uniform(0.0, 0.6))
            edge = 0.0 if side < 0 else float(w)
            inward = edge - side * width
            self.canvas.fill_px([np.array([[edge, start], [inward, h + 1.0], [edge, h + 1.0]])], void)


def roi_frame(labels: np.ndarray, instances: np.ndarray) -> None:
    """Mark the out-of-roi frame in place (the photo keeps its pixels there); the ego vehicle keeps
    the bottom edge, so the bonnet stays connected to it."""
    h, w = labels.shape
    m = max(1, round(ROI_MARGIN * w))
    band = np.zeros((h, w), dtype=bool)
    band[:m] = True
    band[:, :m] = True
    band[:, w - m :] = True
    band[h - m :] = True
    band &= labels != EGO_VEHICLE
    band &= labels != RECTIFICATION_BORDER
    labels[band] = OUT_OF_ROI
    instances[band] = OUT_OF_ROI
