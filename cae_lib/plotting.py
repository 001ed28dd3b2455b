"""Figures the notebooks share: digit grids and class/pixel summaries.

Every figure describes itself: each helper stores a text of what it shows,
with its numbers (:func:`describe`), which becomes the picture's alt text in
the notebook's output (:mod:`cae_lib.figure_text`). Describe a figure of your
own the same way: ``plotting.describe(fig, "...")``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .figure_text import count, describe, description, install, listing, num, value_range

__all__ = [
    "architecture_diagram", "codec_pipeline_diagram", "describe", "description", "plot_class_balance",
    "plot_history", "plot_pixel_histogram", "scatter_by_class", "show_digits", "show_digits_by_class", "show_image_grid",
    "show_reconstructions",
]  # fmt: skip

install()  # inside IPython: every figure's PNG output carries its description as alt text


def _size(image) -> str:
    shape = np.shape(image)
    return f"{shape[1]}×{shape[0]}" if len(shape) >= 2 else "?"


def _psnr_db(originals, reconstructions) -> np.ndarray:
    """PSNR of each pair of [0, 1] images, in dB (inf for identical ones)."""
    mse = ((originals - reconstructions) ** 2).reshape(len(originals), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(1.0 / mse)


def _squeeze(image) -> np.ndarray:
    image = np.asarray(image)
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def show_digits(
    images, *, titles=None, ncols: int = 10, size: float = 1.2, cmap: str = "gray", suptitle=None
):
    """Show images in a grid, one small panel each, with optional titles.

    Args:
        images: ``(n, 28, 28)`` or ``(n, 28, 28, 1)``, uint8 or float.
        titles: Optional sequence of str, one title per image.
        ncols: Panels per row.
        size: Side of one panel in inches.
        cmap: Matplotlib colour map.
        suptitle: Optional title above the whole grid.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    images = [_squeeze(im) for im in images]
    n = len(images)
    if n == 0:
        raise ValueError("show_digits needs at least one image. Received: 0 images")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            vmax = 255 if images[i].dtype == np.uint8 else 1.0
            ax.imshow(images[i], cmap=cmap, vmin=0, vmax=vmax)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    text = f"{count(n, 'image')} of {_size(images[0])} pixels"
    text += f" in {count(nrows, 'row')} of {ncols}" if nrows > 1 else " side by side" if n > 1 else ""
    if titles is not None:
        text += f", titled {listing(titles)}"
    describe(fig, text[0].upper() + text[1:] + ".")
    return fig


def show_digits_by_class(images, labels, *, per_class: int = 8, class_names=None, size: float = 1.0):
    """Show the first ``per_class`` images of each class, one row per class.

    Args:
        images: ``(n, 28, 28)`` or ``(n, 28, 28, 1)``.
        labels: The class of each image, ``(n,)``.
        per_class: Images shown per class.
        class_names: Optional names indexed by class (default: the class number).
        size: Side of one panel in inches.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    fig, axes = plt.subplots(
        len(classes), per_class, figsize=(per_class * size, len(classes) * size), squeeze=False
    )
    for row, cls in enumerate(classes):
        picks = np.flatnonzero(labels == cls)[:per_class]
        for col, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if col < len(picks):
                ax.imshow(_squeeze(images[picks[col]]), cmap="gray")
        name = class_names[cls] if class_names is not None else str(cls)
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    fig.tight_layout()
    names = [class_names[c] if class_names is not None else str(c) for c in classes]
    sizes = [int((labels == c).sum()) for c in classes]
    describe(fig, f"The first {count(per_class, 'image')} of each of {count(len(classes), 'class', 'classes')} "
                  f"({listing(names)}), one row per class, from {num(len(labels))} images "
                  f"({value_range(sizes)} per class).")  # fmt: skip
    return fig


def plot_class_balance(labels_by_split: dict, *, ax=None):
    """Bar chart of each class's share of the images (%), one group of bars per split.

    Args:
        labels_by_split: ``{"train": y_train, "test": y_test}``.
        ax: Matplotlib axes to draw on (default: a new figure).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    width = 0.8 / len(labels_by_split)
    top = 0.0
    summary = []
    for i, (split, labels) in enumerate(labels_by_split.items()):
        counts = np.bincount(np.asarray(labels), minlength=10)
        shares = 100 * counts / counts.sum()
        top = max(top, shares.max())
        ax.bar(np.arange(len(counts)) + i * width, shares, width=width, label=f"{split} ({counts.sum():,})")
        lo, hi = int(np.argmin(shares)), int(np.argmax(shares))
        summary.append(f"{split} ({num(counts.sum())} images) from {shares[lo]:.1f} % (class {lo}) "
                       f"to {shares[hi]:.1f} % (class {hi})")  # fmt: skip
    ax.set_xticks(np.arange(10) + width * (len(labels_by_split) - 1) / 2, [str(d) for d in range(10)])
    ax.set_xlabel("class")
    ax.set_ylabel("share of images (%)")
    ax.set_ylim(0, top * 1.3)
    ax.legend(loc="upper center", ncol=len(labels_by_split))
    describe(ax, f"Bar chart of each class's share of the images, per split: {'; '.join(summary)}.")
    return ax


