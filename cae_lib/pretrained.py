"""Pretrained codec models shipped inside the package, checked against their manifest.

Each file ``ae_latentNN.keras`` is a model from
:func:`cae_lib.models.attach_prior` (encoder, latent prior, decoder) trained
by ``scripts/train_pretrained.py``; ``manifest.json`` records its sha256,
training settings and test-set quality. Loading refuses a file whose hash
differs from the manifest. The encoder's and decoder's weights were rounded
to float16 and are stored so (:func:`cae_lib.deploy.round_to_half_precision`),
which halves the files; they load into ordinary float32 layers.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
MANIFEST_NAME = "manifest.json"
DEFAULT_LATENT_DIM = 28


class PretrainedModelError(ValueError):
    """A pretrained model is missing, unknown or does not match its manifest."""


def model_filename(latent_dim: int) -> str:
    return f"ae_latent{latent_dim:02d}.keras"


def manifest(directory: Path = PRETRAINED_DIR) -> dict:
    """Return the manifest: ``{"models": {"28": {...}, ...}}``."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise PretrainedModelError(f"{path}: manifest not found (run scripts/train_pretrained.py)")
    return json.loads(path.read_text())


def available_latent_dims(directory: Path = PRETRAINED_DIR) -> list[int]:
    """Latent sizes for which a pretrained model is shipped, ascending."""
    return sorted(int(k) for k in manifest(directory)["models"])


def load_pretrained(latent_dim: int = DEFAULT_LATENT_DIM, *, directory: Path = PRETRAINED_DIR):
    """Load the pretrained codec model with the given latent size.

    Parameters
    ----------
    latent_dim : int, optional
        One of :func:`available_latent_dims` (default 28).
    directory : pathlib.Path, optional
        Where the models and manifest live (default: inside the package).

    Returns
    -------
    keras.Model
        A model with ``encoder``, ``prior`` and ``decoder`` layers.

    Raises
    ------
    PretrainedModelError
        Unknown latent size, missing file, or a file whose sha256 differs from
        the manifest (a corrupted or swapped file).
    """
    return _load(int(latent_dim), Path(directory).resolve())


@lru_cache(maxsize=16)
def _load(latent_dim: int, directory: Path):
    from . import layers  # imports TensorFlow quietly; registers LatentPrior for loading

    load_model = layers.keras.saving.load_model

    entries = manifest(directory)["models"]
    if str(latent_dim) not in entries:
        raise PretrainedModelError(
            f"No pretrained model with latent_dim={latent_dim}. Available: {sorted(map(int, entries))}"
        )
    entry = entries[str(latent_dim)]
    path = directory / entry["file"]
    if not path.is_file():
        raise PretrainedModelError(f"{path}: pretrained model file not found")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry["sha256"]:
        raise PretrainedModelError(
            f"{path}: sha256 {digest[:16]}... does not match the manifest ({entry['sha256'][:16]}...); "
            "the file is corrupted or was replaced"
        )
    return load_model(path, compile=False)


def find_by_model_id(ident: bytes, *, directory: Path = PRETRAINED_DIR):
    """Return ``(model, description)`` for the shipped model whose codec id is ``ident``, or None.

    The manifest records each model's id, so only the matching file is loaded.
    """
    try:
        entries = manifest(directory)["models"]
    except PretrainedModelError:
        return None
    for key, entry in entries.items():
        if entry.get("model_id") == bytes(ident).hex():
            return load_pretrained(int(key), directory=directory), f"pretrained latent {key}"
    return None
