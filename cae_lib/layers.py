"""Custom Keras layers of the course."""

from __future__ import annotations

import numpy as np

from ._tf import keras

FINGERPRINT_BYTES = 16


@keras.saving.register_keras_serializable(package="cae_lib")
class LatentPrior(keras.layers.Layer):
    """Identity layer that carries the entropy model of the latent vector.

    The entropy coder needs a probability model of the latent numbers that
    the sender and the receiver share *exactly*. Keeping it as weights of a
    layer inside the saved model means one ``.keras`` file holds encoder,
    prior and decoder, and the model's identifier (a hash of its weights)
    covers the prior too.

    The model is a Gaussian fitted on training latents with :meth:`fit`:

    * ``loc``: the mean latent vector;
    * ``rotation``: an orthonormal matrix whose columns are the principal axes
      of the latents (identity when ``decorrelate=False``). Coding
      ``y = (z - loc) @ rotation`` instead of ``z`` removes the correlation
      between latent dimensions, so a prior that treats dimensions as
      independent wastes no bits on it (transform coding's Karhunen-Loeve
      step). Being orthonormal, it leaves squared errors unchanged;
    * ``scale``: the standard deviation of each coordinate of ``y``;
    * ``fingerprint``: 32 bytes (stored as 32 float32 values 0-255), the
      first 16 bytes of the SHA-256 of the encoder's weights and of the
      decoder's weights the prior was fitted for (:meth:`set_fingerprint`).
      A sender that holds only encoder and prior, and a receiver that holds
      only prior and decoder, can each check their half and compute the same
      model identifier from the prior alone (see :func:`cae_lib.codec.model_id`).

    In the forward pass the layer returns its input unchanged.

    Args:
        decorrelate: Fit a rotation to the principal axes (True) or keep
            the latent axes (False).
        min_scale: Smallest scale :meth:`fit` will store, so that no
            coordinate gets a zero-width distribution.
        **kwargs: Base ``keras.layers.Layer`` arguments (``name`` ...).

    Example:
        >>> prior = LatentPrior(decorrelate=False)
        >>> prior.fit(np.random.default_rng(0).normal(2.0, 3.0, (1000, 4)))
        >>> np.round(prior.loc_values).tolist()
        [2.0, 2.0, 2.0, 2.0]
    """

    def __init__(self, decorrelate: bool = True, min_scale: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(decorrelate, bool):
            raise ValueError(f"`decorrelate` must be True or False. Received: decorrelate={decorrelate!r}")
        if not (isinstance(min_scale, (int, float)) and min_scale > 0):
            raise ValueError(f"`min_scale` must be a positive number. Received: min_scale={min_scale!r}")
        self.decorrelate = decorrelate
        self.min_scale = float(min_scale)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"LatentPrior needs a known latent size. Received: input_shape={input_shape}")
        self.loc = self.add_weight(shape=(dim,), initializer="zeros", trainable=False, name="loc")
        self.scale = self.add_weight(shape=(dim,), initializer="ones", trainable=False, name="scale")
        self.rotation = self.add_weight(
            shape=(dim, dim), initializer="identity", trainable=False, name="rotation"
        )
        self.fingerprint = self.add_weight(
            shape=(2 * FINGERPRINT_BYTES,), initializer="zeros", trainable=False, name="fingerprint"
        )

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def fit(self, latents) -> None:
        """Fit mean, rotation and scales to ``latents`` of shape ``(n, latent_dim)``."""
        latents = np.asarray(latents, dtype=np.float64)
        if latents.ndim != 2 or len(latents) < 2:
            raise ValueError(
                f"`latents` must be a 2-D array with at least two rows. Received: shape={latents.shape}"
            )
        if not self.built:
            self.build(latents.shape)
        dim = self.loc.shape[0]
        if latents.shape[1] != dim:
            raise ValueError(
                f"`latents` has {latents.shape[1]} dimensions but the prior has {dim}. "
                f"Received: shape={latents.shape}"
            )
        loc = latents.mean(axis=0)
        if self.decorrelate:
            eigenvalues, eigenvectors = np.linalg.eigh(np.cov(latents - loc, rowvar=False))
            order = np.argsort(eigenvalues)[::-1]
            rotation = eigenvectors[:, order]
            rotation *= np.where(rotation.sum(axis=0) < 0, -1.0, 1.0)  # a fixed sign per axis
        else:
            rotation = np.eye(dim)
        # Store float32 first, then measure the scales through the stored rotation.
        rotation = rotation.astype(np.float32)
        scale = ((latents - loc) @ rotation.astype(np.float64)).std(axis=0)
        self.loc.assign(loc.astype(np.float32))
        self.rotation.assign(rotation)
        self.scale.assign(np.maximum(scale, self.min_scale).astype(np.float32))

    def set_fingerprint(self, encoder_digest: bytes, decoder_digest: bytes) -> None:
        """Record which encoder and decoder this prior belongs to (two 16-byte digests)."""
        for name, digest in (("encoder_digest", encoder_digest), ("decoder_digest", decoder_digest)):
            if not isinstance(digest, bytes) or len(digest) != FINGERPRINT_BYTES:
                raise ValueError(f"`{name}` must be {FINGERPRINT_BYTES} bytes. Received: {digest!r}")
        self.fingerprint.assign(np.frombuffer(encoder_digest + decoder_digest, np.uint8).astype(np.float32))

    @property
    def encoder_digest(self) -> bytes | None:
        """Digest of the encoder this prior was fitted for, or None if never recorded."""
        return self._digest(0)

    @property
    def decoder_digest(self) -> bytes | None:
        """Digest of the decoder this prior belongs to, or None if never recorded."""
        return self._digest(1)

    def _digest(self, part: int) -> bytes | None:
        values = self._numpy(self.fingerprint)[part * FINGERPRINT_BYTES : (part + 1) * FINGERPRINT_BYTES]
        return None if not values.any() else bytes(values.astype(np.uint8).tolist())

    def load_own_variables(self, store):
        """Load the variables (also from files saved before the fingerprint existed), then check the numbers.

        Raises:
            ModelFileError: (a ValueError) a non-finite ``loc`` or ``rotation``,
                or a scale that is not positive and finite: the range coder
                could not use them (see :meth:`checked_numbers`).
        """
        if len(store.keys()) == len(self.variables) - 1:  # saved before the fingerprint existed
            for i, variable in enumerate(self.variables[:-1]):
                variable.assign(store[str(i)])
        else:
            super().load_own_variables(store)
        self.checked_numbers()

    def checked_numbers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(loc, scale, rotation)`` as float64, refused unless the codec can use them.

        Raises:
            ModelFileError: (a ValueError) see
                :func:`cae_lib.codec.model_file.check_prior_numbers`; one line
                naming this layer.
        """
        from .codec.model_file import check_prior_numbers

        return check_prior_numbers(
            self.loc_values, self.scale_values, self.rotation_values, source=f"the prior layer {self.name!r}"
        )

    def _numpy(self, weight) -> np.ndarray:
        return np.asarray(keras.ops.convert_to_numpy(weight), dtype=np.float64)

    @property
    def loc_values(self) -> np.ndarray:
        """Mean latent vector, float64."""
        return self._numpy(self.loc)

    @property
    def scale_values(self) -> np.ndarray:
        """Standard deviation of each decorrelated coordinate, float64."""
        return self._numpy(self.scale)

    @property
    def rotation_values(self) -> np.ndarray:
        """The orthonormal rotation, float64 ``(latent_dim, latent_dim)``."""
        return self._numpy(self.rotation)

    def numbers(self):
        """The prior's numbers as a :class:`cae_lib.codec.lite.NumpyPrior` (what a LiteRT codec holds).

        Raises:
            ModelFileError: (a ValueError) numbers the codec cannot use (:meth:`checked_numbers`).
        """
        from .codec.lite import NumpyPrior

        loc, scale, rotation = self.checked_numbers()
        return NumpyPrior(loc=loc, scale=scale, rotation=rotation)

    def to_coordinates(self, latents) -> np.ndarray:
        """Latents ``z`` to the coded coordinates ``y = (z - loc) @ rotation`` (float64)."""
        return self.numbers().to_coordinates(latents)

    def from_coordinates(self, coordinates) -> np.ndarray:
        """Inverse of :meth:`to_coordinates`: ``z = y @ rotation.T + loc`` (float64)."""
        return self.numbers().from_coordinates(coordinates)

    def get_config(self):
        config = super().get_config()
        config.update({"decorrelate": self.decorrelate, "min_scale": self.min_scale})
        return config
