"""Writing files so that a failure never leaves a half-written one, and nobody else can steer the writing.

Every output is written under an unpredictable name beside its target,
created exclusively (``tempfile.mkstemp`` / ``mkdtemp``: ``O_EXCL``, mode
0600, no symlink followed), then renamed into place in one step. The
staging name carries the writer's process id, so a later run removes the
staging that a killed process left behind (:func:`remove_stale_staging`),
and :func:`cleanup_on_signals` turns SIGTERM into an exception so that the
``finally`` blocks below run on ``kill`` as they do on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import tempfile
from pathlib import Path

_STAGING = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]+\.partial(\.[A-Za-z0-9]+)?$")
"""Staging names: ``.{stem}.{pid}.{random}.partial{suffix}``."""


class OutputExistsError(FileExistsError):
    """The output already exists and the caller did not ask to replace it."""


def _staging_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_staging(folder) -> list[Path]:
    """Remove staging files and folders in ``folder`` left by processes that no longer run.

    Only entries named like this module's staging, owned by the current user
    and whose writer's process id is gone are removed; symlinks are removed
    as links, never followed.

    Returns:
        The paths removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _STAGING.match(entry.name)
        if not match or _alive(int(match.group(1))):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if info.st_uid != os.geteuid():
                continue
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _check_target(path: Path, *, force: bool, kind: str) -> None:
    if path.is_symlink() and not force:
        raise OutputExistsError(
            f"{path}: is a symbolic link; not replaced (--force replaces the link, not its target)"
        )
    if not path.exists():
        return
    if kind == "file":
        if path.is_dir():
            raise IsADirectoryError(f"{path}: is a folder, not a file to write")
        if not force:
            raise OutputExistsError(f"{path}: already exists (--force replaces it)")
    else:
        if not path.is_dir():
            raise NotADirectoryError(f"{path}: exists and is not a folder")
        if not force and any(os.scandir(path)):
            raise OutputExistsError(f"{path}: folder is not empty (--force replaces the whole folder)")


@contextlib.contextmanager
def atomic_output(path, *, force: bool = True):
    """Yield a fresh temporary path beside ``path``; on success it replaces ``path`` in one step.

    The temporary file is created exclusively under an unpredictable name
    that keeps the suffix (``.npy``, ``.keras`` and Pillow choose by it). If
    the block raises (or the process gets SIGTERM under
    :func:`cleanup_on_signals`), it is removed and ``path`` is untouched.

    Args:
        path: The file to write.
        force: Replace an existing file (True) or refuse with
            :class:`OutputExistsError` before anything is written (False).

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
    _check_target(path, force=force, kind="file")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "folder not found"
        raise NotADirectoryError(f"{folder}: {what} (the output {path.name} would go there)")
    remove_stale_staging(folder)
    handle, name = tempfile.mkstemp(
        dir=folder, prefix=_staging_prefix(path.stem), suffix=f".partial{path.suffix}"
    )
    os.close(handle)
    partial = Path(name)
    try:
        os.chmod(partial, 0o666 & ~_umask())  # what a plain open() would have given the file
        yield partial
        if not force and path.exists():  # created meanwhile by someone else: theirs stays
            raise OutputExistsError(f"{path}: appeared while writing; nothing replaced (--force replaces it)")
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


@contextlib.contextmanager
def atomic_directory(path, *, force: bool = False):
    """Yield a fresh private folder; on success it becomes ``path`` as a whole, in one rename.

    ``path`` must not exist or be an empty folder, unless ``force``: then an
    existing folder is replaced entirely (its old files are removed, none
    mixed with the new ones). Concurrent writers each publish a complete
    folder; the last one wins. If the block raises, nothing reaches ``path``.

    Args:
        path: The folder to create or replace.
        force: Replace a non-empty folder.

    Raises:
        OutputExistsError: ``path`` is a non-empty folder and ``force`` is False.
        NotADirectoryError: ``path`` exists and is not a folder.
    """
    path = Path(path)
    if path.resolve() == Path.cwd().resolve() or path.name in ("", ".", ".."):
        raise OutputExistsError(f"{path}: give a new folder's name, not the current or parent folder")
    _check_target(path, force=force, kind="folder")
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(folder)
    partial = Path(tempfile.mkdtemp(dir=folder, prefix=_staging_prefix(path.name), suffix=".partial"))
    set_aside = []  # earlier folders at path, moved aside whole before they are removed
    try:
        yield partial
        os.chmod(partial, 0o777 & ~_umask())
        for _ in range(10):
            try:
                os.rename(partial, path)  # succeeds when path is missing or an empty folder
                break
            except OSError:
                if not path.is_dir() or path.is_symlink():
                    raise
                if not force and any(os.scandir(path)):
                    raise OutputExistsError(
                        f"{path}: another writer filled the folder meanwhile; nothing replaced"
                    ) from None
                set_aside.append(
                    Path(tempfile.mkdtemp(dir=folder, prefix=_staging_prefix(path.name), suffix=".partial"))
                )
                with contextlib.suppress(FileNotFoundError):
                    os.rename(path, set_aside[-1])  # onto an empty folder: the old one moves aside whole
        else:
            raise OutputExistsError(f"{path}: other writers keep replacing the folder; nothing written")
    finally:
        for leftover in [partial, *set_aside]:
            shutil.rmtree(leftover, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def cleanup_on_signals():
    """Within the block, SIGTERM (and SIGHUP) raise ``SystemExit(143)`` so ``finally`` blocks clean up.

    Ctrl-C already raises ``KeyboardInterrupt``. Only the main thread can
    install handlers; elsewhere the block runs unchanged.
    """

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = {}
    try:
        for number in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if number is not None:
                previous[number] = signal.signal(number, stop)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
