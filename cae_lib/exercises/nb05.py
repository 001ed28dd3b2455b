"""Checks of notebook 05 (decoding): the decoder, a transposed convolution by hand, a training step, and more.

Each check recomputes the answer with the library (the shipped models,
TensorFlow's own transposed convolution, the codec) and names the likely
mistake when the learner's answer differs.
"""

from __future__ import annotations

import numpy as np

from . import NotAnswered, Wrong, answered, exercise, kept_model

DECODER_LAYERS = ("dense1", "dense2", "unflatten", "deconv1", "deconv2", "relu", "pixels")
"""The reference decoder's layers, in order (:func:`cae_lib.models.build_decoder`)."""

MIN_INPUT_CORRELATION = 0.2
"""How closely a trained model's outputs must follow its inputs (:func:`input_correlation`)."""


def _float_images(images) -> np.ndarray:
    from .. import data

    return data.to_float(images)


def _activation(layer) -> str:
    if type(layer).__name__ == "ReLU":
        return "relu"
    activation = getattr(layer, "activation", None)
    return "-" if activation is None else getattr(activation, "__name__", str(activation))


def _last_layer(model):
    """The layer that makes a model's output, inside nested models (an autoencoder's decoder's last layer)."""
    layer = model
    while getattr(layer, "layers", None):
        layer = layer.layers[-1]
    return layer


def average_digit_psnr(images) -> float:
    """Mean PSNR (dB) of drawing the average of ``images`` for every one of them: a reference for a model's PSNR."""
    from .. import metrics

    x = _float_images(images)
    guess = np.broadcast_to(x.mean(axis=0), x.shape)
    return metrics.mean_psnr(x, guess, data_range=1.0)


def input_correlation(model, images) -> float:
    """Mean correlation, digit by digit, between a model's output and its input, both minus their average.

    About 0 for a model that draws the same image whatever it is given (an
    untrained one, or one fitted to the wrong targets: both learn the average
    digit first), towards 1 as the reconstructions follow their inputs.
    Measured on the first 500 ``images``.
    """
    from .. import training

    x = _float_images(images)[:500]
    out = training.predict_in_batches(model, x).reshape(len(x), -1).astype(np.float64)
    x = x.reshape(len(x), -1).astype(np.float64)
    out, x = out - out.mean(axis=0), x - x.mean(axis=0)
    norms = np.sqrt((out * out).sum(axis=1) * (x * x).sum(axis=1)) + 1e-12
    return float(np.mean((out * x).sum(axis=1) / norms))


def _require_trained(model, images, what: str) -> float:
    correlation = input_correlation(model, images)
    if not np.isfinite(correlation):
        raise Wrong(
            f"{what}'s outputs are not numbers (NaN or infinite): training blew up. Fit on digits scaled to "
            "[0, 1] (data.to_float), inputs and targets alike, not on 0-255 pixels"
        )
    if correlation < MIN_INPUT_CORRELATION:
        raise Wrong(
            f"{what}'s outputs hardly follow its inputs (correlation {correlation:.2f} on digits it was not fitted on, "
            f"at least {MIN_INPUT_CORRELATION} expected): it draws about the same image for every digit. "
            "The target of each digit must be the digit itself, fit(x, x), with enough updates"
        )
    return correlation


# ---------------------------------------------------------------- Exercise 1


def _library_decoder_builder():
    from .. import models

    return models.build_decoder


