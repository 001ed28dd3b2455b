"""Rate-distortion benchmark: the course's shipped codec models against JPEG, WebP and AVIF, like against like.

Every size is the length of real bytes and every quality the mean per-digit
PSNR of what is read back (all through :mod:`cae_lib.rd`), on MNIST's test
digits, in two packagings:

* **batch**: one ``.cae`` file holding all the digits (per shipped model and
  quantisation step), against ONE image of the same digits in each classic
  format: a mosaic of 100 x 100 digits (2800 x 2800 pixels for 10,000) saved
  as JPEG (``optimize=True``), WebP (``method=6``) and AVIF, the digits cut
  back out to measure their quality (:func:`cae_lib.rd.mosaic_points`);
  bytes per digit = file length / number of digits;
* **single digit**: one file per digit in every format: ``.cae`` files of one
  digit (format version 2: 11 bytes of header and checksum at step 1, 13 at
  any other step), and one Pillow file per digit (PNG, JPEG, WebP, AVIF), on
  the same first ``--single-sample`` digits (1,000 by default, to keep the
  run short: every model and step makes its own single-digit files).

For each packaging: bytes at equal quality (``rd.bytes_at`` on each method's
Pareto front), Bjøntegaard delta rates over 20-26 dB (``rd.bd_rate``) of the
course's best front, of the rate-aware models (``rate_lambda*``) and of the
post-hoc autoencoders (``ae_latentNN``) against each classic format; the
receiver's cost (the default model's decoder saved as ``.keras``, and after
how many digits it pays for itself); the targets; and the accuracy of a
small CNN classifier (trained once, cached in ``benchmarks/.cache``) on every
reconstruction. PCA through the same prior, quantiser and coder is drawn too.

AVIF's encoder speed (0 slowest and best, 10 fastest): with ``--avif-speed
auto`` the run first measures everything else, then times speeds 0, 2 and 4
on one mosaic of 1,000 digits (and on 100 single files), times speed 4 on
the mosaic of all digits to scale the probe up, and takes the slowest speed
whose projected time for all AVIF files keeps the whole run under
``--budget`` seconds (15 minutes); the results say which and why. On a
2-core x86-64 machine that is speed 4 (speed 2 would need about 10 more
minutes, speed 0 about two hours).

Writes ``results/rate_distortion.{csv,md,png}``.

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/rate_distortion.py             # about 15 minutes
    python benchmarks/rate_distortion.py --limit 300 --single-sample 100 --models ae_latent28 \\
        --avif-speed 6 --quick --out /tmp/rd                                       # smoke run
    python benchmarks/rate_distortion.py --plot-only                               # redraw the chart
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cae_lib import codec, data, deploy, models, pretrained, rd, training

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(__file__).resolve().parent / ".cache"

AE_STEPS = (0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
RATE_STEPS = (0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0)  # a rate model's natural step is 1
PCA_COMPONENTS = (8, 16, 28, 64)
PCA_STEPS = (0.05, 0.1, 0.2, 0.35, 0.5, 1.0)

# Quality settings, from each format's lowest (quality 0 or 1) to well above 27 dB, dense
# where the mosaics cross 20-27 dB (WebP's quality is a float; AVIF's moves in steps of 2).
MOSAIC = {  # name: (Pillow format, qualities, save options)
    "JPEG": ("JPEG", (1, 3, 5, 8, 10, 13, 16, 20, 25, 30, 40, 50, 75, 95), {"optimize": True}),
    "WebP": ("WEBP", (0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7, 10, 20, 50, 90), {"method": 6}),
    "AVIF": ("AVIF", (0, 4, 6, 8, 10, 12, 14, 16, 24), {}),
}
SINGLE = {  # one file per digit
    "JPEG": ("JPEG", (1, 5, 10, 20, 30, 50, 75, 90), {"optimize": True}),
    "WebP": ("WEBP", (0, 1, 2, 3, 5, 10, 20, 30, 50, 75, 90), {"method": 6}),
    "AVIF": ("AVIF", (0, 10, 25, 50, 75), {}),
}
CLASSICS = ("JPEG", "WebP", "AVIF")
AVIF_SPEEDS = (0, 2, 4)
AVIF_PROBE = {"digits": 1000, "singles": 100, "quality": 8}
BUDGET_SECONDS = 15 * 60

LEVELS = (20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0)
TARGET_LEVELS = (20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0)
TARGET_RATIO = 3.0  # the best course front needs at most 1/3 of the better mosaic's bytes
TARGET_TOP_DB = 27.0
TARGET_RATE_AT_24 = 11.0  # bytes per digit
TARGET_SINGLE = (24.0, 23.0)  # at most 24 bytes on average, at a mean PSNR of at least 23 dB
TARGET_CODER = 0.01
TARGET_SECONDS = 10.0
BD_RANGE = (20.0, 26.0)

BATCH, SINGLE_DIGIT = "batch", "single"


def judge_classifier(x_train, y_train, *, quick: bool):
    """The task-aware judge: trained once, then cached in benchmarks/.cache."""
    from cae_lib import deploy, saving

    path = CACHE / ("classifier_quick.keras" if quick else "classifier.keras")
    if path.exists():
        return saving.load_model(path)
    model = models.build_digit_classifier()
    training.train_digit_classifier(model, x_train, y_train, epochs=3, quick=quick, verbose=2)
    deploy.save_keras(model, path)
    return model


# --- the points, by packaging and kind ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    """One measured point in one packaging: ``point.bytes_per_image`` is bytes per digit in that packaging."""

    packaging: str  # BATCH or SINGLE_DIGIT
    kind: str  # "autoencoder", "rate", "pca" or "classic"
    model: str  # shipped model name, "PCA k", or the format name
    point: rd.RDPoint
    digits: int
    accuracy: float


def codec_method(name: str) -> str:
    return f"cae {name}"


def front(rows, packaging: str, kinds=("autoencoder", "rate"), model: str | None = None):
    """The Pareto front of some rows (by kind, or one model/format)."""
    return rd.pareto_front([r.point for r in rows if r.packaging == packaging and r.kind in kinds
                            and (model is None or r.model == model)])  # fmt: skip


def classic_front(rows, packaging: str, name: str):
    return front(rows, packaging, kinds=("classic",), model=name)


def on_front(rows, packaging: str, kinds=("autoencoder", "rate")) -> list[Row]:
    """The rows whose (bytes, PSNR) make up the front, by increasing size."""
    pairs = set(front(rows, packaging, kinds))
    found = [r for r in rows if r.packaging == packaging and r.kind in kinds
             and (float(r.point.bytes_per_image), float(r.point.mean_psnr_db)) in pairs]  # fmt: skip
    return sorted(found, key=lambda r: r.point.bytes_per_image)


# --- markdown helpers --------------------------------------------------------------------


def fmt_bytes(value, smallest: float | None = None) -> str:
    if value is None:
        return "not reached"
    note = " (its smallest file)" if smallest is not None and value == smallest else ""
    return f"{value:.1f}{note}"


def fmt_ratio(classic, course) -> str:
    return "-" if classic is None or course is None else f"{classic / course:.1f}"


def fmt_bd(value, lo_hi) -> str:
    if value is None:
        return "no overlap"
    lo, hi = lo_hi
    return f"{value:+.0%} ({lo:.1f}-{hi:.1f} dB)"


def bd_range(front_, reference, low=BD_RANGE[0], high=BD_RANGE[1]):
    """The quality range :func:`rd.bd_rate` actually averages over (it cuts to where both fronts have data)."""
    if not front_ or not reference:
        return None
    lo, hi = max(low, front_[0][1], reference[0][1]), min(high, front_[-1][1], reference[-1][1])
    return (lo, hi) if hi > lo else None


def level_table(rows, packaging: str, levels=LEVELS) -> tuple[list[str], dict]:
    """Bytes per digit at each mean PSNR for the course's fronts and each classic format."""
    fronts = {
        "course best": front(rows, packaging),
        "rate-aware": front(rows, packaging, ("rate",)),
        "post-hoc ae": front(rows, packaging, ("autoencoder",)),
    }
    classics = {name: classic_front(rows, packaging, name) for name in CLASSICS}
    what = "mosaic" if packaging == BATCH else "single files"
    head = ["| mean PSNR | course best | rate-aware | post-hoc ae |"
            + "".join(f" {n} {what} |" for n in CLASSICS) + " best classic / course best |",
            "| ---: | ---: | ---: | ---: |" + " ---: |" * len(CLASSICS) + " ---: |"]  # fmt: skip
    values = {}
    for level in levels:
        own = {k: rd.bytes_at(f, level) for k, f in fronts.items()}
        cls = {k: rd.bytes_at(f, level) for k, f in classics.items()}
        reached = [v for v in cls.values() if v is not None]
        best = min(reached) if reached else None
        values[level] = {**own, **cls, "best classic": best}
        head.append(
            f"| {level:.0f} dB | " + " | ".join(fmt_bytes(v) for v in own.values()) + " | "
            + " | ".join(fmt_bytes(cls[k], classics[k][0][0] if classics[k] else None) for k in CLASSICS)
            + f" | {fmt_ratio(best, own['course best'])} |"
        )  # fmt: skip
    return head, values


