"""Time and memory spent on hostile .cae files, against a valid 10,000-digit file.

Hostile files carry a valid header and checksum but state far more digits
than their payload holds (the two files of issue 12, rewritten in .cae format
version 2: 13 bytes stating 100,000 digits, 14 bytes stating 16,777,215; in
version 1 they were 18 and 19 bytes). Targets: ``codec.decompress`` refuses
them in under 1 s and under 50 MB above its baseline; ``cae decompress``
refuses them with one line on stderr, exit status 1, no output file, and at
most 100 MB more than ``cae info`` uses.

Then every class of the hostile-input probe (issue 22), each case a ``cae``
command in a fresh process: outcome, stderr lines, seconds, the process's
own peak RSS, and files left behind besides the inputs and the expected
output. Targets: a correct result or one line and exit 1, under 1 GB and
30 s, nothing damaged, nothing left behind. Prints the tables and writes
``benchmarks/results/hostile_files.md``.

    CAE_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/hostile_files.py
"""

from __future__ import annotations

import datetime
import gzip
import io
import os
import platform
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np

from cae_lib import codec, data, pretrained

RESULTS = Path(__file__).resolve().parent / "results" / "hostile_files.md"
# VmHWM, the process's own peak RSS (ru_maxrss would include the forking parent's).
CLI = (
    "import re, sys; from cae_lib.cli import main; status = main(sys.argv[1:]); "
    "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1), status)"
)


def hostile(count: int) -> bytes:
    """A file in the current format (version 2) for the shipped latent-28 model: ``count`` images, no payload."""
    ident = bytes.fromhex(pretrained.manifest()["models"]["28"]["model_id"])
    return codec.pack(ident, count=count, step=1.0, payload=b"")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def library_row(name: str, blob: bytes, model, **options) -> tuple:
    before = peak_mb()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        outcome = f"{len(codec.decompress(blob, model, **options))} digits"
    except codec.CodecError as exc:
        outcome = f"refused: {type(exc).__name__}"
    seconds = time.perf_counter() - start
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return name, len(blob), outcome, seconds, traced / 2**20, peak_mb() - before


def cli_row(name: str, path: Path, *argv) -> tuple:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CLI, *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    rss_kb, status = result.stdout.split()[-2:]
    lines = result.stderr.strip().splitlines()
    return (
        name,
        path.stat().st_size,
        f"exit {status}, {len(lines)} stderr line(s)",
        seconds,
        int(rss_kb) / 1024,
    )


def _png(path: Path, size, mode="L", fill=0) -> Path:
    from PIL import Image

    Image.new(mode, size, fill).save(path)
    return path


def _model(folder: Path, name: str, change) -> Path:
    """The default model's file with its weights rewritten by ``change(store)`` (h5py)."""
    import h5py

    source = pretrained.model_path(pretrained.default_model())
    target = folder / f"{name}.keras"
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as store:
        change(store, h5py)
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(target, "w") as archive:
        for member, payload in members.items():
            archive.writestr(member, payload)
    return target


def _set_prior(index: int, value):
    def change(store, h5py):
        key = f"layers/latent_prior/vars/{index}"
        array = store[key][()]
        array[...] = value
        del store[key]
        store[key] = array

    return change


def _external(target: str, shape):
    def change(store, h5py):
        key = "layers/latent_prior/vars/1"
        del store[key]
        store.create_dataset(key, shape=shape, dtype="f4", external=[(target, 0, h5py.h5f.UNLIMITED)])

    return change


def _zip_bomb(folder: Path) -> Path:
    """A .keras whose weights member inflates to 2 GiB (written as a stream of zeros)."""
    target = folder / "zipbomb.keras"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("model.weights.h5", "w", force_zip64=True) as member:
            block = bytes(2**24)
            for _ in range(128):
                member.write(block)
        archive.writestr("config.json", "{}")
    return target


