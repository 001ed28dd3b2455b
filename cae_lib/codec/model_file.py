"""What a saved codec model says about its prior, read without TensorFlow.

The ``cae`` command checks a file's image count against what its payload can
hold (:func:`cae_lib.codec.entropy.check_count`) before it imports
TensorFlow, so a hostile file is refused in a fraction of a second and a few
tens of MB. That check needs the prior's scales, which sit in the
``model.weights.h5`` member of the ``.keras`` zip, under the prior layer's
variables (``loc``, ``scale``, ``rotation``, ``fingerprint`` in that order).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

_SCALE_INDEX = 1  # LatentPrior.build adds loc, scale, rotation, fingerprint


def prior_scale(path) -> np.ndarray | None:
    """The prior's per-dimension scales stored in a ``.keras`` codec model, or None if not found.

    Never raises for a file it cannot read (the caller then loads the model
    with Keras, which reports the problem properly).
    """
    import h5py

    try:
        with zipfile.ZipFile(Path(path)) as archive:
            weights = archive.read("model.weights.h5")
        with h5py.File(io.BytesIO(weights), "r") as store:
            found = [
                store[f"layers/{name}/vars/{_SCALE_INDEX}"][()]
                for name in store.get("layers", {})
                if name.startswith("latent_prior") and f"layers/{name}/vars/{_SCALE_INDEX}" in store
            ]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if len(found) != 1 or np.ndim(found[0]) != 1:
        return None
    return np.asarray(found[0], np.float64)
