"""Pretrained codec models shipped inside the package, checked against their manifest.

Two kinds, every one a codec model (encoder, latent prior, decoder) with a name:

* ``ae_latentNN`` (``NN`` = 02 ... 64): autoencoders trained on
  reconstruction alone, their prior fitted afterwards
  (:func:`cae_lib.codec.attach_prior`); load them by latent size
  (``load_pretrained(28)``) or by name;
* ``rate_lambda<lambda>``: trained on distortion + lambda * bits
  (:mod:`cae_lib.rate`), their prior the trained entropy model; a larger
  lambda is a smaller, coarser model of the digits.

``scripts/train_pretrained.py`` trains them; ``manifest.json`` records each
file's sha256, model id, training settings and test-set quality, and which
model ``cae compress`` uses by default. Loading refuses a file whose hash
differs from the manifest. The encoder's and decoder's weights were rounded
to float16 and are stored so (:func:`cae_lib.deploy.round_to_half_precision`),
which halves the files; they load into ordinary float32 layers.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from .codec.container import MODEL_ID_BYTES, STORED_ID_BYTES
from .config import DEFAULT_LATENT_DIM

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
MANIFEST_NAME = "manifest.json"
_SHORTEST_ID = min(STORED_ID_BYTES.values())


class PretrainedModelError(ValueError):
    """A pretrained model is missing, unknown or does not match its manifest."""


AUTOENCODER = "autoencoder"
RATE = "rate"
FALLBACK_DEFAULT = "ae_latent28"


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
    """Latent sizes for which a pretrained autoencoder (``ae_latentNN``) is shipped, ascending.

    Example:
        >>> from cae_lib.pretrained import available_latent_dims
        >>> available_latent_dims()
        [2, 4, 8, 16, 28, 32, 64]
    """
    return sorted(int(k) for k in manifest(directory)["models"])


def _entries(directory: Path = PRETRAINED_DIR) -> dict:
    """Every shipped model's manifest entry by name, with ``name`` and ``kind`` added, in listing order."""
    found = manifest(directory)
    entries = {}
    for key in sorted(found["models"], key=int):
        entries[Path(found["models"][key]["file"]).stem] = {**found["models"][key], "kind": AUTOENCODER}
    rate_models = found.get("rate_models", {})
    for name in sorted(rate_models, key=lambda n: -float(rate_models[n].get("lambda", 0))):
        entries[name] = {**rate_models[name], "kind": RATE}
    return {name: {**entry, "name": name} for name, entry in entries.items()}


def available_models(directory: Path = PRETRAINED_DIR, *, kind: str | None = None) -> list[str]:
    """Names of the shipped models: autoencoders by latent size, then rate-aware models by falling lambda.

    Args:
        directory: Where the models and manifest live.
        kind: ``"autoencoder"``, ``"rate"`` or None (both).

    Example:
        >>> from cae_lib.pretrained import available_models
        >>> available_models(kind="autoencoder")[:2]
        ['ae_latent02', 'ae_latent04']
    """
    if kind not in (None, AUTOENCODER, RATE):
        raise ValueError(f"`kind` must be 'autoencoder', 'rate' or None. Received: kind={kind!r}")
    return [name for name, entry in _entries(directory).items() if kind in (None, entry["kind"])]


def resolve(model, directory: Path = PRETRAINED_DIR) -> str:
    """The name of a shipped model given by name or by latent size (an autoencoder).

    Raises:
        PretrainedModelError: No shipped model has that name or latent size.

    Example:
        >>> resolve(28), resolve("ae_latent08")
        ('ae_latent28', 'ae_latent08')
    """
    names = available_models(directory)
    if isinstance(model, bool):
        raise PretrainedModelError(f"Unknown pretrained model {model!r}. Available: {', '.join(names)}")
    if isinstance(model, int) or (isinstance(model, str) and model.isdigit()):
        name = Path(model_filename(int(model))).stem
        if name not in names:
            raise PretrainedModelError(
                f"No pretrained model with latent_dim={int(model)}. Available: {available_latent_dims(directory)}"
            )
        return name
    if isinstance(model, str) and model in names:
        return model
    raise PretrainedModelError(f"Unknown pretrained model {model!r}. Available: {', '.join(names)}")


