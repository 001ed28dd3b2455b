"""Figures the notebooks share: digit grids and class/pixel summaries."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


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
    for i, (split, labels) in enumerate(labels_by_split.items()):
        counts = np.bincount(np.asarray(labels), minlength=10)
        shares = 100 * counts / counts.sum()
        top = max(top, shares.max())
        ax.bar(np.arange(len(counts)) + i * width, shares, width=width, label=f"{split} ({counts.sum():,})")
    ax.set_xticks(np.arange(10) + width * (len(labels_by_split) - 1) / 2, [str(d) for d in range(10)])
    ax.set_xlabel("class")
    ax.set_ylabel("share of images (%)")
    ax.set_ylim(0, top * 1.3)
    ax.legend(loc="upper center", ncol=len(labels_by_split))
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
    return fig


def show_reconstructions(originals, reconstructions, *, titles=None, size=1.2):
    """Three rows: originals, reconstructions and absolute error maps (uint8 or [0, 1] floats)."""
    originals = np.asarray([_squeeze(x) for x in originals], dtype=np.float32)
    reconstructions = np.asarray([_squeeze(x) for x in reconstructions], dtype=np.float32)
    if originals.max() > 1 or reconstructions.max() > 1:
        originals, reconstructions = originals / 255.0, reconstructions / 255.0
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
    return fig
