"""Rate-distortion benchmark: the course codec against PNG, JPEG, WebP and PCA on MNIST's test set.

Every size is the length of real bytes (see :mod:`cae_lib.rd`):

* codec, "bytes/digit": one ``.cae`` file holding all test digits, divided by
  their number; "one-file bytes": the mean size of single-digit ``.cae`` files
  (16 bytes of header and checksum included);
* PNG, JPEG, WebP: the mean size of one Pillow file per digit;
* PCA: principal components through the same prior, quantiser and range coder.

Quality: mean PSNR and SSIM (uint8, data range 255) and the accuracy of a
small CNN classifier, trained once on the training set, on the
reconstructions. Writes ``results/rate_distortion.{csv,md,png}``.

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/rate_distortion.py             # about 5 minutes
    python benchmarks/rate_distortion.py --limit 300 --latent-dims 28 --quick --out /tmp/rd  # smoke run
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import time
from pathlib import Path

from cae_lib import codec, data, models, pretrained, rd, training

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(__file__).resolve().parent / ".cache"
STEPS = (0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
PCA_COMPONENTS = (8, 16, 28, 64)
PCA_STEPS = (0.05, 0.1, 0.2, 0.35, 0.5, 1.0)
JPEG_QUALITIES = (5, 10, 20, 30, 50, 75, 90)
WEBP_QUALITIES = (0, 5, 10, 20, 30, 50, 75, 90)
TARGET_LEVELS = (20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0)
TARGET_RATIO = 6.0


def judge_classifier(x_train, y_train, *, quick: bool):
    """The task-aware judge: trained once, then cached in benchmarks/.cache."""
    from cae_lib._tf import keras

    path = CACHE / ("classifier_quick.keras" if quick else "classifier.keras")
    if path.exists():
        return keras.saving.load_model(path)
    model = models.build_digit_classifier()
    training.train_digit_classifier(model, x_train, y_train, epochs=3, quick=quick, verbose=2)
    path.parent.mkdir(exist_ok=True)
    model.save(path)
    return model


def target_table(points):
    """Markdown rows comparing the codec's and WebP's bytes at each target quality level."""
    codec_front = rd.pareto_front([p for p in points if p.method.startswith("cae")])
    webp_front = rd.pareto_front([p for p in points if p.method == "WebP"])
    lines = ["| mean PSNR | codec bytes/digit | WebP bytes/digit | WebP / codec | target (≥ 6) |",
             "| ---: | ---: | ---: | ---: | :---: |"]  # fmt: skip
    verdicts = []
    for level in TARGET_LEVELS:
        c, w = rd.bytes_at(codec_front, level), rd.bytes_at(webp_front, level)
        if c is None or w is None:
            cell = lambda v: "not reached" if v is None else f"{v:.1f}"  # noqa: E731
            lines.append(f"| {level:.0f} dB | {cell(c)} | {cell(w)} | - | missed |")
            verdicts.append(False)
            continue
        note = " (its smallest file)" if level < webp_front[0][1] else ""
        ok = w / c >= TARGET_RATIO
        verdicts.append(ok)
        lines.append(
            f"| {level:.0f} dB | {c:.1f} | {w:.1f}{note} | {w / c:.1f} | {'met' if ok else 'missed'} |"
        )
    return lines, verdicts


def other_targets(points, single_header: int):
    """Markdown lines for the coder-overhead, header and speed targets, from the codec points."""
    mine = [p for p in points if p.method.startswith("cae")]
    overhead = max(p.bytes_per_image / p.ideal_bytes_per_image - 1 for p in mine)
    default = [p for p in mine if p.method == "cae latent 28"] or mine
    slowest = max(default, key=lambda p: p.seconds)
    return [
        "## Other targets", "",
        "| target | measured | verdict |", "| --- | --- | :---: |",
        f"| real size within 3% of the ideal code length plus header | worst case {overhead:+.3%} over "
        f"{len(mine)} codec points | {'met' if overhead <= 0.03 else 'missed'} |",
        f"| single-digit header at most 16 bytes | {single_header} bytes (header + CRC-32) | "
        f"{'met' if single_header <= 16 else 'missed'} |",
        f"| encode + decode of all test digits under 10 s | {slowest.seconds:.2f} s ({slowest.method}, "
        f"{slowest.setting}, slowest step) | {'met' if slowest.seconds < 10 else 'missed'} |",
    ]  # fmt: skip


def plot_from_csv(out: Path):
    """Redraw ``rate_distortion.png`` from ``rate_distortion.csv`` (no measuring)."""
    import matplotlib

    matplotlib.use("Agg")
    with open(out / "rate_distortion.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    fields = [f for f in rd.RDPoint.__dataclass_fields__]
    points = [
        rd.RDPoint(**{k: (r[k] if k in ("method", "setting") else float(r[k])) for k in fields}) for r in rows
    ]
    count = out.joinpath("rate_distortion.md").read_text().split(" MNIST test digits")[0].rsplit(", ", 1)[-1]
    ax = rd.plot_rate_distortion(points, title=f"Rate-distortion, {count} MNIST test digits")
    ax.figure.savefig(out / "rate_distortion.png", dpi=120, bbox_inches="tight")
    print(f"redrew {out / 'rate_distortion.png'} from {len(points)} points")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N test digits")
    parser.add_argument(
        "--latent-dims", type=int, nargs="+", default=None, help="default: every shipped model"
    )
    parser.add_argument("--single-sample", type=int, default=1000, help="digits used for one-file sizes")
    parser.add_argument("--quick", action="store_true", help="train the judge classifier on a small subset")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from the saved CSV")
    args = parser.parse_args(argv)
    if args.plot_only:
        return plot_from_csv(args.out)

    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = data.load_mnist(args.data_dir)
    x_test, y_test = x_test[: args.limit], y_test[: args.limit]
    x_train_f = data.to_float(x_train)
    judge = judge_classifier(x_train_f, y_train, quick=args.quick)

    points, accuracy = [], {}

    def add(new_points, decoded_by_setting):
        for point, decoded in zip(new_points, decoded_by_setting):
            points.append(point)
            accuracy[(point.method, point.setting)] = training.accuracy(judge, data.to_float(decoded), y_test)
            print(f"  {point.method:>14} {point.setting:>12}: {point.bytes_per_image:7.2f} B/digit, "
                  f"{point.mean_psnr_db:6.2f} dB, accuracy {accuracy[(point.method, point.setting)]:.4f}", flush=True)  # fmt: skip

    original_accuracy = training.accuracy(judge, data.to_float(x_test), y_test)
    print(f"classifier accuracy on the original digits: {original_accuracy:.4f}")

    for latent_dim in args.latent_dims or pretrained.available_latent_dims():
        model = pretrained.load_pretrained(latent_dim)
        new, decoded = rd.codec_points(x_test, model, STEPS, name=f"cae latent {latent_dim}",
                                       single_sample=args.single_sample)  # fmt: skip
        add(new, decoded.values())
    for k in PCA_COMPONENTS:
        pca = codec.attach_prior(models.build_pca_autoencoder(x_train_f, k), x_train_f)
        new, decoded = rd.codec_points(x_test, pca, PCA_STEPS, name=f"PCA {k}", single_sample=200)
        add(new, decoded.values())
    one_digit = codec.compress(x_test[:1], pretrained.load_pretrained(pretrained.DEFAULT_LATENT_DIM))
    single_header = codec.read_header(one_digit).header_bytes  # measured on a real one-digit file
    png = rd.png_point(x_test)
    add([png], [x_test])
    for fmt, name, qualities, params in (("JPEG", "JPEG", JPEG_QUALITIES, {}),
                                         ("WEBP", "WebP", WEBP_QUALITIES, {"method": 6})):  # fmt: skip
        new, decoded = rd.pillow_points(x_test, fmt, qualities, name=name, **params)
        add(new, decoded.values())

    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "rate_distortion.csv", "w", newline="") as f:
        fields = list(points[0].as_dict()) + ["classifier_accuracy"]
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for p in points:
            writer.writerow({**p.as_dict(), "classifier_accuracy": accuracy[(p.method, p.setting)]})

    import matplotlib

    matplotlib.use("Agg")
    ax = rd.plot_rate_distortion(points, title=f"Rate-distortion, {len(x_test):,} MNIST test digits")
    ax.figure.savefig(args.out / "rate_distortion.png", dpi=120, bbox_inches="tight")

    lines, verdicts = target_table(points)
    stamp = f"{datetime.date.today().isoformat()}, {platform.machine()}, {len(x_test):,} MNIST test digits"
    report = [f"# Rate-distortion ({stamp})", "",
              "Sizes are real bytes. Codec bytes/digit: one .cae file of all digits; one-file bytes: a .cae file",
              "per digit (16 bytes of header and checksum included). JPEG/WebP/PNG: one Pillow file per digit.",
              f"Classifier accuracy on the original digits: {original_accuracy:.4f}.", "",
              "## Target: at most one sixth of WebP's bytes from 20 to 26 dB", ""] + lines  # fmt: skip
    report += ["", f"Levels met: {sum(verdicts)} of {len(verdicts)}.", ""] + other_targets(points, single_header) + [
               "", f"Run time {time.perf_counter() - start:.0f} s.", "",
               "## All points", "",
               "| method | setting | bytes/digit | one-file bytes | ideal bytes/digit | PSNR dB | SSIM | classifier acc. | seconds |",
               "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for p in points:
        report.append(
            f"| {p.method} | {p.setting} | {p.bytes_per_image:.2f} | {p.single_file_bytes:.2f} | "
            f"{p.ideal_bytes_per_image:.2f} | {p.mean_psnr_db:.2f} | {p.mean_ssim:.4f} | "
            f"{accuracy[(p.method, p.setting)]:.4f} | {p.seconds:.2f} |"
        )
    (args.out / "rate_distortion.md").write_text("\n".join(report) + "\n")
    print("\n".join(report[: report.index("## All points")]))
    print(f"results in {args.out}/rate_distortion.{{csv,md,png}}")
    return points, verdicts


if __name__ == "__main__":
    main()
