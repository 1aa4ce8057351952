"""A reader for pix2pixHD's pickled ``features_clustered_010.npy`` that cannot execute code.

That file is ``np.save`` of a dict {class id: k×F cluster centres}, i.e. an object array whose
payload is a pickle. ``np.load(allow_pickle=True)`` would run whatever the pickle asks for, so
this module parses the .npy header itself and unpickles with a whitelist that admits only the
numpy reconstructors an array needs. Anything else is refused before it is called.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import CheckpointError

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load '{module}.{name}'")


def restricted_unpickle(data: bytes) -> object:
    return _ArrayOnlyUnpickler(io.BytesIO(data)).load()


def read_official_features(path: str | Path) -> dict[int, np.ndarray]:
    """Load {class id: k×F float32 centres} from an official clustered-features .npy, safely."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                _, _, dtype = np.lib.format.read_array_header_2_0(handle)
            payload = handle.read()
    except FileNotFoundError:
        raise CheckpointError("features file not found", path) from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"not a .npy file ({exc})", path) from None
    if dtype.hasobject:
        try:
            obj = restricted_unpickle(payload)
        except pickle.UnpicklingError as exc:
            raise CheckpointError(f"unsafe or corrupt pickle, not loaded: {exc}", path) from None
        except Exception as exc:  # noqa: BLE001 - any failure inside a foreign pickle is a bad file
            raise CheckpointError(f"corrupt pickle ({exc.__class__.__name__}: {exc})", path) from None
        if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
            obj = obj.item()
    else:
        raise CheckpointError("expected a pickled dict of cluster centres, found a plain array", path)
    if not isinstance(obj, dict):
        raise CheckpointError("expected a dict {class id: cluster centres}", path)
    centres: dict[int, np.ndarray] = {}
    for key, value in obj.items():
        array = np.asarray(value)
        if (
            not isinstance(key, (int, np.integer))
            or array.ndim != 2
            or not np.issubdtype(array.dtype, np.number)
        ):
            raise CheckpointError(f"entry {key!r} is not a k×F array of centres", path)
        if len(array):
            centres[int(key)] = array.astype(np.float32)
    return centres
