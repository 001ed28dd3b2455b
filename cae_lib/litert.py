"""Run ``.tflite`` flat buffers on numpy arrays, without TensorFlow where LiteRT is installed.

LiteRT (the ``ai-edge-litert`` package, formerly TensorFlow Lite) is a
small interpreter: importing it takes about 0.1 s and 40 MB, against about
4 s and 600 MB for TensorFlow. ``cae_lib`` depends on it where a wheel
exists (Linux x86-64 and aarch64, macOS on Apple silicon, Windows x86-64);
elsewhere :class:`TFLiteRunner` falls back to TensorFlow's own
``tf.lite.Interpreter``.

Example:
    >>> from cae_lib.litert import TFLiteRunner, litert_available
    >>> run = TFLiteRunner(open("decoder.tflite", "rb").read())  # doctest: +SKIP
    >>> images = run(latents)                                     # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ._stderr import captured_stderr


def litert_available() -> bool:
    """True when the LiteRT interpreter (``ai_edge_litert``) imports; never imports TensorFlow."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "LiteRT (ai_edge_litert)"
    except ImportError:
        from ._tf import tf

        return tf.lite.Interpreter, "tf.lite.Interpreter"


class TFLiteRunner:
    """Run a ``.tflite`` model on numpy arrays, one batch at a time.

    Uses the LiteRT interpreter (``ai_edge_litert``) when installed, else
    TensorFlow's own ``tf.lite.Interpreter`` (deprecated in favour of LiteRT,
    but still shipped with TensorFlow; its deprecation warning is silenced).

    Args:
        content: The flat buffer, e.g. from :func:`cae_lib.deploy.export_tflite`.
        batch_size: Largest batch given to the interpreter at once; bigger
            inputs are run in chunks (a decoder's activations for 10,000
            digits would take gigabytes).
        threads: Interpreter threads (default: the CPU count, at most 4).

    Attributes:
        runtime: Which interpreter runs the model, for reports.

    Example:
        >>> run = TFLiteRunner(export_tflite(path))  # doctest: +SKIP
        >>> images = run(latents)                     # doctest: +SKIP
    """

    def __init__(self, content: bytes, *, batch_size: int = 256, threads: int | None = None):
        if not isinstance(content, (bytes, bytearray)) or len(content) < 8:
            raise ValueError("content must be the bytes of a .tflite file")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        self.batch_size = batch_size
        Interpreter, self.runtime = _interpreter_class()
        threads = threads or min(4, os.cpu_count() or 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.interpreter = Interpreter(model_content=bytes(content), num_threads=threads)
            except ValueError as exc:
                raise ValueError(f"not a loadable .tflite model ({exc})") from None
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self._batch = None
        self._quiet_first_call = True

    @property
    def input_shape(self) -> tuple:
        """Shape of one input example (without the batch dimension)."""
        return tuple(int(n) for n in self._input["shape"][1:])

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