@exercise("05_decoding_ex1", "the decoder in plain Keras", fallback=_library_decoder_builder)
def decoder(build_decoder, digits) -> str:
    """Build the learner's latent-28 decoder, compare it layer by layer, then run it with the shipped weights.

    Args:
        build_decoder: The learner's function ``latent_dim -> keras.Model``.
        digits: A few real digits; the shipped latent-28 encoder turns them
            into the latents both decoders decode.
    """
    from .. import models, pretrained
    from .._tf import keras

    if not callable(build_decoder):
        raise Wrong(f"give the function that builds the decoder, not {type(build_decoder).__name__}")
    mine = answered(build_decoder(28), "the decoder")
    if not isinstance(mine, keras.Model):
        raise Wrong(f"build_my_decoder(28) should return a keras.Model. Received: {type(mine).__name__}")
    if mine.name != "decoder":
        raise Wrong(f"name the model 'decoder' (keras.Model(..., name='decoder')), not {mine.name!r}")
    if tuple(mine.input_shape) != (None, 28):
        raise Wrong(f"the decoder should read (batch, 28) latents; its input shape is {mine.input_shape}")
    small = answered(build_decoder(8), "the decoder")
    small_shape = tuple(getattr(small, "input_shape", ()) or ())
    if small_shape != (None, 8):
        raise Wrong(
            f"build_my_decoder(8) reads latents of shape {small_shape}, not (None, 8): use the argument, "
            "keras.Input(shape=(latent_dim,)), not a fixed 28 (exercise 7 builds a latent-8 decoder)"
        )
    reference = models.build_decoder(28, seed=0)
    names = [layer.name for layer in mine.layers if not isinstance(layer, keras.layers.InputLayer)]
    if names != list(DECODER_LAYERS):
        missing = [n for n in DECODER_LAYERS if n not in names]
        extra = [n for n in names if n not in DECODER_LAYERS]
        raise Wrong(
            f"the layers are {names}; the reference has {list(DECODER_LAYERS)} in that order"
            + (f" (missing {missing})" if missing else "")
            + (f" (unexpected {extra})" if extra else "")
            + ": name each layer with name=..."
        )
    for name in DECODER_LAYERS:
        got, want = mine.get_layer(name), reference.get_layer(name)
        got_shape, want_shape = tuple(got.output.shape[1:]), tuple(want.output.shape[1:])
        relu_layers = {type(got).__name__, type(want).__name__} <= {"ReLU", "Activation"}
        if type(got).__name__ != type(want).__name__ and not relu_layers:
            raise Wrong(f"layer {name} is a {type(got).__name__}; the reference uses a {type(want).__name__}")
        if got_shape != want_shape:
            hint = ""
            if name.startswith("deconv"):
                hint = ": a transposed convolution with kernel_size=3, strides=2, padding='same' doubles the size"
            raise Wrong(f"layer {name} outputs {got_shape}, the reference {want_shape}{hint}")
        if got.count_params() != want.count_params():
            bias = int(want_shape[-1])  # one bias per unit or filter
            hint = (
                "it has no bias: leave use_bias at its default (True)"
                if want.count_params() - got.count_params() == bias and not getattr(got, "use_bias", True)
                else "check its number of units or filters and its kernel size (3)"
            )
            raise Wrong(
                f"layer {name} has {got.count_params():,} parameters, the reference {want.count_params():,}: {hint}"
            )
        relu_twice = name == "deconv2" and _activation(got) == "relu" and _activation(want) in ("linear", "-")
        if (
            _activation(got) != _activation(want) and not relu_twice
        ):  # a ReLU inside deconv2 and after: the same
            raise Wrong(
                f"layer {name} applies {_activation(got)!r}, the reference {_activation(want)!r}: "
                "every activation must be there, and only once"
            )
    shipped = pretrained.load_pretrained(28)
    for name in DECODER_LAYERS:
        weights = models.decoder_of(shipped).get_layer(name).get_weights()
        if weights:
            mine.get_layer(name).set_weights(weights)
    latents = np.asarray(models.encoder_of(shipped)(_float_images(digits), training=False))
    want = np.asarray(models.decoder_of(shipped)(latents, training=False))
    got = np.asarray(mine(latents, training=False))
    difference = float(np.abs(got - want).max())
    if difference > 1e-4:
        raise Wrong(
            f"with the shipped latent-28 weights loaded, your decoder's pixels differ from the shipped decoder's "
            f"by up to {difference:.3f} on {len(latents)} real latents: the layers match in shape, so look for an "
            "operation between them (an extra or missing activation, a Reshape in another order)"
        )
    return (
        f"{len(DECODER_LAYERS)} layers, shapes and {mine.count_params():,} parameters as the reference; with the "
        f"shipped latent-28 weights it decodes {len(latents)} real latents like the shipped decoder "
        f"(largest pixel difference {difference:.1e})"
    )


# ---------------------------------------------------------------- Exercise 2


def library_conv_transpose2d(image, kernel, stride=1):
    """TensorFlow's transposed convolution of one 2-D image, 'valid' padding: ``(n - 1) * stride + k`` a side."""
    import tensorflow as tf

    image, kernel = np.asarray(image, np.float32), np.asarray(kernel, np.float32)
    size = [(n - 1) * stride + k for n, k in zip(image.shape, kernel.shape)]
    out = tf.nn.conv2d_transpose(
        image[None, :, :, None],
        kernel[:, :, None, None],
        output_shape=[1, *size, 1],
        strides=stride,
        padding="VALID",
    )
    return out.numpy()[0, :, :, 0]


