"""The Anomaly tool: draws anomaly masks into the anomaly layer (not the label map).

Three ways to draw, picked in the Anomalies panel: **brush** (a drag paints one mask: a new one, or
the mask the drag starts on; Shift+drag erases), **erase**, and **polygon** (click the corners;
double-click or Enter closes it, Esc cancels, Backspace drops a corner). Each drag or polygon is one
undo step on the editor's stack. Scattering masks on road and sidewalk is the panel's button.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPolygonF

from editor.core.edits import BrushDab, FillPolygon
from editor.state import EditorState
from editor.tools import Tool, _cosmetic, on_last_press

if TYPE_CHECKING:
    from editor.anomaly_controller import AnomalyController

MASK_COLOUR = QColor(255, 60, 200)  # the layer's outline and the tool's overlays


class DrawMode(Enum):
    BRUSH = "brush"
    ERASE = "erase"
    POLYGON = "polygon"


class AnomalyTool(Tool):
    name, label, shortcut = "anomaly", "Anomaly", "A"
    tip = (
        "Anomaly (A): draw anomaly masks (brush, erase or polygon; Shift+drag erases), "
        "scatter them on road and sidewalk, then Apply in the Anomalies panel."
    )

    def __init__(self, state: EditorState, controller: AnomalyController) -> None:
        super().__init__(state)
        self.controller = controller
        self.mode = DrawMode.BRUSH
        self.points: list[QPointF] = []  # polygon corners
        self._last_press: QPointF | None = None  # the last corner's press, in viewport pixels
        self._last: tuple[float, float] | None = None
        self._value = 0  # the id a drag writes (0 erases)

    @property
    def layer(self):  # noqa: ANN201 - editor.core.anomaly_layer.AnomalyLayer
        return self.controller.layer

    @property
    def radius(self) -> float:
        return self.state.brush_size / 2.0

    def set_mode(self, mode: DrawMode) -> None:
        self.cancel()
        self.mode = mode

    # ----- brush and erase ----------------------------------------------------------------------
    def press(self, pos: QPointF, event: QMouseEvent) -> None:
        if self.mode is DrawMode.POLYGON:
            self.points.append(QPointF(pos))
            self._last_press = QPointF(event.position())
            return
        x, y = math.floor(pos.x()), math.floor(pos.y())
        if not (0 <= x < self.layer.width and 0 <= y < self.layer.height):
            return
        erase = self.mode is DrawMode.ERASE or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if erase:
            self._value = 0
        else:
            under = self.layer.id_at(x, y)
            try:
                self._value = under or self.layer.new_id()
            except Exception as exc:  # noqa: BLE001 - the layer is full: say so, draw nothing
                self.controller.report(str(exc))
                return
        self.layer.begin_group("Erase anomaly mask" if erase else "Anomaly mask")
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
        self.controller.push(self.layer.end_group())

    def _dab(self, points: list[tuple[float, float]]) -> None:
        patch = BrushDab(points, self.radius, 0, 0).patch(self.layer)
        if patch is not None:
            self.layer.apply(patch.bbox, patch.mask, self._value, "Anomaly mask")

    # ----- polygon ------------------------------------------------------------------------------
    def double_click(self, pos: QPointF, event: QMouseEvent) -> None:
        if self.mode is not DrawMode.POLYGON:
            self.press(pos, event)  # a quick second dab (a second one on the same mask changes nothing)
            return
        if self.points and on_last_press(event, self._last_press):
            self.finish()
        else:
            self.press(pos, event)

    def finish(self) -> None:
        points = [(p.x(), p.y()) for p in self.points]
        if (
            len(points) >= 2
            and abs(points[-1][0] - points[-2][0]) < 1
            and abs(points[-1][1] - points[-2][1]) < 1
        ):
            points.pop()  # a second click on the last corner adds nothing
        self.points = []
        if len(points) < 3:
            return
        patch = FillPolygon(points, 0, 0).patch(self.layer)
        if patch is None:
            return
        try:
            value = self.layer.new_id()
        except Exception as exc:  # noqa: BLE001
            self.controller.report(str(exc))
            return
        self.controller.push(self.layer.apply(patch.bbox, patch.mask, value, "Anomaly polygon"))

    def key(self, event: QKeyEvent) -> bool:
        if self.mode is not DrawMode.POLYGON:
            if event.key() == Qt.Key.Key_Escape and self._last is not None:
                self.cancel()
                return True
            return False
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
        if self._last is not None:
            self.layer.cancel_group()
            self._last = None

    # ----- overlay ------------------------------------------------------------------------------
    def paint_overlay(self, painter: QPainter, canvas: object) -> None:
        hover = getattr(canvas, "hover", None)
        if self.mode is DrawMode.POLYGON:
            if not self.points:
                return
            pts = self.points + ([hover] if hover is not None else [])
            painter.setBrush(QColor(255, 60, 200, 50))
            painter.setPen(_cosmetic(MASK_COLOUR, 1.5, Qt.PenStyle.DashLine))
            painter.drawPolygon(QPolygonF(pts))
            return
        if hover is None:
            return
        r = max(self.radius, 0.5)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(_cosmetic(QColor(0, 0, 0, 200), 2.5))
        painter.drawEllipse(hover, r, r)
        style = Qt.PenStyle.DashLine if self.mode is DrawMode.ERASE else Qt.PenStyle.SolidLine
        painter.setPen(_cosmetic(MASK_COLOUR, 1.4, style))
        painter.drawEllipse(hover, r, r)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def overlay_rect(self, hover: QPointF | None) -> QRectF | None:
        if self.mode is DrawMode.POLYGON:
            if not self.points:
                return None
            pts = self.points + ([hover] if hover is not None else [])
            return QPolygonF(pts).boundingRect().adjusted(-4, -4, 4, 4)
        if hover is None:
            return None
        r = self.radius + 2
        return QRectF(hover.x() - r, hover.y() - r, 2 * r, 2 * r)
