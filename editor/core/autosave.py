"""Autosave and crash recovery, without Qt.

Each running editor owns one *slot*: a folder ``session-<pid>-<time>`` in the recovery folder
(``$P2P_RECOVERY_DIR``, else ``<user data dir>/recovery`` from platformdirs). The slot holds a lock
file, locked for the life of the session, and the autosaved scene. A write is crash-safe as a
whole: the three scene files go to a new generation (``gen-000007_labelIds.png`` …), with the
anomaly mask layer as ``gen-000007_anomalyMasks.png`` when it holds masks, as one atomic set, and
only then does ``meta.json`` (written atomically too) point at that generation; older
generations are removed last. A crash at any moment leaves ``meta.json`` naming a complete
generation. meta.json lists every file of the generation with its digest, so a copy without a layer
file (an empty layer, or a copy written before the layer was autosaved) recovers an empty layer.

A slot whose lock is free belongs to an editor that ended without a clean exit: that is what
:meth:`RecoveryStore.discover` offers. A clean exit or an explicit save clears the session's slot.

:class:`AutosavePolicy` decides when to write (every ``interval_s`` seconds or ``max_edits``
edits, whichever comes first, only with unsaved edits) and :class:`AutosaveWriter` writes off the
caller's thread, newest request first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from editor.core.anomaly_layer import layer_path, read_layer, save_scene_with_layer
from model.errors import EditorError
from model.labels import LabelSet
from model.scene_io import Scene, atomic_write_bytes, load_scene

log = logging.getLogger(__name__)

APP_NAME = "pix2pixhd-editor"
RECOVERY_ENV = "P2P_RECOVERY_DIR"
META_NAME = "meta.json"
LOCK_NAME = "lock"
META_VERSION = 1


class RecoveryError(EditorError):
    """A recovery copy is unreadable or does not fit the editor's label set."""


def recovery_folder() -> Path:
    """``$P2P_RECOVERY_DIR`` if set, else ``<platform user data dir>/recovery``."""
    override = os.environ.get(RECOVERY_ENV)
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "recovery"


# ----- locks --------------------------------------------------------------------------------------
class SlotLock:
    """An exclusive, non-blocking lock on a slot's lock file; the OS drops it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> bool:
        if self._handle is not None:
            return True
        try:
            handle = open(self.path, "a+b")  # noqa: SIM115 - kept open while the lock is held
        except OSError:
            return False
        if not _lock_file(handle):
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            _unlock_file(self._handle)
            self._handle.close()
            self._handle = None


def _lock_file(handle: IO[bytes]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock_file(handle: IO[bytes]) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        pass


# ----- entries ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecoveryEntry:
    """One recoverable autosave: where it is and what it holds."""

    slot: Path
    generation: int
    saved_at: float  # seconds since the epoch
    source: Path | None  # the scene file the user was editing, None for an unsaved new scene
    label_set: str
    width: int
    height: int
    edits: int  # unsaved edits it holds
    digests: dict[str, str]  # file name → sha256 of its bytes

    @property
    def label_path(self) -> Path:
        return self.slot / f"{_gen_stem(self.generation)}_labelIds.png"

    @property
    def anomaly_path(self) -> Path | None:
        """The generation's anomaly mask layer; None when the copy has none (an empty layer)."""
        path = layer_path(self.label_path)
        return path if path.name in self.digests else None

    @property
    def name(self) -> str:
        return self.source.name if self.source is not None else "Untitled scene"

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        edits = f"{self.edits} unsaved edit" + ("" if self.edits == 1 else "s")
        return f"{self.name} — autosaved {when}, {self.width}×{self.height}, {edits}"


def _gen_stem(generation: int) -> str:
    return f"gen-{generation:06d}"


def _gen_of(name: str) -> int | None:
    if not name.startswith("gen-"):
        return None
    try:
        return int(name[4:10])
    except ValueError:
        return None


def _read_entry(slot: Path) -> RecoveryEntry:
    meta_path = slot / META_NAME
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("version") != META_VERSION:
            raise ValueError(f"unknown version {meta.get('version')!r}")
        source = meta.get("source")
        return RecoveryEntry(
            slot=slot,
            generation=int(meta["generation"]),
            saved_at=float(meta["saved_at"]),
            source=Path(source) if source else None,
            label_set=str(meta["label_set"]),
            width=int(meta["width"]),
            height=int(meta["height"]),
            edits=int(meta.get("edits", 0)),
            digests={str(k): str(v) for k, v in dict(meta["digests"]).items()},
        )
    except FileNotFoundError:
        raise RecoveryError("recovery copy has no meta.json", slot) from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise RecoveryError(
            f"recovery copy is unreadable ({exc.__class__.__name__}: {exc})", meta_path
        ) from None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_digest(entry: RecoveryEntry, name: str) -> None:
    path = entry.slot / name
    try:
        actual = _sha256(path)
    except OSError as exc:
        raise RecoveryError(f"recovery file is missing ({exc.strerror or exc})", path) from None
    if actual != entry.digests[name]:
        raise RecoveryError("recovery file is damaged (checksum mismatch)", path)


