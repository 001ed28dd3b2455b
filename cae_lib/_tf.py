"""The one place where ``cae_lib`` imports TensorFlow and Keras.

Every module that needs them writes ``from ._tf import keras, tf``. This
module sets ``TF_CPP_MIN_LOG_LEVEL`` (unless the user did) and imports
TensorFlow with file descriptor 2 captured: TensorFlow's C++ start-up lines
("oneDNN custom operations are on", CUDA probing) go to stderr before that
variable takes effect and would show up as a red block under the first cell
of every lesson. A successful import drops them; a failed import shows them
on stderr, above an ImportError that says how to install TensorFlow: it is
not a dependency of ``cae-lib`` itself but of its ``cpu`` and ``gpu``
extras, so that installing the course keeps a TensorFlow that is already
there (Colab, a machine with a GPU build).

Modules that only handle bytes (:mod:`cae_lib.codec.container`,
:mod:`cae_lib.codec.entropy`, :mod:`cae_lib.config`, :mod:`cae_lib.data`)
never import this one, so ``cae info`` starts without TensorFlow.
"""

from __future__ import annotations

import logging
import os
import sys

from ._stderr import captured_stderr

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _install_advice(failure: ImportError) -> str:
    """How to fix a failed import: install TensorFlow where there is none, repair the one that is there."""
    if getattr(failure, "name", None) in ("tensorflow", "keras"):
        return (
            'TensorFlow is not a dependency of cae-lib itself: install it with pip install "cae-lib[cpu]" '
            '(or "cae-lib[gpu]" for an NVIDIA GPU), or from a clone of the course with pip install -e ".[cpu]".'
        )
    return (
        "TensorFlow is installed but does not import: repair that installation (its own error is above) "
        'rather than installing a second one beside it; on a bare machine pip install "cae-lib[cpu]" '
        'or "cae-lib[gpu]" (pip install -e ".[cpu]" from a clone) brings a working one.'
    )


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
        f"cae_lib needs TensorFlow >= 2.16.1 with Keras >= 3.4.1, which failed to import ({failure}). "
        + _install_advice(failure)
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
