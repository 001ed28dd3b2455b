"""Latency of one update of the latent explorer (notebook 07), models already loaded.

Moves the latent-size and quantisation sliders through every setting twice
and clicks "new random digits", timing each update (recompute, encode,
range-code, decode, metrics, redraw; the time the kernel needs before the
browser can show the result). The first pass draws each setting's curve once;
later visits reuse it. Target: under 200 ms an update.

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/widget_latency.py
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import platform
import time
from pathlib import Path

import numpy as np

from cae_lib import data, widgets

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    _, (x_test, _) = data.load_mnist(args.data_dir)
    start = time.perf_counter()
    explorer = widgets.LatentExplorer(x_test)
    setup = time.perf_counter() - start

    def timed_passes():
        times = []
        for d, s in itertools.product(explorer.latent_dims, explorer.steps):
            explorer.latent_slider.value = d
            explorer.step_slider.value = s
            times.append(explorer.figures.seconds)
        return np.array(times) * 1000

    first = timed_passes()
    again = timed_passes()
    clicks = []
    for _ in range(20):
        explorer.random_button.click()
        clicks.append(explorer.figures.seconds * 1000)
    clicks = np.array(clicks)

    rows = [
        ("first visit of each setting (draws its curve)", first),
        ("later visits", again),
        ("new random digits", clicks),
    ]
    lines = [
        f"# Latent explorer update latency ({datetime.date.today()}, {platform.machine()}, "
        f"{len(explorer.latent_dims)} models, {explorer.n_digits} digits shown)",
        "",
        f"Setup (load models, measure the sweep on {len(explorer.reference)} digits): {setup:.1f} s",
        "",
        "| update | median ms | 90th percentile ms | max ms | under 200 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, t in rows:
        lines.append(
            f"| {name} | {np.median(t):.0f} | {np.percentile(t, 90):.0f} | {t.max():.0f} | {np.mean(t < 200):.0%} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "widget_latency.md").write_text(text)


if __name__ == "__main__":
    main()
