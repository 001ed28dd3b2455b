"""Checks of notebook 07 (latent-size explorer): where the curve flattens, which digits fail, the cheapest setting.

Each check recomputes the answer from the explorer's sweep or with the
pretrained models and :mod:`cae_lib.codec`, and names the likely mistake
when the learner's answer differs.
"""

from __future__ import annotations

import numpy as np

from . import NotAnswered, Wrong, answered, call, exercise, real_file

WITHIN_DB = 1.0
"""Exercise 1: "flat" means a float PSNR within this many dB of the best."""


def _column_hint(value: float, float_rows, expected: int) -> str:
    """Why ``value`` may have been given instead of a latent size: another column of the rows, or a row index."""
    rows = sorted((int(d), float(b), float(p)) for d, b, p in float_rows)
    if any(abs(value - b) < 1e-6 for _, b, _ in rows):
        return ": that is a number of bytes per digit (the second column of a row); flat is the latent size, the first"
    if any(abs(value - p) < 0.005 for _, _, p in rows):
        return ": that is a PSNR in dB (the third column of a row); flat is the latent size, the first"
    sizes = [d for d, _, _ in rows]
    if value in (sizes.index(expected), sizes.index(expected) + 1):
        return ": that looks like the position of a row in the sweep; flat is the latent size itself, the first column"
    return ""


def _check_flat(flat, float_rows) -> str:
    """:class:`Wrong` unless ``flat`` is the smallest latent size whose PSNR in ``float_rows`` is within 1 dB of the best."""
    psnr = {int(d): float(p) for d, _, p in float_rows}
    best_dim = max(psnr, key=psnr.get)
    best = psnr[best_dim]
    expected = min(d for d, p in psnr.items() if p >= best - WITHIN_DB)
    if isinstance(flat, (str, bytes)):
        raise Wrong(f"flat should be a latent size, a number such as 16, not the text {flat!r}")
    try:
        value = float(flat)
    except (TypeError, ValueError):
        raise Wrong(f"flat should be a latent size such as 16. Received: {flat!r}") from None
    if value not in psnr:
        raise Wrong(
            f"{flat!r} is not one of the sweep's latent sizes {sorted(psnr)}{_column_hint(value, float_rows, expected)}"
        )
    flat = int(value)
    if flat != expected:
        if psnr[flat] < best - WITHIN_DB:
            raise Wrong(
                f"latent {flat} gives {psnr[flat]:.2f} dB, {best - psnr[flat]:.2f} dB below the best "
                f"({best:.2f} dB at latent {best_dim}): more than {WITHIN_DB:g} dB, so the curve still climbs there"
            )
        hint = "you want the smallest size that is close to the best, not the best itself" if flat == best_dim else \
            "it is within 1 dB, but so is a smaller size: take the smallest"  # fmt: skip
        raise Wrong(
            f"latent {expected} gives {psnr[expected]:.2f} dB, already within {WITHIN_DB:g} dB of the best "
            f"({best:.2f} dB): {hint}"
        )
    below = [d for d in psnr if d < flat]
    step_down = f"; latent {max(below)} is {best - psnr[max(below)]:.2f} dB below" if below else ""
    return (
        f"latent {flat} gives {psnr[flat]:.2f} dB, {best - psnr[flat]:.2f} dB below the best "
        f"({best:.2f} dB at latent {best_dim}){step_down}"
    )


_TRIAL_CURVES = (
    # A plateau early on, then a climb: the first gain under 1 dB (4 -> 8) is not where the curve flattens.
    [(2, 8.0, 10.0), (4, 16.0, 14.0), (8, 32.0, 14.5), (16, 64.0, 20.0), (28, 112.0, 23.0), (32, 128.0, 23.5),
     (64, 256.0, 24.2)],
    # The best in the middle: the last row is not the best one.
    [(2, 8.0, 10.0), (4, 16.0, 15.0), (8, 32.0, 19.0), (16, 64.0, 22.0), (28, 112.0, 24.5), (32, 128.0, 24.0),
     (64, 256.0, 22.0)],
)  # fmt: skip
"""Made-up float curves on which the plausible shortcuts give another size than the rule of Exercise 1."""


