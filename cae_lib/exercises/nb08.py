"""Checks of notebook 08 (deploying): the receiver's decode step, the 8-bit decoder's cost, latency, a TFLite encoder.

Each check runs the codec itself (:mod:`cae_lib.codec`, the exported
runners of the notebook) and compares the learner's answer with it, naming
the likely mistake when they differ.
"""

from __future__ import annotations

import numpy as np

from . import Wrong, answered, call, exercise, number

SAMPLE = 200
"""Exercise 2: how many of the learner's 8-bit digits are decoded again and compared."""


def receive_reference(cae_bytes: bytes, receiver, run_decoder) -> np.ndarray:
    """The library's receiver step: ``.cae`` bytes -> latents (prior of ``receiver``) -> ``run_decoder`` -> uint8."""
    from .. import codec, data

    _, latents = codec.decompress_latents(cae_bytes, receiver)
    return data.to_uint8(run_decoder(latents))


def _digits_problem(got, expected, what: str) -> str | None:
    """What is wrong with ``got`` as uint8 digits equal to ``expected``, or None if nothing."""
    got = np.asarray(got)
    if got.shape == expected.shape + (1,):
        return f"{what} have shape {got.shape}: drop the channel axis, (n, 28, 28) like codec.decompress (data.to_uint8 does)"
    if got.shape != expected.shape:
        return f"{what} have shape {got.shape}, expected {expected.shape}: one 28 x 28 digit per image of the file"
    if got.dtype != np.uint8:
        scale = " in [0, 1]" if got.size and float(np.max(got)) <= 1.0 else ""
        return f"{what} are {got.dtype}{scale}, not uint8 pixels 0-255: convert the decoder's output with data.to_uint8"
    diff = np.abs(got.astype(np.int16) - expected.astype(np.int16))
    if diff.max() == 0:
        return None
    if got.max() <= 1 < expected.max():
        return (
            f"{what} are uint8 but only 0 or 1: the decoder gives pixels in [0, 1], so multiply by 255 before "
            "the conversion (data.to_uint8 does, and rounds)"
        )
    share = float(np.mean(diff > 0))
    if diff.max() == 1 and share > 0.01:
        return (
            f"{what} differ by one grey level on {share:.1%} of the pixels: round, do not truncate "
            "(data.to_uint8 rounds; .astype(np.uint8) cuts the fraction off)"
        )
    if diff.max() == 1:
        return None  # a float32 runtime's last bits can move a pixel sitting on .5 to the next level
    return f"{what} differ by up to {diff.max()} grey levels on {share:.1%} of the pixels"


def _one_digit_file(cae_bytes: bytes, receiver) -> bytes:
    """A ``.cae`` file of the first digit of ``cae_bytes`` alone, made from its symbols (the receiver has no encoder)."""
    from .. import codec
    from ..codec import entropy

    header = codec.read_header(cae_bytes)
    scale = codec.prior_of(receiver).scale_values
    symbols = entropy.decode_symbols(codec.payload_of(cae_bytes, header), scale, header.step, header.count)[
        :1
    ]
    payload = entropy.encode_symbols(symbols, scale, header.step)
    return codec.pack(codec.model_id(receiver), count=1, step=header.step, payload=payload)


@exercise("08_deploying_ex1", "the receiver's decode step", fallback=lambda: receive_reference)
def receiver_program(receive, *, receiver, run_decoder, files) -> str:
    """Check ``receive(cae_bytes, receiver, run_decoder)`` against ``codec.decompress`` on each of ``files``."""
    from .. import codec

    if not callable(receive):
        raise Wrong(
            f"receive should be a function receive(cae_bytes, receiver, run_decoder). Received: {receive!r}"
        )
    calls = []

    def spy(
        latents,
    ):  # the runner given draws every digit mirrored: only its own output can come back mirrored
        calls.append(np.shape(latents))
        return np.flip(np.asarray(run_decoder(latents)), axis=2)

    files = list(files)
    if all(codec.read_header(blob).count > 1 for blob in files):  # one digit: a squeeze or an [0] shows there
        files.append(_one_digit_file(files[0], receiver))
    total = 0
    for file_number, cae_bytes in enumerate(files, 1):
        expected = np.flip(codec.decompress(cae_bytes, receiver), axis=2)  # what the mirroring runner gives
        calls.clear()
        try:
            got = receive(cae_bytes, receiver, spy)
        except Exception as error:  # noqa: BLE001 - reported to the learner
            raise Wrong(f"receive raised {type(error).__name__}: {error}") from None
        answered(got, "receive's result")
        header = codec.read_header(cae_bytes)
        if not calls:
            raise Wrong(
                "receive never called run_decoder: the receiving device has the exported decoder, not Keras; "
                "turn the file into latents (codec.decompress_latents) and decode those with run_decoder"
            )
        problem = _digits_problem(
            got, expected, f"the digits of file {file_number} ({header.count} digits, step {header.step:g})"
        )
        if problem and _digits_problem(got, np.flip(expected, axis=2), "") is None:
            raise Wrong(
                "your digits are codec.decompress's, not run_decoder's: the runner given here draws every digit "
                "mirrored, and yours are not. Return what run_decoder makes of the file's latents"
            )
        if problem:
            if (
                header.step != 1
                and problem.startswith(f"the digits of file {file_number}")
                and "grey levels" in problem
            ):
                problem += (
                    f" (this file is at step {header.step:g}: codec.decompress_latents already multiplies the "
                    "symbols by the file's step, so hand its latents to run_decoder as they are)"
                )
            raise Wrong(f"{problem}; codec.decompress of the same file is the reference")
        total += header.count
    return (
        f"{len(files)} files, {total} digits: the same pixels as codec.decompress, decoded by the runner given "
        "(a TFLite decoder here)"
    )