def _stamps(image, kernel, stride, *, add=True, spacing=None) -> np.ndarray:
    """A transposed convolution by stamps, or a plausible mistake: stamps that overwrite, or stamps ``spacing`` apart."""
    spacing = stride if spacing is None else spacing
    (n, m), (kh, kw) = image.shape, kernel.shape
    out = np.zeros(((n - 1) * stride + kh, (m - 1) * stride + kw), np.float64)
    for i in range(n):
        for j in range(m):
            window = (slice(i * spacing, i * spacing + kh), slice(j * spacing, j * spacing + kw))
            out[window] = (out[window] if add else 0) + image[i, j] * kernel
    return out


def _library_conv_transpose():
    return library_conv_transpose2d


@exercise("05_decoding_ex2", "a transposed convolution by hand", fallback=_library_conv_transpose)
def conv_transpose(conv_transpose2d, image) -> str:
    """Compare the learner's ``conv_transpose2d(image, kernel, stride)`` with TensorFlow's on ``image`` and a small one."""
    if not callable(conv_transpose2d):
        raise Wrong(f"give the function conv_transpose2d, not {type(conv_transpose2d).__name__}")
    rng = np.random.default_rng(5)
    image = np.asarray(image, np.float32).squeeze()
    cases = [
        (image, rng.normal(size=(3, 3)).astype(np.float32), 2),
        (image, rng.normal(size=(3, 3)).astype(np.float32), 1),
        (rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32), 3),
    ]
    for x, kernel, stride in cases:
        got = answered(conv_transpose2d(x, kernel, stride), "the output")
        got = np.asarray(got, dtype=np.float64)
        want = library_conv_transpose2d(x, kernel, stride)
        what = f"a {x.shape[0]}x{x.shape[1]} image, a {kernel.shape[0]}x{kernel.shape[1]} kernel, stride {stride}"
        if got.shape != want.shape:
            raise Wrong(
                f"for {what} the output should be {want.shape[0]}x{want.shape[1]} ((n - 1) x stride + k a side), "
                f"not {'x'.join(map(str, got.shape))}: the last stamp starts at (n - 1) x stride and is k wide"
            )
        if np.allclose(got, want, rtol=1e-4, atol=1e-4):
            continue
        if np.allclose(got, library_conv_transpose2d(x, kernel[::-1, ::-1], stride), rtol=1e-4, atol=1e-4):
            raise Wrong(
                f"for {what} your output is TensorFlow's with the kernel flipped: each input value stamps "
                "value x kernel as it is, at rows i*stride to i*stride + k (no flip)"
            )
        for candidate, hint in [
            (
                _stamps(x, kernel, stride, add=False),
                "each stamp overwrites the ones before it: overlapping stamps add up, "
                "out[rows, cols] += image[i, j] * kernel",
            ),
            (
                _stamps(x, kernel, stride, spacing=1),
                f"the stamps are 1 pixel apart, not {stride}: image[i, j] stamps at rows i*stride to "
                "i*stride + k and columns j*stride to j*stride + k",
            ),
            *(
                (
                    swapped,
                    "rows and columns are swapped: image[i, j] stamps at rows i*stride to i*stride + k "
                    "and columns j*stride to j*stride + k, out[rows, columns] (not out[columns, rows])",
                )
                for swapped in (_stamps(x.T, kernel, stride), want.T)
            ),
        ]:
            if candidate.shape == got.shape and np.allclose(got, candidate, rtol=1e-4, atol=1e-4):
                raise Wrong(f"for {what} the outputs differ from TensorFlow's: {hint}")
        if np.allclose(got, library_conv_transpose2d(x, kernel.T, stride), rtol=1e-4, atol=1e-4) or (
            kernel.shape[0] == kernel.shape[1]
            and np.allclose(
                got, library_conv_transpose2d(x, kernel.T[::-1, ::-1], stride), rtol=1e-4, atol=1e-4
            )
        ):
            raise Wrong(
                f"for {what} your output is what the transposed kernel (kernel.T) gives: kernel[a, b] lands a rows "
                "down and b columns right of the stamp's corner, out[i*stride + a, j*stride + b]"
            )
        if np.abs(got - want).max() < 1e-2 and np.abs(got - want).max() < 5e-3 * (1 + np.abs(want).max()):
            raise Wrong(
                f"for {what} your output is right to about 3 digits (up to {np.abs(got - want).max():.2g} off): a "
                "low-precision array (float16?) rounds the stamps as they add up; make the output float32 or float64"
            )
        if np.all(got == np.round(got)) and np.abs(got - want).max() < 1:
            raise Wrong(
                f"for {what} your output holds whole numbers: an integer array (np.zeros_like of an int image, or "
                "dtype=int) drops the fractions as stamps are added; make the output float: np.zeros(..., np.float32)"
            )
        row, col = np.unravel_index(np.argmax(np.abs(got - want)), want.shape)
        raise Wrong(
            f"for {what} the outputs differ by up to {np.abs(got - want).max():.3g} (first at row {row}, "
            f"column {col}): add (+=) one stamp per input pixel, at rows i*stride to i*stride + k"
        )
    return (
        f"equal to tf.nn.conv2d_transpose for {len(cases)} cases, strides 1 to 3, "
        f"including the {image.shape[0]}x{image.shape[1]} digit"
    )


