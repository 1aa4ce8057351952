"""Autosave and crash recovery: the Qt-free store and policy, the editor's triggers, a real crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from support import REPO_ROOT
from support.crash import recovery_write_killed_at_each_step
from support.gui import CAR, SIDEWALK, drag, maps
from support.scenes import scene_of

from editor.autosave_ui import RecoveryChoice, RecoveryDialog, ask_recovery
from editor.core.autosave import (
    META_NAME,
    AutosavePolicy,
    AutosaveWriter,
    RecoveryError,
    RecoveryStore,
    recovery_folder,
)
from editor.main_window import MainWindow
from model.labels import cityscapes
from model.scene_io import Scene

ROOT = REPO_ROOT


def same_scene(a: Scene, b: Scene) -> bool:
    return (
        a.labels.dtype == b.labels.dtype
        and np.array_equal(a.labels, b.labels)
        and np.array_equal(a.instances.astype(np.int32), b.instances.astype(np.int32))
        and a.styles == b.styles
    )


# ----- Qt-free core ---------------------------------------------------------------------------------
def test_recovery_folder_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("P2P_RECOVERY_DIR", str(tmp_path / "r"))
    assert recovery_folder() == tmp_path / "r"
    monkeypatch.delenv("P2P_RECOVERY_DIR")
    assert recovery_folder().name == "recovery" and "pix2pixhd-editor" in str(recovery_folder())


def test_policy_interval_or_edit_count_whichever_first() -> None:
    policy = AutosavePolicy(interval_s=60.0, max_edits=50)
    assert not policy.due(1000.0)  # nothing unsaved
    policy.note_edit(100.0)
    assert not policy.due(159.0) and policy.due(160.0)  # 60 s after the first unsaved edit
    policy.reset()
    for i in range(49):
        policy.note_edit(200.0 + i * 0.01)
    assert not policy.due(201.0)
    policy.note_edit(201.0)
    assert policy.due(201.0)  # the 50th edit


def test_write_discover_load_bit_exact_and_live_slots_hidden(tmp_path) -> None:
    running = RecoveryStore(tmp_path)
    scene = scene_of(1)
    entry = running.write(scene, Path("/scenes/a_labelIds.png"), "cityscapes", edits=7)
    assert entry.generation == 1 and entry.edits == 7 and entry.width == 64
    other = RecoveryStore(tmp_path)
    assert other.discover() == []  # the running editor holds its slot's lock
    running.close()  # what process death does to the lock; the files stay
    found = other.discover()
    assert [e.slot for e in found] == [running.slot]
    assert found[0].source == Path("/scenes/a_labelIds.png") and "a_labelIds.png" in found[0].describe()
    assert same_scene(other.load(found[0], cityscapes()), scene)
    assert other.discard(found[0]) and not running.slot.exists()


def test_newer_generation_replaces_older_and_clear_removes_the_slot(tmp_path) -> None:
    store = RecoveryStore(tmp_path)
    store.write(scene_of(1), None, "cityscapes")
    store.write(scene_of(2), None, "cityscapes")
    names = sorted(p.name for p in store.slot.iterdir())
    assert names == [
        "gen-000002_instanceIds.png",
        "gen-000002_labelIds.png",
        "gen-000002_styles.json",
        "lock",
        "meta.json",
    ]
    store.clear()
    assert not store.slot.exists()
    store.write(scene_of(3), None, "cityscapes")  # autosaving again after a save
    assert store.has_copy


def test_autosave_killed_at_any_step_leaves_a_whole_generation(tmp_path) -> None:
    """Crash the second write at each of its steps (the scene's and meta.json's): the copy on disk is
    generation 1 or 2, whole; generation 2 once meta.json names it."""
    killed = recovery_write_killed_at_each_step(
        tmp_path, lambda store, seed: store.write(scene_of(seed), None, "cityscapes")
    )
    meta_renamed = [kill.step for kill in killed].index(("renamed", META_NAME))
    for k, kill in enumerate(killed):
        found = RecoveryStore(kill.folder).discover()
        assert len(found) == 1
        assert found[0].generation == (2 if k >= meta_renamed else 1), (k, kill.step)
        restored = RecoveryStore(kill.folder).load(found[0], cityscapes())
        assert same_scene(restored, scene_of(found[0].generation))


def test_damaged_or_foreign_copies_are_refused_with_one_line(tmp_path) -> None:
    store = RecoveryStore(tmp_path)
    store.write(scene_of(1), None, "cityscapes")
    store.close()
    entry = RecoveryStore(tmp_path).discover()[0]
    from model.labels import Label, LabelSet

    toy = LabelSet("toy", 8, (Label(0, "void", (0, 0, 0), False), Label(7, "road", (128, 64, 128), False)))
    with pytest.raises(
        RecoveryError, match="recovery copy is for label set 'cityscapes', the editor has 'toy'"
    ):
        store.load(entry, toy)
    data = bytearray(entry.label_path.read_bytes())
    data[-20] ^= 0xFF
    entry.label_path.write_bytes(bytes(data))
    with pytest.raises(RecoveryError, match="gen-000001_labelIds.png: recovery file is damaged"):
        store.load(entry, cityscapes())
    (entry.slot / META_NAME).write_text("{not json")
    assert RecoveryStore(tmp_path).discover() == []  # skipped (and logged), not a crash


def test_empty_orphan_slot_is_removed(tmp_path) -> None:
    (tmp_path / "session-1-2").mkdir()
    (tmp_path / "session-1-2" / "gen-000001_labelIds.png").write_bytes(b"half")
    assert RecoveryStore(tmp_path).discover() == []
    assert not (tmp_path / "session-1-2").exists()


def test_writer_thread_runs_newest_job_and_reports(tmp_path) -> None:
    reports = []
    store = RecoveryStore(tmp_path)
    writer = AutosaveWriter(store, lambda entry, error: reports.append((entry, error)))
    for seed in range(5):
        writer.submit_write(scene_of(seed), None, "cityscapes", seed)
    assert writer.flush(10)
    assert reports and reports[-1][1] is None and reports[-1][0].edits == 4
    assert same_scene(store.load(reports[-1][0], cityscapes()), scene_of(4))
    writer.submit_clear()
    writer.close()
    assert not store.slot.exists()


def test_writer_reports_a_full_disk_and_keeps_the_old_copy(tmp_path, monkeypatch) -> None:
    import errno

    reports = []
    store = RecoveryStore(tmp_path)
    store.write(scene_of(1), None, "cityscapes")
    writer = AutosaveWriter(store, lambda entry, error: reports.append(error))

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    writer.submit_write(scene_of(2), None, "cityscapes", 1)
    writer.flush(10)
    monkeypatch.undo()
    writer.close()
    assert len(reports) == 1 and "No space left on device" in reports[0] and "\n" not in reports[0]
    store.close()
    entry = RecoveryStore(tmp_path).discover()[0]
    assert same_scene(RecoveryStore(tmp_path).load(entry, cityscapes()), scene_of(1))


# ----- in the editor --------------------------------------------------------------------------------
def strokes(window: MainWindow, count: int, label: int = SIDEWALK, start: int = 0) -> None:
    window.set_tool("brush")
    window.state.set_label(label)
    window.state.set_brush_size(6)
    for i in range(start, start + count):
        y = 100.0 + 5 * (i % 10)
        drag(window, [(20.0 + 7 * i, y), (40.0 + 7 * i, y + 3), (60.0 + 7 * i, y)])


def test_editor_autosaves_after_n_edits_only_when_dirty(window_factory) -> None:
    window = window_factory()
    store = window.autosave.store
    window.autosave.policy.max_edits = 3
    strokes(window, 2)
    window.autosave.writer.flush()
    assert not store.has_copy
    strokes(window, 1, start=2)
    window.autosave.writer.flush()
    assert store.has_copy
    meta = json.loads((store.slot / META_NAME).read_text())
    assert meta["edits"] == 3 and meta["source"] is None
    for _ in range(3):
        window.state.stack.undo()  # back to the saved state: nothing unsaved, no copy
    window.autosave.writer.flush()
    assert window.state.stack.isClean() and not store.has_copy


def test_editor_autosaves_after_the_interval(window_factory, qtbot) -> None:
    window = window_factory()
    window.autosave.policy.interval_s = 0.3
    window.autosave.timer.setInterval(20)
    start = time.monotonic()
    strokes(window, 1)
    qtbot.waitUntil(lambda: window.autosave.store.has_copy, timeout=5000)
    assert time.monotonic() - start >= 0.3


def test_save_and_clean_exit_clear_the_copy(window_factory, tmp_path) -> None:
    window = window_factory()
    store = window.autosave.store
    strokes(window, 1)
    window.autosave.autosave_now(wait=True)
    assert store.has_copy
    assert window.files.save_to(tmp_path / "s_labelIds.png")
    window.autosave.writer.flush()
    assert not store.has_copy
    strokes(window, 1, start=1)
    window.autosave.autosave_now(wait=True)
    assert store.has_copy
    assert window.close()  # confirm_discard says yes: a clean exit
    assert not store.slot.exists()


def test_crash_leaves_copy_and_next_start_recovers_bit_exact(window_factory, tmp_path) -> None:
    first = window_factory()
    assert first.files.save_to(tmp_path / "street_labelIds.png")
    strokes(first, 4)
    strokes(first, 2, CAR, start=4)
    first.state.set_style(CAR * 1000 + 1, 2)
    expected = maps(first)
    first.autosave.autosave_now(wait=True)
    old_slot = first.autosave.store.slot
    first.shutdown()  # a crash: no closeEvent, so nothing is cleared; the lock goes as with process death
    assert (old_slot / META_NAME).exists()

    second = window_factory(scene=False)
    asked = []

    def prompt(parent, entries):
        asked.append(entries)
        return RecoveryChoice("recover", entries[0])

    second.recovery_prompt = prompt
    assert second.offer_recovery()
    assert len(asked) == 1 and asked[0][0].name == "street_labelIds.png"
    doc = second.state.document
    assert np.array_equal(doc.labels, expected[0]) and np.array_equal(doc.instances, expected[1])
    assert doc.styles == expected[2] and doc.labels.dtype == np.uint8 and doc.instances.dtype == np.int32
    assert doc.path == tmp_path / "street_labelIds.png"
    assert not second.state.stack.isClean() and second.windowTitle().startswith("street •")
    assert not old_slot.exists() and second.autosave.store.has_copy  # the work now lives in the new slot
    second.shutdown()
    third = window_factory(scene=False)
    third.recovery_prompt = lambda parent, entries: RecoveryChoice("discard")
    assert not third.offer_recovery()
    assert RecoveryStore(recovery_folder()).discover() == []  # discarded


def test_real_recovery_dialog_recover_and_later(window_factory, qtbot) -> None:
    first = window_factory()
    strokes(first, 2)
    expected = maps(first)
    first.autosave.autosave_now(wait=True)
    first.shutdown()
    second = window_factory(scene=False)
    seen = []

    def answer(button: str) -> None:
        dialog = next(
            w for w in QApplication.topLevelWidgets() if isinstance(w, RecoveryDialog) and w.isVisible()
        )
        seen.append([dialog.list.item(i).text() for i in range(dialog.list.count())])
        if button == "close":
            dialog.reject()
        else:
            getattr(dialog, button).click()

    QTimer.singleShot(50, lambda: answer("close"))  # Esc / close: keep it for later
    assert second.recovery_prompt is ask_recovery  # the real modal dialog
    assert not second.offer_recovery()
    assert len(RecoveryStore(recovery_folder()).discover()) == 1
    QTimer.singleShot(50, lambda: answer("recover_button"))
    assert second.offer_recovery()
    assert seen[1][0].startswith("Untitled scene — autosaved ") and "2 unsaved edits" in seen[1][0]
    doc = second.state.document
    assert np.array_equal(doc.labels, expected[0]) and np.array_equal(doc.instances, expected[1])


def test_a_50_stroke_copy_says_50_edits_in_a_dialog_wide_enough(window_factory, qtbot, tmp_path) -> None:
    """Autosaves in between (every 20 edits here) and a recovery do not reset the count of unsaved edits;
    the dialog shows each copy's scene, date, size and count without cutting the line."""
    import re

    first = window_factory(size=(640, 240))
    first.autosave.policy.max_edits = 20  # copies after 20 and 40 strokes, as the interval would make them
    assert first.files.save_to(tmp_path / "aachen_000173_000019_gtFine_labelIds.png")
    strokes(first, 50)
    assert first.state.stack.count() == 50  # each stroke is one undo step
    first.autosave.autosave_now(wait=True)
    assert first.autosave.store.current().edits == 50
    for _ in range(5):
        first.state.stack.undo()
    first.autosave.autosave_now(wait=True)
    assert first.autosave.store.current().edits == 45  # five strokes undone: 45 edits from the saved file
    for _ in range(5):
        first.state.stack.redo()
    first.autosave.autosave_now(wait=True)
    first.shutdown()

    entries = RecoveryStore(recovery_folder()).discover()
    dialog = RecoveryDialog(entries)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    text = dialog.list.item(0).text()
    print(f"\n  recovery dialog line: {text!r}, list {dialog.list.width()} px wide")
    assert re.fullmatch(
        r"aachen_000173_000019_gtFine_labelIds\.png — autosaved "
        r"\d{4}-\d\d-\d\d \d\d:\d\d, 640×240, 50 unsaved edits",
        text,
    )
    assert dialog.list.viewport().width() >= dialog.list.fontMetrics().horizontalAdvance(text)  # one line
    assert (
        dialog.list.horizontalScrollBar().maximum() == 0
        and dialog.list.visualItemRect(dialog.list.item(0)).height() < 2 * dialog.list.fontMetrics().height()
    )  # all of it, unwrapped
    dialog.close()

    second = window_factory(scene=False)
    second.recovery_prompt = lambda parent, found: RecoveryChoice("recover", found[0])
    assert second.offer_recovery()
    assert second.autosave.store.current().edits == 50  # its own copy: still 50, not 1
    strokes(second, 3, CAR, start=50)
    second.autosave.autosave_now(wait=True)
    second.shutdown()
    assert RecoveryStore(recovery_folder()).discover()[0].describe().endswith(", 53 unsaved edits")


