"""What a saved codec model says about its prior, read without TensorFlow, and checked before anything trusts it.

The ``cae`` command checks a file's image count against what its payload can
hold (:func:`cae_lib.codec.entropy.check_count`) before it imports
TensorFlow, so a hostile file is refused in a fraction of a second and a few
tens of MB. That check needs the prior's scales, which sit in the
``model.weights.h5`` member of the ``.keras`` zip, under the prior layer's
variables (``loc``, ``scale``, ``rotation``, ``fingerprint`` in that order).

A model file is input like any other, so reading it must not be turned
against the reader. :func:`check_prior` opens only a regular file (never a
FIFO or a device), reads the zip's directory and the weights member only
within fixed budgets (:data:`MAX_DIRECTORY_BYTES`, :data:`MAX_WEIGHTS_BYTES`),
and in the HDF5 weights follows only hard links to plain datasets: it refuses
soft and external links, external storage (raw data in another file, which
HDF5 would open and read: a FIFO, ``/dev/zero``, any file of the machine),
virtual datasets, and shapes other than the prior's, before reading a byte
of data. Then it checks the numbers (:func:`check_prior_numbers`): the range
coder needs every scale positive and finite, and NaN in ``loc`` or
``rotation`` would write a file no decoder accepts. The same number check
runs on a prior loaded by Keras (:class:`cae_lib.layers.LatentPrior`) and on
a LiteRT model's (:class:`cae_lib.codec.lite.NumpyPrior`).

Example:
    >>> from cae_lib import pretrained
    >>> from cae_lib.codec import model_file
    >>> arrays = model_file.check_prior(pretrained.model_path(28))
    >>> sorted(arrays), arrays["scale"].shape
    (['fingerprint', 'loc', 'rotation', 'scale'], (28,))
    >>> model_file.check_prior_numbers([0.0, 1.0], [1.0, 0.0], [[1, 0], [0, 1]], source="my.keras")
    Traceback (most recent call last):
    ...
    cae_lib.codec.model_file.ModelFileError: my.keras: the prior's scale must be positive and finite; scale[1] is 0
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from pathlib import Path

import numpy as np

PRIOR_VARIABLES = ("loc", "scale", "rotation", "fingerprint")
"""The order in which ``LatentPrior.build`` adds its variables (their keys in the weights file)."""
WEIGHTS_MEMBER = "model.weights.h5"
"""The zip member of a ``.keras`` file that holds the weights (HDF5)."""
MAX_WEIGHTS_BYTES = 64 * 2**20
"""The largest weights member read (64 MiB); the shipped models' are under 1.5 MB, a course model's a few MB."""
MAX_DIRECTORY_BYTES = 2**20
"""The largest zip central directory read (1 MiB: thousands of members; a ``.keras`` file has three)."""
MAX_MEMBERS = 1024
"""The most zip members a model file may list."""
MAX_LATENT_DIM = 1024
"""The largest prior read: its rotation is ``latent_dim`` squared numbers (the shipped models have 2 to 64)."""
FINGERPRINT_SIZE = 32
"""Numbers in a prior's fingerprint (``2 * cae_lib.layers.FINGERPRINT_BYTES``; that module imports TensorFlow)."""

_EOCD = struct.Struct("<4s4H2LH")  # zip's end of central directory record
_EOCD_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_LOCATOR_BYTES = 20
_MAX_COMMENT = 2**16 - 1


class ModelFileError(ValueError):
    """A model file, or the prior it holds, that the codec refuses; the message is one line naming the file."""


