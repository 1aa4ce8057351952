"""GUI tests of the editor (pytest-qt, offscreen). Mouse events go to canvas.viewport()."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox
from support.gui import (
    BUILDING,
    CAR,
    ROAD,
    SIDEWALK,
    SKY,
    TRUCK,
    FakeRenderer,
    click,
    drag,
    maps,
    mouse,
    same,
    street_scene,
    view_point,
)  # noqa: F401

from editor.canvas import ViewMode
from editor.main_window import MainWindow
from model.labels import cityscapes
from model.scene_io import load_scene, save_scene


# ----- painting ---------------------------------------------------------------------------------
def test_drag_paints_label_map_as_one_step_and_one_render_request(make_window, qtbot) -> None:
    window = make_window(FakeRenderer())
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)
    requests = []
    window.state.render_requested.connect(requests.append)
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    window.state.set_brush_size(10)
    before = maps(window)
    path = [(20.0 + 4 * i, 130.0) for i in range(40)]
    drag(window, path)
    labels = window.state.document.labels
    assert (labels[130, 22:175] == SIDEWALK).all()
    assert labels[110, 60] == ROAD  # away from the stroke
    assert window.state.stack.count() == 1
    assert len(requests) == 1
    assert not requests[0].area.whole and requests[0].area.box is not None  # the stroke's area travels
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=5000)
    window.state.stack.undo()
    assert same(window, before)


def test_brush_size_keys_number_keys_and_tool_shortcuts(make_window, qtbot) -> None:
    window = make_window()
    canvas = window.canvas
    canvas.setFocus()
    size = window.state.brush_size
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert window.state.brush_size > size
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert window.state.brush_size < size
    for key, name in (
        (Qt.Key.Key_G, "fill"),
        (Qt.Key.Key_I, "eyedropper"),
        (Qt.Key.Key_V, "select"),
        (Qt.Key.Key_P, "polygon"),
        (Qt.Key.Key_R, "rectangle"),
        (Qt.Key.Key_B, "brush"),
    ):
        qtbot.keyClick(canvas, key)
        assert canvas.tool is window.tools[name]
    qtbot.keyClick(canvas, Qt.Key.Key_6)
    assert window.state.current_label == CAR
    qtbot.keyClick(canvas, Qt.Key.Key_5)
    assert window.state.current_label == SKY
    for action in window.actions():
        assert action.toolTip(), action.text()


def test_status_bar_shows_position_label_and_instance(make_window) -> None:
    window = make_window()
    mouse(window, QEvent.Type.MouseMove, 100.5, 110.5, buttons=Qt.MouseButton.NoButton)
    assert window.cursor_label.text() == "x 100, y 110   car (26)   instance 26000"
    assert window.model_label.text() == "No model loaded"


def test_brush_outline_follows_cursor(make_window) -> None:
    window = make_window()
    mouse(window, QEvent.Type.MouseMove, 50, 50, buttons=Qt.MouseButton.NoButton)
    assert window.canvas.hover is not None and abs(window.canvas.hover.x() - 50) < 1
    image = window.canvas.grab().toImage()
    assert not image.isNull()


def test_fill_polygon_rectangle_eyedropper(make_window) -> None:
    window = make_window()
    state = window.state
    window.set_tool("fill")
    state.set_label(SIDEWALK)
    click(window, 5, 5)  # the sky
    assert (state.document.labels[:53] == SIDEWALK).all()
    window.set_tool("rectangle")
    state.set_label(BUILDING)
    drag(window, [(200, 60), (230, 70), (250, 90)])
    assert (state.document.labels[61:90, 201:250] == BUILDING).all()
    window.set_tool("polygon")
    state.set_label(SKY)
    for p in ((10, 140), (60, 140), (35, 100)):
        click(window, *p)
    mouse(window, QEvent.Type.MouseButtonDblClick, 35, 100)
    assert state.document.labels[130, 35] == SKY
    assert state.stack.count() == 3
    window.set_tool("eyedropper")
    click(window, 100, 110)
    assert state.current_label == CAR


# ----- instances --------------------------------------------------------------------------------
def test_thing_strokes_new_object_and_extend(make_window) -> None:
    window = make_window()
    state = window.state
    window.set_tool("brush")
    state.set_label(CAR)
    state.set_brush_size(8)
    drag(window, [(200, 120), (210, 120), (220, 120)])
    assert state.document.instance_at(210, 120) == 26001  # a new object
    assert state.selection == 26001
    window.tool_options.extend_button.click()
    drag(window, [(100, 110), (100, 140), (100, 150)])  # starts on car 26000: extends it
    assert state.document.instance_at(100, 150) == 26000
    window.tool_options.new_button.click()
    drag(window, [(300, 130), (305, 130)])
    assert state.document.instance_at(302, 130) == 26002


def test_select_delete_car_fills_from_surroundings(make_window) -> None:
    window = make_window()
    state = window.state
    window.set_tool("select")
    click(window, 100, 110)
    assert state.selection == 26000
    assert "car" in window.selection_label.text() and "26000" in window.selection_label.text()
    assert window.canvas._outline  # the outline is drawn
    window.act_delete.trigger()
    assert not (state.document.labels == CAR).any()
    assert (state.document.labels[100:128, 64:128] == ROAD).all()
    assert state.selection is None


def test_undo_redo_bit_exact_through_the_gui(make_window) -> None:
    window = make_window(FakeRenderer())
    state = window.state
    snaps = [maps(window)]
    window.set_tool("brush")
    state.set_label(SIDEWALK)
    drag(window, [(10.0 + 5 * i, 150.0 - 0.2 * i) for i in range(30)])  # stroke
    snaps.append(maps(window))
    window.set_tool("fill")
    state.set_label(BUILDING)
    click(window, 5, 5)  # fill
    snaps.append(maps(window))
    window.set_tool("select")
    click(window, 100, 110)
    drag(window, [(100, 110), (130, 112), (160, 115)])  # move the car
    snaps.append(maps(window))
    assert state.document.instance_at(130, 115) == 26000
    drag(window, [(130, 115), (200, 100), (250, 95)], modifiers=Qt.KeyboardModifier.ControlModifier)  # copy
    snaps.append(maps(window))
    assert (state.document.instances == 26001).any()
    window.class_prompt = lambda *_args: TRUCK  # the chooser's answer
    window.act_relabel.trigger()  # relabel the copy
    snaps.append(maps(window))
    assert (state.document.instances == 27000).any() and not (state.document.instances == 26001).any()
    window.act_duplicate.trigger()  # duplicate the truck
    snaps.append(maps(window))
    window.act_delete.trigger()  # delete the duplicate
    snaps.append(maps(window))
    state.set_style(26000, 2)
    snaps.append(maps(window))
    stack = state.stack
    assert stack.count() == len(snaps) - 1
    for i in range(len(snaps) - 1, 0, -1):
        assert same(window, snaps[i])
        stack.undo()
    assert same(window, snaps[0])
    for i in range(1, len(snaps)):
        stack.redo()
        assert same(window, snaps[i])


def test_undo_history_memory_bound_drops_oldest(make_window) -> None:
    window = make_window()
    state = window.state
    window.set_tool("brush")
    state.set_brush_size(30)
    for i in range(6):
        state.set_label(SIDEWALK if i % 2 else BUILDING)
        drag(window, [(20.0, 100.0 + 5 * i), (300.0, 100.0 + 5 * i)])
    per_step = state.stack.nbytes / state.stack.count()
    state.stack.memory_limit = int(per_step * 3.5)
    state.set_label(SKY)
    drag(window, [(20.0, 150.0), (300.0, 150.0)])
    assert state.stack.count() <= 4 and state.stack.nbytes <= state.stack.memory_limit
    after = maps(window)
    while state.stack.canUndo():
        state.stack.undo()
    while state.stack.canRedo():
        state.stack.redo()
    assert same(window, after)
    assert not state.stack.isClean()


# ----- styles -----------------------------------------------------------------------------------
def test_style_palette_thumbnails_and_click(make_window, qtbot) -> None:
    renderer = FakeRenderer()
    window = make_window(renderer)
    state = window.state
    window.set_tool("select")
    click(window, 100, 110)
    palette = window.style_palette
    assert len(palette.buttons) == 4
    qtbot.waitUntil(lambda: all(not b.icon().isNull() for b in palette.buttons), timeout=5000)
    assert sorted(palette.images) == [0, 1, 2, 3]  # one swatch per style, each of the swatch box
    assert all(
        image.shape[:2] == (palette.box[3] - palette.box[1], palette.box[2] - palette.box[0])
        for image in palette.images.values()
    )
    before = maps(window)
    palette.buttons[2].click()
    after = maps(window)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert after[2] == {**before[2], 26000: 2}
    assert palette.buttons[2].isChecked()
    state.stack.undo()
    assert same(window, before)
    # stuff classes have per-class styles in the same palette
    click(window, 5, 5)
    assert state.selection == SKY and len(palette.buttons) == 4
    palette.random_button.click()
    assert isinstance(state.document.styles.get(SKY), int)
    palette.resample_button.click()
    assert set(state.document.styles) >= {ROAD, SKY, 26000}
    assert state.stack.count() == 2  # the undone style click was dropped by the random style


# ----- rendering --------------------------------------------------------------------------------
def test_gui_stays_responsive_during_slow_render(make_window, qtbot) -> None:
    renderer = FakeRenderer(delay=1.5)
    window = make_window(renderer)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    busy = []
    window.worker.busy.connect(busy.append)
    window.state.set_style(26000, 1)  # a change → a render request
    window.state.set_style(26000, 3)  # latest wins
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=10000)
    timer.stop()
    assert len(ticks) > 50
    assert max(np.diff(ticks)) < 0.3  # the event loop never stalled
    assert renderer.calls <= 4  # intermediate requests were dropped, not queued
    assert window.render_version == window.document.version


def test_export_writes_full_resolution_png(make_window, qtbot, tmp_path) -> None:
    window = make_window(FakeRenderer(), size=(2048, 1024))
    out = tmp_path / "render.png"
    assert window.files.export_to(out)
    qtbot.waitUntil(out.exists, timeout=10000)
    with Image.open(out) as img:
        assert img.size == (2048, 1024)


def test_view_modes_zoom_and_pan(make_window) -> None:
    window = make_window(FakeRenderer(), size=(2048, 1024))
    canvas = window.canvas
    for mode in ViewMode:
        window.set_view(mode)
        assert not canvas.grab().toImage().isNull()
    QApplication.processEvents()  # the side-by-side view's mirror hides: the canvas takes its width
    canvas.fit()
    target = view_point(window, 700, 400)
    for _ in range(3):
        event = QWheelEvent(
            target,
            canvas.viewport().mapToGlobal(target),
            QPoint(),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(canvas.viewport(), event)
    back = canvas.to_document(target)
    assert abs(back.x() - 700) < 3 and abs(back.y() - 400) < 3  # zoomed around the cursor
    h = canvas.horizontalScrollBar().value()
    drag(window, [(700, 400), (650, 400), (600, 400)], button=Qt.MouseButton.MiddleButton)
    assert canvas.horizontalScrollBar().value() != h
    assert window.state.stack.count() == 0  # panning paints nothing


# ----- files ------------------------------------------------------------------------------------
def test_save_open_round_trip_bit_exact(make_window, tmp_path) -> None:
    window = make_window()
    state = window.state
    window.set_tool("brush")
    state.set_label(CAR)
    drag(window, [(250, 120), (260, 125), (270, 130)])
    state.set_style(26000, 3)
    state.set_style(ROAD, (0.25, -0.5, 1.0))
    snap = maps(window)
    assert window.windowTitle().startswith("Untitled •")
    assert window.files.save_to(tmp_path / "mine.png")
    saved = tmp_path / "mine_labelIds.png"
    assert (
        saved.exists()
        and (tmp_path / "mine_instanceIds.png").exists()
        and (tmp_path / "mine_styles.json").exists()
    )
    assert state.stack.isClean() and "•" not in window.windowTitle()
    loaded = load_scene(saved, cityscapes())  # what the training loaders read
    assert np.array_equal(loaded.labels, snap[0]) and np.array_equal(loaded.instances, snap[1])
    window.files.new_scene_of_size(64, 32, SKY)
    assert state.document.labels.shape == (32, 64)
    assert window.files.open_path(saved)
    assert same(window, snap)
    assert window.files.recent()[0] == str(saved.resolve())


def test_open_cityscapes_pair_and_colour_png(make_window, tmp_path) -> None:
    window = make_window()
    scene = street_scene(200, 100)
    Image.fromarray(scene.labels).save(tmp_path / "aachen_000000_000019_gtFine_labelIds.png")
    Image.fromarray(scene.instances.astype(np.uint16)).save(
        tmp_path / "aachen_000000_000019_gtFine_instanceIds.png"
    )
    assert window.files.open_path(tmp_path / "aachen_000000_000019_gtFine_labelIds.png")
    assert np.array_equal(window.state.document.instances, scene.instances)  # found automatically
    assert window.files.save_to(tmp_path / "aachen_000000_000019_gtFine_labelIds.png")
    back = np.asarray(Image.open(tmp_path / "aachen_000000_000019_gtFine_instanceIds.png"))
    assert np.array_equal(back.astype(np.int32), scene.instances)
    Image.fromarray(cityscapes().colorize(scene.labels)).save(tmp_path / "colour.png")
    assert window.files.open_path(tmp_path / "colour.png")
    assert np.array_equal(window.state.document.labels, scene.labels)


def test_bad_file_shows_one_line_error(make_window, tmp_path, monkeypatch) -> None:
    window = make_window()
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    (tmp_path / "junk.png").write_bytes(b"not a png")
    before = maps(window)
    assert not window.files.open_path(tmp_path / "junk.png")
    assert len(shown) == 1 and "junk.png" in shown[0] and "\n" not in shown[0]
    assert same(window, before)


def test_unsaved_changes_prompt_can_cancel_close(make_window, monkeypatch) -> None:
    window = make_window()
    del window.files.confirm_discard  # the real prompt
    window.set_tool("fill")
    click(window, 5, 5)
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[2])
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert not window.close()
    assert window.isVisible() and len(asked) == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert window.close()


def test_real_tiny_checkpoint_loads_renders_and_makes_thumbnails(make_window, qtbot, tmp_path) -> None:
    from model.checkpoint import load_clusters, make_random_checkpoint, save_clusters

    folder = make_random_checkpoint(tmp_path / "ckpt")
    centres, _ = load_clusters(folder / "clusters.npz")
    save_clusters(folder / "clusters.npz", centres, {c: np.full(len(v), 5) for c, v in centres.items()})
    window = make_window(size=(128, 64))
    window.load_model(folder)
    qtbot.waitUntil(lambda: window.worker.renderer is not None, timeout=20000)
    assert window.model_label.text().startswith("Model: ckpt")
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=20000)
    assert window.canvas.has_render
    window.set_tool("select")
    click(window, 40, 45)
    assert window.state.selection == 26000
    buttons = window.style_palette.buttons
    assert len(buttons) == window.worker.renderer.num_styles(CAR) > 0
    share = f"{1 / len(buttons):.0%} of the training examples"  # equal member counts
    assert all(share in b.toolTip() for b in buttons), buttons[0].toolTip()
    qtbot.waitUntil(lambda: all(not b.icon().isNull() for b in buttons), timeout=20000)


def test_bad_model_keeps_editor_usable(make_window, qtbot, tmp_path, monkeypatch) -> None:
    window = make_window()
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    (tmp_path / "latest_net_G.pth").write_bytes(b"garbage")
    window.load_model(tmp_path / "latest_net_G.pth")
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert "latest_net_G.pth" in shown[0]
    assert window.worker.renderer is None and window.model_label.text() == "No model loaded"


def test_label_search_filters_and_enter_picks(make_window, qtbot) -> None:
    window = make_window()
    palette = window.label_palette
    qtbot.keyClicks(palette.search, "truc")
    visible = [
        palette.list.item(r).text()
        for r in range(palette.list.count())
        if not palette.list.item(r).isHidden()
    ]
    assert len(visible) == 1 and visible[0].startswith("truck")
    assert window.state.current_label == ROAD  # typing alone does not change the label
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert window.state.current_label == TRUCK
    assert palette.current.text().strip().startswith("truck")


def test_app_main_opens_scene_and_reports_missing_model(qtbot, settings, monkeypatch, tmp_path) -> None:
    import editor.app
    from editor import main_window

    created: list[MainWindow] = []

    class Recorded(MainWindow):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.pop("settings", None)
            super().__init__(settings, *args[1:], **kwargs)
            self.files.confirm_discard = lambda: True
            created.append(self)

    monkeypatch.setattr(main_window, "MainWindow", Recorded)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    scene = street_scene(64, 32)
    save_scene(scene, tmp_path / "s_labelIds.png")
    QTimer.singleShot(0, lambda: QApplication.instance().quit())
    assert editor.app.main([str(tmp_path / "s_labelIds.png"), "--checkpoint", str(tmp_path / "missing")]) == 0
    window = created[0]
    assert np.array_equal(window.state.document.labels, scene.labels)
    assert not window.worker.isRunning()  # main() stopped the render thread
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)  # the bad --checkpoint: one line, editor still up
    assert "missing" in shown[0] and "\n" not in shown[0]
    assert window.model_label.text() == "No model loaded"
    window.close()


def test_label_palette_follows_the_model_label_set(make_window) -> None:
    from model.labels import Label, LabelSet

    custom = LabelSet(
        "toy",
        8,
        (
            Label(0, "void", (0, 0, 0), False),
            Label(7, "road", (128, 64, 128), False),
            Label(3, "tree", (0, 200, 0), False),
            Label(5, "robot", (250, 0, 0), True),
        ),
    )
    window = make_window(size=(64, 32), scene=False)
    renderer = FakeRenderer()
    renderer.label_set = custom
    window._on_model_loaded(renderer, Path("toy"))
    names = [window.label_palette.list.item(r).text() for r in range(window.label_palette.list.count())]
    assert [n.split()[0] for n in names] == ["void", "road", "tree", "robot"]
    assert window.state.label_set is custom
    assert window.model_label.text().startswith("Model: toy")


class FakeIncremental(FakeRenderer):
    """An incremental renderer (model.render.loop.IncrementalLike, no quick tiles): ``update``
    returns only the tile of the changed area it is given."""

    has_quick_preview = False

    def __init__(self) -> None:
        super().__init__()
        self.regions: list = []
        self.last = None

    @property
    def ready(self) -> bool:
        return self.last is not None

    @property
    def base(self) -> FakeIncremental:
        return self

    def clear(self) -> None:
        self.last = None

    def output_tensor(self):
        raise AssertionError("only quick tiles read the cache")

    def quick_preview(self, labels, instances, styles=None, hint=None, seed=0):
        return None

    def full(self, labels, instances, styles=None, seed=0, cancelled=None, progress=None):
        self.last = self.render(labels, instances, styles or {}, seed)
        return self.last

    def update(
        self,
        labels,
        instances,
        styles=None,
        hint=None,
        seed=0,
        cancelled=None,
        epsilon=None,
        between_layers=None,
    ):
        from types import SimpleNamespace

        self.regions.append(hint)
        self.last = full = self.render(labels, instances, styles or {}, seed)
        if hint.box is None:
            return SimpleNamespace(image=full[:0, :0], box=(0, 0, 0, 0))
        x0, y0, x1, y1 = hint.box
        return SimpleNamespace(image=full[y0:y1, x0:x1], box=hint.box)


def test_worker_takes_tiles_from_an_incremental_renderer(make_window, qtbot) -> None:
    renderer = FakeIncremental()
    window = make_window(renderer)
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=5000)
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    drag(window, [(30.0, 140.0), (60.0, 140.0), (90.0, 140.0)])
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)
    assert not renderer.regions[-1].whole  # the stroke's area went to update()
    x0, y0, x1, y1 = renderer.regions[-1].box
    assert x1 - x0 < 320 and y1 - y0 < 160
    shown = window.canvas.render_image()
    assert np.array_equal(shown, renderer.render(window.document.labels, window.document.instances, {}))


def test_real_incremental_renderer_in_the_worker(make_window, qtbot, tmp_path) -> None:
    from model.checkpoint import make_random_checkpoint
    from model.render.full import Renderer
    from model.render.incremental import IncrementalRenderer

    full = Renderer.from_checkpoint(make_random_checkpoint(tmp_path / "ckpt"), device="cpu")
    incremental = IncrementalRenderer(full, epsilon=0.0)
    window = make_window(incremental, size=(128, 64))
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=20000)
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    window.state.set_brush_size(6)
    drag(window, [(100.0, 50.0), (110.0, 50.0), (120.0, 52.0)])
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=20000)
    doc = window.document
    expected = full.render(doc.labels, doc.instances, doc.styles)
    shown = window.canvas.render_image()
    assert np.array_equal(shown, incremental.image())  # the tile was pasted in the right place
    # frozen InstanceNorm statistics: near a fresh full render, not equal to it
    assert np.abs(shown.astype(int) - expected.astype(int)).mean() < 20
    window.set_tool("select")
    click(window, 40, 45)
    assert window.state.num_styles(window.state.selection) > 0  # styles come from the wrapped renderer
    qtbot.waitUntil(lambda: all(not b.icon().isNull() for b in window.style_palette.buttons), timeout=20000)


def test_app_main_without_a_scene_opens_the_first_sample_untitled(
    qtbot, settings, monkeypatch, tmp_path
) -> None:
    import editor.app
    from editor import main_window
    from model.scene_io import load_scene

    created: list[MainWindow] = []

    class Recorded(MainWindow):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.pop("settings", None)
            kwargs["checkpoint"] = tmp_path / "no-model"  # keep the test light: no real model
            super().__init__(settings, *args[1:], **kwargs)
            self.files.confirm_discard = lambda: True
            created.append(self)

    monkeypatch.setattr(main_window, "MainWindow", Recorded)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: None)
    sample = editor.app.first_sample_scene()
    assert sample is not None and sample.name.endswith("_labelIds.png")
    QTimer.singleShot(0, lambda: QApplication.instance().quit())
    assert editor.app.main([]) == 0
    window = created[0]
    expected = load_scene(sample, window.state.label_set)
    assert np.array_equal(window.state.document.labels, expected.labels)
    assert np.array_equal(window.state.document.instances, expected.instances)
    assert window.state.document.path is None  # Save asks where instead of overwriting the sample
    window.close()
