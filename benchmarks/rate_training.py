"""Rate-aware training: what the decoder should see in training, rounded latents or noisy ones.

:class:`cae_lib.rate.RateDistortionAutoencoder` always prices the latent
with uniform noise (the rate term needs a gradient); the decoder can get
either the same noisy latent (``decoder_input="noise"``, Ballé et al. 2017)
or the rounded latent with a straight-through gradient (``"round"``, Minnen
and Singh 2020: it trains the decoder on what it will really receive). Both
train with the same seed, lambda and epochs on the 60,000 training digits;
each is then scored as a real codec at step 1 on the 10,000 test digits:
bytes per digit of one file, mean PSNR, and the coder's overhead over the
model's own bits.

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/rate_training.py             # about 5 minutes
    python benchmarks/rate_training.py --epochs 1 --limit 4096                 # smoke run
"""

from __future__ import annotations

import argparse
import datetime
import platform
from pathlib import Path

from cae_lib import codec, data, rate
from cae_lib._tf import keras  # TensorFlow without its C++ start-up lines

RESULTS = Path(__file__).resolve().parent / "results" / "rate_training.md"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lmbda", type=float, default=0.03)
    parser.add_argument("--limit", type=int, default=None, help="training digits (default: all 60,000)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    (x_train, _), (x_test, _) = data.load_mnist(args.data_dir)
    x_train = x_train[: args.limit]
    rows = []
    for decoder_input in rate.DECODER_INPUTS:
        model = rate.build_rate_autoencoder(lmbda=args.lmbda, decoder_input=decoder_input)
        history = rate.train_rate_autoencoder(model, x_train, epochs=args.epochs, quick=False, verbose=2)
        result = codec.measure(x_test, rate.codec_model_of(model), step=1.0)
        rows.append((decoder_input, result, history.params["seconds"]))
        print(
            f"{decoder_input}: {result.bytes_per_image:.2f} B/digit at {result.mean_psnr_db:.2f} dB",
            flush=True,
        )

    lines = [
        "# Rate-aware training: rounded or noisy latents for the decoder",
        "",
        f"`python benchmarks/rate_training.py --epochs {args.epochs} --lmbda {args.lmbda}`"
        f"{'' if args.limit is None else f' --limit {args.limit}'}, {datetime.date.today().isoformat()}, "
        f"{platform.machine()}, {keras.config.backend()} backend. Default rate model "
        f"(latent {rate.RATE_LATENT_DIM}, filters {rate.RATE_FILTERS}, dense {rate.RATE_HIDDEN_UNITS}), "
        f"{len(x_train):,} training digits; scored as one real `.cae` file of the 10,000 test digits at step 1.",
        "",
        "| decoder input | bytes/digit | mean PSNR (dB) | coder overhead | training (s) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for decoder_input, result, seconds in rows:
        lines.append(
            f"| {decoder_input} | {result.bytes_per_image:.2f} | {result.mean_psnr_db:.2f} | "
            f"{result.coder_overhead:+.3%} | {seconds:.0f} |"
        )
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
