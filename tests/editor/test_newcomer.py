"""The newcomer's journey (issue 21): swatches that match the canvas, selection after a fill, relabel
with a class chooser, title and model-loading wording, side-by-side view, a model switch, exports
and styles from a photo. Mouse events go to canvas.viewport()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from support.gui import BUILDING, CAR, ROAD, SKY, TRUCK, FakeRenderer, click, mouse, street_scene

from editor.canvas import STALE_TEXT, ViewMode
from editor.panels.class_chooser import ClassChooser
from model.labels import cityscapes

VEGETATION = 21


class SceneWideRenderer(FakeRenderer):
    """Like a generator with InstanceNorm: every pixel depends on the whole frame (here its
    brightness is scaled by the share of sky in the frame), so a crop rendered alone differs from
    the same crop of the full render."""

    def render(self, labels, instances, styles, seed=0):
        image = super().render(labels, instances, styles, seed).astype(np.float32)
        sky_share = float((labels == SKY).mean())
        return np.clip(image * (0.5 + sky_share), 0, 255).astype(np.uint8)


def split_sky_scene(width: int, height: int):
    scene = street_scene(width, height)
    scene.labels[: height // 3, width // 2 : width // 2 + 10] = BUILDING  # two separate pieces of sky
    scene.instances[: height // 3, width // 2 : width // 2 + 10] = BUILDING
    return scene


# ----- 1. swatches ------------------------------------------------------------------------------
def test_swatch_is_what_the_object_becomes_on_the_canvas(make_window, qtbot) -> None:
    window = make_window(SceneWideRenderer())
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)
    window.set_tool("select")
    click(window, 100, 110)  # the car
    palette = window.style_palette
    qtbot.waitUntil(lambda: len(palette.images) == 4, timeout=5000)
    x0, y0, x1, y1 = palette.box
    car = window.document.instances[y0:y1, x0:x1] == CAR * 1000
    for index in (1, 3, 0):
        palette.buttons[index].click()
        qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)
        shown = window.canvas.render_image()[y0:y1, x0:x1].astype(int)
        swatch = palette.images[index].astype(int)
        assert np.abs(shown[car] - swatch[car]).mean() <= 2.0, index
        assert window.state.stack.undoText() == f"Style {index} on car"  # the history says which


def test_style_palette_shows_a_whole_row_of_swatches(make_window, qtbot) -> None:
    window = make_window(FakeRenderer())
    window.set_tool("select")
    click(window, 100, 110)
    palette = window.style_palette
    qtbot.waitUntil(lambda: len(palette.images) == 4, timeout=5000)
    row = palette.buttons[0].height()
    assert palette.scroll.viewport().height() >= row  # other docks in the column do not squeeze it


# ----- 2. stale selection -----------------------------------------------------------------------
def test_selection_follows_a_region_filled_with_another_class(make_window, qtbot) -> None:
    window = make_window(FakeRenderer())
    scene = split_sky_scene(320, 160)
    window.state.reset_document(scene.labels, scene.instances, {}, None)
    window.set_tool("select")
    click(window, 5, 5)
    assert window.state.selection == SKY
    window.set_tool("fill")
    window.state.set_label(VEGETATION)
    click(window, 5, 5)  # the left piece of sky; the right piece is still sky
    assert window.state.selection == VEGETATION
    assert "vegetation" in window.selection_label.text()
    assert "vegetation" in window.style_palette.title.text()


def test_selection_clears_when_its_object_vanishes(make_window) -> None:
    window = make_window(FakeRenderer())
    window.set_tool("select")
    click(window, 100, 110)
    assert window.state.selection == CAR * 1000
    window.set_tool("fill")
    window.state.set_label(ROAD)
    click(window, 100, 110)  # the car becomes road
    assert window.state.selection != CAR * 1000
    assert "car" not in window.selection_label.text()


# ----- 5. relabel ---------------------------------------------------------------------------------
def test_relabel_opens_a_searchable_chooser_and_keeps_the_style(make_window) -> None:
    window = make_window(FakeRenderer())
    window.set_tool("select")
    click(window, 100, 110)
    window.state.set_style(CAR * 1000, 3)
    asked = []

    def prompt(parent, label_set, current, things_only, title):
        asked.append((current, things_only))
        chooser = ClassChooser(label_set, current, things_only, title, parent)
        chooser.search.setText("tru")
        assert [label_set.by_id(i).name for i in chooser.visible_ids()] == ["truck"]
        return chooser.chosen()

    window.class_prompt = prompt
    window.state.set_label(CAR)  # the current palette label no longer decides the new class
    window.act_relabel.trigger()
    assert asked == [(CAR, True)]
    doc = window.state.document
    new = doc.instance_at(100, 110)
    assert new // 1000 == TRUCK and doc.label_at(100, 110) == TRUCK
    assert doc.styles.get(new) == 3  # trucks have styles: the style stays
    assert window.state.selection == new
    window.state.stack.undo()
    assert doc.instance_at(100, 110) == CAR * 1000 and doc.styles.get(CAR * 1000) == 3


def test_class_chooser_lists_things_only_for_an_object() -> None:
    label_set = cityscapes()
    chooser = ClassChooser(label_set, CAR, True, "car")
    names = {label_set.by_id(i).name for i in chooser.visible_ids()}
    assert "truck" in names and "road" not in names and "sky" not in names
    chooser.search.setText("car")
    assert CAR in chooser.visible_ids() and chooser.chosen() != CAR  # listed, but not choosable
    stuff = ClassChooser(label_set, SKY, False, "sky")
    assert {"road", "truck"} <= {label_set.by_id(i).name for i in stuff.visible_ids()}


# ----- 6. wording -------------------------------------------------------------------------------
def test_window_is_titled_after_the_sample_scene(make_window) -> None:
    from model.resources import sample_scenes

    window = make_window(scene=False, size=(320, 160))
    sample = sample_scenes()[0]
    assert window.open_sample(sample)
    assert window.windowTitle().startswith(sample.name.replace("_labelIds.png", ""))
    assert "Untitled" not in window.windowTitle()


def test_status_says_loading_model_while_a_model_loads(make_window, qtbot, monkeypatch) -> None:
    import threading

    from editor import model_loader

    gate = threading.Event()

    class SlowLoader(model_loader.ModelLoader):
        def run(self) -> None:
            gate.wait(10)
            self.loaded.emit(FakeRenderer(), self.path)

    monkeypatch.setattr("editor.main_window.ModelLoader", SlowLoader)
    window = make_window()
    window.load_model(Path("somewhere/model"))
    assert window.render_label.text() == "loading model…"
    assert "Open model" not in window.render_label.text()
    gate.set()
    qtbot.waitUntil(lambda: window.worker.renderer is not None, timeout=5000)


# ----- 28.2: a model switch ---------------------------------------------------------------------
def test_old_render_is_dimmed_until_the_new_model_renders(make_window, qtbot, monkeypatch) -> None:
    window = make_window(FakeRenderer())
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)
    window.set_view(ViewMode.RENDER)
    slow = FakeRenderer(delay=1.0)
    window._on_model_loaded(slow, Path("new/model"))
    assert window.canvas.stale_render
    assert window.render_label.text() == STALE_TEXT
    # the old picture shows dimmed: darker than the frame itself
    shown = window.canvas.grab().toImage()
    centre = shown.pixelColor(shown.width() // 2, shown.height() // 4)
    frame = window.canvas.render_image()
    assert centre.lightness() < 0.8 * frame.mean()
    qtbot.waitUntil(lambda: not window.canvas.stale_render, timeout=10000)
    assert slow.calls >= 1


# ----- 9. side by side --------------------------------------------------------------------------
def test_side_by_side_is_the_default_with_one_zoom_and_a_mirrored_cursor(make_window, qtbot) -> None:
    window = make_window(FakeRenderer())
    qtbot.waitUntil(lambda: window.canvas.has_render, timeout=5000)
    assert window.canvas.view_mode is ViewMode.SIDE_BY_SIDE
    assert window.mirror.isVisible()
    canvas, mirror = window.canvas, window.mirror
    assert abs(canvas.width() - mirror.width()) <= 2  # two equal halves
    canvas.zoom_at(2.0, QPointF(100, 80))
    point = QPointF(123, 77)
    assert canvas.viewportTransform().map(point) == mirror.to_view(point)  # same zoom and pan
    mouse(window, QEvent.Type.MouseMove, 123.5, 77.5, buttons=Qt.MouseButton.NoButton)
    assert mirror.cursor is not None and abs(mirror.cursor.x() - 123.5) < 0.01
    centre = mirror.to_view(mirror.cursor)

    def brightest_near_cursor() -> int:
        image = mirror.grab().toImage()
        return max(
            image.pixelColor(int(centre.x()) + dx, int(centre.y()) + dy).lightness()
            for dx in range(-8, 9)
            for dy in (-1, 0, 1)  # the 1.2 px line may fall between two rows (antialiased)
        )

    with_cursor = brightest_near_cursor()
    mirror.cursor = None
    assert with_cursor >= 240 and with_cursor > brightest_near_cursor() + 20  # a white crosshair
    window.set_view(ViewMode.BLEND)
    assert not mirror.isVisible()


# ----- 11. exports ------------------------------------------------------------------------------
def test_exports_label_colours_and_a_side_by_side_image(make_window, qtbot, tmp_path) -> None:
    window = make_window(FakeRenderer())
    qtbot.waitUntil(lambda: window.exact_version == window.document.version, timeout=5000)
    render_path = tmp_path / "street_render.png"
    assert window.export_render(render_path)
    qtbot.waitUntil(render_path.exists, timeout=5000)
    labels_png = np.asarray(Image.open(tmp_path / "street_render_labels.png").convert("RGB"))
    assert np.array_equal(labels_png, cityscapes().colorize(window.document.labels))
    compare = tmp_path / "compare.png"
    assert window.export_compare(compare)
    qtbot.waitUntil(compare.exists, timeout=5000)
    both = np.asarray(Image.open(compare).convert("RGB"))
    assert both.shape == (160, 2 * 320 + 8, 3)
    assert np.array_equal(both[:, :320], labels_png)
    assert np.array_equal(both[:, -320:], np.asarray(Image.open(render_path).convert("RGB")))


# ----- 10. style from a photo -------------------------------------------------------------------
def test_style_from_a_photo_becomes_a_code_in_the_styles_file(make_window, qtbot, tmp_path) -> None:
    from editor.panels.photo_style import PhotoStyleDialog
    from model.render.full import Renderer
    from model.resources import default_checkpoint_dir
    from model.scene_io import read_styles

    renderer = Renderer.from_checkpoint(default_checkpoint_dir())
    scene = street_scene(256, 128)
    photo = np.zeros((128, 256, 3), np.uint8)
    photo[...] = (90, 90, 90)
    photo[scene.instances == CAR * 1000] = (200, 30, 30)  # a red car in the photo
    folder = tmp_path / "val_img"
    folder.mkdir()
    Image.fromarray(photo).save(folder / "a.png")
    (tmp_path / "val_label").mkdir()
    (tmp_path / "val_inst").mkdir()
    Image.fromarray(scene.labels).save(tmp_path / "val_label" / "a.png")
    Image.fromarray(scene.instances.astype(np.uint16)).save(tmp_path / "val_inst" / "a.png")
    dialog = PhotoStyleDialog(renderer, "car · object 26000")
    from editor.core.photo_style import guess_maps

    label, inst = guess_maps(folder / "a.png")
    assert label == tmp_path / "val_label" / "a.png" and inst == tmp_path / "val_inst" / "a.png"
    dialog.load(folder / "a.png", label, inst)
    qtbot.waitUntil(lambda: dialog.codes is not None, timeout=30000)
    dialog.pick(60, 90)  # on the car
    assert dialog.picked_instance == CAR * 1000 and dialog.code is not None
    assert len(dialog.code) == renderer.feat_num

    window = make_window(FakeRenderer())
    window.set_tool("select")
    click(window, 100, 110)
    assert window.state.set_style(window.state.selection, dialog.code)
    path = tmp_path / "scene_labelIds.png"
    assert window.files.save_to(path)
    styles = read_styles(tmp_path / "scene_styles.json")
    assert np.allclose(styles[CAR * 1000], dialog.code, atol=1e-5)
    dialog.done(0)


def car_and_truck_photo(width: int = 320, height: int = 160):
    """A street photo with a car (26000) and a truck (27000), and a code for every instance."""
    from editor.core.photo_style import PhotoCodes

    scene = street_scene(width, height)
    truck = (slice(int(height * 0.6), int(height * 0.85)), slice(int(width * 0.6), int(width * 0.85)))
    scene.labels[truck] = TRUCK
    scene.instances[truck] = TRUCK * 1000
    photo = cityscapes().colorize(scene.labels)
    ids = np.unique(scene.instances).tolist()
    codes = {i: (float(i % 7), 0.5, -0.5) for i in ids}
    return scene, PhotoCodes(photo, scene.labels, scene.instances, codes)


def test_photo_style_outlines_the_targets_class_and_warns_on_another(qtbot) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from editor.panels.photo_style import PhotoStyleDialog

    _scene, codes = car_and_truck_photo()
    dialog = PhotoStyleDialog(FakeRenderer(), "truck · object 27001", target_class=TRUCK)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.set_codes(codes)
    assert dialog.matching_instances() == [TRUCK * 1000]
    assert len(dialog.view.candidates) == 1  # the truck is outlined as the one to click
    assert "1 × truck" in dialog.info.text()
    dialog.pick(100, 110)  # the car
    assert dialog.picked_instance == CAR * 1000 and dialog.mismatch
    assert "car" in dialog.info.text() and "truck" in dialog.info.text() and "⚠" in dialog.info.text()
    assert ok.isEnabled() and ok.text() == "Use anyway"  # the user may still choose it
    dialog.pick(230, 115)  # the truck
    assert dialog.picked_instance == TRUCK * 1000 and not dialog.mismatch
    assert "⚠" not in dialog.info.text() and ok.text() == "Use this style"


def test_photo_style_without_the_targets_class_says_so(qtbot) -> None:
    from editor.panels.photo_style import PhotoStyleDialog

    _scene, codes = car_and_truck_photo()
    dialog = PhotoStyleDialog(FakeRenderer(), "bus · object 28000", target_class=28)
    qtbot.addWidget(dialog)
    dialog.set_codes(codes)
    assert dialog.matching_instances() == [] and dialog.view.candidates == []
    assert "no bus" in dialog.info.text()


def test_style_from_a_photo_of_another_class_warns_in_the_window(make_window, monkeypatch) -> None:
    from types import SimpleNamespace

    from PySide6.QtWidgets import QDialog

    from editor.panels.photo_style import PhotoStyleDialog

    class EncoderRenderer(FakeRenderer):
        feat_num = 3
        model = SimpleNamespace(encoder=object())

    scene, codes = car_and_truck_photo()
    opened: list[PhotoStyleDialog] = []
    clicks = [(100, 110), (230, 115)]  # first the photo's car, then its truck

    class ClickingDialog(PhotoStyleDialog):
        def exec(self) -> int:
            opened.append(self)
            self.set_codes(codes)
            self.pick(*clicks[len(opened) - 1])
            return QDialog.DialogCode.Accepted

    monkeypatch.setattr("editor.main_window.PhotoStyleDialog", ClickingDialog)
    window = make_window(EncoderRenderer())
    window.state.reset_document(scene.labels, scene.instances, {}, None)
    window.set_tool("select")
    click(window, 230, 115)  # the scene's truck
    assert window.state.selection == TRUCK * 1000
    assert window.photo_style_dialog()
    assert opened[0].target_class == TRUCK
    assert "may look wrong" in window.statusBar().currentMessage()
    assert window.document.styles[TRUCK * 1000] == codes.codes[CAR * 1000]  # used anyway, as chosen
    assert window.state.stack.undoText() == "Photo style on truck"
    window.statusBar().clearMessage()
    assert window.photo_style_dialog()
    assert "may look wrong" not in window.statusBar().currentMessage()
    assert window.document.styles[TRUCK * 1000] == codes.codes[TRUCK * 1000]