def check_prior_numbers(
    loc, scale, rotation, *, source="the model"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Refuse prior numbers the codec cannot use; return them as float64 arrays.

    The range coder (``constriction``) needs every scale positive and finite
    (zero or negative ones make it panic); a NaN or infinite ``loc`` or
    ``rotation`` turns every symbol into garbage that no decoder accepts.

    Args:
        loc: The mean latent vector, shape ``(d,)``.
        scale: The per-coordinate standard deviations, shape ``(d,)``.
        rotation: The rotation, shape ``(d, d)``.
        source: What the numbers come from (a file name, a layer), for the message.

    Returns:
        ``(loc, scale, rotation)`` as float64 arrays.

    Raises:
        ModelFileError: Wrong shapes, a non-finite number, or a scale that is
            not positive; the message is one line starting with ``source``.

    Example:
        >>> loc, scale, rotation = check_prior_numbers([0.0], [2.0], [[1.0]])
        >>> scale.dtype, rotation.shape
        (dtype('float64'), (1, 1))
    """
    try:
        loc, scale, rotation = (np.asarray(a, np.float64) for a in (loc, scale, rotation))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{source}: the prior's numbers are not numeric arrays ({exc})") from None
    if scale.ndim != 1 or not 1 <= len(scale) <= MAX_LATENT_DIM:
        raise ModelFileError(
            f"{source}: the prior's scale must be 1-D with 1 to {MAX_LATENT_DIM} values, not of shape {scale.shape}"
        )
    dim = len(scale)
    if loc.shape != (dim,) or rotation.shape != (dim, dim):
        raise ModelFileError(
            f"{source}: the prior's arrays do not fit together: loc {loc.shape}, scale {scale.shape}, "
            f"rotation {rotation.shape} (expected ({dim},), ({dim},), ({dim}, {dim}))"
        )
    for name, values in (("loc", loc), ("rotation", rotation)):
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            where = np.unravel_index(bad[0], values.shape)
            raise ModelFileError(
                f"{source}: the prior's {name} must be finite; {name}[{', '.join(map(str, where))}] is "
                f"{values[where]:g} ({len(bad)} such value(s))"
            )
    bad = np.flatnonzero(~(np.isfinite(scale) & (scale > 0)))
    if len(bad):
        raise ModelFileError(
            f"{source}: the prior's scale must be positive and finite; scale[{bad[0]}] is {scale[bad[0]]:g}"
            + (f" ({len(bad)} such values)" if len(bad) > 1 else "")
        )
    return loc, scale, rotation


def _open_regular(path: Path):
    """A binary file object of ``path``, refused unless it is a regular file (no FIFO, device, directory)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: model file not found") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{path}: not a regular file (a .keras model file is one)")
    try:  # O_NONBLOCK: should a FIFO replace the file after the check, opening it does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc.strerror or exc})") from None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise ModelFileError(f"{path}: not a regular file (a .keras model file is one)")
    if hasattr(os, "set_blocking"):
        os.set_blocking(handle.fileno(), True)
    return handle


def _check_directory(handle, path: Path) -> None:
    """Refuse a zip whose central directory (as :mod:`zipfile` will find it) is larger than the budgets allow.

    ``zipfile.ZipFile`` builds an object for every member the directory
    lists, so a few hundred MB of directory would cost GBs: its size and
    member count are read from the end record first, the way ``zipfile``
    finds it (fixed position, else the last signature in the final 64 KiB).
    """
    size = handle.seek(0, io.SEEK_END)
    tail_bytes = min(size, _EOCD.size + _MAX_COMMENT + _ZIP64_LOCATOR_BYTES)
    handle.seek(size - tail_bytes)
    tail = handle.read(tail_bytes)
    at = len(tail) - _EOCD.size
    if not (at >= 0 and tail[at : at + 4] == _EOCD_SIGNATURE and tail[-2:] == b"\0\0"):
        at = tail.rfind(_EOCD_SIGNATURE, max(len(tail) - _EOCD.size - 2**16, 0))  # where zipfile looks
    if at < 0 or at + _EOCD.size > len(tail):
        raise ModelFileError(f"{path}: not a .keras model file (not a zip archive)")
    _, _, _, _, members, directory_bytes, _, _ = _EOCD.unpack_from(tail, at)
    if at >= _ZIP64_LOCATOR_BYTES and tail[at - _ZIP64_LOCATOR_BYTES : at - _ZIP64_LOCATOR_BYTES + 4] == (
        _ZIP64_LOCATOR_SIGNATURE
    ):
        raise ModelFileError(f"{path}: a zip64 archive, far larger than any codec model file")
    if members > MAX_MEMBERS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise ModelFileError(
            f"{path}: its zip directory lists {members:,} members in {directory_bytes:,} bytes; a codec model "
            f"file has a few (at most {MAX_MEMBERS:,} in {MAX_DIRECTORY_BYTES:,} bytes are read)"
        )


