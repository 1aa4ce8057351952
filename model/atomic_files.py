"""Atomic file writes: one file, or a set of files that replaces its old set all at once.

**One file** (:func:`atomic_write_bytes`): the bytes go to a temporary file in the target's folder,
are fsynced, and the temporary file is renamed over the target. A reader sees the old file or the
new one, never a part.

**A set of files** (:func:`atomic_write_files`: a scene's label, instance and styles files, or
several exports) is a small transaction in the set's folder:

1. each file is staged to its own temporary file and fsynced, then the folder is fsynced;
2. a *commit record* naming each target, its temporary file and the SHA-256 of its bytes is
   written (through a temporary file of its own) and renamed into place. That rename is the
   commit point;
3. the temporary files are renamed over their targets; then the record is removed.

A crash before the commit point leaves every old file untouched, and the staged files are litter
(rolled back). A crash after it leaves a record from which the write is completed
(:func:`reading`, :func:`tidy_folder`, or the next set written into that folder). A finished
write leaves only the targets: no extra file.

Our temporary files and records carry their own pattern, ``.<target>.p2p-<pid>-<random>.tmp``
and ``.<target>.p2p-<pid>-<random>.commit``. Every writer holds an exclusive lock on the folder
(``flock`` on the folder itself) while it writes, so a process holding that lock knows that each
such file it sees was left by a writer that died. Where no lock can be taken (Windows, some
network file systems), only files older than :data:`STALE_AFTER_S` count as dead. Nothing that
does not match these patterns is ever removed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from model.errors import ImageFileError

log = logging.getLogger(__name__)

STALE_AFTER_S = 15 * 60  # an own temporary file this old is dead even where the folder cannot be locked
LOCK_TIMEOUT_S = 30.0  # a writer waits this long for another writer in the same folder
LOCK_POLL_S = 0.005
RECORD_FORMAT = "pix2pixhd-editor commit record"
RECORD_VERSION = 1

OWN_FILE = re.compile(r"^\.(?P<target>.+)\.p2p-(?P<pid>\d+)-(?P<token>[a-z0-9_]+)\.(?P<kind>tmp|commit)$")
# what versions before the commit record left: ``.NAME_labelIds.png.k3j_x9a2.tmp`` (tempfile's 8 characters)
LEGACY_TEMP = re.compile(
    r"^\.(?P<target>.+_(?:labelIds\.png|instanceIds\.png|styles\.json))\.[a-z0-9_]{8}\.tmp$"
)

StepHook = Callable[[str, Path], None]
step_hook: StepHook | None = None
"""Tests only: called as ``step_hook(step, path)`` at each step of a write, so that a test can kill
the process (or raise a full disk) exactly between two steps. Steps: ``stage``/``staged`` (a
temporary file, named by its target), ``synced`` (the folder), ``commit``/``committed`` (the
record), ``rename``/``renamed`` (a target), ``finish``/``finished`` (the record removed)."""


def _step(name: str, path: Path) -> None:
    if step_hook is not None:
        step_hook(name, path)


def _read_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()  # read once: os.umask can only be read by setting it, which races other threads


# ----- what a crash left ------------------------------------------------------------------------
@dataclass
class Recovery:
    """What completing, rolling back or tidying found and did."""

    completed: list[Path] = field(default_factory=list)  # targets put in place from a commit record
    rolled_back: list[Path] = field(default_factory=list)  # staged files of an uncommitted write, removed
    removed: list[Path] = field(default_factory=list)  # other dead temporary files, removed
    problems: list[str] = field(default_factory=list)  # one line each: a record that could not be completed

    def merge(self, other: Recovery) -> None:
        self.completed += other.completed
        self.rolled_back += other.rolled_back
        self.removed += other.removed
        self.problems += other.problems

    @property
    def notice(self) -> str | None:
        """One line for the user, or None when nothing was interrupted."""
        if self.problems:
            return f"an interrupted save could not be completed ({self.problems[0]})"
        if self.completed:
            return "an interrupted save was completed"
        if self.rolled_back:
            return "an interrupted save was rolled back"
        return None


@dataclass(frozen=True)
class _Entry:
    target: str  # file names, in the record's folder
    temp: str
    sha256: str


def _record_bytes(entries: list[_Entry]) -> bytes:
    files = [{"target": e.target, "temp": e.temp, "sha256": e.sha256} for e in entries]
    return json.dumps({"format": RECORD_FORMAT, "version": RECORD_VERSION, "files": files}, indent=1).encode()


def _read_record(record: Path) -> list[_Entry]:
    data = json.loads(record.read_text(encoding="utf-8"))
    if data.get("format") != RECORD_FORMAT or data.get("version") != RECORD_VERSION:
        raise ValueError(f"not a version-{RECORD_VERSION} commit record")
    entries = [_Entry(str(f["target"]), str(f["temp"]), str(f["sha256"])) for f in data["files"]]
    for entry in entries:
        if Path(entry.target).name != entry.target or Path(entry.temp).name != entry.temp:
            raise ValueError("a record names files outside its folder")
    return entries


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----- the folder lock --------------------------------------------------------------------------
class Lock(Enum):
    HELD = "held"  # every own temporary file seen now belongs to a dead writer
    UNSUPPORTED = "unsupported"  # no lock on this system / file system: only age tells
    BUSY = "busy"  # another writer kept it past the timeout


@contextmanager
def folder_lock(folder: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[Lock]:
    """The folder's writer lock (``flock`` on the folder), released on exit or when the process dies."""
    fd = _open_folder(folder)
    if fd is None:
        yield Lock.UNSUPPORTED
        return
    try:
        state = _acquire(fd, timeout_s)
        yield state
    finally:
        os.close(fd)  # closing the descriptor drops the lock


