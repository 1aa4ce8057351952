"""The Anomaly tool in the window (pytest-qt, offscreen; mouse events go to canvas.viewport()):
undo and redo of the mask layer, save and reopen, Apply on the worker thread, export, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QMessageBox
from support.gui import ROAD, SIDEWALK, FakeRenderer, click, drag, maps, mouse, open_anomaly_tool, same

from editor.anomaly_tool import DrawMode
from editor.canvas import ViewMode
from editor.core.anomaly_layer import layer_path
from model.anomaly.export import read_pair
from model.anomaly.inpainter import Inpainter, InpainterConfig, save_inpainter
from model.anomaly.networks import NetworkConfig
from model.anomaly.synthesis import ANOMALY, VOID
from model.scene_io import write_png


@pytest.fixture
def errors(monkeypatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    return shown


def anomaly_window(make_window, qtbot, renderer=None):
    window = make_window(renderer)
    if renderer is not None:
        qtbot.waitUntil(lambda: window.exact_version == window.document.version, timeout=5000)
    open_anomaly_tool(window, qtbot)
    assert window.canvas.tool is window.anomaly.tool
    assert window.canvas.view_mode is ViewMode.BLEND  # side by side switches to blend, where masks show
    return window, window.anomaly


def test_masks_undo_and_redo_like_any_edit(make_window, qtbot) -> None:
    window, anomaly = anomaly_window(make_window, qtbot)
    layer, stack = anomaly.layer, window.state.stack
    labels_before = maps(window)
    window.state.set_brush_size(12)
    drag(window, [(40.0 + 5 * i, 120.0) for i in range(10)])
    assert layer.mask_ids() == [1] and layer.ids[120, 60] == 1 and stack.count() == 1
    assert stack.undoText() == "Anomaly mask"
    anomaly.set_mode(DrawMode.POLYGON)
    for x, y in ((200, 100), (260, 100), (260, 140)):
        click(window, x, y)
    mouse(window, QEvent.Type.MouseButtonDblClick, 260, 140)  # on the last corner: closes it
    assert layer.mask_ids() == [1, 2] and layer.ids[110, 250] == 2 and stack.count() == 2
    anomaly.set_mode(DrawMode.BRUSH)
    drag(window, [(60.0, 120.0), (64.0, 120.0)], modifiers=Qt.KeyboardModifier.ShiftModifier)  # erases
    assert layer.ids[120, 60] == 0 and layer.ids[120, 80] == 1 and stack.count() == 3
    snapshots = []
    for _ in range(3):
        snapshots.append(layer.ids.copy())
        stack.undo()
    assert layer.is_empty
    for snap in reversed(snapshots):
        stack.redo()
        assert np.array_equal(layer.ids, snap)
    assert anomaly.scatter(3) and stack.undoText().startswith("Scatter")
    scattered = layer.ids.copy()
    ground = np.isin(window.document.labels, (ROAD, SIDEWALK))
    new = (scattered > 0) & ~(snapshots[0] > 0)
    assert new.any()
    assert anomaly.clear() and layer.is_empty
    stack.undo()
    assert np.array_equal(layer.ids, scattered)
    assert same(window, labels_before)  # the label map never changed
    assert ground[np.nonzero(new)].mean() > 0.5  # scattered objects stand on road / sidewalk


def test_masks_save_with_the_scene_and_reopen(make_window, qtbot, tmp_path, errors) -> None:
    window, anomaly = anomaly_window(make_window, qtbot)
    drag(window, [(50.0, 120.0), (90.0, 125.0)])
    path = tmp_path / "street_labelIds.png"
    assert window.files.save_to(path)
    assert layer_path(path).is_file() and window.state.stack.isClean()
    saved = anomaly.layer.ids.copy()
    window.files.new_scene_of_size(320, 160)
    assert anomaly.layer.is_empty
    assert window.files.open_path(path)
    assert np.array_equal(anomaly.layer.ids, saved)
    layer_path(path).unlink()  # a scene saved before the layer existed
    assert window.files.open_path(path) and anomaly.layer.is_empty and not errors
    write_png(layer_path(path), np.ones((80, 160), np.uint8))  # a layer of another size
    assert window.files.open_path(path) and anomaly.layer.is_empty
    assert len(errors) == 1 and "160x80 but the scene is 320x160" in errors[0] and "\n" not in errors[0]


def test_apply_runs_on_the_worker_and_export_round_trips(make_window, qtbot, tmp_path) -> None:
    window, anomaly = anomaly_window(make_window, qtbot, FakeRenderer())
    window.state.set_brush_size(16)
    drag(window, [(60.0, 130.0), (80.0, 130.0)])
    anomaly.panel.method.setCurrentIndex(anomaly.panel.method.findData("perlin"))
    anomaly.panel.seed.setValue(7)
    out = tmp_path / "out" / "scene.png"
    out.parent.mkdir()
    with qtbot.waitSignal(anomaly.exported, timeout=20000):
        assert anomaly.export_pair(out)  # no result yet: Apply runs first, then the export
    render = window.canvas.render_image()
    pair = read_pair(out.parent, "scene")
    mask = anomaly.layer.ids > 0
    assert pair.method == "perlin" and pair.seed == 7 and len(pair.anomalies) == 1
    assert (pair.label[mask] == ANOMALY).all() and set(np.unique(pair.label)) <= {0, 1, VOID}
    far = pair.label == 0
    assert np.array_equal(pair.image[far], render[far]) and not np.array_equal(pair.image[mask], render[mask])
    x0, y0, x1, y1 = pair.anomalies[0].box
    ys, xs = np.nonzero(mask)
    assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    record = json.loads((out.parent / "scene_anomaly.json").read_text())
    assert record["steps"] == anomaly.panel.steps.value() and record["size"] == [320, 160]
    assert anomaly.result_current
    drag(window, [(60.0, 130.0), (70.0, 131.0)])  # another stroke: the result no longer matches
    assert not anomaly.result_current


def test_diffusion_apply_reports_progress_and_never_blocks_painting(make_window, qtbot, tmp_path) -> None:
    torch.manual_seed(0)
    tiny = Inpainter(InpainterConfig(NetworkConfig(width=8, farm_width=4, time_dim=16), crop=16))
    save_inpainter(tmp_path / "inpainter", tiny)
    window, anomaly = anomaly_window(make_window, qtbot, FakeRenderer())
    anomaly.inpainter_path = tmp_path / "inpainter"
    anomaly.panel.method.setCurrentIndex(anomaly.panel.method.findData("diffusion"))
    anomaly.panel.steps.setValue(6)
    assert anomaly.scatter(3)
    count = len(anomaly.layer.mask_ids())
    steps: list[tuple[int, int]] = []
    anomaly.worker.progress.connect(lambda _token, done, total: steps.append((done, total)))
    with qtbot.waitSignal(anomaly.result_changed, timeout=30000):
        assert anomaly.apply()
        window.tool_actions["brush"].trigger()
        window.state.set_label(SIDEWALK)
        drag(window, [(10.0, 150.0), (30.0, 150.0)])  # painting goes on while the worker runs
        assert window.document.labels[150, 20] == SIDEWALK
    assert steps and steps[-1] == (6 * count, 6 * count)
    assert not anomaly.result_current  # made from the frame before the stroke
    window.state.stack.undo()
    qtbot.waitUntil(lambda: window.exact_version == window.document.version, timeout=5000)
    with qtbot.waitSignal(anomaly.result_changed, timeout=30000):
        assert anomaly.apply()
    assert anomaly.result_current and anomaly.result.box is not None


def test_bad_input_is_one_clear_line(make_window, qtbot, tmp_path, errors) -> None:
    window, anomaly = anomaly_window(make_window, qtbot, FakeRenderer())
    assert not anomaly.apply()  # no masks
    assert len(errors) == 1 and "no anomaly masks" in errors[0] and "\n" not in errors[0]
    drag(window, [(60.0, 130.0), (80.0, 130.0)])
    anomaly.inpainter_path = tmp_path / "missing"
    anomaly.panel.method.setCurrentIndex(anomaly.panel.method.findData("diffusion"))
    assert not anomaly.apply()
    assert len(errors) == 2 and "missing" in errors[1] and "inpainter" in errors[1] and "\n" not in errors[1]
    (tmp_path / "broken").mkdir()  # a folder without the checkpoint's files: the worker says so
    anomaly.inpainter_path = tmp_path / "broken"
    assert anomaly.apply()
    qtbot.waitUntil(lambda: len(errors) == 3, timeout=10000)
    assert "config.json" in errors[2] and "\n" not in errors[2] and not anomaly.running
    assert anomaly.panel.status.text() == errors[2]


def test_shortcut_is_in_the_f1_list_and_the_readme(make_window, qtbot, monkeypatch) -> None:
    from support import REPO_ROOT

    window = make_window()
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    qtbot.keyClick(window.canvas, Qt.Key.Key_F1)
    assert len(shown) == 1 and "<b>A</b></td><td>&nbsp;Anomaly</td>" in shown[0]
    readme = (REPO_ROOT / "README.md").read_text()
    assert "| A | anomaly masks" in readme


def test_stop_drops_the_running_job(make_window, qtbot, tmp_path) -> None:
    torch.manual_seed(0)
    tiny = Inpainter(InpainterConfig(NetworkConfig(width=8, farm_width=4, time_dim=16), crop=16))
    save_inpainter(tmp_path / "inpainter", tiny)
    window, anomaly = anomaly_window(make_window, qtbot, FakeRenderer())
    anomaly.inpainter_path = tmp_path / "inpainter"
    anomaly.panel.steps.setValue(50)
    assert anomaly.scatter(4) and anomaly.apply() and anomaly.running
    assert anomaly.panel.progress.isVisibleTo(anomaly.panel)
    anomaly.panel.cancel_button.click()
    assert not anomaly.running and not anomaly.panel.progress.isVisibleTo(anomaly.panel)
    qtbot.waitUntil(lambda: not anomaly.worker.busy, timeout=10000)
    qtbot.wait(50)  # a result emitted just before the stop arrives now, and is dropped
    assert anomaly.result is None


def test_mask_edits_and_their_undo_request_no_render(make_window, qtbot) -> None:
    window, anomaly = anomaly_window(make_window, qtbot)
    requests = []
    window.state.render_requested.connect(requests.append)
    window.state.set_brush_size(12)
    drag(window, [(40.0 + 5 * i, 120.0) for i in range(10)])
    window.state.stack.undo()
    window.state.stack.redo()
    assert anomaly.layer.mask_ids() == [1] and requests == []  # the maps did not change
    window.state.stack.undo()
    window.set_tool("brush")
    drag(window, [(40.0, 60.0), (60.0, 60.0)])  # a label stroke still renders
    assert len(requests) >= 1
