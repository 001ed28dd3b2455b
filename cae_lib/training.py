"""One way to train the course's autoencoders: seeded, with a progress bar, quick-mode aware.

``CAE_PROGRESS``
    How a training run with ``verbose="auto"`` (the default) reports its
    progress. Unset (or ``bar``): Keras' live progress bar, for JupyterLab
    and a terminal. ``epoch``: one line per epoch, for runs that no live
    front end watches (``scripts/build_site.py`` sets it), where the bar
    would write a line of text per update into the notebook. An explicit
    ``verbose`` (0, 1 or 2) is always passed to Keras as it is.
"""

from __future__ import annotations

import time

import numpy as np

from . import config, data
from ._tf import keras

PROGRESS_ENV, PROGRESS_MODES, progress_mode = config.PROGRESS_ENV, config.PROGRESS_MODES, config.progress_mode


class EpochLines(keras.callbacks.Callback):
    """Print one line at the end of each epoch: its number, its seconds and the logged metrics.

    What training shows under ``CAE_PROGRESS=epoch`` instead of the progress bar, e.g.
    ``Epoch 3/20 - 12s - loss: 0.0912 - val_loss: 0.0934``.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - getattr(self, "_start", time.perf_counter())
        values = " - ".join(f"{name}: {_number(value)}" for name, value in (logs or {}).items())
        epochs = self.params.get("epochs", "?")
        print(f"Epoch {epoch + 1}/{epochs} - {seconds:.0f}s" + (f" - {values}" if values else ""), flush=True)


def _number(value) -> str:
    try:
        return f"{float(value):.4f}"
    except (TypeError, ValueError):
        return str(value)


def fit_progress(verbose, callbacks=None):
    """The ``verbose`` and ``callbacks`` to pass to ``fit``, following ``CAE_PROGRESS``.

    ``verbose="auto"`` under ``CAE_PROGRESS=epoch`` becomes ``verbose=0``
    plus an :class:`EpochLines` callback (one line per epoch); anything else
    is returned unchanged.

    Example:
        >>> fit_progress(2, None)
        (2, None)
    """
    if verbose == "auto" and progress_mode() == "epoch":
        return 0, [*(callbacks or []), EpochLines()]
    return verbose, callbacks


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow so a run can be repeated (``keras.utils.set_random_seed``)."""
    keras.utils.set_random_seed(int(seed))


def _check_batch_size(batch_size) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")


class ArrayBatches(keras.utils.PyDataset):
    """Training batches cut from in-memory arrays, one batch at a time.

    Keras turns NumPy arrays given to ``fit`` into TensorFlow tensors first:
    for an autoencoder's ``fit(x, x)`` that is two full copies of the
    training set (2 x 188 MB for the 60,000 MNIST digits as float32), and
    they stay referenced after the fit. This dataset only ever copies one
    batch, which keeps a notebook inside Binder's memory.

    Args:
        x: Inputs, an array of any shape ``(n, ...)``.
        y: Targets ``(n, ...)``; None makes the (transformed) inputs their
            own targets (an autoencoder).
        transform: Optional function applied to each batch of inputs, e.g.
            :func:`cae_lib.data.to_float` to keep the training set as uint8
            (a quarter of the memory of float32) and scale batch by batch.
        batch_size: Items per batch (the last batch may be smaller).
        shuffle: Draw a new random order every epoch.
        seed: Seed of that order, so a run can be repeated.
        **kwargs: Passed to ``keras.utils.PyDataset`` (``workers``, ...).

    Example:
        >>> batches = ArrayBatches(np.zeros((300, 28, 28, 1), np.float32), batch_size=128)
        >>> len(batches), batches[2][0].shape
        (3, (44, 28, 28, 1))
    """

    def __init__(self, x, y=None, *, batch_size: int = 128, shuffle: bool = True, seed: int = 0,
                 transform=None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        x = np.asarray(x)
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(x):
                raise ValueError(
                    f"x and y must have the same length. Received: len(x)={len(x)}, len(y)={len(y)}"
                )
        _check_batch_size(batch_size)
        if len(x) == 0:
            raise ValueError("x must hold at least one item. Received: len(x)=0")
        if transform is not None and not callable(transform):
            raise ValueError(f"`transform` must be a function or None. Received: transform={transform!r}")
        self.x, self.y, self.batch_size, self.shuffle = x, y, int(batch_size), bool(shuffle)
        self.transform = transform
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(x)) if self.shuffle else None

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        start = index * self.batch_size
        if self.shuffle:  # sorted within the batch: faster to gather, same batch
            picks = np.sort(self._order[start : start + self.batch_size])
        else:
            picks = slice(start, start + self.batch_size)
        inputs = self.x[picks]
        if self.transform is not None:
            inputs = self.transform(inputs)
        return inputs, (inputs if self.y is None else self.y[picks])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(len(self.x))