def bd_table(rows, packaging: str) -> tuple[list[str], dict]:
    fronts = {
        "course best (every shipped model and step)": front(rows, packaging),
        "rate-aware models (rate_lambda*)": front(rows, packaging, ("rate",)),
        "post-hoc autoencoders (ae_latentNN)": front(rows, packaging, ("autoencoder",)),
    }
    suffix = " mosaic" if packaging == BATCH else ""
    lines = ["| front | " + " | ".join(f"against {n}{suffix}" for n in CLASSICS) + " |",
             "| --- |" + " ---: |" * len(CLASSICS)]  # fmt: skip
    values = {}
    for label, f in fronts.items():
        cells = []
        for name in CLASSICS:
            reference = classic_front(rows, packaging, name)
            value = rd.bd_rate(f, reference, low=BD_RANGE[0], high=BD_RANGE[1])
            values[(label, name)] = value
            cells.append(fmt_bd(value, bd_range(f, reference)))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines, values


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def targets(rows, *, default_name: str, n: int, single_n: int) -> tuple[list[str], list[bool]]:
    """The targets table: figure, verdict and margin of each target."""
    lines = ["| target | measured | verdict |", "| --- | --- | :---: |"]
    verdicts = []

    course = front(rows, BATCH)
    webp, avif = classic_front(rows, BATCH, "WebP"), classic_front(rows, BATCH, "AVIF")
    for level in TARGET_LEVELS:
        c = rd.bytes_at(course, level)
        classics = [v for v in (rd.bytes_at(webp, level), rd.bytes_at(avif, level)) if v is not None]
        if c is None or not classics:
            lines.append(f"| batch, {level:.0f} dB: course ≤ 1/3 of the better of AVIF and WebP | "
                         f"course {fmt_bytes(c)}, better mosaic {fmt_bytes(min(classics) if classics else None)} | **missed** |")  # fmt: skip
            verdicts.append(False)
            continue
        better = min(classics)
        ok = better / c >= TARGET_RATIO
        margin = (f"{better / c / TARGET_RATIO - 1:.0%} to spare" if ok
                  else f"needs {1 - better / TARGET_RATIO / c:.0%} fewer bytes (≤ {better / TARGET_RATIO:.1f})")  # fmt: skip
        lines.append(f"| batch, {level:.0f} dB: course ≤ 1/3 of the better of AVIF and WebP | course {c:.1f} B, "
                     f"better mosaic {better:.1f} B: {better / c:.2f}x, {margin} | {verdict(ok)} |")  # fmt: skip
        verdicts.append(ok)

    shipped = [r for r in rows if r.packaging == BATCH and r.kind in ("autoencoder", "rate")]
    top = max(shipped, key=lambda r: r.point.mean_psnr_db)
    ok = top.point.mean_psnr_db >= TARGET_TOP_DB
    lines.append(f"| {TARGET_TOP_DB:.0f} dB reachable by a shipped model and step | best {top.point.mean_psnr_db:.2f} dB "
                 f"({top.model}, {top.point.setting}, {top.point.bytes_per_image:.1f} B/digit), "
                 f"{top.point.mean_psnr_db - TARGET_TOP_DB:+.2f} dB | {verdict(ok)} |")  # fmt: skip
    verdicts.append(ok)

    rate_front = front(rows, BATCH, ("rate",))
    at24 = rd.bytes_at(rate_front, 24.0) if rate_front else None
    ok = at24 is not None and at24 <= TARGET_RATE_AT_24
    figure = ("no rate-aware model reaches 24 dB" if at24 is None else
              f"{at24:.1f} B/digit ({at24 - TARGET_RATE_AT_24:+.1f} B against {TARGET_RATE_AT_24:.0f})")  # fmt: skip
    lines.append(
        f"| a rate-aware model at 24 dB: ≤ {TARGET_RATE_AT_24:.0f} bytes/digit (batch) | {figure} | {verdict(ok)} |"
    )
    verdicts.append(ok)

    default = [
        r
        for r in rows
        if r.packaging == SINGLE_DIGIT and r.model == default_name and r.point.setting == "step 1"
    ]
    if default:
        p = default[0].point
        ok = p.bytes_per_image <= TARGET_SINGLE[0] and p.mean_psnr_db >= TARGET_SINGLE[1]
        lines.append(f"| single-digit `.cae` with the defaults ({default_name}, step 1): ≤ {TARGET_SINGLE[0]:.0f} B "
                     f"at ≥ {TARGET_SINGLE[1]:.0f} dB | {p.bytes_per_image:.2f} B ({p.bytes_per_image - TARGET_SINGLE[0]:+.2f}), "
                     f"{p.mean_psnr_db:.2f} dB ({p.mean_psnr_db - TARGET_SINGLE[1]:+.2f}), mean of {single_n:,} files | {verdict(ok)} |")  # fmt: skip
        verdicts.append(ok)
    else:
        lines.append(f"| single-digit `.cae` with the defaults | {default_name} not measured | **missed** |")
        verdicts.append(False)

    coded = [
        r
        for r in rows
        if r.packaging == BATCH and r.kind != "classic" and math.isfinite(r.point.ideal_bytes_per_image)
    ]
    worst = max(coded, key=lambda r: r.point.bytes_per_image / r.point.ideal_bytes_per_image)
    overhead = worst.point.bytes_per_image / worst.point.ideal_bytes_per_image - 1
    lines.append(f"| coder within {TARGET_CODER:.0%} of the ideal code length (batch files, header included) | "
                 f"worst {overhead:+.3%} ({worst.model}, {worst.point.setting}) over {len(coded)} codec points | "
                 f"{verdict(overhead <= TARGET_CODER)} |")  # fmt: skip
    verdicts.append(overhead <= TARGET_CODER)

    slowest = max(shipped, key=lambda r: r.point.seconds)
    default_slowest = max(
        (r for r in shipped if r.model == default_name), key=lambda r: r.point.seconds, default=None
    )
    also = (f"; default model {default_name}: at most {default_slowest.point.seconds:.2f} s"
            if default_slowest is not None else "")  # fmt: skip
    ok = slowest.point.seconds < TARGET_SECONDS
    lines.append(f"| {n:,} digits encoded + decoded in under {TARGET_SECONDS:.0f} s (every shipped model and step) | "
                 f"slowest {slowest.point.seconds:.2f} s ({slowest.model}, {slowest.point.setting}){also} | {verdict(ok)} |")  # fmt: skip
    verdicts.append(ok)
    return lines, verdicts


