"""Bad inputs get one clear error naming the file; nothing already written is damaged."""

import errno
import json

import numpy as np
import pytest
from PIL import Image
from support.files import png_header_only  # noqa: F401

import main
from model.checkpoint import make_random_checkpoint
from model.errors import EditorError, ImageFileError
from model.labels import cityscapes
from model.scene_io import (
    Scene,
    atomic_write_bytes,
    load_scene,
    read_label_png,
    read_png,
    save_scene,
    write_png,
)


@pytest.mark.parametrize("width, height, match", [(20000, 20000, "above the limit"), (1, 1, "at least 2×2")])
def test_size_limits_refuse_before_decoding(tmp_path, width, height, match):
    path = png_header_only(tmp_path / "big.png", width, height)
    with pytest.raises(ImageFileError, match=match):
        read_png(path)


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n", b"hello"])
def test_empty_and_garbage_pngs(tmp_path, content):
    path = tmp_path / "x_labelIds.png"
    path.write_bytes(content)
    with pytest.raises(ImageFileError, match="x_labelIds.png: not a readable image"):
        read_label_png(path, cityscapes())


def test_truncated_png(tmp_path):
    path = tmp_path / "t.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 30, (64, 64), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ImageFileError, match="t.png"):
        read_label_png(path, cityscapes())


def test_instance_map_of_another_size_and_disagreeing_class(tmp_path):
    labels = np.full((8, 8), 7, np.uint8)
    Image.fromarray(labels).save(tmp_path / "a_labelIds.png")
    Image.fromarray(np.full((8, 9), 7, np.uint16)).save(tmp_path / "a_instanceIds.png")
    with pytest.raises(
        ImageFileError, match="a_instanceIds.png: instance map is 9×8 but the label map is 8×8"
    ):
        load_scene(tmp_path / "a_labelIds.png", cityscapes())
    inst = np.full((8, 8), 7, np.uint16)
    inst[0, 0] = 26001
    Image.fromarray(inst).save(tmp_path / "a_instanceIds.png")
    with pytest.raises(ImageFileError, match="instance id 26001 at x=0, y=0 disagrees with label 7"):
        load_scene(tmp_path / "a_labelIds.png", cityscapes())


def test_full_disk_on_save_leaves_the_old_scene_whole(tmp_path, monkeypatch):
    scene = Scene(np.full((8, 8), 7, np.uint8), np.full((8, 8), 7, np.int32), {7: 1})
    paths = save_scene(scene, tmp_path / "s_labelIds.png")
    before = [p.read_bytes() for p in paths]

    import os as os_module

    real_fsync = os_module.fsync

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os_module, "fsync", full_disk)
    scene.labels[:] = 8
    scene.instances[:] = 8
    with pytest.raises(ImageFileError, match="No space left on device"):
        save_scene(scene, tmp_path / "s_labelIds.png")
    monkeypatch.setattr(os_module, "fsync", real_fsync)
    assert [p.read_bytes() for p in paths] == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no stray temp files


def test_read_only_folder(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # root ignores chmod, so simulate the refusal
    with pytest.raises(ImageFileError, match="out.png: cannot write \\(Permission denied\\)"):
        write_png(tmp_path / "out.png", np.zeros((4, 4), np.uint8))


def test_render_cli_refuses_checkpoint_for_another_label_set(tmp_path, capsys):
    ck = make_random_checkpoint(tmp_path / "ck")
    (tmp_path / "two.json").write_text(
        json.dumps(
            {
                "name": "two",
                "labels": [
                    {"id": 0, "name": "a", "color": [0, 0, 0]},
                    {"id": 1, "name": "b", "color": [9, 9, 9]},
                ],
            }
        )
    )
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "l.png")
    code = main.main(
        [
            "render",
            "--checkpoint",
            str(ck),
            "--labels-json",
            str(tmp_path / "two.json"),
            "--label",
            str(tmp_path / "l.png"),
            "--out",
            str(tmp_path / "o.png"),
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 2 and "checkpoint is for label set 'cityscapes'" in err and not (tmp_path / "o.png").exists()
    )


def test_render_cli_missing_output_folder(tmp_path, capsys):
    ck = make_random_checkpoint(tmp_path / "ck")
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(tmp_path / "l.png")
    code = main.main(
        [
            "render",
            "--checkpoint",
            str(ck),
            "--label",
            str(tmp_path / "l.png"),
            "--out",
            str(tmp_path / "no" / "o.png"),
        ]
    )
    assert code == 2 and "output folder does not exist" in capsys.readouterr().err


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")
    atomic_write_bytes(path, b"new contents")
    assert path.read_bytes() == b"new contents"


def test_errors_are_one_line_and_project_typed(tmp_path):
    with pytest.raises(EditorError) as info:
        read_png(tmp_path / "nothing.png")
    assert "\n" not in str(info.value) and "nothing.png" in str(info.value)


def test_atomic_write_keeps_normal_file_permissions(tmp_path):
    import os

    path = tmp_path / "new.png"
    atomic_write_bytes(path, b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    path.chmod(0o640)
    atomic_write_bytes(path, b"y")
    assert path.stat().st_mode & 0o777 == 0o640


def test_scene_save_stages_all_files_before_renaming_any(tmp_path, monkeypatch):
    """A full disk while writing the *last* file must leave all three old files in place."""
    import os

    scene = Scene(np.full((8, 8), 7, np.uint8), np.full((8, 8), 7, np.int32), {7: 1})
    paths = save_scene(scene, tmp_path / "s_labelIds.png")
    before = [p.read_bytes() for p in paths]
    real_fsync, calls = os.fsync, []

    def fail_third(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fail_third)
    scene.labels[:] = 8
    scene.instances[:] = 8
    scene.styles = {8: 2}
    with pytest.raises(ImageFileError, match="s_styles.json: cannot write"):
        save_scene(scene, tmp_path / "s_labelIds.png")
    assert [p.read_bytes() for p in paths] == before
