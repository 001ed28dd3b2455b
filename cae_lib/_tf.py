"""The one place where ``cae_lib`` imports TensorFlow and Keras.

Every module that needs them writes ``from ._tf import keras, tf``. This
module sets ``TF_CPP_MIN_LOG_LEVEL`` (unless the user did) and imports
TensorFlow with file descriptor 2 captured: TensorFlow's C++ start-up lines
("oneDNN custom operations are on", CUDA probing) go to stderr before that
variable takes effect and would show up as a red block under the first cell
of every lesson. A successful import drops them; a failed import shows them
on stderr, above an ImportError that says how to install TensorFlow.

Modules that only handle bytes (:mod:`cae_lib.codec.container`,
:mod:`cae_lib.codec.entropy`, :mod:`cae_lib.config`, :mod:`cae_lib.data`)
never import this one, so ``cae info`` starts without TensorFlow.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def captured_stderr():
    """Point file descriptor 2 at a temporary file meanwhile; yields a function returning what was written.

    C++ libraries write to the descriptor directly, past ``sys.stderr``.
    Without a real descriptor 2 (some embedded interpreters) nothing is
    captured and the function returns an empty string.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield lambda: ""
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            os.dup2(sink.fileno(), 2)

            def text() -> str:
                sink.seek(0)
                return sink.read().decode("utf-8", "replace")

            yield text
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _import():
    if "tensorflow" in sys.modules:
        import keras
        import tensorflow

        return tensorflow, keras
    with captured_stderr() as output:
        try:
            import keras
            import tensorflow
        except ImportError as exc:
            failure, chatter = exc, output()
        else:
            return tensorflow, keras
    if chatter.strip():
        print(chatter, file=sys.stderr, end="" if chatter.endswith("\n") else "\n")
    raise ImportError(
        f"cae_lib needs TensorFlow >= 2.16 with Keras 3, which failed to import ({failure}). "
        'Install the course with pip install -e ".[course]" or pip install tensorflow keras.'
    ) from failure


tf, keras = _import()


class _NoRetracingNotice(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" notice.

    Every model a course notebook builds or loads (each caller of
    :func:`cae_lib.pretrained.load_pretrained` gets its own) compiles its
    own prediction graph once; TensorFlow counts those as retracing of one
    function and warns after five, which tells a learner nothing useful.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_NoRetracingNotice())  # the logger tf.get_logger() returns

__all__ = ["captured_stderr", "keras", "tf"]
