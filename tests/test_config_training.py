"""cae_lib.config (quick mode, data folder) and cae_lib.training."""

import numpy as np
import pytest

from cae_lib import config, models, training


@pytest.mark.parametrize(
    "value,expected",
    [("1", True), ("true", True), ("ON", True), ("0", False), ("", False), ("no", False)],
)
def test_quick_mode_reads_env(monkeypatch, value, expected):
    monkeypatch.setenv(config.QUICK_ENV, value)
    assert config.quick_mode() is expected


def test_quick_mode_rejects_nonsense(monkeypatch):
    monkeypatch.setenv(config.QUICK_ENV, "maybe")
    with pytest.raises(ValueError, match="CAE_QUICK=.maybe."):
        config.quick_mode()


def test_training_budget():
    full = config.training_budget(20, quick=False)
    assert (full.train_size, full.epochs, full.quick) == (None, 20, False)
    quick = config.training_budget(20, quick=True)
    assert (quick.train_size, quick.epochs) == (config.QUICK_TRAIN_SIZE, config.QUICK_EPOCHS)
    assert config.training_budget(20, train_size=100, quick=True).train_size == 100
    assert "quick mode" in quick.describe(60_000)


def test_data_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))
    assert config.data_dir_from_env() == tmp_path
    monkeypatch.setenv(config.DATA_DIR_ENV, "  ")
    assert config.data_dir_from_env() is None


def _tiny_data(n=256):
    rng = np.random.default_rng(0)
    x = np.zeros((n, 28, 28, 1), np.float32)
    for i in range(n):  # simple bright squares at random places: learnable
        r, c = rng.integers(0, 20, 2)
        x[i, r : r + 8, c : c + 8] = 1.0
    return x


def _tiny_model():
    return models.build_autoencoder(4, filters=4, hidden_units=16)


def test_training_lowers_the_loss_and_is_seeded():
    x = _tiny_data()
    h1 = training.train_autoencoder(_tiny_model(), x, x_val=x[:32], epochs=3, quick=False, verbose=0, seed=3)
    assert len(h1.history["loss"]) == 3 and len(h1.history["val_loss"]) == 3
    assert h1.history["loss"][-1] < h1.history["loss"][0]
    assert h1.params["seconds"] > 0
    h2 = training.train_autoencoder(_tiny_model(), x, x_val=x[:32], epochs=3, quick=False, verbose=0, seed=3)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)


def test_quick_mode_shrinks_training(monkeypatch, capsys):
    monkeypatch.setattr(config, "QUICK_TRAIN_SIZE", 64)
    x = _tiny_data(200)
    history = training.train_autoencoder(_tiny_model(), x, epochs=5, quick=True, verbose=0, batch_size=32)
    assert len(history.history["loss"]) == config.QUICK_EPOCHS
    assert history.params["steps"] == 2  # 64 images / batch 32
    assert "quick mode" in capsys.readouterr().out


def test_training_rejects_bad_types_and_shapes():
    model = _tiny_model()
    with pytest.raises(
        ValueError, match=r"`x_train` must be one image \(28, 28\).*Received: shape=\(4, 27, 27\)"
    ):
        training.train_autoencoder(model, np.zeros((4, 27, 27), np.uint8), quick=False)
    with pytest.raises(ValueError, match=r"float `x_train` must lie in \[0, 1\].*max=255.0"):
        training.train_autoencoder(model, np.full((4, 28, 28), 255.0, np.float32), quick=False)
    with pytest.raises(TypeError, match="dtype=int64"):
        training.train_autoencoder(model, np.zeros((4, 28, 28, 1), np.int64), quick=False)
    with pytest.raises(ValueError, match=r"`x_val` must be.*shape=\(4, 28\)"):
        training.train_autoencoder(
            model, np.zeros((4, 28, 28, 1), np.float32), x_val=np.zeros((4, 28)), quick=False
        )


def test_training_takes_digits_in_every_form_the_codec_takes():
    """uint8 with a channel axis and floats without one go through the same normaliser as elsewhere."""
    x, transform = training._training_images(np.zeros((3, 28, 28, 1), np.uint8), "x")
    assert x.shape == (3, 28, 28, 1) and transform is not None
    x, transform = training._training_images(np.zeros((3, 28, 28), np.float32), "x")
    assert x.shape == (3, 28, 28, 1) and transform is None


