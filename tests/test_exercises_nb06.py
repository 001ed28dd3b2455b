"""Notebook 06's exercises: each solution passes its check, plausible wrong answers fail with a useful message;
the paired accuracy-drop bound against a hand computation; the guess-the-original widget, headless."""

import io
import math

import numpy as np
import pytest
from conftest import fake_digits, rejects, run_solution
from PIL import Image

from cae_lib import data, exercises, metrics, models, widgets
from cae_lib.exercises import nb06 as check

# --------------------------------------------------------------------- exercise 1: PSNR by hand


@pytest.fixture(scope="module")
def digit_pair():
    originals = fake_digits(10, seed=3)
    noise = np.random.default_rng(0).normal(0, 20, originals.shape)
    decoded = np.clip(originals + noise, 0, 255).astype(
        np.uint8
    )  # darker and brighter pixels: uint8 wrap matters
    return originals, decoded


def test_psnr_solution_passes(digit_pair, strict, capsys):
    originals, decoded = digit_pair
    ns = run_solution(check.EX_PSNR, x_test=originals, recon28=decoded[..., None] / np.float32(255))
    check.psnr_uint8(ns["psnr_uint8"], originals, decoded)
    assert "✓ Exercise 06_loss_and_noise_ex1" in capsys.readouterr().out


def by_hand(peak=255.0, cast=True, axis=(1, 2), power=2, factor=10, scale=1.0, flipped=False):
    def psnr_uint8(originals, decoded):
        a, b = (originals.astype(np.float64), decoded.astype(np.float64)) if cast else (originals, decoded)
        if scale != 1.0:
            a, b = a / scale, b / scale
        mse = ((a - b).astype(np.float64) ** 2).mean(axis=axis)
        return factor * np.log10(mse / peak**power if flipped else peak**power / mse)

    return psnr_uint8


@pytest.mark.parametrize(
    "wrong, message",
    [
        (by_hand(cast=False), "wrapped round.*Cast to float"),
        (by_hand(peak=1.0), "48 dB too low.*255"),
        (by_hand(power=1), "squared peak"),
        (by_hand(factor=20), "twice the PSNR"),
        (by_hand(axis=None), "one number for 10 digits"),
        (by_hand(flipped=True), "the sign is flipped"),
        (by_hand(scale=255.0), r"48 dB too high.*\[0, 1\].*L.* of 1"),  # pixels in [0, 1], peak still 255
        (by_hand(axis=0), r"shape \(28, 28\), expected \(10,\)"),  # over the digits, not their pixels
    ],
)
def test_psnr_wrong_answers_are_named(digit_pair, strict, wrong, message):
    rejects(check.psnr_uint8, wrong, *digit_pair, match=message)


def test_psnr_must_be_by_hand_and_a_stub_is_not_answered(digit_pair, capsys):
    def calls_the_library(originals, decoded):
        return metrics.psnr(originals, decoded, data_range=255)

    check.psnr_uint8(calls_the_library, *digit_pair)
    assert "✗" in capsys.readouterr().out

    def calls_the_mean(originals, decoded):  # the learner review: these slipped past the source check
        return np.array([metrics.mean_psnr(o, d, data_range=255) for o, d in zip(originals, decoded)])

    def imports_an_alias(originals, decoded):
        from cae_lib.metrics import psnr as compute

        return compute(originals, decoded, data_range=255)

    for function in (calls_the_mean, imports_an_alias):
        check.psnr_uint8(function, *digit_pair)
        assert "✗" in capsys.readouterr().out

    def stub(originals, decoded): ...

    check.psnr_uint8(stub, *digit_pair)
    assert (
        "○ Exercise 06_loss_and_noise_ex1 (PSNR by hand for uint8 digits): not answered yet"
        in capsys.readouterr().out
    )


# --------------------------------------------------------------------- exercise 2: largest gain


