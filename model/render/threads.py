"""CPU threading policy that has to be fixed before torch is imported.

On a CPU shared with other busy processes, OpenMP's default (spinning) wait policy makes every
parallel op wait for a descheduled spinning thread, so 2 threads can be an order of magnitude
slower than 1 while another process keeps the cores busy (docs/rendering.md). With
``OMP_WAIT_POLICY=PASSIVE`` idle threads sleep instead, and 2 threads cost no more than 1 (and
help when the cores are free). OpenMP reads the variable once, when torch loads it, so entry
points call ``prefer_passive_omp()`` before their first ``import torch``.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)


def prefer_passive_omp() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE unless the user chose a policy; False if torch is already loaded
    (then it is too late and the policy in force stays)."""
    if "torch" in sys.modules:
        if "OMP_WAIT_POLICY" not in os.environ:
            log.debug("torch already imported: OMP_WAIT_POLICY cannot be set any more")
        return False
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return True