def _npy_header(path: Path, shape, dtype="|u1") -> Path:
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    with open(path, "wb") as handle:
        handle.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
        size = int(np.prod([max(d, 0) for d in shape])) if shape else 1
        handle.truncate(handle.tell() + size)  # sparse
    return path


def _cases(folder: Path, digit: np.ndarray) -> list[tuple[str, str, list, str | None]]:
    """``(class, case, argv, expected output name or None)``; the files are made in ``folder``."""
    from PIL import Image

    model = pretrained.load_litert()
    one = folder / "one.npy"
    np.save(one, digit[np.newaxis])
    good = codec.compress(digit, model)
    (folder / "good.cae").write_bytes(good)
    header = codec.read_header(good)
    body = good[:-4]
    crc = lambda b: b + struct.pack("<I", zlib.crc32(b))  # noqa: E731
    (folder / "extra.cae").write_bytes(crc(body + b"\x5a\x5a"))
    (folder / "zero.cae").write_bytes(crc(body + b"\x00"))
    (folder / "leb.cae").write_bytes(crc(body[: header.payload_start - 1] + b"\x81\x00" + body[header.payload_start :]))
    (folder / "v255.cae").write_bytes(crc(body[:2] + b"\xff" + body[3:]))
    tiny = codec.pack(model.model_id, count=2**24 - 1, step=65504.0, payload=b"\x01\x02\x03")
    (folder / "tiny.cae").write_bytes(tiny)
    with open(folder / "huge.cae", "wb") as handle:
        handle.write(b"CA\x02")
        handle.truncate(3 * 2**30)
    os.mkfifo(folder / "fifo.cae")
    (folder / "dir.cae").mkdir()
    _png(folder / "wide.png", (60000, 1))
    _png(folder / "wider.png", (100000, 1), mode="1")
    _png(folder / "tall.png", (1, 70000))
    _png(folder / "rgba81.png", (9000, 9000), mode="RGBA", fill=(0, 0, 0, 0))
    _png(folder / "bomb.png", (20000, 12000), mode="1")
    sixteen = (digit.astype(np.uint16) * 257)
    Image.fromarray(sixteen).save(folder / "digit16.png")
    Image.fromarray(digit.astype(np.float32) / 255).save(folder / "digitf.tiff")
    alpha = np.zeros((28, 28, 4), np.uint8)
    alpha[..., 3] = digit  # white ink only in the alpha channel, colour all black
    Image.fromarray(alpha, "RGBA").save(folder / "alpha.png")
    frames = [Image.fromarray(digit), Image.fromarray(255 - digit)]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    _npy_header(folder / "sparse.npy", (20_000_000, 28, 28))
    _npy_header(folder / "negative.npy", (-1, 28, 28))
    gz = folder / "bomb-idx3-ubyte.gz"
    with gzip.open(gz, "wb", compresslevel=9) as handle:
        handle.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2_800_000, 28, 28))
        for _ in range(128):
            handle.write(bytes(2**24))
    nan_loc = _model(folder, "nan_loc", _set_prior(0, np.nan))
    zero_scale = _model(folder, "zero_scale", _set_prior(1, 0.0))
    negative_scale = _model(folder, "negative_scale", _set_prior(1, -1.0))
    os.mkfifo(folder / "weights.fifo")
    fifo_model = _model(folder, "fifo", _external(str(folder / "weights.fifo"), (64,)))
    zero_model = _model(folder, "devzero", _external("/dev/zero", (2**31,)))
    regular = folder / "regular.bin"
    regular.write_bytes(np.full(64, 0.5, np.float32).tobytes())
    regular_model = _model(folder, "regular", _external(str(regular), (64,)))
    zip_bomb = _zip_bomb(folder)
    Image.fromarray(digit).save(folder / "d.png")
    (folder / "exists.cae").write_bytes(b"my notes")
    stale = folder / "stale"
    stale.mkdir()
    for i in range(10):
        (stale / f"digit_{i:05d}.png").write_bytes(b"old")
    c, d = "compress", "decompress"
    from cae_lib import data as _data

    _, (x_test, _) = _data.load_mnist()
    np.save(folder / "batch100k.npy", np.resize(x_test, (100_000, 28, 28)))
    return [
        ("largest legitimate", "compress 100,000 digits (.npy), LiteRT", [c, folder / "batch100k.npy", "-o", folder / "l1.cae"], "l1.cae"),
        ("largest legitimate", "compress 100,000 digits, TensorFlow (--latent-dim 28)", [c, folder / "batch100k.npy", "-o", folder / "l2.cae", "--latent-dim", "28"], "l2.cae"),
        ("largest legitimate", "decompress 100,000 digits to .npy, TensorFlow", [d, folder / "l2.cae", "-o", folder / "l3.npy"], "l3.npy"),
        ("largest legitimate", "decompress 100,000 digits to a folder of PNGs, LiteRT", [d, folder / "l1.cae", "-o", folder / "l4"], "l4"),
        ("padding bomb", "60000x1 PNG (138 B class)", [c, folder / "wide.png", "-o", folder / "o1.cae"], "o1.cae"),
        ("padding bomb", "100000x1 1-bit PNG", [c, folder / "wider.png", "-o", folder / "o2.cae"], "o2.cae"),
        ("padding bomb", "1x70000 PNG", [c, folder / "tall.png", "-o", folder / "o3.cae"], "o3.cae"),
        ("padding bomb", "81-Mpixel RGBA PNG", [c, folder / "rgba81.png", "-o", folder / "o4.cae"], "o4.cae"),
        ("padding bomb", "240-Mpixel 1-bit PNG (Pillow's bomb)", [c, folder / "bomb.png", "-o", folder / "o5.cae"], "o5.cae"),
        ("unreadable output", "--step 1e-6", [c, one, "-o", folder / "s1.cae", "--step", "1e-6"], "s1.cae"),
        ("unreadable output", "--step 8e-6", [c, one, "-o", folder / "s2.cae", "--step", "8e-6"], "s2.cae"),
        ("unreadable output", "prior loc NaN", [c, one, "-o", folder / "m1.cae", "--model", nan_loc], "m1.cae"),
        ("unreadable output", "prior scale 0", [c, one, "-o", folder / "m2.cae", "--model", zero_scale], "m2.cae"),
        ("unreadable output", "prior scale -1", [c, one, "-o", folder / "m3.cae", "--model", negative_scale], "m3.cae"),
        ("model pre-check", "HDF5 external storage: a FIFO", [d, folder / "good.cae", "-o", folder / "p1.png", "--model", fifo_model], "p1.png"),
        ("model pre-check", "external storage: /dev/zero, 2^31 floats", [d, folder / "good.cae", "-o", folder / "p2.png", "--model", zero_model], "p2.png"),
        ("model pre-check", "external storage: a regular file", [d, folder / "good.cae", "-o", folder / "p3.png", "--model", regular_model], "p3.png"),
        ("model pre-check", "zip member inflating to 2 GiB", [d, folder / "good.cae", "-o", folder / "p4.png", "--model", zip_bomb], "p4.png"),
        ("output", "-o the input image", [c, folder / "d.png", "-o", folder / "d.png"], None),
        ("output", "-o an existing file", [c, one, "-o", folder / "exists.cae"], None),
        ("output", "-o a folder of 10 earlier PNGs", [d, folder / "good.cae", "-o", stale], None),
        ("output", "-o .", [d, folder / "good.cae", "-o", "."], None),
        ("memory", "3 GB sparse .cae", [d, folder / "huge.cae", "-o", folder / "h1.npy"], "h1.npy"),
        ("memory", ".npy stating 20M digits (15.7 GB, sparse)", [c, folder / "sparse.npy", "-o", folder / "h2.cae"], "h2.cae"),
        ("memory", "16 B stating 16,777,215 digits, --max-images raised", [d, folder / "tiny.cae", "-o", folder / "h3.npy", "--max-images", "16777215"], "h3.npy"),
        ("memory", "gzip IDX inflating to 2 GiB (data.read_idx)", ["read_idx", gz], None),
        ("conversion", "16-bit PNG", [c, folder / "digit16.png", "-o", folder / "k1.cae"], "k1.cae"),
        ("conversion", "float TIFF", [c, folder / "digitf.tiff", "-o", folder / "k2.cae"], "k2.cae"),
        ("conversion", "ink in the alpha channel", [c, folder / "alpha.png", "-o", folder / "k3.cae"], "k3.cae"),
        ("conversion", "animated GIF, 2 frames", [c, folder / "anim.gif", "-o", folder / "k4.cae"], "k4.cae"),
        ("traceback", ".npy header with a negative dimension", [c, folder / "negative.npy", "-o", folder / "t1.cae"], "t1.cae"),
        ("container", "2 extra payload bytes, CRC fixed", [d, folder / "extra.cae", "-o", folder / "n1.png"], "n1.png"),
        ("container", "a trailing zero byte, CRC fixed", [d, folder / "zero.cae", "-o", folder / "n2.png"], "n2.png"),
        ("container", "non-minimal LEB128 count, CRC fixed", [d, folder / "leb.cae", "-o", folder / "n3.png"], "n3.png"),
        ("container", "version byte 0xFF", ["info", folder / "v255.cae"], None),
        ("container", "a folder", ["info", folder / "dir.cae"], None),
        ("container", "a FIFO", ["info", folder / "fifo.cae"], None),
        ("container", "a device (/dev/zero)", ["info", "/dev/zero"], None),
    ]  # fmt: skip


