import subprocess
import sys

from support import REPO_ROOT

SCRIPT = """
import importlib, pkgutil, sys
import cli, model, editor.core
names = []
for package in (model, editor.core, cli):
    names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + '.')]
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6'))
print(len(names), 'modules;', 'qt:', qt)
sys.exit(1 if qt else 0)
"""


def test_importing_model_editor_core_and_cli_loads_no_qt():
    """model/, editor/core/ and cli/ (every command module) import without Qt."""
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert int(proc.stdout.split()[0]) >= 10
