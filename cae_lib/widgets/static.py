"""The widgets' states computed ahead, for the course site, where no kernel runs.

The site (``make site``, scripts/build_site.py) shows notebook 07's explorer
and notebook 06's guessing game as pages that still respond: every state the
page offers is computed here, at build time, by the widget itself.
:func:`explorer_states` moves a :class:`~cae_lib.widgets.LatentExplorer`'s
controls through every shipped model, every quantisation setting and a few
sets of test digits, and records after each move what the widget shows (its
figures, its readout's HTML, its pictures' texts) plus the decoded digits as a
small PNG; the numbers on the page are therefore the widget's own, for the same
state. :func:`guess_rounds` plays a :class:`~cae_lib.widgets.GuessTheOriginal`
ahead: the pairs it would show, with where each original is.

The builder appends one cell to a notebook that makes these widgets:
``static.publish(globals())``, which finds them and displays their states
as :data:`MIME_TYPE` outputs; the builder takes those out of the page and
puts a small script (scripts/site_assets/) in place of each widget's
picture.

Example:
    >>> explorer = widgets.LatentExplorer(x_test)                    # doctest: +SKIP
    >>> states = static.explorer_states(explorer, firsts=(0, 8))      # doctest: +SKIP
    >>> states["states"]["0|8|step 1"]["mean_psnr_db"]                 # doctest: +SKIP
    19.03...
"""

from __future__ import annotations

import base64
import io

import numpy as np

