"""Throughput of the course codec: digits per second for encode, decode and the whole codec.

Model already loaded (the pretrained latent-28 model), quantisation step 1.
"Batch" runs the 10,000 test digits in one call; "single digit" calls once
per digit, as a device compressing digits one at a time would, and reports
the median over 200 calls.

* encode: the encoder network (``codec.encode_latents``);
* decode: the decoder network (``codec.decode_latents``);
* compress / decompress: the whole codec, network, prior, range coder and
  container checks included (``codec.compress`` / ``codec.decompress``).

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/throughput.py
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import numpy as np

from cae_lib import codec, data, pretrained

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


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--latent-dim", type=int, default=28)
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

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
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "throughput.md").write_text(text)


if __name__ == "__main__":
    main()
