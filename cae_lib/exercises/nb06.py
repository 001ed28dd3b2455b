"""Checks of notebook 06 (loss and noise): PSNR by hand, the denoiser's best noise level,
a stricter visually lossless threshold, and a denoiser of your own.

Used in the notebook as ``from cae_lib.exercises import nb06 as check``.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np

from .. import metrics
from . import NotAnswered, Wrong, _holds_a_stub, answered, exercise

EX_PSNR = "06_loss_and_noise_ex1"
EX_LARGEST_GAIN = "06_loss_and_noise_ex2"
EX_STRICT = "06_loss_and_noise_ex3"
EX_DENOISER = "06_loss_and_noise_ex4"

STRICT_SSIM = 0.95
"""The stricter criterion of exercise 3: mean SSIM of at least this, on top of the classifier's verdict."""
DENOISER_MARGIN_DB = 0.5
"""How much the learner's denoiser must beat the noisy input by (mean PSNR against the clean digits)."""
DENOISER_SEED = 2024


def box_blur(images) -> np.ndarray:
    """Each pixel replaced by the mean of its 3 x 3 neighbourhood (edges repeated): denoising with no learning at all."""
    images = np.asarray(images, dtype=np.float32)
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1)] + [(0, 0)] * (images.ndim - 3), mode="edge")
    h, w = images.shape[1:3]
    return sum(padded[:, i : i + h, j : j + w] for i in range(3) for j in range(3)) / np.float32(9)


def _weights_matter(model, images) -> bool:
    """Whether nudging ``model``'s trainable weights by 10 % of their spread changes its output on ``images``."""
    before = np.asarray(model(images, training=False))
    saved = [w.numpy() for w in model.trainable_weights]
    rng = np.random.default_rng(0)
    try:
        for w, value in zip(model.trainable_weights, saved):
            spread = float(np.std(value)) or 0.1
            w.assign(value + rng.normal(0, 0.1 * spread, value.shape).astype(value.dtype))
        after = np.asarray(model(images, training=False))
    finally:
        for w, value in zip(model.trainable_weights, saved):
            w.assign(value)
    return float(np.mean(np.abs(after - before))) > 1e-3


def _close(a, b) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-4, atol=1e-3))


# --------------------------------------------------------------------- exercise 1


def _calls_a_library_psnr(source: str) -> bool:
    """Does the code use a library's PSNR (``metrics.psnr``, ``mean_psnr``, ``tf.image.psnr``, scikit-image's),
    by attribute or by import, whatever it is called? Comments and docstrings do not count."""
    import ast
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return bool(re.search(r"(metrics|image)\.\w*psnr\b|peak_signal_noise_ratio", source))
    library = re.compile(r"psnr|peak_signal_noise_ratio")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and library.search(node.attr):
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(library.search(a.name) for a in node.names):
            return True
    return False


