"""Deploying the codec: export the sender's and the receiver's halves, load them back, time them.

Three formats, from the most to the least Python-bound:

* ``.keras`` (:func:`save_keras`): Keras' own zip of config and weights; loads
  with ``keras.saving.load_model`` and ``import cae_lib`` (the prior layer),
  on every Keras the course supports (:mod:`cae_lib.saving`);
* TensorFlow SavedModel (:func:`export_saved_model`, via ``Model.export``):
  a graph any TensorFlow runtime can serve, no Python model code needed;
* TensorFlow Lite / LiteRT flat buffer (:func:`export_tflite`): one small file
  for phones and microcontrollers, run by :class:`cae_lib.litert.TFLiteRunner`
  (re-exported here), which needs no TensorFlow where LiteRT is installed.

The shipped default model comes exported to LiteRT already
(``scripts/export_litert.py``, :func:`cae_lib.pretrained.load_litert`): the
``cae`` command runs it without importing TensorFlow.

The entropy coder needs the prior's numbers on both sides; a SavedModel or
TFLite export carries only the network, so a receiver that decodes with one
still reads the latents with the prior (:func:`cae_lib.codec.decompress_latents`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import os
import time
from pathlib import Path

import numpy as np

from ._tf import captured_stderr, keras, tf
from .files import atomic_output
from .litert import TFLiteRunner  # noqa: F401 (re-exported: the runner needs no TensorFlow)
from .saving import make_portable


def size_on_disk(path: str | os.PathLike) -> int:
    """Bytes of a file, or of every file under a directory (a SavedModel is a directory)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or directory")
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def save_keras(model: keras.Model, path: str | os.PathLike, *, half_precision: bool = False) -> Path:
    """Save ``model`` as a ``.keras`` file; returns the path.

    The config is written without the arguments that still have their
    default values (:func:`cae_lib.saving.portable_config`), so the file
    loads on older Keras releases too, not only on the one that wrote it.

    Args:
        model: Any Keras model.
        path: Where to write; must end in ``.keras``.
        half_precision: Store every float32 weight array that float16 holds
            exactly (each value survives the round trip) as float16, which
            halves those arrays on disk. Lossless: ``keras.saving.load_model``
            reads them back into the model's float32 variables with the same
            values. To benefit, round the weights first
            (:func:`round_to_half_precision`); arrays that are not exact in
            float16 (e.g. a prior fitted afterwards) stay float32.

    Returns:
        The path written.

    Example:
        >>> round_to_half_precision(encoder)                              # doctest: +SKIP
        >>> save_keras(encoder, "encoder.keras", half_precision=True)     # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"a Keras model file must end in .keras. Received: path={str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as partial:  # an existing file is only replaced by a complete one
        model.save(partial)
        make_portable(partial)
        if half_precision:
            _store_exact_float16(partial)
    return path


def round_to_half_precision(model: keras.Model) -> keras.Model:
    """Round every float32 weight of ``model`` to the nearest float16 value, in place.

    The variables stay float32 and the model computes as before, only with
    weights that half precision represents exactly, so that
    ``save_keras(model, path, half_precision=True)`` stores them in half the
    bytes without further loss. The rounding error (a relative 2**-11 at
    most) changes a trained autoencoder's reconstructions by far less than
    0.01 dB PSNR. Round a codec's networks *before* fitting its prior
    (:func:`cae_lib.codec.attach_prior`): the prior's fingerprint covers
    their weights.

    Args:
        model: Any Keras model (e.g. an encoder or a decoder).

    Returns:
        The same model.

    Raises:
        ValueError: A weight is too large for float16 (magnitude above 65504).
    """
    for variable in model.weights:
        if variable.dtype != "float32":
            continue
        value = np.asarray(variable.numpy())
        if value.size and not np.all(np.abs(value) <= np.finfo(np.float16).max):
            raise ValueError(
                f"weight {variable.path!r} of model {model.name!r} does not fit in float16 "
                f"(largest magnitude {np.nanmax(np.abs(value)):g}, float16 holds at most 65504)"
            )
        variable.assign(value.astype(np.float16).astype(np.float32))
    return model


def _store_exact_float16(path: Path) -> None:
    """Rewrite the weights inside a ``.keras`` zip: float32 arrays exact in float16 become float16."""
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    names = [info.filename for info, _ in members]
    if "model.weights.h5" not in names:
        raise ValueError(f"{path}: no model.weights.h5 inside; not a Keras 3 model file")
    weights = io.BytesIO()
    source = io.BytesIO(dict(zip(names, (content for _, content in members)))["model.weights.h5"])
    with h5py.File(source, "r") as old, h5py.File(weights, "w") as new:

        def copy(name, item):
            if isinstance(item, h5py.Group):
                target = new.require_group(name)
            else:
                value = item[()]
                if value.dtype == np.float32:
                    with np.errstate(over="ignore"):  # too large for float16: inf, not equal, kept
                        half = value.astype(np.float16)
                    if np.array_equal(half, value):
                        value = half
                target = new.create_dataset(name, data=value)
            target.attrs.update(item.attrs)

        new.attrs.update(old.attrs)
        old.visititems(copy)
    with zipfile.ZipFile(path, "w") as archive:
        for info, content in members:
            archive.writestr(info, weights.getvalue() if info.filename == "model.weights.h5" else content)


def export_saved_model(network: keras.Model, directory: str | os.PathLike) -> Path:
    """Export a network (e.g. the decoder) as a TensorFlow SavedModel directory with a ``serve`` endpoint."""
    import logging

    directory = Path(directory)
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # no "INFO: Assets written to ..." line
    # Older Keras releases (3.4.1 among them) have no `verbose` and print the artifact's path and endpoints.
    quiet = {"verbose": False} if "verbose" in inspect.signature(network.export).parameters else {}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            network.export(str(directory), format="tf_saved_model", **quiet)
    finally:
        tf_logger.setLevel(level)
    return directory


def load_saved_model(directory: str | os.PathLike):
    """Load a SavedModel's ``serve`` function: float32 array in, float32 array out (numpy)."""
    directory = Path(directory)
    if not (directory / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{directory}: not a SavedModel directory (no saved_model.pb)")
    loaded = tf.saved_model.load(str(directory))

    def serve(inputs):
        return np.asarray(loaded.serve(np.asarray(inputs, dtype=np.float32)))

    serve.loaded = loaded  # keep the graph alive
    return serve


def export_tflite(saved_model_dir: str | os.PathLike, *, optimize: bool = False,
                  half_precision: bool = False) -> bytes:  # fmt: skip
    """Convert a SavedModel to a TensorFlow Lite (LiteRT) flat buffer.

    Args:
        saved_model_dir: From :func:`export_saved_model`.
        optimize: Dynamic-range quantisation of the weights to 8 bits
            (about 4 times smaller, slightly different outputs).
        half_precision: Store the weights as float16 (half the size); the
            interpreter turns them back into float32 once, at load time, and
            computes in float32. For weights rounded to float16 beforehand
            (:func:`round_to_half_precision`, as the shipped models are)
            nothing changes but the size.

    Returns:
        The ``.tflite`` file's bytes.
    """
    if optimize and half_precision:
        raise ValueError("choose optimize (8-bit weights) or half_precision (float16 weights), not both")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if optimize or half_precision:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if half_precision:
        converter.target_spec.supported_types = [tf.float16]
    with captured_stderr():  # the converter logs its MLIR passes to stderr
        return converter.convert()


@dataclasses.dataclass(frozen=True)
class ProgramRun:
    """What one run of a program cost: wall seconds, peak memory, and what it printed.

    Attributes:
        seconds: Wall time from start to exit.
        peak_mb: The process's maximum resident set in MB (NaN where the
            platform does not report it, e.g. Windows).
        returncode: Exit status.
        stdout, stderr: What it printed.
    """

    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[2:]).returncode
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    json.dump([code, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss], f)
"""
"""Runs the program and reports its peak memory. A small, freshly started process forks it: a child of
the notebook's own (large) process would count the parent's pages, copied at the fork, as its own."""


def run_program(argv, *, cwd=None) -> ProgramRun:
    """Run a program to completion in a fresh process; measure its wall time and peak memory.

    A deployed receiver is a program, and what a user waits for is its
    start-up as much as its work: this times the whole process and reports
    its maximum resident set (Linux and macOS; NaN elsewhere).

    Args:
        argv: The program and its arguments.
        cwd: Its working directory.

    Returns:
        A :class:`ProgramRun`.

    Example:
        >>> import sys
        >>> run = run_program([sys.executable, "-c", "print(6 * 7)"])
        >>> run.returncode, run.stdout.strip(), 0 < run.peak_mb < 1000
        (0, '42', True)
    """
    import json
    import subprocess
    import sys
    import tempfile

    argv = [str(a) for a in argv]
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "usage.json"
        try:
            import resource  # noqa: F401 (Unix only)

            command = [sys.executable, "-c", _LAUNCHER, str(report), *argv]
        except ImportError:
            command = argv
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, errors="replace")
        seconds, returncode, peak_mb = time.perf_counter() - start, done.returncode, float("nan")
        if report.is_file():
            returncode, seconds, peak = json.loads(report.read_text())
            peak_mb = peak / (2**20 if sys.platform == "darwin" else 2**10)  # bytes on macOS, kB on Linux
    return ProgramRun(seconds, peak_mb, returncode, done.stdout, done.stderr)


def seconds_per_call(function, inputs, *, repeats: int = 50, warmup: int = 3) -> float:
    """Median wall time of ``function(inputs)`` over ``repeats`` calls, after ``warmup`` calls."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1. Received: repeats={repeats}")
    for _ in range(warmup):
        function(inputs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(inputs)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
