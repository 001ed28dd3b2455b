"""Checks of notebook 09 (the rate as a regulariser): the rate term, the bits trained for against the bytes paid, the cheapest rate model.

Each check recomputes the answer with the library (:func:`cae_lib.rate.gaussian_bits`,
the rate-distortion model itself, real ``.cae`` files of the shipped
models) and names the likely mistake when the learner's answer differs.
"""

from __future__ import annotations

import math

import numpy as np

from . import NotAnswered, Wrong, answered, call, exercise, number, real_file

# ---------------------------------------------------------------- Exercise 1: the rate term

BIT_TOLERANCE = 0.005
"""Exercise 1: absolute part of the tolerance, in bits (a float32 ``erf`` difference is this close within 4 scales)."""
RELATIVE_TOLERANCE = 1e-3
"""Exercise 1: relative part of the tolerance (at 4 scales a float32 ``erf`` difference is 0.06 % off)."""
NEAR_SCALES = 4.0
"""Exercise 1: "near" values have a bin edge at most this many scales from ``loc``: any float32 formula works there."""
WELL_COMPUTED_BITS = 12.0
"""Exercise 1: mistakes are recognised on the values that cost fewer bits than this (P above 2e-4)."""
FAR_SCALES = 9.0
"""Exercise 1: "far" values have both bin edges at least this many scales away: ``P`` is below the floor."""

_TEST_LOCS = np.array([0.0, 0.3, -1.2, 2.5, 0.0, 0.7], np.float32)
_TEST_SCALES = np.array([1.0, 0.11, 2.0, 0.5, 5.0, 1.3], np.float32)


def _phi(x):
    """The standard normal CDF in float64, computed on the side where it does not cancel."""
    x = np.asarray(x, np.float64)
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    return np.where(x < 0, 0.5 * erfc(-x / math.sqrt(2.0)), 1.0 - 0.5 * erfc(x / math.sqrt(2.0)))


def _bin_bits(values, loc, scale, *, half_width=0.5, floor=None, log=np.log2):
    """``-log(P)`` of the bin ``[v - half_width, v + half_width]`` under Gaussian(loc, scale), float64."""
    from ..rate import LIKELIHOOD_FLOOR

    floor = LIKELIHOOD_FLOOR if floor is None else floor
    v = np.asarray(values, np.float64)
    distance = np.abs(v - loc)  # symmetric: take the upper tail, where there is no cancellation
    p = _phi((half_width - distance) / scale) - _phi((-half_width - distance) / scale)
    return -log(np.maximum(p, floor))


def test_values():
    """The values of Exercise 1: ``(near, far, loc, scale)``; ``near`` and ``far`` are ``(n, 6)`` float32.

    Column ``j`` has ``loc[j]`` and ``scale[j]``. Near values, integers and
    not, have a bin edge within :data:`NEAR_SCALES` scales of ``loc``; far
    ones have both edges beyond :data:`FAR_SCALES` scales, where ``P`` is
    below the floor (about 30 bits).
    """
    columns_near, columns_far = [], []
    for loc, scale in zip(_TEST_LOCS, _TEST_SCALES):
        reach = NEAR_SCALES * scale + 0.5
        grid = np.concatenate([loc + scale * np.arange(-4.0, 4.01, 0.5), np.arange(np.ceil(loc - reach), loc + reach),
                               loc + np.array([-0.5, 0.5, 0.25, -0.37])])  # fmt: skip
        near = grid[np.abs(grid - loc) - 0.5 <= NEAR_SCALES * scale]
        columns_near.append(np.resize(np.unique(near), 24))
        far = loc + np.array([-1.0, 1.0, -2.0, 2.0]) * (
            FAR_SCALES * scale + 0.5 + np.array([0.0, 0.3, 2.0, 3.7])
        )
        columns_far.append(far)
    return (np.stack(columns_near, axis=1).astype(np.float32), np.stack(columns_far, axis=1).astype(np.float32),
            _TEST_LOCS.copy(), _TEST_SCALES.copy())  # fmt: skip


def _as_array(result, shape, what: str) -> np.ndarray:
    try:
        got = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(
            f"{what} should be numbers (a tensor or an array). Received: {type(result).__name__}"
        ) from None
    if got.shape != shape:
        raise Wrong(
            f"{what} has shape {got.shape}, expected {shape}: one number of bits per value, the shape of "
            "`values` (loc and scale broadcast against it; do not sum here)"
        )
    return got


