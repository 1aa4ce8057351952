"""What ``evaluate`` found, and the table it prints.

Every row (the photo, the render, the references) carries per-scene counts, so each figure and its
bootstrap interval come from the same numbers: the judge's mIoU ratio to the photos', the domain
FID against the photos, the periodic-artefact table and the edge F1."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.evaluate.edges import TOLERANCE, f1
from model.evaluate.metrics import bootstrap, bootstrap_ratio, iou_per_class, mean_iou
from model.evaluate.references import UNFIT_AT
from model.evaluate.spectral import HEADLINE_PERIODS, PERIODS, strongest

PHOTO, RENDER = "photo", "render"
CEILINGS = ("blur σ2", "blur σ4")  # the judge's blur ceilings
MIN_SCENES = 60
FULL_RESOLUTION = (1024, 512)


@dataclass
class RowScores:
    """One set of images scored against the held-out photos."""

    name: str
    confusions: np.ndarray  # N×C×C per-scene judge confusions [target, prediction]
    edges: np.ndarray  # N×4 per-scene edge counts (edges.edge_counts)
    fid: float  # domain FID against the held-out photos
    artefacts: dict[tuple[str, int], float]  # (axis, period) → dB above the photos

    @property
    def miou(self) -> float:
        return mean_iou(self.confusions.sum(0))

    @property
    def edge_f1(self) -> float:
        return float(f1(self.edges.sum(0)))

    def edge_interval(self, seed: int = 0) -> tuple[float, float]:
        return bootstrap(lambda w: f1(w @ self.edges), len(self.edges), seed=seed)

    @property
    def strongest_artefact(self) -> float:
        return strongest(self.artefacts)


@dataclass
class Report:
    classes: list[int]
    rows: dict[str, RowScores]
    fid_floor: float  # real training photos against the held-out photos
    render_seconds: float
    size: tuple[int, int]  # native width, height of the held-out frames
    phase: str = "test"
    appearance: list[dict[str, float]] = field(default_factory=list)
    floor_photos: int = 0
    crop_sheet: Path | None = None

    @property
    def real(self) -> RowScores:
        return self.rows[PHOTO]

    @property
    def generated(self) -> RowScores:
        return self.rows[RENDER]

    @property
    def miou_real(self) -> float:
        return self.real.miou

    @property
    def miou_generated(self) -> float:
        return self.generated.miou

    @property
    def ratio(self) -> float:
        return self.miou_generated / self.miou_real if self.miou_real > 0 else float("nan")

    def ratio_of(self, name: str) -> float:
        return self.rows[name].miou / self.miou_real if self.miou_real > 0 else float("nan")

    @property
    def ratio_interval(self) -> tuple[float, float]:
        return bootstrap_ratio(self.real.confusions, self.generated.confusions)

    @property
    def scene_count(self) -> int:
        return len(self.real.confusions)

    @property
    def iou_real(self) -> np.ndarray:
        return iou_per_class(self.real.confusions.sum(0))

    @property
    def iou_generated(self) -> np.ndarray:
        return iou_per_class(self.generated.confusions.sum(0))

    @property
    def pixels(self) -> np.ndarray:
        """Per class: its pixels in the held-out label maps."""
        return self.real.confusions.sum(0).sum(1)

    @property
    def scenes_with(self) -> np.ndarray:
        """Per class: the held-out scenes showing it."""
        return (self.real.confusions.sum(2) > 0).sum(0)

    @property
    def judge_fit(self) -> bool:
        """False when photos blurred by σ 4 still score above ``UNFIT_AT`` of real: the judge cannot see blur."""
        return not self.ratio_of("blur σ4") > UNFIT_AT

    def summary(self) -> dict:
        """The figures as plain JSON-ready values."""
        return {
            "phase": self.phase,
            "scenes": self.scene_count,
            "size": list(self.size),
            "ratio": self.ratio,
            "ratio_interval": list(self.ratio_interval),
            "judge_fit": self.judge_fit,
            "fid_floor": self.fid_floor,
            "render_seconds": self.render_seconds,
            "rows": {
                name: {
                    "miou": row.miou,
                    "ratio": self.ratio_of(name),
                    "fid": row.fid,
                    "edge_f1": row.edge_f1,
                    "edge_f1_interval": list(row.edge_interval()),
                    "strongest_artefact_db": row.strongest_artefact,
                    "artefacts_db": {f"{axis}{p}": v for (axis, p), v in row.artefacts.items()},
                }
                for name, row in self.rows.items()
            },
            "appearance": self.appearance,
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(self.summary(), indent=1, ensure_ascii=False, default=lambda v: None) + "\n"
        )

    def lines(self, names: dict[int, str]) -> list[str]:
        """The printed report: per-class IoUs, then one row per image set, then the verdicts."""
        out = [f"{'class':16s} {'IoU real':>9s} {'IoU gen':>9s} {'pixels':>10s} {'scenes':>7s}"]
        for class_id, real, fake, pixels, scenes in zip(
            self.classes, self.iou_real, self.iou_generated, self.pixels, self.scenes_with, strict=True
        ):
            out.append(
                f"{names.get(class_id, str(class_id)):16s} {real:9.3f} {fake:9.3f} {int(pixels):10d} "
                f"{int(scenes):7d}"
            )
        w, h = self.size
        out.append(f"mIoU real      {self.miou_real:.3f}")
        out.append(f"mIoU generated {self.miou_generated:.3f}")
        low, high = self.ratio_interval
        out.append(
            f"ratio          {self.ratio:.3f} (target ≥ 0.9; 95% interval {low:.3f}–{high:.3f} over "
            f"{self.scene_count} {self.phase} scenes resampled; judge at {w}×{h})"
        )
        out.append(
            f"FID floor      {self.fid_floor:.3f} ({self.floor_photos} real training photos against "
            f"the {self.phase} photos)"
        )
        periods = "/".join(str(p) for p in HEADLINE_PERIODS)
        out.append(
            f"{'row':10s} {'judge':>7s} {'FID':>8s} {'edge F1':>8s} {'95% interval':>13s} "
            f"{'peak dB':>8s}   (judge: mIoU / real; peak: strongest at {periods} px, x or y)"
        )
        for name, row in self.rows.items():
            low, high = row.edge_interval()
            out.append(
                f"{name:10s} {self.ratio_of(name):7.3f} {row.fid:8.3f} {row.edge_f1:8.3f} "
                f"{low:6.3f}–{high:<6.3f} {row.strongest_artefact:8.1f}"
            )
        render = {
            key: self.generated.artefacts.get(key, float("nan"))
            for key in [(axis, p) for axis in ("x", "y") for p in PERIODS]
        }
        for axis in ("x", "y"):
            cells = "  ".join(f"{p:>2d} px {render[(axis, p)]:+5.1f}" for p in PERIODS)
            out.append(f"render peaks along {axis} (dB above the photos): {cells}")
        out.append(
            f"edge F1: Canny edges within {TOLERANCE:g} px of the photo's; the render must beat 'flat'"
        )
        for name in CEILINGS:
            out.append(f"ceiling {name} ratio {self.ratio_of(name):.3f} (real photos blurred, native px)")
        if not self.judge_fit:
            out.append(
                f"warning: photos blurred by σ 4 score {self.ratio_of('blur σ4'):.3f} of real (> {UNFIT_AT}): "
                "this judge is not fit to measure image quality"
            )
        if w < FULL_RESOLUTION[0] or h < FULL_RESOLUTION[1]:
            out.append(
                f"warning: the frames are {w}×{h}, below {FULL_RESOLUTION[0]}×{FULL_RESOLUTION[1]}: "
                "not a full-resolution score"
            )
        if self.scene_count < MIN_SCENES:
            out.append(f"warning: {self.scene_count} scenes; adopt on ≥ {MIN_SCENES} (the interval is wide)")
        if np.isfinite(self.render_seconds):
            out.append(f"render time    {self.render_seconds:.2f} s per image (native size)")
        else:
            out.append("render time    n/a (every render read from --renders)")
        if self.crop_sheet is not None:
            out.append(f"crop sheet     {self.crop_sheet}")
        if not self.appearance:
            out.append("appearance     n/a (no car instance, or fewer than 2 car clusters)")
        for a in self.appearance:
            out.append(
                f"appearance     car {int(a['instance'])} ({int(a['pixels'])} px), cluster "
                f"{int(a['cluster_a'])} → {int(a['cluster_b'])}: mean colour change "
                f"{a['colour_change']:.1f}/255 (target ≥ 20), pixels away from it "
                f"{a['far_change']:.2f}/255 (target < 2)"
            )
        return out
