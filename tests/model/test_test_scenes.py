"""The hand-painted test scenes (assets/test_scenes): valid Cityscapes maps holding what their README
promises, and each renders with the bundled default (at 512×256, labels resized nearest-neighbour)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import REPO_ROOT

from model.labels import INSTANCE_FACTOR, cityscapes
from model.render.full import Renderer
from model.render.samples import resize_nearest
from model.resources import default_checkpoint_dir
from model.scene_io import Scene, load_scene

SCENES_DIR = REPO_ROOT / "assets" / "test_scenes"
NAMES = ("ego_hood", "crowd", "freehand_street", "closeup")
EGO, STATIC, DYNAMIC, ROAD, SIDEWALK, BUILDING, WALL, FENCE = 1, 4, 5, 7, 8, 11, 12, 13
POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY = 17, 19, 20, 21, 22, 23
PERSON, RIDER, CAR, TRUCK, BUS, MOTORCYCLE, BICYCLE = 24, 25, 26, 27, 28, 32, 33
MAX_FILE_BYTES = 200_000


def scene(name: str) -> Scene:
    return load_scene(SCENES_DIR / f"{name}_labelIds.png", cityscapes())


def objects(s: Scene, class_id: int) -> list[int]:
    ids = np.unique(s.instances[s.labels == class_id])
    return [int(i) for i in ids if i // INSTANCE_FACTOR == class_id]


def test_the_folder_holds_exactly_the_promised_scenes() -> None:
    found = sorted(p.name[: -len("_labelIds.png")] for p in SCENES_DIR.glob("*_labelIds.png"))
    assert found == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_maps_are_valid_cityscapes_scenes(name: str) -> None:
    s = scene(name)  # the product's loader: refuses invalid ids and instance maps that disagree
    assert s.size == (2048, 1024)
    things = cityscapes().thing_mask[s.labels]
    assert (s.instances[~things] == s.labels[~things]).all()  # stuff: the instance id is the class id
    assert (s.instances[things] // INSTANCE_FACTOR == s.labels[things]).all()  # one class per object
    for suffix in ("labelIds", "instanceIds"):
        assert (SCENES_DIR / f"{name}_{suffix}.png").stat().st_size < MAX_FILE_BYTES


def test_ego_hood_has_the_hood_at_the_bottom_and_near_cars_cut_by_both_edges() -> None:
    s = scene("ego_hood")
    assert (s.labels[-60:] == EGO).all()
    assert (s.labels[:400] != EGO).all()
    left = {int(i) for i in s.instances[:, 0] if i // INSTANCE_FACTOR == CAR}
    right = {int(i) for i in s.instances[:, -1] if i // INSTANCE_FACTOR == CAR}
    assert left and right and not left & right
    assert len(objects(s, CAR)) >= 4  # the two near cars and far ones
    assert {ROAD, SIDEWALK, BUILDING, SKY, POLE, SIGN} <= set(np.unique(s.labels).tolist())


def test_crowd_has_a_dozen_upright_people_some_touching_and_riders_on_two_wheels() -> None:
    s = scene("crowd")
    people = objects(s, PERSON)
    assert len(people) >= 12
    upright = 0
    for inst in people:
        ys, xs = np.nonzero(s.instances == inst)
        upright += (ys.max() - ys.min()) > 1.8 * (xs.max() - xs.min())
    assert upright >= 12
    # overlapping people: two person ids side by side somewhere
    a, b = s.instances[:, :-1], s.instances[:, 1:]
    touching = (a != b) & (a // INSTANCE_FACTOR == PERSON) & (b // INSTANCE_FACTOR == PERSON)
    assert touching.any()
    assert len(objects(s, RIDER)) >= 3
    assert len(objects(s, BICYCLE)) >= 2
    assert len(objects(s, MOTORCYCLE)) >= 1


def test_freehand_street_holds_the_painted_classes() -> None:
    s = scene("freehand_street")
    present = set(np.unique(s.labels).tolist())
    assert {ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY} <= present
    assert objects(s, BUS) and objects(s, TRUCK) and len(objects(s, CAR)) >= 2


def test_closeup_has_one_large_car_a_person_and_static_and_dynamic_ground() -> None:
    s = scene("closeup")
    areas = [int((s.instances == inst).sum()) for inst in objects(s, CAR)]
    assert len(areas) == 1 and areas[0] >= 0.28 * s.labels.size
    assert len(objects(s, PERSON)) == 1
    assert (s.labels == STATIC).sum() > 1000 and (s.labels == DYNAMIC).sum() > 1000


@pytest.fixture(scope="module")
def default_renderer() -> Renderer:
    return Renderer.from_checkpoint(default_checkpoint_dir(), "cpu", precision="fp32")


@pytest.mark.parametrize("name", NAMES)
def test_each_scene_renders_with_the_bundled_default(default_renderer: Renderer, name: str) -> None:
    s = scene(name)
    labels = resize_nearest(s.labels, 512, 256)
    instances = resize_nearest(s.instances.astype(np.int32), 512, 256)
    out = default_renderer.render_tensor(default_renderer.network_input(labels, instances, {}, 0))
    assert out.shape[:2] == (1, 3) and out.shape[2] >= 256 and out.shape[3] >= 512
    assert torch.isfinite(out).all()
    image = default_renderer.render(labels, instances)
    assert image.shape == (256, 512, 3)
    assert image.std() > 5  # a picture, not a flat fill
