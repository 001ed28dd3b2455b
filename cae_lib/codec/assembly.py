"""Codec models: an autoencoder with its latent prior, the sender's and receiver's halves, and their id.

A *codec model* is encoder -> :class:`~cae_lib.layers.LatentPrior` ->
decoder, built by :func:`attach_prior` from a trained autoencoder of
:mod:`cae_lib.models`. The prior records a fingerprint of the encoder and
decoder it was fitted for, so a sender holding only encoder and prior
(:func:`sender_of`) and a receiver holding only prior and decoder
(:func:`receiver_of`) compute the same :func:`model_id` and can each check
their half.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np

from .. import saving
from .._tf import keras
from ..images import to_float
from ..layers import LatentPrior
from ..models import IMAGE_SHAPE, decoder_of, encoder_of
from ..training import predict_in_batches
from .container import MODEL_ID_BYTES, ModelMismatchError


def weights_digest(network) -> bytes:
    """First 16 bytes of SHA-256 over a network's weights (shapes included), as stored in a prior's fingerprint."""
    digest = hashlib.sha256()
    for weight in network.get_weights():
        array = np.ascontiguousarray(weight, dtype=np.float32)
        digest.update(struct.pack("<B", array.ndim) + struct.pack(f"<{array.ndim}I", *array.shape))
        digest.update(array.astype("<f4").tobytes())
    return digest.digest()[:16]


def prior_of(model: keras.Model) -> LatentPrior:
    """Return the :class:`~cae_lib.layers.LatentPrior` of a model from :func:`attach_prior`.

    Raises:
        ValueError: The model has no prior.
    """
    try:
        return model.get_layer("prior")
    except ValueError:
        raise ValueError(
            f"Model {model.name!r} has no latent prior; build it with cae_lib.codec.attach_prior."
        ) from None


def model_id(model: keras.Model) -> bytes:
    """Identifier of a codec model: the first 4 bytes of SHA-256 over its prior's weights.

    The prior holds a fingerprint of the encoder and decoder it was fitted
    for (:meth:`cae_lib.layers.LatentPrior.set_fingerprint`), so the id covers
    encoder, prior and decoder, yet a sender and a receiver compute the same
    id. A retrained model, a refitted prior or a different latent size gives
    a different id. Works on a full codec model, a sender or a receiver.
    """
    return hashlib.sha256(weights_digest(prior_of(model)) + b"cae-prior").digest()[:MODEL_ID_BYTES]


def checked_part(model: keras.Model, part: str):
    """The model's prior and its ``part`` ("encoder" or "decoder"), checked against the prior's fingerprint.

    Raises:
        ValueError: The model has no prior or no such part.
        ModelMismatchError: The part was changed after the prior was fitted.
    """
    prior = prior_of(model)
    try:
        network = (encoder_of if part == "encoder" else decoder_of)(model)
    except ValueError:
        needs = "compress needs a sender" if part == "encoder" else "decompress needs a receiver"
        raise ValueError(f"model {model.name!r} has no {part}: {needs} or codec model") from None
    recorded = prior.encoder_digest if part == "encoder" else prior.decoder_digest
    if recorded is not None and recorded != weights_digest(network):
        raise ModelMismatchError(
            f"the {part} of model {model.name!r} is not the one its prior was fitted for "
            "(was it trained further?); refit the prior with cae_lib.codec.attach_prior"
        )
    return prior, network


def attach_prior(autoencoder: keras.Model, x_train, *, decorrelate: bool = True, batch_size: int = 1000):
    """Return a codec-ready model: encoder -> :class:`~cae_lib.layers.LatentPrior` -> decoder.

    The prior is fitted on the encoder's latents of ``x_train``. The returned
    model shares the encoder and decoder (and so their weights) with
    ``autoencoder``; saved as one ``.keras`` file it carries all three parts.

    Args:
        autoencoder: A trained model from :func:`cae_lib.models.build_autoencoder`,
            or a codec model whose prior should be refitted.
        x_train: Training images to fit the prior on: float32 ``(n, 28, 28, 1)``
            in [0, 1] or uint8 ``(n, 28, 28)``.
        decorrelate: Rotate latents onto their principal axes before coding
            (see :class:`~cae_lib.layers.LatentPrior`).
        batch_size: Batch size for computing the latents.

    Returns:
        A ``keras.Model`` named ``"codec_model"`` with layers ``encoder``,
        ``prior`` and ``decoder``.
    """
    encoder, decoder = encoder_of(autoencoder), decoder_of(autoencoder)
    prior = LatentPrior(decorrelate=decorrelate, name="prior")
    x_train = np.asarray(x_train)  # uint8 digits are scaled one batch at a time: no float copy of them all
    prior.fit(np.concatenate([
        predict_in_batches(encoder, to_float(x_train[i : i + batch_size]), batch_size=batch_size)
        for i in range(0, max(len(x_train), 1), batch_size)
    ]))  # fmt: skip
    prior.set_fingerprint(weights_digest(encoder), weights_digest(decoder))
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    outputs = decoder(prior(encoder(inputs)))
    return keras.Model(inputs, outputs, name="codec_model")


def sender_of(codec_model: keras.Model) -> keras.Model:
    """The sender's half of a codec model: image -> encoder -> prior (latent out).

    Saved on its own it holds the encoder and the prior, all that
    :func:`cae_lib.codec.compress` needs; it cannot decode.
    """
    encoder, prior = encoder_of(codec_model), prior_of(codec_model)
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    return keras.Model(inputs, prior(encoder(inputs)), name="sender")


def receiver_of(codec_model: keras.Model) -> keras.Model:
    """The receiver's half of a codec model: latent -> prior -> decoder (image out).

    Saved on its own it holds the prior and the decoder, all that
    :func:`cae_lib.codec.decompress` needs; it cannot encode.
    """
    prior, decoder = prior_of(codec_model), decoder_of(codec_model)
    inputs = keras.Input(shape=(prior.loc.shape[0],), name="latent")
    return keras.Model(inputs, decoder(prior(inputs)), name="receiver")


def load_model(path) -> keras.Model:
    """Load a codec, sender or receiver model saved as ``.keras`` (see :mod:`cae_lib.deploy`).

    Importing this module registers the course's prior layer, so a script
    needs no other ``cae_lib`` import to load a model.

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file is not a loadable Keras model; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        return saving.load_model(path)
    except Exception as exc:
        raise ValueError(f"{path}: not a loadable Keras model ({type(exc).__name__}: {exc})") from None