SIGMAS = [0.0, 0.1, 0.2, 0.3, 0.5]
CURVES = {
    "noisy input itself": [np.nan, 20.0, 14.0, 10.5, 4.0],
    "plain autoencoder": [22.0, 21.5, 16.0, 12.0, 9.0],
    "denoising autoencoder": [21.8, 21.0, 18.0, 15.0, 10.0],
}  # gains -0.2, -0.5, 2, 3, 1: best at σ = 0.3, worst at 0.1; over the noisy input best at 0.5


def test_largest_gain_solution_passes(strict, capsys):
    ns = run_solution(check.EX_LARGEST_GAIN, sigmas=SIGMAS, curves=CURVES)
    assert ns["largest_gain_sigma"] == 0.3
    check.largest_gain(ns["largest_gain_sigma"], SIGMAS, CURVES)
    assert (
        "✓ Exercise 06_loss_and_noise_ex2 (where the denoiser helps most): σ = 0.3" in capsys.readouterr().out
    )
    check.largest_gain(np.float32(0.3), SIGMAS, CURVES)  # read from a float32 array: 0.30000001
    assert "✓ Exercise 06_loss_and_noise_ex2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (3, "position in sigmas"),  # np.argmax(gain), not sigmas[...]
        (0.0, "denoising autoencoder's own PSNR is highest"),
        (0.5, "over the noisy input itself"),
        (0.1, "smallest"),
        (0.4, "not one of the noise levels"),
        (0.2, "larger elsewhere"),
        (0.1 * 2 + 1e-12, "larger elsewhere"),  # a σ computed, not picked from sigmas
        ("0.30", "not the text '0.30'"),  # the second review: text passed
    ],
)
def test_largest_gain_wrong_answers_are_named(strict, wrong, message):
    rejects(check.largest_gain, wrong, SIGMAS, CURVES, match=message)


# --------------------------------------------------------------------- exercise 3: stricter threshold


TABLE = [
    dict(latent=28, step=0.5, bytes=14.8, lossless=False, ssim=0.948),
    dict(latent=64, step=0.25, bytes=23.2, lossless=True, ssim=0.963),
    dict(latent=64, step=0.5, bytes=16.4, lossless=True, ssim=0.952),
]


def test_strict_threshold_solution_passes(strict, capsys):
    ns = run_solution(check.EX_STRICT)
    check.strict_threshold(ns["strict_threshold"], TABLE, TABLE[2])
    out = capsys.readouterr().out
    assert (
        "✓ Exercise 06_loss_and_noise_ex3" in out
        and "latent 64, step 0.5, 16.4 bytes per digit, +0.0 bytes" in out
    )


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda r: r["lossless"] and r["ssim"] > 0.95, "use >=, not >"),
        (lambda r: r["ssim"] >= 0.95, "fails the classifier criterion"),
        (lambda r: r["lossless"], "SSIM is below 0.95"),
        (lambda r: r["lossless"] and r["ssim"] >= 95, "returned None on a table where .*not a percentage"),
        (lambda r: r["lossless"] or r["ssim"] >= 0.95, "SSIM is below 0.95"),  # or instead of and
        (lambda r: not r["lossless"] and r["ssim"] >= 0.95, "fails the classifier criterion"),
    ],
)
def test_strict_threshold_wrong_conditions_are_named(strict, wrong, message):
    def strict_threshold(table):
        rows = [r for r in table if wrong(r)]
        return min(rows, key=lambda r: r["bytes"]) if rows else None

    rejects(check.strict_threshold, strict_threshold, TABLE, None, match=message)


@pytest.mark.parametrize(
    "choose, message",
    [
        (lambda rows: min(rows, key=lambda r: r["latent"]), "choose by bytes"),
        (lambda rows: min(rows, key=lambda r: r["ssim"]), "choose by bytes"),
        (lambda rows: max(rows, key=lambda r: r["step"]), "choose by bytes"),
        (lambda rows: rows[0], "most expensive: take the fewest bytes"),  # the first that qualifies
    ],
    ids=["smallest latent", "lowest SSIM", "largest step", "first qualifying"],
)
def test_strict_threshold_the_wrong_key_is_named(strict, choose, message):
    """The learner review: the right conditions with the wrong choice among the rows passed."""

    def strict_threshold(table):
        rows = [r for r in table if r["lossless"] and r["ssim"] >= 0.95]
        return choose(rows) if rows else None

    rejects(check.strict_threshold, strict_threshold, TABLE, None, match=message)


