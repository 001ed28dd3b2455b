"""Notebook 09's checks: every solution passes, and plausible wrong answers of the right shape fail with a hint.

A tiny untrained rate-distortion model stands in for the notebook's trained ones (Exercise 2); Exercise 3
uses the shipped rate models on a few MNIST test digits.
"""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import rejects, run_solution

from cae_lib import codec, data, exercises, metrics, pretrained, rate  # noqa: E402
from cae_lib._tf import keras  # noqa: E402
from cae_lib.exercises import nb09 as check  # noqa: E402

pytestmark = pytest.mark.usefixtures("strict")
ops = keras.ops


# ---------------------------------------------------------------- Exercise 1: the rate term


def rate_term(*, half_width=0.5, log=None, sqrt2=True, half=True, floor=rate.LIKELIHOOD_FLOOR, width=None):
    """A keras.ops rate term with one plausible mistake (the defaults make it right)."""

    def bits(values, loc, scale):
        values = ops.convert_to_tensor(values, "float32")
        s = scale if width is None else width(scale)

        def cdf(x):
            return (0.5 if half else 1.0) * (1.0 + ops.erf(x / (math.sqrt(2.0) if sqrt2 else 1.0)))

        p = cdf((values + half_width - loc) / s) - cdf((values - half_width - loc) / s)
        if floor is not None:
            p = ops.maximum(p, floor)
        return -ops.log(p) / math.log(2.0) if log is None else log(p)

    return bits


def test_the_rate_term_solution_agrees_with_the_library(capsys):
    bits_of = run_solution("09_rate_as_regulariser_ex1", rate=rate)["bits_of"]
    assert check.bits_of(bits_of) is bits_of
    out = capsys.readouterr().out
    assert "✓ Exercise 09_rate_as_regulariser_ex1" in out and "gradients flow" in out


def test_the_library_passes_its_own_check():
    check.bits_of(rate.gaussian_bits)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (rate_term(log=lambda p: -ops.log(p)), "nats, not bits.*ln 2"),
        (rate_term(log=lambda p: ops.log(p) / math.log(2.0)), "the sign is wrong"),
        (rate_term(half_width=1.0), r"the bin is \[v - 1, v \+ 1\], two wide"),
        (rate_term(sqrt2=False), r"erf takes x / sqrt\(2\)"),
        (rate_term(half=False), "one bit too few everywhere"),
        (rate_term(width=lambda s: s**0.5), "a standard deviation, not a variance"),
        (rate_term(floor=None), "floor the probability"),
        (rate_term(floor=1e-12), r"floor the probability at rate.LIKELIHOOD_FLOOR"),
    ],
    ids=["nats", "sign", "half-width 1", "no sqrt 2", "no half", "sqrt scale", "no floor", "another floor"],
)
def test_the_rate_term_check_names_the_mistake(wrong, match):
    rejects(check.bits_of, wrong, match=match)


def test_the_rate_term_check_catches_the_density_a_sum_and_numpy():
    def density(values, loc, scale):
        z = (ops.convert_to_tensor(values, "float32") - loc) / scale
        return -ops.log(ops.exp(-0.5 * z * z) / (scale * math.sqrt(2 * math.pi))) / math.log(2.0)

    def summed(values, loc, scale):
        return ops.sum(rate.gaussian_bits(values, loc, scale))

    erf = np.vectorize(math.erf)

    def with_numpy(values, loc, scale):  # right values, but no gradient
        v = np.asarray(values, np.float64)
        p = 0.5 * (
            erf((v + 0.5 - loc) / (scale * math.sqrt(2))) - erf((v - 0.5 - loc) / (scale * math.sqrt(2)))
        )
        return -np.log2(np.maximum(p, rate.LIKELIHOOD_FLOOR))

    rejects(check.bits_of, density, match="density at v, not the probability mass of its bin")
    rejects(check.bits_of, summed, match=r"has shape \(\), expected \(24, 6\).*do not sum")
    rejects(check.bits_of, with_numpy, match="no gradient flows through it.*keras.ops")