# ---------------------------------------------------------------- Exercise 3


def _loss_name(loss) -> str:
    if isinstance(loss, str):
        return loss
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    return str(name)


@exercise("05_decoding_ex3", "one compile and fit of your autoencoder")
def training_step(history, model, x_val, *, updates=None, held_out=None) -> str:
    """Check that ``history`` comes from fitting ``model`` to reproduce its input, with a validation curve.

    Args:
        history: What the learner's ``fit`` returned.
        model: The learner's autoencoder.
        x_val: The validation digits.
        updates: The weight updates (one per batch: gradient steps) that one
            epoch over the training digits takes (None: not checked); fitting
            on other digits, with another batch size or for more epochs gives
            another count.
        held_out: Digits neither fitted nor validated on, where "the outputs
            follow the inputs" is measured (None: ``x_val``).
    """
    from .. import metrics, training
    from .._tf import keras

    if not isinstance(history, keras.callbacks.History):
        raise Wrong(
            f"my_history should be what model.fit returns (a History). Received: {type(history).__name__}"
        )
    if history.model is not model:
        raise Wrong("this history is not my_autoencoder's: compile and fit my_autoencoder itself")
    loss = _loss_name(getattr(model, "loss", None)).lower().replace("_", "")
    if "binarycrossentropy" not in loss and loss != "bce":  # "bce" is Keras' own alias
        raise Wrong(
            f"the model is compiled with loss {_loss_name(model.loss)!r}; the course trains with "
            "'binary_crossentropy' (notebook 06 compares losses)"
        )
    loss_config = getattr(model.loss, "get_config", dict)() if not isinstance(model.loss, str) else {}
    if loss_config.get("from_logits") and _activation(_last_layer(model)) == "sigmoid":
        raise Wrong(
            "the loss has from_logits=True, but the decoder already ends in a sigmoid: the loss would apply a "
            "second sigmoid to pixels in [0, 1]; keep from_logits=False (the default), 'binary_crossentropy'"
        )
    if "val_loss" not in history.history:
        raise Wrong("no validation curve: pass validation_data=(x_val_f, x_val_f) to fit")
    epochs = len(history.history["val_loss"])
    done = int(history.params.get("steps") or 0) * epochs
    if updates is not None and done != updates:
        if epochs != 1:
            hint = f"it ran {epochs} epochs: one epoch, epochs=1"
        else:
            hint = "fit on x_first (not the validation digits, which must stay unseen) with batch_size=BATCH"
        raise Wrong(f"this fit made {done} updates, one epoch over x_first makes {updates}: {hint}")
    validation = _float_images(x_val)
    on_x_val = float(
        model.evaluate(validation, validation, batch_size=1000, verbose=0, return_dict=True)["loss"]
    )
    reported = float(history.history["val_loss"][-1])
    if np.isfinite(on_x_val) and abs(on_x_val - reported) > 1e-4 * max(abs(on_x_val), 1e-6) + 1e-6:
        raise Wrong(
            f"the validation loss of the fit ({reported:.4f}) is not the model's loss on x_val_f ({on_x_val:.4f}): "
            "validate on the validation digits, validation_data=(x_val_f, x_val_f), not on x_first (the digits "
            "it trains on) nor on the test digits (kept for the end)"
        )
    measured_on = "held-out" if held_out is not None else "validation"
    digits = _float_images(held_out if held_out is not None else x_val)[:500]
    try:
        correlation = _require_trained(model, digits, "the model")
    except Wrong as wrong:
        optimizer = getattr(model, "optimizer", None)
        name = type(optimizer).__name__
        rate = (
            float(np.asarray(getattr(optimizer, "learning_rate", np.nan)))
            if optimizer is not None
            else np.nan
        )
        if optimizer is not None and (name != "Adam" or rate < 1e-4):
            raise Wrong(
                f"{wrong} Your optimizer is {name} (learning rate {rate:g}): in one epoch it barely moves the "
                "weights; the course compiles with keras.optimizers.Adam(learning_rate=3e-3)"
            ) from None
        raise
    psnr = metrics.mean_psnr(digits, training.predict_in_batches(model, digits), data_range=1.0)
    return (
        f"binary cross-entropy, {done} updates, validation loss {history.history['val_loss'][-1]:.4f}; on "
        f"{len(digits)} {measured_on} digits the outputs follow the inputs (correlation {correlation:.2f}), "
        f"mean PSNR {psnr:.2f} dB (drawing the average digit every time: {average_digit_psnr(digits):.2f} dB)"
    )