RUN = (
    "import re, sys\n"
    "def peak():\n"
    "    return re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
    "if sys.argv[1] == 'read_idx':\n"
    "    from cae_lib import data\n"
    "    try:\n"
    "        data.read_idx(sys.argv[2]); status = 0\n"
    "    except data.DataFormatError as exc:\n"
    "        print(exc, file=sys.stderr); status = 1\n"
    "else:\n"
    "    from cae_lib.cli import main\n"
    "    status = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "print('@@', peak(), status)\n"
)


def class_rows(folder: Path, digit: np.ndarray) -> list[tuple]:
    rows = []
    cases = _cases(folder, digit)
    for kind, name, argv, expected in cases:
        before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
        start = time.perf_counter()
        try:
            result = subprocess.run([sys.executable, "-c", RUN, *map(str, argv)], capture_output=True, text=True,
                                    timeout=120, cwd=folder)  # fmt: skip
        except subprocess.TimeoutExpired:
            rows.append((kind, name, "TIMEOUT after 120 s", "", 120.0, float("nan"), ""))
            continue
        seconds = time.perf_counter() - start
        tail = [line for line in result.stdout.splitlines() if line.startswith("@@")]
        rss, status = (tail[-1].split()[1:] if tail else ("nan", str(result.returncode)))
        errors = result.stderr.strip().splitlines()
        after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
        new = sorted(set(after) - set(before) - {expected})
        changed = sorted(n for n in set(before) & set(after) if before[n] != after[n] and n != expected)
        if expected and expected in after:
            produced = expected
            target = folder / expected
            if target.suffix != ".cae" or not expected.startswith("l"):  # l1/l2.cae feed the next cases
                shutil.rmtree(target) if target.is_dir() else target.unlink()
        else:
            produced = ""
        outcome = f"exit {status}" + (f", wrote {produced}" if produced else "")
        said = errors[0][:110] if errors else ""
        damage = ", ".join(new + [f"{n} changed" for n in changed]) or "none"
        rows.append((kind, name, outcome, said, seconds, int(rss) / 1024 if rss != "nan" else float("nan"),
                     f"{len(errors)} line(s); left: {damage}"))  # fmt: skip
        print(f"{kind:18} {name:52} {outcome:22} {seconds:6.2f} s {rows[-1][5]:7.0f} MB  {said[:70]}", flush=True)
    return rows