def _weights_bytes(path: Path) -> bytes:
    """The ``model.weights.h5`` member of the ``.keras`` zip at ``path``, read within the budgets."""
    with _open_regular(path) as handle:
        _check_directory(handle, path)
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                infos = archive.infolist()
                if len(infos) > MAX_MEMBERS:
                    raise ModelFileError(
                        f"{path}: its zip lists {len(infos):,} members; a codec model file has a few"
                    )
                try:
                    info = archive.getinfo(WEIGHTS_MEMBER)
                except KeyError:
                    raise ModelFileError(
                        f"{path}: not a .keras model file (no {WEIGHTS_MEMBER} in it)"
                    ) from None
                if info.file_size > MAX_WEIGHTS_BYTES:
                    raise ModelFileError(
                        f"{path}: its {WEIGHTS_MEMBER} declares {info.file_size:,} bytes, more than the "
                        f"{MAX_WEIGHTS_BYTES:,} a codec model's weights may take"
                    )
                with archive.open(info) as member:
                    weights = member.read(MAX_WEIGHTS_BYTES + 1)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
            raise ModelFileError(f"{path}: not a readable .keras model file ({exc})") from None
        except OSError as exc:
            raise ModelFileError(f"{path}: cannot read the model file ({exc})") from None
    if len(weights) > MAX_WEIGHTS_BYTES:  # zipfile stops at the declared size; never trust that alone
        raise ModelFileError(f"{path}: its {WEIGHTS_MEMBER} holds more than {MAX_WEIGHTS_BYTES:,} bytes")
    return weights


def _child(group, name: str, kind, where: str, path: Path):
    """``group[name]`` when it is a hard link to a ``kind`` (h5py.Group or h5py.Dataset), else refuse."""
    import h5py

    link = group.get(name, getlink=True)
    if link is None:
        raise ModelFileError(f"{path}: no {where} in its weights")
    if not isinstance(link, h5py.HardLink):
        raise ModelFileError(
            f"{path}: {where} in its weights is a {type(link).__name__}, not stored data "
            "(links to other places or files are refused)"
        )
    child = group[name]
    if not isinstance(child, kind):
        raise ModelFileError(
            f"{path}: {where} in its weights is a {type(child).__name__}, not a {kind.__name__}"
        )
    return child


def _dataset_shape(dataset, where: str, path: Path) -> tuple:
    """The shape of a plain numeric dataset stored in the file itself; refuse anything else, reading no data."""
    if dataset.external:
        raise ModelFileError(
            f"{path}: {where} in its weights keeps its data in other files ({dataset.external[0][0]!r}...); refused"
        )
    if dataset.is_virtual:
        raise ModelFileError(
            f"{path}: {where} in its weights is a virtual dataset (data from other files); refused"
        )
    if dataset.dtype.kind not in "fiu" or dataset.dtype.itemsize > 8:
        raise ModelFileError(f"{path}: {where} in its weights holds {dataset.dtype}, not real numbers")
    if dataset.shape is None:
        raise ModelFileError(f"{path}: {where} in its weights is empty (no dataspace)")
    if dataset.chunks is not None and np.prod(dataset.chunks, dtype=np.float64) > MAX_LATENT_DIM**2:
        raise ModelFileError(
            f"{path}: {where} in its weights is stored in chunks of {dataset.chunks}; too large"
        )
    return tuple(dataset.shape)