MIME_TYPE = "application/vnd.cae.static-widget+json"
"""The output type of a widget's precomputed states (read by scripts/build_site.py)."""
FIRSTS = (0, 8, 16, 24)
"""The explorer's first-digit values the site offers (each shows ``n_digits`` digits from there)."""
GUESS_ROUNDS = 30
"""Rounds of the guessing game played ahead for the site (the game asks for 20 or more)."""


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def strip_png(digits) -> bytes:
    """Digits ``(n, H, W)`` side by side as one greyscale PNG, one pixel per image pixel: a couple of kilobytes.

    The page draws the widget's three rows from these (originals, decoded,
    and the signed error of the two in :func:`error_colours`), enlarged.
    """
    from PIL import Image

    digits = np.asarray(digits, np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.concatenate(list(digits), axis=1)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def error_colours() -> str:
    """The error map's 256 colours (RdBu_r, as :func:`~cae_lib.widgets.digit_mosaic`), hex ``rrggbb`` joined.

    Colour ``i`` is that of a decoded pixel ``d`` and original ``o`` with
    ``i = floor((d - o + 255) / 510 * 256)`` (255 at most): red too bright, blue too dark.
    """
    import matplotlib

    rgb = (matplotlib.colormaps["RdBu_r"](np.arange(256))[:, :3] * 255).astype(np.uint8)
    return "".join(f"{r:02x}{g:02x}{b:02x}" for r, g, b in rgb)


def _key(key) -> str:
    return str(key)


def _show(explorer, family: str, key, step, first: int):
    """Move the explorer's controls to a state, as a learner would; return its :class:`Figures`."""
    from .explorer import AUTOENCODER

    indices = np.arange(first, first + explorer.n_digits)
    if explorer.index_slider.value != first:
        explorer.index_slider.value = first  # its observer shows digits first.. on
    elif not np.array_equal(explorer.indices, indices):  # "new random digits" left others
        explorer._on_index({"new": first})
    if family == AUTOENCODER:
        if explorer.latent_slider.value != key:
            explorer.latent_slider.value = key
        elif explorer.family.value != AUTOENCODER:
            explorer.family.value = AUTOENCODER
    else:
        if explorer.quality_slider.value != key:
            explorer.quality_slider.value = key
        elif explorer.family.value == AUTOENCODER:
            explorer.family.value = family
    if explorer.step_slider.value != step:
        explorer.step_slider.value = step
    f = explorer.figures
    wanted = explorer._latent_dim(key), tuple(int(i) for i in indices), family
    if (f.latent_dim, f.indices, f.family) != wanted or f.quantisation != _label(step):
        raise RuntimeError(f"the explorer shows {f}, not {family} {key} at {_label(step)} from digit {first}")
    return f


def _label(step) -> str:
    from .explorer import _setting_label

    return _setting_label(step)


def explorer_states(explorer, firsts=FIRSTS) -> dict:
    """Every state of ``explorer`` the site offers, computed by moving its controls; JSON-ready.

    States: each autoencoder (latent size) and each rate-aware model, at every
    quantisation setting, for the digits ``first .. first + n_digits - 1`` of
    each ``first`` in ``firsts`` (those beyond the explorer's images are
    dropped). The explorer's controls are put back as they were at the end.

    Returns:
        A dict: ``latent_dims``; ``rate_models`` (``name``, ``label``);
        ``steps`` (their labels, ``float32`` first); ``firsts``; ``n_digits``;
        ``reference`` (digits of the curves); ``start`` (the state shown
        first: the explorer's starting one); ``curves`` (``{step label: {"ae": [[size,
        bytes, dB], ...], "rate": [[name, bytes, dB], ...]}}``);
        ``curve_alt`` (``{"step label|key": text}``, the curve picture's
        text); and ``states``, by ``"first|key|step label"`` (key: the latent
        size, or the rate-aware model's name), each with the widget's
        :class:`Figures` fields, ``stats`` (its readout's HTML), ``psnr``
        (per digit), ``decoded`` (a :func:`strip_png` data URI) and ``alt``;
        ``originals`` (by first digit, :func:`strip_png` data URIs) and
        ``colours`` (:func:`error_colours`) to draw the error maps.
    """
    from ..config import DEFAULT_LATENT_DIM
    from .explorer import AUTOENCODER, RATE, quality_label

    firsts = [int(f) for f in firsts if 0 <= int(f) <= len(explorer.images) - explorer.n_digits]
    saved = (explorer.family.value, explorer.latent_slider.value,
             explorer.quality_slider.value if explorer.quality_slider is not None else None,
             explorer.step_slider.value, explorer.index_slider.value, explorer.indices.copy())  # fmt: skip
    models = [(AUTOENCODER, d) for d in explorer.latent_dims] + [(RATE, n) for n in explorer.rate_models]
    states, curve_alt = {}, {}
    for first in firsts:
        for family, key in models:
            for step in explorer.steps:
                f = _show(explorer, family, key, step, first)
                digits, decoded, psnr = explorer.shown
                where = "latent " + str(key) if family == AUTOENCODER else key
                summary = (f"{where}, {f.quantisation}: {f.bytes_per_digit:.1f} bytes a digit, "
                           f"{f.mean_psnr_db:.1f} dB.")  # fmt: skip
                states[f"{first}|{_key(key)}|{f.quantisation}"] = {
                    "family": f.family, "model": f.model, "latent_dim": f.latent_dim,
                    "quantisation": f.quantisation, "indices": list(f.indices),
                    "mean_psnr_db": float(f.mean_psnr_db), "mean_ssim": float(f.mean_ssim),
                    "bytes_per_digit": float(f.bytes_per_digit), "compression_ratio": float(f.compression_ratio),
                    "file_bytes": f.file_bytes, "psnr": [round(float(p), 2) for p in psnr],
                    "stats": explorer.stats.value, "decoded": _png_uri(strip_png(decoded)),
                    "alt": f"{summary[:1].upper()}{summary[1:]} {explorer.image.tooltip}",
                }  # fmt: skip
                curve_alt.setdefault(f"{f.quantisation}|{_key(key)}", explorer.curve_image.tooltip)
    curves = {
        _label(step): {
            "ae": [[int(k), float(b), float(p)] for k, b, p in explorer.curve[step]],
            "rate": [[k, float(b), float(p)] for k, b, p in explorer.rate_curve.get(step, [])],
        }
        for step in explorer.steps
    }
    family, latent, quality, step, first, indices = saved
    # The page starts where the widget starts: the default latent size at step 1, the first digits.
    start = {"family": AUTOENCODER, "latent": DEFAULT_LATENT_DIM if DEFAULT_LATENT_DIM in explorer.latent_dims
             else explorer.latent_dims[len(explorer.latent_dims) // 2], "rate": quality,
             "step": _label(1.0 if 1.0 in explorer.steps else explorer.steps[-1]), "first": firsts[0]}  # fmt: skip
    # Put the controls back; the explorer shows what it showed before.
    explorer.step_slider.value = step
    explorer.latent_slider.value = latent
    if quality is not None:
        explorer.quality_slider.value = quality
    explorer.family.value = family
    explorer.index_slider.value = first
    explorer.indices = indices
    explorer.update()
    n = len(explorer.rate_models)
    return {
        "kind": "explorer",
        "model_id": getattr(explorer.widget, "model_id", None),
        "latent_dims": [int(d) for d in explorer.latent_dims],
        "rate_models": [
            {"name": m, "label": quality_label(m, i, n)} for i, m in enumerate(explorer.rate_models)
        ],
        "steps": [_label(s) for s in explorer.steps],
        "firsts": firsts,
        "originals": {
            str(f): _png_uri(strip_png(explorer.images[f : f + explorer.n_digits])) for f in firsts
        },
        "colours": error_colours(),
        "n_digits": explorer.n_digits,
        "reference": len(explorer.reference),
        "start": start,
        "curves": curves,
        "curve_alt": curve_alt,
        "states": states,
    }


def guess_rounds(game, rounds: int = GUESS_ROUNDS, seed: int = 0) -> dict:
    """``rounds`` rounds of a :class:`~cae_lib.widgets.GuessTheOriginal`, played ahead; JSON-ready.

    A new game on the same digits and reconstructions (``seed``) draws the
    pairs with the game's own code: each round's picture (a PNG data URI),
    its text (not the answer), the digit's index and the original's side.
    ``game`` itself is left as it is.
    """
    from .guess import GuessTheOriginal

    ahead = GuessTheOriginal(game.originals, game.reconstructions, seed=seed, zoom=game.zoom)
    played = []
    for _ in range(rounds):
        played.append({"image": _png_uri(ahead.image.value), "alt": ahead.image.tooltip,
                       "index": ahead.index, "original": ahead.original_side})  # fmt: skip
        ahead.next_pair()
    return {"kind": "guess", "model_id": getattr(game.widget, "model_id", None), "rounds": played}


def publish(namespace: dict) -> int:
    """Display the precomputed states of every explorer and guessing game in ``namespace`` (e.g. ``globals()``).

    One :data:`MIME_TYPE` output per widget; the site's builder reads them.
    Returns how many were published.
    """
    from IPython.display import display

    from .explorer import LatentExplorer
    from .guess import GuessTheOriginal

    found = 0
    seen = set()
    for value in list(namespace.values()):
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, LatentExplorer):
            display({MIME_TYPE: explorer_states(value)}, raw=True)
        elif isinstance(value, GuessTheOriginal):
            display({MIME_TYPE: guess_rounds(value)}, raw=True)
        else:
            continue
        found += 1
    return found
