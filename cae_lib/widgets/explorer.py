"""The latent-size explorer: sliders over the pretrained models, live pictures and real byte counts.

:class:`LatentExplorer` shows a few test digits, their reconstructions and
error maps for one shipped model and one quantisation setting, with mean
PSNR, SSIM, bytes per digit and compression ratio, and marks the current
setting on a quality-versus-size curve. Two families of models: the
autoencoders, one per latent size (the **latent size** slider), and, when
the package ships them, the rate-aware models trained on distortion +
lambda * bits (the **quality** slider, coarse to fine). Both are measured
by the same call, :func:`cae_lib.codec.measure`: every size is a real
``.cae`` file; the "float32" setting shows the unquantised latent at its
honest size (4 bytes a value, no file format around it).

Example:
    >>> from cae_lib import data, widgets                # doctest: +SKIP
    >>> _, (x_test, _) = data.load_mnist()               # doctest: +SKIP
    >>> explorer = widgets.LatentExplorer(x_test)         # doctest: +SKIP
    >>> explorer                                          # doctest: +SKIP
"""

from __future__ import annotations

import html
import io
import time
from dataclasses import dataclass

import numpy as np

from .. import codec, metrics, pretrained
from ..config import DEFAULT_LATENT_DIM
from ..figure_text import count, num, value_range
from ..images import NUM_PIXELS, image_batch
from .display import _display, described_image
from .mosaic import digit_mosaic

FLOAT = "float32"
"""The quantisation option that keeps the float32 latent (no codec)."""
DEFAULT_STEPS = (0.25, 0.5, 1.0, 2.0, 3.0)
RAW_BYTES = NUM_PIXELS
AUTOENCODER = pretrained.AUTOENCODER
"""The family of the post-hoc autoencoders, chosen by latent size."""
RATE = pretrained.RATE
"""The family of the rate-aware models, chosen by quality (lambda)."""


@dataclass(frozen=True)
class Figures:
    """What the explorer currently shows, as numbers (tests read these).

    ``family`` is :data:`AUTOENCODER` or :data:`RATE`; ``model`` the shipped
    model's name (``ae_latent28``, ``rate_lambda0.01``, ...).
    """

    latent_dim: int
    quantisation: str
    indices: tuple
    mean_psnr_db: float
    mean_ssim: float
    bytes_per_digit: float
    compression_ratio: float
    file_bytes: int | None
    seconds: float
    family: str = AUTOENCODER
    model: str = ""


def _setting_label(step) -> str:
    return FLOAT if step == FLOAT else f"step {step:g}"


def quality_label(name: str, position: int, count: int) -> str:
    """The quality slider's label of a rate-aware model: its lambda, the ends marked coarse and fine.

    Example:
        >>> quality_label("rate_lambda0.1", 0, 4), quality_label("rate_lambda0.03", 1, 4)  # doctest: +SKIP
        ('lambda 0.1 (coarse)', 'lambda 0.03')
    """
    lmbda = pretrained.model_info(name).get("lambda")
    label = name if lmbda is None else f"lambda {float(lmbda):g}"
    if count > 1 and position == 0:
        return f"{label} (coarse)"
    if count > 1 and position == count - 1:
        return f"{label} (fine)"
    return label


