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
    #          dense1 (7*7*16)*256+256, latent 256*28+28
    enc = models.build_encoder()
    assert enc.count_params() == 160 + 4640 + 4624 + 200960 + 7196 == 217580
    # decoder: dense1 28*256+256, dense2 256*784+784, deconv1 3*3*16*32+32,
    #          deconv2 3*3*32*16+16, pixels 3*3*16+1
    dec = models.build_decoder()
    assert dec.count_params() == 7424 + 201488 + 4640 + 4624 + 145 == 218321


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
    in_two_steps = models.decoder_of(model).predict(models.encoder_of(model).predict(x, verbose=0), verbose=0)
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


def test_regularisers_add_to_the_loss():
    plain = models.build_autoencoder(4, filters=4, hidden_units=8)
    assert plain.losses == []
    regular = models.build_autoencoder(4, filters=4, hidden_units=8, weight_decay=1e-3, latent_l1=1e-2)
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    regular(x, training=True)
    # 10 kernels carry an L2 penalty; the latent carries an L1 activity penalty.
    assert len(regular.losses) == 11
    assert all(float(v) > 0 for v in regular.losses)
    with pytest.raises(ValueError, match="Received: weight_decay=-1"):
        models.build_autoencoder(weight_decay=-1)
    with pytest.raises(ValueError, match="Received: latent_l1='x'"):
        models.build_autoencoder(latent_l1="x")


def test_pca_autoencoder_reconstructs_in_its_subspace():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(3, 784))
    x = (
        np.clip(0.5 + 0.05 * rng.normal(size=(500, 3)) @ basis, 0, 1)
        .astype(np.float32)
        .reshape(-1, 28, 28, 1)
    )
    pca = models.build_pca_autoencoder(x, 3)
    assert models.latent_dim_of(pca) == 3
    # Data that lives in a 3-D subspace (before clipping) comes back almost exactly.
    np.testing.assert_allclose(pca.predict(x, verbose=0), x, atol=0.02)
    with pytest.raises(ValueError, match="Received: n_components=785"):
        models.build_pca_autoencoder(x, 785)


def test_digit_classifier_shape():
    clf = models.build_digit_classifier()
    out = clf.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_describe_layers_matches_keras():
    enc = models.build_encoder()
    rows = models.describe_layers(enc)
    assert [r["name"] for r in rows] == [
        "image",
        "conv1",
        "relu",
        "conv2",
        "conv3",
        "flatten",
        "dense1",
        "latent",
    ]
    assert rows[1] == {"name": "conv1", "type": "Conv2D", "output_shape": (14, 14, 16), "parameters": 160}
    assert rows[5]["output_shape"] == (784,)
    assert sum(r["parameters"] for r in rows) == enc.count_params()


def test_plotting_helpers_draw_the_right_number_of_panels():
    import matplotlib

    matplotlib.use("Agg")
    from cae_lib import plotting

    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    fig = plotting.show_reconstructions(x, x * 0.5, titles=list("abcd"))
    assert len(fig.axes) == 12 and fig.axes[0].get_title() == "a"
    fig = plotting.show_image_grid(
        [[x[0], x[1]], [x[2]]], row_labels=["r1", "r2"], col_labels=["c1", "c2"], symmetric=True
    )
    assert len(fig.axes) == 4
    fig = plotting.show_digits((x[:3, ..., 0] * 255).astype(np.uint8), titles=["1", "2", "3"])
    assert [ax.get_title() for ax in fig.axes[:3]] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="0 images"):
        plotting.show_digits([])
