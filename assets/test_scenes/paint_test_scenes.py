"""Paint the test scenes of this folder in the real editor window, driven by X input (xdotool).

The editor (``editor.main_window.MainWindow``, no model loaded, Labels view) runs in this process on
an X server; every stroke, fill, polygon corner, rectangle, tool key, label search, brush-size key,
zoom wheel step and the final Ctrl+S (typed into the save dialog) is a real X event sent with
``xdotool``, so the maps go through the same canvas → tool → document → save path as a user's.
This process only reads the view transform (to aim the pointer at document coordinates) and checks
after each step that the document changed as intended.

Needs Xvfb and xdotool (``apt-get install -y xvfb xdotool imagemagick``)::

    Xvfb :99 -screen 0 1920x1080x24 &
    DISPLAY=:99 python assets/test_scenes/paint_test_scenes.py ego_hood OUT_FOLDER [--shot X.png]
"""

from __future__ import annotations

import argparse
import logging
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QPointF, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from editor.main_window import MainWindow  # noqa: E402
from editor.state import InstanceMode  # noqa: E402

log = logging.getLogger("paint")
Point = tuple[float, float]

# a standing person's outline, x relative to the body axis and y from the top of the head, in heights
_HEAD = [(0.062 * math.cos(math.radians(a)), 0.065 - 0.062 * math.sin(math.radians(a))) for a in
         (-115, -150, 180, 140, 110, 70, 40, 0, -30, -65)]  # fmt: skip
PERSON = (
    [(-0.035, 0.125), *_HEAD, (0.035, 0.125), (0.13, 0.16), (0.155, 0.31), (0.14, 0.47), (0.10, 0.31)]
    + [(0.10, 0.52), (0.09, 0.76), (0.085, 1.0), (0.02, 1.0), (0.0, 0.56), (-0.02, 1.0), (-0.085, 1.0)]
    + [(-0.09, 0.76), (-0.10, 0.52), (-0.10, 0.31), (-0.14, 0.47), (-0.155, 0.31), (-0.13, 0.16)]
)
# a seated rider (no legs below the saddle but one bent leg), same units
RIDER = (
    [(-0.035, 0.125), *_HEAD, (0.035, 0.125), (0.12, 0.17), (0.30, 0.36), (0.28, 0.40), (0.10, 0.30)]
    + [(0.08, 0.55), (0.22, 0.62), (0.18, 0.92), (0.12, 0.92), (0.13, 0.68), (-0.08, 0.66)]
    + [(-0.10, 0.50), (-0.08, 0.16)]
)


def person(x: float, feet: float, height: float, shape: list[Point] = PERSON) -> list[Point]:
    return [(x + px * height, feet - height + py * height) for px, py in shape]


def ring(cx: float, cy: float, r: float, n: int = 18) -> list[Point]:
    return [
        (cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)) for i in range(n + 1)
    ]


