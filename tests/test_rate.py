"""Rate-aware training (cae_lib.rate): the rate term, the noise trick, and a codec that pays what was trained for."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import fake_digits

from cae_lib import codec, rate
from cae_lib._tf import keras
from cae_lib.codec import entropy

TINY = {"filters": 4, "hidden_units": 32}


def test_gaussian_bits_are_the_coders_bits_on_integers():
    rng = np.random.default_rng(0)
    loc, scale = rng.normal(0, 2, 12), rng.uniform(0.2, 8, 12)
    symbols = np.rint(rng.normal(loc, scale, (50, 12)))
    trained = float(np.sum(rate.gaussian_bits(symbols.astype("float32"), loc, scale)))
    # The codec codes k = round(z - loc) with a zero-mean Gaussian: the same bins, shifted.
    coded = entropy.ideal_bits(np.rint(symbols - loc), np.zeros(12), scale, 1.0)
    exact = entropy.ideal_bits(symbols, loc, scale, 1.0)
    assert trained == pytest.approx(exact, rel=1e-4)
    assert coded == pytest.approx(exact, rel=0.05)  # bins shifted by the fractional part of loc


def test_gaussian_bits_stay_finite_and_keep_a_gradient_far_out():
    values = tf.constant([0.0, 5.0, 40.0, -1e4], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(values)
        bits = rate.gaussian_bits(values, 0.0, 1.0)
    grads = tape.gradient(bits, values).numpy()
    bits = bits.numpy()
    assert np.all(np.isfinite(bits)) and np.all(np.isfinite(grads))
    assert bits[0] < bits[1] < bits[2] <= -np.log2(rate.LIKELIHOOD_FLOOR) + 1e-3
    assert grads[1] > 0  # moving away from the mean costs bits


def test_entropy_model_rounds_in_use_and_adds_bounded_noise_in_training():
    layer = rate.GaussianEntropyModel(decoder_input="noise", seed=3)
    latents = np.random.default_rng(1).normal(0, 3, (256, 5)).astype("float32")
    layer.build(latents.shape)
    layer.loc.assign(np.full(5, 0.3, "float32"))
    rounded, bits = layer(latents, training=False)
    assert np.allclose(rounded, np.round(latents - 0.3) + 0.3, atol=1e-5)
    assert bits.shape == (256,)
    noisy, noisy_bits = layer(latents, training=True)
    noise = np.asarray(noisy) - latents
    assert np.all(np.abs(noise) <= 0.5) and noise.std() > 0.2  # U(-1/2, 1/2) has std 0.29
    assert np.mean(noisy_bits) == pytest.approx(np.mean(bits), rel=0.15)


def test_round_mode_passes_the_gradient_straight_through():
    layer = rate.GaussianEntropyModel(decoder_input="round")
    latents = tf.constant([[0.2, 1.7, -2.6]])
    with tf.GradientTape() as tape:
        tape.watch(latents)
        decoded, _ = layer(latents, training=True)
        total = tf.reduce_sum(decoded * tf.constant([[1.0, 2.0, 3.0]]))
    assert decoded.numpy().tolist() == [[0.0, 2.0, -3.0]]
    assert tape.gradient(total, latents).numpy().tolist() == [[1.0, 2.0, 3.0]]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: rate.GaussianEntropyModel(decoder_input="sample"), "decoder_input"),
        (lambda: rate.RateDistortionAutoencoder(8, lmbda=-1.0), "lmbda"),
        (lambda: rate.RateDistortionAutoencoder(8, lmbda="0.1"), "lmbda"),
        (lambda: rate.train_rate_autoencoder(keras.Sequential(), np.zeros((4, 28, 28))), "RateDistortion"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_model_survives_a_save_and_load(tmp_path):
    model = rate.build_rate_autoencoder(6, lmbda=0.05, decoder_input="noise", seed=2, **TINY)
    path = tmp_path / "rate.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert isinstance(loaded, rate.RateDistortionAutoencoder)
    assert loaded.lmbda == 0.05 and loaded.entropy_model.decoder_input == "noise"
    x = fake_digits(8).astype("float32")[..., None] / 255
    assert np.allclose(loaded(x)["pixels"], model(x)["pixels"], atol=1e-6)


def _solution_bits_of():
    """Notebook 09's Exercise 1 as its solution writes it: the learner's rate term."""
    from pathlib import Path

    import cae_lib

    namespace = {"keras": keras, "np": np, "rate": rate}
    solution = Path(cae_lib.__file__).parent / "solutions" / "09_rate_as_regulariser_ex1.py"
    exec(solution.read_text(), namespace)
    return namespace["bits_of"]


def test_a_model_trained_with_the_learners_bits_of_reproduces_the_librarys_run():
    x = fake_digits(256, seed=7)
    runs = {}
    for label, function in (("library", None), ("learner", _solution_bits_of())):
        model = rate.build_rate_autoencoder(8, lmbda=0.1, seed=3, bits_function=function, **TINY)
        history = rate.train_rate_autoencoder(model, x, epochs=2, batch_size=64, quick=False, verbose=0)
        runs[label] = (model, history.history)
    (library, library_history), (learner, learner_history) = runs["library"], runs["learner"]
    assert learner.entropy_model.bits_function is not rate.gaussian_bits
    for name in ("bits", "distortion", "loss"):
        assert np.allclose(learner_history[name], library_history[name], rtol=1e-3), name
    floats = x[:64].astype("float32")[..., None] / 255
    assert np.allclose(learner(floats)["bits"], library(floats)["bits"], rtol=1e-3, atol=1e-3)


def test_a_wrong_rate_term_changes_the_training():
    x = fake_digits(256, seed=7)
    runs = {}
    for label, function in (
        ("library", None),
        ("half", lambda v, loc, scale: 0.5 * rate.gaussian_bits(v, loc, scale)),
    ):
        model = rate.build_rate_autoencoder(8, lmbda=0.1, seed=3, bits_function=function, **TINY)
        runs[label] = rate.train_rate_autoencoder(
            model, x, epochs=1, batch_size=64, quick=False, verbose=0
        ).history
    assert runs["half"]["bits"][-1] < 0.6 * runs["library"]["bits"][-1]


def test_a_bits_function_that_is_not_a_function_is_refused():
    with pytest.raises(ValueError, match="bits_function"):
        rate.GaussianEntropyModel(bits_function=3.0)


@pytest.fixture(scope="module")
def trained_pair():
    """Two tiny models trained on the same fake digits, one with a high price per bit."""
    x = fake_digits(1024, seed=5)
    out = {}
    for lmbda in (0.001, 1.0):
        model = rate.build_rate_autoencoder(8, lmbda=lmbda, seed=4, **TINY)
        history = rate.train_rate_autoencoder(model, x, epochs=3, batch_size=64, quick=False, verbose=0)
        out[lmbda] = (model, history)
    return x, out


def test_training_reports_distortion_bits_and_psnr_and_lambda_buys_fewer_bits(trained_pair):
    _, out = trained_pair
    history = out[0.001][1].history
    assert set(history) >= {"loss", "distortion", "bits", "psnr"}
    assert history["loss"][-1] < history["loss"][0]
    assert out[1.0][1].history["bits"][-1] < 0.5 * history["bits"][-1]


def test_codec_pays_the_bits_the_model_was_trained_for(trained_pair):
    x, out = trained_pair
    model = out[1.0][0]  # a model whose latents fit its density (at lambda near 0 nothing makes them fit)
    codec_model = rate.codec_model_of(model)
    digits = x[:500]
    floats = digits.astype("float32")[..., None] / 255
    predicted = model.predict(floats, verbose=0)
    measured = codec.measure(digits, codec_model, step=1.0)
    model_bits = float(np.sum(predicted["bits"]))
    assert measured.ideal_payload_bits == pytest.approx(model_bits, rel=1e-3)
    assert 8 * measured.payload_bytes <= 1.01 * model_bits + 64
    decoded_by_model = np.rint(np.clip(predicted["pixels"][..., 0], 0, 1) * 255)
    assert np.abs(measured.decoded.astype(int) - decoded_by_model).max() <= 1


def test_switched_off_dimensions_cost_almost_nothing(trained_pair):
    x, out = trained_pair
    model = out[1.0][0]
    scales = model.entropy_model.scale_values
    off = scales <= 2 * rate.SCALE_FLOOR
    symbols = codec.latents_to_symbols(
        codec.encode_latents(x[:200], rate.codec_model_of(model)), rate.codec_model_of(model), 1.0
    )
    if off.any():
        per_dim = [entropy.ideal_bits(symbols[:, [i]], [0.0], [s], 1.0) / 200 for i, s in enumerate(scales)]
        assert max(per_dim[i] for i in np.flatnonzero(off)) < 0.05
    assert scales.min() >= rate.SCALE_FLOOR


def test_a_shipped_rate_model_comes_back_as_the_autoencoder_that_codes_and_decodes_the_same():
    from cae_lib import pretrained

    shipped = pretrained.load_pretrained("rate_lambda0.1")
    model = rate.rate_model_of(shipped, lmbda=0.1)
    assert isinstance(model, rate.RateDistortionAutoencoder) and model.lmbda == 0.1
    digits = fake_digits(20, seed=9)
    rebuilt, original = codec.measure(digits, rate.codec_model_of(model)), codec.measure(digits, shipped)
    assert rebuilt.payload_bytes == original.payload_bytes  # the same symbols under the same probabilities
    assert np.array_equal(rebuilt.decoded, original.decoded)
    counted = float(np.sum(model(digits.astype("float32")[..., None] / 255, training=False)["bits"]))
    assert counted == pytest.approx(
        codec.measure(digits, shipped).ideal_payload_bits, rel=5e-3
    )  # coder tables


def test_a_post_hoc_codec_model_is_not_taken_for_a_rate_model():
    from cae_lib import pretrained

    with pytest.raises(ValueError, match="rotated prior"):
        rate.rate_model_of(pretrained.load_pretrained(2), lmbda=0.1)