def _flat_shortcuts(rows) -> dict[str, int]:
    """What the plausible shortcuts answer on ``rows``, by what they do instead."""
    sizes, psnr = [int(d) for d, _, _ in rows], [float(p) for _, _, p in rows]
    gains = [b - a for a, b in zip(psnr, psnr[1:])]
    first_small = next((i + 1 for i, g in enumerate(gains) if g < WITHIN_DB), len(sizes) - 1)
    out = {
        "it takes the first size whose gain over the previous one is under 1 dB; the rule compares each size "
        "with the best PSNR of the whole curve, max over the rows": sizes[first_small],
        "it takes the size before the first gain under 1 dB; the rule compares each size with the best PSNR of "
        "the whole curve": sizes[first_small - 1],
        "it takes the last row as the best; the best is the highest PSNR, max over the rows, wherever it is": min(
            d for d, p in zip(sizes, psnr) if p >= psnr[-1] - WITHIN_DB
        ),
        "it reads 'within 1 dB' as within 1 % of the best; it is 1 dB, psnr >= best - 1": min(
            d for d, p in zip(sizes, psnr) if p >= 0.99 * max(psnr)
        ),
    }
    return out


@exercise("07_latent_size_explorer_ex1", "where the curve flattens")
def flattening(answer, float_rows) -> str:
    """Check ``flat_point(rows)``: the smallest latent size whose PSNR in ``rows`` is within 1 dB of the best.

    A function is run on the explorer's sweep, then on made-up curves where
    plausible shortcuts give another size; a size given directly is checked
    on the sweep only.

    Args:
        answer: The learner's function ``rows -> latent size`` (or a size).
        float_rows: ``explorer.curve[widgets.FLOAT]``: ``(latent size, bytes per digit, mean PSNR)`` rows.
    """
    if not callable(answer):
        return _check_flat(answer, float_rows)
    verified = _check_flat(call(answer, list(float_rows), what="the explorer's sweep"), float_rows)
    for rows in _TRIAL_CURVES:
        got = call(answer, list(rows), what="a made-up curve")
        psnr = {d: p for d, _, p in rows}
        want = min(d for d, p in psnr.items() if p >= max(psnr.values()) - WITHIN_DB)
        try:
            same = float(got) == want
        except (TypeError, ValueError):
            same = False
        if not same:
            hint = next((h for h, size in _flat_shortcuts(rows).items() if size == got and size != want),
                        "the smallest size whose PSNR is at least the best PSNR of these rows minus 1 dB")  # fmt: skip
            curve = ", ".join(f"{d}: {p:g}" for d, _, p in rows)
            raise Wrong(f"right on the explorer's sweep, but on the made-up curve {{{curve}}} (dB by latent size) "
                        f"your function gives {got!r}, the rule {want}: {hint}")  # fmt: skip
    return f"{verified}; also right on {len(_TRIAL_CURVES)} made-up curves"


def _class_psnr(digits, labels, latent_dim: int) -> tuple[dict[int, float], dict[int, float]]:
    """Per class: the mean of the per-digit PSNRs (the answer), and the PSNR of the class's mean MSE (a mistake)."""
    from .. import codec, metrics, pretrained

    model = pretrained.load_pretrained(latent_dim)
    decoded = codec.decode_latents(codec.encode_latents(digits, model), model)
    psnr = metrics.psnr(digits, decoded, data_range=255)
    mse = np.mean((np.asarray(digits, np.float64) - np.asarray(decoded, np.float64)) ** 2, axis=(1, 2))
    labels = np.asarray(labels)
    classes = np.unique(labels)
    return (
        {int(c): float(psnr[labels == c].mean()) for c in classes},
        {int(c): float(10 * np.log10(255.0**2 / mse[labels == c].mean())) for c in classes},
    )