class Painter:
    """Drives one MainWindow with xdotool and checks the document after each step."""

    def __init__(self, app: QApplication, window: MainWindow) -> None:
        self.app, self.w = app, window
        self.doc = window.state.document
        hints = app.styleHints()
        self.click_gap = hints.mouseDoubleClickInterval() / 1000.0 + 0.05

    # ----- plumbing -----------------------------------------------------------------------------
    def pump(self, seconds: float = 0.15) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.app.processEvents()
            time.sleep(0.005)

    def xdo(self, *args: str) -> None:
        log.info("xdotool %s", " ".join(args[:8]))
        proc = subprocess.Popen(["xdotool", *args])
        while proc.poll() is None:  # the event loop keeps running while X delivers the events
            self.app.processEvents()
            time.sleep(0.002)
        if proc.returncode:
            raise RuntimeError(f"xdotool {' '.join(args[:6])} … failed")
        self.pump()

    def screen(self, p: Point) -> tuple[int, int]:
        canvas = self.w.canvas
        view = canvas.viewportTransform().map(QPointF(*p))
        if not canvas.viewport().rect().adjusted(2, 2, -2, -2).contains(view.toPoint()):
            raise RuntimeError(f"document point {p} is outside the visible canvas")
        glob = canvas.viewport().mapToGlobal(view)
        return round(glob.x()), round(glob.y())

    def move_args(self, p: Point) -> list[str]:
        x, y = self.screen(p)
        return ["mousemove", str(x), str(y)]

    # ----- view ---------------------------------------------------------------------------------
    def focus_canvas(self) -> None:
        """A middle click (a pan of zero pixels) gives the canvas the keyboard focus."""
        centre = self.w.canvas.viewport().rect().center()
        glob = self.w.canvas.viewport().mapToGlobal(centre)
        self.xdo("mousemove", str(glob.x()), str(glob.y()), "click", "2")

    def fit(self) -> None:
        self.focus_canvas()
        self.xdo("key", "f")

    def zoom_on(self, p: Point, steps: int) -> None:
        """Fit, then wheel-zoom ``steps`` times with the pointer on ``p`` (it stays under the pointer)."""
        self.fit()
        if steps:
            self.xdo(*self.move_args(p), "click", "--repeat", str(steps), "--delay", "60", "4")

    # ----- settings -----------------------------------------------------------------------------
    def label(self, name: str) -> None:
        self.xdo("key", "ctrl+f")
        self.xdo("type", "--delay", "20", name)
        self.xdo("key", "Return")
        got = self.doc.label_set.by_id(self.w.state.current_label).name
        if got != name:
            raise RuntimeError(f"label search for {name!r} picked {got!r}")
        self.focus_canvas()

    def tool(self, name: str) -> None:
        key = {"brush": "b", "fill": "g", "polygon": "p", "rectangle": "r"}[name]
        self.xdo("key", key)
        if self.w.canvas.tool is not self.w.tools[name]:
            raise RuntimeError(f"key {key} did not pick the {name} tool")

    def brush(self, size: int) -> None:
        """Press [ and ] until the brush is as close to ``size`` as the 1.2× steps allow."""
        state = self.w.state
        for _ in range(60):
            now = state.brush_size
            if abs(math.log(now / size)) <= math.log(1.2) / 2 or now in (state.MIN_BRUSH, state.MAX_BRUSH):
                return
            self.xdo("key", "bracketright" if now < size else "bracketleft")
            if state.brush_size == now:
                raise RuntimeError("the brush size keys did nothing")

    def new_objects(self, on: bool) -> None:
        want = InstanceMode.NEW if on else InstanceMode.EXTEND
        if self.w.state.mode is not want:
            self.xdo("key", "n")
        if self.w.state.mode is not want:
            raise RuntimeError("N did not toggle the object mode")

    # ----- painting -----------------------------------------------------------------------------
    def _changed(self, before: int, what: str) -> None:
        if self.w.state.stack.count() <= before:
            raise RuntimeError(f"{what} changed nothing")

    def stroke(self, points: list[Point]) -> None:
        before = self.w.state.stack.count()
        args = [*self.move_args(points[0]), "mousedown", "1"]
        for p in points[1:]:
            args += [*self.move_args(p), "sleep", "0.03"]
        self.xdo(*args, "mouseup", "1")
        self._changed(before, "a brush stroke")

    def fill(self, p: Point) -> None:
        before = self.w.state.stack.count()
        self.xdo(*self.move_args(p), "click", "1")
        self._changed(before, "a fill")

    def rectangle(self, a: Point, b: Point) -> None:
        before = self.w.state.stack.count()
        self.xdo(*self.move_args(a), "mousedown", "1", *self.move_args(b), "sleep", "0.05", "mouseup", "1")
        self._changed(before, "a rectangle")

    def polygon(self, points: list[Point]) -> None:
        """Click the corners a double-click interval apart (quicker clicks lose corners), then Enter."""
        before = self.w.state.stack.count()
        args: list[str] = []
        clicks = 0
        for p in points:
            if args:
                args += ["sleep", f"{self.click_gap:.2f}"]
            args += [*self.move_args(p), "click", "1"]
            clicks += 1
        self.xdo(*args)
        corners = len(getattr(self.w.canvas.tool, "points", []))
        if corners != clicks:
            raise RuntimeError(f"the polygon tool holds {corners} of {clicks} corners")
        self.xdo("key", "Return")
        self._changed(before, "a polygon")

    def save(self, path: Path) -> None:
        """Ctrl+S: an untitled scene asks where; type the path into the dialog and press Enter.

        The keys go in one xdotool run started before the dialog opens: the dialog's own event loop
        blocks this one until it closes."""
        self.focus_canvas()
        keys = (
            f"xdotool key ctrl+s sleep 2 key ctrl+a type --delay 15 '{path}'; sleep 0.5; xdotool key Return"
        )
        proc = subprocess.Popen(["bash", "-c", keys])
        while proc.poll() is None:
            self.app.processEvents()
            time.sleep(0.005)
        self.pump(1.0)
        if self.doc.path != path:
            raise RuntimeError(f"the save dialog did not save to {path} (document path {self.doc.path})")


