"""Rate-aware training: the regulariser is the rate.

A codec pays for every latent in bits, ``-log2 P(symbol)`` under its entropy
model. Fitting that model *after* training (:func:`cae_lib.codec.attach_prior`)
leaves the encoder blind to what its latents cost. Here the entropy model is
trained with the autoencoder and the loss is

    loss = distortion + lambda * bits

(Ballé et al. 2017, "End-to-end optimized image compression"; the TensorFlow
Compression MNIST tutorial; CompressAI). Two pieces make it trainable:

* **the noise trick**: rounding has no useful gradient, so during training
  the latent gets uniform noise ``U(-1/2, 1/2)`` instead, whose density is
  the quantised density smoothed by the bin width;
* **a learned density** per latent dimension: a Gaussian with a learned
  location and scale, convolved with the unit box, so that ``P`` of a
  noisy value is the probability mass of its quantisation bin
  (:func:`gaussian_bits`). Exactly this discretised Gaussian is what the
  range coder uses later (:mod:`cae_lib.codec.entropy`), from the same
  stored ``loc`` and ``scale``: the bits trained for are the bits paid.

The decoder sees the latent rounded with a straight-through gradient
(``decoder_input="round"``, the default: it learns to work with what it will
really get) or the noisy latent (``"noise"``); ``benchmarks/rate_training.py``
compares the two.

Example:
    >>> import numpy as np
    >>> from cae_lib.rate import gaussian_bits
    >>> bits = gaussian_bits(np.array([0.0, 3.0]), 0.0, 1.0)
    >>> [round(float(b), 2) for b in bits]  # P(0) = 0.383, P(3) = 0.006
    [1.38, 7.39]
"""

from __future__ import annotations

import math

import numpy as np

from . import models
from ._tf import keras, tf
from .images import IMAGE_SHAPE

ops = keras.ops

LIKELIHOOD_FLOOR = 1e-9
"""Smallest probability a bin gets in training (about 30 bits): keeps the logarithm finite."""
SCALE_FLOOR = 0.11
"""Smallest scale of the learned Gaussians, as in CompressAI: a switched-off dimension costs about 0 bits."""
DECODER_INPUTS = ("round", "noise")

RATE_LATENT_DIM = 64
RATE_FILTERS = 16
RATE_HIDDEN_UNITS = 384


def gaussian_bits(values, loc, scale):
    """Bits of each value under a Gaussian(loc, scale) convolved with the unit box.

    ``P(v) = Phi((v + 1/2 - loc) / scale) - Phi((v - 1/2 - loc) / scale)``:
    for an integer ``v`` the probability of the bin ``[v - 1/2, v + 1/2]``,
    for a noisy ``v`` its smoothed version. Computed on the tail side with
    ``erfc``, so far-out values keep their precision; probabilities are
    floored at :data:`LIKELIHOOD_FLOOR`.

    Args:
        values: Latent values, any shape (a tensor or array).
        loc: Location, broadcastable to ``values``.
        scale: Scale (> 0), broadcastable to ``values``.

    Returns:
        ``-log2 P(values)``, the same shape as ``values`` (a tensor).
    """
    distance = ops.abs(ops.convert_to_tensor(values, "float32") - loc)
    scale = ops.convert_to_tensor(scale, "float32")
    upper = _standard_cdf((0.5 - distance) / scale)
    lower = _standard_cdf((-0.5 - distance) / scale)
    probability = ops.maximum(upper - lower, LIKELIHOOD_FLOOR)
    return -ops.log(probability) / math.log(2.0)


def _standard_cdf(x):
    return 0.5 * _erfc(-x / math.sqrt(2.0))


# keras.ops.erfc is new in Keras 3.15 (older releases have only erf); on the TensorFlow backend it is tf.math.erfc.
_erfc = getattr(ops, "erfc", None) or tf.math.erfc