def main() -> None:
    _, (x_test, _) = data.load_mnist()
    model = pretrained.load_pretrained(28)
    valid = codec.compress(x_test, model, step=1.0)
    codec.decompress(codec.compress(x_test[:10], model), model)  # warm up the decoder's graph
    small, huge = hostile(100_000), hostile(2**24 - 1)
    rows = [
        library_row(f"{len(small)} B stating 100,000 digits", small, model),
        library_row(f"{len(huge)} B stating 16,777,215 digits", huge, model),
        library_row("the same, max_images=None", huge, model, max_images=None),
        library_row("valid: 10,000 test digits, step 1", valid, model),
    ]

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        files = {"small": small, "huge": huge, "valid": valid}
        for key, blob in files.items():
            (folder / f"{key}.cae").write_bytes(blob)
        cli_rows = [
            cli_row(f"cae info ({len(small)} B hostile file)", folder / "small.cae", "info", folder / "small.cae"),
            cli_row(f"cae decompress ({len(small)} B, 100,000 digits)", folder / "small.cae",
                    "decompress", folder / "small.cae", "-o", folder / "a.npy"),
            cli_row(f"cae decompress ({len(huge)} B, 16,777,215 digits)", folder / "huge.cae",
                    "decompress", folder / "huge.cae", "-o", folder / "b.npy"),
            cli_row("cae decompress (valid, 10,000 digits)", folder / "valid.cae",
                    "decompress", folder / "valid.cae", "-o", folder / "c.npy"),
        ]  # fmt: skip
        leftovers = sorted(p.name for p in folder.iterdir() if p.suffix != ".cae")
    assert leftovers == ["c.npy"], leftovers

    with tempfile.TemporaryDirectory() as folder:
        every_class = class_rows(Path(folder), x_test[0])

    lines = [
        f"# Hostile .cae files ({datetime.date.today()}, {platform.machine()}, {sys.platform})",
        "",
        "`codec.decompress` with the shipped latent-28 model already loaded (peak: growth of the process's",
        "peak RSS during the call; traced: tracemalloc's peak of Python and NumPy allocations):",
        "",
        "| file | bytes | outcome | seconds | traced peak (MB) | peak RSS growth (MB) |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
        *[f"| {n} | {b} | {o} | {s:.4f} | {t:.1f} | {r:.1f} |" for n, b, o, s, t, r in rows],
        "",
        "The `cae` command, each in a fresh process (peak RSS of the whole process):",
        "",
        "| command | file bytes | outcome | seconds | peak RSS (MB) |",
        "| --- | ---: | --- | ---: | ---: |",
        *[f"| {n} | {b} | {o} | {s:.2f} | {r:.0f} |" for n, b, o, s, r in cli_rows],
        "",
        f"Refusals over `cae info`: {cli_rows[1][4] - cli_rows[0][4]:+.0f} MB and {cli_rows[2][4] - cli_rows[0][4]:+.0f} MB "
        "(target: at most +100 MB); no output file was left by a refused command.",
        "",
        "## Every class of the hostile-input probe",
        "",
        "Each case a `cae` command in a fresh process (`data.read_idx` for the IDX case); peak: the process's",
        "own VmHWM; left: files that appeared or changed besides the expected output (none is the target).",
        "Targets: a correct result or one line and exit 1, under 1 GB and 30 s.",
        "",
        "| class | case | outcome | what it said (stderr, first line) | seconds | peak RSS (MB) | stderr; files left |",
        "| --- | --- | --- | --- | ---: | ---: | --- |",
        *[f"| {k} | {n} | {o} | {w} | {s:.2f} | {r:.0f} | {d} |" for k, n, o, w, s, r, d in every_class],
        "",
        f"Worst case: {max(r[5] for r in every_class):.0f} MB, {max(r[4] for r in every_class):.1f} s.",
    ]  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
