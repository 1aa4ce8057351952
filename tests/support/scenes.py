"""Small scenes and label sets for tests: a seeded scene for the save and autosave tests (random
stuff, one car, two styles), and a four-class label set that is not Cityscapes."""

from __future__ import annotations

import numpy as np

from model.labels import INSTANCE_FACTOR, Label, LabelSet
from model.scene_io import Scene

ROAD, SIDEWALK, BUILDING, SKY, CAR = 7, 8, 11, 23, 26


def scene_of(seed: int, width: int = 64, height: int = 32) -> Scene:
    """Road, sidewalk, building and sky at random, with one car (instance ``CAR·1000 + seed``).

    Every file of a saved scene differs between two seeds: the labels, the instance ids, and both
    styles (the car's cluster and the road's code vector), so a test can tell an old save from a new one (seeds 1 to 5).
    """
    rng = np.random.default_rng(seed)
    labels = rng.choice(np.array([ROAD, SIDEWALK, BUILDING, SKY], np.uint8), size=(height, width))
    instances = labels.astype(np.int32)
    car = CAR * INSTANCE_FACTOR + seed
    labels[4:9, 6:20] = CAR
    instances[4:9, 6:20] = car
    return Scene(labels, instances, {car: seed % 5, ROAD: (0.25, -1.0, float(seed))})


def toy_label_set() -> LabelSet:
    """Four classes (one a thing) with ids of their own in 0..7: a model or scene that is not Cityscapes."""
    return LabelSet(
        "toy",
        8,
        (
            Label(0, "void", (0, 0, 0), False),
            Label(7, "road", (128, 64, 128), False),
            Label(3, "tree", (0, 200, 0), False),
            Label(5, "robot", (250, 0, 0), True),
        ),
    )