@keras.saving.register_keras_serializable(package="cae_lib")
class GaussianEntropyModel(keras.layers.Layer):
    """A learned factorised Gaussian density of the latent, and the quantiser in training and in use.

    Each latent dimension ``i`` has a learned location ``loc[i]`` and scale
    ``scale[i] = max(exp(log_scale[i]), SCALE_FLOOR)``. Called on latents
    ``(batch, latent_dim)`` it returns ``(decoder_input, bits)``:

    * in training: ``bits`` of the latents plus uniform noise
      ``U(-1/2, 1/2)`` (:func:`gaussian_bits`), and the decoder's input is
      the rounded latent with a straight-through gradient
      (``decoder_input="round"``) or the noisy latent (``"noise"``);
    * in use (``training=False``): the latent rounded to its bin centre
      ``round(y - loc) + loc`` and the exact bits of that bin, what the
      range coder will spend (up to its small overhead).

    ``bits`` has shape ``(batch,)``: the cost of each image.

    Args:
        decoder_input: ``"round"`` or ``"noise"`` (see above).
        seed: Seed of the training noise.
        bits_function: ``f(values, loc, scale)`` giving the bits of each
            value, written with ``keras.ops`` so that it has a gradient;
            None is :func:`gaussian_bits`. Notebook 09 passes the learner's
            own. A function is not saved with the model: a model loaded
            from a file counts with :func:`gaussian_bits`.
        **kwargs: Base ``keras.layers.Layer`` arguments (``name`` ...).

    Example:
        >>> import numpy as np
        >>> layer = GaussianEntropyModel()
        >>> decoded, bits = layer(np.array([[0.2, 2.6]], "float32"))
        >>> np.asarray(decoded).tolist(), [round(float(b), 1) for b in bits]
        ([[0.0, 3.0]], [8.8])
    """

    def __init__(self, decoder_input: str = "round", seed: int | None = 0, bits_function=None, **kwargs):
        super().__init__(**kwargs)
        if bits_function is not None and not callable(bits_function):
            raise ValueError(
                f"`bits_function` must be a function f(values, loc, scale) or None. Received: bits_function={bits_function!r}"
            )
        self.bits_function = gaussian_bits if bits_function is None else bits_function
        if decoder_input not in DECODER_INPUTS:
            raise ValueError(
                f"`decoder_input` must be one of {DECODER_INPUTS}. Received: decoder_input={decoder_input!r}"
            )
        self.decoder_input = decoder_input
        self.seed = seed
        self.noise_seed = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"GaussianEntropyModel needs a known latent size. Received: {input_shape}")
        self.loc = self.add_weight(shape=(dim,), initializer="zeros", name="loc")
        self.log_scale = self.add_weight(shape=(dim,), initializer="zeros", name="log_scale")

    def scale_tensor(self):
        """The scales as a tensor: ``max(exp(log_scale), SCALE_FLOOR)``."""
        return ops.maximum(ops.exp(self.log_scale), SCALE_FLOOR)

    def call(self, latents, training=False):
        if training:
            noisy = latents + keras.random.uniform(ops.shape(latents), -0.5, 0.5, seed=self.noise_seed)
            bits = ops.sum(self.bits_function(noisy, self.loc, self.scale_tensor()), axis=-1)
            if self.decoder_input == "noise":
                return noisy, bits
            rounded = ops.round(latents - self.loc) + self.loc
            return latents + ops.stop_gradient(rounded - latents), bits
        rounded = ops.round(latents - self.loc) + self.loc
        return rounded, ops.sum(self.bits_function(rounded, self.loc, self.scale_tensor()), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape, input_shape[:-1]

    @property
    def loc_values(self) -> np.ndarray:
        """The learned locations, float64."""
        return np.asarray(keras.ops.convert_to_numpy(self.loc), np.float64)

    @property
    def scale_values(self) -> np.ndarray:
        """The learned scales (floored), float64: what the codec's prior stores."""
        return np.asarray(keras.ops.convert_to_numpy(self.scale_tensor()), np.float64)

    def get_config(self):
        config = super().get_config()
        config.update({"decoder_input": self.decoder_input, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="cae_lib")
class RateDistortionAutoencoder(keras.Model):
    """Encoder -> :class:`GaussianEntropyModel` -> decoder, trained on ``distortion + lmbda * bits``.

    ``distortion`` is the squared error summed over an image's 784 pixels
    (pixels in [0, 1]); ``bits`` is what its latent costs under the entropy
    model. Both are shown in the progress bar (``distortion``, ``bits``),
    with ``psnr``, the mean PSNR in dB of the reconstructions the decoder
    made in that step. A larger ``lmbda`` buys fewer bits with more error.

    Called, the model returns ``{"pixels": images, "bits": bits_per_image}``.

    Args:
        latent_dim: Size of the latent vector; dimensions the model does
            not need switch themselves off (they cost about 0 bits).
        lmbda: Price of one bit in units of summed squared error.
        filters: Width of the convolutions (see :func:`cae_lib.models.build_encoder`).
        hidden_units: Width of the hidden dense layers.
        decoder_input: ``"round"`` (straight-through rounding) or ``"noise"``.
        seed: Seed of the initial weights and of the training noise.
        bits_function: The rate term ``f(values, loc, scale)`` of the
            entropy model (:class:`GaussianEntropyModel`); None is
            :func:`gaussian_bits`. Not saved with the model.
        **kwargs: Base ``keras.Model`` arguments (``name``).

    Example:
        >>> model = RateDistortionAutoencoder(latent_dim=8, lmbda=0.01, filters=4, hidden_units=16)
        >>> out = model(np.zeros((2, 28, 28, 1), "float32"))
        >>> tuple(out["pixels"].shape), tuple(out["bits"].shape)
        ((2, 28, 28, 1), (2,))
    """

    def __init__(self, latent_dim: int = RATE_LATENT_DIM, *, lmbda: float = 0.02,
                 filters: int = RATE_FILTERS, hidden_units: int = RATE_HIDDEN_UNITS,
                 decoder_input: str = "round", seed: int = 0, bits_function=None, **kwargs):  # fmt: skip
        kwargs.setdefault("name", "rate_autoencoder")
        super().__init__(**kwargs)
        if isinstance(lmbda, bool) or not isinstance(lmbda, (int, float)) or not lmbda >= 0:
            raise ValueError(f"`lmbda` must be a number >= 0. Received: lmbda={lmbda!r}")
        self.latent_dim, self.lmbda = latent_dim, float(lmbda)
        self.filters, self.hidden_units, self.seed = filters, hidden_units, seed
        shape = {"filters": filters, "hidden_units": hidden_units}
        self.encoder = models.build_encoder(latent_dim, seed=seed, **shape)
        self.entropy_model = GaussianEntropyModel(
            decoder_input, seed=seed, bits_function=bits_function, name="entropy_model"
        )
        self.decoder = models.build_decoder(latent_dim, seed=seed + 1, **shape)
        self.distortion_tracker = keras.metrics.Mean(name="distortion")
        self.bits_tracker = keras.metrics.Mean(name="bits")
        self.psnr_tracker = keras.metrics.Mean(name="psnr")

    def call(self, images, training=False):
        decoder_input, bits = self.entropy_model(self.encoder(images), training=training)
        return {"pixels": self.decoder(decoder_input), "bits": bits}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        error = ops.square(ops.convert_to_tensor(y, "float32") - y_pred["pixels"])
        distortion = ops.sum(error, axis=(1, 2, 3))
        bits = ops.mean(y_pred["bits"])
        mse = ops.maximum(ops.mean(error, axis=(1, 2, 3)), 1e-10)
        self.distortion_tracker.update_state(ops.mean(distortion))
        self.bits_tracker.update_state(bits)
        self.psnr_tracker.update_state(ops.mean(-10.0 * ops.log(mse) / math.log(10.0)))
        return ops.mean(distortion) + self.lmbda * bits

    @property
    def metrics(self):
        return [*super().metrics[:1], self.distortion_tracker, self.bits_tracker, self.psnr_tracker]

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim, "lmbda": self.lmbda, "filters": self.filters,
            "hidden_units": self.hidden_units, "seed": self.seed,
            "decoder_input": self.entropy_model.decoder_input,
        }  # fmt: skip

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_rate_autoencoder(latent_dim: int = RATE_LATENT_DIM, *, lmbda: float = 0.02, **kwargs):
    """Build and compile a :class:`RateDistortionAutoencoder` ready for ``fit(x, x)``.

    Keyword arguments go to :class:`RateDistortionAutoencoder`; the model
    is compiled by :func:`train_rate_autoencoder`, so this only builds it.

    Example:
        >>> model = build_rate_autoencoder(8, lmbda=0.05, filters=4, hidden_units=16)
        >>> model.entropy_model.name
        'entropy_model'
    """
    model = RateDistortionAutoencoder(latent_dim, lmbda=lmbda, **kwargs)
    model(np.zeros((1, *IMAGE_SHAPE), "float32"))  # build the weights
    return model


def train_rate_autoencoder(model: RateDistortionAutoencoder, x_train, **kwargs):
    """Fit a rate-distortion autoencoder with the course recipe (:func:`cae_lib.training.train_autoencoder`).

    Adam with a cosine-decayed learning rate, seeded batches, quick mode
    honoured; the loss is the model's own ``distortion + lmbda * bits``.
    Progress as there: ``verbose="auto"`` shows Keras' bar, or one line per
    epoch under ``CAE_PROGRESS=epoch``; an explicit ``verbose`` is kept.

    Returns:
        The ``keras.callbacks.History``; its ``history`` has ``loss``,
        ``distortion``, ``bits`` and ``psnr`` per epoch.
    """
    from .training import train_autoencoder

    if not isinstance(model, RateDistortionAutoencoder):
        raise ValueError(
            f"`model` must be a RateDistortionAutoencoder. Received: type={type(model).__name__}"
        )
    return train_autoencoder(model, x_train, loss=None, **kwargs)


def codec_model_of(model: RateDistortionAutoencoder) -> keras.Model:
    """The codec model of a trained rate-distortion autoencoder: encoder -> prior -> decoder.

    The prior (:class:`~cae_lib.layers.LatentPrior`) stores the entropy
    model's ``loc`` and ``scale`` as they are, with no rotation, so
    :func:`cae_lib.codec.compress` at ``step=1`` codes exactly the symbols
    and probabilities the model was trained for; other steps trade quality
    for bytes as with any codec model. Nothing is refitted and no data is needed.

    Returns:
        A ``keras.Model`` named ``"codec_model"`` (layers ``encoder``,
        ``prior``, ``decoder``), sharing the networks with ``model``.
    """
    from .codec.assembly import weights_digest
    from .layers import LatentPrior

    entropy_model = model.entropy_model
    prior = LatentPrior(decorrelate=False, name="prior")
    prior.build((None, model.latent_dim))
    prior.loc.assign(entropy_model.loc_values.astype(np.float32))
    prior.scale.assign(entropy_model.scale_values.astype(np.float32))
    prior.set_fingerprint(weights_digest(model.encoder), weights_digest(model.decoder))
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    return keras.Model(inputs, model.decoder(prior(model.encoder(inputs))), name="codec_model")


def rate_model_of(codec_model: keras.Model, *, lmbda: float, bits_function=None) -> RateDistortionAutoencoder:
    """The rate-distortion autoencoder a codec model came from: the inverse of :func:`codec_model_of`.

    The shipped rate models are stored as codec models (``encoder``, ``prior``,
    ``decoder``); this rebuilds the :class:`RateDistortionAutoencoder` with
    their weights, the prior's ``loc`` and ``scale`` as its entropy model, so
    it counts its own bits (``model(x)["bits"]``) and can train further.

    Args:
        codec_model: A codec model whose prior has no rotation, e.g.
            ``pretrained.load_pretrained("rate_lambda0.1")``.
        lmbda: The price of a bit it was trained with (the manifest's ``lambda``).
        bits_function: As for :class:`RateDistortionAutoencoder`.

    Returns:
        A new :class:`RateDistortionAutoencoder`; ``codec_model_of`` of it
        codes the same symbols with the same probabilities and decodes the
        same digits as ``codec_model`` (the header's model id may differ).

    Raises:
        ValueError: If the prior rotates the latent (a post-hoc codec model).
    """
    encoder, prior, decoder = (codec_model.get_layer(name) for name in ("encoder", "prior", "decoder"))
    rotation = prior.rotation_values
    if not np.allclose(rotation, np.eye(len(rotation))):
        raise ValueError(
            "`codec_model` has a rotated prior (a post-hoc codec): only a rate model's codec model can be "
            f"turned back into one. Received: codec_model={codec_model.name!r}"
        )
    model = build_rate_autoencoder(
        int(encoder.output_shape[-1]), lmbda=lmbda, filters=int(encoder.get_layer("conv1").filters),
        hidden_units=int(encoder.get_layer("dense1").units), bits_function=bits_function,
    )  # fmt: skip
    model.encoder.set_weights(encoder.get_weights())
    model.decoder.set_weights(decoder.get_weights())
    model.entropy_model.loc.assign(prior.loc_values.astype(np.float32))
    model.entropy_model.log_scale.assign(np.log(prior.scale_values).astype(np.float32))
    return model


__all__ = [
    "GaussianEntropyModel",
    "RateDistortionAutoencoder",
    "build_rate_autoencoder",
    "codec_model_of",
    "gaussian_bits",
    "rate_model_of",
    "train_rate_autoencoder",
]
