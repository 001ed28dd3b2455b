"""Builders for the course's convolutional autoencoder.

The architecture follows the course's seed design::

    encoder: Conv -> ReLU -> Conv -> Conv -> Dense -> Dense   (28x28x1 -> latent_dim)
    decoder: Dense -> Dense -> Conv -> Conv -> ReLU -> Conv   (latent_dim -> 28x28x1)

The first two encoder convolutions use stride 2 (28 -> 14 -> 7) and the decoder
mirrors them with transposed convolutions (7 -> 14 -> 28). Downsampling early is
what makes the model fast enough to train on a laptop CPU: the naive seed, with
stride-1 convolutions of 32 and 64 filters feeding a dense layer, does about
twenty times the arithmetic for no better reconstructions. The hidden dense
layers are 256 wide: at 128 an epoch is about as fast, but the model only
creeps up to 24 dB at the very end of its 20 epochs, where 256 gets there by
about epoch 13 (``benchmarks/training.py``).

The encoder and the decoder are separate ``keras.Model`` objects so that a
sender can ship only the encoder and a receiver only the decoder; the
autoencoder joins them and exposes both as nested models.
"""

from __future__ import annotations

from ._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

import keras

from .layers import LatentPrior  # registered for deserialisation: saved codec models load

IMAGE_SHAPE = (28, 28, 1)
"""Shape of one MNIST image as the models see it (height, width, channels)."""

DEFAULT_LATENT_DIM = 28
DEFAULT_FILTERS = 16
DEFAULT_HIDDEN_UNITS = 256


def _initializers(seed):
    """Yield a fresh, seeded Glorot initializer per layer (None: unseeded)."""
    k = 0
    while True:
        yield keras.initializers.GlorotUniform(seed=None if seed is None else seed * 1000 + k)
        k += 1