def model_info(model, *, directory: Path = PRETRAINED_DIR) -> dict:
    """The manifest entry of a shipped model (by name or latent size), with its ``name`` and ``kind``."""
    return _entries(directory)[resolve(model, directory)]


def default_model(directory: Path = PRETRAINED_DIR) -> str:
    """The name of the model ``cae compress`` uses by default (the manifest's ``default``)."""
    return manifest(directory).get("default", FALLBACK_DEFAULT)


def describe(model, *, directory: Path = PRETRAINED_DIR) -> str:
    """A short description of a shipped model, e.g. ``'pretrained ae_latent28'``."""
    return f"pretrained {resolve(model, directory)}"


def load_pretrained(model=DEFAULT_LATENT_DIM, *, directory: Path = PRETRAINED_DIR):
    """Load a shipped codec model by latent size (an autoencoder) or by name.

    Args:
        model: One of :func:`available_latent_dims` (default 28) or a name
            from :func:`available_models`, e.g. ``"rate_lambda0.01"``.
        directory: Where the models and manifest live (default: inside the package).

    Returns:
        A ``keras.Model`` with ``encoder``, ``prior`` and ``decoder`` layers,
        the caller's own: the file is read and checked once per session, but
        every call builds a new model from the cached weights, so training
        or changing one model never changes what later calls get.

    Raises:
        PretrainedModelError: Unknown model, missing file, or a file whose
            sha256 differs from the manifest (a corrupted or swapped file).

    Example:
        >>> from cae_lib.pretrained import load_pretrained
        >>> model = load_pretrained(8)
        >>> [layer.name for layer in model.layers]
        ['image', 'encoder', 'prior', 'decoder']
        >>> model.get_layer("encoder").output_shape
        (None, 8)
    """
    from ._tf import keras
    from .saving import single_tensors

    template = _verified_model(resolve(model, directory), Path(directory).resolve())
    copy = single_tensors(keras.models.clone_model(template))
    copy.set_weights(template.get_weights())
    return copy


def model_path(model, *, directory: Path = PRETRAINED_DIR) -> Path:
    """Path of a shipped model's file, by latent size or name (not checked against its hash).

    Raises:
        PretrainedModelError: Unknown model or missing file.
    """
    path = Path(directory) / model_info(model, directory=directory)["file"]
    if not path.is_file():
        raise PretrainedModelError(f"{path}: pretrained model file not found")
    return path


def _checked_bytes(path: Path, expected: str) -> bytes:
    """The file's bytes, after checking them against the manifest's sha256."""
    if not path.is_file():
        raise PretrainedModelError(f"{path}: pretrained model file not found")
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if digest != expected:
        raise PretrainedModelError(
            f"{path}: sha256 {digest[:16]}... does not match the manifest ({expected[:16]}...); "
            "the file is corrupted or was replaced"
        )
    return content


LITERT_PARTS = ("encoder", "decoder")


def has_litert(model, *, directory: Path = PRETRAINED_DIR) -> bool:
    """True when the manifest lists LiteRT (``.tflite``) exports of this shipped model's encoder and decoder.

    Example:
        >>> from cae_lib.pretrained import default_model, has_litert
        >>> has_litert(default_model())
        True
    """
    exports = model_info(model, directory=directory).get("litert") or {}
    return all(part in exports for part in LITERT_PARTS)


