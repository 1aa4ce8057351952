"""Canvas tools: brush, flood fill, polygon, rectangle, eyedropper and select/move.

A tool turns mouse events (already in document coordinates) into edits through the EditorState,
and paints its own overlay (brush outline, polygon in progress, moved-object ghost).
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent, QMouseEvent, QPainter, QPen, QPolygonF

from editor.core.edits import BrushDab, FillPolygon, FloodFill, rectangle
from editor.state import EditorState

log = logging.getLogger(__name__)


def _pixel(pos: QPointF) -> tuple[int, int]:
    return math.floor(pos.x()), math.floor(pos.y())


def on_last_press(event: QMouseEvent, last_press: QPointF | None) -> bool:
    """Whether a double-click lands where the previous press did (within Qt's double-click distance,
    in viewport pixels).

    Qt delivers a quick second click as press, release, double-click, release: the double-click takes
    the second press's place wherever it lands. So a polygon closes only on a double-click on the
    corner just placed; a quick click anywhere else is the next corner.
    """
    if last_press is None:
        return False
    distance = QGuiApplication.styleHints().mouseDoubleClickDistance()
    return (event.position() - last_press).manhattanLength() <= distance


def _cosmetic(colour: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)
    return pen


class Tool:
    name = "tool"
    label = "Tool"
    shortcut = ""
    tip = ""
    cursor = Qt.CursorShape.CrossCursor
    repaint_on_drag = False

    def __init__(self, state: EditorState) -> None:
        self.state = state
        # the last press's pixel and the (label, instance) it painted with: see target_at
        self._pressed: tuple[tuple[int, int], tuple[int, int]] | None = None

    def press(self, pos: QPointF, event: QMouseEvent) -> None: ...

    def drag(self, pos: QPointF, event: QMouseEvent) -> None: ...

    def release(self, pos: QPointF, event: QMouseEvent) -> None: ...

    def double_click(self, pos: QPointF, event: QMouseEvent) -> None:
        """Qt delivers a quick second click as press, release, double-click, release: the double-click
        stands in for the second press. A tool with no double-click action of its own takes it as a
        press, so a quick second dab, fill or pick is not lost."""
        self.press(pos, event)

    def target_at(self, x: int, y: int, event: QMouseEvent) -> tuple[int, int]:
        """(label, instance id) a press at pixel (x, y) paints with: the state's stroke_target, except
        that a double-click on the pixel just pressed keeps that press's target. It is the same click
        again: in "new object" mode it would otherwise replace the object just made by another, one
        more undo step for nothing; with the same target it changes nothing and adds no step."""
        if (
            event.type() == QEvent.Type.MouseButtonDblClick
            and self._pressed is not None
            and self._pressed[0] == (x, y)
            and self._pressed[1][0] == self.state.current_label
        ):
            return self._pressed[1]
        target = self.state.stroke_target(x, y)
        self._pressed = ((x, y), target)
        return target

    def key(self, event: QKeyEvent) -> bool:
        return False

    def cancel(self) -> None: ...

    def paint_overlay(self, painter: QPainter, canvas: object) -> None: ...

    def overlay_rect(self, hover: QPointF | None) -> QRectF | None:
        return None


class BrushTool(Tool):
    name, label, shortcut = "brush", "Brush", "B"
    tip = "Brush (B): paint the current label. [ and ] change the size; Alt+click picks a label."

    def __init__(self, state: EditorState) -> None:
        super().__init__(state)
        self._last: tuple[float, float] | None = None
        self._target: tuple[int, int] = (0, 0)
        self._fresh = False

    @property
    def radius(self) -> float:
        return self.state.brush_size / 2.0

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.AltModifier:
            EyedropperTool(self.state).press(pos, event)
            return
        doc = self.state.document
        x, y = _pixel(pos)
        if not doc.contains(x, y):
            return
        self._target = self.target_at(x, y, event)
        # a fresh object id: all its pixels will lie inside this stroke's box (select scans only that)
        self._fresh = self._target[1] not in (doc.instance_at(x, y), self.state.selection)
        self.state.begin_stroke("Brush")
        self._last = (pos.x(), pos.y())
        self._dab([self._last])

    def drag(self, pos: QPointF, event: QMouseEvent) -> None:
        if self._last is None:
            return
        point = (pos.x(), pos.y())
        self._dab([self._last, point])
        self._last = point

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        if self._last is None:
            return
        point = (pos.x(), pos.y())
        if point != self._last:
            self._dab([self._last, point])
        self._last = None
        delta = self.state.end_stroke()
        label, instance = self._target
        if self.state.document.is_thing(label):
            if self._fresh:
                self.state.select(instance, delta.bbox if delta is not None and delta.bbox else (0, 0, 0, 0))
            elif instance != self.state.selection:
                self.state.select(instance)

    def _dab(self, points: list[tuple[float, float]]) -> None:
        label, instance = self._target
        self.state.paint(BrushDab(points, self.radius, label, instance, "Brush"))

    def cancel(self) -> None:
        if self._last is not None:
            self.state.cancel_stroke()
            self._last = None

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self._last is not None:
            self.cancel()
            return True
        return False

    def paint_overlay(self, painter: QPainter, canvas: object) -> None:
        hover = getattr(canvas, "hover", None)
        if hover is None:
            return
        r = max(self.radius, 0.5)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(_cosmetic(QColor(0, 0, 0, 200), 2.5))
        painter.drawEllipse(hover, r, r)
        painter.setPen(_cosmetic(QColor(255, 255, 255), 1.2))
        painter.drawEllipse(hover, r, r)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def overlay_rect(self, hover: QPointF | None) -> QRectF | None:
        if hover is None:
            return None
        r = self.radius + 2
        return QRectF(hover.x() - r, hover.y() - r, 2 * r, 2 * r)


class FillTool(Tool):
    name, label, shortcut = "fill", "Fill", "G"
    tip = "Flood fill (G): fill the connected region under the cursor with the current label."

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        x, y = _pixel(pos)
        if not self.state.document.contains(x, y):
            return
        label, instance = self.target_at(x, y, event)
        self.state.apply(FloodFill(x, y, label, instance, "Fill"))
        if self.state.document.is_thing(label):
            self.state.select(instance)


class EyedropperTool(Tool):
    name, label, shortcut = "eyedropper", "Pick", "I"
    tip = "Eyedropper (I): pick the label under the cursor."

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        x, y = _pixel(pos)
        if self.state.document.contains(x, y):
            self.state.set_label(self.state.document.label_at(x, y))


class PolygonTool(Tool):
    name, label, shortcut = "polygon", "Polygon", "P"
    tip = "Polygon fill (P): click the corners, double-click or Enter to fill, Esc to cancel, Backspace to undo a corner."

    def __init__(self, state: EditorState) -> None:
        super().__init__(state)
        self.points: list[QPointF] = []
        self._canvas: object | None = None
        self._last_press: QPointF | None = None  # in viewport pixels

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        self.points.append(QPointF(pos))
        self._last_press = QPointF(event.position())

    def double_click(self, pos: QPointF, event: QMouseEvent) -> None:
        if self.points and on_last_press(event, self._last_press):
            self.finish()
        else:
            self.press(pos, event)

    def finish(self) -> None:
        points = [(p.x(), p.y()) for p in self.points]
        # a second click on the last corner adds nothing: drop a repeated final corner
        if (
            len(points) >= 2
            and abs(points[-1][0] - points[-2][0]) < 1
            and abs(points[-1][1] - points[-2][1]) < 1
        ):
            points.pop()
        self.points = []
        if len(points) < 3:
            return
        x, y = _pixel(QPointF(*points[0]))
        label, instance = self.state.stroke_target(x, y)
        self.state.apply(FillPolygon(points, label, instance, "Polygon fill"))
        if self.state.document.is_thing(label):
            self.state.select(instance)

    def key(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()
            return True
        if event.key() == Qt.Key.Key_Escape and self.points:
            self.points = []
            return True
        if event.key() == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            return True
        return False

    def cancel(self) -> None:
        self.points = []

    def paint_overlay(self, painter: QPainter, canvas: object) -> None:
        if not self.points:
            return
        hover = getattr(canvas, "hover", None)
        pts = self.points + ([hover] if hover is not None else [])
        painter.setBrush(QColor(255, 255, 255, 40))
        painter.setPen(_cosmetic(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine))
        painter.drawPolygon(QPolygonF(pts))
        painter.setBrush(QColor(255, 255, 255))
        for p in self.points:
            painter.drawEllipse(
                p,
                1.5 / max(getattr(canvas, "zoom", 1.0), 1e-3),
                1.5 / max(getattr(canvas, "zoom", 1.0), 1e-3),
            )

    def overlay_rect(self, hover: QPointF | None) -> QRectF | None:
        if not self.points:
            return None
        pts = self.points + ([hover] if hover is not None else [])
        return QPolygonF(pts).boundingRect().adjusted(-4, -4, 4, 4)


class RectangleTool(Tool):
    name, label, shortcut = "rectangle", "Rectangle", "R"
    tip = "Rectangle fill (R): drag a rectangle to fill it with the current label."

    def __init__(self, state: EditorState) -> None:
        super().__init__(state)
        self.start: QPointF | None = None
        self.end: QPointF | None = None

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        self.start = self.end = QPointF(pos)

    def drag(self, pos: QPointF, event: QMouseEvent) -> None:
        if self.start is not None:
            self.end = QPointF(pos)

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        if self.start is None:
            return
        a, b = (self.start.x(), self.start.y()), (pos.x(), pos.y())
        self.start = self.end = None
        x, y = _pixel(QPointF(*a))
        label, instance = self.state.stroke_target(x, y)
        self.state.apply(FillPolygon(rectangle(a, b), label, instance, "Rectangle fill"))
        if self.state.document.is_thing(label):
            self.state.select(instance)

    def cancel(self) -> None:
        self.start = self.end = None

    def paint_overlay(self, painter: QPainter, canvas: object) -> None:
        if self.start is None or self.end is None:
            return
        painter.setBrush(QColor(255, 255, 255, 40))
        painter.setPen(_cosmetic(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine))
        painter.drawRect(QRectF(self.start, self.end).normalized())

    def overlay_rect(self, hover: QPointF | None) -> QRectF | None:
        if self.start is None or self.end is None:
            return None
        rect = QRectF(self.start, self.end).normalized()
        if hover is not None:
            rect = rect.united(QRectF(self.start, hover).normalized())
        return rect.adjusted(-4, -4, 4, 4)


class SelectTool(Tool):
    name, label, shortcut = "select", "Select", "V"
    tip = "Select (V): click an object or region; drag a selected object to move it, Ctrl+drag to copy it."
    cursor = Qt.CursorShape.ArrowCursor

    def __init__(self, state: EditorState) -> None:
        super().__init__(state)
        self.start: QPointF | None = None
        self.offset = QPointF(0, 0)
        self._dragging = False
        self._copy = False

    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        doc = self.state.document
        x, y = _pixel(pos)
        if not doc.contains(x, y):
            self.state.select(None)
            return
        under = doc.instance_at(x, y)
        self.state.select(under, anchor=(x, y))
        self.start = QPointF(pos)
        self.offset = QPointF(0, 0)
        self._dragging = self.state.is_object(under)
        self._copy = bool(
            event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        )

    def drag(self, pos: QPointF, event: QMouseEvent) -> None:
        if self.start is None or not self._dragging:
            return
        self.offset = pos - self.start

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        if self.start is None:
            return
        offset = pos - self.start
        self.start = None
        dx, dy = round(offset.x()), round(offset.y())
        if self._dragging and (dx or dy):
            self.state.move_selected(dx, dy, copy=self._copy)
        self.offset = QPointF(0, 0)
        self._dragging = False

    def cancel(self) -> None:
        self.start = None
        self._dragging = False
        self.offset = QPointF(0, 0)

    def paint_overlay(self, painter: QPainter, canvas: object) -> None:
        if not self._dragging or self.start is None or (self.offset.x() == 0 and self.offset.y() == 0):
            return
        outline = getattr(canvas, "_outline", [])
        painter.setPen(_cosmetic(QColor(255, 220, 0), 1.5, Qt.PenStyle.DashLine))
        painter.setBrush(QColor(255, 220, 0, 50))
        for polygon in outline:
            painter.drawPolygon(polygon.translated(self.offset))

    repaint_on_drag = True  # the canvas repaints the viewport while the ghost follows the cursor


TOOL_CLASSES: tuple[type[Tool], ...] = (
    BrushTool,
    FillTool,
    PolygonTool,
    RectangleTool,
    EyedropperTool,
    SelectTool,
)