def _open_folder(folder: Path) -> int | None:
    if sys.platform == "win32":
        return None
    try:
        return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None  # a missing folder: the write itself reports it


def _acquire(fd: int, timeout_s: float) -> Lock:
    if sys.platform == "win32":
        return Lock.UNSUPPORTED
    import fcntl

    end = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return Lock.HELD
        except BlockingIOError:
            if time.monotonic() >= end:
                return Lock.BUSY
            time.sleep(LOCK_POLL_S)
        except OSError:
            return Lock.UNSUPPORTED


@contextmanager
def _writer_lock(folder: Path) -> Iterator[Lock]:
    with folder_lock(folder) as state:
        if state is Lock.BUSY:
            raise ImageFileError(
                f"another program kept writing into this folder for {LOCK_TIMEOUT_S:.0f} s", folder
            )
        yield state


def _sync_folder(folder: Path) -> None:
    """fsync the folder, so that renames and new names in it survive a power cut."""
    fd = _open_folder(folder)
    if fd is None:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # folders that cannot be fsynced
            raise
    finally:
        os.close(fd)


# ----- writing ----------------------------------------------------------------------------------
def _target_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


def _stage(target: Path, data: bytes) -> Path:
    """Write ``data`` to a new own temporary file beside ``target`` and fsync it; removed on failure."""
    _step("stage", target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.p2p-{os.getpid()}-", suffix=".tmp", dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _target_mode(target))  # mkstemp makes 0600; keep the old or usual mode
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _step("staged", target)
    except Exception:
        _remove_quietly([temp])
        raise
    return temp


def _remove_quietly(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def _cannot_write(exc: OSError, path: Path) -> ImageFileError:
    return ImageFileError(f"cannot write ({exc.strerror or exc})", path)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace one file atomically: a temporary file in its folder, fsynced, renamed over it.

    A failure (read-only folder, full disk) raises ImageFileError naming the file and leaves the
    old file untouched; a process killed mid-write leaves at worst an own temporary file, which
    the next set written into that folder (or the editor's start) removes.
    """
    path = Path(path)
    with _writer_lock(path.parent):
        temp: Path | None = None
        try:
            temp = _stage(path, data)
            _step("rename", path)
            os.replace(temp, path)
            temp = None
            _step("renamed", path)
        except OSError as exc:
            _remove_quietly([temp] if temp is not None else [])
            raise _cannot_write(exc, path) from None
    # no folder fsync here: the file is whole either way, and bulk writers (datasets) keep their speed


def atomic_write_files(files: Mapping[Path, bytes]) -> None:
    """Replace a set of files in one folder all at once: after a crash at any instant, the folder
    holds the whole old set or (once completed, see the module doc) the whole new one.

    A failure before the commit point (full disk, no permission) raises ImageFileError naming the
    file being written and leaves every old file untouched and no temporary file. A failure after
    it raises ImageFileError too; the record stays, and the write is completed the next time the
    files are read through :func:`reading` or the folder is written.
    """
    files = {Path(p): data for p, data in files.items()}
    if not files:
        return
    folder = _one_folder(files)
    first = next(iter(files))
    with _writer_lock(folder) as lock:
        try:
            tidied = _tidy(folder, lock, complete=True)
            if tidied.completed or tidied.rolled_back or tidied.removed or tidied.problems:
                log.info(
                    "%s: tidied before writing: %s", folder, tidied.notice or f"{len(tidied.removed)} file(s)"
                )
        except OSError as exc:
            log.debug("%s: cannot tidy: %s", folder, exc)  # the write below reports what matters
        staged: dict[Path, Path] = {}
        current = first
        try:
            for current, data in files.items():
                staged[current] = _stage(current, data)
            current = folder
            _sync_folder(folder)
            _step("synced", folder)
            entries = [
                _Entry(t.name, staged[t].name, hashlib.sha256(d).hexdigest()) for t, d in files.items()
            ]
            current = first
            record = _commit(first, entries)
        except OSError as exc:
            _remove_quietly(staged.values())
            raise _cannot_write(exc, current) from None
        try:
            _step("committed", record)
            _sync_folder(folder)  # the record is durable before any target changes (a power cut after it)
            _complete(record, entries, verify=False)
        except OSError as exc:
            raise ImageFileError(
                f"the save stopped after its commit point ({exc.strerror or exc}); it is completed "
                "the next time these files are opened or this folder is written",
                folder,
            ) from None


def _one_folder(files: Mapping[Path, bytes]) -> Path:
    folders = {p.parent for p in files}
    if len(folders) != 1:
        raise ValueError(f"atomic_write_files writes into one folder, not {sorted(map(str, folders))}")
    return folders.pop()


def _commit(first: Path, entries: list[_Entry]) -> Path:
    """Stage the record, then rename it into place: the commit point."""
    temp = _stage(first, _record_bytes(entries))
    record = temp.with_name(temp.name[: -len(".tmp")] + ".commit")
    try:
        _step("commit", record)
        os.replace(temp, record)
    except OSError:
        _remove_quietly([temp])
        raise
    return record


def _complete(record: Path, entries: list[_Entry], verify: bool) -> list[str]:
    """Rename each staged file still there over its target, then remove the record.

    ``verify``: check each staged file (and a target already renamed) against the record's hash,
    as recovery does; returns one line per file that does not match (left as it is).
    """
    folder = record.parent
    problems: list[str] = []
    for entry in entries:
        temp, target = folder / entry.temp, folder / entry.target
        _step("rename", target)
        if not verify:
            os.replace(temp, target)
        elif temp.exists():
            if _sha256_file(temp) == entry.sha256:
                os.replace(temp, target)
            else:
                problems.append(f"{temp.name} does not match its commit record")
        elif not target.exists() or _sha256_file(target) != entry.sha256:
            problems.append(f"{target.name} was changed since")
        _step("renamed", target)
    _sync_folder(folder)
    _step("finish", record)
    record.unlink()
    _step("finished", record)
    _sync_folder(folder)
    return problems


# ----- recovery and tidying ---------------------------------------------------------------------
def _own_files(folder: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """(records, own temporary files, legacy temporary files) in the folder."""
    records: list[Path] = []
    temps: list[Path] = []
    legacy: list[Path] = []
    with os.scandir(folder) as listing:
        for item in listing:
            name = item.name
            if not name.startswith("."):
                continue
            match = OWN_FILE.match(name)
            if match is not None:
                (records if match["kind"] == "commit" else temps).append(folder / name)
            elif LEGACY_TEMP.match(name):
                legacy.append(folder / name)
    return sorted(records), sorted(temps), sorted(legacy)


def _target_of(path: Path) -> str:
    match = OWN_FILE.match(path.name) or LEGACY_TEMP.match(path.name)
    assert match is not None
    return match["target"]


def _is_dead(path: Path, lock: Lock, legacy: bool = False) -> bool:
    """An own file whose writer is gone: seen under the folder lock, or older than STALE_AFTER_S."""
    if lock is Lock.HELD and not legacy:  # versions before the lock did not take it
        return True
    try:
        return time.time() - path.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def _tidy(folder: Path, lock: Lock, complete: bool, targets: set[str] | None = None) -> Recovery:
    """Complete records (``complete``; a reader completes any, a writer dead ones), then remove dead
    own temporary files that no remaining record names. ``targets``: only those for these names."""
    result = Recovery()
    records, temps, legacy = _own_files(folder)
    kept: set[str] = set()  # temporary files named by a record that stays
    for record in records:
        try:
            entries = _read_record(record)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            if _is_dead(record, lock):
                log.warning("%s: removing an unreadable commit record (%s)", record, exc)
                _remove_quietly([record])
                result.removed.append(record)
            continue
        if targets is not None and not targets & {e.target for e in entries}:
            kept.update(e.temp for e in entries)
            continue
        if not complete or (targets is None and not _is_dead(record, lock)):  # a reader completes any
            kept.update(e.temp for e in entries)
            continue
        problems = _complete(record, entries, verify=True)
        result.completed += [folder / e.target for e in entries]
        result.problems += problems
        log.warning(
            "%s: completed an interrupted save of %s%s",
            folder,
            ", ".join(e.target for e in entries),
            f" ({'; '.join(problems)})" if problems else "",
        )
    for path in temps + legacy:
        if path.name in kept or (targets is not None and _target_of(path) not in targets):
            continue
        if not _is_dead(path, lock, legacy=path in legacy):
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        (result.rolled_back if targets is not None else result.removed).append(path)
        log.info("removed %s, left by an interrupted write", path)
    return result


@contextmanager
def reading(paths: Iterable[str | Path]) -> Iterator[Recovery]:
    """Hold the lock of the files' folder(s) while the caller reads them, after completing an
    interrupted write of them (its commit record is there) or rolling one back (only its staged
    files are there). Yields what was done; its ``notice`` is one line for the user.

    A folder that cannot be changed (read-only) is read as it is, with the problem in the notice.
    """
    by_folder: dict[Path, set[str]] = {}
    for path in map(Path, paths):
        by_folder.setdefault(path.parent, set()).add(path.name)
    with _locks(sorted(by_folder)) as locks:
        recovery = Recovery()
        for folder, lock in zip(sorted(by_folder), locks, strict=True):
            if lock is Lock.BUSY:
                log.warning("%s: another program is writing here; reading the files as they are", folder)
                continue
            try:
                recovery.merge(_tidy(folder, lock, complete=True, targets=by_folder[folder]))
            except (FileNotFoundError, NotADirectoryError):
                continue  # no folder: the read reports the missing file
            except OSError as exc:
                recovery.problems.append(exc.strerror or str(exc))
                log.warning("%s: cannot complete an interrupted save: %s", folder, exc)
        yield recovery


@contextmanager
def _locks(folders: list[Path]) -> Iterator[list[Lock]]:
    """Several folder locks, always taken in sorted order (no deadlock between two readers)."""
    if not folders:
        yield []
        return
    with folder_lock(folders[0]) as lock, _locks(folders[1:]) as rest:
        yield [lock, *rest]


def tidy_folder(folder: str | Path, complete: bool = False, timeout_s: float = 1.0) -> Recovery:
    """Remove what writers that died left in ``folder`` (their own temporary files only).

    ``complete``: also complete the interrupted writes that reached their commit point (else their
    records and staged files stay, for the next open or write of those files to complete and report).
    A folder another writer holds for longer than ``timeout_s`` is left alone.
    """
    folder = Path(folder)
    with folder_lock(folder, timeout_s) as lock:
        if lock is Lock.BUSY:
            return Recovery()
        try:
            return _tidy(folder, lock, complete=complete)
        except OSError as exc:
            log.debug("%s: cannot tidy: %s", folder, exc)
            return Recovery()