@exercise("07_latent_size_explorer_ex2", "which digits fail first at latent 8")
def worst_class(psnr_by_class, digits, labels, *, worst=..., latent_dim: int = 8) -> str:
    """Check the per-class mean PSNR at ``latent_dim`` (float latent) of ``digits`` and the worst class."""
    worst = answered(worst, "worst")
    if isinstance(psnr_by_class, (int, float, np.number)) and not isinstance(psnr_by_class, bool):
        raise Wrong(
            f"psnr_by_class is one number ({float(psnr_by_class):.4g}): it should be a dict {{class: mean PSNR in dB}}, "
            "one mean per digit class"
        )
    if not isinstance(psnr_by_class, dict):
        raise Wrong(
            f"psnr_by_class should be a dict {{class: mean PSNR in dB}}. Received: {type(psnr_by_class).__name__}"
        )
    truth, pooled = _class_psnr(digits, labels, latent_dim)
    if any(isinstance(c, (str, bytes)) for c in psnr_by_class):
        raise Wrong(
            "psnr_by_class's keys are text ('0', '1', ...): use the classes themselves, ints 0 to 9, as keys "
            "(int(c) if they come from the labels array)"
        )
    try:
        got = {int(c): float(np.mean(p)) for c, p in psnr_by_class.items()}
    except (TypeError, ValueError):
        raise Wrong("psnr_by_class should map each class (0 to 9) to a number, its mean PSNR in dB") from None
    if sorted(got) != sorted(truth):
        raise Wrong(f"psnr_by_class has the classes {sorted(got)}; it needs every class {sorted(truth)}")
    errors = {c: got[c] - truth[c] for c in truth}
    c_far = max(errors, key=lambda c: abs(errors[c]))
    if abs(errors[c_far]) > 0.05:
        shift = float(np.median(list(errors.values())))
        if all(abs(got[c] - pooled[c]) <= 0.05 for c in truth):
            hint = ("that is the PSNR of each class's mean squared error; the exercise asks for the mean of the "
                    "per-digit PSNRs (metrics.psnr gives one per digit: average those of each class)")  # fmt: skip
        elif abs(shift + 20 * np.log10(255)) < 1:
            hint = "the digits are uint8 (0-255): pass data_range=255, not 1"
        elif shift > 20:
            hint = ("about 48 dB too high: images scaled to [0, 1] measured with data_range=255; compare the uint8 "
                    "digits with the decoded uint8 digits at data_range=255, or floats in [0, 1] at data_range=1")  # fmt: skip
        elif shift > 0.3:
            hint = ("higher everywhere: a larger latent, or other digits (the model decodes its training digits "
                    "better)? The exercise asks for the latent-8 model, pretrained.load_pretrained(8), on sample "
                    "and its labels")  # fmt: skip
        elif shift < -0.3:
            hint = ("lower everywhere: is it the codec at some step? The exercise asks for the float latent "
                    "(codec.encode_latents, then codec.decode_latents)")  # fmt: skip
        else:
            hint = ("average the per-digit PSNRs of each class (metrics.psnr gives one per digit), with the "
                    "latent-8 model and the float latent, on the digits given (sample and its labels)")  # fmt: skip
        raise Wrong(
            f"class {c_far} has a mean PSNR of {truth[c_far]:.2f} dB at latent {latent_dim}, not {got[c_far]:.2f}: {hint}"
        )
    lowest = min(truth, key=truth.get)
    if isinstance(worst, (str, bytes)):
        raise Wrong(f"worst should be a digit class, an int from 0 to 9, not the text {worst!r}")
    try:
        value = float(worst)
    except (TypeError, ValueError):
        raise Wrong(f"worst should be a digit class from 0 to 9. Received: {worst!r}") from None
    if value not in truth:
        hint = ""
        if any(abs(value - p) < 0.01 for p in got.values()):
            hint = (
                ": that is a PSNR in dB; worst is the class (the key of psnr_by_class with the lowest value)"
            )
        raise Wrong(f"worst should be a digit class from 0 to 9. Received: {worst!r}{hint}")
    worst = int(value)
    if worst != lowest:
        hint = " (that is the best one: min, not max)" if worst == max(truth, key=truth.get) else ""
        raise Wrong(
            f"class {worst} has {truth.get(worst, float('nan')):.2f} dB{hint}; the lowest is class {lowest} "
            f"with {truth[lowest]:.2f} dB"
        )
    best = max(truth, key=truth.get)
    return (
        f"class {lowest} fails first at latent {latent_dim} ({truth[lowest]:.2f} dB mean PSNR on its "
        f"{int(np.sum(np.asarray(labels) == lowest))} digits); class {best} fares best ({truth[best]:.2f} dB)"
    )