def test_strict_threshold_a_rounded_ssim_is_named(strict):
    def strict_threshold(table):
        rows = [r for r in table if r["lossless"] and round(r["ssim"], 2) >= 0.95]
        return min(rows, key=lambda r: r["bytes"]) if rows else None

    rejects(check.strict_threshold, strict_threshold, TABLE, None, match="not a rounded value")


def test_strict_threshold_max_and_never_none_are_wrong(strict):
    def most_expensive(table):
        rows = [r for r in table if r["lossless"] and r["ssim"] >= 0.95]
        return max(rows, key=lambda r: r["bytes"]) if rows else None

    rejects(check.strict_threshold, most_expensive, TABLE, match="fewest bytes")

    def never_none(table):
        rows = [r for r in table if r["lossless"] and r["ssim"] >= 0.95] or table
        return min(rows, key=lambda r: r["bytes"])

    rejects(check.strict_threshold, never_none, TABLE, match="return None then")


def test_strict_threshold_stub_is_not_answered_and_a_forgotten_return_is_named(capsys):
    def stub(table):
        """The notebook's stub."""
        ...  # your code here

    check.strict_threshold(stub, TABLE)
    assert "○ Exercise 06_loss_and_noise_ex3" in capsys.readouterr().out

    def forgets_return(table):
        rows = [r for r in table if r["lossless"] and r["ssim"] >= 0.95]
        print(min(rows, key=lambda r: r["bytes"]) if rows else None)

    check.strict_threshold(forgets_return, TABLE)
    out = capsys.readouterr().out
    assert "✗ Exercise 06_loss_and_noise_ex3" in out and "ends with return" in out


# --------------------------------------------------------------------- exercise 4: a denoiser


@pytest.fixture(scope="module")
def held_out(mnist):
    _, (x_test, _) = mnist
    return data.to_float(x_test[-300:])


def test_denoiser_solution_passes_in_quick_mode(mnist, held_out, strict, monkeypatch, capsys):
    monkeypatch.setenv("CAE_QUICK", "1")
    (x_train, _), _ = mnist
    ns = run_solution(check.EX_DENOISER, x_train=x_train[:2048])
    check.denoiser(ns["my_denoiser"], sigma=ns["my_sigma"], clean=held_out)
    assert "✓ Exercise 06_loss_and_noise_ex4" in capsys.readouterr().out
    # The same model at a noise level it was not trained for, so small that the noisy digits are already good:
    rejects(check.denoiser, ns["my_denoiser"], sigma=0.02, clean=held_out, match="choose a larger σ")


def test_denoiser_wrong_answers_are_named(held_out, strict, capsys, monkeypatch):
    import keras

    identity = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Identity()])
    rejects(check.denoiser, identity, sigma=0.5, clean=held_out, match="noisy input unchanged")
    untrained = models.build_autoencoder(28)
    rejects(check.denoiser, untrained, sigma=0.5, clean=held_out, match="whatever digit goes in")
    rejects(check.denoiser, untrained, sigma=1.5, clean=held_out, match="between 0 and 1")
    rejects(check.denoiser, identity, sigma=50, clean=held_out, match="between 0 and 1")  # in percent
    rejects(check.denoiser, identity, sigma=128.0, clean=held_out, match="between 0 and 1")  # in 0-255 units
    monkeypatch.delenv(exercises.STRICT_ENV)
    check.denoiser(untrained, clean=held_out)  # my_sigma left as ...
    assert "○ Exercise 06_loss_and_noise_ex4" in capsys.readouterr().out