# --- AVIF's speed --------------------------------------------------------------------------


def probe_avif_speeds(images, singles):
    """Time AVIF speeds 0, 2, 4 on one mosaic and on a few single files (quality ``AVIF_PROBE["quality"]``).

    The mosaic of the probe holds the first ``AVIF_PROBE["digits"]`` digits; the fastest
    speed is also timed on the mosaic of all ``images``, to scale the probe's times up.

    Returns ``(found, full)``: ``found`` is ``[(speed, mosaic point, single-files point), ...]``,
    ``full`` the point of the mosaic of all digits at the fastest speed.
    """
    probe, few, q = images[: AVIF_PROBE["digits"]], singles[: AVIF_PROBE["singles"]], AVIF_PROBE["quality"]
    found = []
    for speed in AVIF_SPEEDS:
        (m,), _ = rd.mosaic_points(probe, "AVIF", [q], speed=speed)
        (s,), _ = rd.pillow_points(few, "AVIF", [q], speed=speed)
        found.append((speed, m, s))
        print(f"  AVIF speed {speed}: mosaic of {len(probe)} digits {m.seconds:.1f} s ({m.bytes_per_image:.2f} B/digit, "
              f"{m.mean_psnr_db:.2f} dB); {len(few)} single files {s.seconds:.2f} s", flush=True)  # fmt: skip
    (full,), _ = rd.mosaic_points(images, "AVIF", [q], speed=max(AVIF_SPEEDS))
    print(
        f"  AVIF speed {max(AVIF_SPEEDS)}: mosaic of all {len(images)} digits {full.seconds:.1f} s",
        flush=True,
    )
    return found, full


