"""The application icon: a list of shapes drawn into PNGs of any size with Pillow (no Qt).

A small street scene cut along the diagonal: the upper-left half in Cityscapes label colours, the
lower-right half in photo colours, which is what the editor does. Nothing is stored as an image
file; ``--install-desktop-entry`` writes PNGs of the icon theme's usual sizes. (No SVG: Qt's SVG
renderer, which KDE uses for icons, ignores clip paths, and the cut needs one.)
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageDraw

SIZE = 256  # the canvas the shapes are laid out on, in pixels of the PNG
CORNER = 44  # radius of the rounded square
SUPERSAMPLE = 4  # the PNG is drawn this much larger and scaled down, for smooth edges
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Shape:
    kind: str  # "rect" (x0, y0, x1, y1), "ellipse" (x0, y0, x1, y1) or "polygon" (x, y, x, y, …)
    coords: tuple[float, ...]
    label: RGB  # colour in the label-map half (Cityscapes' colour of its class)
    photo: RGB  # colour in the photo half


SKY, BUILDING, VEGETATION = (70, 130, 180), (70, 70, 70), (107, 142, 35)
ROAD, SIDEWALK, CAR = (128, 64, 128), (244, 35, 232), (0, 0, 142)

SHAPES: tuple[Shape, ...] = (
    Shape("rect", (0, 0, 256, 150), SKY, (156, 200, 236)),
    Shape("rect", (14, 56, 104, 150), BUILDING, (170, 92, 68)),
    Shape("rect", (150, 24, 242, 150), BUILDING, (226, 212, 182)),
    *(Shape("rect", (x, y, x + 14, y + 18), BUILDING, (52, 70, 96)) for x in (26, 50, 74) for y in (70, 104)),
    *(
        Shape("rect", (x, y, x + 14, y + 18), BUILDING, (88, 110, 140))
        for x in (164, 188, 212)
        for y in (40, 74, 108)
    ),
    Shape("rect", (122, 104, 132, 150), VEGETATION, (94, 66, 42)),
    Shape("ellipse", (96, 66, 158, 124), VEGETATION, (62, 122, 52)),
    Shape("rect", (0, 150, 256, 170), SIDEWALK, (176, 174, 168)),
    Shape("rect", (0, 170, 256, 256), ROAD, (98, 98, 104)),
    Shape("polygon", (44, 196, 62, 168, 122, 168, 142, 196), CAR, (120, 20, 26)),
    Shape("polygon", (64, 192, 74, 174, 112, 174, 122, 192), CAR, (164, 196, 220)),
    Shape("rect", (16, 192, 166, 222), CAR, (196, 38, 44)),
    Shape("ellipse", (34, 208, 64, 238), CAR, (26, 26, 30)),
    Shape("ellipse", (118, 208, 148, 238), CAR, (26, 26, 30)),
)
DIAGONAL = (SIZE, 0, 0, SIZE)  # the cut: label colours above it, photo colours below
DIAGONAL_COLOUR: RGB = (255, 255, 255)


def _draw_scene(draw: ImageDraw.ImageDraw, palette: str, scale: int) -> None:
    for shape in SHAPES:
        colour = shape.label if palette == "label" else shape.photo
        coords = [value * scale for value in shape.coords]
        if shape.kind == "rect":
            draw.rectangle(coords, fill=colour)
        elif shape.kind == "ellipse":
            draw.ellipse(coords, fill=colour)
        else:
            draw.polygon(coords, fill=colour)


def icon_png(size: int = SIZE) -> bytes:
    """The icon as a ``size``×``size`` RGBA PNG file's bytes (transparent outside the rounded square)."""
    big = SIZE * SUPERSAMPLE
    halves = {}
    for palette in ("label", "photo"):
        image = Image.new("RGB", (big, big))
        _draw_scene(ImageDraw.Draw(image), palette, SUPERSAMPLE)
        halves[palette] = image
    below = Image.new("L", (big, big), 0)
    ImageDraw.Draw(below).polygon([(big, 0), (big, big), (0, big)], fill=255)
    scene = Image.composite(halves["photo"], halves["label"], below)
    ImageDraw.Draw(scene).line(
        [value * SUPERSAMPLE for value in DIAGONAL], fill=DIAGONAL_COLOUR, width=3 * SUPERSAMPLE
    )
    alpha = Image.new("L", (big, big), 0)
    ImageDraw.Draw(alpha).rounded_rectangle((0, 0, big - 1, big - 1), CORNER * SUPERSAMPLE, fill=255)
    scene.putalpha(alpha)
    buffer = BytesIO()
    scene.resize((size, size), Image.Resampling.LANCZOS).save(buffer, format="PNG")
    return buffer.getvalue()
