"""Shared GUI test helpers: a fake renderer, a street scene, and mouse events sent to canvas.viewport()."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from editor.main_window import MainWindow
from model.labels import cityscapes
from model.scene_io import Scene

ROAD, SIDEWALK, BUILDING, SKY, CAR, TRUCK = 7, 8, 11, 23, 26, 27


class FakeRenderer:
    """Stands in for model.render.full.Renderer: colours + a style tint, optionally slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.label_set = cityscapes()
        self.delay = delay
        self.calls = 0
        self.crop_calls = 0

    def num_styles(self, class_id: int) -> int:
        return 4 if class_id in (ROAD, CAR, TRUCK, SKY) else 0

    def style_shares(self, class_id: int) -> None:
        return None

    def render(self, labels, instances, styles, seed=0):
        self.calls += 1
        end = time.perf_counter() + self.delay
        while time.perf_counter() < end:  # busy, like inference (sleep would hide a GIL hog)
            time.sleep(0.005)
        image = self.label_set.colorize(labels).copy()
        for inst, style in styles.items():
            if isinstance(style, int):
                image[instances == inst] //= style + 1
        return image

    def render_crop(self, labels, instances, styles, box, seed=0):
        self.crop_calls += 1
        x0, y0, x1, y1 = box
        return self.render(labels[y0:y1, x0:x1], instances[y0:y1, x0:x1], styles, seed)


def street_scene(width: int, height: int) -> Scene:
    labels = np.full((height, width), ROAD, np.uint8)
    labels[: height // 3] = SKY
    labels[height // 3 : height // 2] = BUILDING
    instances = labels.astype(np.int32)
    car = (slice(int(height * 0.62), int(height * 0.8)), slice(int(width * 0.2), int(width * 0.4)))
    labels[car] = CAR
    instances[car] = CAR * 1000
    return Scene(labels, instances, {})


def view_point(window: MainWindow, x: float, y: float) -> QPointF:
    return QPointF(window.canvas.viewportTransform().map(QPointF(x, y)))


def mouse(
    window: MainWindow,
    kind: QEvent.Type,
    x: float,
    y: float,
    button: Qt.MouseButton = Qt.MouseButton.LeftButton,
    buttons: Qt.MouseButton | None = None,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    viewport = window.canvas.viewport()
    pos = view_point(window, x, y)
    if buttons is None:
        buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    if kind == QEvent.Type.MouseMove:
        button = Qt.MouseButton.NoButton
    event = QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, buttons, modifiers)
    QApplication.sendEvent(viewport, event)


def drag(
    window: MainWindow,
    points: list[tuple[float, float]],
    button=Qt.MouseButton.LeftButton,
    modifiers=Qt.KeyboardModifier.NoModifier,
) -> None:
    mouse(window, QEvent.Type.MouseButtonPress, *points[0], button, modifiers=modifiers)
    for p in points[1:]:
        mouse(window, QEvent.Type.MouseMove, *p, button, buttons=button, modifiers=modifiers)
    mouse(window, QEvent.Type.MouseButtonRelease, *points[-1], button, modifiers=modifiers)


def click(window: MainWindow, x: float, y: float, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    drag(window, [(x, y)], modifiers=modifiers)


def paint_some(window: MainWindow, count: int = 3, label: int = SIDEWALK) -> None:
    """``count`` short brush strokes of ``label`` side by side near the top left: one undo step each."""
    window.set_tool("brush")
    window.state.set_label(label)
    window.state.set_brush_size(8)
    for i in range(count):
        drag(window, [(30.0 + 20 * i, 120.0), (50.0 + 20 * i, 130.0), (70.0 + 20 * i, 120.0)])


def maps(window: MainWindow) -> tuple[np.ndarray, np.ndarray, dict]:
    doc = window.state.document
    return doc.labels.copy(), doc.instances.copy(), dict(doc.styles)


def same(window: MainWindow, snap: tuple[np.ndarray, np.ndarray, dict]) -> bool:
    doc = window.state.document
    return bool(
        np.array_equal(doc.labels, snap[0])
        and np.array_equal(doc.instances, snap[1])
        and doc.styles == snap[2]
    )


def quick_click(
    window: MainWindow, x: float, y: float, button: Qt.MouseButton = Qt.MouseButton.LeftButton
) -> None:
    """A click that follows the previous one within the double-click interval, as Qt delivers it:
    a double-click in place of its press, then the release."""
    mouse(window, QEvent.Type.MouseButtonDblClick, x, y, button)
    mouse(window, QEvent.Type.MouseButtonRelease, x, y, button)


def double_click_through_qt(window: MainWindow, x: float, y: float) -> None:
    """A real double-click: QTest sends it to the window and Qt's own detection makes the event."""
    at = window.canvas.viewport().mapTo(window, view_point(window, x, y).toPoint())
    QTest.mouseDClick(window.windowHandle(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)


def open_anomaly_tool(window: MainWindow, qtbot) -> None:
    """Switch the canvas to the Anomaly tool with its shortcut, A."""
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)
