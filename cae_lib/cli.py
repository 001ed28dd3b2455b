"""The ``cae`` command line: compress digits to a ``.cae`` file, decompress it, describe it.

Examples::

    cae compress digit.png -o digit.cae
    cae compress batch.npy --latent-dim 16 --step 0.8 -o batch.cae
    cae info digit.cae
    cae decompress digit.cae -o restored.png
    cae decompress batch.cae -o restored/        # one PNG per digit

Expected mistakes (a missing file, an unreadable image, a corrupt file, the
wrong model) print one line on stderr and exit with status 1; usage errors
exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


class CliError(Exception):
    """An expected failure, reported as one line on stderr."""


def _load_model(args, needed_id: bytes | None = None):
    from . import codec, pretrained

    if getattr(args, "model", None):
        try:
            return codec.load_model(args.model), str(args.model)
        except (FileNotFoundError, ValueError) as exc:
            raise CliError(str(exc)) from None
    if needed_id is not None:
        found = pretrained.find_by_model_id(needed_id)
        if found is None:
            raise CliError(
                f"no shipped model has id {needed_id.hex()}; pass the model that wrote the file with --model"
            )
        return found
    latent_dim = getattr(args, "latent_dim", pretrained.DEFAULT_LATENT_DIM)
    return pretrained.load_pretrained(latent_dim), f"pretrained latent {latent_dim}"


def _compress(args) -> None:
    from . import codec, imageio

    batches = []
    for name in args.inputs:
        digits, notes = imageio.read_digits(name, invert=args.invert)
        if notes:
            print(f"{name}: converted to 28x28 grayscale: {', '.join(notes)}", file=sys.stderr)
        batches.append(digits)
    images = np.concatenate(batches)
    model, model_name = _load_model(args)
    data = codec.compress(images, model, step=args.step)
    out = Path(args.output)
    out.write_bytes(data)
    header = codec.read_header(data)
    print(
        f"{out}: {len(images)} digit(s), {len(data)} bytes ({header.bytes_per_image:.1f} bytes per digit, "
        f"{header.bits_per_pixel:.3f} bits per pixel; raw pixels {784 * len(images)} bytes) "
        f"with {model_name}, step {header.step:g}"
    )


def _read_cae(path_name: str) -> bytes:
    path = Path(path_name)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    return path.read_bytes()


def _decompress(args) -> None:
    from . import codec, imageio

    data = _read_cae(args.input)
    header = codec.read_header(data)
    model, model_name = _load_model(args, needed_id=None if args.model else header.model_id)
    digits = codec.decompress(data, model)
    out = Path(args.output)
    if out.suffix.lower() == ".npy":
        np.save(out, digits)
        written = [out]
    elif out.suffix.lower() == ".png":
        if len(digits) != 1:
            raise CliError(f"{args.input} holds {len(digits)} digits; give a directory, not {out}")
        written = [imageio.write_png(out, digits[0])]
    else:
        out.mkdir(parents=True, exist_ok=True)
        written = [imageio.write_png(out / f"digit_{i:05d}.png", d) for i, d in enumerate(digits)]
    where = written[0] if len(written) == 1 else f"{out}/ ({len(written)} PNG files)"
    print(f"{args.input}: {len(digits)} digit(s) decoded with {model_name} -> {where}")


def _info(args) -> None:
    from . import codec, pretrained

    data = _read_cae(args.input)
    header = codec.read_header(data)
    found = pretrained.find_by_model_id(header.model_id)
    model_name = found[1] if found else "not a shipped model (decode with --model)"
    rows = [
        ("file", args.input),
        ("format", f".cae version {header.version}, checksum OK"),
        ("model id", f"{header.model_id.hex()} ({model_name})"),
        ("images", f"{header.count} of {header.height}x{header.width}"),
        ("quantisation step", f"{header.step:g}"),
        ("size", f"{header.total_bytes} bytes = {header.header_bytes} header/checksum + {header.payload_bytes} payload"),
        ("per digit", f"{header.bytes_per_image:.2f} bytes, {header.bits_per_pixel:.3f} bits per pixel"),
        ("vs raw pixels", f"{header.count * header.height * header.width} bytes, ratio "
                          f"{header.count * header.height * header.width / header.total_bytes:.1f}:1"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def build_parser() -> argparse.ArgumentParser:
    from . import pretrained

    default_step = 1.0  # cae_lib.codec.DEFAULT_STEP, without importing TensorFlow for --help

    parser = argparse.ArgumentParser(
        prog="cae", description="Compress MNIST-style digits with a convolutional autoencoder."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compress", help="compress images (PNG, JPEG, ... or .npy batches) into one .cae file")
    p.add_argument("inputs", nargs="+", metavar="IMAGE", help="image files or .npy arrays of digits")
    p.add_argument("-o", "--output", required=True, help="the .cae file to write")
    p.add_argument(
        "--step",
        type=float,
        default=default_step,
        help="quantisation step (larger: smaller file, coarser digits)",
    )
    p.add_argument(
        "--latent-dim", type=int, default=pretrained.DEFAULT_LATENT_DIM, help="which shipped model to use"
    )
    p.add_argument("--model", help="a codec model .keras file to use instead of a shipped one")
    p.add_argument("--invert", choices=["auto", "yes", "no"], default="auto",
                   help="invert dark-on-light images to MNIST's light-on-dark (default: auto)")  # fmt: skip
    p.set_defaults(run=_compress)

    p = sub.add_parser("decompress", help="decode a .cae file to PNG(s) or .npy")
    p.add_argument("input", help="the .cae file")
    p.add_argument("-o", "--output", required=True, help="a .png (one digit), a .npy, or a directory")
    p.add_argument("--model", help="the codec model .keras file (default: the shipped model the file names)")
    p.set_defaults(run=_decompress)

    p = sub.add_parser("info", help="describe a .cae file without decoding it")
    p.add_argument("input", help="the .cae file")
    p.set_defaults(run=_info)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``cae`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from ._quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from . import codec, data, imageio, pretrained

    expected = (CliError, FileNotFoundError, IsADirectoryError, PermissionError, codec.CodecError,
                imageio.ImageReadError, data.DataFormatError, pretrained.PretrainedModelError, ValueError)  # fmt: skip
    try:
        args.run(args)
    except expected as exc:
        print(f"cae {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
