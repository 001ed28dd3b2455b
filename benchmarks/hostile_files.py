"""Time and memory spent on hostile .cae files, against a valid 10,000-digit file.

Hostile files carry a valid header and checksum but state far more digits
than their payload holds (the two files of issue 12, rewritten in .cae format
version 2: 13 bytes stating 100,000 digits, 14 bytes stating 16,777,215; in
version 1 they were 18 and 19 bytes). Targets: ``codec.decompress`` refuses
them in under 1 s and under 50 MB above its baseline; ``cae decompress``
refuses them with one line on stderr, exit status 1, no output file, and at
most 100 MB more than ``cae info`` uses. Prints a table and writes
``benchmarks/results/hostile_files.md``.

    CAE_DATA_DIR=/path/to/mnist .venv/bin/python benchmarks/hostile_files.py
"""

from __future__ import annotations

import datetime
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
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
    ]  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