@exercise(EX_PSNR, "PSNR by hand for uint8 digits")
def psnr_uint8(function, originals, decoded):
    """``function(originals, decoded)`` must return one PSNR per uint8 digit (data range 255), like ``metrics.psnr``."""
    originals, decoded = np.asarray(originals), np.asarray(decoded)
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        source = ""
    if _calls_a_library_psnr(source):
        raise Wrong(
            "compute PSNR by hand with NumPy: the task is to rebuild what metrics.psnr does, not to call it"
        )
    got = answered(function(originals.copy(), decoded.copy()), "the return value of psnr_uint8")
    got = np.asarray(got, dtype=np.float64)
    expected = metrics.psnr(originals, decoded, data_range=255).astype(np.float64)
    n = len(originals)
    if got.size == 1 and n > 1:
        raise Wrong(
            f"one number for {n} digits: return one PSNR per digit, averaging the squared error "
            "over each digit's own pixels (axis=(1, 2)), not over the whole batch"
        )
    if got.shape != expected.shape:
        raise Wrong(f"shape {got.shape}, expected {expected.shape}: one PSNR per digit")
    if _close(got, expected):
        return f"{n} PSNRs equal metrics.psnr (mean {expected.mean():.2f} dB)"
    wrapped = (originals - decoded).astype(np.float64)  # uint8 subtraction wraps round: 3 - 5 = 254
    mse_wrapped = (wrapped**2).mean(axis=(1, 2))
    mse = ((originals.astype(np.float64) - decoded.astype(np.float64)) ** 2).mean(axis=(1, 2))
    diagnoses = [
        (10 * np.log10(255.0**2 / mse_wrapped),
         "the differences wrapped round: uint8 arithmetic gives 3 - 5 = 254. Cast to float before subtracting"),
        (expected - 20 * math.log10(255),
         "about 48 dB too low: the peak value L of uint8 pixels is 255, not 1"),
        (expected + 20 * math.log10(255),
         "about 48 dB too high: pixels scaled to [0, 1] have a peak value L of 1, not 255 "
         "(or keep them in 0-255 with L = 255)"),
        (10 * np.log10(255.0 / mse),
         "about 24 dB too low: PSNR uses the squared peak, 10·log10(L² / MSE)"),
        (2 * expected, "twice the PSNR: it is 10·log10(L² / MSE), not 20·log10(L² / MSE)"),
        (expected / 2,
         "half the PSNR: 10·log10(L / RMSE) needs a 20 (or use the squares: 10·log10(L² / MSE))"),
        (10 * np.log10(mse / 255.0**2), "the sign is flipped: it is L² / MSE, not MSE / L²"),
    ]  # fmt: skip
    for candidate, message in diagnoses:
        if _close(got, candidate):
            raise Wrong(message)
    worst = int(np.argmax(np.abs(got - expected)))
    raise Wrong(
        f"digit {worst}: {got[worst]:.3f} dB, metrics.psnr says {expected[worst]:.3f} dB. "
        "Per digit: cast to float, MSE = mean of squared differences over its 28 × 28 pixels, "
        "PSNR = 10·log10(255² / MSE)"
    )


# --------------------------------------------------------------------- exercise 2


@exercise(EX_LARGEST_GAIN, "where the denoiser helps most")
def largest_gain(answer, sigmas, curves):
    """``answer`` must be the σ of ``sigmas`` where the denoising curve beats the plain one by the most dB."""
    sigmas = [float(s) for s in sigmas]
    denoising = np.asarray(curves["denoising autoencoder"], dtype=float)
    plain = np.asarray(curves["plain autoencoder"], dtype=float)
    noisy = np.asarray(curves["noisy input itself"], dtype=float)
    gain = denoising - plain
    best = sigmas[int(np.argmax(gain))]
    if isinstance(answer, (str, bytes)):
        raise Wrong(f"answer the number itself, one of sigmas = {sigmas}, not the text {answer!r}")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"answer a number, one of sigmas = {sigmas}. Received: {answer!r}") from None
    if math.isclose(value, best, rel_tol=1e-6):  # a σ read from a float32 array is 0.30000001
        return f"σ = {best:g}: the denoiser beats the plain autoencoder by {gain.max():.2f} dB there"
    if (
        isinstance(answer, (int, np.integer))
        and not isinstance(answer, bool)
        and answer == int(np.argmax(gain))
    ):
        raise Wrong(f"{answer} is the position in sigmas, not the noise level: answer sigmas[{answer}]")
    if math.isclose(value, sigmas[int(np.argmax(denoising))], rel_tol=1e-6):
        raise Wrong(
            "that is where the denoising autoencoder's own PSNR is highest, not where it beats the plain "
            "one most: subtract the two curves first"
        )
    with np.errstate(invalid="ignore"):
        over_noisy = denoising - noisy
    if np.isfinite(over_noisy).any() and math.isclose(
        value, sigmas[int(np.nanargmax(over_noisy))], rel_tol=1e-6
    ):
        raise Wrong(
            "that is the largest gain over the noisy input itself: compare with the plain autoencoder"
        )
    if math.isclose(value, sigmas[int(np.argmin(gain))], rel_tol=1e-6):
        raise Wrong("that is where the advantage is smallest: take the largest")
    at = [i for i, s in enumerate(sigmas) if math.isclose(value, s, rel_tol=1e-6)]
    if not at:
        raise Wrong(f"{value:g} is not one of the noise levels measured: answer one of sigmas = {sigmas}")
    raise Wrong(
        f"at σ = {value:g} the advantage is {gain[at[0]]:.2f} dB, and it is larger elsewhere: "
        "compute curves['denoising autoencoder'] - curves['plain autoencoder'] for every σ"
    )


