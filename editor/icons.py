"""Small vector icons drawn with QPainter (no image files to ship), for the toolbar and menus."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

SIZE = 48  # drawn at 2× and scaled down by Qt
FG = QColor(214, 218, 224)
ACCENT = QColor(94, 156, 236)


def _pen(width: float = 3.2, colour: QColor = FG) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _brush(p: QPainter) -> None:
    p.setPen(_pen())
    p.drawLine(QPointF(38, 8), QPointF(20, 28))
    p.setBrush(ACCENT)
    path = QPainterPath(QPointF(21, 25))
    path.cubicTo(QPointF(12, 22), QPointF(8, 32), QPointF(8, 41))
    path.cubicTo(QPointF(18, 41), QPointF(27, 36), QPointF(24, 28))
    path.closeSubpath()
    p.drawPath(path)


def _fill(p: QPainter) -> None:
    p.setPen(_pen())
    bucket = QPolygonF([QPointF(10, 20), QPointF(24, 8), QPointF(38, 22), QPointF(24, 36)])
    p.drawPolygon(bucket)
    p.setBrush(ACCENT)
    p.setPen(Qt.PenStyle.NoPen)
    drop = QPainterPath(QPointF(40, 28))
    drop.cubicTo(QPointF(46, 36), QPointF(44, 42), QPointF(40, 42))
    drop.cubicTo(QPointF(36, 42), QPointF(34, 36), QPointF(40, 28))
    p.drawPath(drop)


def _polygon(p: QPainter) -> None:
    p.setPen(_pen())
    p.setBrush(QColor(94, 156, 236, 90))
    pts = [QPointF(8, 30), QPointF(18, 8), QPointF(40, 14), QPointF(36, 40), QPointF(16, 40)]
    p.drawPolygon(QPolygonF(pts))
    p.setBrush(FG)
    for q in pts:
        p.drawEllipse(q, 3, 3)


def _rectangle(p: QPainter) -> None:
    p.setPen(_pen())
    p.setBrush(QColor(94, 156, 236, 90))
    p.drawRect(QRectF(8, 12, 32, 24))


def _eyedropper(p: QPainter) -> None:
    p.setPen(_pen(3.2))
    p.drawLine(QPointF(10, 38), QPointF(30, 18))
    p.setPen(_pen(7))
    p.drawLine(QPointF(30, 18), QPointF(36, 12))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(ACCENT)
    p.drawEllipse(QPointF(9, 39), 4, 4)


def _select(p: QPainter) -> None:
    p.setPen(_pen(2.6))
    p.setBrush(FG)
    arrow = QPolygonF(
        [
            QPointF(12, 6),
            QPointF(12, 38),
            QPointF(20, 30),
            QPointF(26, 42),
            QPointF(31, 40),
            QPointF(25, 28),
            QPointF(36, 28),
        ]
    )
    p.drawPolygon(arrow)


def _arrow(p: QPainter, flip: bool) -> None:
    if flip:
        p.translate(SIZE, 0)
        p.scale(-1, 1)
    p.setPen(_pen(3.6))
    path = QPainterPath(QPointF(12, 20))
    path.cubicTo(QPointF(26, 8), QPointF(42, 16), QPointF(40, 32))
    p.drawPath(path)
    p.setBrush(FG)
    p.drawPolygon(QPolygonF([QPointF(6, 14), QPointF(18, 12), QPointF(12, 24)]))


def _fit(p: QPainter) -> None:
    p.setPen(_pen())
    for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        cx, cy = 24 - sx * 16, 24 - sy * 12
        p.drawLine(QPointF(cx, cy), QPointF(cx + sx * 8, cy))
        p.drawLine(QPointF(cx, cy), QPointF(cx, cy + sy * 8))
    p.setBrush(QColor(94, 156, 236, 90))
    p.drawRect(QRectF(16, 18, 16, 12))


DRAWERS: dict[str, Callable[[QPainter], None]] = {
    "brush": _brush,
    "fill": _fill,
    "polygon": _polygon,
    "rectangle": _rectangle,
    "eyedropper": _eyedropper,
    "select": _select,
    "undo": lambda p: _arrow(p, False),
    "redo": lambda p: _arrow(p, True),
    "fit": _fit,
}


def icon(name: str) -> QIcon:
    """An icon by name (see DRAWERS); an empty icon for an unknown name."""
    drawer = DRAWERS.get(name)
    if drawer is None:
        return QIcon()
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    drawer(painter)
    painter.end()
    return QIcon(pixmap)
