"""Qt-free tests of the editor document: edits, deltas, grouping, undo bit-exactness."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from support import REPO_ROOT

from editor.core.document import Document
from editor.core.edits import (
    BrushDab,
    DeleteInstance,
    FillPolygon,
    FloodFill,
    MoveInstance,
    RelabelInstance,
    SetStyles,
    rectangle,
)
from model.labels import cityscapes

ROAD, SIDEWALK, BUILDING, SKY, CAR, TRUCK, PERSON = 7, 8, 11, 23, 26, 27, 24


def street(width: int = 320, height: int = 160) -> Document:
    """Sky above, building band, road below, two cars and a person on the road."""
    doc = Document.new(width, height, cityscapes(), fill=ROAD)
    doc.labels[: height // 3] = SKY
    doc.labels[height // 3 : height // 2] = BUILDING
    doc.instances[:] = doc.labels
    for k, (x0, y0, x1, y1) in enumerate([(40, 100, 90, 130), (150, 95, 220, 135)]):
        doc.labels[y0:y1, x0:x1] = CAR
        doc.instances[y0:y1, x0:x1] = CAR * 1000 + k
    doc.labels[90:140, 260:270] = PERSON
    doc.instances[90:140, 260:270] = PERSON * 1000
    doc.styles = {26000: 2, 7: (0.5, -0.5, 1.0)}
    return doc


def snapshot(doc: Document) -> tuple[np.ndarray, np.ndarray, dict]:
    return doc.labels.copy(), doc.instances.copy(), dict(doc.styles)


def assert_same(doc: Document, snap: tuple[np.ndarray, np.ndarray, dict]) -> None:
    np.testing.assert_array_equal(doc.labels, snap[0])
    np.testing.assert_array_equal(doc.instances, snap[1])
    assert doc.styles == snap[2]


def test_brush_stroke_group_is_one_delta_and_undo_is_bit_exact() -> None:
    doc = street()
    before = snapshot(doc)
    changes = []
    doc.subscribe(changes.append)
    doc.begin_group("Brush")
    points = [(10.0 + 3 * i, 60.0 + i) for i in range(40)]
    for a, b in itertools.pairwise(points):
        assert doc.apply(BrushDab([a, b], 6, SIDEWALK, SIDEWALK)) is None  # inside a group
    # paint over the same place twice: earliest old value must win in the merged delta
    doc.apply(BrushDab([points[0], points[5]], 8, BUILDING, BUILDING))
    delta = doc.end_group()
    assert delta is not None and delta.bbox is not None
    assert len(changes) == len(points)  # one notification per dab, each with a region
    assert all(c.region is not None for c in changes)
    after = snapshot(doc)
    assert (doc.labels == SIDEWALK).sum() > 0
    x0, y0, x1, y1 = delta.bbox
    assert (x1 - x0) * (y1 - y0) < doc.width * doc.height  # a crop, not the whole map
    delta.revert()
    assert_same(doc, before)
    delta.reapply()
    assert_same(doc, after)


def test_new_object_and_extend_ids() -> None:
    doc = street()
    new_id = doc.new_instance_id(CAR)
    assert new_id == 26002
    doc.apply(BrushDab([(100.0, 140.0)], 5, CAR, new_id))
    assert doc.instance_at(100, 140) == 26002
    assert doc.new_instance_id(CAR) == 26003
    assert doc.new_instance_id(TRUCK) == 27000


def test_flood_fill_polygon_rectangle_undo() -> None:
    doc = street()
    before = snapshot(doc)
    d1 = doc.apply(FloodFill(5, 5, BUILDING, BUILDING))  # the sky becomes building
    assert d1 is not None and (doc.labels[:53] == BUILDING).all()
    d2 = doc.apply(FillPolygon([(10, 60), (60, 60), (35, 90)], SIDEWALK, SIDEWALK))
    d3 = doc.apply(FillPolygon(rectangle((100, 10), (119, 29)), SKY, SKY))
    assert d2 is not None and d3 is not None
    assert (doc.labels[10:30, 100:120] == SKY).all() and doc.labels[30, 100] != SKY
    for d in (d3, d2, d1):
        d.revert()
    assert_same(doc, before)


def test_fill_on_car_fills_only_that_instance() -> None:
    doc = street()
    doc.apply(FloodFill(50, 110, TRUCK, 27000))
    assert (doc.instances == 27000).sum() == 50 * 30
    assert (doc.instances == 26001).sum() == 70 * 40


def test_delete_car_fills_from_surroundings_and_drops_style() -> None:
    doc = street()
    before = snapshot(doc)
    delta = doc.apply(DeleteInstance(26000))
    assert delta is not None
    assert (doc.labels[100:130, 40:90] == ROAD).all()
    assert (doc.instances[100:130, 40:90] == ROAD).all()
    assert 26000 not in doc.styles
    delta.revert()
    assert_same(doc, before)


def test_delete_prefers_stuff_over_neighbouring_things() -> None:
    doc = Document.new(100, 100, cityscapes(), fill=SIDEWALK)
    doc.labels[40:60, 40:60] = CAR
    doc.instances[40:60, 40:60] = 26000
    doc.labels[30:70, 30:40] = TRUCK  # a truck touching the car on one side
    doc.instances[30:70, 30:40] = 27000
    doc.apply(DeleteInstance(26000))
    assert (doc.labels[40:60, 40:60] == SIDEWALK).all()


def test_delete_fills_each_pixel_from_the_nearest_stuff() -> None:
    """A car across the facade / road line leaves facade above the line and road below it."""
    doc = Document.new(120, 100, cityscapes(), fill=ROAD)
    doc.labels[:50] = BUILDING
    doc.instances[:50] = BUILDING
    doc.labels[30:80, 30:90] = CAR
    doc.instances[30:80, 30:90] = 26000
    doc.labels[40:60, 20:30] = PERSON  # a thing touching it is never copied into the hole
    doc.instances[40:60, 20:30] = 24000
    before = doc.labels.copy()
    delta = doc.apply(DeleteInstance(26000))
    assert delta is not None
    assert (doc.labels[30:45, 30:90] == BUILDING).all()
    assert (doc.labels[60:80, 30:90] == ROAD).all()
    assert np.array_equal(doc.instances[30:80, 30:90], doc.labels[30:80, 30:90].astype(np.int32))
    assert (doc.labels[40:60, 20:30] == PERSON).all()
    delta.revert()
    assert np.array_equal(doc.labels, before)


def test_relabel_keeps_shape_and_gets_fresh_id() -> None:
    doc = street()
    before = snapshot(doc)
    edit = RelabelInstance(26001, TRUCK)
    delta = doc.apply(edit)
    assert delta is not None and edit.new_instance == 27000
    assert (doc.labels[95:135, 150:220] == TRUCK).all()
    assert (doc.instances[95:135, 150:220] == 27000).all()
    delta.revert()
    assert_same(doc, before)


def test_move_and_copy_instance() -> None:
    doc = street()
    before = snapshot(doc)
    move = doc.apply(MoveInstance(26000, 30, -5))
    assert move is not None
    assert (doc.instances == 26000).sum() == 50 * 30
    assert (doc.instances[95:125, 70:120] == 26000).all()
    assert doc.labels[128, 45] == ROAD  # the vacated part became road
    edit = MoveInstance(26001, -150, 0, copy=True)  # partly outside the image on the left
    copy = doc.apply(edit)
    assert copy is not None and edit.new_instance == 26002
    assert (doc.instances == 26001).sum() == 70 * 40
    assert (doc.instances == 26002).sum() == 70 * 40  # the clipped copy: x from -0 .. 70
    copy.revert()
    move.revert()
    assert_same(doc, before)


def test_styles_are_deltas_too() -> None:
    doc = street()
    before = snapshot(doc)
    delta = doc.apply(SetStyles({26001: 4, 7: None}))
    assert delta is not None and delta.bbox is None
    assert doc.styles == {26000: 2, 26001: 4}
    delta.revert()
    assert_same(doc, before)
    delta.reapply()
    assert doc.styles == {26000: 2, 26001: 4}


def test_no_change_gives_no_delta() -> None:
    doc = street()
    assert doc.apply(BrushDab([(5.0, 5.0)], 3, SKY, SKY)) is None
    assert doc.apply(SetStyles({26000: 2})) is None


def test_large_delta_is_compact() -> None:
    doc = Document.new(2048, 1024, cityscapes(), fill=ROAD)
    delta = doc.apply(FloodFill(0, 0, SKY, SKY))
    assert delta is not None
    assert delta.nbytes < 2048 * 1024 // 4  # packed mask + compressed runs, not whole copies
    delta.revert()
    assert (doc.labels == ROAD).all()


@pytest.mark.parametrize("seed", range(3))
def test_random_edit_sequences_round_trip(seed: int) -> None:
    rng = np.random.default_rng(seed)
    doc = street()
    history = [snapshot(doc)]
    deltas = []
    for _ in range(25):
        kind = rng.integers(5)
        x, y = int(rng.integers(0, doc.width)), int(rng.integers(0, doc.height))
        label = int(rng.choice([ROAD, SKY, CAR, PERSON, BUILDING]))
        inst = doc.new_instance_id(label) if doc.is_thing(label) else label
        if kind == 0:
            edit = BrushDab([(x, y), (x + 20.0, y + 7.0)], float(rng.integers(1, 12)), label, inst)
        elif kind == 1:
            edit = FloodFill(x, y, label, inst)
        elif kind == 2:
            edit = DeleteInstance(doc.instance_at(x, y))
        elif kind == 3:
            edit = RelabelInstance(doc.instance_at(x, y), label)
        else:
            edit = MoveInstance(
                doc.instance_at(x, y),
                int(rng.integers(-30, 30)),
                int(rng.integers(-30, 30)),
                copy=bool(rng.integers(2)),
            )
        delta = doc.apply(edit)
        if delta is not None:
            deltas.append(delta)
            history.append(snapshot(doc))
    for i in range(len(deltas) - 1, -1, -1):
        deltas[i].revert()
        assert_same(doc, history[i])
    for i, delta in enumerate(deltas):
        delta.reapply()
        assert_same(doc, history[i + 1])


def test_sample_scenes_load_and_agree() -> None:

    from model.scene_io import load_scene

    samples = sorted((REPO_ROOT / "assets" / "scenes").glob("*_labelIds.png"))
    assert len(samples) >= 3
    for path in samples:
        scene = load_scene(path, cityscapes())
        assert scene.size == (2048, 1024)
        assert (scene.instances >= 1000).any()  # they have objects to select
