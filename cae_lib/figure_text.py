"""Figures that describe themselves: a text of what a figure shows, with its numbers, as its picture's alt text.

A notebook shows a matplotlib figure as a PNG; a reader who cannot see it
(a screen reader, a text-only export, a search engine) gets nothing unless the
output carries a description. Here every figure gets one:

* :func:`describe` stores a text on a figure or on one of its axes (every
  helper of :mod:`cae_lib.plotting` stores one with its real numbers);
* :func:`description` is the text of a figure: its own, or its axes' texts,
  or, for a figure nobody described, one read from the figure itself (titles,
  axis labels and ranges, legend entries, how many images);
* :func:`install` makes IPython put that text in the output as the PNG's
  ``alt`` metadata (``{"image/png": {"alt": ...}}``), which nbconvert's
  templates turn into ``<img alt=...>``. It wraps whatever PNG printer the
  inline backend registered for figures (so ``retina`` and other settings
  stay), and wraps it again before and after each cell if a setting replaced
  it. Outside IPython it does nothing.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([1, 2, 4], [20.0, 23.5, 26.0], label="codec")
    >>> _ = ax.set_xlabel("bytes per digit")
    >>> description(fig)
    'Line chart of y (20 to 26) against bytes per digit (x, 1 to 4); codec: 20 to 26.'
    >>> _ = describe(fig, "PSNR of the codec at 1, 2 and 4 bytes: 20.0, 23.5 and 26.0 dB.")
    >>> description(fig)
    'PSNR of the codec at 1, 2 and 4 bytes: 20.0, 23.5 and 26.0 dB.'
    >>> plt.close(fig)
"""

from __future__ import annotations

import sys

import numpy as np

ATTRIBUTE = "_cae_description"
"""The attribute :func:`describe` sets on a figure or an axes."""
MAX_CHARS = 1500
"""Longest description; a longer one is cut at a word and ends with an ellipsis."""
MIMETYPES = ("image/png", "image/jpeg")
"""The outputs of a figure that get the alt text (nbconvert reads ``alt`` for both)."""
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve")  # fmt: skip


# --------------------------------------------------------------------------- words and numbers


