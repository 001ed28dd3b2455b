"""cae_lib.models: shapes, parameter counts, the nested encoder/decoder, save/load."""

import keras
import numpy as np
import pytest

from cae_lib import models


def test_default_shapes():
    model = models.build_autoencoder()
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 28, 28, 1)
    assert models.encoder_of(model).output_shape == (None, 28)
    assert models.decoder_of(model).input_shape == (None, 28)
    assert models.latent_dim_of(model) == 28


def test_parameter_counts_by_hand():
    # encoder: conv1 3*3*1*16+16, conv2 3*3*16*32+32, conv3 3*3*32*16+16,
    #          dense1 (7*7*16)*128+128, latent 128*28+28
    enc = models.build_encoder()
    assert enc.count_params() == 160 + 4640 + 4624 + 100480 + 3612 == 113516
    # decoder: dense1 28*128+128, dense2 128*784+784, deconv1 3*3*16*32+32,
    #          deconv2 3*3*32*16+16, pixels 3*3*16+1
    dec = models.build_decoder()
    assert dec.count_params() == 3712 + 101136 + 4640 + 4624 + 145 == 114257


def test_layer_sequence_follows_the_seed():
    enc_types = [type(layer).__name__ for layer in models.build_encoder().layers[1:]]
    assert enc_types == ["Conv2D", "ReLU", "Conv2D", "Conv2D", "Flatten", "Dense", "Dense"]
    dec_types = [type(layer).__name__ for layer in models.build_decoder().layers[1:]]
    assert dec_types == [
        "Dense",
        "Dense",
        "Reshape",
        "Conv2DTranspose",
        "Conv2DTranspose",
        "ReLU",
        "Conv2D",
    ]


@pytest.mark.parametrize("latent_dim", [2, 8, 64])
def test_latent_dim_and_width_are_arguments(latent_dim):
    model = models.build_autoencoder(latent_dim, filters=8, hidden_units=32)
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    z = models.encoder_of(model).predict(x, verbose=0)
    assert z.shape == (3, latent_dim)
    y = model.predict(x, verbose=0)
    assert y.shape == (3, 28, 28, 1) and 0.0 <= y.min() and y.max() <= 1.0
    assert models.encoder_of(model).get_layer("conv1").filters == 8


def test_autoencoder_shares_weights_with_its_parts():
    model = models.build_autoencoder(4, filters=4, hidden_units=8)
    x = np.random.default_rng(1).random((2, 28, 28, 1), dtype=np.float32)
    direct = model.predict(x, verbose=0)
    in_two_steps = models.decoder_of(model).predict(
        models.encoder_of(model).predict(x, verbose=0), verbose=0
    )
    np.testing.assert_allclose(direct, in_two_steps, atol=1e-6)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "28", True])
def test_bad_arguments_raise(bad):
    with pytest.raises(ValueError, match=r"Received: latent_dim="):
        models.build_autoencoder(bad)
    with pytest.raises(ValueError, match=r"Received: filters="):
        models.build_encoder(filters=bad)


def test_save_and_load_round_trip(tmp_path):
    model = models.build_autoencoder(6, filters=4, hidden_units=16)
    x = np.random.default_rng(2).random((4, 28, 28, 1), dtype=np.float32)
    before = model.predict(x, verbose=0)
    path = tmp_path / "ae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), before)
    assert models.latent_dim_of(loaded) == 6
    # The parts survive too, so a receiver can keep only the decoder.
    models.decoder_of(loaded).save(tmp_path / "decoder.keras")
    decoder = keras.saving.load_model(tmp_path / "decoder.keras")
    z = models.encoder_of(model).predict(x, verbose=0)
    np.testing.assert_array_equal(
        decoder.predict(z, verbose=0), models.decoder_of(model).predict(z, verbose=0)
    )
