"""Import TensorFlow without its C++ start-up lines.

TensorFlow prints lines such as "oneDNN custom operations are on" straight to
file descriptor 2 while it loads, before ``TF_CPP_MIN_LOG_LEVEL`` takes effect.
In a notebook they show up as a red block under the first cell of every
lesson, which teaches nothing. The modules of ``cae_lib`` that need TensorFlow
call :func:`import_tensorflow_quietly` first. Python errors (an ImportError)
still surface as usual; only the C++ chatter of a successful import is dropped.
"""

from __future__ import annotations

import contextlib
import os
import sys


def import_tensorflow_quietly() -> None:
    """Import ``tensorflow`` once, with file descriptor 2 pointed at /dev/null meanwhile."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded use): nothing to hide
        import tensorflow  # noqa: F401

        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def quiet_stderr():
    """Point file descriptor 2 at /dev/null for the duration (C++ libraries' INFO lines)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
