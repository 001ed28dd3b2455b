"""The ``cae`` command line: compress digits to a ``.cae`` file, decompress it, describe it.

Examples::

    cae models                                   # the shipped models, one a line
    cae compress digit.png -o digit.cae          # the default model (about 23-24 dB)
    cae compress batch.npy --model rate_lambda0.01 --step 0.8 -o batch.cae
    cae compress batch.npy --model my_codec.keras -o batch.cae
    cae info digit.cae
    cae decompress digit.cae -o restored.png
    cae decompress batch.cae -o restored/        # one PNG per digit

Expected mistakes (a missing file, an unreadable image, a corrupt file, the
wrong model, an output that exists) print one line on stderr and exit with
status 1; usage errors exit with status 2. No input is ever overwritten, no
existing output is replaced without ``--force``, and a failed or killed run
leaves no partial output behind.
"""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from pathlib import Path

import numpy as np

from . import codec, imageio, pretrained
from .codec import entropy, model_file
from .config import DEFAULT_LATENT_DIM
from .data import NUM_PIXELS, DataFormatError
from .files import OutputExistsError, atomic_directory, atomic_output, cleanup_on_signals


class CliError(Exception):
    """An expected failure, reported as one line on stderr."""


def _shipped_name(args) -> str | None:
    """The shipped model ``--model`` or ``--latent-dim`` names, or None when ``--model`` is a file path."""
    if getattr(args, "latent_dim", None) is not None:
        if getattr(args, "model", None):
            raise CliError("give --model or --latent-dim, not both")
        return pretrained.resolve(args.latent_dim)
    if not getattr(args, "model", None):
        return None
    return args.model if args.model in pretrained.available_models() else None


RUNTIMES = ("auto", "litert", "tensorflow")


def _shipped(name: str, runtime: str):
    """A shipped model by name: on LiteRT when it has an export and the runtime allows, else on TensorFlow."""
    from .litert import litert_available

    if runtime != "tensorflow" and pretrained.has_litert(name):
        if litert_available():
            return pretrained.load_litert(name), pretrained.describe(name) + " on LiteRT"
        if runtime == "litert":
            raise CliError("--runtime litert needs the ai-edge-litert package (pip install ai-edge-litert)")
    elif runtime == "litert":
        raise CliError(
            f"{name} has no LiteRT export (only {_litert_names()}); use --runtime auto or tensorflow"
        )
    return pretrained.load_pretrained(name), pretrained.describe(name) + " on TensorFlow"


def _litert_names() -> str:
    return ", ".join(name for name in pretrained.available_models() if pretrained.has_litert(name)) or "none"


def _load_model(args, needed_id: bytes | None = None):
    runtime = getattr(args, "runtime", "auto")
    name = _shipped_name(args)
    if name is not None:
        return _shipped(name, runtime)
    if getattr(args, "model", None):
        if runtime == "litert":
            raise CliError(
                f"{args.model} is a model file: it runs on TensorFlow (--runtime auto or tensorflow)"
            )
        try:
            model_file.check_prior(args.model)  # before Keras opens it: bounded reads, nothing followed
            return codec.load_model(args.model), str(args.model)
        except FileNotFoundError:
            raise CliError(
                f"{args.model}: neither a shipped model (see `cae models`) nor a model file"
            ) from None
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if needed_id is not None:
        name = pretrained.name_by_model_id(needed_id)
        if name is None:
            raise CliError(
                f"no shipped model has id {needed_id.hex()}; pass the model that wrote the file with --model"
            )
        return _shipped(name, runtime)
    return _shipped(pretrained.default_model(), runtime)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_output(out: Path, inputs, *, force: bool) -> None:
    """Refuse an output that is one of the inputs, or (without ``--force``) one that exists."""
    for name in inputs:
        if _same_file(out, Path(name)) or out.resolve() == Path(name).resolve():
            raise CliError(
                f"{out}: is also an input; choose another output name (inputs are never overwritten)"
            )
    if out.is_symlink() or out.exists():
        if out.is_dir() and not out.is_symlink():
            if any(out.iterdir()) and not force:
                raise CliError(f"{out}: folder is not empty (--force replaces the whole folder)")
        elif not force:
            raise CliError(f"{out}: already exists (--force replaces it)")