@pytest.mark.parametrize("sigma", [0.4, 0.5, 0.6])
def test_a_model_that_ignores_its_input_is_no_denoiser(mnist, held_out, strict, sigma):
    import keras

    (x_train, _), _ = mnist
    mean_digit = data.to_float(x_train[:5000]).mean(axis=0)  # (28, 28, 1)
    inputs = keras.Input((28, 28, 1))
    constant = keras.layers.Lambda(lambda x: 0.0 * x + keras.ops.convert_to_tensor(mean_digit))(inputs)
    rejects(
        check.denoiser,
        keras.Model(inputs, constant),
        sigma=sigma,
        clean=held_out,
        match="whatever digit goes in",
    )


def test_a_plain_autoencoder_at_high_noise_does_not_pass_as_a_denoiser(held_out, strict):
    from cae_lib import pretrained

    # Latent 2, never trained on noise: at σ 0.6 it beats the noisy input (about 10.6 dB against 8.2 dB)
    # but not the mean digit (about 12.4 dB).
    rejects(
        check.denoiser,
        pretrained.load_pretrained(2),
        sigma=0.6,
        clean=held_out,
        match="mean digit.*input_noise",
    )


def test_a_box_blur_that_learnt_nothing_is_no_denoiser(held_out, strict):
    """The learner reviews: a 3 x 3 AveragePooling2D passed at σ 0.3, then a blur with a contrast stretch beat the
    blur bar by 5 dB; a Python function made the check raise a TypeError."""
    import keras

    inputs = keras.Input((28, 28, 1))
    blurred = keras.layers.AveragePooling2D(3, strides=1, padding="same")(inputs)
    blur = keras.Model(inputs, blurred)
    stretched = keras.Model(
        inputs, keras.layers.Lambda(lambda x: keras.ops.clip((x - 0.25) * 2, 0, 1))(blurred)
    )
    for model in (blur, stretched):
        rejects(
            check.denoiser, model, sigma=0.5, clean=held_out, match=r"has 0 trainable weights: a fixed filter"
        )
    rejects(
        check.denoiser,
        check.box_blur,
        sigma=0.5,
        clean=held_out,
        match=r"must be a trained Keras model .*function",
    )
    # Weights that never touch the output (a Dense beside the blur) do not make it learnt.
    unused = keras.layers.Dense(64)(keras.layers.Flatten()(inputs))
    beside = keras.Model(
        inputs, keras.layers.Lambda(lambda pair: pair[0] + 0.0 * keras.ops.mean(pair[1]))([blurred, unused])
    )
    rejects(check.denoiser, beside, sigma=0.5, clean=held_out, match=r"does not depend on its weights")
    # Weights that do pass the blur through (1,409 of them): measured against the blur itself.
    features = keras.layers.Conv2D(128, 3, padding="same", activation="relu")(blurred)
    through = keras.Model(inputs, keras.layers.Conv2D(1, 1)(features))
    kernel = np.zeros((3, 3, 1, 128), np.float32)
    kernel[1, 1, 0, 0] = 1.0  # filter 0 copies the blurred pixel; the ReLU keeps it (pixels are >= 0)
    through.layers[2].set_weights([kernel, np.zeros(128, np.float32)])
    pick = np.zeros((1, 1, 128, 1), np.float32)
    pick[0, 0, 0, 0] = 1.0
    through.layers[3].set_weights([pick, np.zeros(1, np.float32)])
    rejects(check.denoiser, through, sigma=0.3, clean=held_out, match=r"3 x 3 box blur of the noisy input")
    noisy = np.clip(held_out + np.random.default_rng(0).normal(0, 0.3, held_out.shape), 0, 1)
    assert np.allclose(
        check.box_blur(noisy)[:, 1:-1, 1:-1], np.asarray(blur(noisy))[:, 1:-1, 1:-1], atol=1e-5
    )


# --------------------------------------------------------------------- the paired bound


