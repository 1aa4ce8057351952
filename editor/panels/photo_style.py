"""Style from a photo: open a labelled photo, click an object in it, and its encoder code becomes
the selected object's style (an explicit code vector, stored in the scene's styles file).

pix2pixHD's own UI offers only the k-means centres; this takes any object's look from a photo, in
the spirit of SEAN's per-region reference styles. The encoding (``editor.core.photo_style``) runs
on a thread; the dialog shows the photo with the picked object outlined.

Encoder codes are learned per class: a car's code on a truck does not give a car-coloured truck,
the generator reads it as some unrelated truck look (often green). So the photo's objects of the
target's class are outlined as the ones to click, and picking another class says so in one line
and turns the button into "Use anyway", leaving the choice to the user.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt, QThread, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor.core.photo_style import PhotoCodes, encode_photo, guess_maps
from model.errors import EditorError, LabelSetError
from model.labels import LabelSet, class_of_instance

log = logging.getLogger(__name__)

CANDIDATE = QColor(0, 200, 255)  # outline of the photo's objects of the target's class
WARNING = "#f0b040"


def outlines(mask: np.ndarray) -> list[QPolygonF]:
    """The outer contours of a boolean mask as polygons in pixel-centre coordinates."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [
        QPolygonF([QPointF(float(px) + 0.5, float(py) + 0.5) for px, py in c[:, 0, :]])
        for c in contours
        if len(c) > 1
    ]