def _compress(args) -> None:
    out = Path(args.output)
    if out.is_dir():
        raise CliError(f"{out}: is a folder; give the name of the .cae file to write")
    _check_output(out, args.inputs, force=args.force)
    batches = []
    for name in args.inputs:
        digits, notes = imageio.read_digits(name, invert=args.invert, max_images=args.max_images)
        if notes:
            print(f"{name}: converted to 28x28 grayscale: {', '.join(notes)}", file=sys.stderr)
        batches.append(digits)
        total = sum(map(len, batches))
        if total > args.max_images:
            raise CliError(f"the inputs hold {total:,} digits or more, over --max-images {args.max_images:,}")
    images = np.concatenate(batches)
    model, model_name = _load_model(args)
    data = codec.compress(images, model, step=args.step)  # read back before it is returned
    with atomic_output(out, force=args.force) as partial:
        partial.write_bytes(data)
    header = codec.read_header(data)
    print(
        f"{out}: {len(images)} digit(s), {len(data)} bytes ({header.bytes_per_image:.1f} bytes per digit, "
        f"{header.bits_per_pixel:.3f} bits per pixel; raw pixels {NUM_PIXELS * len(images)} bytes) "
        f"with {model_name}, step {header.step:g}"
    )


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder, not a .cae file"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    return "not a regular file"


MAX_FILE_BYTES_PER_IMAGE = 256
"""More than any image costs (64 latents at the smallest step, about 21 bits each, is under 200 bytes)."""


def _read_cae(path_name: str, *, max_images: int | None = codec.DEFAULT_MAX_IMAGES) -> bytes:
    """Read a ``.cae`` file: a regular file, its magic bytes first, its size within what ``max_images`` allows."""
    path = Path(path_name)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CliError(f"{path}: file not found") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise CliError(f"{path}: is {_kind(info.st_mode)}")
    limit = 64 + MAX_FILE_BYTES_PER_IMAGE * (codec.MAX_IMAGES if max_images is None else max_images)
    try:
        with open(path, "rb", buffering=0) as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced since the check above
                raise CliError(f"{path}: is not a regular file")
            head = handle.read(len(codec.MAGIC))
            if head != codec.MAGIC:
                raise CliError(f"{path}: not a .cae file (starts with {head!r}, expected {codec.MAGIC!r})")
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise CliError(
                    f"{path}: {size:,} bytes is more than a file of at most {max_images or codec.MAX_IMAGES:,} "
                    "digits can hold (--max-images raises the limit)"
                )
            rest = handle.read(limit + 1 - len(head))
    except PermissionError:
        raise CliError(f"{path}: permission denied") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(head) + len(rest) > limit:
        raise CliError(f"{path}: grew while being read; try again")
    return head + rest


def _preflight(data: bytes, args):
    """Check the header and, where the model file is known, the image count, before TensorFlow is loaded."""
    header = codec.read_header(data, max_images=args.max_images)
    name = _shipped_name(args) if args.model else pretrained.name_by_model_id(header.model_id)
    if name is not None:
        path = pretrained.model_path(name)
    else:
        path = Path(args.model) if args.model else None
    if name is None and args.model:  # a user's file: refused here, before TensorFlow, unless safe
        try:
            scale = model_file.check_prior(path)["scale"]
        except FileNotFoundError:
            raise CliError(
                f"{args.model}: neither a shipped model (see `cae models`) nor a model file"
            ) from None
    else:
        scale = None if path is None or not path.is_file() else model_file.prior_scale(path)
    if scale is not None:
        entropy.check_count(header.count, header.payload_bytes, scale, header.step)
    return header


