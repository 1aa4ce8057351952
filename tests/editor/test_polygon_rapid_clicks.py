"""Quick clicks with the polygon tools (pytest-qt, offscreen; events go to canvas.viewport()).

Qt turns the second press of any quick pair (under the double-click interval, ~400 ms) into a
double-click: press, release, double-click, release. Only a double-click on the corner just placed
closes the polygon; one anywhere else is the next corner, added exactly once. Enter fills the
polygon; Esc drops it (before the window's Esc shortcut, which cancels an exact render).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from support.gui import (
    ROAD,
    SKY,
    click,
    double_click_through_qt,
    open_anomaly_tool,
    quick_click,
    view_point,
)

from editor.anomaly_tool import DrawMode

A, B, C = (40.0, 140.0), (120.0, 140.0), (80.0, 100.0)  # a triangle on the road
INSIDE = (80, 130)  # (x, y) well inside it


def corners(tool) -> list[tuple[float, float]]:
    return [(round(p.x()), round(p.y())) for p in tool.points]


def polygon_window(make_window):
    """A window with the polygon tool painting sky."""
    window = make_window()
    window.set_tool("polygon")
    window.state.set_label(SKY)
    return window, window.state, window.canvas.tool


def test_quick_clicks_elsewhere_are_corners_and_a_double_click_fills(make_window) -> None:
    window, state, tool = polygon_window(make_window)
    click(window, *A)
    quick_click(window, *B)
    assert corners(tool) == [A, B]  # the quick second click is a corner, once
    assert state.stack.count() == 0
    double_click_through_qt(window, *C)  # its press places C, its double-click closes the polygon
    assert tool.points == []
    assert state.stack.count() == 1
    assert state.document.labels[INSIDE[1], INSIDE[0]] == SKY
    assert state.document.labels[150, 20] == ROAD  # outside the triangle


def test_double_click_a_few_pixels_off_the_last_corner_still_closes(make_window) -> None:
    window, state, tool = polygon_window(make_window)
    for p in (A, B, C):
        click(window, *p)
    near = window.canvas.to_document(view_point(window, *C) + QPointF(2, 1))  # 3 px in the viewport
    quick_click(window, near.x(), near.y())
    assert tool.points == []
    assert state.document.labels[INSIDE[1], INSIDE[0]] == SKY
    assert state.stack.count() == 1


def test_enter_fills_and_escape_cancels_after_quick_clicks(make_window, qtbot) -> None:
    window, state, tool = polygon_window(make_window)
    click(window, *A)
    quick_click(window, *B)
    quick_click(window, *C)
    assert corners(tool) == [A, B, C]
    cancelled: list[bool] = []
    window.render_controls.escape.activated.connect(lambda: cancelled.append(True))
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)  # the tool's, not the window's Esc shortcut
    assert tool.points == [] and state.stack.count() == 0 and not cancelled
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)  # nothing to cancel: the shortcut's again
    assert cancelled == [True]
    click(window, *A)
    quick_click(window, *B)
    quick_click(window, *C)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert tool.points == [] and state.stack.count() == 1
    assert state.document.labels[INSIDE[1], INSIDE[0]] == SKY


def test_anomaly_polygon_takes_quick_clicks_as_corners(make_window, qtbot) -> None:
    window = make_window()
    open_anomaly_tool(window, qtbot)
    anomaly = window.anomaly
    anomaly.set_mode(DrawMode.POLYGON)
    click(window, *A)
    quick_click(window, *B)
    assert corners(anomaly.tool) == [A, B]
    double_click_through_qt(window, *C)
    assert anomaly.tool.points == []
    assert anomaly.layer.mask_ids() == [1] and anomaly.layer.ids[INSIDE[1], INSIDE[0]] == 1
    assert labels_untouched(window)


def labels_untouched(window) -> bool:
    return window.state.stack.count() == 1 and window.state.document.labels[INSIDE[1], INSIDE[0]] == ROAD
