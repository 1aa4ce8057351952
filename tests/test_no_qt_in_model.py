import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import importlib, pkgutil, sys
import model
names = [m.name for m in pkgutil.walk_packages(model.__path__, 'model.')]
for name in names:
    importlib.import_module(name)
qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6'))
print(len(names), 'modules;', 'qt:', qt)
sys.exit(1 if qt else 0)
"""


def test_importing_all_of_model_loads_no_qt():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert int(proc.stdout.split()[0]) >= 10
