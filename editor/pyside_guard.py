"""A guard against a reference-count bug in some PySide6 builds that aborts CPython < 3.12.

With PySide6-Essentials / shiboken6 6.12.0 on CPython 3.11, every call of a void Qt method from
Python (``label.setText(…)``, ``widget.update()``) returns ``None`` without a new reference, and
every ``Signal.emit(…)`` does the same with ``True``. Each call lowers the singleton's reference
count by one; after some thousands of calls the interpreter stops with "Fatal Python error:
none_dealloc" (or bool_dealloc). A long editing session, or 500 strokes in the stress test, gets
there. CPython 3.12 made these singletons immortal, so the bug is harmless there.

:func:`protect_singletons` checks whether the running PySide6 has the bug and, only then, gives
``None``, ``True`` and ``False`` a very large reference count, as 3.12 does: a leak of one per
call can then never bring them to zero. It is idempotent and a no-op elsewhere.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_MARGIN = 1 << 40  # far more calls than any session makes
_applied = False


def _leaks() -> dict[str, int]:
    """How much one void call and one emit lower the singletons' counts (0: no bug)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    calls = 64
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(calls):
        probe.setObjectName("probe")
    none_after = sys.getrefcount(None)
    for _ in range(calls):
        probe.ping.emit()
    true_after = sys.getrefcount(True)
    return {
        "None": max(0, (none_before - none_after) // calls),
        "True": max(0, (true_before - true_after) // calls),
    }


def protect_singletons() -> bool:
    """Make None/True/False effectively immortal when the installed PySide6 leaks them; True if applied."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    leaks = _leaks()
    if not any(leaks.values()):
        return False
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += _MARGIN
    _applied = True
    import PySide6

    log.info(
        "PySide6 %s loses a reference to None/True per call (%s); guarded, as on Python 3.12",
        PySide6.__version__,
        leaks,
    )
    return True
