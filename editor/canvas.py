"""The canvas: label map, rendered image or a blend, with zoom, pan, tool overlays and selection.

In the side-by-side view the canvas shows the labels and ``editor.side_view.RenderMirror`` beside
it shows the render at the same zoom and pan, with the cursor mirrored.

It is a QGraphicsView whose background paints straight from two numpy-backed QImages (no pixmap
conversion per edit). A document change recolours only its region and repaints only that part of
the viewport, so brushing stays smooth at 2048×1024. Mouse events become document coordinates and
go to the current tool.
"""

from __future__ import annotations

import logging
from enum import Enum

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPolygonF,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from editor.core.document import Box, Change
from editor.pixels import bgra_palette, to_rgb
from editor.state import EditorState

log = logging.getLogger(__name__)


class ViewMode(Enum):
    SIDE_BY_SIDE = "side by side"  # labels here, the render in the mirror beside (the default)
    LABELS = "labels"
    RENDER = "render"
    BLEND = "blend"


STALE_OPACITY = 0.35  # how strongly a render of the previous model shows while the new one renders
STALE_TEXT = "rendering with the new model…"


def draw_stale_note(painter: QPainter, view: QWidget) -> None:
    """The note over a dimmed render of the previous model, centred in the view (screen pixels)."""
    painter.save()
    painter.resetTransform()
    rect = QRectF(view.viewport().rect() if isinstance(view, QGraphicsView) else view.rect())
    font = painter.font()
    font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.4)
    painter.setFont(font)
    box = painter.boundingRect(rect, int(Qt.AlignmentFlag.AlignCenter), STALE_TEXT).adjusted(-14, -8, 14, 8)
    painter.fillRect(box, QColor(0, 0, 0, 170))
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), STALE_TEXT)
    painter.restore()


def numpy_qimage(buffer: np.ndarray) -> QImage:
    """A QImage sharing an H×W×4 uint8 BGRA buffer (keep the buffer alive)."""
    height, width = buffer.shape[:2]
    return QImage(buffer.data, width, height, buffer.strides[0], QImage.Format.Format_RGB32)


