"""The latent explorer, driven headless: set sliders, click the button, check what it shows.

The rate-aware tests need shipped rate-aware models (``pretrained.available_models(kind="rate")``)
and are skipped without them; the explorer without them is tested on its own.
"""

import io

import numpy as np
import pytest
from PIL import Image

from cae_lib import codec, metrics, pretrained, widgets

DIMS = [d for d in (8, 28) if d in pretrained.available_latent_dims()]
RATE_MODELS = pretrained.available_models(kind="rate")
needs_rate_models = pytest.mark.skipif(not RATE_MODELS, reason="no rate-aware models shipped")


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


@pytest.fixture
def rate_explorer(digits):
    """A fresh explorer with every shipped rate-aware model (models load lazily, so it starts fast)."""
    return widgets.LatentExplorer(digits, latent_dims=DIMS, steps=(0.5, 1.0), n_digits=4, reference_size=20)


def check_rate_matches(explorer, digits, name):
    """The readout of a rate-aware model equals what codec.measure gives for it on the same digits."""
    f, step = explorer.figures, explorer.step_slider.value
    assert (f.family, f.model, explorer.family.value) == (widgets.RATE, name, widgets.RATE)
    assert f.latent_dim == pretrained.model_info(name)["latent_dim"]
    m = codec.measure(digits[list(f.indices)], pretrained.load_pretrained(name), step=step)
    assert f.file_bytes == m.total_bytes
    assert f.bytes_per_digit == pytest.approx(m.bytes_per_image)
    assert f.compression_ratio == pytest.approx(784 / m.bytes_per_image)
    assert f.mean_psnr_db == pytest.approx(m.mean_psnr_db, abs=1e-4)
    assert f.mean_ssim == pytest.approx(m.mean_ssim, abs=1e-5)
    assert f"{m.mean_psnr_db:.2f} dB" in explorer.stats.value and name in explorer.stats.value
    assert f"a real .cae file of {m.total_bytes} bytes" in explorer.stats.value
    assert codec.model_id(explorer.models[name]) == codec.model_id(pretrained.load_pretrained(name))


@needs_rate_models
def test_quality_slider_lists_exactly_the_shipped_rate_models_lazily(rate_explorer):
    slider = rate_explorer.quality_slider
    assert [value for _, value in slider.options] == RATE_MODELS
    labels = [label for label, _ in slider.options]
    lambdas = [pretrained.model_info(name)["lambda"] for name in RATE_MODELS]
    assert all(f"lambda {lmbda:g}" in label for label, lmbda in zip(labels, lambdas))
    assert lambdas == sorted(lambdas, reverse=True)  # coarse to fine
    if len(RATE_MODELS) > 1:
        assert labels[0].endswith("(coarse)") and labels[-1].endswith("(fine)")
    assert [value for _, value in rate_explorer.family.options] == [widgets.AUTOENCODER, widgets.RATE]
    # Started on the autoencoders: no rate-aware model loaded or measured yet.
    assert rate_explorer.figures.family == widgets.AUTOENCODER
    assert not any(isinstance(key, str) for key in rate_explorer.models) and rate_explorer.rate_curve == {}


@needs_rate_models
def test_quality_slider_shows_each_rate_model_as_codec_measure_does(rate_explorer, digits):
    before = rate_explorer.figures
    # The family control alone switches to the quality slider's model.
    rate_explorer.family.value = widgets.RATE
    check_rate_matches(rate_explorer, digits, rate_explorer.quality_slider.value)
    assert rate_explorer.figures.mean_psnr_db != before.mean_psnr_db
    shown = {}
    for name in reversed(RATE_MODELS):
        rate_explorer.quality_slider.value = name
        check_rate_matches(rate_explorer, digits, name)
        shown[name] = rate_explorer.figures.bytes_per_digit
    if len(RATE_MODELS) > 1:  # a larger lambda pays fewer bits: the coarsest file is smaller than the finest
        assert shown[RATE_MODELS[0]] < shown[RATE_MODELS[-1]]
    # The step slider works for the rate-aware models too, float32 included.
    rate_explorer.step_slider.value = 0.5
    check_rate_matches(rate_explorer, digits, RATE_MODELS[0])
    rate_explorer.index_slider.value = 7
    assert rate_explorer.figures.indices == (7, 8, 9, 10)
    check_rate_matches(rate_explorer, digits, RATE_MODELS[0])
    rate_explorer.step_slider.value = widgets.FLOAT
    f, latent_dim = rate_explorer.figures, pretrained.model_info(RATE_MODELS[0])["latent_dim"]
    assert f.file_bytes is None and f.bytes_per_digit == 4 * latent_dim
    assert "not a file" in rate_explorer.stats.value


@needs_rate_models
def test_rate_curve_is_measured_with_codec_measure_on_the_reference_digits(rate_explorer):
    picture = rate_explorer.curve_image.value
    rate_explorer.family.value = widgets.RATE
    assert rate_explorer.curve_image.value != picture
    assert set(rate_explorer.rate_curve) == {1.0}  # only the step shown so far
    rows = rate_explorer.rate_curve[1.0]
    assert [r[0] for r in rows] == RATE_MODELS
    name = rate_explorer.quality_slider.value
    m = codec.measure(rate_explorer.reference, pretrained.load_pretrained(name), step=1.0)
    _, size, psnr = next(r for r in rows if r[0] == name)
    assert size == pytest.approx(m.bytes_per_image) and psnr == pytest.approx(m.mean_psnr_db, abs=1e-4)
    assert Image.open(io.BytesIO(rate_explorer.curve_image.value)).format == "PNG"