def load_litert(model=None, *, directory: Path = PRETRAINED_DIR, parts=LITERT_PARTS):
    """Load a shipped model's LiteRT exports, its prior's numbers and its id: no TensorFlow where LiteRT is installed.

    Every file is checked against the manifest's sha256: the ``.tflite``
    networks and the ``.keras`` file the prior's ``loc``/``scale``/``rotation``
    are read from (with h5py, :func:`cae_lib.codec.model_file.check_prior`).
    The model id comes from the manifest, which the ``.keras`` file's hash
    vouches for.

    Args:
        model: A shipped model's name or latent size (default: :func:`default_model`).
        directory: Where the models and manifest live.
        parts: ``("encoder", "decoder")``, or one of them for a sender or a receiver.

    Returns:
        A :class:`cae_lib.codec.lite.LiteModel`, accepted by ``codec.compress``,
        ``codec.decompress`` and ``codec.measure``.

    Raises:
        PretrainedModelError: Unknown model, no LiteRT export, or a file that
            is missing or differs from the manifest.

    Example:
        >>> from cae_lib.pretrained import load_litert
        >>> load_litert().runtime
        'LiteRT (ai_edge_litert)'
    """
    from .codec import model_file
    from .codec.lite import LiteModel, NumpyPrior

    name = resolve(default_model(directory) if model is None else model, directory)
    entry = model_info(name, directory=directory)
    if not has_litert(name, directory=directory):
        raise PretrainedModelError(f"{name} has no LiteRT export; load it with load_pretrained")
    unknown = set(parts) - set(LITERT_PARTS)
    if unknown or not parts:
        raise ValueError(f"parts must name 'encoder' and/or 'decoder'. Received: parts={parts!r}")
    directory = Path(directory)
    keras_file = directory / entry["file"]
    _checked_bytes(keras_file, entry["sha256"])
    try:
        arrays = model_file.check_prior(keras_file)
    except (model_file.ModelFileError, OSError) as exc:
        raise PretrainedModelError(str(exc)) from None
    networks = {part: _checked_bytes(directory / entry["litert"][part]["file"], entry["litert"][part]["sha256"])
                for part in parts}  # fmt: skip
    return LiteModel(model_id=bytes.fromhex(entry["model_id"]), prior=NumpyPrior.from_arrays(arrays),
                     name=f"pretrained {name} (LiteRT)", **networks)  # fmt: skip


@lru_cache(maxsize=32)
def _verified_model(name: str, directory: Path):
    """The shipped model as loaded once from its checked file; never handed to callers."""
    from .layers import LatentPrior  # noqa: F401 (registered for loading)
    from .saving import load_model

    path = model_path(name, directory=directory)
    _checked_bytes(path, model_info(name, directory=directory)["sha256"])
    return load_model(path)


def name_by_model_id(ident: bytes, *, directory: Path = PRETRAINED_DIR) -> str | None:
    """The name of the shipped model whose codec id is ``ident``, or None (reads only the manifest).

    ``ident`` is a model's whole 4-byte id or the prefix a ``.cae`` header
    stores (3 bytes in format version 2); it names a model only if exactly
    one shipped model's id starts with it.
    """
    ident = bytes(ident)
    if not _SHORTEST_ID <= len(ident) <= MODEL_ID_BYTES:
        return None
    try:
        entries = _entries(directory)
    except PretrainedModelError:
        return None
    prefix = ident.hex()
    found = [name for name, entry in entries.items() if str(entry.get("model_id", "")).startswith(prefix)]
    return found[0] if len(found) == 1 else None


def latent_dim_by_model_id(ident: bytes, *, directory: Path = PRETRAINED_DIR) -> int | None:
    """The latent size of the shipped model whose codec id is ``ident``, or None (see :func:`name_by_model_id`)."""
    name = name_by_model_id(ident, directory=directory)
    return None if name is None else int(_entries(directory)[name]["latent_dim"])


def find_by_model_id(ident: bytes, *, directory: Path = PRETRAINED_DIR):
    """Return ``(model, description)`` for the shipped model whose codec id is ``ident``, or None.

    ``ident`` may be the stored prefix of a ``.cae`` header (see :func:`name_by_model_id`).
    The manifest records each model's id, so only the matching file is loaded.
    """
    name = name_by_model_id(ident, directory=directory)
    if name is None:
        return None
    return load_pretrained(name, directory=directory), describe(name, directory=directory)
