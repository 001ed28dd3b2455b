"""cae_lib.deploy: the exported halves give the same digits as the model they came from."""

import numpy as np
import pytest

from cae_lib import codec, deploy, models


@pytest.fixture(scope="module")
def codec_model():
    rng = np.random.default_rng(0)
    x = (rng.random((64, 28, 28, 1)) > 0.8).astype(np.float32)
    return codec.attach_prior(models.build_autoencoder(5, filters=4, hidden_units=16, seed=2), x)


@pytest.fixture(scope="module")
def latents():
    return np.random.default_rng(1).normal(size=(3, 5)).astype(np.float32)


def test_saved_model_and_tflite_decode_like_keras(codec_model, latents, tmp_path):
    decoder = models.decoder_of(codec_model)
    expected = np.asarray(decoder(latents))
    directory = deploy.export_saved_model(decoder, tmp_path / "decoder")
    assert deploy.size_on_disk(directory) > deploy.size_on_disk(directory / "saved_model.pb") > 0
    np.testing.assert_allclose(deploy.load_saved_model(directory)(latents), expected, atol=1e-5)
    flat = deploy.export_tflite(directory)
    run = deploy.TFLiteRunner(flat)
    np.testing.assert_allclose(run(latents), expected, atol=1e-5)
    np.testing.assert_allclose(run(latents[:1]), expected[:1], atol=1e-5)  # batch size changes
    chunked = deploy.TFLiteRunner(flat, batch_size=2)  # 3 latents: chunks of 2 and 1
    np.testing.assert_allclose(chunked(latents), expected, atol=1e-5)
    small = deploy.export_tflite(directory, optimize=True)
    assert len(small) < len(flat)
    np.testing.assert_allclose(deploy.TFLiteRunner(small)(latents), expected, atol=0.1)
    with pytest.raises(ValueError, match="not both"):
        deploy.export_tflite(directory, optimize=True, half_precision=True)


def test_half_precision_tflite_is_exact_for_float16_weights(codec_model, latents, tmp_path):
    import keras

    decoder = keras.models.clone_model(models.decoder_of(codec_model))
    decoder.set_weights(models.decoder_of(codec_model).get_weights())
    deploy.round_to_half_precision(decoder)  # as the shipped models are
    expected = np.asarray(decoder(latents))
    directory = deploy.export_saved_model(decoder, tmp_path / "decoder16")
    full, half = deploy.export_tflite(directory), deploy.export_tflite(directory, half_precision=True)
    weights = sum(w.size for w in decoder.get_weights())
    assert len(full) - len(half) > 0.75 * 2 * weights  # 2 bytes a weight, less a Dequantize op per tensor
    np.testing.assert_allclose(deploy.TFLiteRunner(half)(latents), expected, atol=1e-5)


def test_keras_halves_round_trip_through_files(codec_model, tmp_path):
    import keras

    path = deploy.save_keras(codec.receiver_of(codec_model), tmp_path / "r" / "receiver.keras")
    receiver = keras.saving.load_model(path, compile=False)
    digits = (np.random.default_rng(2).random((2, 28, 28)) * 255).astype(np.uint8)
    data = codec.compress(digits, codec_model, step=0.5)
    np.testing.assert_array_equal(codec.decompress(data, receiver), codec.decompress(data, codec_model))
    with pytest.raises(ValueError, match="must end in .keras. Received: path="):
        deploy.save_keras(receiver, tmp_path / "receiver.h5")


