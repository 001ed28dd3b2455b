"""Train the course's pretrained autoencoders, one per latent size, and write their manifest.

Usage (from the repository root, about 6 minutes per model on 2 CPU cores):

    CAE_DATA_DIR=/path/to/mnist python scripts/train_pretrained.py
    python scripts/train_pretrained.py --latent-dims 28 --epochs 20

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

from cae_lib import codec, data, deploy, metrics, models, training
from cae_lib._tf import keras  # TensorFlow without its C++ start-up lines
from cae_lib.pretrained import MANIFEST_NAME, PRETRAINED_DIR, model_filename

SWEEP = (2, 4, 8, 16, 28, 32, 64)
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
    args = parser.parse_args(argv)
    if args.refit_prior:
        return refit_prior(args.out, args.data_dir)

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
        old = keras.saving.load_model(path, compile=False)
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


if __name__ == "__main__":
    main()
