"""The anomaly mask layer in the autosave and crash recovery: written with the maps, restored equal,
an old copy without a layer recovers an empty one, a damaged layer costs only the masks (one message
naming the file)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox
from support.crash import recovery_write_killed_at_each_step
from support.gui import CAR, SIDEWALK, drag, maps
from support.scenes import scene_of

from editor.autosave_ui import RecoveryChoice
from editor.core.anomaly_layer import AnomalyLayer
from editor.core.autosave import META_NAME, META_VERSION, RecoveryError, RecoveryStore, recovery_folder
from editor.main_window import MainWindow
from model.errors import ImageFileError
from model.labels import cityscapes
from model.scene_io import encode_png, save_scene


def masks_of(seed: int, width: int = 64, height: int = 32) -> np.ndarray:
    """Mask ids 0..3 in blobs, the layer's layout (H×W uint8)."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((height, width), np.uint8)
    for k in (1, 2, 3):
        x, y = int(rng.integers(0, width - 8)), int(rng.integers(0, height - 8))
        ids[y : y + 8, x : x + 8] = k
    return ids


# ----- Qt-free core ---------------------------------------------------------------------------------
def test_layer_snapshot_is_a_frozen_copy_made_only_after_a_change() -> None:
    layer = AnomalyLayer(64, 32)
    assert layer.snapshot() is None  # empty: nothing to copy or write
    mask = np.ones((4, 4), bool)
    layer.apply((2, 2, 6, 6), mask, 1, "m")
    first = layer.snapshot()
    assert first is not None and not first.flags.writeable and np.array_equal(first, layer.ids)
    assert layer.snapshot() is first  # no change since: the same copy, nothing copied
    layer.apply((10, 2, 14, 6), mask, 2, "m")
    second = layer.snapshot()
    assert second is not first and second[3, 11] == 2 and first[3, 11] == 0  # the old copy kept its values
    layer.reset(64, 32)
    assert layer.snapshot() is None


def test_store_writes_and_loads_the_layer_bit_exact(tmp_path) -> None:
    store = RecoveryStore(tmp_path)
    store.write(scene_of(1), None, "cityscapes", anomaly=masks_of(1))
    entry = store.write(scene_of(2), None, "cityscapes", anomaly=masks_of(2))
    assert entry.anomaly_path == store.slot / "gen-000002_anomalyMasks.png"
    assert sorted(p.name for p in store.slot.glob("gen-*")) == [
        "gen-000002_anomalyMasks.png",
        "gen-000002_instanceIds.png",
        "gen-000002_labelIds.png",
        "gen-000002_styles.json",
    ]  # the old generation's layer went with its maps
    store.close()
    found = RecoveryStore(tmp_path).discover()[0]
    restored = RecoveryStore(tmp_path).load_anomaly(found)
    assert restored is not None and restored.dtype == np.uint8 and np.array_equal(restored, masks_of(2))
    empty = RecoveryStore(tmp_path / "e")
    entry = empty.write(scene_of(3), None, "cityscapes", anomaly=None)
    assert entry.anomaly_path is None and empty.load_anomaly(entry) is None
    with pytest.raises(ImageFileError, match="anomaly mask layer and scene differ in size"):
        empty.write(scene_of(3), None, "cityscapes", anomaly=masks_of(3, 32, 32))


def old_copy(folder: Path, scene_seed: int) -> Path:
    """A recovery copy as the editor wrote it before the layer was autosaved (no layer file)."""
    slot = folder / "session-1-1"
    slot.mkdir(parents=True)
    written = save_scene(scene_of(scene_seed), slot / "gen-000001_labelIds.png")
    meta = {
        "version": 1,
        "generation": 1,
        "saved_at": time.time(),
        "source": None,
        "label_set": "cityscapes",
        "width": 64,
        "height": 32,
        "edits": 2,
        "digests": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in written},
        "pid": 1,
    }
    (slot / META_NAME).write_text(json.dumps(meta))
    return slot


def test_an_old_copy_without_a_layer_loads_with_no_masks(tmp_path) -> None:
    assert META_VERSION == 1  # old copies keep being read as they are
    old_copy(tmp_path, 5)
    store = RecoveryStore(tmp_path)
    entry = store.discover()[0]
    assert entry.anomaly_path is None
    assert np.array_equal(store.load(entry, cityscapes()).labels, scene_of(5).labels)
    assert store.load_anomaly(entry) is None