# ----- the scenes -------------------------------------------------------------------------------
def sky_and_buildings(p: Painter, skyline: list[Point], base: float) -> None:
    """Buildings as a rectangle up to ``base``, the sky as a polygon above the skyline."""
    p.tool("rectangle")
    p.label("building")
    p.rectangle((0, 0), (2047, base))
    p.tool("polygon")
    p.label("sky")
    p.polygon([(0, 0), (2047, 0), *reversed(skyline)])


def people(p: Painter, spots: list[tuple[float, float, float]], zoom_steps: int = 0) -> None:
    """A person polygon at each (body axis x, feet y, height); with ``zoom_steps``, the view is fitted
    and zoomed in on each person first, so that small ones get exact corners."""
    for x, feet, height in spots:
        if zoom_steps:
            p.zoom_on((x, feet - height / 2), zoom_steps)
        p.polygon(person(x, feet, height))


def ego_hood(p: Painter) -> None:
    """Ego-vehicle hood across the bottom, a road to the horizon, near cars cut by both edges."""
    skyline = [(0, 180), (260, 180), (260, 120), (520, 120), (520, 230), (700, 230), (700, 300)]
    skyline += [(900, 300), (900, 380), (1150, 380), (1150, 280), (1400, 280), (1400, 150)]
    skyline += [(1750, 150), (1750, 60), (2047, 60)]
    sky_and_buildings(p, skyline, 520)
    p.label("sidewalk")
    p.polygon([(0, 470), (960, 470), (930, 480), (0, 780)])
    p.polygon([(1090, 470), (2047, 470), (2047, 760), (1120, 480)])
    p.label("road")
    p.polygon([(930, 480), (1120, 480), (2047, 900), (2047, 1023), (0, 1023), (0, 820)])
    p.label("pole")
    p.tool("brush")
    p.brush(14)
    p.stroke([(760, 540), (760, 250)])
    p.stroke([(1330, 520), (1330, 260)])
    p.label("traffic sign")
    p.brush(40)
    p.stroke([(760, 250), (760, 260)])
    p.label("car")  # far cars: one rectangle each
    p.tool("rectangle")
    p.zoom_on((1024, 480), 3)
    p.rectangle((900, 455), (960, 500))
    p.rectangle((1000, 460), (1040, 490))
    p.rectangle((1080, 458), (1140, 505))
    p.fit()
    p.tool("polygon")  # near cars, cut by the frame edges
    p.polygon([(0, 470), (90, 455), (250, 440), (380, 470), (430, 560), (450, 700), (430, 800), (380, 830)]
              + [(330, 800), (120, 830), (0, 850)])  # fmt: skip
    p.polygon([(2047, 440), (1900, 430), (1760, 470), (1700, 560), (1680, 690), (1700, 780), (1750, 800)]
              + [(1800, 770), (2047, 800)])  # fmt: skip
    p.label("ego vehicle")
    hood = [(0, 1023), (0, 930), (250, 885), (600, 855), (1024, 845), (1450, 855), (1800, 885)]
    p.polygon([*hood, (2047, 930), (2047, 1023)])


