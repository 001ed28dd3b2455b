"""Your own handwriting as an MNIST digit: LeCun's preprocessing step by step, then the real codec.

MNIST's digits were not photographed at 28 × 28: each was scanned as black
and white, cropped to its ink, shrunk so that its longer side is 20 pixels
(keeping its proportions; the grey edges come from that anti-aliasing), and
pasted into a 28 × 28 field so that its centre of mass falls on the middle.
Every model of the course learned from digits made that way, so a drawing
must go through the same steps before it is compressed.
:func:`mnist_preprocess` does them and, on request, shows each one.

:func:`code_digit` compresses one digit into real ``.cae`` files, one per
model and quantisation step (:func:`cae_lib.codec.compress`), decompresses
them and measures the PSNR; :func:`steps_figure` and :func:`codec_figure`
draw both, each with its alt text. :func:`example_drawing` draws a few
test inputs with strokes (a 7, the same 7 off-centre, a letter A), and
:func:`from_file` reads a photo of handwriting through
:func:`cae_lib.imageio.read_grayscale`. :func:`as_is` is what you get
without the recipe: the whole picture shrunk to 28 × 28, which is what
``cae compress`` does with an image.

Example:
    >>> from cae_lib import handwriting
    >>> digit, steps = handwriting.mnist_preprocess(handwriting.example_drawing("7"), steps=True)
    >>> digit.shape, digit.dtype, [s.caption.split(":")[0] for s in steps]
    ((28, 28), dtype('uint8'), ['your drawing', 'cropped to the ink', 'scaled into 20 × 20', 'centred in 28 × 28'])
    >>> [round(c) for c in handwriting.centre_of_mass(digit)]
    [14, 14]
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from .images import IMAGE_SIZE

BOX = 20
"""MNIST's box: the longer side of the ink after scaling, in pixels."""
CENTRE = 14.0
"""Where MNIST puts the centre of mass, as a row and column index of the 28 × 28 image (14.0 ± 0.5 on the test set)."""
INK_FLOOR = 0.1
"""After the background is taken away, pixels below this share of the brightest ink count as paper (noise)."""
MIN_CONTRAST = 16
"""The least difference, in 8-bit levels, between ink and background for a drawing to count as one."""
EXAMPLES = ("7", "off-centre 7", "A")
"""The built-in drawings of :func:`example_drawing`."""
PAD_SIZE = 280
"""Side of the drawing pad and of the built-in drawings, in pixels (ten times 28)."""


@dataclass(frozen=True)
class Step:
    """One stage of :func:`mnist_preprocess`: what was done, in words, and the image after it (uint8)."""

    caption: str
    image: np.ndarray


@dataclass(frozen=True)
class Coded:
    """One digit through one model at one step: the ``.cae`` file, its reconstruction and PSNR."""

    model: str
    latent_dim: int
    step: float
    data: bytes
    decoded: np.ndarray
    psnr_db: float

    @property
    def file_bytes(self) -> int:
        return len(self.data)


def centre_of_mass(image) -> tuple[float, float]:
    """``(row, column)`` of an image's centre of mass, its pixel values the weights.

    Example:
        >>> centre_of_mass(np.eye(3))
        (1.0, 1.0)
    """
    pixels = np.asarray(image, dtype=np.float64)
    total = pixels.sum()
    if not total > 0:
        raise ValueError("an image without ink has no centre of mass")
    rows, cols = np.indices(pixels.shape)
    return float((pixels * rows).sum() / total), float((pixels * cols).sum() / total)


