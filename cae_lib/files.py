"""Writing files so that a failure never leaves a half-written one where a good one was."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    The temporary name keeps the suffix (``.npy``, ``.keras`` and Pillow
    choose by it). If the block raises, the temporary file is removed and
    ``path`` is untouched, whether or not it existed.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> target = Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_output(target) as partial:
        ...     _ = partial.write_text("done")
        >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
        ('done', ['out.txt'])
    """
    path = Path(path)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a fresh temporary folder; on success its files move into ``path`` (created if needed).

    If the block raises, the temporary folder is removed and nothing
    reaches ``path``. Files already in ``path`` with other names stay.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
        if not path.exists():
            os.replace(partial, path)
        else:
            for item in sorted(partial.iterdir()):
                os.replace(item, path / item.name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