def test_the_rate_term_check_falls_back_to_the_library_and_says_so(monkeypatch, capsys):
    monkeypatch.delenv(exercises.STRICT_ENV)

    def bits_of(values, loc, scale):  # the notebook's stub
        values = keras.ops.convert_to_tensor(values, "float32")
        ...
        return None  # when done: the bits, a tensor shaped like values

    assert check.bits_of(bits_of) is rate.gaussian_bits
    assert "not answered yet" in capsys.readouterr().out

    def forgets_return(values, loc, scale):
        keras.ops.convert_to_tensor(values, "float32") * 0.0

    assert check.bits_of(forgets_return) is rate.gaussian_bits
    assert "forget `return`" in capsys.readouterr().out
    assert check.bits_of(rate_term(half_width=1.0)) is rate.gaussian_bits
    assert "the cells below use the library's version meanwhile" in capsys.readouterr().out


def test_the_near_values_stay_where_a_float32_erf_difference_is_exact():
    near, far, loc, scale = check.test_values()
    assert ((np.abs(near - loc) - 0.5) / scale).max() <= check.NEAR_SCALES
    assert ((np.abs(far - loc) - 0.5) / scale).min() >= check.FAR_SCALES
    assert np.any(near == np.round(near)) and np.any(near != np.round(near))  # integers and not


# ---------------------------------------------------------------- Exercise 2: the bits trained for, the bytes paid


@pytest.fixture(scope="module")
def paid_context(fake_digits):
    model = rate.build_rate_autoencoder(8, lmbda=0.05, filters=4, hidden_units=16)
    return {"trained": {0.05: model}, "LAMBDAS": (0.05,), "digits": fake_digits(200, seed=7)}


def answers_of(context):
    namespace = run_solution("09_rate_as_regulariser_ex2", rate=rate, **context)
    return namespace["bits_per_digit"], namespace["bytes_per_digit"], namespace["my_model"]


def test_the_bits_paid_solution_passes(paid_context, capsys):
    bits, nbytes, model = answers_of(paid_context)
    check.bits_paid(bits, bytes_per_digit=nbytes, model=model, digits=paid_context["digits"])
    out = capsys.readouterr().out
    assert "✓ Exercise 09_rate_as_regulariser_ex2" in out and "bytes of header and checksum" in out


def test_the_bits_paid_check_catches_noisy_bits_totals_and_estimates(paid_context):
    bits, nbytes, model = answers_of(paid_context)
    digits = paid_context["digits"]
    n = len(digits)
    noisy = float(np.asarray(model(data.to_float(digits), training=True)["bits"]).mean())
    kwargs = {"model": model, "digits": digits}
    rejects(
        check.bits_paid, noisy, bytes_per_digit=nbytes, match="training estimate.*training=False", **kwargs
    )
    rejects(check.bits_paid, n * bits, bytes_per_digit=nbytes, match="total for all 200 digits", **kwargs)
    rejects(check.bits_paid, bits / 8, bytes_per_digit=nbytes, match="that is bytes", **kwargs)
    rejects(
        check.bits_paid,
        bits,
        bytes_per_digit=bits / 8,
        match="the model's estimate, bits / 8, not a file",
        **kwargs,
    )
    rejects(check.bits_paid, bits, bytes_per_digit=nbytes * n, match="the whole file: divide", **kwargs)
    singles = codec.compress_each(digits, rate.codec_model_of(model))
    rejects(check.bits_paid, bits, bytes_per_digit=np.mean([len(s) for s in singles]), match="one file per digit",
            **kwargs)  # fmt: skip
    rejects(check.bits_paid, bits, match="not answered yet|bytes_per_digit", **kwargs)
    # The payload alone, without the header (the learner review: the message did not say so)
    blob = codec.compress(digits, rate.codec_model_of(model), step=1.0)
    payload_only = codec.read_header(blob).payload_bytes / n
    rejects(check.bits_paid, bits, bytes_per_digit=payload_only, match="that is the payload alone", **kwargs)


