"""Custom Keras layers of the course."""

from __future__ import annotations

import keras
import numpy as np

PRIOR_FAMILIES = ("gaussian", "laplace")


@keras.saving.register_keras_serializable(package="cae_lib")
class LatentPrior(keras.layers.Layer):
    """Identity layer that carries a fitted prior over each latent dimension.

    The entropy coder needs a probability model of the latent numbers that
    the sender and the receiver share *exactly*. Keeping it as weights of a
    layer inside the saved model means one ``.keras`` file holds encoder,
    prior and decoder, and the model's identifier (a hash of its weights)
    covers the prior too.

    Per dimension ``d`` it stores a location ``loc[d]`` and a scale
    ``scale[d]`` of a Gaussian (mean and standard deviation) or a Laplace
    distribution (median and mean absolute deviation), fitted on training
    latents with :meth:`fit`. In the forward pass it returns its input
    unchanged.

    Args:
        family: ``"gaussian"`` or ``"laplace"``.
        min_scale: Smallest scale :meth:`fit` will store, so that no
            dimension gets a degenerate (zero-width) distribution.
        **kwargs: Base ``keras.layers.Layer`` arguments (``name`` ...).

    Example:
        >>> prior = LatentPrior(family="gaussian")
        >>> prior.fit(np.random.default_rng(0).normal(2.0, 3.0, (1000, 4)))
        >>> np.round(prior.loc_values, 0).tolist()
        [2.0, 2.0, 2.0, 2.0]
    """

    def __init__(self, family: str = "gaussian", min_scale: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if family not in PRIOR_FAMILIES:
            raise ValueError(f"`family` must be one of {PRIOR_FAMILIES}. Received: family={family!r}")
        if not min_scale > 0:
            raise ValueError(f"`min_scale` must be positive. Received: min_scale={min_scale!r}")
        self.family = family
        self.min_scale = float(min_scale)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"LatentPrior needs a known latent size. Received: input_shape={input_shape}")
        self.loc = self.add_weight(shape=(dim,), initializer="zeros", trainable=False, name="loc")
        self.scale = self.add_weight(shape=(dim,), initializer="ones", trainable=False, name="scale")

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def fit(self, latents) -> None:
        """Fit location and scale per dimension to ``latents`` of shape ``(n, latent_dim)``."""
        latents = np.asarray(latents, dtype=np.float64)
        if latents.ndim != 2 or len(latents) < 2:
            raise ValueError(
                f"`latents` must be a 2-D array with at least two rows. Received: shape={latents.shape}"
            )
        if not self.built:
            self.build(latents.shape)
        if latents.shape[1] != self.loc.shape[0]:
            raise ValueError(
                f"`latents` has {latents.shape[1]} dimensions but the prior has {self.loc.shape[0]}. "
                f"Received: shape={latents.shape}"
            )
        if self.family == "gaussian":
            loc = latents.mean(axis=0)
            scale = latents.std(axis=0)
        else:
            loc = np.median(latents, axis=0)
            scale = np.abs(latents - loc).mean(axis=0)
        self.loc.assign(loc.astype(np.float32))
        self.scale.assign(np.maximum(scale, self.min_scale).astype(np.float32))

    @property
    def loc_values(self) -> np.ndarray:
        """Locations as a float64 NumPy array (what the entropy coder uses)."""
        return np.asarray(keras.ops.convert_to_numpy(self.loc), dtype=np.float64)

    @property
    def scale_values(self) -> np.ndarray:
        """Scales as a float64 NumPy array (what the entropy coder uses)."""
        return np.asarray(keras.ops.convert_to_numpy(self.scale), dtype=np.float64)

    def get_config(self):
        config = super().get_config()
        config.update({"family": self.family, "min_scale": self.min_scale})
        return config
