"""The render half of the side-by-side view: the canvas's render, at the canvas's zoom and pan.

You paint on the labels (the canvas, left); this view (right) shows the render of the same part of
the scene, follows every zoom and pan of the canvas, mirrors its cursor as a crosshair with the
brush outline, and outlines the selection. It draws straight from the canvas's render buffer, so a
pasted tile costs no copy here. A wheel over it zooms the canvas around the same point.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QTransform, QWheelEvent
from PySide6.QtWidgets import QWidget

from editor.canvas import STALE_OPACITY, Canvas, draw_stale_note

CROSS = 9  # half-length of the mirrored cursor's crosshair, in screen pixels


def cosmetic(colour: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)
    return pen


class RenderMirror(QWidget):
    """Paints with the canvas viewport's own transform: a document point lies under the same pixel
    here as under the canvas's viewport, whatever the zoom and pan."""

    def __init__(self, canvas: Canvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMinimumWidth(120)
        self.setToolTip("The render, at the same zoom and pan as the labels on the left")
        self.cursor: QPointF | None = None  # the canvas's cursor, in document pixels
        self.model_loading = False
        canvas.view_changed.connect(self.update)
        canvas.area_updated.connect(self._on_area)
        canvas.cursor_moved.connect(self._on_cursor)

    # ----- following the canvas -----------------------------------------------------------------
    def transform(self) -> QTransform:
        return self.canvas.viewportTransform()

    def to_view(self, doc: QPointF) -> QPointF:
        return QPointF(self.transform().map(doc))

    def _on_area(self, rect: QRectF | None) -> None:
        if rect is None:
            self.update()
        else:
            self.update(self.transform().mapRect(rect).toAlignedRect().adjusted(-2, -2, 2, 2))

    def _on_cursor(self, _pos: object) -> None:
        old, self.cursor = self.cursor, self.canvas.hover
        for point in (old, self.cursor):
            if point is not None:
                r = max(CROSS, self.canvas.state.brush_size / 2 * self.canvas.zoom) + 4
                centre = self.to_view(point)
                self.update(int(centre.x() - r), int(centre.y() - r), int(2 * r) + 2, int(2 * r) + 2)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.canvas.zoom_at(1.25**steps, event.position())  # the same point in both views
        event.accept()

    # ----- painting -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor(38, 40, 44))
        doc = self.canvas.state.document
        transform = self.transform()
        inverse, _ok = transform.inverted()
        image = self.canvas.render_qimage
        area = inverse.mapRect(QRectF(event.rect())).intersected(QRectF(0, 0, doc.width, doc.height))
        painter.setTransform(transform)
        if not area.isEmpty():
            area = QRectF(area.toAlignedRect()).intersected(QRectF(0, 0, doc.width, doc.height))
            if image is None:
                painter.fillRect(area, QColor(52, 54, 60))
            else:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.canvas.zoom < 1.0)
                painter.setOpacity(STALE_OPACITY if self.canvas.stale_render else 1.0)
                painter.drawImage(area, image, area)
                painter.setOpacity(1.0)
        painter.setPen(cosmetic(QColor(90, 94, 102), 1))
        painter.drawRect(QRectF(0, 0, doc.width, doc.height))
        if self.canvas.outline:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(cosmetic(QColor(255, 255, 255), 1.2, Qt.PenStyle.DashLine))
            for polygon in self.canvas.outline:
                painter.drawPolygon(polygon)
        painter.resetTransform()
        if image is None:
            painter.setPen(QColor(200, 202, 208))
            text = "loading model…" if self.model_loading else "No render yet (Model ▸ Open model…)"
            painter.drawText(QRectF(self.rect()), int(Qt.AlignmentFlag.AlignCenter), text)
        elif self.canvas.stale_render:
            draw_stale_note(painter, self)
        if self.cursor is not None:
            self._draw_cursor(painter)
        painter.end()

    def _draw_cursor(self, painter: QPainter) -> None:
        assert self.cursor is not None
        centre = self.to_view(self.cursor)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = self.canvas.state.brush_size / 2 * self.canvas.zoom
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for colour, width in ((QColor(0, 0, 0, 200), 3.0), (QColor(255, 255, 255), 1.2)):
            painter.setPen(QPen(colour, width))
            painter.drawLine(QPointF(centre.x() - CROSS, centre.y()), QPointF(centre.x() + CROSS, centre.y()))
            painter.drawLine(QPointF(centre.x(), centre.y() - CROSS), QPointF(centre.x(), centre.y() + CROSS))
            if r > CROSS:
                painter.drawEllipse(centre, r, r)