@exercise("08_deploying_ex2", "what the 8-bit decoder costs")
def int8_cost(cost, digits, *, int8_digits=..., sender, receiver, run_int8, step: float = 1.0) -> str:
    """Check ``int8_digits`` (a sample decoded again with ``run_int8``) and ``cost`` in dB on ``digits``."""
    from .. import codec, data, metrics

    int8_digits = answered(int8_digits, "int8_digits")
    cost = number(cost, "cost")
    blob = codec.compress(digits, sender, step=step)
    _, latents = codec.decompress_latents(blob, receiver)
    float_digits = codec.decode_latents(latents, receiver)
    sample = np.sort(np.random.default_rng(0).choice(len(digits), min(SAMPLE, len(digits)), replace=False))
    got = np.asarray(int8_digits)
    expected_int8 = data.to_uint8(run_int8(latents[sample]))
    if (
        got.shape == float_digits.shape
        and got.dtype == np.uint8
        and not np.array_equal(got[sample], expected_int8)
    ):
        if np.array_equal(got[sample], float_digits[sample]):
            raise Wrong(
                "int8_digits are the float decoder's digits: decode the latents with runners['TFLite 8-bit weights']"
            )
    if got.shape != float_digits.shape:
        problem = _digits_problem(got, float_digits, "int8_digits")
    else:
        problem = _digits_problem(
            got[sample], expected_int8, f"int8_digits (checked on {len(sample)} of them)"
        )
    if problem:
        raise Wrong(
            f"{problem}: compress the digits with the sender at step {step:g}, read the latents back "
            "(codec.decompress_latents) and decode them with the 8-bit TFLite runner"
        )
    float_psnr = metrics.mean_psnr(digits, float_digits, data_range=255)
    int8_psnr = metrics.mean_psnr(digits, got, data_range=255)
    expected = float_psnr - int8_psnr
    if abs(cost - expected) > 0.002:
        hint = "cost = mean PSNR with the float decoder - mean PSNR with the 8-bit decoder, both against the originals"
        if abs(cost + expected) <= 0.002:
            hint = "the sign is the wrong way round: the float decoder's PSNR minus the 8-bit one's"
        elif abs(cost - metrics.mean_psnr(float_digits, got, data_range=255)) < 0.01:
            hint = "that is the PSNR between the two decoders' digits; compare each with the original digits"
        elif abs(cost - float_psnr / int8_psnr) < 1e-4 or abs(cost - int8_psnr / float_psnr) < 1e-4:
            hint = "that is a ratio of the two PSNRs: decibels are already logarithmic, so subtract them"
        elif abs(cost - float_psnr) < 0.01 or abs(cost - int8_psnr) < 0.01:
            hint = "that is one decoder's PSNR: the cost is the difference of the two"
        raise Wrong(
            f"on these {len(digits)} digits the float decoder gives {float_psnr:.3f} dB and the 8-bit one "
            f"{int8_psnr:.3f} dB, a cost of {expected:.3f} dB, not {cost:.3f}: {hint}"
        )
    return (
        f"the 8-bit decoder costs {expected:.3f} dB on {len(digits)} digits ({float_psnr:.2f} against "
        f"{int8_psnr:.2f} dB)"
    )


FACTOR = 10.0
"""Exercise 3: the learner's times must be within this factor of the check's own measurement."""