def _grayscale(image) -> np.ndarray:
    """A 2-D float64 array of 0-255 levels from a Pillow image or an array (gray, gray + 1, RGB or RGBA)."""
    if hasattr(image, "mode") and hasattr(image, "size"):  # a Pillow image
        from .imageio import working_grayscale

        image = np.asarray(working_grayscale(image)[0])
    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    elif pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        if pixels.shape[-1] == 4:  # drawn on a transparent background: the alpha channel is the ink
            alpha = pixels[..., 3].astype(np.float64)
            if alpha.min() < alpha.max() and np.ptp(pixels[..., :3]) == 0:
                return alpha if pixels.dtype == np.uint8 else alpha * 255.0
        pixels = pixels[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if pixels.ndim != 2 or min(pixels.shape) < 1:
        raise ValueError(f"a drawing is a 2-D grayscale image (or RGB/RGBA). Received: shape {pixels.shape}")
    if pixels.dtype == bool:
        return pixels * 255.0
    pixels = pixels.astype(np.float64)
    if not np.all(np.isfinite(pixels)):
        raise ValueError("the drawing has NaN or infinite pixels")
    if np.issubdtype(np.asarray(image).dtype, np.floating) and pixels.min() >= 0 and pixels.max() <= 1:
        pixels = pixels * 255.0  # floats in [0, 1]
    return pixels


def _to_uint8(pixels) -> np.ndarray:
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def mnist_preprocess(image, *, steps: bool = False, invert: str = "auto"):
    """Turn a drawing or photo of one handwritten digit into a 28 × 28 MNIST digit, the way MNIST was made.

    1. Grayscale, ink light on dark: with ``invert="auto"`` an image whose
       border is mostly light (dark ink on paper) is inverted; the
       background level (the median pixel) is taken away and the ink
       stretched so its brightest pixel is 255; what stays below
       :data:`INK_FLOOR` of it counts as paper.
    2. Cropped to the ink's bounding box.
    3. Scaled so its longer side is 20 pixels, keeping its proportions, with
       an anti-aliasing filter (Pillow's Lanczos): the grey edges of MNIST.
    4. Pasted into 28 × 28 so that its centre of mass is at row 14, column 14
       (to the nearest pixel, as MNIST's test digits are: 14 ± 0.5).

    Args:
        image: A 2-D array (uint8, bool, or floats in [0, 1] or 0-255), an
            ``(H, W, 1)``, RGB or RGBA array, or a Pillow image, of any size.
        steps: Also return the image after each stage, with a caption.
        invert: ``"auto"``, ``"yes"`` (dark ink on light paper) or ``"no"``.

    Returns:
        The digit, uint8 ``(28, 28)``; with ``steps=True``, ``(digit, steps)``,
        ``steps`` a list of :class:`Step`.

    Raises:
        ValueError: An empty drawing (no ink, or ink hardly different from
            the background), a wrong shape, or a wrong ``invert``.
    """
    from PIL import Image

    if invert not in ("auto", "yes", "no"):
        raise ValueError(f"`invert` must be 'auto', 'yes' or 'no'. Received: invert={invert!r}")
    pixels = _grayscale(image)
    height, width = pixels.shape
    shown = [Step(f"your drawing: {width} × {height} pixels", _to_uint8(pixels))]
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    inverted = invert == "yes" or (invert == "auto" and np.median(border) > 127.5)
    if inverted:
        pixels = 255.0 - pixels
    background = float(np.median(pixels))
    contrast = float(pixels.max()) - background
    if contrast < MIN_CONTRAST:
        raise ValueError(
            "nothing is drawn: the image is blank (its brightest ink differs from the background by "
            f"{max(contrast, 0):.0f} of 255 levels, at least {MIN_CONTRAST} are needed). Draw a digit first."
        )
    ink = np.clip((pixels - background) / contrast, 0.0, 1.0)
    ink[ink < INK_FLOOR] = 0.0
    if inverted or background > 0:
        done = ["inverted (dark ink on light paper)"] if inverted else []
        if background > 0:
            done.append(f"background level {background:.0f} taken away")
        shown.append(Step("ink light on dark: " + ", ".join(done), _to_uint8(ink * 255)))

    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    cropped = ink[top:bottom, left:right]
    crop_h, crop_w = cropped.shape
    shown.append(
        Step(f"cropped to the ink: {crop_w} × {crop_h} at ({left}, {top})", _to_uint8(cropped * 255))
    )

    side = max(crop_h, crop_w)
    new_w, new_h = max(1, round(crop_w * BOX / side)), max(1, round(crop_h * BOX / side))
    scaled = Image.fromarray(cropped.astype(np.float32), "F").resize((new_w, new_h), Image.Resampling.LANCZOS)
    # Lanczos rings a little below 0 and above 1 next to sharp edges.
    scaled = np.clip(np.asarray(scaled, dtype=np.float64), 0.0, 1.0)
    if not scaled.max() > 0:
        raise ValueError("nothing is drawn: the ink vanishes when scaled to 20 pixels (a dot or a speck?)")
    factor = BOX / side
    shown.append(
        Step(f"scaled into 20 × 20: {new_w} × {new_h} (×{factor:.3g}, anti-aliased)", _to_uint8(scaled * 255))
    )

    com_row, com_col = centre_of_mass(scaled)
    top, left = round(CENTRE - com_row), round(CENTRE - com_col)
    digit = np.zeros((IMAGE_SIZE, IMAGE_SIZE))
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + new_h, IMAGE_SIZE), min(left + new_w, IMAGE_SIZE)
    digit[r0:r1, c0:c1] = scaled[r0 - top : r1 - top, c0 - left : c1 - left]
    digit = _to_uint8(digit * 255)
    final_row, final_col = centre_of_mass(digit)
    clipped = " (ink beyond the edge cut off)" if (r1 - r0, c1 - c0) != (new_h, new_w) else ""
    shown.append(
        Step(f"centred in 28 × 28: centre of mass ({final_col:.1f}, {final_row:.1f}){clipped}", digit)
    )
    return (digit, shown) if steps else digit


