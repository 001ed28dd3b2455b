"""Train the course's pretrained autoencoders, one per latent size, and write their manifest.

Usage (from the repository root, about 6 minutes per model on 2 CPU cores):

    CAE_DATA_DIR=/path/to/mnist python scripts/train_pretrained.py
    python scripts/train_pretrained.py --latent-dims 28 --epochs 20
    python scripts/train_pretrained.py --rate                      # the rate-aware sweep (notebook 09)
    python scripts/train_pretrained.py --rate --lambdas 0.03 --rate-epochs 30

``--rate`` trains :class:`cae_lib.rate.RateDistortionAutoencoder` models,
one per lambda (``RATE_SWEEP``), named ``rate_lambda<lambda>``; their codec
models keep the trained entropy model as their prior
(:func:`cae_lib.rate.codec_model_of`). Their manifest entries (under
``rate_models``) also record the real bytes per digit and mean PSNR of the
10,000 test digits coded as one file at step 1, and the mean size of a
single-digit file.

Every model is seeded; the settings, the training time, the sha256 of each
file and its mean PSNR/SSIM on the 10,000 test digits go into
``cae_lib/pretrained/manifest.json``.

Each model's encoder and decoder are rounded to float16 after training
(``deploy.round_to_half_precision``) and stored as float16 inside the
``.keras`` file, which halves the files (the seven fit the package's 10 MiB
budget) and costs less than 0.01 dB; the prior is then fitted on the rounded
encoder. ``--refit-prior`` applies the same finishing to models already in
the manifest without retraining.

The shipped weights were trained by this script as it stands (dense layers
256 wide, ``training.ArrayBatches`` feeding one batch at a time), so a
retrain on the same machine type should reproduce them; TensorFlow's CPU
kernels are not bit-exact across machines, so elsewhere expect the same
quality rather than the same bytes.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import platform
from pathlib import Path

from cae_lib import codec, data, deploy, metrics, models, rate, saving, training
from cae_lib._tf import keras  # TensorFlow without its C++ start-up lines
from cae_lib.pretrained import MANIFEST_NAME, PRETRAINED_DIR, model_filename

SWEEP = (2, 4, 8, 16, 28, 32, 64)
RATE_SWEEP = (0.1, 0.05, 0.03, 0.01, 0.003)
DEFAULT_RANGE_DB = (23.0, 24.5)
"""``cae compress`` uses by default the rate model with the fewest bytes whose step-1 test PSNR is in this range."""
RATE_EPOCHS = 30
WEIGHTS_NOTE = "encoder and decoder rounded to float16 after training, stored as float16"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latent-dims", type=int, nargs="+", default=list(SWEEP))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR)
    parser.add_argument(
        "--refit-prior",
        action="store_true",
        help="do not train: round the shipped models' encoder and decoder to float16, refit their "
        "latent prior, re-measure them and update the manifest",
    )
    parser.add_argument(
        "--make-portable",
        action="store_true",
        help="do not train: rewrite every shipped model's config so that older Keras releases load it "
        "(cae_lib.saving.make_portable; the weights stay the same bytes) and update the manifest's sha256",
    )
    parser.add_argument("--rate", action="store_true", help="train the rate-aware sweep instead")
    parser.add_argument("--lambdas", type=float, nargs="+", default=list(RATE_SWEEP))
    parser.add_argument("--rate-epochs", type=int, default=RATE_EPOCHS)
    args = parser.parse_args(argv)
    if args.rate:
        return train_rate_models(args)
    if args.refit_prior:
        return refit_prior(args.out, args.data_dir)
    if args.make_portable:
        return make_portable(args.out)

    (x_train, _), (x_test, _) = data.load_mnist_float(args.data_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"models": {}}
    for latent_dim in args.latent_dims:
        model = models.build_autoencoder(latent_dim, seed=args.seed)
        history = training.train_autoencoder(  # the course recipe: Adam with cosine decay, BCE loss
            model,
            x_train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            quick=False,
            verbose=2,
        )
        deploy.round_to_half_precision(model)  # float16 weights: half the file, no visible loss
        codec_model = codec.attach_prior(model, x_train)
        path = deploy.save_keras(codec_model, args.out / model_filename(latent_dim), half_precision=True)
        entry = {
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "model_id": codec.model_id(codec_model).hex(),
            "latent_dim": latent_dim,
            "parameters": int(model.count_params()),
            "training": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "optimizer": "Adam",
                "learning_rate": f"cosine decay from {args.learning_rate} to 2%",
                "loss": "binary_crossentropy",
                "seed": args.seed,
                "train_images": len(x_train),
                "prior": "gaussian, decorrelated (principal axes of the training latents)",
                "weights": WEIGHTS_NOTE,
                "seconds": round(history.params["seconds"], 1),
                "final_loss": round(float(history.history["loss"][-1]), 5),
                "machine": f"{platform.machine()}, {keras.config.backend()} backend",
                "date": datetime.date.today().isoformat(),
            },
            **measure_quality(codec_model, x_test),
        }
        manifest["models"][str(latent_dim)] = entry
        manifest["models"] = dict(sorted(manifest["models"].items(), key=lambda kv: int(kv[0])))
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        print(
            f"latent {latent_dim}: {entry['test_mean_psnr_db']} dB, SSIM {entry['test_mean_ssim']}, "
            f"{entry['training']['seconds']} s -> {path}",
            flush=True,
        )


def rate_model_name(lmbda: float) -> str:
    """Shipped name of the rate-aware model trained with ``lmbda``.

    Example:
        >>> rate_model_name(0.03)
        'rate_lambda0.03'
    """
    return f"rate_lambda{lmbda:g}"


def train_rate_models(args) -> None:
    """Train one :class:`cae_lib.rate.RateDistortionAutoencoder` per lambda; record each in the manifest."""
    (x_train, _), (x_test, _) = data.load_mnist(args.data_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"models": {}}
    for lmbda in args.lambdas:
        name = rate_model_name(lmbda)
        model = rate.build_rate_autoencoder(lmbda=lmbda, seed=args.seed)
        history = rate.train_rate_autoencoder(
            model, x_train, epochs=args.rate_epochs, batch_size=args.batch_size,
            learning_rate=args.learning_rate, seed=args.seed, quick=False, verbose=2,
        )  # fmt: skip
        deploy.round_to_half_precision(model.encoder)
        deploy.round_to_half_precision(model.decoder)
        codec_model = rate.codec_model_of(model)
        path = deploy.save_keras(codec_model, args.out / f"{name}.keras", half_precision=True)
        batch = codec.measure(x_test, codec_model, step=1.0)
        singles = codec.compress_each(x_test[:1000], codec_model, step=1.0)
        entry = {
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "model_id": codec.model_id(codec_model).hex(),
            "latent_dim": model.latent_dim,
            "parameters": int(codec_model.count_params()),
            "lambda": lmbda,
            "training": {
                "kind": "rate-distortion: squared error summed over the image + lambda * bits",
                "epochs": args.rate_epochs,
                "batch_size": args.batch_size,
                "optimizer": "Adam",
                "learning_rate": f"cosine decay from {args.learning_rate} to 2%",
                "architecture": f"filters {model.filters}, dense {model.hidden_units}, latent {model.latent_dim}",
                "decoder_input": model.entropy_model.decoder_input,
                "seed": args.seed,
                "train_images": len(x_train),
                "weights": WEIGHTS_NOTE,
                "seconds": round(history.params["seconds"], 1),
                "final": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
                "machine": f"{platform.machine()}, {keras.config.backend()} backend",
                "date": datetime.date.today().isoformat(),
            },
            "test_step1_bytes_per_digit": round(batch.bytes_per_image, 3),
            "test_step1_mean_psnr_db": round(batch.mean_psnr_db, 3),
            "test_step1_single_file_bytes": round(sum(map(len, singles)) / len(singles), 2),
            "active_dimensions": int((model.entropy_model.scale_values > 2 * rate.SCALE_FLOOR).sum()),
        }
        manifest.setdefault("rate_models", {})[name] = entry
        manifest["default"] = choose_default(manifest)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"{name}: {entry['test_step1_bytes_per_digit']} B/digit at {entry['test_step1_mean_psnr_db']} dB "
              f"(single file {entry['test_step1_single_file_bytes']} B), {entry['training']['seconds']} s -> {path}",
              flush=True)  # fmt: skip


def choose_default(manifest: dict) -> str:
    """The model ``cae compress`` uses by default: the smallest rate model for about 23-24 dB.

    Among the rate models whose step-1 test PSNR lies in ``DEFAULT_RANGE_DB``,
    the one with the fewest bytes per digit; the post-hoc latent-28 model if none does.

    Example:
        >>> choose_default({"rate_models": {
        ...     "a": {"test_step1_mean_psnr_db": 22.0, "test_step1_bytes_per_digit": 7.0},
        ...     "b": {"test_step1_mean_psnr_db": 23.4, "test_step1_bytes_per_digit": 11.0},
        ...     "c": {"test_step1_mean_psnr_db": 24.1, "test_step1_bytes_per_digit": 12.4}}})
        'b'
    """
    low, high = DEFAULT_RANGE_DB
    fits = [
        (entry["test_step1_bytes_per_digit"], name)
        for name, entry in manifest.get("rate_models", {}).items()
        if low <= entry["test_step1_mean_psnr_db"] <= high
    ]
    return min(fits)[1] if fits else "ae_latent28"


def measure_quality(model, x_test) -> dict:
    """The manifest's quality fields: mean PSNR and SSIM of the model's reconstructions of ``x_test``."""
    recon = training.predict_in_batches(model, x_test)
    return {
        "test_mean_psnr_db": round(metrics.mean_psnr(x_test, recon, data_range=1.0), 3),
        "test_mean_ssim": round(metrics.mean_ssim(x_test, recon, data_range=1.0), 4),
    }


def refit_prior(directory: Path, data_dir) -> None:
    """Round every model's networks to float16, refit its latent prior, re-measure it, update the manifest.

    Rounding is idempotent: on models already rounded only the prior is refitted.
    """
    (x_train, _), (x_test, _) = data.load_mnist_float(data_dir)
    manifest_path = directory / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["models"].values():
        path = directory / entry["file"]
        old = saving.load_model(path)
        deploy.round_to_half_precision(models.encoder_of(old))
        deploy.round_to_half_precision(models.decoder_of(old))
        codec_model = codec.attach_prior(old, x_train)  # same encoder and decoder, new prior
        deploy.save_keras(codec_model, path, half_precision=True)
        entry.update(measure_quality(codec_model, x_test))
        entry["training"]["weights"] = WEIGHTS_NOTE
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        entry["model_id"] = codec.model_id(codec_model).hex()
        entry["training"]["prior"] = "gaussian, decorrelated (principal axes of the training latents)"
        print(f"{path.name}: {entry['test_mean_psnr_db']} dB, sha256 {entry['sha256'][:12]}..., "
              f"model id {entry['model_id']}")  # fmt: skip
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def make_portable(directory: Path) -> None:
    """Rewrite every shipped model's config with ``saving.make_portable``; same weights, same model id, new sha256.

    The shipped files written before ``deploy.save_keras`` made configs
    portable (Keras 3.15, 2026-11) loaded on that Keras only; this rewrites
    them in place, checks that the weights member is byte-for-byte the same,
    and records the new hashes.
    """
    import shutil
    import tempfile
    import zipfile

    manifest_path = directory / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    entries = [*manifest["models"].values(), *manifest.get("rate_models", {}).values()]
    for entry in entries:
        path = directory / entry["file"]
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            partial = Path(scratch) / path.name
            shutil.copyfile(path, partial)
            saving.make_portable(partial)
            with zipfile.ZipFile(path) as old, zipfile.ZipFile(partial) as new:
                if old.read("model.weights.h5") != new.read("model.weights.h5"):
                    raise SystemExit(f"{path}: the weights changed; nothing written")
            partial.replace(path)
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.name}: portable config, sha256 {entry['sha256'][:12]}...", flush=True)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
