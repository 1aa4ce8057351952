"""The editor's render pipeline: incremental rendering switched on, stale tiles, per-step costs.

* a provisional (quick) tile of an edit that was undone before its update ran is repainted, so the
  canvas ends equal to a render of the final document;
* with a real tiny checkpoint and incremental rendering on, a stroke ends "up to date" with the
  canvas equal to a full render of the final document (within 2/255);
* the Render menu toggle, the undo-history model, the map snapshots and the selection box stay
  correct while costing work proportional to a step, not to the map or the history.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings
from support.gui import CAR, ROAD, SIDEWALK, FakeRenderer, drag

from editor.commands import BoundedUndoStack
from editor.core.document import Document, mask_box
from editor.core.edits import BrushDab
from editor.core.snapshots import SnapshotPool
from editor.history_panel import HistoryModel
from editor.main_window import MainWindow
from model.labels import cityscapes


def busy_wait(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        time.sleep(0.005)


class CachingFake:
    """Behaves as model.render.incremental.IncrementalRenderer does, with colours for pixels: a
    cached frame; ``quick_preview`` returns a provisional tile (inverted colours, visibly wrong) and
    leaves the cache alone; ``update`` diffs the maps against the cache and commits; ``full``
    renders everything."""

    has_quick_preview = True

    def __init__(self) -> None:
        self.label_set = cityscapes()
        self.quick_delay = 0.0
        self.full_delay = 0.0
        self.maps: np.ndarray | None = None
        self.frame: np.ndarray | None = None
        self.last_stats = SimpleNamespace(full=False)
        self.calls: list[str] = []

    def num_styles(self, class_id: int) -> int:
        return 0

    def style_shares(self, class_id: int) -> None:
        return None

    def render_crop(self, labels, instances, styles, box, seed=0):
        x0, y0, x1, y1 = box
        return self.colour(labels[y0:y1, x0:x1])

    def colour(self, labels: np.ndarray) -> np.ndarray:
        return self.label_set.colorize(labels).copy()

    @property
    def ready(self) -> bool:
        return self.frame is not None

    @property
    def base(self) -> CachingFake:
        return self

    def clear(self) -> None:
        self.maps = self.frame = None

    def full(self, labels, instances, styles, seed=0, cancelled=None, progress=None):
        self.calls.append("full")
        end = time.perf_counter() + self.full_delay
        while time.perf_counter() < end:
            if cancelled is not None and cancelled():
                self.calls.append("full cancelled")
                return None
            time.sleep(0.005)
        self.maps, self.frame = labels.copy(), self.colour(labels)
        self.last_stats = SimpleNamespace(full=True)
        return self.frame.copy()

    def _changed(self, labels):
        return mask_box(labels != self.maps)

    def quick_preview(self, labels, instances, styles, hint=None, seed=0):
        self.calls.append("quick")
        busy_wait(self.quick_delay)
        box = self._changed(labels)
        if box is None:
            return SimpleNamespace(image=np.zeros((0, 0, 3), np.uint8), box=(0, 0, 0, 0))
        x0, y0, x1, y1 = box
        return SimpleNamespace(image=255 - self.colour(labels[y0:y1, x0:x1]), box=box)

    def update(self, labels, instances, styles, hint=None, seed=0, cancelled=None, between_layers=None):
        self.calls.append("update")
        if self.frame is None:
            image = self.full(labels, instances, styles, seed)
            return SimpleNamespace(image=image, box=(0, 0, labels.shape[1], labels.shape[0]))
        self.last_stats = SimpleNamespace(full=False)
        box = self._changed(labels)
        if box is None:
            return SimpleNamespace(image=np.zeros((0, 0, 3), np.uint8), box=(0, 0, 0, 0))
        x0, y0, x1, y1 = box
        self.frame[y0:y1, x0:x1] = self.colour(labels[y0:y1, x0:x1])
        self.maps = labels.copy()
        return SimpleNamespace(image=self.frame[y0:y1, x0:x1].copy(), box=box)

    def output_tensor(self) -> torch.Tensor:
        """The cached frame as the network's 1×3×H×W tanh output (to_uint8 gives it back exactly)."""
        assert self.frame is not None
        return torch.from_numpy((self.frame.astype(np.float32) + 0.5) / 255 * 2 - 1).permute(2, 0, 1)[None]


