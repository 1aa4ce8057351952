"""Reliability of the editor: no lost work on a killed save, one clear dialog for each bad input,
no crash or lost stroke under stress, and uncaught exceptions logged instead of killing the app.

Run with ``-s`` to see the dialog texts and the event-loop timings this file measures.
"""

from __future__ import annotations

import errno
import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QMouseEvent, QTransform
from PySide6.QtWidgets import QApplication, QMessageBox
from support import REPO_ROOT
from support.files import png_header_only
from support.gui import (
    BUILDING,
    CAR,
    ROAD,
    SIDEWALK,
    SKY,
    TRUCK,
    FakeRenderer,
    drag,
    maps,
    mouse,
    street_scene,
)

from editor.core.document import Document
from editor.core.edits import BrushDab
from editor.heap import settle_long_lived_objects
from editor.main_window import MainWindow
from model import atomic_files
from model.labels import Label, LabelSet, cityscapes
from model.scene_io import Scene, load_scene, open_scene, save_scene

ROOT = REPO_ROOT
VEGETATION = 21


@pytest.fixture
def dialogs(monkeypatch) -> list[str]:
    """Every warning / critical box the editor opens, as its text (none is shown)."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append(text))
    return shown


def paint_some(window: MainWindow, count: int = 3, label: int = SIDEWALK) -> None:
    window.set_tool("brush")
    window.state.set_label(label)
    window.state.set_brush_size(8)
    for i in range(count):
        drag(window, [(30.0 + 20 * i, 120.0), (50.0 + 20 * i, 130.0), (70.0 + 20 * i, 120.0)])


# ----- 1. saving: a killed save loses nothing ----------------------------------------------------
# (a real process killed with SIGKILL at every step of a save: tests/e2e/test_save_kill.py)
class Killed(BaseException):
    """Stands for SIGKILL at one step of a save: nothing after it runs (no except clause catches it)."""


def kill_gui_thread_save_at(step: int) -> dict[str, int]:
    """Raise Killed at the step-th write step the GUI thread makes (the autosave thread is left alone)."""
    calls = {"n": 0}
    main = threading.main_thread()

    def hook(_name: str, _path: Path) -> None:
        if threading.current_thread() is main:
            calls["n"] += 1
            if calls["n"] == step + 1:
                raise Killed

    atomic_files.step_hook = hook
    return calls


def test_editor_save_killed_at_each_step_opens_old_or_new_keeps_the_work(window_factory, tmp_path) -> None:
    window = window_factory()
    target = tmp_path / "street_labelIds.png"
    assert window.files.save_to(target)
    names = ["street_labelIds.png", "street_instanceIds.png", "street_styles.json"]
    old_scene = load_scene(target, cityscapes())
    old = {n: (tmp_path / n).read_bytes() for n in names}
    paint_some(window, 3, CAR)
    window.state.set_style(window.state.selection, 1)
    expected = window.state.document.to_scene()
    states = []
    completed = False
    try:
        for step in range(40):
            for n in names:
                (tmp_path / n).write_bytes(old[n])
            calls = kill_gui_thread_save_at(step)
            try:
                completed = window.files.save_to(target)
            except Killed:
                completed = False
            atomic_files.step_hook = None
            if completed:
                assert window.state.stack.isClean() and calls["n"] == step  # every step was tried
                break
            assert not window.state.stack.isClean()  # the save did not finish: the work is still unsaved
            copy = window.autosave.store.current()  # written before the save began: the whole new scene
            assert copy is not None
            restored = window.autosave.store.load(copy, cityscapes())
            assert np.array_equal(restored.labels, expected.labels)
            assert np.array_equal(restored.instances, expected.instances)
            assert restored.styles == expected.styles
            opened = open_scene(target, cityscapes())  # Open heals what the kill left: old or new, whole
            is_new = np.array_equal(opened.scene.labels, expected.labels)
            reference = expected if is_new else old_scene
            assert np.array_equal(opened.scene.labels, reference.labels)
            assert np.array_equal(opened.scene.instances, reference.instances)
            assert opened.scene.styles == reference.styles
            assert sorted(p.name for p in tmp_path.glob("street*")) == sorted(names)
            assert [p.name for p in tmp_path.glob(".*")] == []  # no temporary file or record left
            states.append((step, "new" if is_new else "old", opened.notice))
    finally:
        atomic_files.step_hook = None
    print(f"\nsave killed at each of {len(states)} steps; (step, Open found, notice): {states}")
    assert completed and {s[1] for s in states} == {"old", "new"}


def test_editor_open_completes_an_interrupted_save_and_says_so(window_factory, tmp_path, dialogs) -> None:
    old, new = street_scene(96, 48), street_scene(96, 48)
    new.labels[10:20, 10:40] = CAR
    new.instances[10:20, 10:40] = CAR * 1000 + 5
    target = tmp_path / "street_labelIds.png"
    save_scene(old, target)
    kill_after_first_rename = 12  # stage/staged ×3, synced, the record staged and committed, one rename
    kill_gui_thread_save_at(kill_after_first_rename)
    try:
        with pytest.raises(Killed):
            save_scene(new, target)
    finally:
        atomic_files.step_hook = None
    assert len(list(tmp_path.glob(".street_labelIds.png.p2p-*.commit"))) == 1  # a mixed pair plus a record
    window = window_factory()
    shown: list[str] = []
    window.files.status.connect(shown.append)
    assert window.files.open_path(target)
    assert dialogs == [] and shown == [
        "Opened street_labelIds.png (96×48); an interrupted save was completed"
    ]
    doc = window.state.document
    assert np.array_equal(doc.labels, new.labels) and np.array_equal(doc.instances, new.instances)
    assert [p.name for p in tmp_path.glob(".*")] == []


def test_start_tidies_the_recent_folders_of_own_temp_files_only(window_factory, settings, tmp_path) -> None:
    target = tmp_path / "street_labelIds.png"
    save_scene(street_scene(64, 32), target)
    settings.setValue("recent_files", [str(target)])
    own = tmp_path / ".street_labelIds.png.p2p-99999-abcd1234.tmp"  # a killed write's staged file
    foreign = [tmp_path / ".street_labelIds.png.tmp", tmp_path / ".hidden", tmp_path / "x.tmp"]
    for path in [own, *foreign]:
        path.write_bytes(b"half")
    window_factory()
    assert not own.exists() and all(path.exists() for path in foreign)


def test_export_is_atomic_and_a_failed_export_keeps_the_old_image(
    window_factory, qtbot, tmp_path, dialogs, monkeypatch
) -> None:
    window = window_factory(FakeRenderer())
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)
    out = tmp_path / "render.png"
    assert window.files.export_to(out)
    old = out.read_bytes()
    paint_some(window, 2)
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert not window.files.export_to(out)
    monkeypatch.undo()
    assert dialogs == [f"{out}: cannot write (No space left on device)"]
    assert out.read_bytes() == old and [p.name for p in tmp_path.glob(".*")] == []


# ----- 2. bad inputs: one clear dialog each --------------------------------------------------------
def _scene_files(folder: Path, labels: np.ndarray, instances: np.ndarray | None = None) -> Path:
    path = folder / "bad_labelIds.png"
    Image.fromarray(labels).save(path)
    if instances is not None:
        Image.fromarray(instances).save(folder / "bad_instanceIds.png")
    return path


def _good_labels() -> np.ndarray:
    return street_scene(64, 32).labels


def case_empty(folder: Path) -> Path:
    (folder / "empty_labelIds.png").write_bytes(b"")
    return folder / "empty_labelIds.png"


def case_garbage(folder: Path) -> Path:
    (folder / "garbage_labelIds.png").write_bytes(b"this is not an image at all")
    return folder / "garbage_labelIds.png"


def case_signature_only(folder: Path) -> Path:
    (folder / "sig_labelIds.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return folder / "sig_labelIds.png"


def case_truncated(folder: Path) -> Path:
    path = _scene_files(folder, np.random.default_rng(0).choice(np.array([7, 8, 11], np.uint8), (64, 64)))
    path.write_bytes(path.read_bytes()[:-300])
    return path


def case_one_pixel(folder: Path) -> Path:
    return _scene_files(folder, np.full((1, 1), 7, np.uint8))


def case_huge(folder: Path) -> Path:
    return png_header_only(folder / "huge_labelIds.png", 20000, 20000)


def case_instances_other_size(folder: Path) -> Path:
    return _scene_files(folder, _good_labels(), np.full((32, 65), 7, np.uint16))


def case_ids_outside_label_set(folder: Path) -> Path:
    labels = _good_labels()
    labels[3, 4] = 200
    return _scene_files(folder, labels)


def case_unknown_colour(folder: Path) -> Path:
    rgb = cityscapes().colorize(_good_labels()).copy()
    rgb[5, 6] = (1, 2, 3)
    path = folder / "colours.png"
    Image.fromarray(rgb).save(path)
    return path


def case_instance_class_disagrees(folder: Path) -> Path:
    scene = street_scene(64, 32)
    inst = scene.instances.astype(np.uint16)
    inst[20, 30] = TRUCK * 1000 + 1  # a truck id on a road pixel
    return _scene_files(folder, scene.labels, inst)


def case_missing(folder: Path) -> Path:
    return folder / "nowhere_labelIds.png"


def case_folder(folder: Path) -> Path:
    (folder / "dir_labelIds.png").mkdir()
    return folder / "dir_labelIds.png"


def case_bad_styles(folder: Path) -> Path:
    path = _scene_files(folder, _good_labels())
    (folder / "bad_styles.json").write_text('{"26000": "blue"')
    return path


BAD_FILES = {
    "empty PNG": (case_empty, "empty_labelIds.png: not a readable image"),
    "garbage bytes": (case_garbage, "garbage_labelIds.png: not a readable image"),
    "PNG signature only": (case_signature_only, "sig_labelIds.png: not a readable image"),
    "truncated PNG": (case_truncated, "bad_labelIds.png: not a readable image"),
    "1×1 image": (case_one_pixel, "bad_labelIds.png: image is 1×1; at least 2×2 is needed"),
    "20000×20000 image": (case_huge, "huge_labelIds.png: image is above the limit of 67108864 pixels"),
    "instance map of another size": (
        case_instances_other_size,
        "bad_instanceIds.png: instance map is 65×32 but the label map is 64×32",
    ),
    "label id outside the label set": (
        case_ids_outside_label_set,
        "bad_labelIds.png: label id(s) [200] are not classes of label set 'cityscapes'",
    ),
    "colour outside the label set": (
        case_unknown_colour,
        "colours.png: colour (1, 2, 3) at x=6, y=5 is not a class of label set",
    ),
    "instance class disagrees with label": (
        case_instance_class_disagrees,
        "bad_instanceIds.png: instance id 27001 at x=30, y=20 disagrees with label 7",
    ),
    "missing file": (case_missing, "nowhere_labelIds.png: file not found"),
    "a folder": (case_folder, "dir_labelIds.png: is a folder, not an image"),
    "corrupt styles JSON": (case_bad_styles, "bad_styles.json: cannot read styles file"),
}
SEEN: dict[str, str] = {}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_gives_one_line_naming_file_and_problem(window_factory, tmp_path, dialogs, case) -> None:
    build, expected = BAD_FILES[case]
    window = window_factory()
    paint_some(window, 1)
    before = maps(window)
    path = build(tmp_path)
    start = time.perf_counter()
    assert not window.files.open_path(path)
    seconds = time.perf_counter() - start
    assert len(dialogs) == 1, dialogs
    text = dialogs[0]
    SEEN[case] = text
    print(f"\n  {case}: {text!r} ({seconds * 1000:.0f} ms)")
    assert "\n" not in text and "Traceback" not in text
    assert expected in text
    assert seconds < 2.0  # refused, not frozen on (say) a 20000×20000 decode
    doc = window.state.document
    assert np.array_equal(doc.labels, before[0]) and np.array_equal(doc.instances, before[1])
    assert not window.state.stack.isClean()  # the unsaved edit is still there


def test_checkpoint_for_another_label_set_is_refused(window_factory, qtbot, tmp_path, dialogs) -> None:
    from model.checkpoint import make_random_checkpoint

    toy = LabelSet(
        "toy",
        8,
        (
            Label(0, "void", (0, 0, 0), False),
            Label(7, "road", (128, 64, 128), False),
            Label(3, "tree", (0, 200, 0), False),
            Label(5, "robot", (250, 0, 0), True),
        ),
    )
    folder = make_random_checkpoint(tmp_path / "toy_model", label_set=toy)
    window = window_factory()
    before = maps(window)
    window.load_model(folder)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=60000)
    print(f"\n  checkpoint for another label set: {dialogs[0]!r}")
    assert len(dialogs) == 1 and "\n" not in dialogs[0]
    assert "toy_model" in dialogs[0] and "this model's label set cannot render the open scene" in dialogs[0]
    assert "not classes of label set 'toy'" in dialogs[0]
    assert window.worker.renderer is None and window.state.label_set.name == "cityscapes"
    assert np.array_equal(window.state.document.labels, before[0])


def full_disk(_fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def read_only(*_args, **_kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.mark.parametrize("failure", ["full disk", "read-only folder", "missing folder"])
def test_failed_save_shows_one_line_keeps_files_and_work(
    window_factory, tmp_path, dialogs, monkeypatch, failure
) -> None:
    import tempfile

    window = window_factory()
    target = tmp_path / "s_labelIds.png"
    assert window.files.save_to(target)
    written = sorted(tmp_path.glob("s_*"))
    before = {p: p.read_bytes() for p in written}
    paint_some(window, 2)
    edited = maps(window)
    if failure == "full disk":
        monkeypatch.setattr(os, "fsync", full_disk)
        problem = "cannot write (No space left on device)"
    elif failure == "read-only folder":  # root ignores chmod, so the refusal is simulated
        monkeypatch.setattr(tempfile, "mkstemp", read_only)
        problem = "cannot write (Permission denied)"
    else:
        target = tmp_path / "gone" / "s_labelIds.png"
        problem = "cannot write (No such file or directory)"
    assert not window.files.save_to(target)
    monkeypatch.undo()
    print(f"\n  save, {failure}: {dialogs!r}")
    assert len(dialogs) == 1 and "\n" not in dialogs[0]
    assert dialogs[0].startswith(str(target.parent)) and problem in dialogs[0]
    assert {p: p.read_bytes() for p in written} == before  # nothing already written is damaged
    assert sorted(p.name for p in tmp_path.glob(".*")) == []  # and no temp files left behind
    assert not window.state.stack.isClean() and window.windowTitle().startswith("s •")
    assert maps(window)[0].tobytes() == edited[0].tobytes()  # the work is all still there


# ----- 3. the GUI under stress -------------------------------------------------------------------
class GapMonitor:
    """A 5 ms precise QTimer; the longest time between two of its ticks is the longest the event loop stalled.

    Each gap is kept twice: wall-clock time, and the CPU time the GUI thread itself spent in it (the
    part that is our own work, without the time other processes on a loaded machine took the core).
    """

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self.cpu_gaps: list[float] = []
        self._cpu = 0.0
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self.cpu_gaps.clear()
        self._cpu = time.thread_time()
        self.clock.start()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        cpu = time.thread_time()
        self.gaps.append(self.clock.nsecsElapsed() / 1e6)
        self.cpu_gaps.append((cpu - self._cpu) * 1000)
        self.clock.restart()
        self._cpu = cpu

    @property
    def max_ms(self) -> float:
        return max(self.gaps, default=0.0)

    @property
    def max_cpu_ms(self) -> float:
        return max(self.cpu_gaps, default=0.0)

    def percentile(self, q: float) -> float:
        gaps = sorted(self.gaps)
        return gaps[min(len(gaps) - 1, int(q * len(gaps)))] if gaps else 0.0


STRESS_SIZE = tuple(
    int(v) for v in os.environ.get("P2P_STRESS_SIZE", "1024x512").split("x")
)  # (width, height)
STRESS_STROKES = 500
STRESS_WARMUP = 5  # strokes before the gap monitor starts (first paint, first render, cv2 warm-up)


def stress_strokes(count: int, size: tuple[int, int]) -> list[tuple[int, float, list[tuple[float, float]]]]:
    """(label, brush radius, points) per stroke. Points are multiples of 1/4: exact at a zoom of 0.5."""
    rng = np.random.default_rng(7)
    labels = [SIDEWALK, BUILDING, SKY, CAR, ROAD, VEGETATION, TRUCK]
    width, height = size
    strokes = []
    for i in range(count):
        x, y = rng.uniform(8, width - 8), rng.uniform(8, height - 8)
        points = []
        for _ in range(int(rng.integers(3, 8))):
            points.append((round(x * 4) / 4, round(y * 4) / 4))
            x = float(np.clip(x + rng.uniform(-25, 25), 1, width - 2))
            y = float(np.clip(y + rng.uniform(-25, 25), 1, height - 2))
        strokes.append((labels[i % len(labels)], float(rng.integers(2, 12)), points))
    return strokes


def replay(initial: Scene, strokes, size) -> tuple[Document, int]:
    """The strokes on a fresh Qt-free Document, through its API only, as the brush tool does them."""
    doc = Document(initial.labels.copy(), initial.instances.copy(), cityscapes(), dict(initial.styles))
    steps = 0
    for label, radius, points in strokes:
        instance = doc.new_instance_id(label) if doc.is_thing(label) else label
        doc.begin_group("Brush")
        doc.apply(BrushDab([points[0]], radius, label, instance))
        for a, b in itertools.pairwise(points):
            doc.apply(BrushDab([a, b], radius, label, instance))
        steps += doc.end_group() is not None
    return doc, steps


def stress_renderer():
    """FakeRenderer (30 ms per render), or with P2P_STRESS_CHECKPOINT set, that checkpoint's model
    wrapped for incremental rendering, as the editor runs it."""
    checkpoint = os.environ.get("P2P_STRESS_CHECKPOINT")
    if not checkpoint:
        return FakeRenderer(delay=0.03)
    from editor.render_setup import wrap_incremental
    from model.render.full import Renderer

    return wrap_incremental(Renderer.from_checkpoint(Path(checkpoint)), STRESS_SIZE)[0]


def test_500_rapid_strokes_while_rendering(window_factory, qtbot) -> None:
    renderer = stress_renderer()  # FakeRenderer: 30 ms per render in the worker thread
    window = window_factory(renderer, size=STRESS_SIZE)
    settle_long_lived_objects()  # what the model loader does once a model is in (editor/heap.py)
    initial = window.state.document.to_scene()
    window.set_tool("brush")
    window.canvas.setTransform(QTransform.fromScale(0.5, 0.5))  # the whole scene in view, exactly
    window.canvas.centerOn(STRESS_SIZE[0] / 2, STRESS_SIZE[1] / 2)
    strokes = stress_strokes(STRESS_STROKES, STRESS_SIZE)
    for _, _, points in strokes:  # the view maps every point exactly, so the replay sees the same strokes
        for x, y in points:
            back = window.canvas.to_document(window.canvas.viewportTransform().map(QPointF(x, y)))
            assert (back.x(), back.y()) == (x, y)
    events = []
    for i, (label, radius, points) in enumerate(strokes):
        events.append(("start", i, label, radius))
        events.append(("press", *points[0]))
        events.extend(("move", *p) for p in points[1:])
        events.append(("release", *points[-1]))
    monitor = GapMonitor()
    state = {"next": 0, "done": False, "renders": 0}
    window.worker.rendered.connect(lambda _r: state.__setitem__("renders", state["renders"] + 1))
    press, move, release = QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease

    def step() -> None:  # one input event per event-loop turn, as a fast mouse delivers them
        if state["next"] >= len(events):
            state["done"] = True
            driver.stop()
            return
        event = events[state["next"]]
        state["next"] += 1
        if event[0] == "start":
            if event[1] == STRESS_WARMUP:
                monitor.start()
            window.state.set_label(event[2])
            window.state.set_brush_size(int(event[3] * 2))
            return
        kind = {"press": press, "move": move, "release": release}[event[0]]
        mouse(window, kind, event[1], event[2])

    driver = QTimer()
    driver.setInterval(0)
    driver.timeout.connect(step)
    start = time.perf_counter()
    driver.start()
    qtbot.waitUntil(lambda: state["done"], timeout=240000)
    stroke_seconds = time.perf_counter() - start
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=20000)
    monitor.stop()
    load = os.getloadavg()[0]
    print(
        f"\n{STRESS_STROKES} strokes ({len(events) - STRESS_STROKES} mouse events) on {STRESS_SIZE[0]}×"
        f"{STRESS_SIZE[1]} in {stroke_seconds:.1f} s with {state['renders']} results of "
        f"{type(renderer).__name__}; event-loop gap "
        f"after {STRESS_WARMUP} warm-up strokes: max {monitor.max_ms:.1f} ms, p99 {monitor.percentile(0.99):.1f} ms,"
        f" median {monitor.percentile(0.5):.1f} ms over {len(monitor.gaps)} ticks; most GUI-thread CPU time in one gap "
        f"{monitor.max_cpu_ms:.1f} ms; load average {load:.1f} on {os.cpu_count()} cores"
    )
    # renders really ran during the strokes (a real model at 2048×1024 on a CPU manages only a few)
    assert state["renders"] > (10 if isinstance(renderer, FakeRenderer) else 1)

    expected, steps = replay(initial, strokes, STRESS_SIZE)
    doc = window.state.document
    print(
        f"undo steps: {window.state.stack.count()} (replay: {steps}; the other strokes painted a label already there)"
    )
    assert window.state.stack.count() == steps and steps >= 0.9 * STRESS_STROKES  # no stroke lost
    assert np.array_equal(doc.labels, expected.labels) and np.array_equal(doc.instances, expected.instances)
    final = maps(window)
    while window.state.stack.canUndo():
        window.state.stack.undo()
    assert np.array_equal(doc.labels, initial.labels) and np.array_equal(doc.instances, initial.instances)
    assert doc.styles == initial.styles
    while window.state.stack.canRedo():
        window.state.stack.redo()
    assert np.array_equal(doc.labels, final[0]) and np.array_equal(doc.instances, final[1])
    assert monitor.max_cpu_ms <= 50.0  # our own work never holds the loop for more than 50 ms
    if load <= (os.cpu_count() or 1):  # on an oversubscribed machine other processes decide the worst gap
        assert monitor.max_ms <= 50.0
    elif monitor.max_ms > 50.0:
        print(f"note: max wall-clock gap {monitor.max_ms:.1f} ms > 50 ms with the machine oversubscribed")


# ----- 4. logging and uncaught exceptions ------------------------------------------------------------
def _read_log() -> str:
    import logging

    from model.app_logging import setup_logging

    path = setup_logging()
    assert path is not None
    for handler in logging.getLogger().handlers:
        if (
            getattr(handler, "_p2p_log_file", None) is not None
        ):  # the file (an earlier test's console may be closed)
            handler.flush()
    return path.read_text(encoding="utf-8")


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_is_logged_shown_and_survived(window_factory, qtbot, dialogs) -> None:
    from editor.error_hook import ErrorHook, message_box

    window = window_factory()
    from model.app_logging import setup_logging

    hook = ErrorHook(message_box(lambda: window), setup_logging()).install()
    try:

        def broken_slot() -> None:
            raise ZeroDivisionError("reliability-test slot failure")

        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: bool(dialogs), timeout=5000)
        brush = window.tools["brush"]
        original = brush.press
        brush.press = lambda pos, event: (_ for _ in ()).throw(RuntimeError("reliability-test press failure"))
        window.set_tool("brush")
        viewport = window.canvas.viewport()
        pos = window.canvas.viewportTransform().map(QPointF(40, 40))
        for _ in range(5):  # a burst of the same error, from the event loop: logged each time, one dialog
            for kind, buttons in (
                (QEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton),
                (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
            ):
                QApplication.postEvent(
                    viewport,
                    QMouseEvent(
                        kind,
                        pos,
                        viewport.mapToGlobal(pos),
                        Qt.MouseButton.LeftButton,
                        buttons,
                        Qt.KeyboardModifier.NoModifier,
                    ),
                )
        qtbot.waitUntil(lambda: hook.count == 6, timeout=5000)
        brush.press = original
    finally:
        hook.uninstall()
    print(f"\n  uncaught exceptions: {dialogs!r}")
    assert len(dialogs) == 2 and all("\n" not in d for d in dialogs)
    assert dialogs[0].startswith(
        "Unexpected error: ZeroDivisionError: reliability-test slot failure. "
        "The editor keeps running; details are in "
    )
    assert "RuntimeError: reliability-test press failure" in dialogs[1]
    assert hook.count == 6
    text = _read_log()
    assert "reliability-test slot failure" in text and "in broken_slot" in text and "Traceback" in text
    assert text.count("RuntimeError: reliability-test press failure") >= 5
    paint_some(window, 1)  # still running and editing
    assert window.state.stack.count() == 1 and window.isVisible()


@pytest.mark.qt_no_exception_capture
def test_exception_in_worker_threads_reaches_the_gui_as_one_line(window_factory, qtbot, dialogs) -> None:
    from PySide6.QtCore import QThread

    from editor.error_hook import ErrorHook, message_box
    from model.app_logging import setup_logging

    window = window_factory()
    hook = ErrorHook(message_box(lambda: window), setup_logging()).install()

    class Broken(QThread):
        def run(self) -> None:
            raise KeyError("reliability-test qthread failure")

    def python_thread() -> None:
        raise OSError("reliability-test python thread failure")

    try:
        worker = Broken()
        worker.start()
        worker.wait(5000)
        thread = threading.Thread(target=python_thread)
        thread.start()
        thread.join(5)
        qtbot.waitUntil(lambda: len(dialogs) == 2, timeout=5000)  # shown on the GUI thread, queued
    finally:
        hook.uninstall()
    print(f"\n  worker-thread exceptions: {dialogs!r}")
    assert any("KeyError: 'reliability-test qthread failure'" in d for d in dialogs)
    assert any("OSError: reliability-test python thread failure" in d for d in dialogs)
    assert threading.excepthook is not hook._thread_hook
    assert "reliability-test qthread failure" in _read_log()


def test_app_main_sets_up_logging_and_the_hook(qtbot, tmp_path, dialogs, monkeypatch) -> None:
    """app.main installs the hook for its event loop (and removes it after); the hook logs and shows one line.

    The exception is handed to the installed hook directly: raising inside app.main's own loop
    works (see the test above for a real slot) but leaves later event loops of the test process stuck.
    """
    import editor.app
    from editor import main_window

    created: list[MainWindow] = []

    class Recorded(MainWindow):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(
                QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                load_default=False,
                size=(64, 32),
            )
            self.files.confirm_discard = lambda: True
            created.append(self)

    monkeypatch.setattr(main_window, "MainWindow", Recorded)
    hooks = []

    def fail() -> None:
        hooks.append(sys.excepthook)
        try:
            raise ValueError("reliability-test failure inside app.main")
        except ValueError:
            sys.excepthook(*sys.exc_info())

    QTimer.singleShot(0, fail)  # both timers start before app.main's event loop
    QTimer.singleShot(0, QApplication.instance().quit)
    previous = sys.excepthook
    assert editor.app.main([]) == 0
    assert created and not created[0].worker.isRunning()
    assert type(hooks[0]).__name__ == "ErrorHook" and sys.excepthook is previous  # installed, then removed
    assert len(dialogs) == 1 and "ValueError: reliability-test failure inside app.main" in dialogs[0]
    assert "reliability-test failure inside app.main" in _read_log()
    created[0].close()


# ----- 5. a PySide6 reference-count bug that aborts Python 3.11 -----------------------------------
LEAKY_CALLS = textwrap.dedent("""
    import sys
    from PySide6.QtWidgets import QApplication, QLabel
    if sys.argv[1] == "guarded":
        from editor.pyside_guard import protect_singletons
        protect_singletons()
    app = QApplication([])
    label = QLabel()
    for _ in range(300_000):  # each void call may drop a reference to None
        label.setText("x")
    print("survived", flush=True)
""")


def test_many_qt_calls_do_not_abort_the_interpreter(tmp_path) -> None:
    """With the guard, 300 000 void Qt calls are fine; without it, a leaky PySide6 on 3.11 aborts."""
    from editor.pyside_guard import _leaks

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    guarded = subprocess.run(
        [sys.executable, "-c", LEAKY_CALLS, "guarded"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert guarded.returncode == 0 and "survived" in guarded.stdout, guarded.stderr[-1000:]
    leaky = sys.version_info < (3, 12) and any(_leaks().values())
    bare = subprocess.run(
        [sys.executable, "-c", LEAKY_CALLS, "bare"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(
        f"\n  PySide6 leaks None/True per call here: {leaky}; unguarded run exit status {bare.returncode}: "
        f"{bare.stderr.strip().splitlines()[0] if bare.stderr.strip() else 'ok'}"
    )
    if leaky:
        assert bare.returncode != 0 and "_dealloc" in bare.stderr
    else:
        assert bare.returncode == 0