def _timed_by_learner(function, images, sender) -> float:
    """``function(images)``, with every call of ``codec.compress`` (and of the decoding side) it makes recorded:
    :class:`Wrong` unless it timed ``codec.compress`` of exactly ``images`` with the sender, and nothing else."""
    from .. import codec

    calls, decoding = [], []
    originals = {
        name: getattr(codec, name)
        for name in ("compress", "decompress", "decompress_latents", "decode_latents")
    }

    def recording(images_given, model, *args, **kwargs):
        calls.append((np.asarray(images_given), model))
        return originals["compress"](images_given, model, *args, **kwargs)

    def decoder(name):
        def run(*args, **kwargs):
            decoding.append(name)
            return originals[name](*args, **kwargs)

        return run

    codec.compress = recording
    for name in ("decompress", "decompress_latents", "decode_latents"):
        setattr(codec, name, decoder(name))
    try:
        value = call(function, images, what=f"{len(images)} digit(s)")
    finally:
        for name, original in originals.items():
            setattr(codec, name, original)
    what = "one digit" if len(images) == 1 else f"{len(images)} digits"
    if not calls:
        raise Wrong(
            f"on {what} your function never called codec.compress: time that call itself, "
            "deploy.seconds_per_call(lambda x: codec.compress(x, sender), images), and turn it into ms per digit"
        )
    if decoding:
        raise Wrong(
            f"on {what} your function also called codec.{decoding[0]}: the sender's latency is compress alone (the "
            "receiver decodes on another machine); time codec.compress(x, sender) only"
        )
    wanted = codec.model_id(sender)
    if not any(model is sender or codec.model_id(model) == wanted for _, model in calls):
        raise Wrong(
            f"on {what} your function compressed with another model than the sender: codec.compress(x, sender)"
        )
    if not any(given.shape == np.shape(images) and np.array_equal(given, images) for given, _ in calls):
        shapes = sorted({tuple(given.shape) for given, _ in calls})
        if any(given.shape[: np.ndim(images)] == np.shape(images) and given.dtype != np.asarray(images).dtype
               for given, _ in calls):  # fmt: skip
            raise Wrong(
                f"on {what} your function converted the digits (to {calls[0][0].dtype}, shape {calls[0][0].shape}) "
                "before compressing: codec.compress takes the uint8 digits as they are, so time it on them"
            )
        raise Wrong(
            f"on {what} your function compressed other digits (shapes {shapes}), not the images it was given "
            f"({np.shape(images)}): time codec.compress on its argument, all of it in one call"
        )
    return number(value, f"ms_per_digit({what})")


@exercise("08_deploying_ex3", "the sender's latency, one digit against a batch")
def compress_latency(one_ms, *, batch_ms=..., sender, digits) -> str:
    """Check two costs per digit of ``codec.compress`` (ms): one digit alone, and ``digits`` in one call.

    The answer is a function ``ms_per_digit(images)``, called here on one
    digit and on ``digits``; it must time ``codec.compress(images, sender)``
    itself (its calls are recorded) and give milliseconds per digit. Two
    numbers ``one_ms``, ``batch_ms=`` are checked against the measurement
    only.
    """
    from .. import codec, deploy

    n = len(digits)
    if callable(one_ms):
        function = one_ms
        one_ms = _timed_by_learner(function, digits[:1], sender)
        batch_ms = _timed_by_learner(function, digits, sender)
    else:
        one_ms = number(one_ms, "one_ms")
        batch_ms = number(answered(batch_ms, "batch_ms"), "batch_ms")
    one = 1e3 * deploy.seconds_per_call(lambda x: codec.compress(x, sender), digits[:1], repeats=10)
    batch = (
        1e3 * deploy.seconds_per_call(lambda x: codec.compress(x, sender), digits, repeats=2, warmup=1) / n
    )

    def near(got, measured):
        return measured / FACTOR <= got <= measured * FACTOR

    if not (near(one_ms, one) and near(batch_ms, batch)) and near(one_ms, batch) and near(batch_ms, one):
        raise Wrong(
            f"one_ms = {one_ms:.4g} and batch_ms = {batch_ms:.4g} look swapped: compress measures about {one:.3g} ms "
            f"for one digit alone and {batch:.3g} ms a digit in a batch of {n} here"
        )
    for name, got, measured in [("one_ms", one_ms, one), ("batch_ms", batch_ms, batch)]:
        if near(got, measured):
            continue
        # The likely mistakes, as (the learner's number undone, what it should then be, hint); with the wide
        # tolerance several may fit: the closest wins, the first on a tie (for a batch of 1,000, the whole call
        # and microseconds are the same factor).
        candidates = [(got * 1e3, measured, "that looks like seconds: multiply by 1000 for milliseconds")]
        if name == "batch_ms":
            candidates += [
                (got / n, measured, f"that is the whole call for {n} digits: divide by {n} for the cost per digit"),
                (got, one, f"that is the cost of one digit alone: for batch_ms time all {n} digits in one call, "
                 f"divided by {n}"),
            ]  # fmt: skip
        else:
            candidates.append((got, batch, "that is the cost per digit in a batch: for one_ms time one digit "
                               "alone, x_test[:1], in its own call"))  # fmt: skip
        candidates.append(
            (got / 1e3, measured, "that looks like microseconds: divide by 1000 for milliseconds")
        )
        candidates.append(
            (got * 784, measured, "that is per pixel: divide by the number of digits, not of pixels")
        )
        fits = [(abs(np.log(value / reference)), i, hint) for i, (value, reference, hint) in enumerate(candidates)
                if value > 0 and near(value, reference)]  # fmt: skip
        hint = (
            min(fits)[2] if fits else "time it with deploy.seconds_per_call, and give milliseconds per digit"
        )
        raise Wrong(
            f"{name} = {got:.4g} ms, but compress measures about {measured:.3g} ms per digit here: {hint}"
        )
    if one / batch >= 4 and one_ms <= batch_ms:
        raise Wrong(
            f"one_ms = {one_ms:.4g} is not above batch_ms = {batch_ms:.4g}, but here one digit alone costs "
            f"{one / batch:.0f} times more per digit than in a batch: time codec.compress on x_test[:1] for one_ms "
            f"and on all {n} digits in one call for batch_ms (divided by {n})"
        )
    return (
        f"about {one:.2g} ms for one digit alone, {batch:.2g} ms a digit in a batch of {n} (measured again here): "
        f"{one / batch:.0f} times less per digit in a batch"
    )