def results_of(window: MainWindow) -> list:
    results: list = []
    window.worker.rendered.connect(results.append)
    return results


# ----- stale tiles --------------------------------------------------------------------------------
def test_quick_tile_of_an_undone_stroke_does_not_stay_on_screen(make_window, qtbot) -> None:
    renderer = CachingFake()
    window = make_window(renderer)
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=5000)
    window.worker.idle_refresh_s = 60.0  # no exact refresh: the updates alone must leave the canvas right
    results = results_of(window)
    renderer.quick_delay = 0.6
    busy: list[int] = []
    window.worker.busy.connect(busy.append)
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    window.state.set_brush_size(12)
    drag(window, [(40.0, 130.0), (90.0, 135.0), (140.0, 130.0)])
    stroke_version = window.document.version
    qtbot.waitUntil(lambda: stroke_version in busy, timeout=5000)
    window.state.stack.undo()  # while the stroke's quick tile is still being rendered
    final = window.document.version
    qtbot.waitUntil(lambda: any(r.version == final and r.committed for r in results), timeout=10000)
    stale = [r for r in results if r.kind == "quick" and r.version == stroke_version]
    assert stale and stale[0].pixels.size  # the old version's tile really arrived after the newer edit
    assert "update" in renderer.calls
    expected = renderer.colour(window.document.labels)
    assert np.array_equal(window.canvas.render_image(), expected)
    assert window.render_label.text().startswith("preview")  # committed, exact frame still to come


def test_slow_full_render_of_an_old_version_is_superseded(make_window, qtbot) -> None:
    renderer = FakeRenderer(delay=0.4)
    window = make_window(renderer)
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=5000)
    busy: list[int] = []
    window.worker.busy.connect(busy.append)
    results = results_of(window)
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    drag(window, [(40.0, 130.0), (90.0, 135.0)])
    first = window.document.version
    qtbot.waitUntil(lambda: first in busy, timeout=5000)
    window.state.set_label(CAR)
    drag(window, [(200.0, 40.0), (260.0, 60.0)])
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=10000)
    assert results[0].version == first < window.document.version  # it arrived after the newer edit
    assert all(not r.area.whole for r in results)  # only the changed boxes travelled
    doc = window.document
    assert np.array_equal(
        window.canvas.render_image(), renderer.render(doc.labels, doc.instances, doc.styles)
    )


def test_strokes_do_not_restart_the_full_pass_they_wait_for(make_window, qtbot) -> None:
    renderer = CachingFake()
    window = make_window(renderer)
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=5000)
    renderer.full_delay = 0.5
    busy: list[int] = []
    window.worker.busy.connect(busy.append)
    before = len(renderer.calls)
    window.state.set_style(SIDEWALK, 1)  # a whole-frame change: a full pass
    qtbot.waitUntil(lambda: window.document.version in busy, timeout=5000)
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    for i in range(3):  # strokes while it runs
        drag(window, [(40.0 + 30 * i, 130.0), (60.0 + 30 * i, 140.0)])
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=10000)
    assert renderer.calls[before:] == ["full", "quick", "update"]  # never cancelled nor restarted
    assert renderer.calls[-1] == "update"  # the three strokes, as one update from the new cache
    assert np.array_equal(window.canvas.render_image(), renderer.colour(window.document.labels))