def test_damaged_copy_shows_one_line_and_keeps_the_editor(window_factory, monkeypatch) -> None:
    first = window_factory()
    strokes(first, 1)
    first.autosave.autosave_now(wait=True)
    slot = first.autosave.store.slot
    first.shutdown()
    (slot / "gen-000001_instanceIds.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    second = window_factory()
    before = maps(second)
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    second.recovery_prompt = lambda parent, entries: RecoveryChoice("recover", entries[0])
    assert not second.offer_recovery()
    assert len(shown) == 1 and "\n" not in shown[0]
    assert shown[0].startswith("Cannot recover Untitled scene: ") and "gen-000001_instanceIds.png" in shown[0]
    assert "recovery file is damaged" in shown[0]
    assert np.array_equal(second.state.document.labels, before[0])


CRASHING_EDITOR = textwrap.dedent("""
    import os, sys
    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from editor.core.edits import BrushDab
    from editor.main_window import MainWindow
    app = QApplication([])
    window = MainWindow(QSettings(sys.argv[1], QSettings.Format.IniFormat), load_default=False, size=(256, 128))
    state = window.state
    for i in range(20):
        state.set_label([8, 11, 21, 26][i % 4])
        label, inst = state.stroke_target(10 + 11 * i, 60)
        state.begin_stroke("Brush")
        state.paint(BrushDab([(10.0 + 11 * i, 20.0), (14.0 + 11 * i, 100.0)], 4.0, label, inst))
        state.end_stroke()
    window.autosave.autosave_now(wait=True)
    np.save(sys.argv[2], state.document.labels)
    np.save(sys.argv[3], state.document.instances)
    os._exit(3)  # die at once: no close, no clean-up, no atexit
""")


def test_a_real_crash_then_recovery_in_a_new_process(window_factory, tmp_path) -> None:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        OMP_NUM_THREADS="1",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_EDITOR,
            str(tmp_path / "s.ini"),
            str(tmp_path / "l.npy"),
            str(tmp_path / "i.npy"),
        ],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr[-2000:]
    window = window_factory(scene=False)
    window.recovery_prompt = lambda parent, entries: RecoveryChoice("recover", entries[0])
    assert window.offer_recovery()
    assert np.array_equal(window.state.document.labels, np.load(tmp_path / "l.npy"))
    assert np.array_equal(window.state.document.instances, np.load(tmp_path / "i.npy"))