def _close(got, want) -> bool:
    return bool(np.all(np.abs(got - want) <= BIT_TOLERANCE + RELATIVE_TOLERANCE * np.abs(want)))


def _near_mistake(got, values, loc, scale):
    """The name of the likely mistake when ``got`` differs from the bits of ``values``, or None."""
    want = _bin_bits(values, loc, scale)
    candidates = [
        (
            want * math.log(2.0),
            "these are nats, not bits (off by a factor ln 2 = 0.693): divide the natural "
            "logarithm by log(2), or use log2",
        ),
        (want * math.log10(2.0), "these are decimal digits, not bits (log10): use log2, or log(P) / log(2)"),
        (-want, "the sign is wrong: bits are -log2 P, positive for any P < 1"),
        (
            want - 1.0,
            "one bit too few everywhere: P is half the difference of two erf, "
            "Phi(x) = (1 + erf(x / sqrt 2)) / 2",
        ),
        (
            _bin_bits(values, loc, scale / math.sqrt(2.0)),
            "erf takes x / sqrt(2): Phi(x) = (1 + erf(x / sqrt 2)) / 2, "
            "else the Gaussian is sqrt 2 times too narrow",
        ),
        (_bin_bits(values, loc, 1.0), "the scale is missing: standardise with (v +- 1/2 - loc) / scale"),
        (
            _bin_bits(values, loc, np.sqrt(scale)),
            "scale is a standard deviation, not a variance: divide by it, not by its square root",
        ),
        (
            _bin_bits(values, loc, scale, half_width=1.0),
            "the bin is [v - 1, v + 1], two wide: a quantisation bin is one wide, [v - 1/2, v + 1/2]",
        ),
        (
            _bin_bits(values, loc, scale, half_width=0.25),
            "the bin is half a unit wide: a quantisation bin is one wide, [v - 1/2, v + 1/2]",
        ),
    ]
    density = np.exp(-0.5 * ((values - loc) / scale) ** 2) / (scale * math.sqrt(2.0 * math.pi))
    candidates += [
        (
            -np.log2(density),
            "this is the Gaussian density at v, not the probability mass of its bin: "
            "P = Phi((v + 1/2 - loc) / scale) - Phi((v - 1/2 - loc) / scale)",
        ),
        (
            -np.log(density),
            "this is the Gaussian density at v (in nats), not the probability mass of its bin in "
            "bits: P = Phi((v + 1/2 - loc) / scale) - Phi((v - 1/2 - loc) / scale), then -log2 P",
        ),
    ]
    for candidate, message in candidates:
        # compared where float32 computes the candidate well too (P above 2e-4): a mistake that narrows
        # the Gaussian takes some values beyond float32's reach of erf
        fair = np.isfinite(got) & (np.abs(candidate) < WELL_COMPUTED_BITS) & (want < WELL_COMPUTED_BITS)
        if fair.sum() >= 10 and _close(got[fair], candidate[fair]):
            return message
    return None


def _gradient_problem(function, values, loc, scale) -> str | None:
    """What stops gradients flowing through ``function``, or None."""
    from .._tf import tf
    from ..rate import gaussian_bits

    variable = tf.Variable(values)
    try:
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(tf.cast(tf.convert_to_tensor(function(variable, loc, scale)), tf.float32))
    except Exception as error:  # noqa: BLE001 - the learner's code may raise anything
        return (f"it raised {type(error).__name__} on a tf.Variable: {error}. Training calls it on tensors: "
                "use keras.ops (keras.ops.erf, keras.ops.log ...), not NumPy or SciPy")  # fmt: skip
    gradient = tape.gradient(total, variable)
    if gradient is None:
        return ("no gradient flows through it (NumPy, SciPy or math functions break the chain): training needs "
                "d bits / d latent, so write it with keras.ops (keras.ops.erf, keras.ops.log ...)")  # fmt: skip
    with tf.GradientTape() as tape:
        reference = tf.reduce_sum(gaussian_bits(variable, loc, scale))
    want = tape.gradient(reference, variable).numpy()
    got = np.asarray(gradient, np.float64)
    if not np.all(np.isfinite(got)):
        return "its gradient is not finite everywhere: floor the probability before the logarithm"
    if not np.allclose(got, want, rtol=0.02, atol=0.02):
        return "its values are right but its gradient is not: compute P with keras.ops all the way"
    return None


def _library_bits():
    from ..rate import gaussian_bits

    return gaussian_bits