@needs_rate_models
def test_back_to_the_autoencoders_restores_the_latent_size_behaviour(rate_explorer, digits):
    start, slider = rate_explorer.figures, rate_explorer.quality_slider
    other = [name for name in RATE_MODELS if name != slider.value]
    if other:  # moving the quality slider selects its family
        slider.value = other[0]
    else:  # one rate-aware model: the slider cannot move
        rate_explorer.family.value = widgets.RATE
    assert rate_explorer.family.value == widgets.RATE
    check_rate_matches(rate_explorer, digits, slider.value)
    rate_explorer.family.value = widgets.AUTOENCODER
    f = rate_explorer.figures
    assert (f.family, f.model, f.latent_dim) == (widgets.AUTOENCODER, "ae_latent28", 28)
    assert (f.mean_psnr_db, f.file_bytes) == (start.mean_psnr_db, start.file_bytes)
    check_matches(rate_explorer, digits)
    assert "latent size 28, step 1" in rate_explorer.stats.value
    rate_explorer.family.value = widgets.RATE
    rate_explorer.latent_slider.value = DIMS[0]  # moving the latent-size slider selects the autoencoders
    f = rate_explorer.figures
    assert (rate_explorer.family.value, f.family, f.latent_dim) == (widgets.AUTOENCODER,) * 2 + (DIMS[0],)
    check_matches(rate_explorer, digits)


def test_without_rate_models_only_the_autoencoders_are_offered(digits, monkeypatch):
    import traitlets

    def autoencoders_only(*args, kind=None, **kwargs):
        return [] if kind == "rate" else ["ae_latent08", "ae_latent28"]

    monkeypatch.setattr(pretrained, "available_models", autoencoders_only)
    for explorer in (
        widgets.LatentExplorer(digits, latent_dims=DIMS, steps=(1.0,), n_digits=4, reference_size=10),
        widgets.LatentExplorer(digits, latent_dims=DIMS, rate_models=(), n_digits=4, reference_size=10),
    ):
        assert explorer.quality_slider is None and explorer.rate_models == []
        assert [value for _, value in explorer.family.options] == [widgets.AUTOENCODER]
        assert explorer.family.disabled
        with pytest.raises(traitlets.TraitError):
            explorer.family.value = widgets.RATE
        assert explorer.figures.family == widgets.AUTOENCODER
        check_matches(explorer, digits)
        explorer.latent_slider.value = DIMS[0]
        assert explorer.figures.latent_dim == DIMS[0]
        check_matches(explorer, digits)


def test_bad_arguments_are_refused(digits):
    with pytest.raises(ValueError, match="Received: dtype=float64"):
        widgets.LatentExplorer(digits.astype(np.float64), latent_dims=DIMS)
    with pytest.raises(ValueError, match="Received: n_digits=0"):
        widgets.LatentExplorer(digits, latent_dims=DIMS, n_digits=0)
    with pytest.raises(ValueError, match="steps must be positive"):
        widgets.LatentExplorer(digits, latent_dims=DIMS, steps=(0.0,))
    with pytest.raises(pretrained.PretrainedModelError, match="latent_dim=5"):
        widgets.LatentExplorer(digits, latent_dims=[5])
    with pytest.raises(ValueError, match="rate_models must name rate-aware models. Received: 'ae_latent28'"):
        widgets.LatentExplorer(digits, latent_dims=DIMS, rate_models=["ae_latent28"])
    with pytest.raises(pretrained.PretrainedModelError, match="Unknown pretrained model 'rate_lambda7'"):
        widgets.LatentExplorer(digits, latent_dims=DIMS, rate_models=["rate_lambda7"])


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


@pytest.mark.parametrize(
    ("version", "colab", "noted"), [("7.7.1", False, True), ("7.7.1", True, False), ("8.1.5", False, False)]
)
def test_a_widget_shows_itself_and_says_what_to_do_where_ipywidgets_7_may_not_be_drawn(
    explorer, monkeypatch, capsys, version, colab, noted
):
    """ipywidgets 7 (Colab's) is drawn by Colab, VS Code and Notebook 6, not by JupyterLab 4: one line says so."""
    import sys
    import types

    import IPython.display
    import ipywidgets

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **_: shown.extend(objects))
    monkeypatch.setattr(ipywidgets, "__version__", version)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    explorer._ipython_display_()
    assert shown == [explorer.widget]
    assert (widgets.IPYWIDGETS_7_NOTE in capsys.readouterr().out) is noted


def test_described_images_carry_the_description_ipywidgets_tooltips_read():
    """ipywidgets 8 draws a tooltip from ``description``, which Image lacks: a tooltip on a plain Image left an error
    box in JupyterLab in place of the explorer's pictures (CI, the browser test)."""
    import ipywidgets

    from cae_lib.widgets.display import described_image

    image = described_image(format="png", tooltip="Eight digits.")
    assert isinstance(image, ipywidgets.Image)
    state = image.get_state()
    assert state["description"] == ""
    if (
        int(ipywidgets.__version__.split(".")[0]) >= 8
    ):  # ipywidgets 7 (Colab) has no tooltip trait: nothing to draw
        assert state["tooltip"] == "Eight digits."