# --------------------------------------------------------------------- exercise 3


def _row(latent, step, bytes_per_digit, lossless, ssim):
    return dict(latent=latent, step=step, bytes=bytes_per_digit, lossless=lossless, ssim=ssim)


def _trial_tables():
    """Tables with a known answer, each telling a plausible mistake apart."""
    boundary = _row(28, 1.0, 15.0, True, STRICT_SSIM)  # exactly 0.95: "at least" includes it
    with_answer = [
        _row(
            64, 0.25, 40.0, True, 0.99
        ),  # meets both, but costs the most (and comes first: "the first that meets")
        _row(64, 0.5, 20.0, True, 0.97),  # the cheapest if 0.95 itself were excluded (">")
        _row(
            8, 3.0, 16.0, True, STRICT_SSIM
        ),  # meets both: the smallest latent, the largest step, the lowest SSIM
        boundary,
        _row(16, 2.0, 10.0, True, 0.93),  # the cheapest lossless row, SSIM too low
        _row(16, 1.5, 14.0, True, 0.946),  # SSIM 0.95 only once rounded
        _row(16, 1.0, 12.0, False, 0.96),  # SSIM high enough, but the classifier rejects it
    ]
    without_answer = [_row(16, 2.0, 10.0, True, 0.90), _row(64, 0.5, 20.0, False, 0.97)]
    return (with_answer, boundary), (without_answer, None)


@exercise(EX_STRICT, "a stricter threshold: classifier and SSIM")
def strict_threshold(function, table, vlt=None):
    """``function(table)`` must return the cheapest row that is lossless and has SSIM >= 0.95, or None."""
    (rows, expected), (rows_none, _) = _trial_tables()
    got = function([dict(r) for r in rows])
    got_none = function([dict(r) for r in rows_none])
    if got is None and got_none is None and _holds_a_stub(function):
        raise NotAnswered("strict_threshold", returned_none=True)
    if got is None:
        raise Wrong(
            "it returned None on a table where a row meets both conditions: check them (r['lossless'], and "
            "r['ssim'] >= 0.95, a fraction, not a percentage) and that the function ends with return"
        )
    if not isinstance(got, dict):
        raise Wrong(f"return one row of the table (a dict), not {type(got).__name__}")
    if got != expected:
        hints = {
            20.0: "a row with SSIM exactly 0.95 meets 'at least 0.95': use >=, not >",
            12.0: "that row fails the classifier criterion: keep r['lossless'] as well as the SSIM condition",
            10.0: "that row's SSIM is below 0.95: add the SSIM condition",
            40.0: "that row meets both conditions but is the most expensive: take the fewest bytes (min)",
            16.0: "that row meets both conditions but is not the cheapest: choose by bytes, "
            "min(..., key=lambda r: r['bytes']), not by latent size, step or SSIM",
            14.0: "that row's SSIM is 0.946, below 0.95: compare the SSIM itself, not a rounded value",
        }
        raise Wrong(
            hints.get(got.get("bytes"), f"returned {got}; expected the cheapest row meeting both conditions")
        )
    if got_none is not None:
        raise Wrong(f"on a table where no row meets both conditions it returned {got_none}: return None then")
    result = function(table)
    if result is None:
        found = "on this notebook's table no setting meets both conditions"
    else:
        found = f"on this notebook's table: latent {result['latent']}, step {result['step']:g}, {result['bytes']:.1f} bytes per digit"
        if vlt is not None:
            found += f", {result['bytes'] - vlt['bytes']:+.1f} bytes against the threshold of section 3"
    return f"the cheapest row with both conditions, >= at the boundary, None when none; {found}"


# --------------------------------------------------------------------- exercise 4