def _decompress(args) -> None:
    out = Path(args.output)
    _check_output(out, [args.input], force=args.force)
    data = _read_cae(args.input, max_images=args.max_images)
    try:
        _decompress_data(data, out, args)
    except codec.CodecError as exc:  # the bytes' fault: name the file they came from
        raise CliError(f"{args.input}: {exc}") from None


def _decompress_data(data: bytes, out: Path, args) -> None:
    header = _preflight(data, args)
    suffix = out.suffix.lower()
    if suffix == ".png" and header.count != 1:
        raise CliError(
            f"{args.input} holds {header.count} digits; give a directory or a .npy file, not {out}"
        )
    model, model_name = _load_model(args, needed_id=None if args.model else header.model_id)
    header, chunks = codec.decompress_chunks(data, model, max_images=args.max_images)
    written = 0
    if suffix in (".npy", ".png"):  # one file, written whole or not at all
        with atomic_output(out, force=args.force) as partial:
            if suffix == ".npy":
                array = np.lib.format.open_memmap(
                    partial, mode="w+", dtype=np.uint8, shape=(header.count, 28, 28)
                )
                for digits in chunks:  # on disk as it comes: memory stays bounded by the chunk
                    array[written : written + len(digits)] = digits
                    written += len(digits)
                array.flush()
                del array
            else:
                for digits in chunks:
                    imageio.write_png(partial, digits[0])
                    written += len(digits)
        where = out
    else:  # a folder, published whole in one rename
        with atomic_directory(out, force=args.force) as folder:
            for digits in chunks:
                for digit in digits:
                    imageio.write_png(folder / f"digit_{written:05d}.png", digit)
                    written += 1
        where = f"{out}/ ({written} PNG files)"
    print(f"{args.input}: {written} digit(s) decoded with {model_name} -> {where}")