def _l2(weight_decay: float):
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise ValueError(f"`weight_decay` must be a number >= 0. Received: weight_decay={weight_decay!r}")
    return keras.regularizers.L2(weight_decay) if weight_decay else None


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def build_encoder(
    latent_dim: int = DEFAULT_LATENT_DIM,
    *,
    filters: int = DEFAULT_FILTERS,
    hidden_units: int = DEFAULT_HIDDEN_UNITS,
    seed: int | None = 0,
    weight_decay: float = 0.0,
    latent_l1: float = 0.0,
    name: str = "encoder",
) -> keras.Model:
    """Build the encoder: a 28x28x1 image in, ``latent_dim`` numbers out.

    Args:
        latent_dim: Size of the latent vector (the bottleneck).
        filters: Width of the first convolution; the second and third use
            ``2 * filters`` and ``filters``.
        hidden_units: Width of the hidden dense layer.
        seed: Seed of the initial weights, so that the same arguments build
            the same model (None: different every time).
        weight_decay: L2 penalty on every kernel, added to the training
            loss (0: none).
        latent_l1: L1 penalty on the latent values, added to the training
            loss: pushes latents towards zero, i.e. sparsity (0: none).
        name: Name of the returned model.

    Returns:
        A ``keras.Model`` mapping ``(batch, 28, 28, 1)`` floats in [0, 1] to
        ``(batch, latent_dim)`` floats.

    Example:
        >>> encoder = build_encoder(latent_dim=8)
        >>> encoder.output_shape
        (None, 8)
    """
    _check_positive_int("latent_dim", latent_dim)
    _check_positive_int("filters", filters)
    _check_positive_int("hidden_units", hidden_units)
    init = _initializers(seed)
    reg = _l2(weight_decay)
    if not (isinstance(latent_l1, (int, float)) and latent_l1 >= 0):
        raise ValueError(f"`latent_l1` must be a number >= 0. Received: latent_l1={latent_l1!r}")
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = keras.layers.Conv2D(
        filters,
        3,
        strides=2,
        padding="same",
        name="conv1",
        kernel_initializer=next(init),
        kernel_regularizer=reg,
    )(inputs)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.Conv2D(
        2 * filters,
        3,
        strides=2,
        padding="same",
        activation="relu",
        name="conv2",
        kernel_initializer=next(init),
        kernel_regularizer=reg,
    )(x)
    x = keras.layers.Conv2D(
        filters,
        3,
        padding="same",
        activation="relu",
        name="conv3",
        kernel_initializer=next(init),
        kernel_regularizer=reg,
    )(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(
        hidden_units, activation="relu", name="dense1", kernel_initializer=next(init), kernel_regularizer=reg
    )(x)
    latent = keras.layers.Dense(
        latent_dim,
        name="latent",
        kernel_initializer=next(init),
        kernel_regularizer=reg,
        activity_regularizer=keras.regularizers.L1(latent_l1) if latent_l1 else None,
    )(x)
    return keras.Model(inputs, latent, name=name)


def build_decoder(
    latent_dim: int = DEFAULT_LATENT_DIM,
    *,
    filters: int = DEFAULT_FILTERS,
    hidden_units: int = DEFAULT_HIDDEN_UNITS,
    seed: int | None = 0,
    weight_decay: float = 0.0,
    name: str = "decoder",
) -> keras.Model:
    """Build the decoder, the mirror image of :func:`build_encoder`.

    Args:
        latent_dim: Size of the latent vector it reads.
        filters: Must match the encoder's ``filters``.
        hidden_units: Width of the hidden dense layer.
        seed: Seed of the initial weights, so that the same arguments build
            the same model (None: different every time).
        weight_decay: L2 penalty on every kernel (0: none).
        name: Name of the returned model.

    Returns:
        A ``keras.Model`` mapping ``(batch, latent_dim)`` to
        ``(batch, 28, 28, 1)`` pixel values in [0, 1] (sigmoid output).

    Example:
        >>> decoder = build_decoder(latent_dim=8)
        >>> decoder.output_shape
        (None, 28, 28, 1)
    """
    _check_positive_int("latent_dim", latent_dim)
    _check_positive_int("filters", filters)
    _check_positive_int("hidden_units", hidden_units)
    init = _initializers(seed)
    reg = _l2(weight_decay)
    inputs = keras.Input(shape=(latent_dim,), name="latent")
    x = keras.layers.Dense(
        hidden_units, activation="relu", name="dense1", kernel_initializer=next(init), kernel_regularizer=reg
    )(inputs)
    x = keras.layers.Dense(
        7 * 7 * filters,
        activation="relu",
        name="dense2",
        kernel_initializer=next(init),
        kernel_regularizer=reg,
    )(x)
    x = keras.layers.Reshape((7, 7, filters), name="unflatten")(x)
    x = keras.layers.Conv2DTranspose(
        2 * filters,
        3,
        strides=2,
        padding="same",
        activation="relu",
        name="deconv1",
        kernel_initializer=next(init),
        kernel_regularizer=reg,
    )(x)
    x = keras.layers.Conv2DTranspose(
        filters,
        3,
        strides=2,
        padding="same",
        name="deconv2",
        kernel_initializer=next(init),
        kernel_regularizer=reg,
    )(x)
    x = keras.layers.ReLU(name="relu")(x)
    outputs = keras.layers.Conv2D(
        1,
        3,
        padding="same",
        activation="sigmoid",
        name="pixels",
        kernel_initializer=next(init),
        kernel_regularizer=reg,
    )(x)
    return keras.Model(inputs, outputs, name=name)


def build_autoencoder(
    latent_dim: int = DEFAULT_LATENT_DIM,
    *,
    filters: int = DEFAULT_FILTERS,
    hidden_units: int = DEFAULT_HIDDEN_UNITS,
    seed: int | None = 0,
    weight_decay: float = 0.0,
    latent_l1: float = 0.0,
    name: str = "autoencoder",
) -> keras.Model:
    """Join a fresh encoder and decoder into one trainable autoencoder.

    The parts stay reachable as ``model.get_layer("encoder")`` and
    ``model.get_layer("decoder")`` (or :func:`encoder_of` /
    :func:`decoder_of`), and they share weights with the autoencoder.

    Args:
        latent_dim: Size of the bottleneck.
        filters: Width of the convolutions (see :func:`build_encoder`).
        hidden_units: Width of the hidden dense layers.
        seed: Seed of the initial weights (the decoder uses ``seed + 1``).
        weight_decay: L2 penalty on every kernel of both parts (0: none).
        latent_l1: L1 activity penalty on the latent (0: none).
        name: Name of the returned model.

    Returns:
        An uncompiled ``keras.Model`` from ``(batch, 28, 28, 1)`` to the same shape.

    Example:
        >>> model = build_autoencoder(latent_dim=28)
        >>> model.output_shape
        (None, 28, 28, 1)
    """
    encoder = build_encoder(
        latent_dim,
        filters=filters,
        hidden_units=hidden_units,
        seed=seed,
        weight_decay=weight_decay,
        latent_l1=latent_l1,
    )
    decoder = build_decoder(
        latent_dim,
        filters=filters,
        hidden_units=hidden_units,
        seed=None if seed is None else seed + 1,
        weight_decay=weight_decay,
    )
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    outputs = decoder(encoder(inputs))
    return keras.Model(inputs, outputs, name=name)


def encoder_of(autoencoder: keras.Model) -> keras.Model:
    """Return the encoder nested in an autoencoder from :func:`build_autoencoder`."""
    return autoencoder.get_layer("encoder")


def decoder_of(autoencoder: keras.Model) -> keras.Model:
    """Return the decoder nested in an autoencoder from :func:`build_autoencoder`."""
    return autoencoder.get_layer("decoder")


def latent_dim_of(autoencoder: keras.Model) -> int:
    """Return the size of an autoencoder's latent vector."""
    return int(encoder_of(autoencoder).output_shape[-1])


def attach_prior(autoencoder: keras.Model, x_train, *, decorrelate: bool = True, batch_size: int = 1000):
    """Return a codec-ready model: encoder -> :class:`~cae_lib.layers.LatentPrior` -> decoder.

    The prior is fitted on the encoder's latents of ``x_train``. The returned
    model shares the encoder and decoder (and so their weights) with
    ``autoencoder``; saved as one ``.keras`` file it carries all three parts.

    Args:
        autoencoder: A trained model from :func:`build_autoencoder`, or a
            codec model whose prior should be refitted.
        x_train: float32 training images ``(n, 28, 28, 1)`` to fit the prior on.
        decorrelate: Rotate latents onto their principal axes before coding
            (see :class:`~cae_lib.layers.LatentPrior`).
        batch_size: Batch size for computing the latents.

    Returns:
        A ``keras.Model`` named ``"codec_model"`` with layers ``encoder``,
        ``prior`` and ``decoder``.
    """
    from .codec import weights_digest
    from .training import predict_in_batches

    encoder, decoder = encoder_of(autoencoder), decoder_of(autoencoder)
    prior = LatentPrior(decorrelate=decorrelate, name="prior")
    prior.fit(predict_in_batches(encoder, x_train, batch_size=batch_size))
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


def prior_of(model: keras.Model):
    """Return the :class:`~cae_lib.layers.LatentPrior` of a model from :func:`attach_prior`."""
    try:
        return model.get_layer("prior")
    except ValueError:
        raise ValueError(
            f"Model {model.name!r} has no latent prior; build it with cae_lib.models.attach_prior."
        ) from None


def build_pca_autoencoder(x_train, n_components: int, *, name: str = "pca_autoencoder") -> keras.Model:
    """PCA as an autoencoder with the same interface as :func:`build_autoencoder`.

    The encoder is one linear layer (projection on the first ``n_components``
    principal components of ``x_train``); the decoder is its transpose plus
    the mean image, clipped to [0, 1]. Because it has the same parts, PCA can
    go through the same prior, quantiser and entropy coder as the
    autoencoder, which makes the comparison fair.

    Args:
        x_train: float32 images ``(n, 28, 28, 1)`` in [0, 1].
        n_components: Number of principal components kept (the latent size).
        name: Name of the returned model.

    Returns:
        A ``keras.Model`` with nested ``encoder`` and ``decoder`` models
        (no training needed).
    """
    import numpy as np

    _check_positive_int("n_components", n_components)
    flat = np.asarray(x_train, dtype=np.float32).reshape(len(x_train), -1)  # a view: no copy of the data
    if n_components > flat.shape[1]:
        raise ValueError(
            f"`n_components` can be at most {flat.shape[1]}. Received: n_components={n_components}"
        )
    mean = flat.mean(axis=0, dtype=np.float64)
    covariance = (flat.T @ flat).astype(np.float64) / len(flat) - np.outer(mean, mean)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    components = eigenvectors[:, np.argsort(eigenvalues)[::-1][:n_components]]  # (784, k)

    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    project = keras.layers.Dense(n_components, name="latent")
    latent = project(x)
    encoder = keras.Model(inputs, latent, name="encoder")
    project.set_weights([components.astype("float32"), (-mean @ components).astype("float32")])

    latent_in = keras.Input(shape=(n_components,), name="latent")
    back = keras.layers.Dense(784, name="reconstruct")
    y = keras.layers.ReLU(max_value=1.0, name="clip")(back(latent_in))
    outputs = keras.layers.Reshape(IMAGE_SHAPE, name="unflatten")(y)
    decoder = keras.Model(latent_in, outputs, name="decoder")
    back.set_weights([components.T.astype("float32"), mean.astype("float32")])

    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    return keras.Model(image, decoder(encoder(image)), name=name)


def build_digit_classifier(*, seed: int | None = 0, name: str = "digit_classifier") -> keras.Model:
    """A small CNN that reads MNIST digits (about 99% test accuracy after 3 epochs).

    Used as a task-aware quality measure: if it reads a reconstruction as
    well as the original, the compression kept what a digit is *for*.

    Returns:
        An uncompiled model from ``(batch, 28, 28, 1)`` floats in [0, 1] to
        10 class probabilities.
    """
    init = _initializers(seed)
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = keras.layers.Conv2D(32, 3, activation="relu", kernel_initializer=next(init))(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu", kernel_initializer=next(init))(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3, seed=seed)(x)
    outputs = keras.layers.Dense(10, activation="softmax", kernel_initializer=next(init))(x)
    return keras.Model(inputs, outputs, name=name)


def describe_layers(model: keras.Model) -> list[dict]:
    """One row per layer: name, type, output shape (without the batch axis) and parameter count.

    Nested models (the encoder inside an autoencoder) are one row each.
    """
    rows = []
    for layer in model.layers:
        shape = layer.output.shape if hasattr(layer, "output") else None
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": tuple(shape[1:]) if shape is not None else None,
                "parameters": int(layer.count_params()),
            }
        )
    return rows
