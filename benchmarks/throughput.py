"""Throughput of the course codec: digits per second for encode, decode and the whole codec.

Model already loaded (the pretrained latent-28 model), quantisation step 1.
"Batch" runs the 10,000 test digits in one call; "single digit" calls once
per digit, as a device compressing digits one at a time would, and reports
the median over 200 calls.

* encode: the encoder network (``codec.encode_latents``);
* decode: the decoder network (``codec.decode_latents``);
* compress / decompress: the whole codec, network, prior, range coder and
  container checks included (``codec.compress`` / ``codec.decompress``).

The second table is the ``cae`` command as a user meets it: a fresh
process each time, wall time and peak memory (the process's maximum resident
set), median of ``--cli-repeats`` runs, for the start-up (``cae info`` of a
one-digit file, which loads no model) and for compressing one PNG and
decompressing one digit with the default model, on LiteRT (``--runtime
litert``: no TensorFlow) and on TensorFlow (``--runtime tensorflow``).

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/throughput.py
    python benchmarks/throughput.py --cli-only     # the command's table alone, no data needed
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cae_lib import codec, data, deploy, pretrained

RESULTS = Path(__file__).resolve().parent / "results"


def per_second(function, inputs, count: int, *, repeats: int) -> float:
    """Digits per second: ``count`` digits per call, best of the median of ``repeats`` timed calls."""
    function(inputs)  # warm-up: graph tracing, allocator
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(inputs)
        times.append(time.perf_counter() - start)
    return count / float(np.median(times))


def run_process(argv) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one process."""
    run = deploy.run_program(argv)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed: {run.stderr}")
    return run.seconds, run.peak_mb


def cli_table(digit: np.ndarray, *, repeats: int) -> list[str]:
    """The ``cae`` command's start-up and one-digit times, a fresh process per run."""
    from PIL import Image

    exe = shutil.which("cae", path=str(Path(sys.executable).parent)) or shutil.which("cae")
    if exe is None:
        raise SystemExit("no `cae` command: install the package (pip install -e .)")
    lines = [
        f"## The `cae` command, a fresh process per run (median of {repeats}; default model "
        f"{pretrained.default_model()}, one digit)",
        "",
        "| command | runtime | wall s | peak memory MB |",
        "| --- | --- | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        png, cae = Path(scratch) / "digit.png", Path(scratch) / "digit.cae"
        Image.fromarray(digit).save(png)
        subprocess.run([exe, "compress", str(png), "-o", str(cae)], check=True, capture_output=True)
        runs = [("cae info digit.cae (start-up)", "none needed", [exe, "info", str(cae)])]
        for runtime in ("litert", "tensorflow"):
            runs += [
                ("cae compress digit.png", runtime, [exe, "compress", str(png), "-o", f"{scratch}/c.cae", "--force"]),
                ("cae decompress digit.cae", runtime, [exe, "decompress", str(cae), "-o", f"{scratch}/d.png", "--force"]),
            ]
        for name, runtime, argv in runs:
            argv = argv + (["--runtime", runtime] if runtime in ("litert", "tensorflow") else [])
            results = [run_process(argv) for _ in range(repeats)]
            seconds, memory = (float(np.median(column)) for column in zip(*results))
            shown = {"litert": "LiteRT", "tensorflow": "TensorFlow"}.get(runtime, runtime)
            lines.append(f"| `{name}` | {shown} | {seconds:.2f} | {memory:.0f} |")
            print(lines[-1], flush=True)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--latent-dim", type=int, default=28)
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cli-repeats", type=int, default=5)
    parser.add_argument("--cli-only", action="store_true", help="only the command's table (a synthetic digit)")
    args = parser.parse_args(argv)

    if args.cli_only:
        digit = np.zeros((28, 28), np.uint8)
        digit[4:24, 12:16] = 255
        text = "\n".join(cli_table(digit, repeats=args.cli_repeats)) + "\n"
        print(text)
        return
    _, (x_test, _) = data.load_mnist(args.data_dir)
    model = pretrained.load_pretrained(args.latent_dim)
    one = x_test[:1]
    latents = codec.encode_latents(x_test, model)
    blob, blob_one = codec.compress(x_test, model, step=args.step), codec.compress(one, model, step=args.step)
    operations = {
        "encode (network)": (lambda x: codec.encode_latents(x, model), x_test, one),
        "decode (network)": (lambda z: codec.decode_latents(z, model), latents, latents[:1]),
        "compress (whole codec)": (lambda x: codec.compress(x, model, step=args.step), x_test, one),
        "decompress (whole codec)": (lambda b: codec.decompress(b, model), blob, blob_one),
    }
    lines = [
        f"# Codec throughput ({datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPU cores, "
        f"latent {args.latent_dim}, step {args.step:g})",
        "",
        "| operation | batch of 10,000: digits/s | single digit: digits/s | single digit: ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, (function, batch, single) in operations.items():
        batch_rate = per_second(function, batch, len(x_test), repeats=5)
        single_rate = per_second(function, single, 1, repeats=200)
        lines.append(f"| {name} | {batch_rate:,.0f} | {single_rate:,.0f} | {1000 / single_rate:.2f} |")
        print(lines[-1], flush=True)
    lines += ["", *cli_table(x_test[0], repeats=args.cli_repeats)]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "throughput.md").write_text(text)


if __name__ == "__main__":
    main()
