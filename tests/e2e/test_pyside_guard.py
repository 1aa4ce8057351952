"""A PySide6 reference-count bug that aborts Python 3.11: editor.pyside_guard keeps the interpreter alive."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from support import REPO_ROOT

ROOT = REPO_ROOT


LEAKY_CALLS = textwrap.dedent("""
    import sys
    from PySide6.QtWidgets import QApplication, QLabel
    if sys.argv[1] == "guarded":
        from editor.pyside_guard import protect_singletons
        protect_singletons()
    app = QApplication([])
    label = QLabel()
    for _ in range(300_000):  # each void call may drop a reference to None
        label.setText("x")
    print("survived", flush=True)
""")


def run_leaky_calls(mode: str) -> subprocess.CompletedProcess[str]:
    """LEAKY_CALLS in a fresh interpreter, ``mode`` "guarded" (the guard installed first) or "bare"."""
    return subprocess.run(
        [sys.executable, "-c", LEAKY_CALLS, mode],
        cwd=ROOT,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_many_qt_calls_do_not_abort_the_interpreter(tmp_path) -> None:
    """With the guard, 300 000 void Qt calls are fine; without it, a leaky PySide6 on 3.11 aborts."""
    from editor.pyside_guard import _leaks

    guarded = run_leaky_calls("guarded")
    assert guarded.returncode == 0 and "survived" in guarded.stdout, guarded.stderr[-1000:]
    leaky = sys.version_info < (3, 12) and any(_leaks().values())
    bare = run_leaky_calls("bare")
    print(
        f"\n  PySide6 leaks None/True per call here: {leaky}; unguarded run exit status {bare.returncode}: "
        f"{bare.stderr.strip().splitlines()[0] if bare.stderr.strip() else 'ok'}"
    )
    if leaky:
        assert bare.returncode != 0 and "_dealloc" in bare.stderr
    else:
        assert bare.returncode == 0
