"""The editor's saves and exports lose nothing: a save killed at any step (simulated in-process at each
write step; a real SIGKILLed process is tests/e2e/test_save_kill.py) leaves the old or the new scene
for Open, which heals it and says so; a failed save or export (full disk, read-only or missing folder)
shows one line and keeps the files and the work.

Run with ``-s`` to see the dialog texts.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from support.gui import (
    CAR,
    FakeRenderer,
    maps,
    paint_some,
    street_scene,
)

from model import atomic_files
from model.labels import cityscapes
from model.scene_io import load_scene, open_scene, save_scene


# (a real process killed with SIGKILL at every step of a save: tests/e2e/test_save_kill.py)
class Killed(BaseException):
    """Stands for SIGKILL at one step of a save: nothing after it runs (no except clause catches it)."""


def kill_gui_thread_save_at(step: int) -> dict[str, int]:
    """Raise Killed at the step-th write step the GUI thread makes (the autosave thread is left alone)."""
    calls = {"n": 0}
    main = threading.main_thread()

    def hook(_name: str, _path: Path) -> None:
        if threading.current_thread() is main:
            calls["n"] += 1
            if calls["n"] == step + 1:
                raise Killed

    atomic_files.step_hook = hook
    return calls


def test_editor_save_killed_at_each_step_opens_old_or_new_keeps_the_work(window_factory, tmp_path) -> None:
    window = window_factory()
    target = tmp_path / "street_labelIds.png"
    assert window.files.save_to(target)
    names = ["street_labelIds.png", "street_instanceIds.png", "street_styles.json"]
    old_scene = load_scene(target, cityscapes())
    old = {n: (tmp_path / n).read_bytes() for n in names}
    paint_some(window, 3, CAR)
    window.state.set_style(window.state.selection, 1)
    expected = window.state.document.to_scene()
    states = []
    completed = False
    try:
        for step in range(40):
            for n in names:
                (tmp_path / n).write_bytes(old[n])
            calls = kill_gui_thread_save_at(step)
            try:
                completed = window.files.save_to(target)
            except Killed:
                completed = False
            atomic_files.step_hook = None
            if completed:
                assert window.state.stack.isClean() and calls["n"] == step  # every step was tried
                break
            assert not window.state.stack.isClean()  # the save did not finish: the work is still unsaved
            copy = window.autosave.store.current()  # written before the save began: the whole new scene
            assert copy is not None
            restored = window.autosave.store.load(copy, cityscapes())
            assert np.array_equal(restored.labels, expected.labels)
            assert np.array_equal(restored.instances, expected.instances)
            assert restored.styles == expected.styles
            opened = open_scene(target, cityscapes())  # Open heals what the kill left: old or new, whole
            is_new = np.array_equal(opened.scene.labels, expected.labels)
            reference = expected if is_new else old_scene
            assert np.array_equal(opened.scene.labels, reference.labels)
            assert np.array_equal(opened.scene.instances, reference.instances)
            assert opened.scene.styles == reference.styles
            assert sorted(p.name for p in tmp_path.glob("street*")) == sorted(names)
            assert [p.name for p in tmp_path.glob(".*")] == []  # no temporary file or record left
            states.append((step, "new" if is_new else "old", opened.notice))
    finally:
        atomic_files.step_hook = None
    print(f"\nsave killed at each of {len(states)} steps; (step, Open found, notice): {states}")
    assert completed and {s[1] for s in states} == {"old", "new"}


def test_editor_open_completes_an_interrupted_save_and_says_so(window_factory, tmp_path, dialogs) -> None:
    old, new = street_scene(96, 48), street_scene(96, 48)
    new.labels[10:20, 10:40] = CAR
    new.instances[10:20, 10:40] = CAR * 1000 + 5
    target = tmp_path / "street_labelIds.png"
    save_scene(old, target)
    kill_after_first_rename = 12  # stage/staged ×3, synced, the record staged and committed, one rename
    kill_gui_thread_save_at(kill_after_first_rename)
    try:
        with pytest.raises(Killed):
            save_scene(new, target)
    finally:
        atomic_files.step_hook = None
    assert len(list(tmp_path.glob(".street_labelIds.png.p2p-*.commit"))) == 1  # a mixed pair plus a record
    window = window_factory()
    shown: list[str] = []
    window.files.status.connect(shown.append)
    assert window.files.open_path(target)
    assert dialogs == [] and shown == [
        "Opened street_labelIds.png (96×48); an interrupted save was completed"
    ]
    doc = window.state.document
    assert np.array_equal(doc.labels, new.labels) and np.array_equal(doc.instances, new.instances)
    assert [p.name for p in tmp_path.glob(".*")] == []


def test_start_tidies_the_recent_folders_of_own_temp_files_only(window_factory, settings, tmp_path) -> None:
    target = tmp_path / "street_labelIds.png"
    save_scene(street_scene(64, 32), target)
    settings.setValue("recent_files", [str(target)])
    own = tmp_path / ".street_labelIds.png.p2p-99999-abcd1234.tmp"  # a killed write's staged file
    foreign = [tmp_path / ".street_labelIds.png.tmp", tmp_path / ".hidden", tmp_path / "x.tmp"]
    for path in [own, *foreign]:
        path.write_bytes(b"half")
    window_factory()
    assert not own.exists() and all(path.exists() for path in foreign)


def test_export_is_atomic_and_a_failed_export_keeps_the_old_image(
    window_factory, qtbot, tmp_path, dialogs, monkeypatch
) -> None:
    window = window_factory(FakeRenderer())
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)
    out = tmp_path / "render.png"
    assert window.files.export_to(out)
    old = out.read_bytes()
    paint_some(window, 2)
    qtbot.waitUntil(lambda: window.render_version == window.document.version, timeout=5000)

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert not window.files.export_to(out)
    monkeypatch.undo()
    assert dialogs == [f"{out}: cannot write (No space left on device)"]
    assert out.read_bytes() == old and [p.name for p in tmp_path.glob(".*")] == []


def full_disk(_fd):
    raise OSError(errno.ENOSPC, "No space left on device")


def read_only(*_args, **_kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.mark.parametrize("failure", ["full disk", "read-only folder", "missing folder"])
def test_failed_save_shows_one_line_keeps_files_and_work(
    window_factory, tmp_path, dialogs, monkeypatch, failure
) -> None:
    import tempfile

    window = window_factory()
    target = tmp_path / "s_labelIds.png"
    assert window.files.save_to(target)
    written = sorted(tmp_path.glob("s_*"))
    before = {p: p.read_bytes() for p in written}
    paint_some(window, 2)
    edited = maps(window)
    if failure == "full disk":
        monkeypatch.setattr(os, "fsync", full_disk)
        problem = "cannot write (No space left on device)"
    elif failure == "read-only folder":  # root ignores chmod, so the refusal is simulated
        monkeypatch.setattr(tempfile, "mkstemp", read_only)
        problem = "cannot write (Permission denied)"
    else:
        target = tmp_path / "gone" / "s_labelIds.png"
        problem = "cannot write (No such file or directory)"
    assert not window.files.save_to(target)
    monkeypatch.undo()
    print(f"\n  save, {failure}: {dialogs!r}")
    assert len(dialogs) == 1 and "\n" not in dialogs[0]
    assert dialogs[0].startswith(str(target.parent)) and problem in dialogs[0]
    assert {p: p.read_bytes() for p in written} == before  # nothing already written is damaged
    assert sorted(p.name for p in tmp_path.glob(".*")) == []  # and no temp files left behind
    assert not window.state.stack.isClean() and window.windowTitle().startswith("s •")
    assert maps(window)[0].tobytes() == edited[0].tobytes()  # the work is all still there