@exercise(EX_DENOISER, "a denoiser at a noise level of your choice")
def denoiser(model, sigma=..., clean=None):
    """``model`` must bring digits with Gaussian noise ``sigma`` (clipped to [0, 1]) closer to the clean digits.

    Measured on ``clean`` (held-out float digits in [0, 1], e.g. test digits)
    with noise the learner's model has never seen (a fixed seed of the check):
    its mean PSNR against the clean digits must beat, by
    :data:`DENOISER_MARGIN_DB`, the noisy input's, the mean digit's (the best
    single picture that ignores its input) and a 3 x 3 box blur's (denoising
    with nothing learnt), and its outputs must differ from digit to digit.
    """
    sigma = answered(sigma, "my_sigma")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating)) or not 0 < sigma <= 1:
        raise Wrong(f"my_sigma must be a noise level between 0 and 1 (e.g. 0.4). Received: {sigma!r}")
    from .. import training
    from .._tf import keras

    if not isinstance(model, keras.Model):
        raise Wrong(
            f"my_denoiser must be a trained Keras model (a network with weights), not a {type(model).__name__}: "
            "a fixed filter in Python learns nothing; train an autoencoder on noisy inputs with clean targets"
        )

    clean = np.asarray(clean, dtype=np.float32)
    rng = np.random.default_rng(DENOISER_SEED)
    noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 1).astype(np.float32)
    out = np.asarray(training.predict_in_batches(model, noisy), dtype=np.float32)
    if out.shape != clean.shape:
        raise Wrong(f"the model returns shape {out.shape[1:]} per digit, expected {clean.shape[1:]}")
    p_noisy = metrics.mean_psnr(clean, noisy, data_range=1.0)
    p_out = metrics.mean_psnr(clean, np.clip(out, 0, 1), data_range=1.0)
    # The best picture that ignores its input: the mean digit (of these very digits, so a generous bar).
    p_constant = metrics.mean_psnr(clean, np.broadcast_to(clean.mean(axis=0), clean.shape), data_range=1.0)
    if np.mean(np.abs(out - noisy)) < 1e-3:
        raise Wrong("the model returns its noisy input unchanged: it must reconstruct the clean digit")
    if float(np.mean(np.std(out, axis=0))) < 0.02:
        raise Wrong(
            "the model returns (almost) the same picture whatever digit goes in: a denoiser's output must follow "
            "its input. Hint: train on noisy inputs with the clean digits as targets"
        )
    weights = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    if weights < 1000:
        raise Wrong(
            f"my_denoiser has {weights} trainable weights: a fixed filter (a blur, a contrast stretch, a threshold) "
            "learns nothing about digits; train an autoencoder on noisy inputs with clean targets"
        )
    if not _weights_matter(model, noisy[:64]):
        raise Wrong(
            "my_denoiser's output does not depend on its weights (nudging them changes nothing): the denoising is "
            "done by fixed layers (pooling, Lambda) around weights it never uses; train a network whose weights do "
            "the work, such as an autoencoder with input_noise"
        )
    p_blur = metrics.mean_psnr(clean, box_blur(noisy), data_range=1.0)
    bar = max(p_noisy, p_constant, p_blur)
    if not p_out > bar + DENOISER_MARGIN_DB:
        if p_noisy >= p_constant and p_noisy > 20:
            hint = "at so little noise the noisy digit is already better than a 28-number reconstruction: choose a larger σ"
        else:
            hint = (
                "train an autoencoder with noisy inputs and clean targets "
                "(training.train_autoencoder(..., input_noise=my_sigma)), for the same σ you chose; "
                "in quick mode, start from the shipped weights (pretrained.load_pretrained(28))"
            )
        if p_blur == bar and p_out > max(p_noisy, p_constant) + DENOISER_MARGIN_DB:
            hint = (
                "a blur that learnt nothing does as well: train with noisy inputs and clean targets for longer "
                "(full mode), or choose a larger σ, where what the network knows about digits counts for more"
            )
        raise Wrong(
            f"at σ = {sigma:g} it reaches {p_out:.2f} dB against the clean digits; the noisy input itself "
            f"{p_noisy:.2f} dB, the mean digit (one picture whatever the input) {p_constant:.2f} dB and a 3 x 3 box "
            f"blur of the noisy input {p_blur:.2f} dB: it must beat all three by {DENOISER_MARGIN_DB} dB. Hint: {hint}"
        )
    return (
        f"at σ = {sigma:g}, on {len(clean):,} held-out digits with fresh noise: {p_out:.2f} dB against the clean "
        f"digits, the noisy input {p_noisy:.2f} dB ({p_out - p_noisy:+.2f} dB), a 3 x 3 box blur {p_blur:.2f} dB"
    )