# ----- the real incremental renderer --------------------------------------------------------------
def test_incremental_rendering_with_a_real_checkpoint_ends_equal_to_a_full_render(
    make_window, qtbot, tmp_path
) -> None:
    from model.checkpoint import make_random_checkpoint
    from model.render.full import Renderer
    from model.render.incremental import IncrementalRenderer

    folder = make_random_checkpoint(tmp_path / "ckpt")
    window = make_window(size=(128, 64))
    window.load_model(folder)
    qtbot.waitUntil(lambda: window.worker.renderer is not None, timeout=20000)
    assert isinstance(window.worker.renderer, IncrementalRenderer)  # on by default
    assert "activation cache" in window.render_label.toolTip()
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=20000)
    results = results_of(window)
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    window.state.set_brush_size(6)
    drag(window, [(100.0, 50.0), (110.0, 50.0), (120.0, 52.0)])
    # each connection to the cross-thread signal is its own queued event: wait for the test's own
    qtbot.waitUntil(
        lambda: any(r.exact and r.version == window.document.version for r in results), timeout=30000
    )
    assert window.exact_version == window.document.version
    assert window.render_label.text().startswith("up to date")
    kinds = [r.kind for r in results]
    assert kinds[-1] == "exact" and ("quick" in kinds or "update" in kinds)
    assert kinds.index("exact") > max(kinds.index(k) for k in ("quick", "update") if k in kinds)
    doc = window.document
    expected = Renderer.from_checkpoint(folder, device="cpu").render(doc.labels, doc.instances, doc.styles)
    shown = window.canvas.render_image()
    assert np.abs(shown.astype(int) - expected.astype(int)).max() <= 2


def test_render_menu_turns_incremental_off_and_remembers_it(make_window, qtbot, tmp_path, settings) -> None:
    from model.checkpoint import make_random_checkpoint
    from model.render.full import Renderer

    folder = make_random_checkpoint(tmp_path / "ckpt")
    window = make_window(size=(128, 64))
    assert window.act_incremental.isChecked()
    window.act_incremental.trigger()  # off before the model arrives
    window.load_model(folder)
    qtbot.waitUntil(lambda: window.worker.renderer is not None, timeout=20000)
    assert type(window.worker.renderer) is Renderer
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=20000)
    window.act_incremental.trigger()  # on again: the wrapper built by the loader takes over
    assert type(window.worker.renderer) is not Renderer
    qtbot.waitUntil(lambda: window.render_label.text().startswith("up to date"), timeout=20000)
    window.act_incremental.trigger()
    assert settings.value("render/incremental") in (False, "false")
    again = make_window(size=(64, 32), scene=False)  # same settings file
    assert not again.act_incremental.isChecked()


# ----- per-step costs: correct, and proportional to the step ---------------------------------------
def test_history_model_follows_pushes_undos_and_a_bounded_rebuild(qtbot) -> None:
    doc = Document.new(64, 32, cityscapes(), fill=ROAD)
    stack = BoundedUndoStack(memory_limit=1 << 30)
    model = HistoryModel(stack)

    def texts() -> list[str]:
        return [model.data(model.index(r)) for r in range(model.rowCount())]

    def paint(i: int, y: float = 10.0) -> None:
        delta = doc.apply(BrushDab([(4.0 + 3 * i, y)], 2.0, SIDEWALK, SIDEWALK, f"Brush {i}"))
        assert delta is not None
        stack.push_delta(delta)

    for i in range(5):
        paint(i)
    assert texts() == ["Opened scene"] + [f"Brush {i}" for i in range(5)]
    stack.undo()
    stack.undo()
    paint(7)  # the redo branch goes
    assert texts() == ["Opened scene", "Brush 0", "Brush 1", "Brush 2", "Brush 7"]
    assert stack.nbytes == sum(c.delta.nbytes for c in stack._commands)
    stack.memory_limit = stack.nbytes - 1  # the next push drops the oldest steps
    paint(9)
    assert texts() == ["Opened scene"] + [stack.text(i) for i in range(stack.count())]
    assert texts()[-1] == "Brush 9" and "Brush 0" not in texts()
    assert stack.nbytes == sum(c.delta.nbytes for c in stack._commands) <= stack.memory_limit
    stack.clear_history()
    assert texts() == ["Opened scene"] and stack.nbytes == 0
    stack.memory_limit = 1 << 30
    model.window = 3  # the list shows the last 3 steps; older ones fold into the first row
    for i in range(6):
        paint(i, 20.0)
    assert texts() == ["⋯ 3 earlier steps", "Brush 3", "Brush 4", "Brush 5"]
    assert model.state_of(0) == 3 and model.row_of(stack.index()) == 3
    stack.setIndex(1)  # far back: the window follows the current step
    assert texts()[0] == "⋯ 1 earlier steps" and model.row_of(1) == 0
    paint(8, 28.0)
    assert texts() == ["Opened scene", "Brush 0", "Brush 8"]  # the redo branch went: the window shrank