def crowd(p: Painter) -> None:
    """A crowd on a wide sidewalk and a crossing, overlapping people, riders on bicycles and a motorcycle."""
    skyline = [(0, 120), (400, 120), (400, 60), (900, 60), (900, 140), (1500, 140), (1500, 90), (2047, 90)]
    sky_and_buildings(p, skyline, 560)
    p.label("sidewalk")
    p.polygon([(0, 560), (2047, 560), (2047, 640), (0, 700)])
    p.polygon([(0, 930), (2047, 900), (2047, 1023), (0, 1023)])
    p.label("pole")
    p.tool("brush")
    p.brush(12)
    p.stroke([(1700, 640), (1700, 330)])
    p.label("traffic light")
    p.brush(30)
    p.stroke([(1700, 330), (1700, 380)])
    p.tool("polygon")
    p.label("person")
    # far row on the back sidewalk, then the crossing, then the near sidewalk: later ones occlude
    far = [(120, 650, 150), (230, 655, 160), (270, 662, 150), (520, 640, 130), (560, 646, 140)]
    far += [(980, 630, 125), (1050, 635, 135), (1420, 630, 130), (1880, 640, 140), (1925, 646, 145)]
    crossing = [(700, 820, 230), (760, 830, 240), (830, 815, 220), (1200, 850, 250), (1265, 862, 255)]
    near = [(150, 1010, 360), (250, 1000, 340), (1750, 1015, 380)]
    people(p, far, zoom_steps=2)
    people(p, crossing, zoom_steps=1)
    p.fit()
    people(p, near)
    # riders: a bicycle (two wheels and a frame, one object) under each rider, and a motorcycle
    for x, feet in [(1460, 800), (430, 780)]:
        p.zoom_on((x, feet - 100), 1)
        p.tool("brush")
        p.label("bicycle")
        p.brush(9)
        p.new_objects(True)
        p.stroke(ring(x - 55, feet - 38, 36))
        p.new_objects(False)
        p.stroke(ring(x + 55, feet - 38, 36))
        p.stroke([(x - 55, feet - 38), (x - 10, feet - 95), (x + 40, feet - 95), (x + 55, feet - 38)])
        p.stroke([(x - 10, feet - 95), (x + 10, feet - 40), (x - 55, feet - 38)])
        p.new_objects(True)
        p.tool("polygon")
        p.label("rider")
        p.polygon(person(x - 5, feet - 40, 170, RIDER))
    p.zoom_on((1000, 720), 1)
    p.tool("polygon")
    p.label("motorcycle")
    p.polygon([(880, 800), (900, 745), (960, 725), (1040, 720), (1100, 735), (1130, 700), (1150, 705)]
              + [(1140, 750), (1165, 800), (1120, 805), (1095, 770), (930, 775), (920, 805)])  # fmt: skip
    p.label("rider")
    p.polygon(person(1000, 762, 190, RIDER))
    p.fit()


def freehand_street(p: Painter) -> None:
    """Brush lines closed into regions and flood-filled, as a user sketches: a curved road, a bus,
    a truck, trees, grass, a wall, a fence, poles, signs and a light."""
    p.tool("brush")
    p.brush(20)
    p.label("building")  # the skyline, as a wavy line; the sky fills above it
    p.stroke(
        [(0, 300), (300, 260), (600, 320), (900, 240), (1200, 300), (1500, 220), (1800, 280), (2047, 250)]
    )
    p.tool("fill")
    p.label("sky")
    p.fill((1000, 40))
    p.tool("brush")
    p.label("vegetation")  # the foot of the buildings and trees
    p.stroke([(0, 540), (500, 530), (1000, 520), (1500, 525), (2047, 535)])
    p.tool("fill")
    p.label("building")
    p.fill((1000, 420))
    p.tool("brush")
    p.brush(14)
    p.label("terrain")  # the road's left edge, curving away to the right
    p.stroke([(150, 1023), (450, 880), (900, 720), (1250, 610), (1450, 555), (1520, 540)])
    p.label("sidewalk")  # its right edge
    p.stroke([(1650, 1023), (1820, 860), (1850, 720), (1720, 600), (1580, 545), (1530, 540)])
    p.tool("fill")
    p.label("terrain")
    p.fill((100, 700))
    p.label("sidewalk")
    p.fill((1980, 900))
    p.tool("brush")
    p.label("vegetation")  # tree crowns over the buildings on the left, bushes on the grass
    p.brush(170)
    p.stroke([(60, 330), (250, 300), (420, 360), (560, 330)])
    p.stroke([(150, 480), (400, 470), (650, 450), (800, 470)])
    p.brush(90)
    p.stroke([(80, 640), (300, 620), (480, 660)])
    p.label("wall")
    p.brush(45)
    p.stroke([(600, 560), (900, 555), (1200, 548)])
    p.label("fence")
    p.brush(40)
    p.stroke([(1600, 520), (1800, 525), (2047, 530)])
    p.label("pole")
    p.brush(12)
    p.stroke([(1930, 960), (1930, 380)])
    p.stroke([(1700, 640), (1700, 330)])
    p.stroke([(700, 610), (700, 250)])
    p.label("traffic sign")
    p.brush(60)
    p.stroke([(1930, 370), (1930, 380)])
    p.label("traffic light")
    p.brush(28)
    p.stroke([(1700, 320), (1700, 380)])
    p.stroke([(700, 250), (700, 300)])
    p.label("bus")  # a bus coming round the bend: one big brush stroke, then the roof with a smaller one
    p.brush(150)
    p.stroke([(1180, 560), (1330, 540)])
    p.new_objects(False)
    p.brush(90)
    p.stroke([(1130, 480), (1350, 470)])
    p.new_objects(True)
    p.label("truck")
    p.brush(70)
    p.stroke([(1460, 520), (1500, 515)])
    p.label("car")  # a car painted with the brush in two strokes, body and cabin
    p.brush(140)
    p.stroke([(700, 880), (1050, 880)])
    p.new_objects(False)
    p.brush(90)
    p.stroke([(780, 800), (960, 800)])
    p.new_objects(True)
    p.brush(60)
    p.stroke([(1250, 700), (1400, 690)])


