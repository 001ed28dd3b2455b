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

With ``--ablation`` it answers a second question instead: how much of the
shipped rate-aware models' saving comes from the rate term itself? It trains
the same architecture with the same recipe, epochs and squared-error loss as
the shipped models but no rate term and float latents, fits a prior afterwards
(:func:`cae_lib.codec.attach_prior`, the post-hoc route of notebooks 04-05),
and compares its rate-distortion front with the shipped rate-aware models'
(Bjøntegaard delta rate over the range both cover). Results go to
``results/rate_ablation.md``.

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/rate_training.py             # about 5 minutes
    CAE_DATA_DIR=/path/to/mnist python benchmarks/rate_training.py --ablation  # about 8 minutes
    python benchmarks/rate_training.py --epochs 1 --limit 4096                 # smoke run
"""

from __future__ import annotations

import argparse
import datetime
import platform
from pathlib import Path

from cae_lib import codec, data, metrics, models, pretrained, rate, rd, training
from cae_lib._tf import keras  # TensorFlow without its C++ start-up lines

RESULTS = Path(__file__).resolve().parent / "results" / "rate_training.md"
ABLATION = Path(__file__).resolve().parent / "results" / "rate_ablation.md"
ABLATION_STEPS = (0.1, 0.15, 0.2, 0.3, 0.45, 0.7, 1.0, 1.5, 2.2, 3.3, 5.0)
RATE_STEPS = (0.7, 0.85, 1.0, 1.2, 1.5)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="default: 8, or the shipped models' epochs with --ablation"
    )
    parser.add_argument("--lmbda", type=float, default=0.03)
    parser.add_argument("--limit", type=int, default=None, help="training digits (default: all 60,000)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--ablation", action="store_true", help="lambda = 0 with a post-hoc prior instead")
    args = parser.parse_args(argv)

    (x_train, _), (x_test, _) = data.load_mnist(args.data_dir)
    x_train = x_train[: args.limit]
    if args.ablation:
        return ablation(args, x_train, x_test)
    args.epochs = args.epochs or 8
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


def ablation(args, x_train, x_test) -> None:
    """The shipped rate-aware models against the same network trained with lambda = 0 and a post-hoc prior."""
    epochs = args.epochs or pretrained.model_info(pretrained.default_model())["training"]["epochs"]
    # lambda = 0 with rounding would leave nothing to bound the latents (the decoder's ReLUs die): the
    # rate-free baseline is the course's post-hoc route, float latents in training, a prior fitted after.
    model = models.build_autoencoder(
        rate.RATE_LATENT_DIM, filters=rate.RATE_FILTERS, hidden_units=rate.RATE_HIDDEN_UNITS, seed=0
    )
    history = training.train_autoencoder(model, x_train, epochs=epochs, loss="mse", quick=False, verbose=2)
    post_hoc = codec.attach_prior(model, x_train)
    recon = training.predict_in_batches(model, data.to_float(x_test))
    float_psnr = metrics.mean_psnr(data.to_float(x_test), recon, data_range=1.0)
    baseline, _ = rd.codec_points(
        x_test, post_hoc, ABLATION_STEPS, name="no rate term, prior fitted after", single_sample=0
    )
    shipped = []
    for name in pretrained.available_models(kind="rate"):
        points, _ = rd.codec_points(
            x_test, pretrained.load_pretrained(name), RATE_STEPS, name=name, single_sample=0
        )
        shipped += points
    front, reference = rd.pareto_front(shipped), rd.pareto_front(baseline)
    delta = rd.bd_rate(front, reference, low=20.0, high=27.0)
    lines = [
        "# Rate-aware training: how much of the saving is the rate term?",
        "",
        f"`python benchmarks/rate_training.py --ablation`, {datetime.date.today().isoformat()}, "
        f"{platform.machine()}, {keras.config.backend()} backend. The shipped rate-aware models' architecture "
        f"(latent {rate.RATE_LATENT_DIM}, filters {rate.RATE_FILTERS}, dense {rate.RATE_HIDDEN_UNITS}), recipe and "
        f"{epochs} epochs and the same squared-error distortion (mean instead of sum: the same minimiser under Adam), "
        f"trained without any rate term and with float latents ({history.params['seconds']:.0f} s; "
        f"{float_psnr:.2f} dB on the test digits with float latents), then a decorrelating Gaussian prior fitted "
        "on the training latents (`codec.attach_prior`), the post-hoc route of notebooks 04-05. Both sides coded "
        "as one real `.cae` file of the 10,000 test digits.",
        "",
        "| codec | step | bytes/digit | mean PSNR (dB) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for p in baseline + shipped:
        lines.append(
            f"| {p.method} | {p.setting.removeprefix('step ')} | {p.bytes_per_image:.2f} | {p.mean_psnr_db:.2f} |"
        )
    for level in (22.0, 23.0, 24.0, 25.0, 26.0):
        a, b = rd.bytes_at(front, level), rd.bytes_at(reference, level)
        if a is not None and b is not None:
            lines.append(f"\nAt {level:.0f} dB: rate-aware {a:.2f} B/digit, no rate term + post-hoc prior {b:.2f} B/digit "
                         f"({a / b - 1:+.1%}).")  # fmt: skip
    verdict = "no overlap" if delta is None else f"{delta:+.1%}"
    lines += ["", f"Bjøntegaard delta rate of the rate-aware front against no rate term + post-hoc prior (20-27 dB where both "
              f"reach): **{verdict}**."]  # fmt: skip
    ABLATION.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
