"""Scene layout: the order of the drawing stages, and one scene's label, instance and photo arrays.

A scene is a perspective street: road with lane markings, kerbs, sidewalks, parking strips and bare
ground, building facades with window grids (or a park side), a sky with clouds, and poles, signs,
traffic lights, trees, clutter, cars, trucks, buses, trams, people, bicycles and motorcycles placed in
3D street coordinates, so their size follows their depth and nearer objects are drawn over farther
ones. Streets may curve or meet a cross street; the camera's height and pitch vary. The camera car's
bonnet fills the bottom of the frame, and the Cityscapes border bands frame it.

Everything depends only on (seed, index) and the config: scene i is the same whatever ``--count``.
Geometry is placed in metres and projected with a camera whose focal length scales with the output
size, so any size gives the same scene at a different resolution.
"""

from __future__ import annotations

import numpy as np

from model.data.canvas import Material
from model.data.procedural.base import SceneConfig
from model.data.procedural.buildings import BuildingStage
from model.data.procedural.classes import SKY
from model.data.procedural.clutter import ClutterStage
from model.data.procedural.furniture import FurnitureStage
from model.data.procedural.ground import GroundStage
from model.data.procedural.hood import HoodStage, roi_frame
from model.data.procedural.people import PeopleStage
from model.data.procedural.shading import composite
from model.data.procedural.vehicles import VehicleStage

GENERATOR_VERSION = 2  # bump whenever the scenes drawn for a given (seed, index, config) change


class SceneBuilder(
    GroundStage, BuildingStage, FurnitureStage, ClutterStage, VehicleStage, PeopleStage, HoodStage
):
    """All drawing stages over one shared scene state."""

    def build(self) -> None:
        w, h = self.canvas.width, self.canvas.height
        frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
        self.canvas.fill_px([frame], self.canvas.add(SKY, SKY, (1, 1, 1), Material.SKY, 0.0))
        self.skyline()
        self.ground()
        for side in (-1, 1):
            if self.street.is_park(side):
                self.park(side)
            else:
                self.buildings(side)
        self.cross_street_facades()
        self.garden_walls()
        self.fences()
        self.street_furniture()
        self.trees()
        self.clutter()
        self.traffic()
        self.people()
        self.two_wheelers()
        for _, draw in sorted(self.objects, key=lambda item: -item[0]):
            draw()
        if self.config.ego_vehicle:
            self.ego_vehicle()


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFF, int(index), stream])


def generate_scene(
    seed: int, index: int, config: SceneConfig | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One scene → (image H×W×3 uint8 RGB, labels H×W uint8 Cityscapes labelIds, instances H×W int32).

    Instances follow Cityscapes: a thing pixel holds class*1000+k, a stuff pixel its class id.
    The result depends only on (seed, index) and config.
    """
    config = config or SceneConfig()
    if config.width < 16 or config.height < 16:
        raise ValueError(f"scene size {config.width}×{config.height} is too small (at least 16×16)")
    builder = SceneBuilder(_rng(seed, index, 0x5C3E), config)
    builder.build()
    t = builder.canvas.tables()
    labels = np.take(t["label"], builder.canvas.pid)
    instances = np.take(t["inst"], builder.canvas.pid)
    image = composite(builder, _rng(seed, index, 0x7E11))
    if config.ego_vehicle:
        roi_frame(labels, instances)
    return image, labels, instances
