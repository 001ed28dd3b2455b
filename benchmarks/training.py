"""Training speed: the course's default model against a naive implementation of the seed architecture.

Both have the seed's layer sequence (encoder Conv -> ReLU -> Conv -> Conv ->
Dense -> Dense to 28 values, decoder mirrored) and train on the 60,000
MNIST training digits in the same run:

* **course default** (:func:`cae_lib.models.build_autoencoder`): strided
  convolutions with 16/32 filters bring 28x28 down to 7x7 before dense
  layers 256 wide; Adam with a cosine-decayed learning rate from 0.003;
  batch 128;
* **naive seed**: stride-1 convolutions with 32/64 filters at full 28x28
  resolution, so the first dense layer sees 50,176 numbers; plain Adam
  (learning rate 0.001, Keras' default); batch 128.

After every epoch both are scored on the 10,000 test digits (mean PSNR);
scoring time is excluded. Reported: seconds per epoch, and training time to
reach 22 and 24 dB. Target: the default reaches 24 dB in at most one sixth
of the naive model's time.

The naive model stops at 24 dB or after the epoch that passes
``--naive-budget`` seconds of training (30 minutes by default), so a run is
bounded; when it stops unreached, its time to 24 dB is at least that budget.

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/training.py              # up to about 45 minutes
    python benchmarks/training.py --max-epochs 2 --limit 5000               # smoke run
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
from pathlib import Path

from cae_lib import data, metrics, models, training
from cae_lib._tf import keras  # TensorFlow without its C++ start-up lines

RESULTS = Path(__file__).resolve().parent / "results"
LEVELS = (22.0, 24.0)


def build_naive_seed(latent_dim: int = 28) -> keras.Model:
    """The seed architecture written the obvious way (:func:`cae_lib.models.build_naive_seed`), joined."""
    keras.utils.set_random_seed(0)
    encoder, decoder = models.build_naive_seed(latent_dim)
    image = keras.Input((28, 28, 1))
    return keras.Model(image, decoder(encoder(image)), name="naive_seed")


class ScoreEachEpoch(keras.callbacks.Callback):
    """Record training seconds (scoring excluded) and test PSNR after every epoch; stop at the last level."""

    def __init__(self, x_test, stop_at: float, max_seconds: float | None = None):
        super().__init__()
        self.x_test, self.stop_at, self.max_seconds = x_test, stop_at, max_seconds
        self.rows, self._train_seconds = [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self._train_seconds += time.perf_counter() - self._start
        recon = self.model.predict(self.x_test, batch_size=1000, verbose=0)
        psnr = metrics.mean_psnr(self.x_test, recon, data_range=1.0)
        self.rows.append((epoch + 1, self._train_seconds, psnr))
        print(f"    epoch {epoch + 1}: {self._train_seconds:7.1f} s of training, {psnr:.2f} dB", flush=True)
        out_of_time = self.max_seconds is not None and self._train_seconds >= self.max_seconds
        if psnr >= self.stop_at or out_of_time:
            self.model.stop_training = True


def time_to(rows, level):
    return next((seconds for _, seconds, psnr in rows if psnr >= level), None)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N digits only")
    parser.add_argument("--naive-budget", type=float, default=1800.0,
                        help="stop the naive model after the epoch that passes this many training seconds")  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    (x_train, _), (x_test, _) = data.load_mnist_float(args.data_dir)
    x_train = x_train[: args.limit]
    results = {}
    for name in ("course default", "naive seed"):
        print(f"{name}:", flush=True)
        budget = None if name == "course default" else args.naive_budget
        score = ScoreEachEpoch(x_test, stop_at=max(LEVELS), max_seconds=budget)
        if name == "course default":
            model = models.build_autoencoder(28)
            training.train_autoencoder(model, x_train, epochs=args.max_epochs, quick=False, verbose=0,
                                       callbacks=[score])  # fmt: skip
        else:
            model = build_naive_seed(28)
            model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
            model.fit(x_train, x_train, epochs=args.max_epochs, batch_size=128, verbose=0, callbacks=[score])
        results[name] = (int(model.count_params()), score.rows)

    def cell(value):
        return "not reached" if value is None else f"{value:.0f} s"

    lines = [
        f"# Training speed ({datetime.date.today()}, {platform.machine()}, {len(x_train):,} training digits, "
        f"up to {args.max_epochs} epochs, stopping at {max(LEVELS):.0f} dB)",
        "",
        "| model | parameters | seconds per epoch | " + " | ".join(f"time to {v:.0f} dB" for v in LEVELS)
        + " | best PSNR (epoch) |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in LEVELS) + " | ---: |",
    ]  # fmt: skip
    for name, (params, rows) in results.items():
        per_epoch = rows[-1][1] / len(rows)
        best = max(rows, key=lambda r: r[2])
        lines.append(f"| {name} | {params:,} | {per_epoch:.1f} | "
                     + " | ".join(cell(time_to(rows, v)) for v in LEVELS)
                     + f" | {best[2]:.2f} dB ({best[0]}) |")  # fmt: skip
    fast = time_to(results["course default"][1], 24.0)
    slow = time_to(results["naive seed"][1], 24.0)
    if fast is not None and slow is not None:
        verdict = f"{slow / fast:.1f}x faster to 24 dB: {'met' if slow / fast >= 6 else 'missed'}"
    elif fast is not None:
        naive_seconds = results["naive seed"][1][-1][1]
        ratio = naive_seconds / fast
        verdict = (f"the naive model did not reach 24 dB in {naive_seconds:.0f} s of training, "
                   f"{ratio:.1f}x the default's time to 24 dB: "
                   + ("met" if ratio >= 6 else "not settled (raise --naive-budget)"))  # fmt: skip
    else:
        verdict = "the default model did not reach 24 dB: missed"
    lines += ["", f"Target (time to 24 dB at most one sixth of the naive model's): {verdict}.", ""]
    lines += ["Every epoch (training seconds so far, mean test PSNR):", ""]
    for name, (_, rows) in results.items():
        lines.append(f"- {name}: " + ", ".join(f"{e}: {s:.0f} s {p:.2f} dB" for e, s, p in rows))
    lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "training.md").write_text(text)


if __name__ == "__main__":
    main()
