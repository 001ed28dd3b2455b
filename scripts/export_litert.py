"""Export shipped models' encoders and decoders to LiteRT (``.tflite``) and record them in the manifest.

Usage (from the repository root, a few seconds per model):

    python scripts/export_litert.py                       # the manifest's default model
    python scripts/export_litert.py rate_lambda0.05 ae_latent28

Each network goes through a SavedModel (``deploy.export_saved_model``) to a
flat buffer with float16 weights (``deploy.export_tflite(...,
half_precision=True)``): the shipped weights are float16 values already, so
the interpreter computes with exactly the Keras model's weights, at half the
size of a float32 export. Files: ``cae_lib/pretrained/<name>.encoder.tflite``
and ``<name>.decoder.tflite``; their sha256 and size go under the model's
``litert`` key in ``manifest.json``, which :func:`cae_lib.pretrained.load_litert`
checks. The script refuses an export whose outputs differ from Keras' by
more than ``MAX_LATENT_DIFFERENCE`` (latents) or one grey level (pixels) on
the test digits (or on synthetic digits without ``CAE_DATA_DIR``).

Only the default model is shipped exported: the package-data budget (15 MiB,
``tests/test_pretrained.py``) holds one more model's networks, not twelve.
The other models run on TensorFlow (``cae compress --model NAME`` falls back).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from cae_lib import codec, data, deploy, models, pretrained
from cae_lib._tf import tf
from cae_lib.pretrained import MANIFEST_NAME, PRETRAINED_DIR

MAX_LATENT_DIFFERENCE = 1e-3
"""Largest latent difference accepted between the Keras encoder and its export (float32 rounding is ~1e-6)."""


def _test_digits(count: int = 2000) -> np.ndarray:
    try:
        return data.load_mnist()[1][0][:count]
    except (FileNotFoundError, OSError, ValueError):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from fake_digits import fake_digits

        return fake_digits(count)


def export(name: str, directory: Path = PRETRAINED_DIR) -> dict:
    """Export one shipped model's networks; returns its manifest ``litert`` entry."""
    model = pretrained.load_pretrained(name, directory=directory)
    entry = {"weights": "float16 (the shipped float16 values), computed in float32",
             "converter": f"tensorflow {tf.__version__}"}  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        for part, network in (("encoder", models.encoder_of(model)), ("decoder", models.decoder_of(model))):
            saved = deploy.export_saved_model(network, Path(scratch) / part)
            content = deploy.export_tflite(saved, half_precision=True)
            file = f"{name}.{part}.tflite"
            (Path(directory) / file).write_bytes(content)
            entry[part] = {"file": file, "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    return entry


def verify(name: str, directory: Path = PRETRAINED_DIR) -> dict:
    """Compare the LiteRT path with the Keras path on test digits; raise if they differ beyond tolerance."""
    model = pretrained.load_pretrained(name, directory=directory)
    lite = pretrained.load_litert(name, directory=directory)
    digits = _test_digits()
    z_keras, z_lite = codec.encode_latents(digits, model), codec.encode_latents(digits, lite)
    latent_difference = float(np.abs(z_keras - z_lite).max())
    pixels = np.abs(
        codec.decode_latents(z_keras, model).astype(int) - codec.decode_latents(z_keras, lite)
    ).max()
    same_file = codec.compress(digits, model) == codec.compress(digits, lite)
    report = {"max_latent_difference": latent_difference, "max_pixel_difference": int(pixels),
              "same_file_for_test_digits": bool(same_file), "runtime": lite.runtime}  # fmt: skip
    if latent_difference > MAX_LATENT_DIFFERENCE or pixels > 1:
        raise SystemExit(f"{name}: the LiteRT export differs from Keras: {report}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="shipped model names (default: the manifest's default)")
    args = parser.parse_args(argv)
    names = args.names or [pretrained.default_model()]
    manifest_path = PRETRAINED_DIR / MANIFEST_NAME
    for name in names:
        name = pretrained.resolve(name)
        entry = export(name)
        manifest = json.loads(manifest_path.read_text())
        section = "rate_models" if name in manifest.get("rate_models", {}) else "models"
        key = name if section == "rate_models" else str(pretrained.model_info(name)["latent_dim"])
        manifest[section][key]["litert"] = entry
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        report = verify(name)
        print(
            f"{name}: encoder {entry['encoder']['bytes']:,} B, decoder {entry['decoder']['bytes']:,} B; {report}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