@exercise("08_deploying_ex4", "a TFLite encoder for the sender")
def tflite_encoder(run_encoder, *, model, digits, step: float = 1.0) -> str:
    """Check ``run_encoder(float images) -> latents`` against the Keras encoder of ``model`` on ``digits``."""
    from .. import codec, data
    from .._tf import keras
    from ..models import encoder_of

    if not callable(run_encoder):
        raise Wrong(
            f"run_encoder should be a function of float images, such as a deploy.TFLiteRunner. Received: {run_encoder!r}"
        )
    if isinstance(run_encoder, keras.layers.Layer):
        raise Wrong(
            "run_encoder is a Keras model: the device has no Keras or TensorFlow. Export models.encoder_of(model) "
            "with deploy.export_saved_model, then deploy.export_tflite, and give a deploy.TFLiteRunner of it"
        )
    from ..litert import TFLiteRunner

    if not isinstance(run_encoder, TFLiteRunner):
        raise Wrong(
            f"run_encoder is a {type(run_encoder).__name__}, not a deploy.TFLiteRunner: a function that calls "
            "Keras (or codec.encode_latents) still needs TensorFlow on the device. Export models.encoder_of(model) "
            "with deploy.export_saved_model, then deploy.export_tflite, and give deploy.TFLiteRunner(that file)"
        )
    images = data.to_float(digits)
    want = np.asarray(encoder_of(model)(images, training=False))
    try:
        got = np.asarray(run_encoder(images), dtype=np.float32)
    except Exception as error:  # noqa: BLE001 - reported to the learner
        raise Wrong(
            f"run_encoder(images) raised {type(error).__name__}: {error}. It takes float images (n, 28, 28, 1): "
            "export models.encoder_of(model), not the decoder"
        ) from None
    if got.shape != want.shape:
        raise Wrong(
            f"run_encoder gives shape {got.shape} for {len(images)} images; the encoder's latents are {want.shape}: "
            "export models.encoder_of(model), not the decoder or the whole model"
        )
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        hint = "export models.encoder_of(model) with deploy.export_saved_model, then deploy.export_tflite"
        if diff < 0.2 * float(np.abs(want).max()):
            hint = "close but not equal: 8-bit weights (optimize=True)? They change the latents; export in float32"
        raise Wrong(
            f"the latents differ from the Keras encoder's by up to {diff:.2g} (expected about 1e-5): {hint}"
        )
    same = codec.latents_to_symbols(got, model, step) == codec.latents_to_symbols(want, model, step)
    return (
        f"latents within {diff:.1e} of the Keras encoder's on {len(images)} digits; {int(same.sum())} of "
        f"{same.size} symbols at step {step:g} equal, so the sender's file is the same"
        + ("" if same.all() else " except where a latent sits on a rounding boundary")
    )
