"""main.py's dispatch: unknown commands, no display, misspelt options (issue 21, items 3 and 4)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import REPO_ROOT

import cli


def test_a_mistyped_command_is_named_and_never_opens_the_editor(capsys, monkeypatch) -> None:
    monkeypatch.setattr("editor.app.main", lambda argv: pytest.fail("the editor opened"), raising=False)
    assert cli.main(["rendr"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: unknown command 'rendr' (did you mean render?)"]


def test_no_display_gives_one_error_line_not_a_qt_abort() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "display" in errors[0]
    assert "Traceback" not in done.stderr


def test_a_misspelt_option_is_named_before_missing_ones(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["render", "--lable", "x.png", "--out", "o.png"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--lable (did you mean --label?)" in err


def test_render_needs_one_scene_or_one_folder(capsys, tmp_path) -> None:
    assert cli.main(["render", "--label", "x.png", "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: use either --label with --out")


def test_help_into_a_closed_pipe_ends_quietly() -> None:
    """``--help | grep -q …`` or ``| head``: the reader may leave before the output is written."""
    child = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "main.py"), "--help"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # before the child has imported anything: its first write finds no reader
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err