def as_is(image, *, invert: str = "auto") -> np.ndarray:
    """The whole picture shrunk to 28 × 28 without MNIST's recipe (no crop, no 20-pixel box, no centring).

    What ``cae compress`` does with an image file (:func:`cae_lib.imageio.image_to_digit`): fine for a
    digit already drawn like MNIST's, wrong for a small or off-centre one.
    """
    from PIL import Image

    from .imageio import image_to_digit

    pixels = _grayscale(image)
    return image_to_digit(Image.fromarray(_to_uint8(pixels), "L"), invert=invert)[0]


def from_file(source, *, steps: bool = False, invert: str = "auto"):
    """:func:`mnist_preprocess` of an image file: a path, or the file's bytes (an upload).

    Read by :func:`cae_lib.imageio.read_grayscale`: the same checks as ``cae compress`` (size before
    decoding, corrupt files), a photo box-averaged to at most 447 pixels first.
    """
    from .imageio import read_grayscale

    pixels, _ = read_grayscale(source)
    return mnist_preprocess(pixels, steps=steps, invert=invert)


def example_drawing(name: str = "7", *, size: int = PAD_SIZE) -> np.ndarray:
    """A built-in drawing, as the pad would send it: light strokes on a dark ``size × size`` canvas (uint8).

    ``"7"``: a seven in the middle; ``"off-centre 7"``: the same seven, small, in the top-left corner;
    ``"A"``: a capital letter A. Drawn with lines of the pad's default stroke width.
    """
    from PIL import Image, ImageDraw

    strokes = {
        "7": [[(0.28, 0.22), (0.72, 0.22), (0.45, 0.82)], [(0.42, 0.52), (0.64, 0.52)]],
        "A": [[(0.25, 0.82), (0.5, 0.18), (0.75, 0.82)], [(0.36, 0.56), (0.64, 0.56)]],
    }
    if name not in EXAMPLES:
        raise ValueError(f"name must be one of {EXAMPLES}. Received: {name!r}")
    lines = strokes["A" if name == "A" else "7"]
    scale, shift = (0.4, -0.02) if name == "off-centre 7" else (1.0, 0.0)
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    width = round(size * 0.065 * scale)
    for line in lines:
        points = [((x * scale + shift) * size, (y * scale + shift) * size) for x, y in line]
        draw.line(points, fill=255, width=width, joint="curve")
        for x, y in points:  # round ends, like the pad's
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return np.asarray(canvas, dtype=np.uint8).copy()