@pytest.mark.parametrize("off", [0.003, -0.003, 0.001])
def test_the_bits_paid_check_rejects_a_count_a_fraction_of_a_percent_off(paid_context, off):
    # A model trained for a few quick-mode steps counts 100.16 bits a digit in use and 100.82 (+0.66 %) with
    # the training noise; another draw of the noise lands closer. Only the deterministic count in use passes.
    bits, nbytes, model = answers_of(paid_context)
    kwargs = {"model": model, "digits": paid_context["digits"]}
    rejects(
        check.bits_paid,
        bits * (1 + off),
        bytes_per_digit=nbytes,
        match="bits a digit in use .*, not ",
        **kwargs,
    )


# ---------------------------------------------------------------- Exercise 3: the cheapest rate model


@pytest.fixture(scope="module")
def cheapest_context(mnist):
    names = pretrained.available_models(kind="rate")
    if not names:
        pytest.skip("no shipped rate model yet (scripts/train_pretrained.py --rate)")
    return {
        "shipped": {name: pretrained.load_pretrained(name) for name in names},
        "posthoc": pretrained.load_pretrained(28), "digits": mnist[1][0][:100],
        "TARGET_DB": 21.0, "TARGET_STEPS": (0.7, 1.0, 1.4),
    }  # fmt: skip


def test_the_cheapest_model_solution_passes(cheapest_context, capsys):
    namespace = run_solution("09_rate_as_regulariser_ex3", **cheapest_context)
    c = cheapest_context
    check.cheapest_rate_model(namespace["best"], c["digits"], target_db=c["TARGET_DB"], steps=c["TARGET_STEPS"],
                              saving=namespace["saving"])  # fmt: skip
    assert "✓ Exercise 09_rate_as_regulariser_ex3" in capsys.readouterr().out


def test_the_cheapest_model_check_catches_a_missed_target_a_bigger_file_and_a_wrong_saving(cheapest_context):
    c = cheapest_context
    namespace = run_solution("09_rate_as_regulariser_ex3", **c)
    best, saving = namespace["best"], namespace["saving"]
    kwargs = {"target_db": c["TARGET_DB"], "steps": c["TARGET_STEPS"]}
    names = list(c["shipped"])
    rejects(check.cheapest_rate_model, (names[0], 4.0), c["digits"], saving=saving, match="below the 21 dB target",
            **kwargs)  # fmt: skip
    dearest = (names[-1], 0.7)  # the smallest lambda at the finest step: the biggest file
    model = c["shipped"][names[-1]]
    blob = codec.compress(c["digits"], model, step=0.7)
    assert metrics.mean_psnr(c["digits"], codec.decompress(blob, model), data_range=255) >= 21.0
    if dearest != tuple(best):
        rejects(check.cheapest_rate_model, dearest, c["digits"], saving=saving, match="keep the smallest file",
                **kwargs)  # fmt: skip
    rejects(check.cheapest_rate_model, best, c["digits"], saving=100 * saving, match="a percentage", **kwargs)
    rejects(
        check.cheapest_rate_model,
        best,
        c["digits"],
        saving=1 - saving,
        match="ratio of the two sizes",
        **kwargs,
    )
    rejects(check.cheapest_rate_model, ("ae_latent28", 1.0), c["digits"], saving=saving,
            match="not a shipped rate model", **kwargs)  # fmt: skip
    rejects(check.cheapest_rate_model, best, c["digits"], saving=-saving, match="the sign is the wrong way round",
            **kwargs)  # fmt: skip
    rejects(check.cheapest_rate_model, tuple(best)[::-1], c["digits"], saving=saving,
            match=r"looks swapped: the pair is \(model name, step\)", **kwargs)  # fmt: skip