@exercise("09_rate_as_regulariser_ex1", "the rate term, -log2 of a bin's probability", fallback=_library_bits)
def bits_of(function) -> str:
    """Check ``function(values, loc, scale)`` against :func:`cae_lib.rate.gaussian_bits`, values and gradients."""
    from ..rate import LIKELIHOOD_FLOOR

    if not callable(function):
        raise Wrong(f"bits_of should be a function bits_of(values, loc, scale). Received: {function!r}")
    near, far, loc, scale = test_values()
    got = _as_array(
        call(function, near, loc, scale, what="values near loc"), near.shape, "bits_of(values, loc, scale)"
    )
    want = _bin_bits(near, loc, scale)
    if not _close(got, want):
        mistake = _near_mistake(got, near, loc, scale)
        worst = np.unravel_index(np.argmax(np.abs(got - want)), got.shape)
        v, lo, sc = near[worst], loc[worst[1]], scale[worst[1]]
        where = f"for v = {v:.3g}, loc = {lo:g}, scale = {sc:g} it gives {got[worst]:.4g} bits, not {want[worst]:.4g}"
        if mistake:
            raise Wrong(f"{where}: {mistake}")
        raise Wrong(
            f"{where} (P = Phi((v + 1/2 - loc) / scale) - Phi((v - 1/2 - loc) / scale), bits = -log2 P, "
            "with Phi(x) = (1 + erf(x / sqrt 2)) / 2)"
        )
    scalar = _as_array(call(function, near[:, 0], float(loc[0]), float(scale[0]), what="one column and a float loc"),
                       near[:, :1].shape[:1], "bits_of(values, float, float)")  # fmt: skip
    if not _close(scalar, want[:, 0]):
        raise Wrong(
            "right with arrays of loc and scale but not with plain floats: let keras.ops broadcast them"
        )
    floored = -math.log2(LIKELIHOOD_FLOOR)
    got_far = _as_array(
        call(function, far, loc, scale, what="values far in the tails"), far.shape, "bits_of far out"
    )
    if not np.all(np.isfinite(got_far)):
        raise Wrong(
            f"it gives {got_far[~np.isfinite(got_far)][0]} bits far in the tails (over {FAR_SCALES:g} scales from "
            f"loc), where P rounds to 0: floor the probability, keras.ops.maximum(P, {LIKELIHOOD_FLOOR:g}), "
            "before the logarithm"
        )
    if not np.allclose(got_far, floored, atol=0.01):
        value = got_far.flat[np.argmax(np.abs(got_far - floored))]
        raise Wrong(
            f"far in the tails (P below the floor) it gives {value:.4g} bits, not {floored:.2f}: floor the "
            f"probability at rate.LIKELIHOOD_FLOOR = {LIKELIHOOD_FLOOR:g}, the floor the library trains with"
        )
    inside = loc + scale * np.random.default_rng(0).uniform(-3.0, 3.0, near.shape).astype(np.float32)
    problem = _gradient_problem(function, inside, loc, scale)  # noisy latents, within 3 scales of loc
    if problem:
        raise Wrong(problem)
    error = float(np.abs(got - want).max())
    return (
        f"{got.size + got_far.size} values agree with rate.gaussian_bits (largest difference {error:.1e} bits), from "
        f"0 to {NEAR_SCALES:g} scales from loc and far in the tails ({floored:.1f} bits, the floor), and "
        "gradients flow through it"
    )


# ---------------------------------------------------------------- Exercise 2: the bits trained for, the bytes paid


def model_bits(model, digits, *, training: bool = False, batch_size: int = 500) -> float:
    """Mean bits per digit that a :class:`~cae_lib.rate.RateDistortionAutoencoder` computes for ``digits``.

    ``training=False``: the exact bits of the rounded latents (what the
    range coder spends, up to its overhead); ``training=True``: the noisy
    estimate the loss and the progress bar use.
    """
    from .. import data

    x = data.to_float(digits)
    bits = [np.asarray(model(x[i : i + batch_size], training=training)["bits"], np.float64)
            for i in range(0, len(x), batch_size)]  # fmt: skip
    return float(np.concatenate(bits).mean())


def unrounded_bits(model, digits) -> float:
    """Mean bits per digit of the float latents themselves, neither rounded nor noisy (a mistake)."""
    from .. import rate

    latents = _encode(model, digits)
    entropy = model.entropy_model
    bits = rate.gaussian_bits(
        latents, entropy.loc_values.astype(np.float32), entropy.scale_values.astype(np.float32)
    )
    return float(np.asarray(bits, np.float64).sum(axis=1).mean())


