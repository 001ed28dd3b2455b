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

import os
import time
import warnings
from pathlib import Path

import numpy as np

from ._quiet import import_tensorflow_quietly, quiet_stderr

import_tensorflow_quietly()

import keras
import tensorflow as tf


def size_on_disk(path: str | os.PathLike) -> int:
    """Bytes of a file, or of every file under a directory (a SavedModel is a directory)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or directory")
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def save_keras(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save ``model`` as a ``.keras`` file; returns the path."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"a Keras model file must end in .keras. Received: path={str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


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
    with quiet_stderr():  # the converter logs its MLIR passes to stderr
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
            with quiet_stderr():
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
