"""The Qt-free anomaly layer: ids, grouped edits, deltas that undo and redo, its file beside the scene."""

from __future__ import annotations

import numpy as np
import pytest

from editor.core.anomaly_layer import AnomalyLayer, layer_path, read_layer, save_scene_with_layer
from editor.core.edits import BrushDab, FillPolygon
from model.errors import ImageFileError
from model.scene_io import Scene, open_scene, save_scene, write_png


def dab(layer: AnomalyLayer, points, value: int, radius: float = 4.0):
    patch = BrushDab(points, radius, 0, 0).patch(layer)
    return layer.apply(patch.bbox, patch.mask, value, "Anomaly mask")


def test_grouped_drag_is_one_delta_that_undoes_and_redoes() -> None:
    layer = AnomalyLayer(64, 32)
    layer.begin_group("Anomaly mask")
    for x in range(8, 40, 4):
        assert dab(layer, [(x, 16.0)], 1) is None  # inside a group: written, no delta yet
    delta = layer.end_group()
    assert delta is not None and delta.nbytes > 0
    after = layer.ids.copy()
    assert after[16, 10] == 1 and after[2, 60] == 0
    delta.revert()
    assert layer.is_empty
    delta.reapply()
    assert np.array_equal(layer.ids, after)


def test_ids_erase_new_id_and_masks() -> None:
    layer = AnomalyLayer(64, 32)
    first = dab(layer, [(10.0, 10.0)], layer.new_id())
    polygon = FillPolygon([(30, 5), (50, 5), (50, 25)], 0, 0).patch(layer)
    second = layer.apply(polygon.bbox, polygon.mask, layer.new_id(), "Anomaly polygon")
    assert first is not None and second is not None
    assert layer.mask_ids() == [1, 2] and len(layer.masks()) == 2
    erase = dab(layer, [(10.0, 10.0)], 0, radius=8)
    assert layer.mask_ids() == [2] and layer.new_id() == 1  # a freed id is used again
    erase.revert()
    assert layer.mask_ids() == [1, 2]
    assert dab(layer, [(10.0, 10.0)], 1) is None  # nothing changes: no delta


def test_layer_saved_with_the_scene_and_read_back(tmp_path) -> None:
    labels = np.full((32, 64), 7, np.uint8)
    scene = Scene(labels, labels.astype(np.int32), {})
    layer = AnomalyLayer(64, 32)
    dab(layer, [(20.0, 20.0)], 3)
    path = tmp_path / "street_labelIds.png"
    written = save_scene_with_layer(scene, path, layer)
    assert layer_path(path) == tmp_path / "street_anomalyMasks.png" and layer_path(path) in written
    assert np.array_equal(read_layer(path, (64, 32)), layer.ids)
    assert open_scene(path, scene_label_set()).scene.labels.shape == (32, 64)
    layer.reset(64, 32)  # emptied: the file is rewritten, so the masks do not come back
    save_scene_with_layer(scene, path, layer)
    assert not read_layer(path, (64, 32)).any()


def test_scene_without_layer_and_bad_layer_files(tmp_path) -> None:
    labels = np.full((32, 64), 7, np.uint8)
    path = tmp_path / "old_labelIds.png"
    save_scene(Scene(labels, labels.astype(np.int32), {}), path)
    assert read_layer(path, (64, 32)) is None
    save_scene_with_layer(Scene(labels, labels.astype(np.int32), {}), path, AnomalyLayer(64, 32))
    assert not layer_path(path).exists()  # an empty layer adds no file
    write_png(layer_path(path), np.zeros((16, 16), np.uint8))
    with pytest.raises(ImageFileError, match="16x16 but the scene is 64x32") as info:
        read_layer(path, (64, 32))
    assert "old_anomalyMasks.png" in str(info.value) and "\n" not in str(info.value)
    write_png(layer_path(path), np.zeros((32, 64, 3), np.uint8))
    with pytest.raises(ImageFileError, match="one-channel"):
        read_layer(path, (64, 32))


def scene_label_set():
    from model.labels import cityscapes

    return cityscapes()
