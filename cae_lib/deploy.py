"""Deploying the codec: export the sender's and the receiver's halves, load them back, time them.

Three formats, from the most to the least Python-bound:

* ``.keras`` (:func:`save_keras`): Keras' own zip of config and weights; loads
  with ``keras.saving.load_model`` and ``import cae_lib`` (the prior layer);
* TensorFlow SavedModel (:func:`export_saved_model`, via ``Model.export``):
  a graph any TensorFlow runtime can serve, no Python model code needed;
* TensorFlow Lite / LiteRT flat buffer (:func:`export_tflite`): one small file
  for phones and microcontrollers, run by :class:`TFLiteRunner`.

The entropy coder needs the prior's numbers on both sides; a SavedModel or
TFLite export carries only the network, so a receiver that decodes with one
still reads the latents with the prior (:func:`cae_lib.codec.decompress_latents`).
"""

from __future__ import annotations

import io
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ._tf import captured_stderr, keras, tf
from .files import atomic_output


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
    try:
        network.export(str(directory), format="tf_saved_model", verbose=False)
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


def export_tflite(saved_model_dir: str | os.PathLike, *, optimize: bool = False) -> bytes:
    """Convert a SavedModel to a TensorFlow Lite flat buffer.

    Args:
        saved_model_dir: From :func:`export_saved_model`.
        optimize: Dynamic-range quantisation of the weights to 8 bits
            (about 4 times smaller, slightly different outputs).

    Returns:
        The ``.tflite`` file's bytes.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with captured_stderr():  # the converter logs its MLIR passes to stderr
        return converter.convert()


class TFLiteRunner:
    """Run a ``.tflite`` model on numpy arrays, one batch at a time.

    Uses the LiteRT interpreter (``ai_edge_litert``) when installed, else
    TensorFlow's own ``tf.lite.Interpreter`` (deprecated in favour of LiteRT,
    but still shipped with TensorFlow; its deprecation warning is silenced).

    Args:
        content: The flat buffer, e.g. from :func:`export_tflite`.
        batch_size: Largest batch given to the interpreter at once; bigger
            inputs are run in chunks (a decoder's activations for 10,000
            digits would take gigabytes).

    Example:
        >>> run = TFLiteRunner(export_tflite(path))  # doctest: +SKIP
        >>> images = run(latents)                     # doctest: +SKIP
    """

    def __init__(self, content: bytes, *, batch_size: int = 256):
        if not isinstance(content, (bytes, bytearray)) or len(content) < 8:
            raise ValueError("content must be the bytes of a .tflite file")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        self.batch_size = batch_size
        try:
            from ai_edge_litert.interpreter import Interpreter

            self.runtime = "LiteRT (ai_edge_litert)"
        except ImportError:
            Interpreter = tf.lite.Interpreter
            self.runtime = "tf.lite.Interpreter"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.interpreter = Interpreter(model_content=bytes(content))
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self._batch = None
        self._quiet_first_call = True

    def __call__(self, inputs) -> np.ndarray:
        if self._quiet_first_call:  # the first run prints "INFO: Created TensorFlow Lite XNNPACK delegate"
            self._quiet_first_call = False
            with captured_stderr():
                return self._run(inputs)
        return self._run(inputs)

    def _run(self, inputs) -> np.ndarray:
        inputs = np.asarray(inputs, dtype=np.float32)
        if len(inputs) > self.batch_size:
            return np.concatenate([self._run(inputs[i : i + self.batch_size])
                                   for i in range(0, len(inputs), self.batch_size)])  # fmt: skip
        if self._batch != len(inputs):
            self.interpreter.resize_tensor_input(self._input["index"], list(inputs.shape))
            self.interpreter.allocate_tensors()
            self._batch = len(inputs)
        self.interpreter.set_tensor(self._input["index"], inputs)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output["index"]).copy()


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