def test_half_precision_rounds_weights_and_stores_them_losslessly(tmp_path):
    import keras

    autoencoder = models.build_autoencoder(5, filters=4, hidden_units=16, seed=3)
    weights = autoencoder.get_weights()
    assert deploy.round_to_half_precision(autoencoder) is autoencoder
    rounded = autoencoder.get_weights()
    for before, after in zip(weights, rounded):
        assert after.dtype == np.float32
        np.testing.assert_array_equal(after, before.astype(np.float16).astype(np.float32))
        np.testing.assert_allclose(after, before, rtol=2**-11, atol=2**-24)
    assert any(not np.array_equal(a, b) for a, b in zip(weights, rounded))  # rounding did something
    x = (np.random.default_rng(3).random((64, 28, 28, 1)) > 0.8).astype(np.float32)
    codec_model = codec.attach_prior(autoencoder, x)  # prior fitted after rounding: float32, kept exact
    plain = deploy.save_keras(codec_model, tmp_path / "plain.keras")
    half = deploy.save_keras(codec_model, tmp_path / "half.keras", half_precision=True)
    assert half == tmp_path / "half.keras" and not list(tmp_path.glob("*.partial*"))
    network_bytes = 4 * (
        models.encoder_of(codec_model).count_params() + models.decoder_of(codec_model).count_params()
    )
    saved = deploy.size_on_disk(plain) - deploy.size_on_disk(half)
    assert 0.45 * network_bytes < saved < 0.55 * network_bytes  # 2 of 4 bytes per weight, give or take HDF5
    loaded = keras.saving.load_model(half, compile=False)
    for expected, got in zip(codec_model.get_weights(), loaded.get_weights()):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    assert codec.model_id(loaded) == codec.model_id(codec_model)
    digits = (np.random.default_rng(4).random((3, 28, 28)) * 255).astype(np.uint8)
    blob = codec.compress(digits, codec_model, step=0.5)
    np.testing.assert_array_equal(codec.decompress(blob, loaded), codec.decompress(blob, codec_model))


def test_half_precision_refuses_what_float16_cannot_hold_and_never_leaves_half_a_file(tmp_path, monkeypatch):
    import keras

    network = models.build_decoder(3, filters=2, hidden_units=4)
    kernel = network.get_layer("dense1").kernel
    kernel.assign(np.full(kernel.shape, 1e5, np.float32))
    with pytest.raises(ValueError, match="dense1.*does not fit in float16.*largest magnitude 100000"):
        deploy.round_to_half_precision(network)
    with pytest.raises(ValueError, match="must end in .keras. Received: path="):
        deploy.save_keras(network, tmp_path / "decoder.h5", half_precision=True)
    path = tmp_path / "decoder.keras"
    path.write_bytes(b"previous file")

    def fail(partial):
        raise OSError(f"{partial}: disk full")

    monkeypatch.setattr(deploy, "_store_exact_float16", fail)
    with pytest.raises(OSError, match="disk full"):
        deploy.save_keras(network, path, half_precision=True)
    assert path.read_bytes() == b"previous file" and list(tmp_path.iterdir()) == [path]
    monkeypatch.undo()
    deploy.save_keras(network, path, half_precision=True)  # 1e5 is not exact in float16: stays float32
    np.testing.assert_array_equal(keras.saving.load_model(path).get_layer("dense1").kernel.numpy(), 1e5)


def test_errors_and_timing(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a SavedModel directory"):
        deploy.load_saved_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        deploy.size_on_disk(tmp_path / "missing")
    with pytest.raises(ValueError, match="bytes of a .tflite file"):
        deploy.TFLiteRunner(b"")
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        deploy.TFLiteRunner(b"12345678", batch_size=0)
    calls = []
    seconds = deploy.seconds_per_call(calls.append, 1, repeats=5, warmup=2)
    assert len(calls) == 7 and seconds >= 0
    with pytest.raises(ValueError, match="Received: repeats=0"):
        deploy.seconds_per_call(calls.append, 1, repeats=0)


def test_run_program_measures_the_child_not_the_parent(tmp_path):
    import sys

    tiny = deploy.run_program([sys.executable, "-c", "print('hi')"], cwd=tmp_path)
    big = deploy.run_program([sys.executable, "-c", "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])"])
    failing = deploy.run_program([sys.executable, "-c", "import sys; sys.exit('no')"])
    assert (tiny.returncode, tiny.stdout.strip(), big.returncode) == (0, "hi", 0)
    if sys.platform.startswith("linux"):
        # This test process holds TensorFlow (hundreds of MB): a forked child must not count it.
        assert tiny.peak_mb < 100 and big.peak_mb > 300
    assert failing.returncode == 1 and "no" in failing.stderr and tiny.seconds > 0
