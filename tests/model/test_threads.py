"""The OpenMP wait policy is set before torch loads, and never over the user's own choice."""

from __future__ import annotations

import os
import subprocess
import sys

from support import REPO_ROOT

PROBE = (
    "import os\n"
    "from model.render.threads import prefer_short_omp_spin\n"
    "print(prefer_short_omp_spin(), os.environ.get('GOMP_SPINCOUNT'), os.environ.get('KMP_BLOCKTIME'))\n"
)


def _run(code: str, **extra: str) -> str:
    env = {
        k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
    }
    env.update(extra)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_short_spin_is_set_before_torch_loads() -> None:
    assert _run(PROBE) == "True 10000 0"


def test_a_users_own_policy_is_left_alone() -> None:
    assert _run(PROBE, OMP_WAIT_POLICY="PASSIVE") == "False None None"
    assert _run(PROBE, GOMP_SPINCOUNT="5") == "False 5 None"


def test_too_late_once_torch_is_loaded() -> None:
    assert _run("import torch\n" + PROBE) == "False None None"