def _read_prior(weights: bytes, path: Path) -> dict[str, np.ndarray]:
    """The prior's arrays from the bytes of a weights file, checked before any data is read."""
    import h5py

    try:
        with h5py.File(io.BytesIO(weights), "r") as store:
            layers = _child(store, "layers", h5py.Group, "the 'layers' group", path)
            names = [name for name in layers if name.startswith("latent_prior")]
            if len(names) != 1:
                raise ModelFileError(
                    f"{path}: holds {len(names)} latent priors, not one (a codec, sender or receiver model has one)"
                )
            layer = _child(layers, names[0], h5py.Group, f"layers/{names[0]}", path)
            variables = _child(layer, "vars", h5py.Group, f"layers/{names[0]}/vars", path)
            datasets, shapes = {}, {}
            for i, key in enumerate(PRIOR_VARIABLES):
                where = f"the prior's {key} (layers/{names[0]}/vars/{i})"
                if key == "fingerprint" and variables.get(str(i), getlink=True) is None:
                    continue  # saved before the fingerprint existed
                datasets[key] = _child(variables, str(i), h5py.Dataset, where, path)
                shapes[key] = _dataset_shape(datasets[key], where, path)
            dim = shapes["scale"][0] if len(shapes["scale"]) == 1 else -1
            expected = {
                "loc": (dim,),
                "scale": (dim,),
                "rotation": (dim, dim),
                "fingerprint": (FINGERPRINT_SIZE,),
            }
            if not 1 <= dim <= MAX_LATENT_DIM or any(shapes[key] != expected[key] for key in shapes):
                raise ModelFileError(
                    f"{path}: the prior's arrays have shapes "
                    + ", ".join(f"{key} {shape}" for key, shape in shapes.items())
                    + f"; expected scale (d,) with d from 1 to {MAX_LATENT_DIM}, loc (d,), rotation (d, d), "
                    f"fingerprint ({FINGERPRINT_SIZE},)"
                )
            arrays = {key: np.asarray(dataset[()], np.float64) for key, dataset in datasets.items()}
    except ModelFileError:
        raise
    except (
        Exception
    ) as exc:  # h5py reports a damaged file with OSError, KeyError, ValueError, RuntimeError...
        raise ModelFileError(f"{path}: its {WEIGHTS_MEMBER} is not a readable HDF5 file ({exc})") from None
    fingerprint = arrays.get("fingerprint")
    if fingerprint is not None and not np.all((fingerprint >= 0) & (fingerprint <= 255)):
        raise ModelFileError(f"{path}: the prior's fingerprint must hold byte values 0-255")
    check_prior_numbers(arrays["loc"], arrays["scale"], arrays["rotation"], source=path)
    return arrays


def check_prior(path) -> dict[str, np.ndarray]:
    """The prior's arrays of a ``.keras`` codec model, read with h5py only and refused unless safe and usable.

    Run it on any model file from outside before Keras opens it: it reads
    within fixed budgets and never follows the file somewhere else (see the
    module's description), so a hostile file costs a fraction of a second
    and a few tens of MB.

    Args:
        path: A ``.keras`` codec, sender or receiver model.

    Returns:
        ``{"loc", "scale", "rotation"}`` (and ``"fingerprint"`` when stored)
        as float64 arrays, checked by :func:`check_prior_numbers`.

    Raises:
        FileNotFoundError: No such file.
        ModelFileError: Anything else: not a regular file, not a zip, a
            member or directory over budget, links, external storage or
            virtual datasets in the prior, shapes that do not fit, numbers the
            coder cannot use. One line naming the file.
    """
    path = Path(path)
    return _read_prior(_weights_bytes(path), path)


def prior_arrays(path) -> dict[str, np.ndarray] | None:
    """The prior's stored arrays (``loc``, ``scale``, ``rotation``, ``fingerprint``) of a ``.keras`` codec model.

    Everything the entropy coder needs besides the networks, read with h5py
    only: the probability tables of :mod:`cae_lib.codec.entropy` come from
    these numbers, never from running a network, so any runtime that holds
    them derives the same tables. Returns None for a file it cannot read,
    that holds no single prior, or that :func:`check_prior` refuses (use
    that for the reason); never raises.
    """
    try:
        return check_prior(path)
    except (ModelFileError, OSError):
        return None


def prior_scale(path) -> np.ndarray | None:
    """The prior's per-dimension scales stored in a ``.keras`` codec model, or None (see :func:`prior_arrays`)."""
    arrays = prior_arrays(path)
    return None if arrays is None else arrays["scale"]