def _info(args) -> None:
    data = _read_cae(args.input, max_images=args.max_images)
    try:
        header = codec.read_header(data)
    except codec.CodecError as exc:
        raise CliError(f"{args.input}: {exc}") from None
    name = pretrained.name_by_model_id(header.model_id)
    model_name = "not a shipped model (decode with --model)" if name is None else pretrained.describe(name)
    pixels = header.count * header.height * header.width
    rows = [
        ("file", args.input),
        ("format", f".cae version {header.version}, checksum OK"),
        ("model id", f"{header.model_id.hex()} ({model_name})"),
        ("images", f"{header.count} of {header.height}x{header.width}"),
        ("quantisation step", f"{header.step:g}"),
        ("size", f"{header.total_bytes} bytes = {header.header_bytes} header/checksum + {header.payload_bytes} payload"),
        ("per digit", f"{header.bytes_per_image:.2f} bytes, {header.bits_per_pixel:.3f} bits per pixel"),
        ("vs raw pixels", f"{pixels} bytes, ratio {pixels / header.total_bytes:.1f}:1"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _models(args) -> None:
    default = pretrained.default_model()
    for name in pretrained.available_models():
        entry = pretrained.model_info(name)
        if entry["kind"] == pretrained.RATE:
            quality = (
                f"rate-aware, lambda {entry['lambda']:g}: {entry['test_step1_mean_psnr_db']:.1f} dB at "
                f"{entry['test_step1_bytes_per_digit']:.1f} bytes/digit (step 1, test set)"
            )
        else:
            quality = (
                f"autoencoder, prior fitted after training: {entry['test_mean_psnr_db']:.1f} dB unquantised"
            )
        mark = "  (default)" if name == default else ""
        runs_on = "LiteRT" if pretrained.has_litert(name) else "TensorFlow"
        print(f"{name:<17} latent {entry['latent_dim']:>2}  {runs_on:<10}  {quality}{mark}")


def _runtime_option(parser) -> None:
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto",
                        help="run the networks on LiteRT (no TensorFlow: starts in a fraction of a second) or "
                        "TensorFlow; auto: LiteRT for shipped models exported to it, else TensorFlow")  # fmt: skip


def _max_images_option(parser, what: str) -> None:
    parser.add_argument("--max-images", type=int, default=codec.DEFAULT_MAX_IMAGES,
                        help=f"refuse {what} more digits than this, before reading them "
                        f"(default: {codec.DEFAULT_MAX_IMAGES:,}; memory grows with it)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The ``cae`` argument parser (imports no TensorFlow)."""
    parser = argparse.ArgumentParser(
        prog="cae", description="Compress MNIST-style digits with a convolutional autoencoder."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compress", help="compress images (PNG, JPEG, ... or .npy batches) into one .cae file")
    p.add_argument("inputs", nargs="+", metavar="IMAGE", help="image files or .npy arrays of digits")
    p.add_argument("-o", "--output", required=True,
                   help="the .cae file to write (never one of the inputs; an existing file only with --force)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="replace the output if it exists")
    p.add_argument("--step", type=float, default=codec.DEFAULT_STEP,
                   help="quantisation step (larger: smaller file, coarser digits)")  # fmt: skip
    p.add_argument("--model", metavar="NAME_OR_PATH",
                   help="a shipped model's name (see `cae models`) or a codec model .keras file "
                   "(default: the manifest's default model)")  # fmt: skip
    p.add_argument("--latent-dim", type=int, default=None,
                   help=f"use the shipped autoencoder with this latent size (e.g. {DEFAULT_LATENT_DIM})")  # fmt: skip
    p.add_argument("--invert", choices=["auto", "yes", "no"], default="auto",
                   help="invert dark-on-light images to MNIST's light-on-dark (default: auto)")  # fmt: skip
    _max_images_option(p, "inputs holding")
    _runtime_option(p)
    p.set_defaults(run=_compress)

    p = sub.add_parser("decompress", help="decode a .cae file to PNG(s) or .npy")
    p.add_argument("input", help="the .cae file")
    p.add_argument("-o", "--output", required=True,
                   help="a .png (one digit), a .npy, or a new or empty folder (one PNG per digit)")  # fmt: skip
    p.add_argument("--force", action="store_true",
                   help="replace an existing output file, or an existing folder as a whole")  # fmt: skip
    p.add_argument("--model", metavar="NAME_OR_PATH",
                   help="a shipped model's name or a codec model .keras file (default: the shipped model the file names)")  # fmt: skip
    _max_images_option(p, "files stating")
    _runtime_option(p)
    p.set_defaults(run=_decompress)

    p = sub.add_parser("models", help="list the shipped models, one a line, name first")
    p.set_defaults(run=_models)

    p = sub.add_parser("info", help="describe a .cae file without decoding it")
    p.add_argument("input", help="the .cae file")
    _max_images_option(p, "files stating")
    p.set_defaults(run=_info)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``cae`` command; returns the exit status.

    Every expected failure is one line on stderr and status 1; Ctrl-C is
    status 130 and SIGTERM 143, with staging removed; a closed stdout (``cae
    info x.cae | head -0``) is silent, status 141 as for SIGPIPE.
    """
    args = build_parser().parse_args(argv)
    expected = (CliError, OutputExistsError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
                PermissionError, codec.CodecError, imageio.ImageReadError, DataFormatError,
                pretrained.PretrainedModelError, ValueError, OverflowError)  # fmt: skip
    try:
        with cleanup_on_signals():
            args.run(args)
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 128 + 13
    except expected as exc:
        print(f"cae {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"cae {args.command}: error: out of memory (an input larger than this machine can hold?)",
              file=sys.stderr)  # fmt: skip
        return 1
    except OSError as exc:  # disk full, read-only folder, ...
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or errno.errorcode.get(exc.errno, "") or str(exc)
        print(f"cae {args.command}: error: {where}{reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"cae {args.command}: interrupted; nothing written", file=sys.stderr)
        return 130
    return 0


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so Python's exit flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
