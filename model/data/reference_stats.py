"""Class statistics of real driving data: the targets procedural scenes are compared against.

Two sources, kept apart by `source`:
- "measured": 23 public Cityscapes fine label maps (Frankfurt and Aachen), as tabled in issue 24;
- "approx": the rest of the classes, from the Cityscapes paper's class distribution (Cordts et al.
  2016, fine annotations), rescaled to a share of all pixels; these are approximate and their
  `shown_in` is unknown (None).
`per_map` is the mean number of instances per map for thing classes where it was measured.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceClass:
    label_id: int
    pixel_share: float  # share of all pixels (0..1)
    shown_in: float | None  # share of maps that contain the class (0..1), None if unknown
    per_map: float | None  # instances per map (things), None if unknown
    source: str  # "measured" or "approx"


REFERENCE: tuple[ReferenceClass, ...] = (
    ReferenceClass(1, 0.051, 1.00, None, "measured"),  # ego vehicle
    ReferenceClass(2, 0.023, 0.65, None, "measured"),  # rectification border
    ReferenceClass(3, 0.015, 1.00, None, "measured"),  # out of roi
    ReferenceClass(4, 0.014, 1.00, None, "measured"),  # static
    ReferenceClass(5, 0.0010, 0.39, None, "measured"),  # dynamic
    ReferenceClass(6, 0.0037, 0.35, None, "measured"),  # ground
    ReferenceClass(7, 0.325, None, None, "approx"),  # road
    ReferenceClass(8, 0.054, None, None, "approx"),  # sidewalk
    ReferenceClass(9, 0.0009, 0.17, None, "measured"),  # parking
    ReferenceClass(11, 0.206, 1.00, None, "measured"),  # building
    ReferenceClass(12, 0.0058, None, None, "approx"),  # wall
    ReferenceClass(13, 0.0051, 0.52, None, "measured"),  # fence
    ReferenceClass(17, 0.0108, None, None, "approx"),  # pole
    ReferenceClass(19, 0.0018, None, None, "approx"),  # traffic light
    ReferenceClass(20, 0.0067, 1.00, None, "measured"),  # traffic sign
    ReferenceClass(21, 0.140, None, None, "approx"),  # vegetation
    ReferenceClass(22, 0.0102, None, None, "approx"),  # terrain
    ReferenceClass(23, 0.026, 0.96, None, "measured"),  # sky
    ReferenceClass(24, 0.0068, 0.78, 7.4, "measured"),  # person
    ReferenceClass(25, 0.0009, 0.39, None, "measured"),  # rider
    ReferenceClass(26, 0.094, 1.00, 13.6, "measured"),  # car
    ReferenceClass(27, 0.0005, 0.09, None, "measured"),  # truck
    ReferenceClass(28, 0.0020, None, None, "approx"),  # bus
    ReferenceClass(31, 0.0010, 0.09, None, "measured"),  # train / tram
    ReferenceClass(32, 0.0031, 0.22, None, "measured"),  # motorcycle
    ReferenceClass(33, 0.0050, 0.70, 1.7, "measured"),  # bicycle
)

# The comparison rules of issue 24.
SHOWN_IN_MIN = 0.30  # classes real maps show this often or more ...
SHOWN_IN_TOLERANCE = 0.25  # ... must appear in a share of frames within this (absolute) of the real one
PIXEL_SHARE_MIN = 0.001  # classes with at least this real pixel share ...
PIXEL_RATIO = (0.5, 2.0)  # ... must have a pixel share within this ratio of the real one


def reference_by_id() -> dict[int, ReferenceClass]:
    return {r.label_id: r for r in REFERENCE}
