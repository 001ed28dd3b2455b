"""The latent explorer, driven headless: set sliders, click the button, check what it shows."""

import io

import numpy as np
import pytest
from PIL import Image

from cae_lib import codec, metrics, pretrained, widgets

DIMS = [d for d in (8, 28) if d in pretrained.available_latent_dims()]


@pytest.fixture(scope="module")
def digits(mnist):
    _, (x_test, _) = mnist
    return x_test[:60]


@pytest.fixture(scope="module")
def explorer(digits):
    return widgets.LatentExplorer(digits, latent_dims=DIMS, steps=(0.5, 1.0), n_digits=4, reference_size=20)


def expected(digits, latent_dim, step):
    """What the explorer should show, computed independently with the codec and the metrics."""
    model = pretrained.load_pretrained(latent_dim)
    if step == widgets.FLOAT:
        decoded = codec.decode_latents(codec.encode_latents(digits, model), model)
        size = 4.0 * latent_dim
    else:
        blob = codec.compress(digits, model, step=step)
        decoded = codec.decompress(blob, model)
        size = len(blob) / len(digits)
    return (
        metrics.mean_psnr(digits, decoded, data_range=255),
        metrics.mean_ssim(digits, decoded, data_range=255),
        size,
    )


def check_matches(explorer, digits):
    f = explorer.figures
    psnr, ssim, size = expected(digits[list(f.indices)], f.latent_dim, explorer.step_slider.value)
    assert f.mean_psnr_db == pytest.approx(psnr, abs=1e-4)
    assert f.mean_ssim == pytest.approx(ssim, abs=1e-5)
    assert f.bytes_per_digit == pytest.approx(size)
    assert f.compression_ratio == pytest.approx(784 / size)
    assert f"{psnr:.2f} dB" in explorer.stats.value  # the rendered text shows the same figure


def test_starts_on_the_default_model_with_real_file_sizes(explorer, digits):
    f = explorer.figures
    assert (f.latent_dim, f.quantisation, f.indices) == (28, "step 1", (0, 1, 2, 3))
    assert f.file_bytes == len(codec.compress(digits[:4], pretrained.load_pretrained(28), step=1.0))
    check_matches(explorer, digits)
    picture = Image.open(io.BytesIO(explorer.image.value))
    assert picture.format == "PNG" and picture.width > 4 * 28 * 3
    assert Image.open(io.BytesIO(explorer.curve_image.value)).format == "PNG"


def test_latent_slider_changes_the_figures(explorer, digits):
    before, picture = explorer.figures, explorer.image.value
    explorer.latent_slider.value = DIMS[0]
    after = explorer.figures
    assert after.latent_dim == DIMS[0] and after.mean_psnr_db != before.mean_psnr_db
    assert explorer.image.value != picture
    check_matches(explorer, digits)
    explorer.latent_slider.value = 28


def test_quantisation_slider_float_shows_the_honest_float_size(explorer, digits):
    explorer.step_slider.value = widgets.FLOAT
    f = explorer.figures
    assert f.file_bytes is None and f.bytes_per_digit == 4 * 28
    assert "not a file" in explorer.stats.value
    check_matches(explorer, digits)
    explorer.step_slider.value = 0.5
    assert explorer.figures.file_bytes is not None
    check_matches(explorer, digits)
    explorer.step_slider.value = 1.0


def test_index_slider_and_random_button_pick_new_digits(explorer, digits):
    explorer.index_slider.value = 10
    assert explorer.figures.indices == (10, 11, 12, 13)
    check_matches(explorer, digits)
    shown = explorer.figures.indices
    explorer.random_button.click()
    assert explorer.figures.indices != shown and len(set(explorer.figures.indices)) == 4
    check_matches(explorer, digits)


def test_sweep_curve_covers_every_setting(explorer):
    assert set(explorer.curve) == {widgets.FLOAT, 0.5, 1.0}
    for step, rows in explorer.curve.items():
        assert [r[0] for r in rows] == DIMS
        assert all(np.isfinite(r[2]) for r in rows)
    # Coarser quantisation: fewer bytes than the finer step, at every latent size.
    for (_, fine, _), (_, coarse, _) in zip(explorer.curve[0.5], explorer.curve[1.0]):
        assert coarse < fine


def test_bad_arguments_are_refused(digits):
    with pytest.raises(ValueError, match="Received: dtype=float64"):
        widgets.LatentExplorer(digits.astype(np.float64), latent_dims=DIMS)
    with pytest.raises(ValueError, match="Received: n_digits=0"):
        widgets.LatentExplorer(digits, latent_dims=DIMS, n_digits=0)
    with pytest.raises(ValueError, match="steps must be positive"):
        widgets.LatentExplorer(digits, latent_dims=DIMS, steps=(0.0,))
    with pytest.raises(pretrained.PretrainedModelError, match="latent_dim=5"):
        widgets.LatentExplorer(digits, latent_dims=[5])


def test_digit_mosaic():
    a = np.zeros((3, 28, 28), np.uint8)
    b = np.full((3, 28, 28), 255, np.uint8)
    picture = Image.open(io.BytesIO(widgets.digit_mosaic(a, b, titles=["x", "y", "z"], zoom=2)))
    assert picture.size == (64 + 3 * (56 + 2), 3 * (56 + 12))
    pixels = np.asarray(picture.convert("RGB"))
    assert tuple(pixels[12 + 10, 64 + 10]) == (0, 0, 0)  # an original: black
    assert tuple(pixels[2 * 68 + 12 + 10, 64 + 10])[0] > 100  # error +255: red
    with pytest.raises(ValueError, match="same shape"):
        widgets.digit_mosaic(a, b[:2])
