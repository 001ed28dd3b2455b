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

PRIOR_VARIABLES = ("loc", "scale", "rotation", "fingerprint")
"""The order in which ``LatentPrior.build`` adds its variables (their keys in the weights file)."""
_SCALE_INDEX = 1


def prior_arrays(path) -> dict[str, np.ndarray] | None:
    """The prior's stored arrays (``loc``, ``scale``, ``rotation``, ``fingerprint``) of a ``.keras`` codec model.

    Everything the entropy coder needs besides the networks, read with h5py
    only: the probability tables of :mod:`cae_lib.codec.entropy` come from
    these numbers, never from running a network, so any runtime that holds
    them derives the same tables. Returns None for a file it cannot read or
    that holds no single prior (the caller then loads the model with Keras,
    which reports the problem properly); never raises.
    """
    import h5py

    try:
        with zipfile.ZipFile(Path(path)) as archive:
            weights = archive.read("model.weights.h5")
        with h5py.File(io.BytesIO(weights), "r") as store:
            found = [
                {key: np.asarray(store[f"layers/{name}/vars/{i}"][()], np.float64)
                 for i, key in enumerate(PRIOR_VARIABLES) if f"layers/{name}/vars/{i}" in store}
                for name in store.get("layers", {})
                if name.startswith("latent_prior")
            ]  # fmt: skip
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if len(found) != 1 or "scale" not in found[0] or np.ndim(found[0]["scale"]) != 1:
        return None
    return found[0]


def prior_scale(path) -> np.ndarray | None:
    """The prior's per-dimension scales stored in a ``.keras`` codec model, or None (see :func:`prior_arrays`)."""
    arrays = prior_arrays(path)
    return None if arrays is None else arrays["scale"]
