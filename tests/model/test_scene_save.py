"""A scene save is one transaction: stopped at any step (a simulated kill or a full disk), Open finds the
whole old scene or the whole new one, says what it healed, and the next save leaves no temporary file."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from support.scenes import scene_of

from model import atomic_files
from model.atomic_files import Lock, folder_lock, tidy_folder
from model.errors import ImageFileError
from model.labels import cityscapes
from model.scene_io import Scene, atomic_write_bytes, load_scene, open_scene, save_scene, write_pngs

NAMES = ("s_labelIds.png", "s_instanceIds.png", "s_styles.json")


def same(a: Scene, b: Scene) -> bool:
    return (
        a.labels.dtype == b.labels.dtype
        and np.array_equal(a.labels, b.labels)
        and a.instances.dtype == b.instances.dtype
        and np.array_equal(a.instances, b.instances)
        and a.styles == b.styles
    )


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# one save of a scene over another, as the hook sees it: three files staged, the folder synced, the record
# staged and renamed into place (the commit point), three renames, the record removed
STEPS = (
    ["stage", "staged"] * 3
    + ["synced", "stage", "staged", "commit", "committed"]
    + ["rename", "renamed"] * 3
    + ["finish", "finished"]
)
COMMIT = STEPS.index("commit")


def nth(step: str, n: int) -> int:
    """Index of the n-th (from 0) occurrence of a step."""
    return [i for i, s in enumerate(STEPS) if s == step][n]


class Killed(BaseException):
    """Stands for SIGKILL at one step: no except clause of the writer catches it, nothing after it runs."""


def save_steps(folder: Path) -> list[tuple[str, str]]:
    """The steps of one save of a scene over an existing one, as the hook sees them."""
    save_scene(scene_of(1), folder / NAMES[0])
    seen: list[tuple[str, str]] = []
    atomic_files.step_hook = lambda step, path: seen.append((step, path.name))
    try:
        save_scene(scene_of(2), folder / NAMES[0])
    finally:
        atomic_files.step_hook = None
    return seen


@pytest.fixture
def hook():
    yield
    atomic_files.step_hook = None


def stop_at(index: int, error: BaseException):
    calls = {"n": 0}

    def hook(step: str, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == index + 1:
            raise error

    return hook


def test_steps_stage_all_then_commit_then_rename(tmp_path, hook) -> None:
    steps = save_steps(tmp_path)
    assert [s for s, _ in steps] == STEPS
    assert [n for s, n in steps if s == "rename"] == list(NAMES)
    assert listing(tmp_path) == sorted(NAMES)  # a finished save leaves only the Cityscapes files


def test_killed_at_every_step_opens_old_or_new_and_heals(tmp_path, hook) -> None:
    steps, commit = STEPS, COMMIT
    old, new, third = scene_of(1), scene_of(2), scene_of(3)
    yielded = []
    for k in range(len(steps)):
        folder = tmp_path / f"k{k:02d}"
        folder.mkdir()
        save_scene(old, folder / NAMES[0])
        atomic_files.step_hook = stop_at(k, Killed())
        with pytest.raises(Killed):
            save_scene(new, folder / NAMES[0])
        atomic_files.step_hook = None
        left = [n for n in listing(folder) if n not in NAMES]
        opened = open_scene(folder / NAMES[0], cityscapes())
        expected = new if k > commit else old  # the record's rename is the commit point
        assert same(opened.scene, expected), (k, steps[k])
        if k > commit and any(n.endswith(".commit") for n in left):
            assert opened.notice == "an interrupted save was completed"
        elif left:
            assert opened.notice == "an interrupted save was rolled back", (k, left)
        else:
            assert opened.notice is None
        assert listing(folder) == sorted(NAMES), (k, listing(folder))  # Open healed it: nothing else left
        yielded.append((f"{k}:{steps[k]}", "new" if expected is new else "old", opened.notice))
        save_scene(third, folder / NAMES[0])
        assert listing(folder) == sorted(NAMES)
    print(f"\n{len(steps)} kill points: {yielded}")
    assert {y[1] for y in yielded} == {"old", "new"}
    assert {y[2] for y in yielded} == {
        None,
        "an interrupted save was completed",
        "an interrupted save was rolled back",
    }


def test_killed_save_is_tidied_by_the_next_save_without_an_open(tmp_path, hook) -> None:
    save_scene(scene_of(1), tmp_path / NAMES[0])
    for k in (nth("stage", 1), nth("rename", 1)):  # while staging (no record); between two renames (a record)
        atomic_files.step_hook = stop_at(k, Killed())
        with pytest.raises(Killed):
            save_scene(scene_of(2), tmp_path / NAMES[0])
        atomic_files.step_hook = None
        assert len(listing(tmp_path)) > 3
        save_scene(scene_of(4), tmp_path / NAMES[0])
        assert listing(tmp_path) == sorted(NAMES)
        assert same(load_scene(tmp_path / NAMES[0], cityscapes()), scene_of(4))


def test_full_disk_at_every_step(tmp_path, hook) -> None:
    """A full disk before the commit point: a one-line error, the old files byte-identical, no temporary
    file. After it (only the hook can fail there): an error, and Open completes the save."""
    steps, commit = STEPS, COMMIT
    old, new = scene_of(1), scene_of(2)
    for k in range(len(steps)):
        folder = tmp_path / f"k{k:02d}"
        folder.mkdir()
        written = save_scene(old, folder / NAMES[0])
        before = {p.name: p.read_bytes() for p in written}
        atomic_files.step_hook = stop_at(k, OSError(errno.ENOSPC, "No space left on device"))
        with pytest.raises(ImageFileError) as info:
            save_scene(new, folder / NAMES[0])
        atomic_files.step_hook = None
        message = str(info.value)
        assert "\n" not in message and "No space left on device" in message
        if k <= commit:
            assert message.startswith(str(folder)) and "cannot write" in message
            assert {n: (folder / n).read_bytes() for n in NAMES} == before, k
            assert listing(folder) == sorted(NAMES), (k, listing(folder))
            assert same(load_scene(folder / NAMES[0], cityscapes()), old)
        else:
            assert "completed the next time" in message
            assert same(load_scene(folder / NAMES[0], cityscapes()), new)
            assert listing(folder) == sorted(NAMES)


def test_a_real_full_disk_between_two_files(tmp_path, monkeypatch) -> None:
    """ENOSPC from the file system itself (fsync of the k-th staged file)."""
    old, new = scene_of(1), scene_of(2)
    for k in range(3):
        folder = tmp_path / f"k{k}"
        folder.mkdir()
        written = save_scene(old, folder / NAMES[0])
        before = {p.name: p.read_bytes() for p in written}
        calls, real = [], os.fsync

        def fsync(fd, k=k, calls=calls, real=real):
            calls.append(fd)
            if len(calls) == k + 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(ImageFileError, match=f"{NAMES[k]}: cannot write \\(No space left on device\\)"):
            save_scene(new, folder / NAMES[0])
        monkeypatch.undo()
        assert {n: (folder / n).read_bytes() for n in NAMES} == before and listing(folder) == sorted(NAMES)


def test_files_of_other_tools_open_as_today_and_are_never_removed(tmp_path) -> None:
    from PIL import Image

    scene = scene_of(5)
    Image.fromarray(scene.labels).save(tmp_path / NAMES[0])
    Image.fromarray(scene.instances.astype(np.uint16)).save(tmp_path / NAMES[1])
    foreign = [
        ".s_labelIds.png.tmp",
        ".DS_Store",
        ".s_labelIds.png.abc.tmp",
        "notes.tmp",
        ".x.p2p-12-ab.part",
    ]
    for name in foreign:
        (tmp_path / name).write_bytes(b"not ours")
    old = time.time() - 10 * atomic_files.STALE_AFTER_S
    for name in foreign:
        os.utime(tmp_path / name, (old, old))
    opened = open_scene(tmp_path / NAMES[0], cityscapes())
    assert opened.notice is None and opened.scene.styles == {}
    assert np.array_equal(opened.scene.labels, scene.labels)
    save_scene(scene_of(6), tmp_path / NAMES[0])
    assert tidy_folder(tmp_path).removed == []
    assert sorted(foreign) == [n for n in listing(tmp_path) if n not in NAMES]


def test_own_leftovers_removed_by_pattern_and_age(tmp_path) -> None:
    """Under the folder's lock an own file belongs to a dead writer; the older pattern goes by age only."""
    save_scene(scene_of(1), tmp_path / NAMES[0])
    own = tmp_path / ".other_labelIds.png.p2p-4242-k3j_x9a2.tmp"
    young_legacy = tmp_path / ".other_labelIds.png.k3j_x9a2.tmp"
    old_legacy = tmp_path / ".stress_instanceIds.png.ab12cd34.tmp"
    for path in (own, young_legacy, old_legacy):
        path.write_bytes(b"half")
    stale = time.time() - 2 * atomic_files.STALE_AFTER_S
    os.utime(old_legacy, (stale, stale))
    removed = tidy_folder(tmp_path).removed  # what the editor does at start-up
    assert sorted(removed) == sorted([own, old_legacy]) and young_legacy.exists()