def code_digit(digit, models: dict, steps=(0.5, 1.0, 2.0)) -> list[Coded]:
    """Compress one digit into a real ``.cae`` file per model and step, decompress it, measure its PSNR.

    Args:
        digit: uint8 ``(28, 28)``.
        models: ``{latent size or name: codec model}`` (e.g. ``pretrained.load_pretrained(d)`` for each d).
        steps: Quantisation steps.

    Returns:
        One :class:`Coded` per model and step, models in the given order, steps within each.
    """
    from . import codec, metrics, pretrained

    digit = np.asarray(digit)
    if digit.shape != (IMAGE_SIZE, IMAGE_SIZE) or digit.dtype != np.uint8:
        raise ValueError(f"digit must be uint8 (28, 28). Received: {digit.dtype} {digit.shape}")
    batch = digit[np.newaxis]
    coded = []
    for key, model in models.items():
        name = key if isinstance(key, str) else pretrained.resolve(int(key))
        latent_dim = int(pretrained.model_info(name)["latent_dim"])
        for step in steps:
            data = codec.compress(batch, model, step=float(step))
            decoded = codec.decompress(data, model)[0]
            psnr = float(metrics.psnr(batch, decoded[np.newaxis], data_range=255)[0])
            coded.append(Coded(name, latent_dim, float(step), data, decoded, psnr))
    return coded


def steps_figure(steps: list[Step], *, size: float = 1.5):
    """The stages of :func:`mnist_preprocess` side by side, each with its caption; with its alt text."""
    import textwrap

    import matplotlib.pyplot as plt

    from .figure_text import describe

    fig, axes = plt.subplots(
        1, len(steps), figsize=(len(steps) * size, size * 1.6), squeeze=False, layout="constrained"
    )
    for ax, step in zip(axes[0], steps):
        ax.imshow(step.image, cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("\n".join(textwrap.wrap(step.caption, 24)), fontsize=7)
    text = "; ".join(f"{i}. {s.caption}" for i, s in enumerate(steps, 1))
    describe(fig, f"MNIST's preprocessing of the drawing, {len(steps)} stages left to right: {text}.")
    return fig


def codec_figure(digit, coded: list[Coded], *, title: str = "", size: float = 1.1):
    """The digit, then its reconstruction per model (rows) and step (columns), titled with bytes and PSNR."""
    import matplotlib.pyplot as plt

    from .figure_text import describe, value_range

    models = list(dict.fromkeys(c.model for c in coded))
    steps = list(dict.fromkeys(c.step for c in coded))
    fig, axes = plt.subplots(len(models), len(steps) + 1, figsize=((len(steps) + 1) * size, len(models) * size * 1.05),
                             squeeze=False)  # fmt: skip
    by_key = {(c.model, c.step): c for c in coded}
    for i, name in enumerate(models):
        for j in range(len(steps) + 1):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                if i == 0:
                    ax.imshow(digit, cmap="gray", vmin=0, vmax=255)
                    ax.set_title("the digit", fontsize=7)
                else:
                    ax.axis("off")
                continue
            c = by_key[(name, steps[j - 1])]
            ax.imshow(c.decoded, cmap="gray", vmin=0, vmax=255)
            ax.set_title(f"{c.file_bytes} B, {c.psnr_db:.1f} dB", fontsize=7)
            if j == 1:
                ax.set_ylabel(f"latent {c.latent_dim}", fontsize=7)
    for j, step in enumerate(steps, 1):
        axes[-1, j].set_xlabel(f"step {step:g}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    best = max(coded, key=lambda c: c.psnr_db)
    describe(fig, (
        f"{title + ': ' if title else ''}the digit (top left), then its reconstruction from a real .cae file for "
        f"latent sizes {value_range([c.latent_dim for c in coded])} (rows) at steps {', '.join(f'{s:g}' for s in steps)} "
        f"(columns): files of {value_range([c.file_bytes for c in coded], ' bytes')}, PSNR "
        f"{value_range([c.psnr_db for c in coded], ' dB')}; the best, {best.psnr_db:.1f} dB, is latent "
        f"{best.latent_dim} at step {best.step:g} ({best.file_bytes} bytes)."
    ))  # fmt: skip
    return fig


def figure_png(fig) -> bytes:
    """A figure as PNG bytes (for an ``ipywidgets.Image``); the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
