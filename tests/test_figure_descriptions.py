"""Figures that describe themselves (cae_lib.figure_text): each helper's text carries its numbers, IPython puts
the text in the output as the PNG's ``alt`` metadata, and the course site shows it as every image's alt text.

* unit tests: each :mod:`cae_lib.plotting` helper (and ``rd.plot_rate_distortion``) describes its figure with
  the numbers it drew; an undescribed figure gets a text read from it; the printer wrapper returns
  ``(png, {"alt": ...})`` and keeps a retina printer's own metadata;
* a small notebook run through nbclient (no training): every image output carries ``alt`` metadata, for
  figures shown at the end of a cell, by ``plt.show()``, drawn before ``cae_lib`` was imported, and after
  ``%config InlineBackend.figure_formats`` replaced the printers;
* the widgets' pictures say what they show (``tooltip``: a title in JupyterLab, the alt text on the site);
* the built site (``make site``; ``make test`` builds it first): no ``<img>`` on any page has an empty or
  placeholder alt, i.e. every notebook output image carried its description. The check itself is shown to
  fail on a crafted page with an undescribed image. Without ``site/`` the test is skipped, like
  ``tests/test_browser.py``'s, and fails under ``CAE_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import base64
import os
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import fake_digits  # noqa: E402

from cae_lib import figure_text, plotting, rd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
PLACEHOLDERS = {"", "output", "widget image", "image", "no description has been provided for this image"}
"""Alt texts that say nothing: empty, and the placeholders of build_site.py, nbconvert and JupyterLab."""


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def text_of(fig_or_ax) -> str:
    fig = fig_or_ax if hasattr(fig_or_ax, "savefig") else fig_or_ax.figure
    return figure_text.description(fig)


# --------------------------------------------------------------------------- each helper's text


def test_show_digits_counts_the_images_and_gives_their_titles():
    text = text_of(
        plotting.show_digits(fake_digits(3), titles=["original, 784 B", "from 40 B, 23.1 dB", "x"])
    )
    assert text == "Three images of 28×28 pixels side by side, titled original, 784 B, from 40 B, 23.1 dB, x."
    text = text_of(plotting.show_digits(fake_digits(12), ncols=5, suptitle="twelve digits"))
    assert text == "twelve digits: Twelve images of 28×28 pixels in three rows of 5."


def test_show_digits_by_class_names_the_classes_and_counts():
    labels = np.array([0] * 5 + [1] * 7 + [2] * 6)
    text = text_of(
        plotting.show_digits_by_class(fake_digits(18), labels, per_class=4, class_names=["a", "b", "c"])
    )
    assert "first four images of each of three classes (a, b, c)" in text
    assert "from 18 images (5–7 per class)" in text


def test_class_balance_gives_each_splits_smallest_and_largest_share():
    train, test = np.repeat(np.arange(10), 10), np.array([1] * 3 + list(range(10)))
    ax = plotting.plot_class_balance({"train": train, "test": test})
    ax.set_title("share of each class")
    text = text_of(ax)
    assert text.startswith("share of each class: Bar chart")  # a title set afterwards leads the text
    assert "train (100 images) from 10.0 % (class 0) to 10.0 % (class 0)" in text
    assert "test (13 images) from 7.7 % (class 0) to 30.8 % (class 1)" in text


def test_pixel_histogram_gives_the_count_the_range_and_the_extremes_shares():
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, :7] = 255  # a quarter of one image: 12.5 % of the pixels
    text = text_of(plotting.plot_pixel_histogram(images))
    assert "Histogram of 1,568 pixel values from 0 to 255, in 256 bins, counts on a log scale" in text
    assert "87.5 % are 0, 12.5 % are 255" in text


def test_history_gives_the_first_and_last_loss_of_each_curve():
    text = text_of(plotting.plot_history({"loss": [0.3, 0.2, 0.1], "val_loss": [0.31, 0.22, 0.125]}))
    assert text == (
        "Loss per epoch over three epochs: training from 0.3 to 0.1, validation from 0.31 to 0.125."
    )
    text = text_of(plotting.plot_history({"loss": [0.0746], "val_loss": [0.0754]}))
    assert text == "Loss per epoch over one epoch: training 0.0746, validation 0.0754."


def test_image_grid_gives_its_shape_and_labels():
    x = fake_digits(3)
    fig = plotting.show_image_grid([[x[0], x[1]], [x[2]]], col_labels=["digit", "blur"], row_labels=["a", "b"],
                                   cmap="RdBu_r", symmetric=True)  # fmt: skip
    assert text_of(fig) == ("A table of three images, two rows of two columns; columns: digit, blur; rows: a, b; "
                            "each image's colour scale (RdBu_r) is symmetric about zero.")  # fmt: skip


def test_reconstructions_give_the_psnr_range_and_mean_and_the_largest_error():
    originals = np.zeros((8, 28, 28), np.float32)
    errors = np.array([0.1, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01], np.float32)  # 20 dB six times, 26.0 and 40
    fig = plotting.show_reconstructions(originals, originals + errors[:, None, None])
    fig.suptitle("best 8")
    text = text_of(fig)
    assert text.startswith(
        "best 8: Eight images (top row), their reconstructions (middle row, PSNR 20.0–40.0 dB"
    )
    assert (
        "mean 23.3 dB" in text
    )  # (6 × 20 + 26.0 + 40) / 8 and "largest error 0.1 of the full range" in text


def test_codec_diagram_says_every_size():
    fig = plotting.codec_pipeline_diagram(step=0.5, symbols=[3, -1, 0, 2, 5], payload_bytes=12, file_bytes=28,
                                          psnr_db=23.44)  # fmt: skip
    text = text_of(fig)
    for words in ("a 28×28 digit of 784 bytes", "28 float32 values (112 bytes)", "quantised with step 0.5",
                  "[3, -1, 0, 2, …]", "a .cae file of 28 bytes (16 header and checksum, 12 payload)", "23.4 dB"):  # fmt: skip
        assert words in text


def test_architecture_diagram_reads_the_layers_of_the_models():
    from cae_lib import models

    encoder, decoder = models.build_encoder(8), models.build_decoder(8)
    text = text_of(plotting.architecture_diagram(encoder, decoder))
    assert f"{encoder.name}, {encoder.count_params():,} parameters" in text
    assert f"{decoder.name}, {decoder.count_params():,} parameters" in text
    assert "conv1 (Conv2D 16, 3×3, stride 2) → 14×14×16, 160 parameters" in text
    assert "latent (Dense 8) → 8" in text


def test_rate_distortion_chart_gives_each_methods_ranges():
    points = [rd.RDPoint("cae", "step 1", 12.0, 40.0, 22.0, 0.8), rd.RDPoint("cae", "step 2", 8.0, 36.0, 19.5, 0.7),
              rd.RDPoint("PNG", "lossless", 180.0, 200.0, 99.0, 1.0)]  # fmt: skip
    text = text_of(rd.plot_rate_distortion(points, title="one file"))
    assert text == ("one file: Mean PSNR against bytes per digit (log scale), one line per method: "
                    "cae 8–12 bytes at 19.5–22 dB; PNG (lossless) at 180 bytes.")  # fmt: skip


# --------------------------------------------------------------------------- figures nobody described


def test_an_undescribed_chart_is_described_from_its_labels_ranges_and_legend():
    fig, ax = plt.subplots()
    ax.plot([0.25, 1, 4], [24.0, 22.5, 17.0], "o-", label="quantised latent")
    ax.axhline(24.5, ls="--", label="float latent (24.50 dB)")
    ax.set_xlabel("quantisation step")
    ax.set_ylabel("mean PSNR (dB)")
    ax.set_title("quality against step")
    ax.legend()
    assert figure_text.description(fig) == (
        "quality against step: Line chart of mean PSNR (dB) (y, 17 to 24.5) against quantisation step "
        "(x, 0.25 to 4); quantised latent: 17 to 24; float latent (24.50 dB): 24.5."
    )


def test_undescribed_panels_images_and_colour_bars_are_each_said():
    fig, axes = plt.subplots(1, 3)
    axes[0].hist(np.arange(100), bins=10)
    axes[0].set_xlabel("PSNR (dB)")
    shown = axes[1].imshow(np.ones((7, 5)))
    fig.colorbar(shown, ax=axes[1], label="value")
    axes[2].scatter(np.arange(30), np.arange(30) % 3)
    text = figure_text.description(fig)
    assert "Panel 1 of 3: Bar chart" in text and "PSNR (dB) (x, 4.95 to 94" in text and "10 bars" in text
    assert "Panel 2 of 3: 5×7 image." in text
    assert "Panel 3 of 3: Scatter plot of 30 points" in text
    assert "Colour scale value from 0.9 to 1.1." in text


def test_a_grid_of_undescribed_images_is_counted_with_its_titles():
    fig, axes = plt.subplots(2, 3)
    for i, ax in enumerate(axes.flat):
        ax.imshow(np.zeros((28, 28)))
        ax.set_title(f"map {i}")
    assert figure_text.description(fig) == (
        "Six images of 28×28 pixels, two rows, titled map 0, map 1, map 2, map 3, map 4, map 5."
    )


def test_describe_takes_a_figure_or_axes_and_a_figures_text_wins():
    fig, (left, right) = plt.subplots(1, 2)
    figure_text.describe(left, "left panel")
    figure_text.describe(right, "right panel")
    assert figure_text.description(fig) == "Panel 1 of 2: left panel Panel 2 of 2: right panel"
    assert plotting.describe(fig, "  the whole\nfigure ") is fig
    assert figure_text.description(fig) == "the whole figure"
    with pytest.raises(TypeError, match="Figure or Axes"):
        figure_text.describe("a figure", "text")
    with pytest.raises(ValueError, match="non-empty"):
        figure_text.describe(fig, " ")


def test_a_long_text_is_cut_at_a_word():
    fig = figure_text.describe(plt.figure(), "word " * 1000)
    text = figure_text.description(fig)
    assert len(text) <= figure_text.MAX_CHARS and text.endswith("word…")


# --------------------------------------------------------------------------- the printer


def test_the_wrapped_printer_returns_the_png_with_its_alt_and_keeps_the_printers_metadata():
    fig = plotting.show_digits(fake_digits(2))
    png = figure_text.AltPrinter(lambda f: b"\x89PNG")
    assert png(fig) == (b"\x89PNG", {"alt": "Two images of 28×28 pixels side by side."})
    retina = figure_text.AltPrinter(lambda f: (b"\x89PNG", {"width": 10, "height": 5}))
    assert retina(fig) == (b"\x89PNG", {"width": 10, "height": 5, "alt": figure_text.description(fig)})
    assert figure_text.AltPrinter(lambda f: None)(fig) is None  # an empty figure shows nothing, as before


def test_a_failing_description_never_costs_the_picture(monkeypatch):
    def broken(fig):
        raise RuntimeError("no")

    monkeypatch.setattr(figure_text, "description", broken)
    data, metadata = figure_text.AltPrinter(lambda f: b"png")(plt.figure())
    assert data == b"png" and metadata["alt"].startswith("A matplotlib figure")


def test_install_wraps_a_shells_figure_printers_once_and_does_nothing_outside_ipython():
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    shell = InteractiveShell.instance()
    try:
        png = shell.display_formatter.formatters["image/png"]
        png.for_type(Figure, lambda fig: b"png bytes")
        assert figure_text.install(shell) is True
        assert figure_text.install(shell) is True  # twice: still one wrapper, one pair of hooks
        printer = png.lookup_by_type(Figure)
        assert isinstance(printer, figure_text.AltPrinter) and not isinstance(
            printer.inner, figure_text.AltPrinter
        )
        fig = figure_text.describe(plt.figure(), "my figure")
        data, metadata = shell.display_formatter.format(fig)
        assert data["image/png"] == b"png bytes" and metadata["image/png"] == {"alt": "my figure"}
        png.for_type(Figure, lambda fig: b"other")  # e.g. %config InlineBackend.figure_formats
        shell.events.trigger("post_execute")
        assert isinstance(png.lookup_by_type(Figure), figure_text.AltPrinter)
        assert shell.events.callbacks["post_execute"][0].__name__ == "rewrap"  # before the inline backend's
    finally:
        InteractiveShell.clear_instance()
    assert "IPython" not in sys.modules or figure_text.install(None) is False  # no running shell: nothing


# --------------------------------------------------------------------------- a notebook, run


NOTEBOOK_CELLS = [
    "from cae_lib import plotting\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
    "plt.plot([1, 2, 3], [2.0, 4.0, 3.0])\nplt.xlabel('step');",
    "plotting.show_digits(np.zeros((3, 28, 28), np.uint8), titles=['a', 'b', 'c']);",
    "fig, ax = plt.subplots()\nax.bar(range(4), [1, 2, 3, 4])\nax.set_ylabel('digits')\nplt.show()\n"
    "fig2 = plotting.describe(plt.figure(), 'second figure of the cell')\nfig2.add_subplot().plot([0, 1]);",
    "%config InlineBackend.figure_formats = ['retina']\nplotting.describe(plt.figure().add_subplot(), 'retina');",
]


def run_notebook(cells) -> list:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3")
    client.execute(env=env)
    return [[o for o in cell.outputs if o.get("output_type") in ("display_data", "execute_result")]
            for cell in notebook.cells]  # fmt: skip


@pytest.mark.parametrize("backend_first", [False, True], ids=["cae_lib first", "matplotlib first"])
def test_every_image_a_notebook_shows_has_its_description_as_alt_metadata(backend_first):
    """In a kernel: figures shown at the end of a cell and by plt.show(), with the default and retina printers.

    ``matplotlib first``: the inline backend has set its printers up (a figure made and closed) before
    cae_lib is imported; the import wraps them.
    """
    first = "import matplotlib.pyplot as plt\nplt.close(plt.figure())"
    outputs = run_notebook(([first] if backend_first else []) + NOTEBOOK_CELLS)[1 if backend_first else 0 :]
    alts = [
        [o.metadata.get("image/png", {}).get("alt") for o in cell if "image/png" in o.data]
        for cell in outputs
    ]
    assert alts[0] == ["Line chart of y (2 to 4) against step (x, 1 to 3)."]
    assert alts[1] == ["Three images of 28×28 pixels side by side, titled a, b, c."]
    assert alts[2] == [
        "Bar chart of digits (y, 1 to 4) against x (0 to 3); 4 bars.",
        "second figure of the cell",
    ]
    retina = [o.metadata["image/png"] for o in outputs[3]]
    assert (
        retina and retina[0]["alt"] == "retina" and "width" in retina[0]
    )  # the retina printer's metadata stays


# --------------------------------------------------------------------------- widgets


def test_the_explorers_and_the_games_pictures_say_what_they_show():
    from cae_lib import widgets

    digits = fake_digits(30)
    explorer = widgets.LatentExplorer(digits, latent_dims=[8], rate_models=[], steps=(1.0,), n_digits=3,
                                      reference_size=10)  # fmt: skip
    assert explorer.image.tooltip.startswith("Three test digits (top row, indices 0 to 2), decoded by the latent-8 "
                                             "autoencoder at quantisation step 1 (middle row, PSNR ")  # fmt: skip
    assert explorer.curve_image.tooltip.startswith(
        "Mean PSNR against bytes per digit (log scale) on 10 test digits"
    )
    ((_, size, level),) = explorer.curve[1.0]  # the curve is measured on the 10 reference digits
    star = f"The star marks the current model, latent 8: {figure_text.num(size)} bytes, {level:.2f} dB."
    assert explorer.curve_image.tooltip.endswith(star)
    explorer.step_slider.value = widgets.FLOAT
    assert "from its float32 latent" in explorer.image.tooltip and "32 bytes" in explorer.curve_image.tooltip
    game = widgets.GuessTheOriginal(digits, digits[::-1].copy(), seed=0)
    assert game.image.tooltip == (f"Two 28×28 digits side by side, enlarged 6 times: test digit {game.index} and its "
                                  "reconstruction, in random order. Which one is the original?")  # fmt: skip
    assert game.original_side not in game.image.tooltip  # the text does not give the answer away


# --------------------------------------------------------------------------- the course site


class _Images(HTMLParser):
    """Every ``<img>`` of a page: its alt (None: no alt attribute) and the start of its src."""

    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            attrs = dict(attrs)
            self.images.append((attrs.get("alt"), (attrs.get("src") or "")[:40]))


def undescribed_images(page: str) -> list:
    """The ``<img>`` of an HTML page whose alt is missing, empty or a placeholder."""
    parser = _Images()
    parser.feed(page)
    return [(alt, src) for alt, src in parser.images if alt is None or alt.strip().lower() in PLACEHOLDERS]


def _site_pages() -> list[Path]:
    if not (SITE / "index.html").exists():
        reason = f"no {SITE.relative_to(ROOT)}/index.html: build the site with `make site` (`make test` builds it first)"
        if os.environ.get("CAE_REQUIRE_BROWSER", "") == "1":
            pytest.fail(f"the site is required (CAE_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
    return sorted(SITE.rglob("*.html"))


def test_the_check_finds_an_image_without_a_description():
    png = base64.b64encode(b"\x89PNG").decode()
    page = (f'<img src="data:image/png;base64,{png}" alt="Three digits, 21.0–24.5 dB."><img src="a.png">'
            '<img alt="No description has been provided for this image" src="b.png"><img alt="" src="c.png">'
            '<img class="cae-w-image" src="d.png" alt="widget image"><img src="e.png" alt="output">')  # fmt: skip
    assert [src for _, src in undescribed_images(page)] == ["a.png", "b.png", "c.png", "d.png", "e.png"]


def test_the_site_build_writes_each_outputs_alt_text(tmp_path):
    """build_site.py: the page of a notebook whose image outputs carry alt metadata shows it, escaped."""
    nbformat = pytest.importorskip("nbformat")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_site as site
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    png = base64.b64encode(_tiny_png()).decode()
    v4 = nbformat.v4
    described = v4.new_output("display_data", data={"image/png": png},
                              metadata={"image/png": {"alt": 'Eight digits "best" & <worst>'}})  # fmt: skip
    undescribed = v4.new_output("display_data", data={"image/png": png})
    notebook = v4.new_notebook(cells=[v4.new_markdown_cell("# 01 · T\n\n**Purpose:** p.\n\nTime: about 5 minutes."),
                                      v4.new_code_cell("x", outputs=[described, undescribed])])  # fmt: skip
    path = tmp_path / "01_t.ipynb"
    nbformat.write(notebook, path)
    page = site.render_page(notebook, [site.describe(path, notebook)], 0, True)
    alts = [alt for alt, _ in _parse(page)]
    assert 'Eight digits "best" & <worst>' in alts
    assert [alt for alt, _ in undescribed_images(page)] == ["No description has been provided for this image"]
    held = {"output_type": "display_data", "data": {"image/png": png}, "metadata": described.metadata}
    assert 'alt="Eight digits &quot;best&quot; &amp; &lt;worst&gt;"' in site._output_html(
        held
    )  # in an Output widget


def _parse(page: str) -> list:
    parser = _Images()
    parser.feed(page)
    return parser.images


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (2, 2)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_every_image_on_the_course_site_has_a_description():
    """site/ (``make site``): every <img> on every page, notebook outputs and widget pictures alike, says what it shows."""
    pages = _site_pages()
    missing = {}
    count = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        count += len(_parse(text))
        bad = undescribed_images(text)
        if bad:
            missing[str(page.relative_to(SITE))] = bad
    assert count > 0, "no images on the site"
    assert not missing, f"images without a description (alt) on the site: {missing}"


def test_reconstructions_compare_float_originals_and_uint8_decoded_digits_on_one_scale():
    originals = np.full((2, 28, 28, 1), 0.5, np.float32)  # [0, 1] floats, as data.to_float gives
    decoded = np.full((2, 28, 28), 153, np.uint8)  # 0.6: an error of 0.1 everywhere, 20 dB
    assert "PSNR 20 dB, mean 20 dB" in text_of(plotting.show_reconstructions(originals, decoded))


def test_class_scatters_do_not_rest_on_red_green_and_no_notebook_uses_tab10():
    """Issue 23: colour maps readable without red/green discrimination; tab10 puts green beside red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cae_lib import plotting

    points = np.random.default_rng(0).normal(size=(200, 2)) + np.repeat(np.arange(10), 20)[:, None]
    ax = plotting.scatter_by_class(points, np.repeat(np.arange(10), 20))
    assert len(set(plotting.CLASS_MARKERS)) == 10 and len(set(plotting.CLASS_COLOURS)) == 10
    assert sorted(t.get_text() for t in ax.texts) == [
        str(d) for d in range(10)
    ]  # each class named where it sits
    assert "200 points in 10 classes" in plotting.description(ax.figure)
    plt.close(ax.figure)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "cae_lib").rglob("*.py")):
        assert "tab10" not in path.read_text(encoding="utf-8"), f"{path.name} uses tab10"
