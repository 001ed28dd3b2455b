"""A codec model without TensorFlow: LiteRT flat buffers for the networks, NumPy arrays for the prior.

The ``.cae`` coder needs three things besides the networks: the model's id
and the prior's ``loc``, ``scale`` and ``rotation``. They are numbers, read
from the manifest and the ``.keras`` file with h5py
(:func:`cae_lib.codec.model_file.prior_arrays`), so a receiver holding a
``.tflite`` decoder and those numbers derives exactly the probability
tables the Keras path derives, and writes and reads the same files.

:class:`LiteModel` is accepted wherever :mod:`cae_lib.codec` takes a model
(``compress``, ``decompress``, ``measure``); the shipped ones load with
:func:`cae_lib.pretrained.load_litert`, which checks every file's sha256.

Example:
    >>> from cae_lib import codec, pretrained
    >>> model = pretrained.load_litert("rate_lambda0.05")   # doctest: +SKIP
    >>> data = codec.compress(digits, model)                # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import images as _images
from .container import MODEL_ID_BYTES


@dataclass(frozen=True)
class NumpyPrior:
    """A latent prior's numbers: ``loc``, ``scale`` and ``rotation`` as float64 arrays.

    Same transforms as :class:`cae_lib.layers.LatentPrior`, in NumPy.

    Example:
        >>> import numpy as np
        >>> prior = NumpyPrior(loc=np.array([1.0, 0.0]), scale=np.array([1.0, 2.0]), rotation=np.eye(2))
        >>> prior.to_coordinates([[2.0, 3.0]]).tolist()
        [[1.0, 3.0]]
    """

    loc: np.ndarray
    scale: np.ndarray
    rotation: np.ndarray

    def __post_init__(self):
        """Refuse numbers the coder cannot use (:func:`~cae_lib.codec.model_file.check_prior_numbers`); store float64.

        Raises:
            ModelFileError: (a ValueError) shapes that do not fit together, a
                non-finite ``loc`` or ``rotation``, a scale that is not positive and finite.
        """
        from .model_file import check_prior_numbers

        checked = check_prior_numbers(self.loc, self.scale, self.rotation, source="NumpyPrior")
        for name, values in zip(("loc", "scale", "rotation"), checked):
            object.__setattr__(self, name, values)

    @classmethod
    def from_arrays(cls, arrays: dict) -> NumpyPrior:
        """From :func:`cae_lib.codec.model_file.check_prior` (or ``prior_arrays``); checks shapes and numbers.

        Raises:
            ModelFileError: (a ValueError) see :meth:`__post_init__`.
        """
        loc = np.asarray(arrays["loc"], np.float64)
        rotation = arrays.get("rotation", np.eye(len(loc)) if loc.ndim == 1 else np.eye(1))
        return cls(loc=loc, scale=arrays["scale"], rotation=rotation)

    @property
    def latent_dim(self) -> int:
        return len(self.loc)

    @property
    def loc_values(self) -> np.ndarray:
        return self.loc

    @property
    def scale_values(self) -> np.ndarray:
        return self.scale

    @property
    def rotation_values(self) -> np.ndarray:
        return self.rotation

    def to_coordinates(self, latents) -> np.ndarray:
        """Latents ``z`` to the coded coordinates ``y = (z - loc) @ rotation`` (float64)."""
        return (np.asarray(latents, dtype=np.float64) - self.loc) @ self.rotation

    def from_coordinates(self, coordinates) -> np.ndarray:
        """Inverse of :meth:`to_coordinates`: ``z = y @ rotation.T + loc`` (float64)."""
        return np.asarray(coordinates, dtype=np.float64) @ self.rotation.T + self.loc


class LiteModel:
    """A codec model run by LiteRT: an encoder and/or a decoder flat buffer, a prior and a model id.

    Args:
        model_id: The codec model's 4-byte id (as :func:`cae_lib.codec.model_id`
            computes it from the Keras model; the manifest records it).
        prior: The prior's numbers.
        encoder: Bytes of the encoder's ``.tflite`` (images -> latents), or
            None for a receiver.
        decoder: Bytes of the decoder's ``.tflite`` (latents -> images), or
            None for a sender.
        name: A description for messages, e.g. ``"pretrained rate_lambda0.05 (LiteRT)"``.

    Raises:
        ValueError: A malformed id, no network at all, or networks whose
            shapes do not fit the prior.
    """

    def __init__(self, *, model_id: bytes, prior: NumpyPrior, encoder: bytes | None = None,
                 decoder: bytes | None = None, name: str = "LiteRT model"):  # fmt: skip
        from ..litert import TFLiteRunner

        if not isinstance(model_id, (bytes, bytearray)) or len(model_id) != MODEL_ID_BYTES:
            raise ValueError(f"model_id must be {MODEL_ID_BYTES} bytes. Received: model_id={model_id!r}")
        if encoder is None and decoder is None:
            raise ValueError("a LiteModel needs an encoder, a decoder or both")
        self.model_id, self.prior, self.name = bytes(model_id), prior, name
        self.encoder = None if encoder is None else TFLiteRunner(encoder)
        self.decoder = None if decoder is None else TFLiteRunner(decoder)
        if self.encoder is not None and self.encoder.input_shape != _images.IMAGE_SHAPE:
            raise ValueError(
                f"{name}: the encoder takes {self.encoder.input_shape}, not {_images.IMAGE_SHAPE}"
            )
        if self.decoder is not None and self.decoder.input_shape != (prior.latent_dim,):
            raise ValueError(
                f"{name}: the decoder takes {self.decoder.input_shape}, not ({prior.latent_dim},)"
            )

    @property
    def runtime(self) -> str:
        """The interpreter running the networks (LiteRT, or TensorFlow's where LiteRT is missing)."""
        return (self.encoder or self.decoder).runtime

    def __repr__(self) -> str:
        parts = [p for p, net in (("encoder", self.encoder), ("decoder", self.decoder)) if net is not None]
        return f"LiteModel({self.name!r}, id {self.model_id.hex()}, {' + '.join(parts)}, {self.runtime})"

    def encode_latents(self, images) -> np.ndarray:
        """Digits (uint8 or float in [0, 1]) to float32 latents ``(n, latent_dim)``."""
        if self.encoder is None:
            raise ValueError(f"{self.name} has no encoder: compress needs a sender or codec model")
        x = _images.to_float(images)
        if len(x) == 0:
            return np.zeros((0, self.prior.latent_dim), np.float32)
        return self.encoder(x)

    def decode_latents(self, latents) -> np.ndarray:
        """Float latents ``(n, latent_dim)`` to uint8 digits ``(n, 28, 28)``, converted batch by batch."""
        if self.decoder is None:
            raise ValueError(f"{self.name} has no decoder: decompress needs a receiver or codec model")
        latents = np.asarray(latents, np.float32)
        size = self.decoder.batch_size
        parts = [_images.to_uint8(self.decoder(latents[i : i + size])) for i in range(0, len(latents), size)]
        return np.concatenate(parts) if parts else np.zeros((0, *_images.IMAGE_SHAPE[:2]), np.uint8)
