"""The GUI under stress: 500 rapid strokes while a renderer runs lose no stroke, undo and redo exactly,
and never hold the event loop for long.

Run with ``-s`` to see the event-loop timings this file measures.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QTransform
from support.gui import (
    BUILDING,
    CAR,
    ROAD,
    SIDEWALK,
    SKY,
    TRUCK,
    FakeRenderer,
    maps,
    mouse,
)

from editor.core.document import Document
from editor.core.edits import BrushDab
from editor.heap import settle_long_lived_objects
from model.labels import cityscapes
from model.scene_io import Scene

VEGETATION = 21


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


@pytest.mark.slow
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
