import json

import numpy as np
import pytest

from model.errors import ImageFileError, LabelSetError
from model.labels import LabelSet, check_instances_agree, cityscapes, class_of_instance


def test_bundled_cityscapes_table_agrees_with_cityscapesscripts():
    from cityscapesscripts.helpers.labels import labels as reference

    ours = cityscapes()
    expected = {lab.id: lab for lab in reference if lab.id >= 0}
    assert {lab.id for lab in ours.labels} == set(expected)
    for lab in ours.labels:
        ref = expected[lab.id]
        assert (lab.name, lab.color, lab.is_thing) == (ref.name, tuple(ref.color), ref.hasInstances)
    assert ours.num_classes == 35  # pix2pixHD's label_nc for Cityscapes


def test_colour_round_trip_and_shared_colours_take_the_lowest_id():
    ls = cityscapes()
    ids = np.array([[7, 8, 26], [24, 21, 23]], dtype=np.uint8)
    assert (ls.decolorize(ls.colorize(ids)) == ids).all()
    # pole (17) and polegroup (18) share a colour; black is unlabeled (0)
    assert ls.decolorize(ls.colorize(np.array([[18, 1]])))[0].tolist() == [17, 0]


def test_unknown_colour_names_the_pixel_and_file():
    rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    rgb[1, 2] = (1, 2, 3)
    with pytest.raises(ImageFileError, match=r"x=2, y=1.*a\.png|a\.png.*x=2, y=1"):
        cityscapes().decolorize(rgb, "a.png")


def test_check_ids_rejects_ids_outside_the_set():
    with pytest.raises(ImageFileError, match="34"):
        cityscapes().check_ids(np.array([[7, 34]]))
    with pytest.raises(ImageFileError, match="200"):
        cityscapes().check_ids(np.array([[200]]))
    cityscapes().check_ids(np.array([[0, 33]]))


def test_custom_json_label_set(tmp_path):
    data = {
        "name": "faces",
        "labels": [
            {"id": 0, "name": "background", "color": [0, 0, 0]},
            {"id": 1, "name": "skin", "color": [200, 150, 120]},
            {"id": 2, "name": "eye", "color": [0, 0, 255], "is_thing": True},
        ],
    }
    path = tmp_path / "faces.json"
    path.write_text(json.dumps(data))
    ls = LabelSet.load(path)
    assert (
        ls.num_classes == 3 and ls.by_name("eye").is_thing and ls.thing_mask.tolist() == [False, False, True]
    )
    ls.save(tmp_path / "again.json")
    assert LabelSet.load(tmp_path / "again.json") == ls


@pytest.mark.parametrize(
    "text, match",
    [
        ("{", "cannot read"),
        ('{"labels": [{"id": 0, "name": "a", "color": [0, 0, 999]}]}', "outside 0..255"),
        (
            '{"labels": [{"id": 0, "name": "a", "color": [0, 0, 0]}, {"id": 0, "name": "b", "color": [1, 1, 1]}]}',
            "repeats",
        ),
        ('{"labels": [{"id": 1, "name": "a", "color": [0, 0, 0]}]}', "unlabeled"),
        ("[]", "not a valid label set"),
    ],
)
def test_bad_label_set_files_give_one_clear_error(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(LabelSetError, match=match) as info:
        LabelSet.load(path)
    assert "bad.json" in str(info.value) and "\n" not in str(info.value)


def test_instance_classes_and_agreement():
    inst = np.array([[26001, 26002, 7], [24000, 11, 11]])
    assert class_of_instance(inst).tolist() == [[26, 26, 7], [24, 11, 11]]
    check_instances_agree(np.array([[26, 26, 7], [24, 11, 11]]), inst)
    with pytest.raises(ImageFileError, match="26002"):
        check_instances_agree(np.array([[26, 27, 7], [24, 11, 11]]), inst)


def test_convert_labels_command_both_ways(tmp_path):
    from PIL import Image

    import main

    ids = np.array([[7, 8, 26, 26], [23, 21, 11, 0]], dtype=np.uint8)
    Image.fromarray(ids).save(tmp_path / "ids.png")
    assert (
        main.main(["convert-labels", str(tmp_path / "ids.png"), str(tmp_path / "c.png"), "--to", "color"])
        == 0
    )
    colour = np.array(Image.open(tmp_path / "c.png"))
    assert colour.shape == (2, 4, 3) and tuple(colour[0, 2]) == (0, 0, 142)
    assert (
        main.main(["convert-labels", str(tmp_path / "c.png"), str(tmp_path / "back.png"), "--to", "ids"]) == 0
    )
    assert np.array_equal(np.array(Image.open(tmp_path / "back.png")), ids)
