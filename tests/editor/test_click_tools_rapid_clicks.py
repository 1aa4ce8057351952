"""Quick clicks with the click tools: brush, fill, select, rectangle, anomaly brush (pytest-qt, offscreen).

Qt turns the second press of a quick pair into a double-click: press, release, double-click, release.
Tools with no double-click action take it as a press, so a quick second dab or fill lands. A second
click on the very pixel just pressed repeats that press's target (no new object, no second undo step).
A quick second press with the pan button still pans. Polygon double-clicks: test_polygon_rapid_clicks.py.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from support.gui import (
    BUILDING,
    CAR,
    ROAD,
    SIDEWALK,
    SKY,
    click,
    double_click_through_qt,
    mouse,
    open_anomaly_tool,
    quick_click,
    view_point,
)

from editor.anomaly_tool import DrawMode

P, Q = (40.0, 20.0), (200.0, 20.0)  # two spots in the sky, far apart


def label_at(window, x: float, y: float) -> int:
    return int(window.state.document.labels[int(y), int(x)])


def new_cars(window) -> set[int]:
    """Car ids other than the scene's own car."""
    doc = window.state.document
    return set(np.unique(doc.instances[doc.labels == CAR]).tolist()) - {CAR * 1000}


def test_brush_paints_a_quick_second_dab_elsewhere(make_window) -> None:
    window = make_window()
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    window.state.set_brush_size(8)
    click(window, *P)
    quick_click(window, *Q)
    assert label_at(window, *P) == SIDEWALK
    assert label_at(window, *Q) == SIDEWALK
    assert label_at(window, 120, 20) == SKY  # two dabs, not a line between them
    assert window.state.stack.count() == 2


def test_brush_double_click_on_one_spot_is_one_dab_and_one_step(make_window) -> None:
    window = make_window()
    window.set_tool("brush")
    window.state.set_label(CAR)  # a thing: each fresh press would start a new car
    window.state.set_brush_size(8)
    double_click_through_qt(window, *P)
    assert label_at(window, *P) == CAR
    assert len(new_cars(window)) == 1
    assert window.state.stack.count() == 1
    quick_click(window, *Q)  # a third quick click elsewhere is a new car again
    assert label_at(window, *Q) == CAR
    assert len(new_cars(window)) == 2
    assert window.state.stack.count() == 2


def test_fill_acts_on_a_quick_second_click_elsewhere_and_once_on_the_same_spot(make_window) -> None:
    window = make_window()
    window.set_tool("fill")
    window.state.set_label(SIDEWALK)
    click(window, *P)  # the sky
    quick_click(window, 40, 65)  # the building band
    assert label_at(window, *Q) == SIDEWALK and label_at(window, 200, 65) == SIDEWALK
    assert window.state.stack.count() == 2
    assert label_at(window, 200, 150) == ROAD
    window.state.set_label(CAR)
    double_click_through_qt(window, 200, 150)  # the road becomes one car, in one step
    assert label_at(window, 20, 150) == CAR
    assert len(new_cars(window)) == 1
    assert window.state.stack.count() == 3


def test_select_takes_a_quick_second_click_elsewhere(make_window) -> None:
    window = make_window()
    window.set_tool("select")
    click(window, *P)
    quick_click(window, 90, 110)  # the car
    assert window.state.selection == CAR * 1000


def test_rectangle_drag_right_after_a_click_fills(make_window) -> None:
    window = make_window()
    window.set_tool("rectangle")
    window.state.set_label(BUILDING)
    click(window, *P)
    steps = window.state.stack.count()
    mouse(window, QEvent.Type.MouseButtonDblClick, 20, 130)  # a quick press, then a drag
    mouse(window, QEvent.Type.MouseMove, 50, 150, buttons=Qt.MouseButton.LeftButton)
    mouse(window, QEvent.Type.MouseButtonRelease, 50, 150)
    assert label_at(window, 35, 140) == BUILDING
    assert window.state.stack.count() == steps + 1


def test_anomaly_brush_paints_a_quick_second_mask(make_window, qtbot) -> None:
    window = make_window()
    open_anomaly_tool(window, qtbot)
    anomaly = window.anomaly
    anomaly.set_mode(DrawMode.BRUSH)
    window.state.set_brush_size(8)
    click(window, 40, 140)
    quick_click(window, 250, 140)
    assert anomaly.layer.mask_ids() == [1, 2]
    double_click_through_qt(window, 150, 150)  # one spot: one mask, one step
    assert anomaly.layer.mask_ids() == [1, 2, 3]
    assert window.state.stack.count() == 3


def test_a_quick_second_press_with_the_pan_button_pans_and_paints_nothing(make_window, qtbot) -> None:
    window = make_window()
    window.set_tool("brush")
    window.state.set_label(SIDEWALK)
    window.canvas.set_zoom(8.0)
    bar = window.canvas.horizontalScrollBar()
    before = bar.value()
    click_middle = Qt.MouseButton.MiddleButton
    mouse(window, QEvent.Type.MouseButtonPress, *P, click_middle)
    mouse(window, QEvent.Type.MouseButtonRelease, *P, click_middle)
    mouse(window, QEvent.Type.MouseButtonDblClick, *P, click_middle)
    start = view_point(window, *P)
    moved = window.canvas.to_document(start - QPointF(40, 0))
    mouse(window, QEvent.Type.MouseMove, moved.x(), moved.y(), buttons=click_middle)
    mouse(window, QEvent.Type.MouseButtonRelease, moved.x(), moved.y(), click_middle)
    assert bar.value() != before
    window.canvas.setFocus()
    qtbot.keyPress(window.canvas, Qt.Key.Key_Space)
    click(window, *P)
    quick_click(window, *P)
    qtbot.keyRelease(window.canvas, Qt.Key.Key_Space)
    assert window.state.stack.count() == 0