def _encode(model, digits) -> np.ndarray:
    from .. import data, training

    return training.predict_in_batches(model.encoder, data.to_float(digits))


@exercise("09_rate_as_regulariser_ex2", "the bits trained for and the bytes paid")
def bits_paid(bits_per_digit, *, bytes_per_digit=..., model, digits) -> str:
    """Check the model's own bits per digit in use, and the real bytes per digit of one ``.cae`` file of ``digits``."""
    from .. import codec, rate

    bits = number(bits_per_digit, "bits_per_digit")
    nbytes = number(answered(bytes_per_digit, "bytes_per_digit"), "bytes_per_digit")
    n = len(digits)
    in_use = model_bits(model, digits)
    # In use the count is deterministic: a right answer equals it up to float32 rounding. A looser bar let the
    # training estimate pass where training has barely started and noise moves the count by under 1 %.
    if not abs(bits - in_use) <= 1e-4 * in_use + 1e-3:
        noisy = model_bits(model, digits, training=True)
        hint = "call the model with training=False and average its 'bits' output over the digits"
        if abs(bits - noisy) <= 0.02 * noisy:
            hint = ("that is the training estimate, with uniform noise on the latent (training=True); in use the "
                    "latent is rounded: call the model with training=False")  # fmt: skip
        elif abs(bits - n * in_use) <= 0.005 * n * in_use:
            hint = f"that is the total for all {n} digits: divide by their number"
        elif abs(bits - in_use / 8) <= 0.005 * in_use / 8:
            hint = "that is bytes: bits_per_digit is in bits"
        elif abs(bits - unrounded_bits(model, digits)) <= 0.005 * in_use + 0.01:
            hint = (
                "those are the bits of the float latents: the codec rounds them first (training=False does)"
            )
        raise Wrong(
            f"the model counts {in_use:.3f} bits a digit in use on these {n} digits, not {bits:.4g}: {hint}"
        )
    codec_model = rate.codec_model_of(model)
    blob = codec.compress(digits, codec_model, step=1.0)
    header = codec.read_header(blob)
    real = len(blob) / n
    if not (abs(nbytes - real) <= 5e-4 * real and abs(nbytes - real) <= abs(nbytes - in_use / 8)):
        hint = "compress all the digits into one file, codec.compress(digits, rate.codec_model_of(model)), and divide its length by their number"
        singles = codec.compress_each(digits[:50], codec_model, step=1.0)
        if abs(nbytes - in_use / 8) <= 0.002 * real:
            hint = (f"that is the model's estimate, bits / 8, not a file: {hint} (the file adds its {header.header_bytes} "
                    "bytes of header and checksum, and the coder its small overhead)")  # fmt: skip
        elif abs(nbytes - header.payload_bytes / n) <= 1e-6 * real:
            hint = (f"that is the payload alone: the file also holds {header.header_bytes} bytes of header and "
                    f"checksum, which its digits share; divide the file's whole length, len(blob), by {n}")  # fmt: skip
        elif abs(nbytes - len(blob)) <= 1:
            hint = f"that is the whole file: divide by the {n} digits"
        elif abs(nbytes - real * 8) <= 0.01 * real * 8:
            hint = "that is bits: bytes_per_digit is in bytes"
        elif nbytes > real + 0.5 * (np.mean([len(s) for s in singles]) - real):
            hint = "one file per digit pays a header and a flushed coder each: put all the digits in one file"
        raise Wrong(
            f"one .cae file of these {n} digits has {len(blob)} bytes, {real:.4f} a digit, not {nbytes:.4g}: {hint}"
        )
    overhead = 8 * header.payload_bytes / (n * in_use) - 1
    noisy = model_bits(model, digits, training=True)
    return (
        f"the model counts {in_use:.2f} bits a digit in use ({noisy:.2f} with training noise); the file pays "
        f"{8 * real:.2f} bits a digit: {header.header_bytes} bytes of header and checksum for the whole file and "
        f"a payload {overhead:+.3%} off the model's count"
    )


# ---------------------------------------------------------------- Exercise 3: the cheapest rate model for a target

_GRID_CACHE: dict = {}


