"""Bad inputs give one clear dialog each, naming the file and the problem, and keep the open work:
broken, huge or inconsistent scene files, and a checkpoint for another label set.

Run with ``-s`` to see the dialog texts.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.files import png_header_only
from support.gui import (
    TRUCK,
    maps,
    paint_some,
    street_scene,
)
from support.scenes import toy_label_set

from model.labels import cityscapes


def _scene_files(folder: Path, labels: np.ndarray, instances: np.ndarray | None = None) -> Path:
    path = folder / "bad_labelIds.png"
    Image.fromarray(labels).save(path)
    if instances is not None:
        Image.fromarray(instances).save(folder / "bad_instanceIds.png")
    return path


def _good_labels() -> np.ndarray:
    return street_scene(64, 32).labels


def case_empty(folder: Path) -> Path:
    (folder / "empty_labelIds.png").write_bytes(b"")
    return folder / "empty_labelIds.png"


def case_garbage(folder: Path) -> Path:
    (folder / "garbage_labelIds.png").write_bytes(b"this is not an image at all")
    return folder / "garbage_labelIds.png"


def case_signature_only(folder: Path) -> Path:
    (folder / "sig_labelIds.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return folder / "sig_labelIds.png"


def case_truncated(folder: Path) -> Path:
    path = _scene_files(folder, np.random.default_rng(0).choice(np.array([7, 8, 11], np.uint8), (64, 64)))
    path.write_bytes(path.read_bytes()[:-300])
    return path


def case_one_pixel(folder: Path) -> Path:
    return _scene_files(folder, np.full((1, 1), 7, np.uint8))


def case_huge(folder: Path) -> Path:
    return png_header_only(folder / "huge_labelIds.png", 20000, 20000)


def case_instances_other_size(folder: Path) -> Path:
    return _scene_files(folder, _good_labels(), np.full((32, 65), 7, np.uint16))


def case_ids_outside_label_set(folder: Path) -> Path:
    labels = _good_labels()
    labels[3, 4] = 200
    return _scene_files(folder, labels)


def case_unknown_colour(folder: Path) -> Path:
    rgb = cityscapes().colorize(_good_labels()).copy()
    rgb[5, 6] = (1, 2, 3)
    path = folder / "colours.png"
    Image.fromarray(rgb).save(path)
    return path


def case_instance_class_disagrees(folder: Path) -> Path:
    scene = street_scene(64, 32)
    inst = scene.instances.astype(np.uint16)
    inst[20, 30] = TRUCK * 1000 + 1  # a truck id on a road pixel
    return _scene_files(folder, scene.labels, inst)


def case_missing(folder: Path) -> Path:
    return folder / "nowhere_labelIds.png"


def case_folder(folder: Path) -> Path:
    (folder / "dir_labelIds.png").mkdir()
    return folder / "dir_labelIds.png"


def case_bad_styles(folder: Path) -> Path:
    path = _scene_files(folder, _good_labels())
    (folder / "bad_styles.json").write_text('{"26000": "blue"')
    return path


BAD_FILES = {
    "empty PNG": (case_empty, "empty_labelIds.png: not a readable image"),
    "garbage bytes": (case_garbage, "garbage_labelIds.png: not a readable image"),
    "PNG signature only": (case_signature_only, "sig_labelIds.png: not a readable image"),
    "truncated PNG": (case_truncated, "bad_labelIds.png: not a readable image"),
    "1×1 image": (case_one_pixel, "bad_labelIds.png: image is 1×1; at least 2×2 is needed"),
    "20000×20000 image": (case_huge, "huge_labelIds.png: image is above the limit of 67108864 pixels"),
    "instance map of another size": (
        case_instances_other_size,
        "bad_instanceIds.png: instance map is 65×32 but the label map is 64×32",
    ),
    "label id outside the label set": (
        case_ids_outside_label_set,
        "bad_labelIds.png: label id(s) [200] are not classes of label set 'cityscapes'",
    ),
    "colour outside the label set": (
        case_unknown_colour,
        "colours.png: colour (1, 2, 3) at x=6, y=5 is not a class of label set",
    ),
    "instance class disagrees with label": (
        case_instance_class_disagrees,
        "bad_instanceIds.png: instance id 27001 at x=30, y=20 disagrees with label 7",
    ),
    "missing file": (case_missing, "nowhere_labelIds.png: file not found"),
    "a folder": (case_folder, "dir_labelIds.png: is a folder, not an image"),
    "corrupt styles JSON": (case_bad_styles, "bad_styles.json: cannot read styles file"),
}
SEEN: dict[str, str] = {}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_gives_one_line_naming_file_and_problem(window_factory, tmp_path, dialogs, case) -> None:
    build, expected = BAD_FILES[case]
    window = window_factory()
    paint_some(window, 1)
    before = maps(window)
    path = build(tmp_path)
    start = time.perf_counter()
    assert not window.files.open_path(path)
    seconds = time.perf_counter() - start
    assert len(dialogs) == 1, dialogs
    text = dialogs[0]
    SEEN[case] = text
    print(f"\n  {case}: {text!r} ({seconds * 1000:.0f} ms)")
    assert "\n" not in text and "Traceback" not in text
    assert expected in text
    assert seconds < 2.0  # refused, not frozen on (say) a 20000×20000 decode
    doc = window.state.document
    assert np.array_equal(doc.labels, before[0]) and np.array_equal(doc.instances, before[1])
    assert not window.state.stack.isClean()  # the unsaved edit is still there


def test_checkpoint_for_another_label_set_is_refused(window_factory, qtbot, tmp_path, dialogs) -> None:
    from model.checkpoint import make_random_checkpoint

    folder = make_random_checkpoint(tmp_path / "toy_model", label_set=toy_label_set())
    window = window_factory()
    before = maps(window)
    window.load_model(folder)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=60000)
    print(f"\n  checkpoint for another label set: {dialogs[0]!r}")
    assert len(dialogs) == 1 and "\n" not in dialogs[0]
    assert "toy_model" in dialogs[0] and "this model's label set cannot render the open scene" in dialogs[0]
    assert "not classes of label set 'toy'" in dialogs[0]
    assert window.worker.renderer is None and window.state.label_set.name == "cityscapes"
    assert np.array_equal(window.state.document.labels, before[0])