class LatentExplorer:
    """Explore latent size, rate-aware models and quantisation with sliders.

    Args:
        images: uint8 digits ``(n, 28, 28)`` to pick from (e.g. the MNIST test set).
        latent_dims: Latent sizes to offer; default every shipped pretrained autoencoder.
        rate_models: Names of rate-aware models for the quality slider, coarse to fine;
            default every shipped one (``pretrained.available_models(kind="rate")``).
            Empty (or none shipped): no quality slider, only the autoencoders.
        steps: Quantisation steps to offer besides :data:`FLOAT` (the float32 latent, no codec).
        n_digits: How many digits to show at once.
        reference_size: Digits (the first of ``images``) used for the sweep curves.
        seed: Seed of the "new random digits" button.

    Attributes:
        family: ``ipywidgets.ToggleButtons``: :data:`AUTOENCODER` or :data:`RATE`
            (disabled, autoencoders only, when there are no rate-aware models).
        latent_slider: The autoencoder's latent size; moving it selects the autoencoders.
        quality_slider: ``SelectionSlider`` of the rate-aware models' names, labelled by
            lambda; moving it selects the rate-aware models. None without rate-aware models.
        step_slider, index_slider, random_button: The other controls (for both families).
        image: ``ipywidgets.Image``: digits, reconstructions and error maps (PNG).
        curve_image: ``ipywidgets.Image``: the sweep curve, current setting starred (PNG).
        stats: ``ipywidgets.HTML`` with the figures of the current setting.
        figures: The current :class:`Figures`.
        models: The loaded codec models, by latent size (autoencoders, loaded at start
            for the sweep) or by name (rate-aware models, loaded when first shown).
        curve: ``{step: [(latent size, bytes per digit, mean PSNR), ...]}`` of the autoencoders.
        rate_curve: ``{step: [(name, bytes per digit, mean PSNR), ...]}`` of the rate-aware
            models, filled for a step the first time the rate-aware family is shown at it.
        widget: The whole explorer as one ``ipywidgets.VBox`` (also shown when the
            explorer is the last expression of a cell).
    """

    def __init__(self, images, *, latent_dims=None, rate_models=None, steps=DEFAULT_STEPS, n_digits: int = 8,
                 reference_size: int = 500, seed: int = 0):  # fmt: skip
        import ipywidgets as w

        if np.asarray(images).dtype != np.uint8:
            raise ValueError(f"images must be uint8 digits. Received: dtype={np.asarray(images).dtype}")
        images = image_batch(images)[..., 0]
        if not isinstance(n_digits, int) or not 1 <= n_digits <= min(16, len(images)):
            raise ValueError(
                f"n_digits must be an int from 1 to {min(16, len(images))}. Received: n_digits={n_digits!r}"
            )
        steps = tuple(float(s) for s in steps)
        if any(not s > 0 for s in steps):
            raise ValueError(f"steps must be positive. Received: steps={steps}")
        if rate_models is None:
            rate_models = pretrained.available_models(kind=RATE)
        self.rate_models = list(rate_models)
        for name in self.rate_models:
            if pretrained.model_info(name)["kind"] != RATE:
                raise ValueError(f"rate_models must name rate-aware models. Received: {name!r}")
        self.images = images
        self.n_digits = n_digits
        self.latent_dims = sorted(latent_dims or pretrained.available_latent_dims())
        self.models = {d: pretrained.load_pretrained(d) for d in self.latent_dims}
        self.steps = (FLOAT, *steps)
        self._rng = np.random.default_rng(seed)
        self.reference = images[: max(1, min(reference_size, len(images)))]
        self.curve = self._sweep()
        self.rate_curve: dict = {}

        start_dim = (
            DEFAULT_LATENT_DIM
            if DEFAULT_LATENT_DIM in self.latent_dims
            else self.latent_dims[len(self.latent_dims) // 2]
        )
        wide = {"style": {"description_width": "8em"}, "layout": w.Layout(width="32em")}
        families = [("autoencoders: latent size", AUTOENCODER)]
        if self.rate_models:
            families.append(("rate-aware: quality", RATE))
        self.family = w.ToggleButtons(
            options=families, value=AUTOENCODER, disabled=not self.rate_models,
            tooltips=["autoencoders trained on reconstruction alone, one per latent size",
                      "trained on distortion + lambda * bits (notebook 09)"][: len(families)],
            style={"button_width": "15em"},
        )  # fmt: skip
        family_label = w.Label(
            "models", layout=w.Layout(width="8em", justify_content="flex-end", padding="0 8px 0 0")
        )
        self.latent_slider = w.SelectionSlider(
            options=self.latent_dims, value=start_dim, description="latent size", continuous_update=False,
            **wide,
        )  # fmt: skip
        self.quality_slider = None
        if self.rate_models:
            self.quality_slider = w.SelectionSlider(
                options=[(quality_label(n, i, len(self.rate_models)), n) for i, n in enumerate(self.rate_models)],
                value=self.rate_models[len(self.rate_models) // 2], description="quality",
                continuous_update=False, **wide,
            )  # fmt: skip
        self.step_slider = w.SelectionSlider(
            options=[(_setting_label(s), s) for s in self.steps],
            value=1.0 if 1.0 in self.steps else self.steps[-1], description="quantisation",
            continuous_update=False, **wide,
        )  # fmt: skip
        self.index_slider = w.IntSlider(
            value=0, min=0, max=len(images) - n_digits, description="first digit",
            continuous_update=False, style={"description_width": "8em"},
        )  # fmt: skip
        self.random_button = w.Button(
            description="new random digits", icon="random", layout=w.Layout(width="auto")
        )
        self.image = described_image(format="png")
        self.curve_image = described_image(format="png")
        self.stats = w.HTML()
        self.indices = np.arange(n_digits)
        self.figures: Figures | None = None

        self.family.observe(self._on_change, names="value")
        self.latent_slider.observe(self._on_latent, names="value")
        if self.quality_slider is not None:
            self.quality_slider.observe(self._on_quality, names="value")
        self.step_slider.observe(self._on_change, names="value")
        self.index_slider.observe(self._on_index, names="value")
        self.random_button.on_click(self._on_random)
        model_sliders = [self.latent_slider] + ([self.quality_slider] if self.quality_slider else [])
        controls = w.VBox(
            [
                w.HBox([family_label, self.family]),
                w.HBox(model_sliders, layout=w.Layout(flex_flow="row wrap")),
                self.step_slider,
                w.HBox([self.index_slider, self.random_button]),
            ]
        )
        pictures = w.HBox(
            [self.image, self.curve_image], layout=w.Layout(flex_flow="row wrap", align_items="center")
        )
        self.widget = w.VBox([controls, self.stats, pictures])
        self._figure, self._curve_png = None, {}
        self.update()

    # ------------------------------------------------------------------ numbers

    def model(self, key):
        """The codec model of a latent size (autoencoder) or a rate-aware model's name, loaded once."""
        if key not in self.models:
            self.models[key] = pretrained.load_pretrained(key)
        return self.models[key]

    def current(self):
        """The shown model's key: its latent size (autoencoders) or its name (rate-aware models)."""
        if self.family.value == RATE:
            return self.quality_slider.value
        return self.latent_slider.value

    def _latent_dim(self, key) -> int:
        return int(pretrained.model_info(key)["latent_dim"]) if isinstance(key, str) else int(key)

    def _code(self, digits, key, step):
        """Code ``digits`` at a setting: (decoded uint8, bytes per digit, file bytes or None, mean PSNR, mean SSIM).

        ``key`` is a latent size or a model name. Quantised settings go through
        :func:`cae_lib.codec.measure` (a real file, compressed and decompressed),
        the same call for every model; ``float32`` runs the encoder and decoder only.
        """
        model = self.model(key)
        if step == FLOAT:
            decoded = codec.decode_latents(codec.encode_latents(digits, model), model)
            psnr = metrics.mean_psnr(digits, decoded, data_range=255)
            ssim = metrics.mean_ssim(digits, decoded, data_range=255)
            return decoded, 4.0 * self._latent_dim(key), None, psnr, ssim
        m = codec.measure(digits, model, step=step)
        return m.decoded, m.bytes_per_image, m.total_bytes, m.mean_psnr_db, m.mean_ssim

    def _sweep(self, keys=None, steps=None) -> dict:
        """``{step: [(key, bytes per digit, mean PSNR), ...]}`` on the reference digits (default: the autoencoders)."""
        curve = {}
        for step in self.steps if steps is None else steps:
            rows = []
            for key in self.latent_dims if keys is None else keys:
                _, per_digit, _, psnr, _ = self._code(self.reference, key, step)
                rows.append((key, per_digit, psnr))
            curve[step] = rows
        return curve

    def update(self, *_) -> Figures:
        """Recompute and redraw for the current control values; returns the new :class:`Figures`."""
        start = time.perf_counter()
        family, key, step = self.family.value, self.current(), self.step_slider.value
        digits = self.images[self.indices]
        decoded, per_digit, file_bytes, mean_psnr, mean_ssim = self._code(digits, key, step)
        psnr = metrics.psnr(digits, decoded, data_range=255)  # per digit, for the titles
        self._draw(digits, decoded, psnr, key, step)
        name = key if isinstance(key, str) else pretrained.resolve(int(key))
        self.figures = Figures(
            latent_dim=self._latent_dim(key), quantisation=_setting_label(step),
            indices=tuple(int(i) for i in self.indices), mean_psnr_db=mean_psnr, mean_ssim=mean_ssim,
            bytes_per_digit=per_digit, compression_ratio=RAW_BYTES / per_digit, file_bytes=file_bytes,
            seconds=time.perf_counter() - start, family=family, model=name,
        )  # fmt: skip
        self.stats.value = self._stats_html(self.figures)
        return self.figures

    # ------------------------------------------------------------------ events

    def _on_change(self, change) -> None:
        self.update()

    def _on_latent(self, change) -> None:
        if self.family.value == AUTOENCODER:
            self.update()
        else:
            self.family.value = AUTOENCODER  # its observer updates

    def _on_quality(self, change) -> None:
        if self.family.value == RATE:
            self.update()
        else:
            self.family.value = RATE

    def _on_index(self, change) -> None:
        self.indices = np.arange(change["new"], change["new"] + self.n_digits)
        self.update()

    def _on_random(self, button=None) -> None:
        self.indices = np.sort(self._rng.choice(len(self.images), self.n_digits, replace=False))
        self.update()

    # ------------------------------------------------------------------ drawing

    def _stats_html(self, f: Figures) -> str:
        if f.file_bytes is None:
            size = (f"{f.bytes_per_digit:.0f} bytes per digit: the float32 latent itself "
                    f"({f.latent_dim} values × 4 bytes), not a file")  # fmt: skip
        else:
            size = (f"{f.bytes_per_digit:.1f} bytes per digit: a real .cae file of {f.file_bytes} bytes "
                    f"for these {len(f.indices)} digits, header and checksum included")  # fmt: skip
        if f.family == RATE:
            lmbda = pretrained.model_info(f.model).get("lambda")
            trained = "" if lmbda is None else f"lambda {float(lmbda):g}, "
            setting = f"rate-aware model {f.model} ({trained}{f.latent_dim} latent values), {f.quantisation}"
        else:
            setting = f"latent size {f.latent_dim}, {f.quantisation}"
        rows = [
            ("setting", html.escape(setting)),
            ("mean PSNR", f"<b>{f.mean_psnr_db:.2f} dB</b>"),
            ("mean SSIM", f"{f.mean_ssim:.3f}"),
            ("size", size),
            ("compression ratio", f"{f.compression_ratio:.1f} : 1 against {RAW_BYTES} raw bytes"),
        ]
        cells = "".join(
            f"<tr><td style='padding-right:1em'>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in rows
        )
        return f"<table class='cae-explorer-stats'>{cells}</table>"

    def _draw(self, digits, decoded, psnr, key, step) -> None:
        self.image.value = digit_mosaic(digits, decoded, titles=[f"{p:.1f} dB" for p in psnr])
        model = f"the rate-aware model {key}" if isinstance(key, str) else f"the latent-{key} autoencoder"
        setting = "from its float32 latent" if step == FLOAT else f"at quantisation step {step:g}"
        first, last = int(self.indices[0]), int(self.indices[-1])
        digits_words = count(len(digits), "test digit")
        self.image.tooltip = (  # the picture's text: a title in JupyterLab, the alt text on the course site
            f"{digits_words[0].upper()}{digits_words[1:]} (top row, indices {first} to {last}), decoded by {model} "
            f"{setting} (middle row, PSNR {value_range(psnr, ' dB')}) and their signed errors (bottom row, red: "
            "decoded too bright, blue: too dark)."
        )  # fmt: skip
        if isinstance(key, str) and step not in self.rate_curve:  # measured when first needed
            self.stats.value = (f"<p>measuring the {len(self.rate_models)} rate-aware models on "
                                f"{len(self.reference)} digits at {_setting_label(step)} (once)...</p>")  # fmt: skip
            self.rate_curve.update(self._sweep(self.rate_models, [step]))
        png_key = (step, key)
        if png_key not in self._curve_png:  # the curve depends only on the setting: draw each once
            self._curve_png[png_key] = self._draw_curve(key, step), self._curve_text(key, step)
        self.curve_image.value, self.curve_image.tooltip = self._curve_png[png_key]

    def _curve_text(self, key, step) -> str:
        """What the curve shows, with its numbers: the picture's text (title in JupyterLab, alt text on the site)."""
        rows = self.curve[step]
        sizes, psnrs = [r[1] for r in rows], [r[2] for r in rows]
        text = (f"Mean PSNR against bytes per digit (log scale) on {len(self.reference)} test digits, one grey line "
                f"per quantisation setting; at {_setting_label(step)} (red) the latent sizes "
                f"{value_range([r[0] for r in rows])} take {value_range(sizes)} bytes for "
                f"{value_range(psnrs, ' dB')}.")  # fmt: skip
        if isinstance(key, str):
            rate_rows = self.rate_curve[step]
            text += (f" The rate-aware models (green) take {value_range([r[1] for r in rate_rows])} bytes for "
                     f"{value_range([r[2] for r in rate_rows], ' dB')}.")  # fmt: skip
            _, size, level = next(r for r in rate_rows if r[0] == key)
            star = key
        else:
            _, size, level = next(r for r in rows if r[0] == key)
            star = f"latent {key}"
        return text + f" The star marks the current model, {star}: {num(size)} bytes, {level:.2f} dB."

    def _draw_curve(self, key, step) -> bytes:
        """The sweep curve with the current setting marked; one persistent figure, only the data changes."""
        if self._figure is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(4.2, 3.2), dpi=80, layout="constrained")
            ax = fig.add_subplot()
            self._lines = {}
            for s, rows in self.curve.items():
                _, sizes, psnrs = zip(*rows)
                (self._lines[s],) = ax.plot(sizes, psnrs, "-", lw=0.8, color="0.75", markersize=3)
            (self._rate_line,) = ax.plot([], [], "s--", color="C2", lw=1.2, markersize=4)
            (self._star,) = ax.plot([], [], "*", color="C0", markersize=14)
            ax.set_xscale("log")
            ax.set_xlabel("bytes per digit (log scale)", fontsize=8)
            ax.set_ylabel("mean PSNR (dB)", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, which="both", alpha=0.3)
            self._figure, self._axes = fig, ax
        for s, line in self._lines.items():
            current = s == step
            line.set(color="C3" if current else "0.75", lw=2 if current else 0.8, marker="o" if current else "",
                     label=f"latent sizes, {_setting_label(s)}" if current else "_nolegend_")  # fmt: skip
        n = len(self.reference)
        if isinstance(key, str):
            rows = self.rate_curve[step]
            _, sizes, psnrs = zip(*rows)
            self._rate_line.set(data=(sizes, psnrs), label=f"rate-aware, {_setting_label(step)}")
            _, size, level = next(r for r in rows if r[0] == key)
            star = key
            self._axes.set_title(f"latent sizes and rate-aware models, {n} test digits", fontsize=8)
        else:
            self._rate_line.set(data=([], []), label="_nolegend_")
            _, size, level = next(r for r in self.curve[step] if r[0] == key)
            star = f"latent {key}"
            self._axes.set_title(f"every latent size, {n} test digits", fontsize=8)
        self._star.set(data=([size], [level]), label=star)
        self._axes.relim()
        self._axes.autoscale_view()
        self._axes.legend(fontsize=7, loc="lower right")
        buffer = io.BytesIO()
        self._figure.savefig(buffer, format="png")
        return buffer.getvalue()

    def _ipython_display_(self):
        _display(self.widget)
