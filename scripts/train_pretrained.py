"""Train the course's pretrained autoencoders, one per latent size, and write their manifest.

Usage (from the repository root, about 4 minutes per model on 2 CPU cores):

    CAE_DATA_DIR=/path/to/mnist python scripts/train_pretrained.py
    python scripts/train_pretrained.py --latent-dims 28 --epochs 20

Every model is seeded; the settings, the training time, the sha256 of each
file and its mean PSNR/SSIM on the 10,000 test digits go into
``cae_lib/pretrained/manifest.json``.

The shipped weights (manifest dated 2026-11-26) were trained while
``training.train_autoencoder`` still handed Keras the NumPy arrays, which
Keras shuffles its own way. It now feeds ``training.ArrayBatches`` (one
batch copied at a time, for memory), whose order differs, so a retrain
gives different weights (and model ids) of the same quality, not the
shipped files bit for bit.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import platform
from pathlib import Path

import keras

from cae_lib import codec, data, metrics, models, training
from cae_lib.pretrained import MANIFEST_NAME, PRETRAINED_DIR, model_filename

SWEEP = (2, 4, 8, 16, 28, 32, 64)


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
        help="do not train: refit the latent prior of the shipped models and update the manifest",
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
        codec_model = models.attach_prior(model, x_train)
        path = args.out / model_filename(latent_dim)
        codec_model.save(path)
        recon = training.reconstruct(codec_model, x_test)
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
                "seconds": round(history.params["seconds"], 1),
                "final_loss": round(float(history.history["loss"][-1]), 5),
                "machine": f"{platform.machine()}, {keras.config.backend()} backend",
                "date": datetime.date.today().isoformat(),
            },
            "test_mean_psnr_db": round(metrics.mean_psnr(x_test, recon, data_range=1.0), 3),
            "test_mean_ssim": round(metrics.mean_ssim(x_test, recon, data_range=1.0), 4),
        }
        manifest["models"][str(latent_dim)] = entry
        manifest["models"] = dict(sorted(manifest["models"].items(), key=lambda kv: int(kv[0])))
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        print(
            f"latent {latent_dim}: {entry['test_mean_psnr_db']} dB, SSIM {entry['test_mean_ssim']}, "
            f"{entry['training']['seconds']} s -> {path}",
            flush=True,
        )


def refit_prior(directory: Path, data_dir) -> None:
    """Refit the latent prior of every model in the manifest (weights unchanged) and update the manifest."""
    (x_train, _), _ = data.load_mnist_float(data_dir)
    manifest_path = directory / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["models"].values():
        path = directory / entry["file"]
        old = keras.saving.load_model(path, compile=False)
        codec_model = models.attach_prior(old, x_train)  # same encoder and decoder, new prior
        codec_model.save(path)
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        entry["model_id"] = codec.model_id(codec_model).hex()
        entry["training"]["prior"] = "gaussian, decorrelated (principal axes of the training latents)"
        print(f"{path.name}: sha256 {entry['sha256'][:12]}..., model id {entry['model_id']}")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