def test_snapshots_copy_only_changed_boxes_and_equal_the_document() -> None:
    doc = Document.new(400, 200, cityscapes(), fill=ROAD)
    pool = SnapshotPool(doc)
    labels, instances = pool.take()
    assert pool.last_copied == 400 * 200 and np.array_equal(labels, doc.labels)
    del labels, instances  # returned to the pool
    doc.apply(BrushDab([(50.0, 50.0), (60.0, 52.0)], 4.0, CAR, 26000, "Brush"))
    labels, instances = pool.take()
    assert 0 < pool.last_copied < 400  # only the dab's box
    assert np.array_equal(labels, doc.labels) and np.array_equal(instances, doc.instances)
    assert not labels.flags.writeable
    held = labels  # still lent: the next take needs a second buffer
    doc.apply(BrushDab([(300.0, 100.0)], 6.0, SIDEWALK, SIDEWALK, "Brush"))
    labels2, _instances2 = pool.take()
    assert pool.last_copied == 400 * 200 and pool.buffers == 2  # a fresh buffer is copied whole
    assert np.array_equal(labels2, doc.labels) and not np.array_equal(held, doc.labels)
    del held, labels, instances
    doc.apply(BrushDab([(100.0, 150.0)], 3.0, SIDEWALK, SIDEWALK, "Brush"))
    labels, instances = pool.take()  # the first buffer again: two boxes behind
    assert pool.buffers == 2 and 0 < pool.last_copied < 2000
    assert np.array_equal(labels, doc.labels) and np.array_equal(instances, doc.instances)


def test_snapshots_stay_equal_to_the_document_under_random_edits_and_holds() -> None:
    rng = np.random.default_rng(0)
    doc = Document.new(300, 200, cityscapes(), fill=ROAD)
    pool = SnapshotPool(doc)
    held: list = []
    for step in range(200):
        for _ in range(int(rng.integers(1, 6))):  # the dabs of one stroke
            x, y = rng.uniform(0, 300), rng.uniform(0, 200)
            label = int(rng.choice([ROAD, SIDEWALK, CAR]))
            doc.apply(
                BrushDab(
                    [(x, y), (x + 5, y + 3)],
                    float(rng.integers(1, 8)),
                    label,
                    label * 1000 if label == CAR else label,
                    "Brush",
                )
            )
        if step % 50 == 49:  # an undo writes through Delta.revert
            delta = doc.apply(BrushDab([(150.0, 100.0)], 30.0, CAR, 26999))
            assert delta is not None
            delta.revert()
        labels, instances = pool.take()
        assert np.array_equal(labels, doc.labels) and np.array_equal(instances, doc.instances), step
        held.append((labels, instances))  # requests that live on (pending, running, awaiting a refresh)
        if len(held) > int(rng.integers(0, 4)):
            held.pop(int(rng.integers(0, len(held))))
    assert pool.buffers <= 5


