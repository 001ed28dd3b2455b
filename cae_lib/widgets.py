"""The latent-size explorer: sliders over the pretrained models, live pictures and real byte counts.

:class:`LatentExplorer` shows a few test digits, their reconstructions and
error maps for one latent size and one quantisation setting, with mean PSNR,
SSIM, bytes per digit and compression ratio, and marks the current setting
on a quality-versus-size curve of the whole sweep. Every size comes from a
real ``.cae`` file made by :func:`cae_lib.codec.compress`; the "float32"
setting shows the unquantised latent at its honest size (4 bytes a value,
no file format around it).

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

from . import codec, metrics, pretrained
from .config import DEFAULT_LATENT_DIM
from .images import NUM_PIXELS, image_batch

FLOAT = "float32"
"""The quantisation option that keeps the float32 latent (no codec)."""
DEFAULT_STEPS = (0.25, 0.5, 1.0, 2.0, 3.0)
RAW_BYTES = NUM_PIXELS


@dataclass(frozen=True)
class Figures:
    """What the explorer currently shows, as numbers (tests read these)."""

    latent_dim: int
    quantisation: str
    indices: tuple
    mean_psnr_db: float
    mean_ssim: float
    bytes_per_digit: float
    compression_ratio: float
    file_bytes: int | None
    seconds: float


def _setting_label(step) -> str:
    return FLOAT if step == FLOAT else f"step {step:g}"


class LatentExplorer:
    """Explore latent size and quantisation with sliders.

    Args:
        images: uint8 digits ``(n, 28, 28)`` to pick from (e.g. the MNIST test set).
        latent_dims: Latent sizes to offer; default every shipped pretrained model.
        steps: Quantisation steps to offer besides :data:`FLOAT` (the float32 latent, no codec).
        n_digits: How many digits to show at once.
        reference_size: Digits (the first of ``images``) used for the sweep curve.
        seed: Seed of the "new random digits" button.

    Attributes:
        latent_slider, step_slider, index_slider, random_button: The controls.
        image: ``ipywidgets.Image``: digits, reconstructions and error maps (PNG).
        curve_image: ``ipywidgets.Image``: the sweep curve, current setting starred (PNG).
        stats: ``ipywidgets.HTML`` with the figures of the current setting.
        figures: The current :class:`Figures`.
        widget: The whole explorer as one ``ipywidgets.VBox`` (also shown when the
            explorer is the last expression of a cell).
    """

    def __init__(self, images, *, latent_dims=None, steps=DEFAULT_STEPS, n_digits: int = 8,
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
        self.images = images
        self.n_digits = n_digits
        self.latent_dims = sorted(latent_dims or pretrained.available_latent_dims())
        self.models = {d: pretrained.load_pretrained(d) for d in self.latent_dims}
        self.steps = (FLOAT, *steps)
        self._rng = np.random.default_rng(seed)
        self.reference = images[: max(1, min(reference_size, len(images)))]
        self.curve = self._sweep()

        start_dim = (
            DEFAULT_LATENT_DIM
            if DEFAULT_LATENT_DIM in self.latent_dims
            else self.latent_dims[len(self.latent_dims) // 2]
        )
        self.latent_slider = w.SelectionSlider(
            options=self.latent_dims, value=start_dim, description="latent size",
            continuous_update=False, style={"description_width": "8em"}, layout=w.Layout(width="32em"),
        )  # fmt: skip
        self.step_slider = w.SelectionSlider(
            options=[(_setting_label(s), s) for s in self.steps],
            value=1.0 if 1.0 in self.steps else self.steps[-1], description="quantisation",
            continuous_update=False, style={"description_width": "8em"}, layout=w.Layout(width="32em"),
        )  # fmt: skip
        self.index_slider = w.IntSlider(
            value=0, min=0, max=len(images) - n_digits, description="first digit",
            continuous_update=False, style={"description_width": "8em"},
        )  # fmt: skip
        self.random_button = w.Button(
            description="new random digits", icon="random", layout=w.Layout(width="auto")
        )
        self.image = w.Image(format="png")
        self.curve_image = w.Image(format="png")
        self.stats = w.HTML()
        self.indices = np.arange(n_digits)
        self.figures: Figures | None = None

        self.latent_slider.observe(self._on_change, names="value")
        self.step_slider.observe(self._on_change, names="value")
        self.index_slider.observe(self._on_index, names="value")
        self.random_button.on_click(self._on_random)
        controls = w.VBox(
            [self.latent_slider, self.step_slider, w.HBox([self.index_slider, self.random_button])]
        )
        pictures = w.HBox(
            [self.image, self.curve_image], layout=w.Layout(flex_flow="row wrap", align_items="center")
        )
        self.widget = w.VBox([controls, self.stats, pictures])
        self._figure, self._curve_png = None, {}
        self.update()

    # ------------------------------------------------------------------ numbers

    def _code(self, digits, latent_dim, step):
        """Reconstruct ``digits`` at a setting; return (decoded uint8, bytes per digit, file bytes or None)."""
        model = self.models[latent_dim]
        if step == FLOAT:
            decoded = codec.decode_latents(codec.encode_latents(digits, model), model)
            return decoded, 4.0 * latent_dim, None
        blob = codec.compress(digits, model, step=step)
        return codec.decompress(blob, model), len(blob) / len(digits), len(blob)

    def _sweep(self) -> dict:
        """``{step: [(latent_dim, bytes per digit, mean PSNR), ...]}`` on the reference digits."""
        curve = {}
        for step in self.steps:
            rows = []
            for d in self.latent_dims:
                decoded, per_digit, _ = self._code(self.reference, d, step)
                rows.append((d, per_digit, metrics.mean_psnr(self.reference, decoded, data_range=255)))
            curve[step] = rows
        return curve

    def update(self, *_) -> Figures:
        """Recompute and redraw for the current slider values; returns the new :class:`Figures`."""
        start = time.perf_counter()
        latent_dim, step = self.latent_slider.value, self.step_slider.value
        digits = self.images[self.indices]
        decoded, per_digit, file_bytes = self._code(digits, latent_dim, step)
        psnr = metrics.psnr(digits, decoded, data_range=255)
        ssim = metrics.ssim(digits, decoded, data_range=255)
        mean_psnr = metrics.mean_psnr(digits, decoded, data_range=255)
        self._draw(digits, decoded, psnr, latent_dim, step)
        self.figures = Figures(
            latent_dim=latent_dim, quantisation=_setting_label(step), indices=tuple(int(i) for i in self.indices),
            mean_psnr_db=mean_psnr, mean_ssim=float(ssim.mean()), bytes_per_digit=per_digit,
            compression_ratio=RAW_BYTES / per_digit, file_bytes=file_bytes,
            seconds=time.perf_counter() - start,
        )  # fmt: skip
        self.stats.value = self._stats_html(self.figures)
        return self.figures

    # ------------------------------------------------------------------ events

    def _on_change(self, change) -> None:
        self.update()

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
                    f"for these {len(f.indices)} digits, 16-byte header included")  # fmt: skip
        rows = [
            ("setting", f"latent size {f.latent_dim}, {f.quantisation}"),
            ("mean PSNR", f"<b>{f.mean_psnr_db:.2f} dB</b>"),
            ("mean SSIM", f"{f.mean_ssim:.3f}"),
            ("size", size),
            ("compression ratio", f"{f.compression_ratio:.1f} : 1 against {RAW_BYTES} raw bytes"),
        ]
        cells = "".join(
            f"<tr><td style='padding-right:1em'>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in rows
        )
        return f"<table class='cae-explorer-stats'>{cells}</table>"

    def _draw(self, digits, decoded, psnr, latent_dim, step) -> None:
        self.image.value = digit_mosaic(digits, decoded, titles=[f"{p:.1f} dB" for p in psnr])
        key = (step, latent_dim)
        if key not in self._curve_png:  # the curve depends only on the setting: draw each once
            self._curve_png[key] = self._draw_curve(latent_dim, step)
        self.curve_image.value = self._curve_png[key]

    def _draw_curve(self, latent_dim, step) -> bytes:
        """The sweep curve with the current setting marked; one persistent figure, only the data changes."""
        if self._figure is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(4.2, 3.2), dpi=80, layout="constrained")
            ax = fig.add_subplot()
            self._lines = {}
            for s, rows in self.curve.items():
                _, sizes, psnrs = zip(*rows)
                (self._lines[s],) = ax.plot(sizes, psnrs, "-", lw=0.8, color="0.75", markersize=3)
            (self._star,) = ax.plot([], [], "*", color="C0", markersize=14)
            ax.set_xscale("log")
            ax.set_xlabel("bytes per digit (log scale)", fontsize=8)
            ax.set_ylabel("mean PSNR (dB)", fontsize=8)
            ax.set_title(f"every latent size, {len(self.reference)} test digits", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, which="both", alpha=0.3)
            self._figure, self._axes = fig, ax
        for s, line in self._lines.items():
            current = s == step
            line.set(color="C3" if current else "0.75", lw=2 if current else 0.8, marker="o" if current else "",
                     label=_setting_label(s) if current else "_nolegend_")  # fmt: skip
        _, size, level = next(r for r in self.curve[step] if r[0] == latent_dim)
        self._star.set(data=([size], [level]), label=f"latent {latent_dim}")
        self._axes.legend(fontsize=7, loc="lower right")
        buffer = io.BytesIO()
        self._figure.savefig(buffer, format="png")
        return buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def digit_mosaic(originals, decoded, *, titles=None, zoom: int = 3) -> bytes:
    """PNG bytes of a 3-row mosaic: originals, decoded digits and signed error maps (red: too bright).

    Drawn with numpy and Pillow rather than matplotlib, so that it takes a few
    milliseconds and the explorer stays interactive.

    Args:
        originals, decoded: uint8 digits ``(n, 28, 28)``.
        titles: Optional text above each decoded digit (e.g. its PSNR).
        zoom: Pixels per image pixel.

    Returns:
        The PNG file as bytes.
    """
    import matplotlib
    from PIL import Image, ImageDraw

    originals, decoded = np.asarray(originals), np.asarray(decoded)
    if originals.shape != decoded.shape or originals.ndim != 3 or originals.dtype != np.uint8:
        raise ValueError(
            "originals and decoded must be uint8 arrays of the same shape (n, H, W). "
            f"Received: {originals.dtype} {originals.shape} and {decoded.dtype} {decoded.shape}"
        )
    n, h, wd = originals.shape
    gray = lambda a: np.repeat(a[..., None], 3, axis=-1)  # noqa: E731
    error = (decoded.astype(np.float32) - originals.astype(np.float32)) / 255.0
    colored = (matplotlib.colormaps["RdBu_r"]((error + 1) / 2)[..., :3] * 255).astype(np.uint8)
    label_w, text_h, gap = 64, 12, 2
    rows = [gray(originals), gray(decoded), colored]
    width = label_w + n * (wd * zoom + gap)
    height = 3 * (h * zoom + text_h)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for r, (row, name) in enumerate(zip(rows, ("original", "decoded", "error"))):
        top = r * (h * zoom + text_h) + text_h
        draw.text((2, top + h * zoom // 2 - 5), name, fill=(0, 0, 0))
        for i in range(n):
            left = label_w + i * (wd * zoom + gap)
            canvas.paste(Image.fromarray(row[i]).resize((wd * zoom, h * zoom), Image.NEAREST), (left, top))
            if r == 1 and titles is not None:
                draw.text((left + 2, top - text_h + 1), str(titles[i]), fill=(0, 0, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


class GuessTheOriginal:
    """Which of two digits is the original? A side-by-side test of "visually lossless".

    Each round shows one digit and its reconstruction side by side, in random
    order; the learner clicks the side they think is the original. If people
    pick the original no more often than chance (50 %), the difference is
    below the just-noticeable difference at this setting: visually lossless
    for them, in side-by-side viewing. :attr:`p_value` says how likely random
    guessing is to get at least as many right.

    Args:
        originals: uint8 digits ``(n, 28, 28)``.
        reconstructions: Their reconstructions, uint8, same shape, same order.
        seed: Seed of the digit and side draws.
        zoom: Screen pixels per image pixel.

    Attributes:
        left_button, right_button: Click the side you think is the original.
        image: ``ipywidgets.Image``: the current pair (PNG).
        stats: ``ipywidgets.HTML``: rounds played, right guesses and the verdict.
        rounds, correct: The score so far.
        index: The digit shown now; original_side: where its original is ("left" or "right").
        widget: The whole game as one ``ipywidgets.VBox``.

    Example:
        >>> game = widgets.GuessTheOriginal(x_test[:500], decoded)   # doctest: +SKIP
        >>> game                                                       # doctest: +SKIP
    """

    SIDES = ("left", "right")

    def __init__(self, originals, reconstructions, *, seed: int = 0, zoom: int = 6):
        import ipywidgets as w

        originals, reconstructions = np.asarray(originals), np.asarray(reconstructions)
        if (originals.dtype != np.uint8 or reconstructions.dtype != np.uint8 or originals.ndim != 3
                or originals.shape != reconstructions.shape or len(originals) == 0):  # fmt: skip
            raise ValueError(
                "originals and reconstructions must be non-empty uint8 arrays of the same shape (n, H, W). "
                f"Received: {originals.dtype} {originals.shape} and {reconstructions.dtype} {reconstructions.shape}"
            )
        self.originals, self.reconstructions, self.zoom = originals, reconstructions, zoom
        self._rng = np.random.default_rng(seed)
        self.rounds = self.correct = 0
        self.index, self.original_side, self.last = None, None, ""
        self.left_button = w.Button(description="left is the original", layout=w.Layout(width="14em"))
        self.right_button = w.Button(description="right is the original", layout=w.Layout(width="14em"))
        self.left_button.on_click(lambda _: self.guess("left"))
        self.right_button.on_click(lambda _: self.guess("right"))
        self.image = w.Image(format="png")
        self.stats = w.HTML()
        self.widget = w.VBox([self.image, w.HBox([self.left_button, self.right_button]), self.stats])
        self.next_pair()

    def next_pair(self) -> None:
        """Draw a new digit and a new random side for its original, and show the pair."""
        self.index = int(self._rng.integers(len(self.originals)))
        self.original_side = self.SIDES[int(self._rng.integers(2))]
        pair = (self.originals[self.index], self.reconstructions[self.index])
        if self.original_side == "right":
            pair = pair[::-1]
        self.image.value = self._pair_png(*pair)
        self.stats.value = self._stats_html()

    def guess(self, side: str) -> bool:
        """Record a guess ("left" or "right") for the current pair, show the next; True if it was right."""
        if side not in self.SIDES:
            raise ValueError(f"side must be 'left' or 'right'. Received: side={side!r}")
        right = side == self.original_side
        self.rounds += 1
        self.correct += right
        self.last = f"{'Right' if right else 'Wrong'}: the original of digit {self.index} was on the {self.original_side}."
        self.next_pair()
        return right

    @property
    def p_value(self) -> float:
        """Probability that guessing at random gets at least :attr:`correct` of :attr:`rounds` right."""
        from math import comb

        n = self.rounds
        return sum(comb(n, k) for k in range(self.correct, n + 1)) / 2**n

    def verdict(self) -> str:
        """The score in words, with what it says about visual losslessness."""
        if self.rounds < 10:
            return f"{self.correct} of {self.rounds} right so far: play at least 10 rounds (20 is better)."
        score = (f"{self.correct} of {self.rounds} right ({self.correct / self.rounds:.0%}); "
                 f"random guessing does at least as well with probability {self.p_value:.3f}")  # fmt: skip
        if self.p_value < 0.05:
            return f"{score}: you can tell them apart, so this setting is not visually lossless for you."
        return f"{score}: no evidence you can tell them apart: this setting looks visually lossless to you."

    def _stats_html(self) -> str:
        return f"<p>{html.escape(self.last)}</p><p><b>{html.escape(self.verdict())}</b></p>"

    def _pair_png(self, left, right) -> bytes:
        from PIL import Image

        h, wd = left.shape
        gap = 4 * self.zoom
        canvas = Image.new("L", (2 * wd * self.zoom + gap, h * self.zoom), 255)
        for i, digit in enumerate((left, right)):
            big = Image.fromarray(digit).resize((wd * self.zoom, h * self.zoom), Image.NEAREST)
            canvas.paste(big, (i * (wd * self.zoom + gap), 0))
        buffer = io.BytesIO()
        canvas.save(buffer, format="PNG")
        return buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