def choose_avif_speed(found, full, *, n_mosaic: int, n_single: int, probe_digits: int, probe_singles: int,
                      budget_left: float, budget: float = BUDGET_SECONDS):  # fmt: skip
    """The slowest probed speed whose projected time for every AVIF file fits ``budget_left`` seconds.

    A mosaic's projected time is the probe's, times the ratio of the full mosaic to the
    probe's at the fastest speed (large images encode faster per pixel), times the number
    of qualities; single files scale with their number. Returns ``(speed, markdown table
    lines, the reason in words)``; the fastest probed speed if none fits.
    """
    n_q_mosaic, n_q_single = len(MOSAIC["AVIF"][1]), len(SINGLE["AVIF"][1])
    fastest = max(found, key=lambda f: f[0])
    scale = full.seconds / fastest[1].seconds

    def projected(m, s):
        return m.seconds * scale * n_q_mosaic + s.seconds * n_single / probe_singles * n_q_single

    fitting = [f for f in found if projected(f[1], f[2]) <= budget_left]
    chosen = min(fitting, key=lambda f: f[0]) if fitting else fastest
    lines = [
        f"| AVIF speed | one mosaic of {probe_digits:,} digits, quality {AVIF_PROBE['quality']} | bytes/digit | mean PSNR "
        f"| bytes against speed {fastest[0]} | {probe_singles} single files | projected time of all AVIF files |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]  # fmt: skip
    for speed, m, s in found:
        lines.append(f"| {speed} | {m.seconds:.1f} s | {m.bytes_per_image:.2f} | {m.mean_psnr_db:.2f} | "
                     f"{m.bytes_per_image / fastest[1].bytes_per_image - 1:+.1%} | {s.seconds:.2f} s | "
                     f"{projected(m, s) / 60:.1f} min |")  # fmt: skip
    calibration = (f"the mosaic of all {n_mosaic:,} digits took {full.seconds:.1f} s at speed {fastest[0]}, "
                   f"{scale:.1f} times the {probe_digits:,}-digit probe, and every speed's projection is scaled so; "
                   f"{n_q_mosaic} mosaic qualities and {n_q_single} x {n_single:,} single files")  # fmt: skip
    if fitting:
        slower = [f for f in found if f[0] < chosen[0]]
        beyond = (f"; speed {max(f[0] for f in slower)} would need {projected(*max(slower, key=lambda f: f[0])[1:]) / 60:.1f} min"
                  if slower else "")  # fmt: skip
        why = (f"the slowest of speeds {', '.join(map(str, AVIF_SPEEDS))} whose projected time for all AVIF files "
               f"({projected(chosen[1], chosen[2]) / 60:.1f} min) fits the {budget_left / 60:.1f} min left of the "
               f"{budget / 60:.0f}-minute budget of the whole run{beyond}")  # fmt: skip
    else:
        why = (f"no probed speed fits the {budget_left / 60:.1f} min left of the budget, so the fastest probed one "
               "was used")  # fmt: skip
    return chosen[0], lines, f"{why}; timed below ({calibration})"


# --- plotting ----------------------------------------------------------------------------


CLASSIC_LOOK = {"JPEG": ("k", "s", "--"), "WebP": ("0.45", "D", "--"), "AVIF": ("0.2", "v", "-.")}


def plot(rows, out: Path, *, n: int, single_n: int):
    """Two panels, batch and single-digit packaging; classic formats in black and grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, axes = plt.subplots(1, 2, figsize=(16, 6.5), sharey=True)
    titles = {BATCH: f"Batch: one file for all {n:,} digits (classic formats: one mosaic image)",
              SINGLE_DIGIT: f"Single digit: one file per digit (mean of {single_n:,} files)"}  # fmt: skip
    names = {"autoencoder": [], "rate": [], "pca": []}
    for r in rows:
        if r.kind in names and r.model not in names[r.kind]:
            names[r.kind].append(r.model)
    colours = {}
    for kind, cmap, lo, hi in (("autoencoder", "Blues", 0.35, 0.95), ("rate", "autumn", 0.0, 0.75),
                               ("pca", "Greens", 0.4, 0.8)):  # fmt: skip
        got = names[kind]
        for i, name in enumerate(got):
            colours[name] = plt.get_cmap(cmap)(lo + (hi - lo) * (i / max(1, len(got) - 1)))
    for ax, packaging in zip(axes, (BATCH, SINGLE_DIGIT)):
        mine = [r for r in rows if r.packaging == packaging]
        # the codec lines named "cae ...", the classic formats by their plain names (rd's grey and black)
        points = [dataclasses.replace(r.point, method=codec_method(r.model) if r.kind in ("autoencoder", "rate")
                                      else r.model) for r in mine]  # fmt: skip
        rd.plot_rate_distortion(points, ax=ax, title=titles[packaging])
        by_label = {r.model: r for r in mine}
        for line in ax.get_lines():
            label = line.get_label()
            name = label[4:] if label.startswith("cae ") else label
            if name in CLASSIC_LOOK:
                colour, marker, style = CLASSIC_LOOK[name]
                line.set(color=colour, marker=marker, linestyle=style, markersize=5)
            elif name in colours:
                line.set_color(colours[name])
                if by_label.get(name) is not None and by_label[name].kind == "rate":
                    line.set(marker="*", markersize=8, linewidth=2)
        for axis in (ax.xaxis,):
            axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "25" else ""))
        ax.axhspan(20, 27, color="0.9", zorder=0)
        ax.legend(fontsize=7, ncol=2, loc="upper left")
        ax.set_ylim(12, 42)
    axes[1].set_ylabel("")
    fig.tight_layout()
    fig.savefig(out / "rate_distortion.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


FIELDS = ["packaging", "kind", "model", *rd.RDPoint.__dataclass_fields__, "digits", "classifier_accuracy"]


def write_csv(rows, path: Path):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for r in rows:
            writer.writerow({"packaging": r.packaging, "kind": r.kind, "model": r.model, **r.point.as_dict(),
                             "digits": r.digits, "classifier_accuracy": r.accuracy})  # fmt: skip


def read_csv(path: Path) -> list[Row]:
    rows = []
    with open(path, newline="") as f:
        for d in csv.DictReader(f):
            point = rd.RDPoint(**{k: (d[k] if k in ("method", "setting") else float(d[k]))
                                  for k in rd.RDPoint.__dataclass_fields__})  # fmt: skip
            rows.append(
                Row(
                    d["packaging"],
                    d["kind"],
                    d["model"],
                    point,
                    int(d["digits"]),
                    float(d["classifier_accuracy"]),
                )
            )
    return rows


def plot_from_csv(out: Path):
    """Redraw ``rate_distortion.png`` from ``rate_distortion.csv`` (no measuring)."""
    rows = read_csv(out / "rate_distortion.csv")
    n = max(r.digits for r in rows if r.packaging == BATCH)
    single_n = max(r.digits for r in rows if r.packaging == SINGLE_DIGIT)
    plot(rows, out, n=n, single_n=single_n)
    print(f"redrew {out / 'rate_distortion.png'} from {len(rows)} points")


# --- the run -----------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N test digits")
    parser.add_argument("--models", nargs="+", default=None,
                        help="shipped model names or latent sizes (default: every shipped model)")  # fmt: skip
    parser.add_argument("--single-sample", type=int, default=1000,
                        help="digits (the first) stored one file each, in every format")  # fmt: skip
    parser.add_argument("--avif-speed", default="auto", help="AVIF encoder speed 0-10, or 'auto' (see above)")
    parser.add_argument(
        "--budget", type=float, default=BUDGET_SECONDS, help="seconds for the whole run (auto speed)"
    )
    parser.add_argument("--no-pca", action="store_true", help="leave out the PCA baselines")
    parser.add_argument("--quick", action="store_true", help="train the judge classifier on a small subset")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from the saved CSV")
    args = parser.parse_args(argv)
    if args.plot_only:
        return plot_from_csv(args.out)

    from PIL import features

    if not features.check("avif"):
        sys.exit("rate_distortion.py needs Pillow with AVIF support (PIL.features.check('avif') is False): "
                 "install Pillow 11.3 or later from its wheels, or build it with libavif.")  # fmt: skip
    if args.avif_speed != "auto" and not (args.avif_speed.isdigit() and 0 <= int(args.avif_speed) <= 10):
        parser.error(f"--avif-speed must be 'auto' or 0-10. Received: {args.avif_speed!r}")

    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = data.load_mnist(args.data_dir)
    x_test, y_test = x_test[: args.limit], y_test[: args.limit]
    n, single_n = len(x_test), min(args.single_sample, len(x_test))
    x_single, y_single = x_test[:single_n], y_test[:single_n]
    x_train_f = data.to_float(x_train)
    judge = judge_classifier(x_train_f, y_train, quick=args.quick)
    original_accuracy = training.accuracy(judge, data.to_float(x_test), y_test)
    print(f"classifier accuracy on the original digits: {original_accuracy:.4f}")

    rows: list[Row] = []

    def add(packaging, kind, model, points, decoded_list, labels):
        for point, decoded in zip(points, decoded_list):
            acc = training.accuracy(judge, data.to_float(decoded), labels)
            rows.append(Row(packaging, kind, model, point, len(labels), acc))
            print(f"  {packaging:>6} {model:>16} {point.setting:>20}: {point.bytes_per_image:8.2f} B/digit, "
                  f"{point.mean_psnr_db:6.2f} dB, accuracy {acc:.4f}", flush=True)  # fmt: skip

    names = [pretrained.resolve(m) for m in args.models] if args.models else pretrained.available_models()
    default_name = pretrained.default_model()
    for name in names:
        kind = pretrained.model_info(name)["kind"]
        steps = RATE_STEPS if kind == pretrained.RATE else AE_STEPS
        model = pretrained.load_pretrained(name)
        batch, decoded = rd.codec_points(x_test, model, steps, name=codec_method(name), single_sample=0)
        add(BATCH, kind, name, batch, decoded.values(), y_test)
        # one file per digit, on the same first digits as the classic single files (quality of those digits)
        single, decoded = rd.codec_points(
            x_single, model, steps, name=codec_method(name), single_sample=single_n
        )
        single = [dataclasses.replace(p, bytes_per_image=p.single_file_bytes, ideal_bytes_per_image=float("nan"),
                                      seconds=float("nan")) for p in single]  # fmt: skip
        add(SINGLE_DIGIT, kind, name, single, decoded.values(), y_single)
    if not args.no_pca:
        for k in PCA_COMPONENTS:
            pca = codec.attach_prior(models.build_pca_autoencoder(x_train_f, k), x_train_f)
            batch, decoded = rd.codec_points(x_test, pca, PCA_STEPS, name=f"PCA {k}", single_sample=0)
            add(BATCH, "pca", f"PCA {k}", batch, decoded.values(), y_test)

    add(SINGLE_DIGIT, "classic", "PNG", [rd.png_point(x_single)], [x_single], y_single)
    for name in ("JPEG", "WebP"):
        fmt, qualities, params = MOSAIC[name]
        points, decoded = rd.mosaic_points(x_test, fmt, qualities, name=f"{name} mosaic", **params)
        add(BATCH, "classic", name, points, decoded.values(), y_test)
        fmt, qualities, params = SINGLE[name]
        points, decoded = rd.pillow_points(x_single, fmt, qualities, name=name, **params)
        add(SINGLE_DIGIT, "classic", name, points, decoded.values(), y_single)

    # the receiver's cost: the default model's decoder half, as a .keras file
    default_model = pretrained.load_pretrained(default_name)
    receiver = codec.receiver_of(default_model)
    with tempfile.TemporaryDirectory() as tmp:
        receiver_bytes = deploy.size_on_disk(
            deploy.save_keras(receiver, Path(tmp) / "receiver.keras", half_precision=True)
        )
    receiver_weights = receiver.count_params()
    # header and checksum of real one-digit files, at the default step and another
    headers = {step: codec.read_header(codec.compress(x_test[:1], default_model, step=step)).header_bytes
               for step in (1.0, 0.5)}  # fmt: skip

    # AVIF last: its speed is chosen with the time left
    if args.avif_speed == "auto":
        found, full = probe_avif_speeds(x_test, x_single)
        budget_left = args.budget - (time.perf_counter() - start) - 30  # 30 s for the chart and the report
        speed, probe_lines, why = choose_avif_speed(
            found,
            full,
            n_mosaic=n,
            n_single=single_n,
            probe_digits=min(n, AVIF_PROBE["digits"]),
            probe_singles=min(single_n, AVIF_PROBE["singles"]),
            budget_left=budget_left,
            budget=args.budget,
        )
    else:
        speed, probe_lines, why = int(args.avif_speed), [], "given on the command line (--avif-speed)"
    avif_start = time.perf_counter()
    fmt, qualities, params = MOSAIC["AVIF"]
    points, decoded = rd.mosaic_points(x_test, fmt, qualities, name="AVIF mosaic", speed=speed, **params)
    points = [dataclasses.replace(p, setting=f"{p.setting}, speed {speed}") for p in points]
    add(BATCH, "classic", "AVIF", points, decoded.values(), y_test)
    fmt, qualities, params = SINGLE["AVIF"]
    points, decoded = rd.pillow_points(x_single, fmt, qualities, name="AVIF", speed=speed, **params)
    points = [dataclasses.replace(p, setting=f"{p.setting}, speed {speed}") for p in points]
    add(SINGLE_DIGIT, "classic", "AVIF", points, decoded.values(), y_single)
    avif_minutes = (time.perf_counter() - avif_start) / 60
    took = f". All AVIF files of the run then took {avif_minutes:.1f} min"
    why = why.replace("; timed below", f"{took}; timed below") if "; timed below" in why else why + took

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, args.out / "rate_distortion.csv")
    plot(rows, args.out, n=n, single_n=single_n)
    report = make_report(rows, n=n, single_n=single_n, default_name=default_name, receiver_bytes=receiver_bytes,
                         receiver_weights=receiver_weights, headers=headers, avif_speed=speed, avif_why=why, probe_lines=probe_lines,
                         original_accuracy=original_accuracy, seconds=time.perf_counter() - start)  # fmt: skip
    (args.out / "rate_distortion.md").write_text("\n".join(report) + "\n")
    print("\n".join(report[: report.index("## All points")]))
    print(f"results in {args.out}/rate_distortion.{{csv,md,png}}")
    return rows


def make_report(rows, *, n, single_n, default_name, receiver_bytes, receiver_weights, headers, avif_speed, avif_why,
                probe_lines, original_accuracy, seconds) -> list[str]:  # fmt: skip
    stamp = f"{datetime.date.today().isoformat()}, {platform.machine()}, {n:,} MNIST test digits"
    height, width = rd.mosaic(np.zeros((n, 28, 28), np.uint8)).shape
    grid = f"{height // 28} rows of {width // 28} digits, {width} x {height} pixels"
    from PIL import __version__ as pillow_version
    from PIL import features

    default_batch = next((r for r in rows if r.packaging == BATCH and r.model == default_name
                          and r.point.setting == "step 1"), None)  # fmt: skip
    report = [
        f"# Rate-distortion, like against like ({stamp})", "",
        "**Packaging.** Every size is the length of real files and every quality the mean per-digit PSNR "
        "(uint8, data range 255) of what is read back, all through `cae_lib.rd`. *Batch*: the course codec "
        f"writes one `.cae` file holding all {n:,} digits (per shipped model and quantisation step); each "
        f"classic format gets the same chance to pack the digits together: all {n:,} digits tiled into ONE "
        f"image (a mosaic of {grid}), saved once, read back and cut "
        "into digits again; bytes per digit are the file's length divided by the number of digits. "
        f"*Single digit*: one file per digit in every format, on the first {single_n:,} test digits: a "
        f"`.cae` file of one digit (format version {codec.FORMAT_VERSION}: {headers[1.0]} bytes of header and "
        f"checksum at step 1, {headers[0.5]} at other steps) against one PNG, JPEG, WebP or AVIF file per digit; bytes per digit are the mean file size. "
        "A method's bytes at a quality level come from its Pareto front, interpolated in log-bytes "
        "(`rd.bytes_at`); below a format's lowest quality its smallest file is what it costs.", "",
        f"Settings: JPEG `optimize=True`; WebP `method=6` (its slowest, best); AVIF (Pillow {pillow_version}, "
        f"libavif {features.version('avif')}) speed {avif_speed}, grey 4:0:0. Rate-aware models (`rate_lambda*`, "
        "trained on distortion + lambda x bits) at steps "
        f"{', '.join(f'{s:g}' for s in RATE_STEPS)}; post-hoc autoencoders (`ae_latentNN`, prior fitted after "
        f"training) at steps {', '.join(f'{s:g}' for s in AE_STEPS)}. Default model (what `cae compress` uses): "
        f"`{default_name}`. Classifier accuracy on the original digits: {original_accuracy:.4f}.", "",
        f"**AVIF speed {avif_speed}**: {avif_why}.", "",
    ]  # fmt: skip
    if probe_lines:
        report += probe_lines + [""]

    lines, _ = level_table(rows, BATCH)
    report += [f"## Batch: one file of {n:,} digits against one mosaic image", "",
               "Bytes per digit at equal mean PSNR; the last column is the better classic format's bytes over the "
               "course's best.", ""] + lines + [""]  # fmt: skip
    members = [r for r in on_front(rows, BATCH) if r.point.mean_psnr_db >= LEVELS[0] - 1]
    report += [f"From {LEVELS[0] - 1:.0f} dB up, the course's best batch front is made of: "
               + ", ".join(f"{r.model} {r.point.setting} ({r.point.bytes_per_image:.2f} B, {r.point.mean_psnr_db:.2f} dB)"
                           for r in members) + ".", ""]  # fmt: skip
    lines, _ = level_table(rows, SINGLE_DIGIT)
    report += [f"## Single digit: one file per digit ({single_n:,} digits)", ""] + lines + [""]
    png = next(r for r in rows if r.model == "PNG")
    smallest = {name: min((r.point for r in rows if r.packaging == SINGLE_DIGIT and r.model == name),
                          key=lambda p: p.bytes_per_image) for name in CLASSICS}  # fmt: skip
    report += ["Smallest single files: " + "; ".join(f"{k} {p.bytes_per_image:.1f} B at {p.mean_psnr_db:.2f} dB ({p.setting})"
                                                    for k, p in smallest.items())
               + f"; lossless PNG {png.point.bytes_per_image:.1f} B.", ""]  # fmt: skip

    report += [f"## Bjøntegaard delta rate, {BD_RANGE[0]:.0f}-{BD_RANGE[1]:.0f} dB", "",
               "Average change in bytes at equal PSNR against each classic format (-80% = a fifth of the bytes), "
               "`rd.bd_rate`; the range is cut to where both fronts have points (shown).", "",
               "Batch packaging:", ""] + bd_table(rows, BATCH)[0] + ["", "Single-digit packaging:", ""] \
        + bd_table(rows, SINGLE_DIGIT)[0] + [""]  # fmt: skip

    report += ["## The receiver's cost", ""]
    if default_batch is not None:
        c, p = default_batch.point.bytes_per_image, default_batch.point.mean_psnr_db
        report += [f"A receiver must hold the decoder: `{default_name}`'s receiver (`codec.receiver_of`: prior and "
                   f"decoder) saved with `deploy.save_keras(..., half_precision=True)` is **{receiver_bytes:,} bytes** "
                   f"({receiver_weights:,} weights). At its step 1 ({p:.2f} dB, {c:.2f} B/digit in one batch file) "
                   "the codec pays for it after:", "",
                   "| against | classic bytes/digit at that PSNR | saved per digit | break-even |",
                   "| --- | ---: | ---: | ---: |"]  # fmt: skip
        for name in ("WebP", "AVIF", "JPEG"):
            w = rd.bytes_at(classic_front(rows, BATCH, name), p)
            if w is None or w <= c:
                report.append(f"| {name} mosaic | {fmt_bytes(w)} | - | never |")
            else:
                report.append(
                    f"| {name} mosaic | {w:.1f} | {w - c:.1f} B | {math.ceil(receiver_bytes / (w - c)):,} digits |"
                )
        report.append("")
    else:
        report += [f"`{default_name}` was not measured (`--models`): no break-even.", ""]

    lines, verdicts = targets(rows, default_name=default_name, n=n, single_n=single_n)
    report += ["## Targets", ""] + lines + ["", f"Targets met: {sum(verdicts)} of {len(verdicts)}.", "",
               f"Run time {seconds:.0f} s ({seconds / 60:.1f} min).", "", "## All points", "",
               "| packaging | method | setting | bytes/digit | ideal bytes/digit | PSNR dB | SSIM | classifier acc. | digits | seconds |",
               "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for r in rows:
        p = r.point
        report.append(f"| {r.packaging} | {p.method} | {p.setting} | {p.bytes_per_image:.2f} | {p.ideal_bytes_per_image:.2f} | "
                      f"{p.mean_psnr_db:.2f} | {p.mean_ssim:.4f} | {r.accuracy:.4f} | {r.digits:,} | {p.seconds:.2f} |")  # fmt: skip
    return report


if __name__ == "__main__":
    main()