def train_autoencoder(
    model: keras.Model,
    x_train: np.ndarray,
    *,
    x_val: np.ndarray | None = None,
    epochs: int = 20,
    batch_size: int = 128,
    learning_rate: float = 3e-3,
    schedule: str = "cosine",
    loss="binary_crossentropy",
    input_noise: float = 0.0,
    seed: int = 0,
    quick: bool | None = None,
    verbose="auto",
    callbacks=None,
):
    """Compile and fit an autoencoder to reproduce its input: the course's training recipe.

    The model is compiled with Adam and ``loss``, and fitted on
    ``(x_train, x_train)`` with a Keras progress bar, in batches cut one
    at a time (:class:`ArrayBatches`, which avoids Keras' copies of the
    whole training set). The learning rate
    follows a cosine decay from ``learning_rate`` to 2% of it over the run
    (``schedule="cosine"``) or stays constant. The run is seeded, so the
    same arguments give the same weights on the same machine. With the
    defaults, ``build_autoencoder()`` reaches about 24 dB mean PSNR on the
    test set in 20 epochs of 10 to 17 s each on 2 CPU cores (machines vary).

    With ``input_noise > 0`` the model is trained as a *denoising*
    autoencoder: Gaussian noise of that standard deviation is added to each
    input batch (a ``keras.layers.GaussianNoise`` layer, active only during
    training) while the target stays the clean image.

    In quick mode (``CAE_QUICK=1``, or ``quick=True``) the run is shrunk to
    the first ``config.QUICK_TRAIN_SIZE`` images and ``config.QUICK_EPOCHS``
    epoch(s), and says so.

    Args:
        model: An uncompiled (or compiled) autoencoder, e.g. from
            :func:`cae_lib.models.build_autoencoder`.
        x_train: float32 images ``(n, 28, 28, 1)`` in [0, 1], or uint8
            digits ``(n, 28, 28)`` as loaded, scaled batch by batch (the
            same training, without a float copy of the training set:
            188 MB less for MNIST).
        x_val: Optional validation images, either form; validation loss is
            then recorded per epoch.
        epochs: Epochs in full mode.
        batch_size: Images per gradient step.
        learning_rate: Adam's (initial) learning rate.
        schedule: ``"cosine"`` (decay to 2%) or ``"constant"``.
        loss: Any Keras loss (name or object) comparing input and output.
        input_noise: Standard deviation of Gaussian noise added to the
            inputs during training (0: a plain autoencoder).
        seed: Random seed for initialisation and shuffling.
        quick: Force quick (True) or full (False) mode; None reads ``CAE_QUICK``.
        verbose: Passed to ``model.fit``: "auto" shows a progress bar, or one
            line per epoch under ``CAE_PROGRESS=epoch`` (:func:`fit_progress`).
        callbacks: Extra Keras callbacks.

    Returns:
        The ``keras.callbacks.History`` of the run, with
        ``history.params["seconds"]`` holding the wall time of the fit.

    Example:
        >>> model = build_autoencoder()                      # doctest: +SKIP
        >>> history = train_autoencoder(model, x_train, epochs=10)  # doctest: +SKIP
    """
    x_train, transform = _training_images(x_train, "x_train")
    if x_val is not None:
        x_val, val_transform = _training_images(x_val, "x_val")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"`schedule` must be 'cosine' or 'constant'. Received: schedule={schedule!r}")
    if not input_noise >= 0:
        raise ValueError(f"`input_noise` must be >= 0. Received: input_noise={input_noise!r}")
    budget = config.training_budget(epochs, quick=quick)
    if budget.train_size is not None:
        x_train = x_train[: budget.train_size]
    if budget.quick:
        print(f"Training in {budget.describe(len(x_train))}.")
    set_seed(seed)
    rate = learning_rate
    if schedule == "cosine":
        steps = budget.epochs * -(-len(x_train) // batch_size)
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
    fit_model = model
    if input_noise:
        inputs = keras.Input(shape=model.input_shape[1:])
        noisy = keras.layers.GaussianNoise(input_noise, seed=seed, name="input_noise")(inputs)
        fit_model = keras.Model(inputs, model(noisy), name=f"denoising_{model.name}")
    fit_model.compile(optimizer=keras.optimizers.Adam(rate), loss=loss)
    validation = (
        None
        if x_val is None
        else ArrayBatches(x_val, batch_size=1000, shuffle=False, transform=val_transform)
    )
    verbose, callbacks = fit_progress(verbose, callbacks)
    start = time.perf_counter()
    history = fit_model.fit(
        ArrayBatches(x_train, batch_size=batch_size, seed=seed, transform=transform),
        epochs=budget.epochs,
        validation_data=validation,
        verbose=verbose,
        callbacks=callbacks,
    )
    history.params["seconds"] = time.perf_counter() - start
    return history


class UpdateLog(keras.callbacks.Callback):
    """Record every metric after every update (one per batch), not only per epoch.

    Keras reports a metric during an epoch as the running mean since the
    epoch began; this callback recovers each update's own value from two
    consecutive running means, so a run of one short epoch still draws a
    curve. ``values[name]`` holds one float per update, ``smoothed(name, n)``
    their moving average over ``n`` updates.

    Example:
        >>> log = UpdateLog()
        >>> for batch, running in enumerate([4.0, 3.0, 2.0]):  # what Keras reports: running means
        ...     log.on_train_batch_end(batch, {"loss": running})
        >>> log.values["loss"]
        [4.0, 2.0, 0.0]
    """

    def __init__(self):
        super().__init__()
        self.values: dict[str, list[float]] = {}
        self._running: dict[str, float] = {}

    def on_train_batch_end(self, batch, logs=None):
        for name, running in (logs or {}).items():
            running = float(running)
            previous = self._running.get(name, 0.0) if batch else 0.0
            self.values.setdefault(name, []).append((batch + 1) * running - batch * previous)
            self._running[name] = running

    def smoothed(self, name: str, window: int) -> np.ndarray:
        """The moving average of ``values[name]`` over ``window`` updates (shorter at the start)."""
        values = np.asarray(self.values[name], np.float64)
        sums = np.cumsum(np.concatenate([[0.0], values]))
        counts = np.minimum(np.arange(1, values.size + 1), window)
        return (sums[1:] - sums[np.arange(values.size) + 1 - counts]) / counts


def warm_start(
    model: keras.Model, source: keras.Model, *, name: str = "the shipped model", verbose: bool = True
) -> bool:
    """Copy the encoder's and decoder's weights of ``source`` into ``model``, when their shapes agree.

    Quick mode uses it so that a short run refines a trained model instead of
    showing the grey blur of a few hundred steps from scratch. Only the nested
    ``encoder`` and ``decoder`` are copied (a prior or other parts of
    ``source`` are not), and nothing is changed unless every weight matches in
    shape: a model built with other layers keeps its own weights, and the
    returned False says so. One line is printed either way (a refusal always;
    a success unless ``verbose=False``, for a notebook that says so once).

    Args:
        model: An autoencoder with nested models named ``encoder`` and ``decoder``.
        source: A trained model with the same nested models, e.g.
            ``pretrained.load_pretrained(28)``.
        name: How the printed line names ``source``.
        verbose: Print the line saying the weights were copied.

    Returns:
        True when the weights were copied.

    Example:
        >>> warm_start(build_autoencoder(28), load_pretrained(28))  # doctest: +SKIP
        True
    """
    pairs = []
    for part in ("encoder", "decoder"):
        try:
            target_weights = model.get_layer(part).get_weights()
            source_weights = source.get_layer(part).get_weights()
        except ValueError:
            print(
                f"Not warm-started: one of the models has no nested `{part}`; training starts from its own weights."
            )
            return False
        if [w.shape for w in target_weights] != [w.shape for w in source_weights]:
            print(
                f"Not warm-started: your {part}'s weights differ in shape from {name}'s; "
                "training starts from your own weights."
            )
            return False
        pairs.append((model.get_layer(part), source_weights))
    for layer, weights in pairs:
        layer.set_weights(weights)
    if verbose:
        print(f"Warm start: your model now holds the weights of {name}; the short run below refines them.")
    return True


def _training_images(images, name: str):
    """Check training images (:func:`cae_lib.data.image_batch`); uint8 digits get scaled batch by batch."""
    batch = data.image_batch(images, name=name)
    return batch, (data.to_float if batch.dtype == np.uint8 else None)


def predict_in_batches(
    model: keras.Model, inputs, *, batch_size: int = 1000, convert=np.asarray
) -> np.ndarray:
    """Apply a model to many inputs, one batch at a time, without a progress bar.

    Same result as ``model.predict(inputs, verbose=0)``, without its costs:
    a single small batch is a direct call (no start-up or tracing), larger
    inputs go through ``model.predict_on_batch`` one batch at a time (the
    compiled graph, but Keras never copies all the inputs into one tensor:
    188 MB for the 60,000 training digits as float32). Measured on the
    10,000 test digits: about 40 % faster than ``predict`` at decoding. A
    data pipeline per call (``predict`` on a ``keras.utils.PyDataset``)
    would also avoid the copy, but TensorFlow keeps each such pipeline's
    data alive after the call: about 65 MB more per call.

    Args:
        model: Any Keras model.
        inputs: Array ``(n, ...)`` of the model's input shape.
        batch_size: Inputs per call.
        convert: Applied to each batch's outputs before they are joined,
            e.g. :func:`cae_lib.data.to_uint8` to keep decoded digits as
            uint8 (a quarter of the memory of float32 pixels).

    Returns:
        The (converted) outputs as a NumPy array, in input order.
    """
    inputs = np.asarray(inputs)
    _check_batch_size(batch_size)
    if len(inputs) <= batch_size:
        return convert(np.asarray(model(inputs, training=False)))
    parts = [
        convert(np.asarray(model.predict_on_batch(inputs[i : i + batch_size])))
        for i in range(0, len(inputs), batch_size)
    ]
    return np.concatenate(parts)


def train_digit_classifier(model: keras.Model, x_train, y_train, *, epochs: int = 3, seed: int = 0,
                           quick: bool | None = None, verbose="auto"):  # fmt: skip
    """Fit a classifier from :func:`cae_lib.models.build_digit_classifier` (quick-mode aware).

    ``x_train`` is float ``(n, 28, 28, 1)`` in [0, 1] or uint8 ``(n, 28, 28)``
    (scaled batch by batch), as for :func:`train_autoencoder`.

    Returns:
        The ``keras.callbacks.History`` of the run.
    """
    budget = config.training_budget(epochs, quick=quick)
    n = len(x_train) if budget.train_size is None else budget.train_size
    set_seed(seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x_train, transform = _training_images(x_train, "x_train")
    batches = ArrayBatches(
        x_train[:n], np.asarray(y_train)[:n], batch_size=128, seed=seed, transform=transform
    )
    verbose, callbacks = fit_progress(verbose)
    return model.fit(batches, epochs=budget.epochs, verbose=verbose, callbacks=callbacks)


def accuracy(classifier: keras.Model, images, labels, *, batch_size: int = 1000) -> float:
    """Share of ``images`` (float ``(n, 28, 28, 1)``) the classifier labels correctly."""
    predicted = predict_in_batches(classifier, images, batch_size=batch_size).argmax(axis=1)
    return float(np.mean(predicted == np.asarray(labels)))


def agreement(classifier: keras.Model, images_a, images_b, *, batch_size: int = 1000) -> float:
    """Share of pairs the classifier gives the same label (e.g. originals and their reconstructions)."""
    a = predict_in_batches(classifier, images_a, batch_size=batch_size).argmax(axis=1)
    b = predict_in_batches(classifier, images_b, batch_size=batch_size).argmax(axis=1)
    if len(a) != len(b):
        raise ValueError(f"images_a and images_b must have the same length. Received: {len(a)} and {len(b)}")
    return float(np.mean(a == b))
