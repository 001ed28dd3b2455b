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

import itertools

from ._tf import keras
from .config import DEFAULT_LATENT_DIM
from .images import IMAGE_SHAPE, NUM_PIXELS
from .layers import LatentPrior  # noqa: F401 (registered for deserialisation: saved codec models load)

layers = keras.layers

DEFAULT_FILTERS = 16
DEFAULT_HIDDEN_UNITS = 256


def _initializers(seed):
    """Yield a fresh, seeded Glorot initializer per layer (None: unseeded)."""
    for k in itertools.count():
        yield keras.initializers.GlorotUniform(seed=None if seed is None else seed * 1000 + k)


def _seeded(layer_class, initializers, **defaults):
    """``layer_class`` with ``defaults`` filled in and the next seeded initializer for each new layer."""

    def make(*args, **kwargs):
        return layer_class(*args, kernel_initializer=next(initializers), **defaults, **kwargs)

    return make


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
    conv = _seeded(layers.Conv2D, init, kernel_size=3, padding="same", kernel_regularizer=reg)
    dense = _seeded(layers.Dense, init, kernel_regularizer=reg)
    sparsity = keras.regularizers.L1(latent_l1) if latent_l1 else None

    # Output shape of each layer, with the default widths, on the right.
    # fmt: off
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")                           # 28x28x1
    x = conv(filters, strides=2, name="conv1")(inputs)                              # 14x14x16
    x = layers.ReLU(name="relu")(x)
    x = conv(2 * filters, strides=2, activation="relu", name="conv2")(x)            # 7x7x32
    x = conv(filters, activation="relu", name="conv3")(x)                           # 7x7x16
    x = layers.Flatten(name="flatten")(x)                                           # 784
    x = dense(hidden_units, activation="relu", name="dense1")(x)                    # 256
    latent = dense(latent_dim, activity_regularizer=sparsity, name="latent")(x)     # latent_dim
    # fmt: on
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
    dense = _seeded(layers.Dense, init, kernel_regularizer=reg)
    deconv = _seeded(
        layers.Conv2DTranspose, init, kernel_size=3, strides=2, padding="same", kernel_regularizer=reg
    )
    conv = _seeded(layers.Conv2D, init, kernel_size=3, padding="same", kernel_regularizer=reg)

    # Output shape of each layer, with the default widths, on the right.
    # fmt: off
    inputs = keras.Input(shape=(latent_dim,), name="latent")                        # latent_dim
    x = dense(hidden_units, activation="relu", name="dense1")(inputs)               # 256
    x = dense(7 * 7 * filters, activation="relu", name="dense2")(x)                 # 784
    x = layers.Reshape((7, 7, filters), name="unflatten")(x)                        # 7x7x16
    x = deconv(2 * filters, activation="relu", name="deconv1")(x)                   # 14x14x32
    x = deconv(filters, name="deconv2")(x)                                          # 28x28x16
    x = layers.ReLU(name="relu")(x)
    outputs = conv(1, activation="sigmoid", name="pixels")(x)                       # 28x28x1
    # fmt: on
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
    x = layers.Flatten(name="flatten")(inputs)
    project = layers.Dense(n_components, name="latent")
    latent = project(x)
    encoder = keras.Model(inputs, latent, name="encoder")
    project.set_weights([components.astype("float32"), (-mean @ components).astype("float32")])

    latent_in = keras.Input(shape=(n_components,), name="latent")
    back = layers.Dense(NUM_PIXELS, name="reconstruct")
    y = layers.ReLU(max_value=1.0, name="clip")(back(latent_in))
    outputs = layers.Reshape(IMAGE_SHAPE, name="unflatten")(y)
    decoder = keras.Model(latent_in, outputs, name="decoder")
    back.set_weights([components.T.astype("float32"), mean.astype("float32")])

    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    return keras.Model(image, decoder(encoder(image)), name=name)


def build_naive_seed(latent_dim: int = DEFAULT_LATENT_DIM) -> tuple[keras.Model, keras.Model]:
    """The seed's layer sequence written the obvious way: stride 1 everywhere, 32/64 filters.

    Encoder: Conv2D 32 -> ReLU -> Conv2D 64 -> Conv2D 64 (3 x 3, stride 1,
    same padding: the grid stays 28 x 28) -> Flatten -> Dense 128 (ReLU) ->
    Dense ``latent_dim``. Decoder: Dense 128 (ReLU) -> Dense 28 x 28 x 64
    (ReLU) -> Reshape -> Conv2DTranspose 64 -> Conv2DTranspose 32 -> ReLU ->
    Conv2DTranspose 1 (sigmoid). About 13 million parameters, 30 times the
    course's default: ``benchmarks/training.py`` times it against the
    default, notebook 03 counts its parameters. Unseeded (seed Keras first).

    Returns:
        ``(encoder, decoder)``, two ``keras.Model`` objects.
    """
    side = IMAGE_SHAPE[0]
    image = keras.Input(IMAGE_SHAPE)
    x = layers.Conv2D(32, 3, padding="same")(image)
    x = layers.ReLU()(x)
    x = layers.Conv2D(64, 3, padding="same")(x)
    x = layers.Conv2D(64, 3, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    encoder = keras.Model(image, layers.Dense(latent_dim)(x), name="seed_encoder")
    z = keras.Input((latent_dim,))
    y = layers.Dense(128, activation="relu")(z)
    y = layers.Dense(side * side * 64, activation="relu")(y)
    y = layers.Reshape((side, side, 64))(y)
    y = layers.Conv2DTranspose(64, 3, padding="same")(y)
    y = layers.Conv2DTranspose(32, 3, padding="same")(y)
    y = layers.ReLU()(y)
    outputs = layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")(y)
    return encoder, keras.Model(z, outputs, name="seed_decoder")


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
    x = layers.Conv2D(32, 3, activation="relu", kernel_initializer=next(init))(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu", kernel_initializer=next(init))(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3, seed=seed)(x)
    outputs = layers.Dense(10, activation="softmax", kernel_initializer=next(init))(x)
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
