"""cae_lib.layers.LatentPrior: fitting, decorrelation, serialisation and bad arguments."""

import numpy as np
import pytest

from cae_lib import layers


def test_latent_prior_fit_and_serialisation(tmp_path):
    import keras

    prior = layers.LatentPrior(decorrelate=False, name="p")
    z = np.random.default_rng(3).normal(1.0, 2.0, (5000, 3))
    prior.fit(z)
    np.testing.assert_allclose(prior.loc_values, 1.0, atol=0.1)
    np.testing.assert_allclose(prior.scale_values, 2.0, atol=0.1)
    np.testing.assert_array_equal(prior.rotation_values, np.eye(3))
    config = prior.get_config()
    assert config["decorrelate"] is False and config["name"] == "p"
    inputs = keras.Input((3,))
    model = keras.Model(inputs, prior(inputs))
    model.save(tmp_path / "p.keras")
    loaded = keras.saving.load_model(tmp_path / "p.keras").get_layer("p")
    assert isinstance(loaded, layers.LatentPrior) and loaded.decorrelate is False
    np.testing.assert_array_equal(loaded.scale_values, prior.scale_values)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)  # identity in the forward pass


def test_decorrelating_prior_finds_the_principal_axes():
    rng = np.random.default_rng(4)
    # Two strongly correlated latents: z1 = z0 + small noise, plus an independent one.
    z0 = rng.normal(0, 3.0, 20000)
    z = np.column_stack([z0, z0 + rng.normal(0, 0.3, 20000), rng.normal(5, 1.0, 20000)])
    prior = layers.LatentPrior()
    prior.fit(z)
    rotation = prior.rotation_values
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-6)  # orthonormal
    y = prior.to_coordinates(z)
    assert abs(np.corrcoef(y, rowvar=False)[0, 1]) < 0.01  # decorrelated
    # Scales: the shared direction has std ~ 3*sqrt(2), the independent one 1, the difference 0.3/sqrt(2).
    np.testing.assert_allclose(prior.scale_values, [3 * np.sqrt(2), 1.0, 0.3 / np.sqrt(2)], rtol=0.03)
    np.testing.assert_allclose(prior.from_coordinates(y), z, atol=1e-4)
    # The product of the scales (the volume a quantiser must cover) shrinks: fewer bits at the same step.
    assert np.prod(prior.scale_values) < 0.2 * np.prod(z.std(axis=0))


def test_latent_prior_bad_arguments():
    with pytest.raises(ValueError, match="Received: decorrelate='yes'"):
        layers.LatentPrior(decorrelate="yes")
    with pytest.raises(ValueError, match="Received: min_scale=0"):
        layers.LatentPrior(min_scale=0)
    with pytest.raises(ValueError, match="Received: shape=\\(5,\\)"):
        layers.LatentPrior().fit(np.zeros(5))
    prior = layers.LatentPrior()
    prior.fit(np.zeros((4, 2)) + np.arange(4)[:, None])
    with pytest.raises(ValueError, match="has 3 dimensions but the prior has 2"):
        prior.fit(np.zeros((4, 3)))