def test_uint8_digits_train_exactly_like_their_float_copy():
    x = _tiny_data(96)  # values 0 and 1 only: uint8 0/255 scales back to the same floats
    pixels = (x[..., 0] * 255).astype(np.uint8)
    kwargs = dict(epochs=2, quick=False, verbose=0, seed=5, batch_size=32)
    from_float = training.train_autoencoder(_tiny_model(), x, x_val=x[:32], **kwargs)
    from_uint8 = training.train_autoencoder(_tiny_model(), pixels, x_val=pixels[:32], **kwargs)
    np.testing.assert_allclose(from_uint8.history["loss"], from_float.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(from_uint8.history["val_loss"], from_float.history["val_loss"], rtol=1e-6)
    mixed = training.train_autoencoder(
        _tiny_model(), pixels, x_val=x[:32], **kwargs
    )  # each form scaled on its own
    np.testing.assert_allclose(mixed.history["val_loss"], from_float.history["val_loss"], rtol=1e-6)


def test_array_batches_apply_the_transform_to_inputs_and_autoencoder_targets():
    x = np.arange(6, dtype=np.uint8)
    batches = training.ArrayBatches(x, batch_size=4, shuffle=False, transform=lambda b: b * 2.0)
    inputs, targets = batches[0]
    np.testing.assert_array_equal(inputs, [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_array_equal(targets, inputs)
    with pytest.raises(ValueError, match="transform=3"):
        training.ArrayBatches(x, transform=3)


def test_reconstruct_shape():
    x = _tiny_data(10)
    assert training.predict_in_batches(_tiny_model(), x, batch_size=4).shape == (10, 28, 28, 1)


def test_denoising_training_adds_noise_only_while_training():
    x = _tiny_data(128)
    model = _tiny_model()
    history = training.train_autoencoder(model, x, epochs=2, quick=False, verbose=0, input_noise=0.3)
    assert len(history.history["loss"]) == 2
    # The trained model itself has no noise layer: inference is deterministic.
    np.testing.assert_array_equal(model.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0))
    assert all("noise" not in layer.name for layer in model.layers)


def test_schedule_and_noise_arguments_are_checked():
    with pytest.raises(ValueError, match="Received: schedule='linear'"):
        training.train_autoencoder(_tiny_model(), _tiny_data(8), schedule="linear", quick=False)
    with pytest.raises(ValueError, match="Received: input_noise=-1"):
        training.train_autoencoder(_tiny_model(), _tiny_data(8), input_noise=-1, quick=False)


def test_constant_schedule_trains_too():
    h = training.train_autoencoder(
        _tiny_model(), _tiny_data(64), epochs=1, schedule="constant", quick=False, verbose=0
    )
    assert np.isfinite(h.history["loss"][0])


def test_classifier_accuracy_and_agreement_on_a_separable_toy_problem():
    rng = np.random.default_rng(0)
    # Class = which quadrant holds the bright square (4 classes): trivially learnable.
    x = np.zeros((400, 28, 28, 1), np.float32)
    y = rng.integers(0, 4, 400)
    for i, c in enumerate(y):
        r, col = (c // 2) * 14 + 3, (c % 2) * 14 + 3
        x[i, r : r + 8, col : col + 8] = 1.0
    clf = models.build_digit_classifier()
    training.train_digit_classifier(clf, x, y, epochs=3, quick=False, verbose=0)
    assert training.accuracy(clf, x, y) > 0.95
    assert training.agreement(clf, x, x) == 1.0
    flipped = x[:, ::-1]  # moves the square to the other half: labels change
    assert training.agreement(clf, x, flipped) < 0.6
    with pytest.raises(ValueError, match="same length"):
        training.agreement(clf, x[:3], x[:4])
    # uint8 digits as loaded train the same classifier as their float copy
    pixels = (x[..., 0] * 255).astype(np.uint8)
    h_float = training.train_digit_classifier(
        models.build_digit_classifier(), x, y, epochs=1, quick=False, verbose=0
    )
    h_uint8 = training.train_digit_classifier(
        models.build_digit_classifier(), pixels, y, epochs=1, quick=False, verbose=0
    )
    np.testing.assert_allclose(h_uint8.history["loss"], h_float.history["loss"], rtol=1e-6)


def test_array_batches_cover_every_item_once_per_epoch_in_a_new_order():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    batches = training.ArrayBatches(x, batch_size=4, seed=1)
    assert len(batches) == 3
    first = [batches[i] for i in range(3)]
    assert [len(inputs) for inputs, _ in first] == [4, 4, 2]
    for inputs, targets in first:  # an autoencoder's batch is its own target
        np.testing.assert_array_equal(inputs, targets)
    epoch1 = np.concatenate([inputs for inputs, _ in first]).ravel()
    assert sorted(epoch1) == list(range(10))
    batches.on_epoch_end()
    epoch2 = np.concatenate([batches[i][0] for i in range(3)]).ravel()
    assert sorted(epoch2) == list(range(10)) and not np.array_equal(epoch1, epoch2)
    again = training.ArrayBatches(x, batch_size=4, seed=1)  # same seed, same order
    np.testing.assert_array_equal(np.concatenate([again[i][0] for i in range(3)]).ravel(), epoch1)
    with pytest.raises(IndexError):
        batches[3]


def test_array_batches_pair_labels_and_keep_order_without_shuffle():
    x = np.arange(5, dtype=np.float32)
    y = 10 * np.arange(5)
    batches = training.ArrayBatches(x, y, batch_size=2, shuffle=True, seed=0)
    for i in range(len(batches)):
        inputs, labels = batches[i]
        np.testing.assert_array_equal(labels, 10 * inputs)
    ordered = training.ArrayBatches(x, batch_size=2, shuffle=False)
    np.testing.assert_array_equal(ordered[0][0], [0, 1])
    np.testing.assert_array_equal(ordered[2][0], [4])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(x=np.zeros(3), y=np.zeros(4)), "same length"),
        (dict(x=np.zeros(3), batch_size=0), "batch_size=0"),
        (dict(x=np.zeros(3), batch_size=2.5), "batch_size=2.5"),
        (dict(x=np.zeros(0)), "len\\(x\\)=0"),
    ],
)
def test_array_batches_reject_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.ArrayBatches(**kwargs)