def num(x) -> str:
    """A number as a reader wants it: thousands separated, three significant digits at most.

    Example:
        >>> num(60000), num(23.456), num(1.10), num(0.12345), num(3.0), num(float("nan"))
        ('60,000', '23.5', '1.1', '0.123', '3', 'nan')
    """
    x = float(x)
    if not np.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` things in words: "eight digits", "one epoch", "1,000 images".

    Example:
        >>> count(8, "digit"), count(1, "epoch"), count(1000, "image")
        ('eight digits', 'one epoch', '1,000 images')
    """
    n = int(n)
    word = _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else f"{n:,}"
    return f"{word} {noun if n == 1 else plural or noun + 's'}"


def value_range(values, unit: str = "") -> str:
    """``"22.9-27.4 dB"`` (an en dash), or one value when all are equal; finite values only.

    Example:
        >>> value_range([27.4, 22.91, 25.0], " dB"), value_range([3, 3]), value_range([])
        ('22.9–27.4 dB', '3', 'no values')
    """
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "no values"
    lo, hi = num(values.min()), num(values.max())
    return f"{lo}{unit}" if lo == hi else f"{lo}–{hi}{unit}"


def listing(items, limit: int = 12) -> str:
    """Items joined by commas, one line each, the rest counted after ``limit``.

    Example:
        >>> listing(["a", "b\\nc"]), listing(range(5), limit=3)
        ('a, b c', '0, 1, 2 and 2 more')
    """
    items = [" ".join(str(i).split()) for i in items]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _clean(text) -> str:
    text = " ".join(str(text).split())
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


# --------------------------------------------------------------------------- describing a figure


def describe(target, text):
    """Store ``text`` as the description of a figure or of one axes; returns ``target``.

    A figure's own text is its whole description. An axes' text describes
    that panel, and a figure without its own text is described by its panels.
    End the cell with ``;`` (or assign the result) so the figure shows once.

    Args:
        target: A ``matplotlib.figure.Figure`` or ``matplotlib.axes.Axes``.
        text: What it shows, with its numbers; one to three sentences.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> fig = describe(plt.figure(), "Nothing yet.")
        >>> description(fig)
        'Nothing yet.'
        >>> plt.close(fig)
    """
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

    if not isinstance(target, (Axes, FigureBase)):
        raise TypeError(f"describe needs a matplotlib Figure or Axes. Received: {type(target).__name__}")
    if not str(text).strip():
        raise ValueError("describe needs a non-empty text")
    setattr(target, ATTRIBUTE, _clean(text))
    install()
    return target


def own_description(target) -> str | None:
    """The text :func:`describe` stored on a figure or axes, or None."""
    return getattr(target, ATTRIBUTE, None)


def _is_colorbar(ax) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def _title(ax) -> str:
    return " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t.strip())


def _suptitle(fig) -> str:
    sup = getattr(fig, "_suptitle", None)
    return sup.get_text().strip() if sup is not None else ""


def _with_title(title: str, text: str) -> str:
    title = " ".join(title.split())
    return f"{title}: {text}" if title and title.lower() not in text.lower() else text


def _axis_data(ax, which: str) -> np.ndarray:
    """The finite data values along one axis: lines and points in data coordinates, bar positions and heights."""
    data = []
    for line in ax.get_lines():
        transform = line.get_transform()
        if transform is not ax.transData:  # axhline, axvline: one coordinate is a fraction of the axes
            if not transform.contains_branch_seperately(ax.transData)[0 if which == "x" else 1]:
                continue
        data.append(np.asarray(line.get_xdata() if which == "x" else line.get_ydata(), dtype=float).ravel())
    for collection in ax.collections:
        offsets = np.asarray(collection.get_offsets(), dtype=float)
        if offsets.ndim == 2 and offsets.shape[1] == 2 and len(offsets) > 1:
            data.append(offsets[:, 0 if which == "x" else 1])
    for container in ax.containers:
        if type(container).__name__ == "BarContainer":
            patches = container.patches
            if which == "x":
                data.append(np.array([p.get_x() + p.get_width() / 2 for p in patches], dtype=float))
            else:
                data.append(np.array([p.get_height() for p in patches], dtype=float))
    data = np.concatenate(data) if data else np.array([])
    return data[np.isfinite(data)]


def _axis_phrase(ax, which: str) -> str:
    """``"mean PSNR (dB) (y, 16.2 to 24.8)"``: the label, the scale if not linear, the data range."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    label = " ".join(axis.get_label_text().split())
    scale = axis.get_scale()
    data = _axis_data(ax, which)
    parts = [which] if label else []
    parts += [f"{scale} scale"] if scale != "linear" else []
    if data.size:
        parts.append(f"{num(data.min())} to {num(data.max())}")
    if not parts:
        return ""
    return f"{label or which} ({', '.join(parts)})"


def _legend_entries(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def axes_description(ax) -> str:
    """The text of one panel: its own (:func:`describe`), or one read from what it draws."""
    own = own_description(ax)
    if own:
        return _with_title(_title(ax), own)
    if _is_colorbar(ax):
        colorbar = ax._colorbar
        label = " ".join(ax.get_ylabel().split() or ax.get_xlabel().split())
        lo, hi = colorbar.vmin, colorbar.vmax
        return f"colour scale{' ' + label if label else ''} from {num(lo)} to {num(hi)}."
    images = ax.get_images()
    bars = [c for c in ax.containers if type(c).__name__ == "BarContainer"]
    lines = [line for line in ax.get_lines() if len(np.atleast_1d(line.get_xdata())) > 1]
    scatters = [c for c in ax.collections if len(np.atleast_1d(c.get_offsets())) > 1]
    texts = [t for t in ax.texts if t.get_text().strip()]
    if images and not (bars or lines or scatters):
        shape = np.shape(images[0].get_array())
        size = f"{shape[1]}×{shape[0]} " if len(shape) >= 2 else ""
        text = f"{size}image" if len(images) == 1 else f"{count(len(images), 'image')}"
        label = " ".join(ax.get_ylabel().split())
        text = text[0].upper() + text[1:] + (f" ({label})" if label else "")
        return _with_title(_title(ax), text + ".")
    kinds = []
    if bars:
        kinds.append("bar chart" if len(bars) == 1 else f"bar chart of {len(bars)} series")
    if lines:
        kinds.append("line chart")
    if scatters:
        points = sum(len(c.get_offsets()) for c in scatters)
        kinds.append(f"scatter plot of {num(points)} points")
    if images:
        kinds.append("image")
    if not kinds:
        if texts:
            shown = listing([t.get_text() for t in texts], limit=8)
            return _with_title(
                _title(ax), f"Diagram of {count(len(texts), 'labelled box', 'labelled boxes')}: {shown}."
            )
        return _with_title(_title(ax), "Empty panel.")
    text = " and ".join(kinds)
    text = text[0].upper() + text[1:]
    axes = [p for p in (_axis_phrase(ax, "x"), _axis_phrase(ax, "y")) if p]
    if axes:
        text += " of " + " against ".join(axes[::-1]) if len(axes) == 2 else " of " + axes[0]
    details = []
    for line in lines:
        label = line.get_label()
        y = np.asarray(line.get_ydata(), dtype=float)
        if label and not label.startswith("_"):
            details.append(f"{label}: {value_range(y).replace('–', ' to ')}")
    for container in bars:
        heights = container.patches
        label = container.get_label()
        name = f"bars {label}" if label and not label.startswith("_") else "bars"
        details.append(f"{len(heights)} {name}")
    legend = [e for e in _legend_entries(ax) if not any(e in d for d in details)]
    if legend:
        details.append("legend: " + listing(legend))
    if details:
        text += "; " + "; ".join(details)
    return _with_title(_title(ax), text + ".")


def fallback_description(fig) -> str:
    """A figure's text read from the figure itself: each panel's, with runs of image panels counted together."""
    panels = [ax for ax in fig.axes if ax.get_visible() and not _is_colorbar(ax)]
    colorbars = [ax for ax in fig.axes if _is_colorbar(ax)]
    image_panels = [ax for ax in panels if ax.get_images() and not own_description(ax)
                    and not (ax.get_lines() or ax.containers or ax.collections)]  # fmt: skip
    parts = []
    if len(image_panels) > 1:
        titles = [t for t in (_title(ax) for ax in image_panels) if t]
        labels = [lab for lab in (" ".join(ax.get_ylabel().split()) for ax in image_panels) if lab]
        shape = np.shape(image_panels[0].get_images()[0].get_array())
        size = f" of {shape[1]}×{shape[0]} pixels" if len(shape) >= 2 else ""
        rows = len({round(ax.get_position().y0, 3) for ax in image_panels})
        grid = f", {count(rows, 'row')}" if rows > 1 else ""
        text = f"{count(len(image_panels), 'image')}{size}{grid}"
        if titles:
            text += f", titled {listing(titles)}"
        if labels:
            text += f"; rows labelled {listing(labels)}"
        parts.append(text[0].upper() + text[1:] + ".")
        panels = [ax for ax in panels if ax not in image_panels]
    texts = [axes_description(ax) for ax in panels]
    if len(texts) > 1:
        texts = [f"Panel {i} of {len(texts)}: {t}" for i, t in enumerate(texts, 1)]
    parts += texts
    parts += [axes_description(ax)[0].upper() + axes_description(ax)[1:] for ax in colorbars]
    if not parts:
        parts = ["An empty figure."]
    return " ".join(parts)


def description(fig) -> str:
    """The description of a figure: its own text, else its panels' (:func:`fallback_description`).

    The figure's suptitle leads the text when the text does not already say it.
    """
    text = own_description(fig) or fallback_description(fig)
    return _clean(_with_title(_suptitle(fig), text))


# --------------------------------------------------------------------------- IPython


class AltPrinter:
    """A figure printer of IPython's, wrapped to return ``(data, metadata)`` with the figure's ``alt``.

    ``inner`` is the printer the inline backend registered (PNG, retina PNG
    or JPEG); its own metadata (a retina figure's width and height) is kept.
    """

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, fig):
        result = self.inner(fig)
        if result is None:
            return None
        data, metadata = result if isinstance(result, tuple) else (result, None)
        metadata = dict(metadata or {})
        try:
            metadata["alt"] = description(fig)
        except Exception as error:  # never lose the picture over its text
            metadata["alt"] = f"A matplotlib figure ({type(error).__name__} while describing it)."
        return data, metadata


def _inline_backend_first() -> None:
    """Load matplotlib's inline backend now if it is the backend, so that its printers exist to be wrapped."""
    if "matplotlib" not in sys.modules or "matplotlib_inline.backend_inline" in sys.modules:
        return
    import matplotlib

    try:
        backend = matplotlib.get_backend(auto_select=False)
    except TypeError:  # matplotlib < 3.10
        backend = matplotlib.rcParams._get("backend")
    if backend in ("inline", "module://matplotlib_inline.backend_inline"):
        import matplotlib_inline.backend_inline  # noqa: F401 (sets the inline printers up)


def wrap_printers(shell) -> int:
    """Wrap the shell's figure printers that are not wrapped yet; returns how many were wrapped."""
    if "matplotlib.figure" not in sys.modules:
        return 0
    from matplotlib.figure import Figure

    wrapped = 0
    for mimetype in MIMETYPES:
        formatter = shell.display_formatter.formatters.get(mimetype)
        if formatter is None:
            continue
        try:
            printer = formatter.lookup_by_type(Figure)
        except KeyError:
            continue
        if not isinstance(printer, AltPrinter):
            formatter.for_type(Figure, AltPrinter(printer))
            wrapped += 1
    return wrapped


def install(shell=None) -> bool:
    """Give every figure IPython shows its description as ``alt`` metadata; False outside IPython.

    Wraps the current figure printers, and registers hooks that wrap them
    again before each cell and after it (first among the hooks, before the
    inline backend shows the cell's figures) if a setting such as
    ``%config InlineBackend.figure_formats`` replaced them. Safe to call
    any number of times.
    """
    if shell is None:
        if "IPython" not in sys.modules:  # not inside IPython: nothing to do, nothing imported
            return False
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    _inline_backend_first()
    wrap_printers(shell)
    if not getattr(shell.events, "_cae_alt_hooks", False):  # once a shell (marked on its event manager)
        shell.events._cae_alt_hooks = True

        def rewrap(*_):
            wrap_printers(shell)

        shell.events.register("pre_execute", rewrap)
        shell.events.register("post_execute", rewrap)
        callbacks = getattr(shell.events, "callbacks", {}).get("post_execute")
        if isinstance(callbacks, list) and callbacks and callbacks[-1] is rewrap:
            callbacks.insert(0, callbacks.pop())  # before the inline backend's flush_figures
    return True
