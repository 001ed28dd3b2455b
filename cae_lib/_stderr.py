"""Capture what C++ libraries write to file descriptor 2 (TensorFlow's and LiteRT's start-up lines)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


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
