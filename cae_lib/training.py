"""One way to train the course's autoencoders: seeded, with a progress bar, quick-mode aware."""

from __future__ import annotations

import time

import keras
import numpy as np

from . import config


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow so a run can be repeated (``keras.utils.set_random_seed``)."""
    keras.utils.set_random_seed(int(seed))


def train_autoencoder(
    model: keras.Model,
    x_train: np.ndarray,
    *,
    x_val: np.ndarray | None = None,
    epochs: int = 15,
    batch_size: int = 128,
    learning_rate: float = 2e-3,
    loss="binary_crossentropy",
    seed: int = 0,
    quick: bool | None = None,
    verbose="auto",
    callbacks=None,
):
    """Compile and fit an autoencoder to reproduce its input.

    The model is compiled with Adam and ``loss``, and fitted on
    ``(x_train, x_train)`` with a Keras progress bar. The run is seeded, so
    the same arguments give the same weights on the same machine.

    In quick mode (``CAE_QUICK=1``, or ``quick=True``) the run is shrunk to
    the first ``config.QUICK_TRAIN_SIZE`` images and ``config.QUICK_EPOCHS``
    epoch(s), and says so.

    Args:
        model: An uncompiled (or compiled) autoencoder, e.g. from
            :func:`cae_lib.models.build_autoencoder`.
        x_train: float32 images ``(n, 28, 28, 1)`` in [0, 1].
        x_val: Optional validation images, same form; validation loss is
            then recorded per epoch.
        epochs: Epochs in full mode.
        batch_size: Images per gradient step.
        learning_rate: Adam's learning rate.
        loss: Any Keras loss (name or object) comparing input and output.
        seed: Random seed for initialisation and shuffling.
        quick: Force quick (True) or full (False) mode; None reads ``CAE_QUICK``.
        verbose: Passed to ``model.fit`` ("auto" shows a progress bar).
        callbacks: Extra Keras callbacks.

    Returns:
        The ``keras.callbacks.History`` of the run, with
        ``history.params["seconds"]`` holding the wall time of the fit.

    Example:
        >>> model = build_autoencoder()                      # doctest: +SKIP
        >>> history = train_autoencoder(model, x_train, epochs=10)  # doctest: +SKIP
    """
    x_train = np.asarray(x_train)
    if x_train.ndim != 4 or x_train.shape[1:] != tuple(model.input_shape[1:]):
        raise ValueError(
            f"x_train must have shape (n, {', '.join(map(str, model.input_shape[1:]))}). "
            f"Received: x_train.shape={x_train.shape}"
        )
    if not np.issubdtype(x_train.dtype, np.floating):
        raise ValueError(
            "x_train must be float images in [0, 1] (see cae_lib.data.to_float). "
            f"Received: dtype={x_train.dtype}"
        )
    budget = config.training_budget(epochs, quick=quick)
    if budget.train_size is not None:
        x_train = x_train[: budget.train_size]
    if budget.quick:
        print(f"Training in {budget.describe(len(x_train))}.")
    set_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    validation = None if x_val is None else (x_val, x_val)
    start = time.perf_counter()
    history = model.fit(
        x_train,
        x_train,
        epochs=budget.epochs,
        batch_size=batch_size,
        shuffle=True,
        validation_data=validation,
        verbose=verbose,
        callbacks=callbacks,
    )
    history.params["seconds"] = time.perf_counter() - start
    return history


def reconstruct(model: keras.Model, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """Run images through a model in batches, without a progress bar."""
    return model.predict(np.asarray(images), batch_size=batch_size, verbose=0)