def test_a_damaged_layer_is_one_error_naming_it_and_the_maps_still_load(tmp_path) -> None:
    store = RecoveryStore(tmp_path)
    entry = store.write(scene_of(1), None, "cityscapes", anomaly=masks_of(1))
    store.close()
    path = entry.anomaly_path
    assert path is not None
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    reader = RecoveryStore(tmp_path)
    with pytest.raises(RecoveryError, match="gen-000001_anomalyMasks.png: recovery file is damaged"):
        reader.load_anomaly(entry)
    assert np.array_equal(reader.load(entry, cityscapes()).labels, scene_of(1).labels)
    # a layer whose digest fits but whose image does not (another size): unreadable, named, one line
    path.write_bytes(encode_png(masks_of(1, 32, 32)))
    meta = json.loads((entry.slot / META_NAME).read_text())
    meta["digests"][path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (entry.slot / META_NAME).write_text(json.dumps(meta))
    entry = reader.discover()[0]
    with pytest.raises(RecoveryError) as caught:
        reader.load_anomaly(entry)
    message = str(caught.value)
    assert message.startswith(f"{path}: anomaly mask layer is unreadable (")
    assert "32x32 but the scene is 64x32" in message and "\n" not in message and message.count(str(path)) == 1


# ----- in the editor --------------------------------------------------------------------------------
def paint_masks(window: MainWindow, start: int = 0) -> None:
    """Two anomaly masks with the Anomaly tool's brush (a drag each: one undo step each)."""
    window.set_tool(window.anomaly.tool.name)
    window.state.set_brush_size(10)
    for i in range(start, start + 2):
        drag(window, [(30.0 + 60 * i, 60.0), (50.0 + 60 * i, 70.0), (70.0 + 60 * i, 60.0)])


def label_strokes(window: MainWindow, count: int, label: int = SIDEWALK) -> None:
    window.set_tool("brush")
    window.state.set_label(label)
    window.state.set_brush_size(6)
    for i in range(count):
        drag(window, [(20.0 + 9 * i, 120.0), (40.0 + 9 * i, 125.0)])


def recover_first(window: MainWindow) -> bool:
    window.recovery_prompt = lambda parent, entries: RecoveryChoice("recover", entries[0])
    return window.offer_recovery()


def test_crash_then_recovery_restores_the_masks_equal(window_factory) -> None:
    first = window_factory()
    label_strokes(first, 2)
    paint_masks(first)
    label_strokes(first, 1, CAR)
    layer = first.anomaly.layer
    assert layer.mask_ids() == [1, 2]
    expected_masks, expected_maps = layer.ids.copy(), maps(first)
    first.autosave.autosave_now(wait=True)
    first.shutdown()  # a crash: the copy stays

    second = window_factory()
    paint_masks(second, start=2)  # masks of the fresh session are replaced by the recovered ones
    second.state.stack.setClean()
    assert recover_first(second)
    assert np.array_equal(second.anomaly.layer.ids, expected_masks)
    assert np.array_equal(second.state.document.labels, expected_maps[0])
    assert np.array_equal(second.state.document.instances, expected_maps[1])
    own = second.autosave.store
    assert own.load_anomaly(own.current()) is not None  # its own copy holds the masks too
    assert np.array_equal(own.load_anomaly(own.current()), expected_masks)


def test_a_mask_only_edit_is_autosaved_and_made_current_before_a_save(window_factory, tmp_path) -> None:
    window = window_factory()
    store = window.autosave.store
    label_strokes(window, 1)
    window.autosave.autosave_now(wait=True)
    assert store.current().anomaly_path is None
    paint_masks(window)  # the label maps did not change, the layer did
    saved: list[np.ndarray | None] = []
    real_saver = window.files.scene_saver

    def saver(scene, path):  # what the recovery copy holds at the moment the save starts writing
        saved.append(store.load_anomaly(store.current()))
        return real_saver(scene, path)

    window.files.scene_saver = saver
    assert window.files.save_to(tmp_path / "s_labelIds.png")
    assert saved[0] is not None and np.array_equal(saved[0], window.anomaly.layer.ids)


def test_no_autosave_in_the_middle_of_a_mask_drag(window_factory) -> None:
    window = window_factory()
    paint_masks(window)
    window.autosave.policy.max_edits = 1
    window.autosave.policy.note_edit(time.monotonic())
    window.anomaly.layer.begin_group("drag")
    window.autosave._tick()
    assert not window.autosave.writer.busy and not window.autosave.store.has_copy
    window.anomaly.layer.cancel_group()
    window.autosave._tick()
    window.autosave.writer.flush()
    assert window.autosave.store.has_copy


def test_old_copy_recovers_with_an_empty_layer(window_factory) -> None:
    old_copy(recovery_folder(), 7)
    window = window_factory(size=(64, 32))
    window.anomaly.layer.apply((0, 0, 8, 8), np.ones((8, 8), bool), 1, "m")  # this session's masks
    assert recover_first(window)
    assert window.anomaly.layer.is_empty and window.anomaly.layer.ids.shape == (32, 64)
    assert np.array_equal(window.state.document.labels, scene_of(7).labels)


def test_a_damaged_layer_recovers_the_labels_and_says_so_once(window_factory, monkeypatch) -> None:
    first = window_factory()
    label_strokes(first, 2)
    paint_masks(first)
    expected = maps(first)
    first.autosave.autosave_now(wait=True)
    entry = first.autosave.store.current()
    first.shutdown()
    assert entry.anomaly_path is not None
    entry.anomaly_path.write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    second = window_factory()
    assert recover_first(second)
    assert len(shown) == 1 and "\n" not in shown[0]
    assert shown[0].startswith("Recovered Untitled scene without its anomaly masks: ")
    assert "gen-000001_anomalyMasks.png: recovery file is damaged" in shown[0]
    assert np.array_equal(second.state.document.labels, expected[0]) and second.anomaly.layer.is_empty


def test_a_write_killed_at_any_step_leaves_maps_and_masks_of_one_generation(tmp_path) -> None:
    """Crash the second write (scene and layer) at each of its file steps: the copy on disk is
    generation 1 or 2, its maps and masks both from that generation."""
    killed = recovery_write_killed_at_each_step(
        tmp_path, lambda store, seed: store.write(scene_of(seed), None, "cityscapes", anomaly=masks_of(seed))
    )
    assert len(killed) > 4
    seen: set[int] = set()
    for k, kill in enumerate(killed):
        reader = RecoveryStore(kill.folder)
        entry = reader.discover()[0]
        gen = entry.generation
        seen.add(gen)
        assert np.array_equal(reader.load(entry, cityscapes()).labels, scene_of(gen).labels), k
        assert np.array_equal(reader.load_anomaly(entry), masks_of(gen)), k
    assert seen == {1, 2}  # killed before and after the copy moved to generation 2