def settings_grid(digits, names, steps) -> list[tuple[int, str, float, float]]:
    """``(file bytes, model name, step, mean PSNR)`` of one ``.cae`` file of ``digits`` per model and step (cached)."""
    from .. import codec, metrics, pretrained

    key = (np.asarray(digits).tobytes(), tuple(names), tuple(float(s) for s in steps))
    if key not in _GRID_CACHE:
        rows = []
        for name in names:
            model = pretrained.load_pretrained(name)
            latents = codec.encode_latents(digits, model)
            for step in steps:
                symbols = codec.latents_to_symbols(latents, model, step)
                blob = _file_of(symbols, model, step)
                decoded = codec.decode_latents(codec.symbols_to_latents(symbols, model, step), model)
                rows.append(
                    (len(blob), name, float(step), metrics.mean_psnr(digits, decoded, data_range=255))
                )
        _GRID_CACHE.clear()
        _GRID_CACHE[key] = rows
    return _GRID_CACHE[key]


def _file_of(symbols, model, step) -> bytes:
    from .. import codec
    from ..codec import entropy

    payload = entropy.encode_symbols(symbols, codec.prior_of(model).scale_values, step)
    return codec.pack(codec.model_id(model), count=len(symbols), step=step, payload=payload)


@exercise("09_rate_as_regulariser_ex3", "the cheapest shipped rate model for a PSNR target")
def cheapest_rate_model(best, digits, *, target_db: float, steps, saving=...) -> str:
    """Check ``best = (rate model name, step)`` on ``digits`` against every shipped rate model and step of ``steps``,
    and ``saving``, the share of bytes it saves against the post-hoc latent-28 model's cheapest step on the same grid."""
    from .. import pretrained

    names = pretrained.available_models(kind="rate")
    if not isinstance(best, (tuple, list)) or len(best) != 2:
        raise Wrong(
            f"best should be a pair (model name, step), such as ('rate_lambda0.03', 1.0). Received: {best!r}"
        )
    name, step = best
    if name is ... or step is ...:
        raise NotAnswered("best")
    if name not in names and isinstance(step, str) and step in names:
        raise Wrong(
            f"best = {best!r} looks swapped: the pair is (model name, step), such as ({step!r}, {name!r})"
        )
    if name not in names:
        raise Wrong(
            f"{name!r} is not a shipped rate model: choose one of {names} (pretrained.available_models(kind='rate'))"
        )
    step = number(step, "the step")
    if not step > 0:
        raise Wrong(f"the step should be positive. Received: {step:g}")
    blob, psnr = real_file(digits, pretrained.load_pretrained(name), step)
    n = len(digits)
    if psnr < target_db:
        raise Wrong(
            f"{name} at step {step:g} gives {psnr:.2f} dB on these {n} digits, below the {target_db:g} dB target: "
            "measure on the digits of the exercise, compressed for real (a smaller step, or a smaller lambda)"
        )
    reaching = sorted(r for r in settings_grid(digits, names, steps) if r[3] >= target_db)
    if reaching and len(blob) > reaching[0][0]:
        size, other, s, p = reaching[0]
        raise Wrong(
            f"{name} at step {step:g} reaches {psnr:.2f} dB in {len(blob)} bytes, but {other} at step {s:g} "
            f"reaches {p:.2f} dB in {size} bytes: among the settings that reach the target, keep the smallest file"
        )
    posthoc = sorted(r for r in settings_grid(digits, [pretrained.resolve(28)], steps) if r[3] >= target_db)
    summary = f"{name} at step {step:g}: {len(blob) / n:.2f} bytes a digit at {psnr:.2f} dB"
    if not posthoc:
        return f"{summary}; the post-hoc latent-28 model does not reach {target_db:g} dB on this grid"
    size28, _, step28, psnr28 = posthoc[0]
    expected = 1 - len(blob) / size28
    saving = number(answered(saving, "saving"), "saving")
    if abs(saving - expected) > 0.01:
        hint = "saving = 1 - (bytes of your setting) / (bytes of the cheapest latent-28 setting that reaches the target)"
        if abs(saving - 100 * expected) <= 1:
            hint = "that is a percentage: give the share as a fraction (0.25 for 25 %)"
        elif abs(saving - (1 - expected)) <= 0.01:
            hint = "that is the ratio of the two sizes: the saving is 1 minus it"
        elif abs(saving + expected) <= 0.01:
            hint = "the sign is the wrong way round: positive when the rate model needs fewer bytes"
        raise Wrong(
            f"the post-hoc latent-28 model needs {size28} bytes (step {step28:g}, {psnr28:.2f} dB) and yours "
            f"{len(blob)}: a saving of {expected:.3f}, not {saving:.4g}: {hint}"
        )
    return (
        f"{summary}; the post-hoc latent-28 model needs {size28 / n:.2f} at step {step28:g} ({psnr28:.2f} dB): "
        f"{expected:.1%} fewer bytes with the rate model"
    )
