"""Pretrained codec models shipped inside the package, checked against their manifest.

Each file ``ae_latentNN.keras`` is a model from
:func:`cae_lib.codec.attach_prior` (encoder, latent prior, decoder) trained
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

from .config import DEFAULT_LATENT_DIM

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
MANIFEST_NAME = "manifest.json"


class PretrainedModelError(ValueError):
    """A pretrained model is missing, unknown or does not match its manifest."""


def model_filename(latent_dim: int) -> str:
    """File name of the pretrained model with latent size ``latent_dim``.

    Example:
        >>> from cae_lib.pretrained import model_filename
        >>> model_filename(8)
        'ae_latent08.keras'
    """
    return f"ae_latent{latent_dim:02d}.keras"


def manifest(directory: Path = PRETRAINED_DIR) -> dict:
    """Return the manifest: ``{"models": {"28": {...}, ...}}``."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise PretrainedModelError(f"{path}: manifest not found (run scripts/train_pretrained.py)")
    return json.loads(path.read_text())


def available_latent_dims(directory: Path = PRETRAINED_DIR) -> list[int]:
    """Latent sizes for which a pretrained model is shipped, ascending.

    Example:
        >>> from cae_lib.pretrained import available_latent_dims
        >>> available_latent_dims()
        [2, 4, 8, 16, 28, 32, 64]
    """
    return sorted(int(k) for k in manifest(directory)["models"])


def load_pretrained(latent_dim: int = DEFAULT_LATENT_DIM, *, directory: Path = PRETRAINED_DIR):
    """Load the pretrained codec model with the given latent size.

    Args:
        latent_dim: One of :func:`available_latent_dims` (default 28).
        directory: Where the models and manifest live (default: inside the package).

    Returns:
        A ``keras.Model`` with ``encoder``, ``prior`` and ``decoder`` layers,
        the caller's own: the file is read and checked once per session, but
        every call builds a new model from the cached weights, so training
        or changing one model never changes what later calls get.

    Raises:
        PretrainedModelError: Unknown latent size, missing file, or a file
            whose sha256 differs from the manifest (a corrupted or swapped file).

    Example:
        >>> from cae_lib.pretrained import load_pretrained
        >>> model = load_pretrained(8)
        >>> [layer.name for layer in model.layers]
        ['image', 'encoder', 'prior', 'decoder']
        >>> model.get_layer("encoder").output_shape
        (None, 8)
    """
    from ._tf import keras

    template = _verified_model(int(latent_dim), Path(directory).resolve())
    model = keras.models.clone_model(template)
    model.set_weights(template.get_weights())
    return model


def model_path(latent_dim: int, *, directory: Path = PRETRAINED_DIR) -> Path:
    """Path of the shipped model file with latent size ``latent_dim`` (not checked against its hash).

    Raises:
        PretrainedModelError: Unknown latent size or missing file.
    """
    entries = manifest(directory)["models"]
    if str(latent_dim) not in entries:
        raise PretrainedModelError(
            f"No pretrained model with latent_dim={latent_dim}. Available: {sorted(map(int, entries))}"
        )
    path = Path(directory) / entries[str(latent_dim)]["file"]
    if not path.is_file():
        raise PretrainedModelError(f"{path}: pretrained model file not found")
    return path


@lru_cache(maxsize=16)
def _verified_model(latent_dim: int, directory: Path):
    """The shipped model as loaded once from its checked file; never handed to callers."""
    from ._tf import keras
    from .layers import LatentPrior  # noqa: F401 (registered for loading)

    path = model_path(latent_dim, directory=directory)
    expected = manifest(directory)["models"][str(latent_dim)]["sha256"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise PretrainedModelError(
            f"{path}: sha256 {digest[:16]}... does not match the manifest ({expected[:16]}...); "
            "the file is corrupted or was replaced"
        )
    return keras.saving.load_model(path, compile=False)


def latent_dim_by_model_id(ident: bytes, *, directory: Path = PRETRAINED_DIR) -> int | None:
    """The latent size of the shipped model whose codec id is ``ident``, or None (reads only the manifest)."""
    try:
        entries = manifest(directory)["models"]
    except PretrainedModelError:
        return None
    for key, entry in entries.items():
        if entry.get("model_id") == bytes(ident).hex():
            return int(key)
    return None


def find_by_model_id(ident: bytes, *, directory: Path = PRETRAINED_DIR):
    """Return ``(model, description)`` for the shipped model whose codec id is ``ident``, or None.

    The manifest records each model's id, so only the matching file is loaded.
    """
    latent_dim = latent_dim_by_model_id(ident, directory=directory)
    if latent_dim is None:
        return None
    return load_pretrained(latent_dim, directory=directory), f"pretrained latent {latent_dim}"