def test_without_a_lock_only_old_own_files_are_dead(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(atomic_files, "_open_folder", lambda folder: None)  # Windows, or no flock here
    young = tmp_path / ".a_labelIds.png.p2p-1-aaaaaaaa.tmp"
    old = tmp_path / ".a_labelIds.png.p2p-1-bbbbbbbb.tmp"
    young.write_bytes(b"x")
    old.write_bytes(b"x")
    stale = time.time() - 2 * atomic_files.STALE_AFTER_S
    os.utime(old, (stale, stale))
    assert tidy_folder(tmp_path).removed == [old] and young.exists()


def test_a_live_writer_keeps_its_files(tmp_path) -> None:
    """While another writer holds the folder, start-up tidying leaves the folder alone."""
    live = tmp_path / ".a_labelIds.png.p2p-1-cccccccc.tmp"
    live.write_bytes(b"being written")
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with folder_lock(tmp_path) as lock:
            assert lock is Lock.HELD
            held.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert held.wait(10)
    try:
        assert tidy_folder(tmp_path, timeout_s=0.05).removed == [] and live.exists()
    finally:
        release.set()
        thread.join()
    assert tidy_folder(tmp_path).removed == [live]


def test_tidying_at_start_up_leaves_a_committed_save_for_open_to_complete(tmp_path, hook) -> None:
    save_scene(scene_of(1), tmp_path / NAMES[0])
    atomic_files.step_hook = stop_at(nth("rename", 2), Killed())  # after the second rename
    with pytest.raises(Killed):
        save_scene(scene_of(2), tmp_path / NAMES[0])
    atomic_files.step_hook = None
    assert tidy_folder(tmp_path).removed == []
    opened = open_scene(tmp_path / NAMES[0], cityscapes())
    assert opened.notice == "an interrupted save was completed" and same(opened.scene, scene_of(2))


def test_a_damaged_staged_file_is_not_put_in_place(tmp_path, hook) -> None:
    save_scene(scene_of(1), tmp_path / NAMES[0])
    atomic_files.step_hook = stop_at(COMMIT + 1, Killed())  # committed, no file renamed yet
    with pytest.raises(Killed):
        save_scene(scene_of(2), tmp_path / NAMES[0])
    atomic_files.step_hook = None
    staged = next(tmp_path.glob(".s_styles.json.p2p-*.tmp"))
    staged.write_bytes(b"{}")
    opened = open_scene(tmp_path / NAMES[0], cityscapes())
    assert opened.notice is not None
    assert opened.notice.startswith("an interrupted save could not be completed (")
    assert "does not match its commit record" in opened.notice
    assert same(opened.scene, Scene(scene_of(2).labels, scene_of(2).instances, scene_of(1).styles))
    assert listing(tmp_path) == sorted(NAMES)


def test_gtfine_names_and_formats_are_kept(tmp_path) -> None:
    from PIL import Image

    label = tmp_path / "aachen_000000_000019_gtFine_labelIds.png"
    save_scene(scene_of(3), label)
    assert listing(tmp_path) == sorted(
        [label.name, "aachen_000000_000019_gtFine_instanceIds.png", "aachen_000000_000019_gtFine_styles.json"]
    )
    with Image.open(label) as img:
        assert img.mode == "L"
    with Image.open(tmp_path / "aachen_000000_000019_gtFine_instanceIds.png") as img:
        assert img.mode in ("I;16", "I")


def test_several_exports_are_one_set(tmp_path, hook) -> None:
    paths = [tmp_path / "a_render.png", tmp_path / "a_labels_color.png", tmp_path / "a_compare.png"]
    old = [np.full((4, 6, 3), v, np.uint8) for v in (1, 2, 3)]
    new = [np.full((4, 6, 3), v, np.uint8) for v in (7, 8, 9)]
    write_pngs(dict(zip(paths, old, strict=True)))
    old_bytes = [p.read_bytes() for p in paths]
    atomic_files.step_hook = stop_at(COMMIT, Killed())  # staged and synced, the record not yet in place
    with pytest.raises(Killed):
        write_pngs(dict(zip(paths, new, strict=True)))
    atomic_files.step_hook = None
    assert [p.read_bytes() for p in paths] == old_bytes
    write_pngs(dict(zip(paths, new, strict=True)))
    assert listing(tmp_path) == sorted(p.name for p in paths)
    with pytest.raises(ValueError, match="one folder"):
        write_pngs({tmp_path / "x.png": old[0], tmp_path / "sub" / "y.png": old[0]})


def test_one_file_write_steps_and_no_litter_on_failure(tmp_path, hook) -> None:
    path = tmp_path / "render.png"
    seen: list[str] = []
    atomic_files.step_hook = lambda step, p: seen.append(step)
    atomic_write_bytes(path, b"old")
    assert seen == ["stage", "staged", "rename", "renamed"]
    atomic_files.step_hook = stop_at(1, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(ImageFileError, match="render.png: cannot write"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old" and listing(tmp_path) == ["render.png"]