class Canvas(QGraphicsView):
    cursor_moved = Signal(object)  # (x, y) in document pixels, or None when outside
    zoom_changed = Signal(float)
    view_changed = Signal()  # zoom, pan or size changed (the mirror follows)
    area_updated = Signal(object)  # QRectF in document pixels repainted, or None: everything

    MIN_ZOOM, MAX_ZOOM = 0.05, 40.0

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )  # pan with space / middle drag
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QColor(38, 40, 44))
        self.view_mode = ViewMode.BLEND
        self.label_opacity = 0.45
        self.stale_render = False  # the render shown is the previous model's: dimmed, with a note
        self.tool = None  # editor.tools.Tool
        self.overlays: list = []  # callables(painter) drawing layers over the image (anomaly masks)
        self.hover: QPointF | None = None
        self._palette = bgra_palette(state.label_set.palette)
        self._label_buf = np.zeros((1, 1, 4), np.uint8)
        self._label_img = numpy_qimage(self._label_buf)
        self._render_buf: np.ndarray | None = None
        self._render_img: QImage | None = None
        self._outline: list[QPolygonF] = []
        self._outline_box: Box | None = None
        self._pan_from: QPointF | None = None
        self._space = False
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.view_changed.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.view_changed.emit())
        state.document.subscribe(self._on_change)
        state.selection_changed.connect(lambda _s: self.refresh_selection())
        state.committed.connect(self._on_committed)
        state.label_set_changed.connect(self._on_label_set)
        self._rebuild_labels()

    # ----- image buffers ------------------------------------------------------------------------
    def _rebuild_labels(self) -> None:
        doc = self.state.document
        self._label_buf = np.ascontiguousarray(self._palette[doc.labels])
        self._label_img = numpy_qimage(self._label_buf)
        # a margin of one image around it lets zooming keep any point under the cursor
        self.scene().setSceneRect(-doc.width, -doc.height, 3 * doc.width, 3 * doc.height)
        if self._render_buf is not None and self._render_buf.shape[:2] != doc.labels.shape:
            self._render_buf = self._render_img = None
        self.repaint_all()

    def _on_label_set(self, _label_set: object) -> None:
        self._palette = bgra_palette(self.state.label_set.palette)
        self._rebuild_labels()

    def _on_change(self, change: Change) -> None:
        if change.kind == "reset" or (change.kind == "pixels" and change.region is None):
            self._rebuild_labels()
            self.fit()
            return
        if change.region is None:
            return
        x0, y0, x1, y1 = change.region
        self._label_buf[y0:y1, x0:x1] = self._palette[self.state.document.labels[y0:y1, x0:x1]]
        self.update_scene_rect(QRectF(x0, y0, x1 - x0, y1 - y0))

    def set_render(self, bgra: np.ndarray, region: Box | None = None) -> None:
        """Show a render result, already in display format (H×W×4 BGRA, see ``editor.pixels``): the
        whole frame (adopted, not copied: the caller hands it over), or a tile placed at ``region``."""
        doc = self.state.document
        if (
            region is not None
            and bgra.shape[:2] == doc.labels.shape
            and tuple(region) == (0, 0, doc.width, doc.height)
        ):
            region = None
        if region is None:
            if bgra.shape[:2] != doc.labels.shape:
                return
            self._render_buf = np.ascontiguousarray(bgra)
            self._render_img = numpy_qimage(self._render_buf)
            self.repaint_all()
            return
        if self._render_buf is None:
            return
        x0, y0, x1, y1 = region
        if x1 > doc.width or y1 > doc.height or x0 >= x1 or y0 >= y1:
            return
        self._render_buf[y0:y1, x0:x1] = bgra[: y1 - y0, : x1 - x0]
        self.update_scene_rect(QRectF(x0, y0, x1 - x0, y1 - y0))

    @property
    def has_render(self) -> bool:
        return self._render_buf is not None

    def render_image(self) -> np.ndarray | None:
        return None if self._render_buf is None else to_rgb(self._render_buf)

    @property
    def render_qimage(self) -> QImage | None:
        """The render as shown (shares the canvas's buffer): for the side-by-side mirror."""
        return self._render_img

    def set_view_mode(self, mode: ViewMode) -> None:
        self.view_mode = mode
        self.repaint_all()

    def set_stale_render(self, stale: bool) -> None:
        """Dim the render with a note while a newly loaded model makes its first frame."""
        if stale != self.stale_render:
            self.stale_render = stale
            self.repaint_all()

    def set_label_opacity(self, opacity: float) -> None:
        self.label_opacity = float(np.clip(opacity, 0.0, 1.0))
        self.viewport().update()

    def repaint_all(self) -> None:
        self.viewport().update()
        self.area_updated.emit(None)

    def update_scene_rect(self, rect: QRectF, margin: int = 2) -> None:
        view_rect = self.mapFromScene(rect).boundingRect().adjusted(-margin, -margin, margin, margin)
        self.viewport().update(view_rect)
        self.area_updated.emit(rect.adjusted(-margin, -margin, margin, margin))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.view_changed.emit()

    # ----- selection outline --------------------------------------------------------------------
    def _on_committed(self) -> None:
        if self.state.selection_touched or (self.state.selection_box != self._outline_box):
            self.refresh_selection()

    def refresh_selection(self) -> None:
        """Outline the selection: contours of its mask inside its (state-kept) bounding box only."""
        old = self._outline_box
        self._outline, self._outline_box = [], None
        sel, box = self.state.selection, self.state.selection_box
        if sel is not None and box is not None:
            x0, y0, _x1, _y1 = box
            mask = self.state.document.instance_mask(sel, box).astype(np.uint8)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            self._outline = [
                QPolygonF([QPointF(x0 + float(px) + 0.5, y0 + float(py) + 0.5) for px, py in c[:, 0, :]])
                for c in contours
                if len(c) > 1
            ]
            self._outline_box = box
        for b in (old, self._outline_box):
            if b is not None:
                self.update_scene_rect(QRectF(b[0], b[1], b[2] - b[0], b[3] - b[1]), 4)

    # ----- painting -----------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, self.backgroundBrush())
        doc = self.state.document
        image_rect = QRectF(0, 0, doc.width, doc.height)
        area = rect.intersected(image_rect)
        if area.isEmpty():
            return
        area = QRectF(
            QRect(
                int(area.left()),
                int(area.top()),
                int(np.ceil(area.right())) - int(area.left()),
                int(np.ceil(area.bottom())) - int(area.top()),
            )
        )
        zoomed_out = self.zoom < 1.0
        shows_labels_only = self.view_mode in (ViewMode.LABELS, ViewMode.SIDE_BY_SIDE)
        show_render = not shows_labels_only and self._render_img is not None
        if show_render and self._render_img is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoomed_out)
            painter.setOpacity(STALE_OPACITY if self.stale_render else 1.0)
            painter.drawImage(area, self._render_img, area)
            painter.setOpacity(1.0)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        if not show_render or self.view_mode is ViewMode.BLEND:
            opacity = self.label_opacity if show_render else 1.0
            if opacity > 0:
                painter.setOpacity(opacity)
                painter.drawImage(area, self._label_img, area)
                painter.setOpacity(1.0)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        doc = self.state.document
        frame = QPen(QColor(90, 94, 102))
        frame.setCosmetic(True)
        painter.setPen(frame)
        painter.drawRect(QRectF(0, 0, doc.width, doc.height))
        if self._outline:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            for colour, style in (
                (QColor(0, 0, 0), Qt.PenStyle.SolidLine),
                (QColor(255, 255, 255), Qt.PenStyle.DashLine),
            ):
                pen = QPen(colour, 2 if style is Qt.PenStyle.SolidLine else 1.4, style)
                pen.setCosmetic(True)
                painter.setPen(pen)
                for polygon in self._outline:
                    painter.drawPolygon(polygon)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for paint in self.overlays:
            paint(painter)
        if self.tool is not None:
            self.tool.paint_overlay(painter, self)
        if (
            self.stale_render
            and self.view_mode in (ViewMode.RENDER, ViewMode.BLEND)
            and self._render_img is not None
        ):
            draw_stale_note(painter, self)

    @property
    def outline(self) -> list[QPolygonF]:
        """The selection's outline polygons in document pixels."""
        return self._outline

    # ----- coordinates and zoom -----------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    def to_document(self, view_pos: QPointF) -> QPointF:
        inverse, _ok = self.viewportTransform().inverted()
        return inverse.map(view_pos)

    def zoom_at(self, factor: float, view_pos: QPointF) -> None:
        new_zoom = float(np.clip(self.zoom * factor, self.MIN_ZOOM, self.MAX_ZOOM))
        anchor = self.to_document(view_pos)
        self.setTransform(QTransform.fromScale(new_zoom, new_zoom))
        moved = self.viewportTransform().map(anchor) - view_pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(moved.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(moved.y()))
        self.zoom_changed.emit(self.zoom)
        self.view_changed.emit()

    def set_zoom(self, zoom: float) -> None:
        self.zoom_at(zoom / self.zoom, QPointF(self.viewport().rect().center()))

    def fit(self) -> None:
        doc = self.state.document
        self.fitInView(QRectF(0, 0, doc.width, doc.height), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom)
        self.view_changed.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_at(1.25**steps, event.position())
        event.accept()

    # ----- mouse and keys -----------------------------------------------------------------------
    def _doc_point(self, event: QMouseEvent) -> QPointF:
        return self.to_document(event.position())

    def _start_pan(self, event: QMouseEvent) -> bool:
        """A middle-button press, or a left one with Space held, starts panning."""
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return True
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if self._start_pan(event):
            return
        if self.tool is not None:
            self.tool.press(self._doc_point(event), event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            return
        pos = self._doc_point(event)
        old_hover, self.hover = self.hover, pos
        doc = self.state.document
        x, y = int(np.floor(pos.x())), int(np.floor(pos.y()))
        self.cursor_moved.emit((x, y) if doc.contains(x, y) else None)
        if self.tool is not None:
            if event.buttons() & Qt.MouseButton.LeftButton:
                self.tool.drag(pos, event)
                if self.tool.repaint_on_drag:
                    self.viewport().update()
            self._update_overlay(old_hover, pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self._restore_cursor()
            return
        if self.tool is not None and event.button() == Qt.MouseButton.LeftButton:
            self.tool.release(self._doc_point(event), event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # Qt sends a quick second click's press as a double-click: it pans like a press would, and
        # otherwise goes to the tool (most tools take it as a press; the polygon closes on one).
        self.setFocus()
        if self._start_pan(event):
            return
        if self.tool is not None and event.button() == Qt.MouseButton.LeftButton:
            self.tool.double_click(self._doc_point(event), event)

    def leaveEvent(self, event) -> None:
        old, self.hover = self.hover, None
        self.cursor_moved.emit(None)
        self._update_overlay(old, None)
        super().leaveEvent(event)

    def _update_overlay(self, old: QPointF | None, new: QPointF | None) -> None:
        if self.tool is None:
            return
        for rect in (self.tool.overlay_rect(old), self.tool.overlay_rect(new)):
            if rect is not None:
                self.update_scene_rect(rect, 3)

    def event(self, event: QEvent) -> bool:
        # Esc is also the window's shortcut (cancel the exact render). While the tool has something
        # to cancel (polygon corners, a stroke), the tool takes it and the shortcut does not fire.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and self.tool is not None
            and self.tool.key(event)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if self.tool is not None and self.tool.key(event):
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._restore_cursor()
            return
        super().keyReleaseEvent(event)

    def set_tool(self, tool: object) -> None:
        if self.tool is not None:
            self.tool.cancel()
        self.tool = tool
        self._restore_cursor()
        self.viewport().update()

    def _restore_cursor(self) -> None:
        cursor = self.tool.cursor if self.tool is not None else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(cursor)