_GRID_CACHE: dict = {}


def _grid(digits, latent_dims, steps) -> list[tuple[int, float, int, float]]:
    """``[(file bytes, latent size, step, mean PSNR), ...]`` of every setting, measured for real."""
    from .. import codec, metrics, pretrained

    key = (digits.tobytes(), tuple(latent_dims), tuple(steps))
    if key not in _GRID_CACHE:
        rows = []
        for d in latent_dims:
            model = pretrained.load_pretrained(d)
            for step in steps:
                blob = codec.compress(digits, model, step=step)
                psnr = metrics.mean_psnr(digits, codec.decompress(blob, model), data_range=255)
                rows.append((len(blob), d, float(step), psnr))
        _GRID_CACHE.clear()
        _GRID_CACHE[key] = rows
    return _GRID_CACHE[key]


@exercise("07_latent_size_explorer_ex3", "the smallest file that reaches a PSNR target")
def cheapest_setting(best, digits, *, target_db: float, latent_dims=None, steps=None) -> str:
    """Check ``best = (latent size, step)``: recompress ``digits`` with it, then against every setting of the grid.

    Args:
        best: The learner's setting.
        digits: uint8 digits ``(n, 28, 28)``.
        target_db: The mean PSNR the file must reach.
        latent_dims, steps: The grid (default: every shipped size, the explorer's steps).
    """
    from .. import pretrained, widgets

    latent_dims = list(latent_dims or pretrained.available_latent_dims())
    steps = list(steps or widgets.DEFAULT_STEPS)
    if not isinstance(best, (tuple, list)) or len(best) != 2:
        raise Wrong(f"best should be a pair (latent size, step), such as (16, 0.5). Received: {best!r}")
    latent_dim, step = best
    if latent_dim is ... or step is ...:
        raise NotAnswered("best")
    if step == widgets.FLOAT:
        raise Wrong("the float32 latent is not a file: choose a quantisation step")
    if isinstance(latent_dim, (str, bytes)) or isinstance(step, (str, bytes)):
        raise Wrong(f"best should hold two numbers, (latent size, step), not text. Received: {best!r}")
    try:
        latent_dim, step = float(latent_dim), float(step)
    except (TypeError, ValueError):
        raise Wrong(f"best should be (latent size, step) numbers. Received: {best!r}") from None
    if latent_dim in steps and step in latent_dims and latent_dim not in latent_dims:
        raise Wrong(
            f"best = {best!r} looks swapped: the pair is (latent size, step), such as ({int(step)}, {latent_dim:g})"
        )
    if latent_dim not in latent_dims:
        raise Wrong(f"latent size {latent_dim:g} is not shipped: choose one of {latent_dims}")
    latent_dim = int(latent_dim)
    if not step > 0:
        raise Wrong(f"the step should be positive, one of {steps}. Received: {step:g}")
    blob, psnr = real_file(digits, pretrained.load_pretrained(latent_dim), step)
    n = len(digits)
    if psnr < target_db:
        raise Wrong(
            f"latent {latent_dim}, step {step:g} gives {psnr:.2f} dB on these {n} digits, below the "
            f"{target_db:g} dB target: measure on the digits of the exercise, compressed for real"
        )
    reaching = sorted(r for r in _grid(digits, latent_dims, steps) if r[3] >= target_db)
    if not reaching:
        return f"latent {latent_dim}, step {step:g}: {len(blob)} bytes, {psnr:.2f} dB; no setting of the grid reaches it"
    size, d, s, p = reaching[0]
    if len(blob) > size:
        raise Wrong(
            f"latent {latent_dim}, step {step:g} reaches {psnr:.2f} dB in {len(blob)} bytes, but latent {d}, "
            f"step {s:g} reaches {p:.2f} dB in {size} bytes: among the settings that reach the target, "
            "keep the one with the fewest bytes"
        )
    return (
        f"latent {latent_dim}, step {step:g}: {len(blob)} bytes for {n} digits ({len(blob) / n:.1f} a digit) at "
        f"{psnr:.2f} dB; no setting of the {len(latent_dims)} x {len(steps)} grid that reaches "
        f"{target_db:g} dB is smaller"
    )