class EncodeThread(QThread):
    done = Signal(object)  # PhotoCodes
    failed = Signal(str)

    def __init__(
        self, renderer: Any, photo: Path, label: Path, inst: Path | None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.renderer, self.photo, self.label, self.inst = renderer, photo, label, inst

    def run(self) -> None:
        try:
            self.done.emit(encode_photo(self.renderer, self.photo, self.label, self.inst))
        except EditorError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("encoding %s failed", self.photo)
            self.failed.emit(f"{self.photo}: cannot encode ({exc.__class__.__name__}: {exc})")


class PhotoView(QWidget):
    """The photo scaled to fit; a click picks the instance under it."""

    picked = Signal(int, int)  # photo pixel x, y

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(480, 240)
        self.image: QImage | None = None
        self._buffer: np.ndarray | None = None
        self.outline: list[QPolygonF] = []  # the picked object
        self.candidates: list[QPolygonF] = []  # the objects of the target's class
        self.setCursor(Qt.CursorShape.CrossCursor)

    def set_photo(self, photo: np.ndarray) -> None:
        self._buffer = np.ascontiguousarray(photo[..., :3])
        h, w = self._buffer.shape[:2]
        self.image = QImage(self._buffer.data, w, h, self._buffer.strides[0], QImage.Format.Format_RGB888)
        self.outline = []
        self.candidates = []
        self.update()

    def scale(self) -> tuple[float, float, float]:
        """(scale, x offset, y offset) of the photo in the widget."""
        if self.image is None:
            return 1.0, 0.0, 0.0
        s = min(self.width() / self.image.width(), self.height() / self.image.height())
        return s, (self.width() - self.image.width() * s) / 2, (self.height() - self.image.height() * s) / 2

    def to_photo(self, pos: QPointF) -> tuple[int, int] | None:
        if self.image is None:
            return None
        s, ox, oy = self.scale()
        x, y = int((pos.x() - ox) / s), int((pos.y() - oy) / s)
        return (x, y) if 0 <= x < self.image.width() and 0 <= y < self.image.height() else None

    def to_widget(self, x: float, y: float) -> QPointF:
        s, ox, oy = self.scale()
        return QPointF(ox + x * s, oy + y * s)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        point = self.to_photo(event.position())
        if point is not None and event.button() == Qt.MouseButton.LeftButton:
            self.picked.emit(*point)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(38, 40, 44))
        if self.image is None:
            painter.setPen(QColor(200, 202, 208))
            painter.drawText(
                self.rect(), int(Qt.AlignmentFlag.AlignCenter), "Open a photo with its label map"
            )
            return
        s, ox, oy = self.scale()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.translate(ox, oy)
        painter.scale(s, s)
        painter.drawImage(0, 0, self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(CANDIDATE, 2.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for polygon in self.candidates:
            painter.drawPolygon(polygon)
        for colour, width in ((QColor(0, 0, 0), 3.0), (QColor(255, 220, 0), 1.5)):
            pen = QPen(colour, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            for polygon in self.outline:
                painter.drawPolygon(polygon)


class PhotoStyleDialog(QDialog):
    """Modal: ``code`` holds the picked object's code when accepted. ``target_class``: the class of
    the object that gets the style (its class name is the start of ``target``); ``mismatch`` is
    True while the picked object is of another class."""

    def __init__(
        self, renderer: Any, target: str, parent: QWidget | None = None, target_class: int | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Style from a photo")
        self.renderer = renderer
        self.label_set: LabelSet = renderer.label_set
        self.target_class = target_class
        self.codes: PhotoCodes | None = None
        self.code: tuple[float, ...] | None = None
        self.picked_instance: int | None = None
        self.mismatch = False
        self._thread: EncodeThread | None = None
        self.view = PhotoView()
        self.open_button = QPushButton("Open photo…")
        self.open_button.setToolTip(
            "A photo and its label map (and instance map), in any layout the editor reads"
        )
        self.info = QLabel(f"Target: <b>{target}</b>. Open a photo, then click an object in it.")
        self.info.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use this style")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.info, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)
        self.resize(900, 560)
        self.open_button.clicked.connect(self.open_dialog)
        self.view.picked.connect(self.pick)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def open_dialog(self) -> None:
        photo, _ = QFileDialog.getOpenFileName(
            self, "Open a photo", "", "Images (*.png *.jpg *.jpeg);;All files (*)"
        )
        if not photo:
            return
        label, inst = guess_maps(photo)
        if label is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Its label map (labelIds or colour labels)", str(Path(photo).parent), "PNG (*.png)"
            )
            if not chosen:
                return
            label = Path(chosen)
        self.load(Path(photo), label, inst)

    def load(self, photo: Path, label: Path, inst: Path | None = None) -> None:
        """Encode the photo on a thread; ``loaded`` state when ``codes`` is set."""
        self.info.setText(f"Encoding {photo.name}…")
        self.open_button.setEnabled(False)
        self._thread = EncodeThread(self.renderer, photo, label, inst, self)
        self._thread.done.connect(self.set_codes)
        self._thread.failed.connect(self._failed)
        self._thread.start()

    def _failed(self, message: str) -> None:
        self.open_button.setEnabled(True)
        self.info.setText(f"<span style='color:#f08080'>error: {message}</span>")

    def class_name(self, class_id: int) -> str:
        try:
            return self.label_set.by_id(class_id).name
        except LabelSetError:
            return f"class {class_id}"

    def matching_instances(self) -> list[int]:
        """The photo's encoded instances of the target's class (all of them without a target class)."""
        if self.codes is None:
            return []
        ids = np.fromiter(self.codes.codes, np.int64, len(self.codes.codes))
        if self.target_class is not None:
            ids = ids[class_of_instance(ids) == self.target_class]
        return sorted(ids.tolist())

    def set_codes(self, codes: PhotoCodes) -> None:
        self.open_button.setEnabled(True)
        self.codes = codes
        self.view.set_photo(codes.photo)
        if self.target_class is None:
            self.info.setText(f"{len(codes.codes)} objects and regions encoded. Click one to take its style.")
            return
        name = self.class_name(self.target_class)
        matches = self.matching_instances()
        self.view.candidates = outlines(np.isin(codes.instances, matches)) if matches else []
        self.view.update()
        if matches:
            self.info.setText(
                f"{len(matches)} × {name} in this photo (dashed outlines). Click one to take its style."
            )
        else:
            self.info.setText(
                f"<span style='color:{WARNING}'>This photo has no {name}; codes are learned per class, "
                f"so another class's code will not look right on a {name}.</span>"
            )

    def pick(self, x: int, y: int) -> None:
        if self.codes is None:
            return
        instance, code = self.codes.code_at(x, y)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        cls = int(class_of_instance(np.asarray(instance)))
        name = self.class_name(cls)
        if code is None:
            self.info.setText(f"{name}: too small to have a code at the encoder's resolution")
            ok.setEnabled(False)
            return
        self.code, self.picked_instance = code, instance
        self.mismatch = self.target_class is not None and cls != self.target_class
        if self.mismatch:
            target = self.class_name(int(self.target_class or 0))
            self.info.setText(
                f"<span style='color:{WARNING}'>⚠ A {name}'s code on a {target} will look wrong "
                f"(codes are per class). Click a {target}, or use it anyway.</span>"
            )
            ok.setText("Use anyway")
        else:
            self.info.setText(
                f"Picked <b>{name}</b> (id {instance}). Use this style, or click another object."
            )
            ok.setText("Use this style")
        self.view.outline = outlines(self.codes.instances == instance)
        self.view.update()
        ok.setEnabled(True)

    def done(self, result: int) -> None:
        if self._thread is not None:
            self._thread.wait(60000)
        super().done(result)