def test_predict_in_batches_matches_keras_predict_in_order():
    model = _tiny_model()
    x = _tiny_data(70)
    expected = model.predict(x, batch_size=16, verbose=0)
    for batch_size in (16, 70, 100):  # several batches with a short last one; one direct call
        got = training.predict_in_batches(model, x, batch_size=batch_size)
        assert got.shape == (70, 28, 28, 1)
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_predict_in_batches_rejects_a_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size=0"):
        training.predict_in_batches(_tiny_model(), _tiny_data(4), batch_size=0)


def test_repository_text_reads_the_checkout_or_downloads_from_the_configured_repository(monkeypatch, tmp_path):
    import io
    import urllib.request

    from cae_lib import config

    assert config.repository_url() == "https://github.com/cae-course/cae-course"  # pyproject's [project.urls]
    assert "rate term" in config.repository_text("benchmarks/results/rate_ablation.md")
    # An install without the repository around it (Colab): fetched from GitHub's raw files, or None offline.
    monkeypatch.setattr(config, "REPOSITORY_ROOT", tmp_path)
    asked = []

    def fake_urlopen(url, timeout):
        asked.append(url)
        return io.BytesIO(b"fetched")

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    assert config.repository_text("benchmarks/results/x.md") == "fetched"
    assert asked == ["https://raw.githubusercontent.com/cae-course/cae-course/main/benchmarks/results/x.md"]

    def offline(url, timeout):
        raise OSError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert config.repository_text("benchmarks/results/x.md") is None


def test_a_warm_start_copies_a_trained_models_networks_and_refuses_other_shapes(capsys):
    from cae_lib import models, pretrained, training

    shipped = pretrained.load_pretrained(28)
    model = models.build_autoencoder(28)
    assert training.warm_start(model, shipped)
    for part in ("encoder", "decoder"):
        for mine, theirs in zip(model.get_layer(part).get_weights(), shipped.get_layer(part).get_weights()):
            assert np.array_equal(mine, theirs)
    assert "Warm start" in capsys.readouterr().out
    assert training.warm_start(models.build_autoencoder(28, latent_l1=1e-3), shipped, verbose=False)
    assert capsys.readouterr().out == ""  # a success is silent when asked; a refusal below always speaks

    other = models.build_autoencoder(8)
    before = [w.copy() for w in other.get_weights()]
    assert not training.warm_start(other, shipped, verbose=False)
    assert "differ in shape" in capsys.readouterr().out
    assert all(np.array_equal(a, b) for a, b in zip(before, other.get_weights()))  # nothing half copied
