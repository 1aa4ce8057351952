"""CPU threading policy that has to be fixed before torch is imported.

How long an idle OpenMP thread spins before it sleeps decides how parallel ops behave:

* spinning long (the runtimes' default) makes hand-offs between many small ops fast on idle cores,
  but on a CPU shared with other busy processes every parallel op waits for a descheduled spinning
  thread, and 2 threads can be an order of magnitude slower than 1;
* sleeping at once (``OMP_WAIT_POLICY=PASSIVE``) is safe under load but pays a wake-up for every
  op: on idle cores a full render of the bundled default took 10 % longer and a 1 % stroke 14 %;
* a short spin (libgomp's ``GOMP_SPINCOUNT=10000``) catches the quick hand-offs and then sleeps.
  It was the fastest both on idle cores and with two busy processes beside it (figures in
  docs/rendering.md).

torch's Linux wheels use libgomp, which reads ``GOMP_SPINCOUNT``; the LLVM and Intel runtimes
(other platforms) read ``KMP_BLOCKTIME`` instead, set to 0 (sleep at once, the previous passive
policy; not measured here). The runtime reads these once, when torch loads it, so entry points
call ``prefer_short_omp_spin()`` before their first ``import torch``.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

SPIN_SETTINGS = {"GOMP_SPINCOUNT": "10000", "KMP_BLOCKTIME": "0"}
USER_CHOICES = ("OMP_WAIT_POLICY", *SPIN_SETTINGS)  # any of these set: the user decides, none is touched


def prefer_short_omp_spin() -> bool:
    """Set the short-spin policy unless the user chose one; False if torch is already loaded (then
    it is too late and the policy in force stays) or the user's choice stands."""
    if any(name in os.environ for name in USER_CHOICES):
        return False
    if "torch" in sys.modules:
        log.debug("torch already imported: the OpenMP wait policy cannot be set any more")
        return False
    os.environ.update(SPIN_SETTINGS)
    return True