def test_paired_bound_against_a_hand_computation():
    # 400 digits: 12 read correctly only as originals, 4 only as reconstructions, the rest alike.
    original = np.ones(400, bool)
    reconstructed = np.ones(400, bool)
    reconstructed[:12] = False
    original[12:16] = False
    # d: twelve +1, four -1. mean 8/400 = 0.02; sum of squares 16;
    # sample variance (16 - 400 * 0.02**2) / 399 = 15.84 / 399; standard error sqrt(that / 400) = 0.0099624;
    # z(0.95) = 1.6448536 -> 0.02 + 0.0163868 = 0.0363868. At 99 %: z = 2.3263479 -> 0.0431762.
    assert metrics.paired_accuracy_drop_upper_bound(original, reconstructed) == pytest.approx(
        0.0363868, abs=1e-6
    )
    assert metrics.paired_accuracy_drop_upper_bound(
        original, reconstructed, confidence=0.99
    ) == pytest.approx(0.0431762, abs=1e-6)


def test_paired_bound_properties():
    rng = np.random.default_rng(0)
    a = rng.random(2000) < 0.98
    assert metrics.paired_accuracy_drop_upper_bound(a, a) == 0.0  # same answers: no drop, no spread
    b = a.copy()
    b[rng.choice(2000, 30, replace=False)] ^= True
    bound = metrics.paired_accuracy_drop_upper_bound(a, b)
    assert bound > a.mean() - b.mean()  # an upper bound lies above the observed drop
    assert metrics.paired_accuracy_drop_upper_bound(a.astype(int), b.astype(int)) == bound
    with pytest.raises(ValueError, match="same length"):
        metrics.paired_accuracy_drop_upper_bound(a, b[:-1])
    with pytest.raises(ValueError, match="confidence"):
        metrics.paired_accuracy_drop_upper_bound(a, b, confidence=95)
    with pytest.raises(ValueError, match="booleans or 0/1"):
        metrics.paired_accuracy_drop_upper_bound(a * 2, b)


# --------------------------------------------------------------------- the guess-the-original widget

OTHER = {"left": "right", "right": "left"}


def test_guess_the_original_counts_and_shows_the_pair():
    originals = fake_digits(6, seed=1)
    decoded = 255 - originals  # easy to tell apart in the picture
    game = widgets.GuessTheOriginal(originals, decoded, seed=0, zoom=2)
    picture = np.asarray(Image.open(io.BytesIO(game.image.value)))
    left, right = picture[:, :56], picture[:, -56:]
    shown = originals[game.index].repeat(2, 0).repeat(2, 1)
    assert np.array_equal(left if game.original_side == "left" else right, shown)
    for i in range(8):  # right 6 times, then wrong twice, by clicking the buttons
        side = game.original_side if i < 6 else OTHER[game.original_side]
        (game.left_button if side == "left" else game.right_button).click()
    assert (game.rounds, game.correct) == (8, 6)
    assert "play at least 10 rounds" in game.stats.value
    for _ in range(4):
        assert game.guess(game.original_side) is True
    # 10 of 12: P(X >= 10) for X ~ Binomial(12, 1/2) = (66 + 12 + 1) / 4096
    assert game.p_value == pytest.approx(79 / 4096)
    assert "10 of 12 right" in game.stats.value and "not visually lossless for you" in game.stats.value
    sides = set()
    for _ in range(20):
        sides.add(game.original_side)
        game.guess("left")
    assert sides == {"left", "right"} and game.rounds == 32


def test_guess_the_original_chance_level_and_bad_arguments():
    game = widgets.GuessTheOriginal(fake_digits(4), fake_digits(4, seed=9))
    for i in range(10):  # right, wrong, right, wrong, ...
        game.guess(game.original_side if i % 2 == 0 else OTHER[game.original_side])
    assert game.correct == 5 and game.p_value == pytest.approx(
        sum(math.comb(10, k) for k in range(5, 11)) / 1024
    )
    assert "looks visually lossless to you" in game.verdict()
    with pytest.raises(ValueError, match="side must be"):
        game.guess("middle")
    with pytest.raises(ValueError, match="same shape"):
        widgets.GuessTheOriginal(fake_digits(4), fake_digits(3))
    with pytest.raises(ValueError, match="uint8"):
        widgets.GuessTheOriginal(fake_digits(4) / 255, fake_digits(4) / 255)