def test_selection_box_is_tracked_through_strokes_and_undo(make_window, qtbot) -> None:
    window = make_window(FakeRenderer())
    state = window.state
    window.set_tool("brush")
    state.set_label(CAR)
    state.set_brush_size(10)
    drag(window, [(200.0, 30.0), (240.0, 40.0)])  # a new car, selected
    sel = state.selection
    assert sel is not None and sel >= 1000
    boxes = [state.selection_box]
    assert state.selection_box == window.document.instance_box(sel)
    window.act_mode.trigger()  # extend the selected object
    drag(window, [(240.0, 40.0), (290.0, 70.0)])
    assert state.selection == sel and state.selection_box == window.document.instance_box(sel)
    boxes.append(state.selection_box)
    state.set_label(SIDEWALK)
    drag(window, [(150.0, 140.0), (170.0, 150.0)])  # elsewhere: the selection is untouched
    assert not state.selection_touched and state.selection_box == boxes[-1]
    state.stack.undo()
    state.stack.undo()
    assert state.selection_box == boxes[0] == window.document.instance_box(sel)
    assert window.canvas._outline_box == boxes[0]
    state.stack.undo()  # the car is gone
    assert state.selection is None and state.selection_box is None


@pytest.mark.parametrize("incremental", [True, False])
def test_toggle_setting_defaults_on(tmp_path: Path, incremental: bool, qtbot) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    if not incremental:
        settings.setValue("render/incremental", False)
    window = MainWindow(settings, load_default=False, size=(64, 32))
    qtbot.addWidget(window)
    try:
        assert window.incremental_enabled is incremental
    finally:
        window.shutdown()


# ----- render size, progress, cache mode (issue 28) -----------------------------------------------
def test_half_render_size_shows_document_size_and_export_stays_full_size(
    make_window, qtbot, tmp_path
) -> None:
    from model.scene_io import read_png

    renderer = FakeRenderer()
    window = make_window(renderer)
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)
    results = results_of(window)
    window.render_controls.set_scale(2)
    qtbot.waitUntil(lambda: any(r.scale == 2 and r.area.whole for r in results), timeout=5000)
    doc = window.document
    full = renderer.render(doc.labels, doc.instances, {})
    shown = window.canvas.render_image()
    assert shown.shape == full.shape  # upscaled back to the document's size
    assert np.array_equal(shown[::2, ::2], renderer.render(doc.labels[::2, ::2], doc.instances[::2, ::2], {}))
    assert window.exact_version != doc.version  # a ½-size frame is not what an export writes
    out = tmp_path / "export.png"
    assert window.files.export_to(out)
    qtbot.waitUntil(out.exists, timeout=5000)
    assert np.array_equal(read_png(out)[..., :3], full)


def test_long_exact_frame_shows_progress_with_time_left_and_esc_cancels(make_window, qtbot) -> None:
    from model.render.loop import Progress

    window = make_window(FakeRenderer())
    controls = window.render_controls
    controls.show_progress(Progress(3, 0.05, 0.4))  # a short frame: no bar
    assert not controls.bar.isVisible()
    controls.show_progress(Progress(3, 0.25, 9.0))
    assert controls.bar.isVisible() and controls.bar.value() == 250 and "9.0 s left" in controls.bar.format()
    cancelled = []
    window.worker.cancel_exact = lambda: cancelled.append(True)
    controls.escape.activated.emit()
    assert cancelled and not controls.bar.isVisible()
    controls.show_progress(Progress(4, 0.5, 3.0))
    controls.show_progress(Progress(4, 1.0, 0.0, done=True))
    assert not controls.bar.isVisible()


def test_status_bar_says_which_mode_the_activation_cache_is_in(make_window) -> None:
    window = make_window(FakeRenderer())
    incremental = SimpleNamespace(cache_limit_bytes=1000, estimate_cache_bytes=lambda h, w: 1500)
    window.render_controls.set_incremental(incremental)
    assert window.render_controls.cache_label.text() == "cache float16: approximate updates"
    window.render_controls.set_scale(2)  # a quarter of the cache at ½ size
    window.render_controls.set_incremental(
        SimpleNamespace(cache_limit_bytes=1000, estimate_cache_bytes=lambda h, w: h * w // 100)
    )
    assert window.render_controls.cache_label.text() == "cache float32: exact updates"
    window.render_controls.set_incremental(None)
    assert window.render_controls.cache_label.text() == ""