# ----- the store ----------------------------------------------------------------------------------
class RecoveryStore:
    """This session's slot (written lazily, on the first autosave) plus discovery of crashed ones."""

    def __init__(self, folder: Path | None = None, session: str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else recovery_folder()
        self.session = session or f"session-{os.getpid()}-{time.time_ns()}"
        self.slot = self.folder / self.session
        self._lock = SlotLock(self.slot / LOCK_NAME)
        self._generation = 0
        self._mutex = threading.Lock()  # write / clear / close may come from the writer thread

    # ----- this session -------------------------------------------------------------------------
    def write(
        self,
        scene: Scene,
        source: Path | None,
        label_set: str,
        edits: int = 0,
        anomaly: np.ndarray | None = None,
    ) -> RecoveryEntry:
        """Write a new generation, then point meta.json at it; raises EditorError on failure.

        ``anomaly``: the anomaly mask layer's ids (H×W uint8, the scene's size), None when empty."""
        with self._mutex:
            self._open_slot()
            self._generation += 1
            stem = _gen_stem(self._generation)
            written = save_scene_with_layer(scene, self.slot / f"{stem}_labelIds.png", anomaly)
            digests = {p.name: _sha256(p) for p in written}
            meta = {
                "version": META_VERSION,
                "generation": self._generation,
                "saved_at": time.time(),
                "source": str(source) if source is not None else None,
                "label_set": label_set,
                "width": scene.size[0],
                "height": scene.size[1],
                "edits": edits,
                "digests": digests,
                "pid": os.getpid(),
            }
            atomic_write_bytes(self.slot / META_NAME, json.dumps(meta, indent=1).encode("utf-8"))
            self._remove_old_generations(self._generation)
            log.debug("autosaved generation %d to %s", self._generation, self.slot)
            return _read_entry(self.slot)

    def clear(self) -> None:
        """Remove this session's recovery copy (after a save or on a clean exit)."""
        with self._mutex:
            if not self.slot.exists():
                return
            self._lock.release()
            shutil.rmtree(self.slot, ignore_errors=True)
            log.debug("cleared recovery copy %s", self.slot)

    def close(self) -> None:
        """Let go of the slot's lock and keep its files, as a crash would."""
        with self._mutex:
            self._lock.release()

    @property
    def has_copy(self) -> bool:
        return (self.slot / META_NAME).exists()

    def current(self) -> RecoveryEntry | None:
        """This session's own recovery copy, if it has one."""
        return _read_entry(self.slot) if self.has_copy else None

    def _open_slot(self) -> None:
        try:
            self.slot.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecoveryError(
                f"cannot create the recovery folder ({exc.strerror or exc})", self.slot
            ) from None
        if not self._lock.acquire():
            raise RecoveryError("cannot lock the recovery folder", self.slot)

    def _remove_old_generations(self, keep: int) -> None:
        for path in self.slot.iterdir():
            gen = _gen_of(path.name)
            if gen is not None and gen != keep:
                try:
                    path.unlink()
                except OSError as exc:
                    log.debug("cannot remove %s: %s", path, exc)

    # ----- other sessions -----------------------------------------------------------------------
    def discover(self) -> list[RecoveryEntry]:
        """Recovery copies left by editors that did not exit cleanly, newest first.

        Slots still locked (a running editor) are skipped; unlocked slots without a usable
        meta.json are removed (their files never made it into a complete generation).
        """
        if not self.folder.is_dir():
            return []
        entries: list[RecoveryEntry] = []
        for slot in sorted(self.folder.iterdir()):
            if not slot.is_dir() or slot == self.slot:
                continue
            lock = SlotLock(slot / LOCK_NAME)
            if not lock.acquire():
                continue  # a running editor's slot
            try:
                if not (slot / META_NAME).exists():
                    shutil.rmtree(slot, ignore_errors=True)
                    log.info("removed an empty recovery folder %s", slot)
                    continue
                try:
                    entries.append(_read_entry(slot))
                except RecoveryError as exc:
                    log.warning("skipping a recovery copy: %s", exc)
            finally:
                lock.release()
        entries.sort(key=lambda e: e.saved_at, reverse=True)
        return entries

    def load(self, entry: RecoveryEntry, label_set: LabelSet) -> Scene:
        """The autosaved scene, bit-exact, after checking each of its files' digests (the anomaly
        layer is read by :meth:`load_anomaly`, so a damaged layer does not cost the label work)."""
        if entry.label_set != label_set.name:
            raise RecoveryError(
                f"recovery copy is for label set '{entry.label_set}', the editor has '{label_set.name}'",
                entry.slot,
            )
        layer = entry.anomaly_path
        for name in entry.digests:
            if layer is None or name != layer.name:
                _check_digest(entry, name)
        try:
            return load_scene(entry.label_path, label_set)
        except RecoveryError:
            raise
        except EditorError as exc:
            raise RecoveryError(f"recovery copy is unreadable ({exc})", entry.slot) from None

    def load_anomaly(self, entry: RecoveryEntry) -> np.ndarray | None:
        """The autosaved anomaly mask ids (H×W uint8), bit-exact; None when the copy has no layer
        file (an empty layer, or a copy from before the layer was autosaved). A damaged or unreadable
        layer is a RecoveryError naming its file."""
        path = entry.anomaly_path
        if path is None:
            return None
        _check_digest(entry, path.name)
        try:
            ids = read_layer(entry.label_path, (entry.width, entry.height))
        except EditorError as exc:
            detail = str(exc).removeprefix(f"{exc.path}: ") if exc.path is not None else str(exc)
            raise RecoveryError(f"anomaly mask layer is unreadable ({detail})", path) from None
        if ids is None:
            raise RecoveryError("recovery file is missing", path)
        return ids

    def discard(self, entry: RecoveryEntry) -> bool:
        """Delete a crashed session's slot; False when another editor holds it now."""
        lock = SlotLock(entry.slot / LOCK_NAME)
        if entry.slot.exists() and not lock.acquire():
            return False
        lock.release()
        shutil.rmtree(entry.slot, ignore_errors=True)
        return True


# ----- when to write ------------------------------------------------------------------------------
@dataclass
class AutosavePolicy:
    """Due after ``interval_s`` seconds since the first edit not yet autosaved, or ``max_edits`` edits."""

    interval_s: float = 60.0
    max_edits: int = 50
    edits: int = 0
    first_edit_at: float | None = None

    def note_edit(self, now: float) -> None:
        self.edits += 1
        if self.first_edit_at is None:
            self.first_edit_at = now

    def due(self, now: float) -> bool:
        if self.edits <= 0 or self.first_edit_at is None:
            return False
        return self.edits >= self.max_edits or now - self.first_edit_at >= self.interval_s

    def reset(self) -> None:
        self.edits = 0
        self.first_edit_at = None


# ----- writing off the caller's thread ------------------------------------------------------------
@dataclass(frozen=True)
class _Write:
    scene: Scene
    source: Path | None
    label_set: str
    edits: int
    anomaly: np.ndarray | None = None


@dataclass(frozen=True)
class _Clear:
    pass


Job = _Write | _Clear
Report = Callable[[RecoveryEntry | None, str | None], None]  # (entry written, error message)


class AutosaveWriter:
    """One daemon thread that runs the newest pending job (a write or a clear), in order."""

    def __init__(self, store: RecoveryStore, report: Report | None = None) -> None:
        self.store = store
        self.report = report
        self._cond = threading.Condition()
        self._pending: Job | None = None
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="autosave-writer", daemon=True)
        self._thread.start()

    def submit_write(
        self, scene: Scene, source: Path | None, label_set: str, edits: int, anomaly: np.ndarray | None = None
    ) -> None:
        """Queue a write; the arrays must not change afterwards (snapshots, not the live maps)."""
        self._submit(_Write(scene, source, label_set, edits, anomaly))

    def submit_clear(self) -> None:
        self._submit(_Clear())

    def _submit(self, job: Job) -> None:
        with self._cond:
            if self._closed:
                return
            self._pending = job  # the newest job wins
            self._cond.notify_all()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._pending is not None or self._busy

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is pending or running; False on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._pending is None:
                    return
                job, self._pending = self._pending, None
                self._busy = True
            try:
                self._do(job)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _do(self, job: Job) -> None:
        entry: RecoveryEntry | None = None
        error: str | None = None
        try:
            if isinstance(job, _Write):
                entry = self.store.write(job.scene, job.source, job.label_set, job.edits, job.anomaly)
            else:
                self.store.clear()
        except EditorError as exc:
            error = f"autosave failed: {exc}"
            log.warning("%s", error)
        except Exception as exc:
            error = f"autosave failed: {exc.__class__.__name__}: {exc}"
            log.exception("autosave failed")
        if self.report is not None and (entry is not None or error is not None):
            self.report(entry, error)