# ---------------------------------------------------------------- Exercise 4


def _digit_class(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 9:
        raise Wrong(f"{name} should be a digit class, an int from 0 to 9. Received: {value!r}")
    return int(value)


@exercise("05_decoding_ex4", "the worst and best digit classes")
def classes(answer, psnr, labels) -> str:
    """Check ``(worst_class, best_class, worst_three)`` against the per-digit ``psnr`` and their ``labels``."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        raise Wrong(
            "give three things, (worst_class, best_class, worst_three). Received: "
            + (f"{len(answer)} values" if isinstance(answer, (tuple, list)) else type(answer).__name__)
        )
    worst, best, three = (
        answered(value, name) for value, name in zip(answer, ("worst_class", "best_class", "worst_three"))
    )
    worst, best = _digit_class(worst, "worst_class"), _digit_class(best, "best_class")
    psnr, labels = np.asarray(psnr), np.asarray(labels)
    per_class = np.array([psnr[labels == d].mean() for d in range(10)])
    want_worst, want_best = int(np.argmin(per_class)), int(np.argmax(per_class))
    if (worst, best) == (want_best, want_worst):
        raise Wrong("worst_class and best_class are swapped: PSNR is higher for better reconstructions")
    if worst != want_worst:
        hint = "average the PSNR over each class, then take the smallest"
        if worst == int(labels[np.argmin(psnr)]):
            hint = f"{worst} is the class of the single worst digit; " + hint
        raise Wrong(f"class {worst} has a mean PSNR of {per_class[worst]:.2f} dB, not the lowest: {hint}")
    if best != want_best:
        raise Wrong(
            f"class {best} has a mean PSNR of {per_class[best]:.2f} dB, not the highest ({per_class.max():.2f})"
        )
    three = np.asarray(three).ravel()
    if len(three) != 3 or len(set(three.tolist())) != 3:
        raise Wrong(
            f"worst_three should be three different indices into x_test. Received: {three.tolist()} "
            f"({len(three)} values, {len(set(three.tolist()))} different)"
        )
    members = np.flatnonzero(labels == worst)
    want_three = members[np.argsort(psnr[members])[:3]]
    if set(three.tolist()) != set(want_three.tolist()):
        hint = "indices into x_test of the three lowest PSNRs among that class's digits"
        if set(three.tolist()) == set(np.argsort(psnr[members])[:3].tolist()):
            hint = "these are positions within the class; turn them into indices of x_test (members[...])"
        elif set(three.tolist()) == set(np.argsort(psnr)[:3].tolist()):
            hint = "these are the three worst digits of any class; keep only the worst class's"
        elif set(three.tolist()) == set(members[np.argsort(psnr[members])[-3:]].tolist()):
            hint = "these are the class's three best digits: np.argsort sorts upwards, take the first three"
        raise Wrong(
            f"worst_three should be {sorted(want_three.tolist())}, not {sorted(three.tolist())}: {hint}"
        )
    return (
        f"worst class {worst} ({per_class[worst]:.2f} dB), best class {best} ({per_class[best]:.2f} dB), "
        f"and the worst class's three worst digits"
    )


# ---------------------------------------------------------------- Exercise 5


def sharpness(image) -> float:
    """Mean gradient magnitude of an image (pixels in [0, 1]): high for crisp strokes, low for a blur."""
    gy, gx = np.gradient(np.asarray(image, np.float64).squeeze())
    return float(np.mean(np.hypot(gx, gy)))


@exercise("05_decoding_ex5", "the decoded mean latent against the mean image")
def mean_digit(answer, decoder, latents, images) -> str:
    """Check ``(mean_latent_image, mean_image)`` and that the first is sharper than the second."""
    decoded, average = (
        answered(value, name) for value, name in zip(answer, ("mean_latent_image", "mean_image"))
    )
    decoded, average = np.asarray(decoded, np.float64).squeeze(), np.asarray(average, np.float64).squeeze()
    for value, name in ((decoded, "mean_latent_image"), (average, "mean_image")):
        if value.shape != (28, 28):
            raise Wrong(f"{name} should be one 28x28 image. Received shape {value.shape}")
    latents = np.asarray(latents, np.float32)
    want = np.asarray(decoder(latents.mean(axis=0, keepdims=True), training=False), np.float64).squeeze()
    if np.abs(decoded - want).max() > 1e-3:
        raise Wrong(
            "mean_latent_image is not the decoder's output for the mean latent vector: average the latents "
            "first (latents.mean(axis=0)), then decode that one vector (not the latent of the mean image, "
            "nor the average of decoded digits)"
        )
    want_average = _float_images(images).mean(axis=0, dtype=np.float64).squeeze()
    if np.abs(average - want_average).max() > 1e-3:
        hint = ""
        if np.abs(average - 255 * want_average).max() < 0.3:
            hint = " (yours is in 0-255: average the float digits in [0, 1], x_test_f, not x_test)"
        raise Wrong(
            f"mean_image is not the pixel-wise average of the test digits{hint}: x_test_f.mean(axis=0)"
        )
    sharp_decoded, sharp_average = sharpness(decoded), sharpness(average)
    if sharp_decoded <= sharp_average:
        raise Wrong(
            f"the decoded mean latent is not sharper than the mean image (edge strength {sharp_decoded:.3f} "
            f"against {sharp_average:.3f}): decode with the shipped model, as the cell says"
        )
    return (
        f"the decoded mean latent has edge strength {sharp_decoded:.3f} and a brightest pixel of {decoded.max():.2f}; "
        f"the mean image {sharp_average:.3f} and {average.max():.2f}: a crisp digit-like stroke against a blur"
    )


# ---------------------------------------------------------------- Exercise 6


def path_change(frames) -> float:
    """Mean absolute pixel change from one frame of a path to the next, summed along the path."""
    frames = np.asarray(frames, np.float64)
    return float(np.abs(np.diff(frames, axis=0)).mean(axis=tuple(range(1, frames.ndim))).sum())


@exercise("05_decoding_ex6", "interpolating within one class")
def same_class_path(answer, encoder, decoder, images, labels) -> str:
    """Check ``(a, b, frames)``: two test digits of one class and the decoded straight line between their latents."""
    a, b, frames = (answered(value, name) for value, name in zip(answer, ("a", "b", "frames")))
    labels = np.asarray(labels)
    for value, name in ((a, "a"), (b, "b")):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not 0 <= value < len(labels)
        ):
            raise Wrong(f"{name} should be the index of a test digit. Received: {value!r}")
    if labels[a] != labels[b]:
        raise Wrong(
            f"x_test[{a}] is a {labels[a]} and x_test[{b}] a {labels[b]}: pick two digits of the same class"
        )
    if a == b:
        raise Wrong("a and b are the same digit: pick two different ones")
    frames = np.asarray(frames, np.float32)
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[1:] != (28, 28, 1) or len(frames) < 3:
        raise Wrong(
            f"frames should be at least 3 decoded digits, shape (k, 28, 28, 1). Received {frames.shape}"
        )
    x = _float_images(images)
    z = np.asarray(encoder(x[[a, b]], training=False))
    weights = np.linspace(0, 1, len(frames))[:, None]
    want = np.asarray(decoder((1 - weights) * z[0] + weights * z[1], training=False))
    if np.abs(frames - want).max() > 2e-3:
        crossfade = (1 - weights[:, :, None, None]) * x[a] + weights[:, :, None, None] * x[b]
        if np.abs(frames - crossfade).max() < 2e-3:
            raise Wrong("these frames blend the two images' pixels: interpolate their latents, then decode")
        if np.abs(frames[::-1] - want).max() <= 2e-3:
            raise Wrong(
                f"the path runs backwards, from x_test[{b}] to x_test[{a}]: the frame at weight w is the decoded "
                "(1 - w) z_a + w z_b, so it starts at a"
            )
        raise Wrong(
            f"the frames are not the decoded points (1 - w) z_a + w z_b for w = 0 to 1 in {len(frames)} even "
            "steps: encode both digits, mix the latents, decode"
        )
    other = int(np.flatnonzero(labels != labels[a])[0])
    z_other = np.asarray(encoder(x[[a, other]], training=False))
    across = np.asarray(decoder((1 - weights) * z_other[0] + weights * z_other[1], training=False))
    return (
        f"two {labels[a]}s and the decoded line between them; the pixels change by {path_change(frames):.3f} along it, "
        f"against {path_change(across):.3f} from the same {labels[a]} to a {labels[other]} (x_test[{other}])"
    )


# ---------------------------------------------------------------- Exercise 7


@exercise("05_decoding_ex7", "your own latent-8 codec against the shipped one")
def latent8(model, digits) -> str:
    """Measure the learner's latent-8 codec model and the shipped latent-8 model on ``digits`` (uint8).

    ``digits`` should be test digits: the check also requires the model's
    outputs to follow its inputs there (:func:`input_correlation`).
    """
    from .. import codec, pretrained

    try:
        codec.prior_of(model)
    except (ValueError, AttributeError):
        raise Wrong("the model has no prior: give codec.attach_prior(your_autoencoder, x_fit)") from None
    latent_dim = int(model.get_layer("encoder").output_shape[-1])
    if latent_dim != 8:
        raise Wrong(f"the latent has {latent_dim} numbers; build the encoder and decoder with latent_dim=8")
    shipped = pretrained.load_pretrained(8)
    if codec.model_id(model) == codec.model_id(shipped):
        raise Wrong("this is the shipped latent-8 model: train your own")
    for part in ("encoder", "decoder"):  # a new prior (or a clone) changes the id, not the networks
        try:
            theirs = [w for w in shipped.get_layer(part).get_weights() if w.size > 1]
            mine = [w for w in model.get_layer(part).get_weights() if w.size > 1]
        except ValueError:
            continue
        if any(np.array_equal(a, b) for a in mine for b in theirs):
            raise Wrong(
                f"your {part} holds weights of the shipped latent-8 model (a new prior or a clone does not make it "
                "yours): train your own encoder and decoder"
            )
    try:
        codec.checked_part(model, "encoder")
        codec.checked_part(model, "decoder")
    except codec.ModelMismatchError:
        raise Wrong(
            "the model was trained after its prior was fitted: attach the prior after training"
        ) from None
    _require_trained(model, digits, "your latent-8 model")
    mine, theirs = codec.measure(digits, model), codec.measure(digits, shipped)
    return (
        f"on {mine.count} test digits your latent-8 codec takes {mine.bytes_per_image:.2f} bytes a digit at "
        f"{mine.mean_psnr_db:.2f} dB; the shipped one {theirs.bytes_per_image:.2f} bytes at {theirs.mean_psnr_db:.2f} dB"
    )


__all__ = [
    "NotAnswered", "average_digit_psnr", "classes", "conv_transpose", "decoder", "input_correlation", "latent8",
    "library_conv_transpose2d", "mean_digit", "path_change", "same_class_path", "sharpness", "training_step",
]  # fmt: skip


def encoder_from_03(latent_dim: int = 28):
    """The learner's encoder of notebook 03 with fresh weights, or the library's ``models.build_encoder`` and why.

    Args:
        latent_dim: The size of its layer ``latent`` (notebook 03 keeps the
            latent-28 encoder; the same layers at latent 8 for Exercise 7).
    """
    from .. import models

    if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive int. Received: latent_dim={latent_dim!r}")
    model = kept_model("my_encoder", fallback=lambda: models.build_encoder(int(latent_dim)), made_in="notebook 03",
                       model_name="encoder", units={"latent": int(latent_dim)})  # fmt: skip
    if int(model.outputs[0].shape[-1]) != latent_dim:  # a kept encoder whose last layer is not named 'latent'
        print(f"Using the library's version: your encoder's output is not its layer 'latent', so it cannot be "
              f"resized to {latent_dim}.")  # fmt: skip
        model = models.build_encoder(int(latent_dim))
    return model