CLASS_COLOURS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
                 "#999999", "#882255")  # fmt: skip
"""One colour per class 0-9: Okabe and Ito's eight colour-blind-safe colours, then grey and wine."""
CLASS_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")
"""One marker per class 0-9, so no class is told from another by colour alone."""


def scatter_by_class(points, labels, *, ax=None, size: float = 4.0, title=None):
    """2-D points coloured and shaped by class, each class's numeral written at its median point.

    Readable without telling red from green: the classes differ in colour
    (Okabe and Ito's palette), in marker shape and, above all, by the digit
    printed where each class sits.

    Args:
        points: ``(n, 2)`` coordinates.
        labels: ``(n,)`` class of each point (ints).
        ax: Matplotlib axes to draw on (default: a new figure).
        size: Marker area, in points squared.
        title: Optional axes title.

    Returns:
        The axes.

    Example:
        >>> import numpy as np
        >>> ax = scatter_by_class(np.random.default_rng(0).normal(size=(40, 2)), np.arange(40) % 4)
        >>> description(ax.figure).startswith("A scatter of 40 points in 4 classes")
        True
        >>> plt.close(ax.figure)
    """
    import matplotlib.patheffects as effects

    points, labels = np.asarray(points, dtype=np.float64), np.asarray(labels)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(labels):
        raise ValueError(
            f"points must be (n, 2) with one label each. Received: points={points.shape}, labels={labels.shape}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    classes = [int(c) for c in np.unique(labels)]
    for c in classes:
        mine = points[labels == c]
        k = c % len(CLASS_COLOURS)
        ax.scatter(mine[:, 0], mine[:, 1], s=size, color=CLASS_COLOURS[k], marker=CLASS_MARKERS[k],
                   linewidths=0, alpha=0.7, label=str(c))  # fmt: skip
    for c in classes:
        x, y = np.median(points[labels == c], axis=0)
        ax.text(x, y, str(c), fontsize=14, fontweight="bold", ha="center", va="center", color="black",
                path_effects=[effects.withStroke(linewidth=3, foreground="white")])  # fmt: skip
    ax.legend(title="class", markerscale=3, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        ax.set_title(title)
    spread = {c: float(np.linalg.norm(points[labels == c].std(axis=0))) for c in classes}
    tight, loose = min(spread, key=spread.get), max(spread, key=spread.get)
    describe(ax, f"A scatter of {num(len(points))} points in {len(classes)} classes"
                 + (f" ({title})" if title else "")
                 + f", each class in its own colour and marker with its numeral at its median point; class {tight} "
                   f"is the tightest cluster, class {loose} the most spread out.")  # fmt: skip
    return ax


def plot_pixel_histogram(images, *, ax=None, log: bool = True):
    """Histogram of all pixel values (256 bins for uint8 images); returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    values = np.asarray(images).ravel()
    counts = np.bincount(values, minlength=256) if values.dtype == np.uint8 else np.histogram(values, 256)[0]
    ax.bar(np.arange(len(counts)), counts, width=1.0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("pixel value")
    ax.set_ylabel("pixels" + (" (log scale)" if log else ""))
    if values.size:
        lo, hi = values.min(), values.max()
        text = (f"Histogram of {num(values.size)} pixel values from {num(lo)} to {num(hi)}, in {len(counts)} bins"
                f"{', counts on a log scale' if log else ''}: {100 * np.mean(values == lo):.1f} % are {num(lo)}, "
                f"{100 * np.mean(values == hi):.1f} % are {num(hi)}; mean {num(values.mean())}.")  # fmt: skip
        describe(ax, text)
    return ax


def plot_history(history, *, ax=None):
    """Plot training (and validation) loss per epoch from a Keras History; returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    hist = history.history if hasattr(history, "history") else history
    epochs = np.arange(1, len(hist["loss"]) + 1)
    ax.plot(epochs, hist["loss"], "o-", label="train")
    if "val_loss" in hist:
        ax.plot(epochs, hist["val_loss"], "s--", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    curves = [("training", hist["loss"])] + ([("validation", hist["val_loss"])] if "val_loss" in hist else [])
    parts = [f"{name} {num(values[0])}" if len(values) == 1 else f"{name} from {num(values[0])} to {num(values[-1])}"
             for name, values in curves]  # fmt: skip
    describe(ax, f"Loss per epoch over {count(len(epochs), 'epoch')}: {', '.join(parts)}.")
    return ax


def show_image_grid(rows, *, row_labels=None, col_labels=None, cmap="gray", symmetric=False, size=1.3):
    """Show a table of images: ``rows[i][j]`` in row i, column j.

    Args:
        rows: Sequence of sequences of images, each ``(H, W)`` or ``(H, W, 1)``.
        row_labels: Optional sequence of str, one label per row.
        col_labels: Optional sequence of str, one label per column.
        cmap: Colour map.
        symmetric: Scale each image to ``[-m, m]`` (``m`` its largest
            absolute value), for signed maps such as filter responses or errors.
        size: Side of one panel in inches.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    nrows, ncols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size), squeeze=False)
    for i, row in enumerate(rows):
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(row):
                ax.axis("off")
                continue
            image = _squeeze(row[j])
            if symmetric:
                m = float(np.abs(image).max()) or 1.0
                ax.imshow(image, cmap=cmap, vmin=-m, vmax=m)
            else:
                ax.imshow(image, cmap=cmap)
            if i == 0 and col_labels is not None:
                ax.set_title(str(col_labels[j]), fontsize=8)
        if row_labels is not None:
            axes[i, 0].set_ylabel(str(row_labels[i]), fontsize=8)
    fig.tight_layout()
    cells = sum(len(r) for r in rows)
    text = f"A table of {count(cells, 'image')}, {count(nrows, 'row')} of {count(ncols, 'column')}"
    if col_labels is not None:
        text += f"; columns: {listing(col_labels)}"
    if row_labels is not None:
        text += f"; rows: {listing(row_labels)}"
    if symmetric:
        text += f"; each image's colour scale ({cmap}) is symmetric about zero"
    describe(fig, text + ".")
    return fig


def _unit_range(images) -> np.ndarray:
    """Images as float32 in [0, 1]: uint8 (or any with values above 1) divided by 255."""
    images = np.asarray([_squeeze(x) for x in images])
    scaled = images.dtype == np.uint8 or (images.size and images.max() > 1)
    return images.astype(np.float32) / (255.0 if scaled else 1.0)


def show_reconstructions(originals, reconstructions, *, titles=None, size=1.2):
    """Three rows: originals, reconstructions and absolute error maps.

    Each of the two may be uint8 (0-255) or [0, 1] floats, independently: float
    originals and uint8 decoded digits compare on the same scale.
    """
    originals, reconstructions = _unit_range(originals), _unit_range(reconstructions)
    errors = np.abs(originals - reconstructions)
    fig, axes = plt.subplots(
        3, len(originals), figsize=(len(originals) * size, 3 * size * 1.1), squeeze=False
    )
    for j in range(len(originals)):
        for i, (image, cmap) in enumerate(
            [(originals[j], "gray"), (reconstructions[j], "gray"), (errors[j], "magma")]
        ):
            axes[i, j].imshow(image, cmap=cmap, vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        if titles is not None:
            axes[0, j].set_title(str(titles[j]), fontsize=8)
    for i, label in enumerate(["original", "reconstruction", "|error|"]):
        axes[i, 0].set_ylabel(label, fontsize=8)
    fig.tight_layout()
    psnr = _psnr_db(originals, reconstructions)
    n = len(originals)
    finite = psnr[np.isfinite(psnr)]
    mean = num(finite.mean()) if finite.size else "inf"
    text = (f"{count(n, 'image')} (top row), their reconstructions (middle row, PSNR {value_range(psnr, ' dB')}, "
            f"mean {mean} dB) and absolute error maps (bottom row, largest error {num(errors.max())} of the "
            "full range, dark: none)")  # fmt: skip
    if titles is not None:
        text += f"; titled {listing(titles)}"
    describe(fig, text[0].upper() + text[1:] + ".")
    return fig


def codec_pipeline_diagram(
    *,
    latent_dim: int = 28,
    image_side: int = 28,
    step: float | None = None,
    symbols=None,
    payload_bytes: int | None = None,
    file_bytes: int | None = None,
    psnr_db: float | None = None,
    ax=None,
):
    """Draw the codec pipeline: what ``codec.compress`` does (top row) and ``codec.decompress`` (bottom row).

    Operations are blue boxes; between them, grey boxes say what flows, with
    its size for one digit: ``image_side**2`` bytes of pixels, ``latent_dim``
    float32 values (4 bytes each), ``latent_dim`` integer symbols, then the
    file. Pass the numbers of a real digit to label it with them.

    Args:
        latent_dim: Values in the latent.
        image_side: Side of the square uint8 image in pixels.
        step: The quantisation step, shown in the quantiser (None: not shown).
        symbols: The digit's integer symbols; the first few are shown.
        payload_bytes: Bytes of range-coded payload of the digit.
        file_bytes: Bytes of its whole ``.cae`` file (header and checksum included).
        psnr_db: PSNR of the decoded digit, shown under it.
        ax: Matplotlib axes to draw on (default: a new figure).

    Returns:
        The ``matplotlib.figure.Figure``.

    Example:
        >>> fig = codec_pipeline_diagram(step=1.0, payload_bytes=12, file_bytes=28)  # doctest: +SKIP
    """
    if latent_dim < 1 or image_side < 1:
        raise ValueError(
            f"latent_dim and image_side must be positive. Received: latent_dim={latent_dim}, image_side={image_side}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3.6))
    pixels = image_side * image_side
    step_text = "" if step is None else f"\nstep = {step:g}"
    shown = ""
    if symbols is not None:
        values = [int(v) for v in np.ravel(symbols)]
        shown = "\n[" + ", ".join(str(v) for v in values[:4]) + (", …]" if len(values) > 4 else "]")
    if file_bytes is not None and payload_bytes is not None:
        header = file_bytes - payload_bytes
        file_text = f".cae file\n{file_bytes} B =\n{header} header/CRC\n+ {payload_bytes} payload"
    elif file_bytes is not None:
        file_text = f".cae file\n{file_bytes} B"
    elif payload_bytes is not None:
        file_text = f"payload\n{payload_bytes} B"
    else:
        file_text = ".cae file\nbytes"
    digit = f"digit\n{image_side}×{image_side} uint8\n= {pixels} B"
    decoded = f"decoded digit\n{image_side}×{image_side} uint8\n= {pixels} B"
    if psnr_db is not None:
        decoded += f"\n{psnr_db:.1f} dB"
    latent = f"latent z\n{latent_dim} float32\n= {4 * latent_dim} B"
    top = [
        (digit, "data"), ("encoder", "op"), (latent, "data"), ("rotate\ny = (z − loc)·R", "op"),
        (f"y\n{latent_dim} floats", "data"), (f"quantise\nk = round(y / step){step_text}", "op"),
        (f"k\n{latent_dim} integers{shown}", "data"), ("range coder\n(prior: Gaussian\nper coordinate)", "op"),
    ]  # fmt: skip
    bottom = [
        (decoded, "data"), ("decoder", "op"), (f"ẑ\n{latent_dim} float32", "data"),
        ("un-rotate\nẑ = k·step·Rᵀ + loc", "op"), (f"k\n{latent_dim} integers", "data"),
        ("range decoder\n(same prior)", "op"),
    ]  # fmt: skip
    style = {
        "op": {"boxstyle": "round,pad=0.4", "facecolor": "#cfe2f3", "edgecolor": "#3d6f9e"},
        "data": {"boxstyle": "square,pad=0.35", "facecolor": "#f2f2f2", "edgecolor": "#999999"},
        "file": {"boxstyle": "square,pad=0.4", "facecolor": "#fde9c9", "edgecolor": "#c27c0e"},
    }
    dx = 1.5
    width = dx * len(top) + 0.9
    y_top, y_bottom, y_file = 2.2, 0.2, 1.2

    def node(x, y, text, kind):
        return ax.text(x, y, text, ha="center", va="center", fontsize=8, bbox=style[kind], zorder=2)

    def arrow(source, target, start=(1.0, 0.5), end=(0.0, 0.5)):
        """An arrow between two boxes, from a point of ``source`` to one of ``target`` (fractions of each text)."""
        ax.annotate("", xy=end, xycoords=target, xytext=start, textcoords=source, zorder=1,
                    arrowprops={"arrowstyle": "-|>", "color": "#555555", "shrinkA": 6, "shrinkB": 6})  # fmt: skip

    tops = [node(i * dx, y_top, text, kind) for i, (text, kind) in enumerate(top)]
    for a, b in zip(tops, tops[1:]):
        arrow(a, b)
    file_x = len(top) * dx
    file_box = node(file_x, y_file, file_text, "file")
    arrow(tops[-1], file_box, start=(0.5, 0.0), end=(0.5, 1.0))
    first_x = (len(top) - len(bottom)) * dx
    bottoms = [node(first_x + i * dx, y_bottom, text, kind) for i, (text, kind) in enumerate(bottom)]
    arrow(file_box, bottoms[-1], start=(0.5, 0.0), end=(1.0, 0.5))
    for a, b in zip(bottoms[::-1], bottoms[::-1][1:]):
        arrow(a, b, start=(0.0, 0.5), end=(1.0, 0.5))
    bold = {"fontsize": 9, "fontweight": "bold", "ha": "left"}
    ax.text(-0.7, y_top + 0.75, "compress (sender)", **bold)
    ax.text(first_x - 0.7, y_bottom - 0.8, "decompress (receiver)", **bold)
    ax.set_xlim(-0.8, width)
    ax.set_ylim(y_bottom - 1.0, y_top + 1.0)
    ax.axis("off")
    ax.figure.tight_layout()
    step_words = "" if step is None else f" with step {step:g}"
    shown_words = "" if not shown else f" ({shown.strip()})"
    if file_bytes is not None and payload_bytes is not None:
        file_words = f"a .cae file of {file_bytes} bytes ({file_bytes - payload_bytes} header and checksum, " \
                     f"{payload_bytes} payload)"  # fmt: skip
    elif file_bytes is not None:
        file_words = f"a .cae file of {file_bytes} bytes"
    elif payload_bytes is not None:
        file_words = f"a payload of {payload_bytes} bytes"
    else:
        file_words = "a .cae file"
    decoded_words = "" if psnr_db is None else f", {psnr_db:.1f} dB PSNR"
    describe(ax, f"Diagram of the codec. Compress (top row, left to right): a {image_side}×{image_side} digit of "
                 f"{pixels} bytes, the encoder, a latent of {latent_dim} float32 values ({4 * latent_dim} bytes), "
                 f"rotated, quantised{step_words} to {latent_dim} integer symbols{shown_words}, range coded into "
                 f"{file_words}. Decompress (bottom row, right to left): range decoder, {latent_dim} integers, "
                 f"un-rotated, the decoder, a decoded {image_side}×{image_side} digit{decoded_words}.")  # fmt: skip
    return ax.figure


def _layer_box_text(layer) -> tuple[str, str]:
    """``(text, kind)`` of one layer for :func:`architecture_diagram`: what it does, its output shape and parameters."""
    kind_name = type(layer).__name__
    shape = tuple(layer.output.shape[1:])
    shape_text = "×".join(str(d) for d in shape)
    activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
    act = "" if activation == "linear" else f"\n+ {'ReLU' if activation == 'relu' else activation}"
    if kind_name == "InputLayer":
        return f"{layer.name}\ninput\n{shape_text}", "input"
    if kind_name in ("Conv2D", "Conv2DTranspose"):
        k = "×".join(str(d) for d in layer.kernel_size)
        stride = "" if tuple(layer.strides) == (1, 1) else f", stride {layer.strides[0]}"
        what = "Conv2D" if kind_name == "Conv2D" else "Conv2DTranspose"
        text = f"{layer.name}\n{what} {layer.filters}\n{k}{stride}{act}"
        kind = "conv"
    elif kind_name == "Dense":
        text, kind = f"{layer.name}\nDense {layer.units}{act}", "dense"
    elif kind_name == "ReLU":
        text, kind = f"{layer.name}\nReLU", "activation"
    else:
        text, kind = f"{layer.name}\n{kind_name}", "reshape"
    params = int(layer.count_params())
    return f"{text}\n→ {shape_text}" + (f"\n{params:,} params" if params else ""), kind


def _layer_words(layer) -> str:
    """One layer in words for :func:`architecture_diagram`'s description: "conv1 (Conv2D 16, 3×3, stride 2) → 14×14×16"."""
    text, kind = _layer_box_text(layer)
    lines = text.split("\n")
    if kind == "input":
        return f"{layer.name} (input) {lines[-1]}"
    what = [w.lstrip("+ ") for w in lines[1:] if not w.startswith("→") and "params" not in w]
    shape = next(w[2:] for w in lines if w.startswith("→ "))
    params = int(layer.count_params())
    return f"{lines[0]} ({', '.join(what)}) → {shape}" + (f", {params:,} parameters" if params else "")


def architecture_diagram(encoder=None, decoder=None, *, latent_dim: int = 28, ax=None):
    """Draw an encoder and a decoder layer by layer, each box with its layer, activation, output shape and parameters.

    The boxes are read from the models themselves (``model.layers``), so the
    picture is whatever the models are: the course's by default, or yours.
    The encoder runs left to right on top; the decoder mirrors it right to
    left underneath, so each decoder layer sits under the encoder layer it
    undoes.

    Args:
        encoder: A functional ``keras.Model`` (default:
            ``models.build_encoder(latent_dim)``).
        decoder: A functional ``keras.Model`` (default:
            ``models.build_decoder(latent_dim)``).
        latent_dim: Latent size of the default models.
        ax: Matplotlib axes to draw on (default: a new figure).

    Returns:
        The ``matplotlib.figure.Figure``.

    Example:
        >>> fig = architecture_diagram(latent_dim=8)  # doctest: +SKIP
    """
    from . import models

    encoder = models.build_encoder(latent_dim) if encoder is None else encoder
    decoder = models.build_decoder(latent_dim) if decoder is None else decoder
    rows = [[_layer_box_text(layer) for layer in model.layers] for model in (encoder, decoder)]
    said = ["; ".join(_layer_words(layer) for layer in model.layers) for model in (encoder, decoder)]
    columns = max(len(row) for row in rows)
    dx, y_top, y_bottom = 1.55, 2.3, 0.0
    if ax is None:
        _, ax = plt.subplots(figsize=(dx * columns + 1.0, 5.0))
    colours = {
        "input": ("#ffffff", "#777777"),
        "conv": ("#cfe2f3", "#3d6f9e"),
        "dense": ("#fde9c9", "#c27c0e"),
        "activation": ("#d9ead3", "#4e8a3a"),
        "reshape": ("#f2f2f2", "#999999"),
    }

    def node(x, y, text, kind):
        face, edge = colours[kind]
        style = {"boxstyle": "round,pad=0.35", "facecolor": face, "edgecolor": edge}
        ax.text(x, y, text, ha="center", va="center", fontsize=7.5, bbox=style, zorder=2)

    def arrow(start, end, shrink=34):
        ax.annotate("", xy=end, xytext=start, zorder=1,
                    arrowprops={"arrowstyle": "-|>", "color": "#555555", "shrinkA": shrink, "shrinkB": shrink})  # fmt: skip

    top_xs = [i * dx for i in range(len(rows[0]))]
    bottom_xs = [(columns - 1 - i) * dx for i in range(len(rows[1]))]
    for xs, y, row in ((top_xs, y_top, rows[0]), (bottom_xs, y_bottom, rows[1])):
        for x, (text, kind) in zip(xs, row):
            node(x, y, text, kind)
        for a, b in zip(xs, xs[1:]):
            arrow((a, y), (b, y))
    arrow((top_xs[-1], y_top), (bottom_xs[0], y_bottom), shrink=44)
    bold = {"fontsize": 9, "fontweight": "bold", "ha": "left"}
    ax.text(-0.7, y_top + 1.05, f"{encoder.name}: {encoder.count_params():,} parameters →", **bold)
    ax.text(-0.7, y_bottom - 1.15, f"← {decoder.name}: {decoder.count_params():,} parameters", **bold)
    ax.set_xlim(-0.8, dx * (columns - 1) + 0.8)
    ax.set_ylim(y_bottom - 1.3, y_top + 1.3)
    ax.axis("off")
    ax.figure.tight_layout()
    describe(ax, f"Diagram of the layers. {encoder.name}, {num(encoder.count_params())} parameters, top row left "
                 f"to right: {said[0]}. {decoder.name}, {num(decoder.count_params())} parameters, bottom row right "
                 f"to left: {said[1]}.")  # fmt: skip
    return ax.figure