def closeup(p: Painter) -> None:
    """One car filling about a third of the frame, a person beside it, static and dynamic objects."""
    sky_and_buildings(p, [(0, 90), (700, 90), (700, 40), (1400, 40), (1400, 110), (2047, 110)], 620)
    p.label("sidewalk")
    p.polygon([(0, 600), (2047, 600), (2047, 700), (0, 700)])
    p.label("car")
    body = [(60, 900), (60, 690), (140, 600), (420, 560), (560, 360), (640, 320), (1160, 320), (1300, 400)]
    body += [(1450, 560), (1620, 600), (1700, 680), (1700, 900), (1500, 900), (1460, 940), (1320, 950)]
    body += [(1260, 900), (500, 900), (440, 950), (300, 950), (240, 900)]
    p.polygon(body)
    p.label("person")
    people(p, [(1850, 980, 700)])
    p.label("static")  # a bollard and a planter on the sidewalk
    p.tool("rectangle")
    p.rectangle((1980, 520), (2020, 660))
    p.rectangle((20, 540), (140, 650))
    p.label("dynamic")  # a pushchair-sized box and a bin on the road in front
    p.rectangle((1550, 930), (1680, 1020))
    p.tool("brush")
    p.brush(80)
    p.stroke([(900, 990), (960, 990)])
    p.label("static")  # a low kerb-side block
    p.tool("rectangle")
    p.rectangle((300, 975), (600, 1005))


SCENES: dict[str, Callable[[Painter], None]] = {
    "ego_hood": ego_hood,
    "crowd": crowd,
    "freehand_street": freehand_street,
    "closeup": closeup,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scene", choices=sorted(SCENES))
    parser.add_argument("out", type=Path, help="folder for NAME_labelIds.png and NAME_instanceIds.png")
    parser.add_argument("--shot", type=Path, help="a screenshot of the whole X screen when done")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    app = QApplication([sys.argv[0]])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "editor.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, load_default=False)
    window.show()
    window.move(0, 0)
    window.resize(1920, 1050)
    painter = Painter(app, window)
    painter.pump(1.0)
    painter.focus_canvas()
    painter.xdo("key", "ctrl+1")  # the Labels view: the canvas takes the whole centre
    painter.fit()
    SCENES[args.scene](painter)
    painter.fit()
    painter.save((args.out / f"{args.scene}_labelIds.png").resolve())
    if args.shot is not None:
        painter.pump(0.5)
        subprocess.run(["import", "-window", "root", str(args.shot)], check=True)
    window.close()
    painter.pump(0.3)
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
