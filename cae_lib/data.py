"""Loading MNIST (and Fashion-MNIST) from the formats learners meet.

Three sources, one result: ``(x_train, y_train), (x_test, y_test)`` as uint8
arrays of shape ``(n, 28, 28)`` and ``(n,)``.

* The original IDX files (``.gz`` or raw), from a folder given as an argument
  or by the ``CAE_DATA_DIR`` environment variable. Works offline.
* ``keras.datasets.mnist.load_data()``, which downloads once and caches.
* Kaggle's CSV layout: a header row, a ``label`` column, then 784 pixels.

Every problem with a file raises :class:`DataFormatError` (a ``ValueError``)
whose message starts with the file's path and says what is wrong with it; a
missing file raises :class:`DataNotFoundError` (both a ``FileNotFoundError``
and a ``ValueError``). Nothing is written or deleted while reading.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from . import config
from .images import IMAGE_SHAPE, IMAGE_SIZE, NUM_PIXELS, image_batch, to_float, to_uint8  # noqa: F401 (re-exported)

NUM_CLASSES = 10
MNIST_TRAIN_SIZE = 60_000
MNIST_TEST_SIZE = 10_000

FASHION_CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

IDX_UBYTE = 0x08
_IDX_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short",
              0x0C: "int", 0x0D: "float", 0x0E: "double"}  # fmt: skip

# The four files of the original release, by split and kind.
IDX_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


class DataFormatError(ValueError):
    """A data file exists but its content is not what it should be."""


class DataNotFoundError(FileNotFoundError, ValueError):
    """A data file or folder is missing, or MNIST cannot be downloaded."""


# --------------------------------------------------------------------------- IDX


MAX_IDX_BYTES = 64 * 2**20
"""The most data an IDX file may declare (MNIST's training images are 47 MB); checked before reading it."""


def _read_bytes(path: Path, *, max_bytes: int | None = None) -> bytes:
    """Read an IDX file, decompressing it when its name ends in ``.gz``, never beyond what its header declares.

    The header is read first; a declared size over ``max_bytes`` is refused
    before any data is read or inflated, and at most one byte more than the
    declared size is read: a longer file is refused without reading the rest,
    a shorter one by :func:`parse_idx`. ``max_bytes`` defaults to ``MAX_IDX_BYTES``.
    """
    if max_bytes is None:
        max_bytes = MAX_IDX_BYTES
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) == 4 and head[:2] == b"\0\0" and head[2] == IDX_UBYTE:  # else parse_idx says why not
                head += f.read(4 * head[3])
                if len(head) == 4 + 4 * head[3]:
                    declared = math.prod(struct.unpack(f">{head[3]}I", head[4:]))
                    if declared > max_bytes:
                        raise DataFormatError(
                            f"{path}: the IDX header declares {declared:,} bytes of data, more than the "
                            f"{max_bytes:,} this reader takes (MNIST's largest file holds 47,040,000)"
                        )
                    payload = f.read(declared + 1)
                    if len(payload) > declared:  # reading stops here: how much more the file holds is unknown
                        raise DataFormatError(
                            f"{path}: has trailing bytes: the IDX header declares shape "
                            f"{struct.unpack(f'>{head[3]}I', head[4:])} ({declared:,} bytes of data), "
                            "the file holds more"
                        )
                    return head + payload
            return head + f.read(64)  # not an IDX header: parse_idx says what is wrong
    except EOFError as exc:
        raise DataFormatError(f"{path}: truncated gzip file (it ends before the data does)") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(f"{path}: corrupt gzip file ({exc})") from exc
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def parse_idx(data: bytes, *, source: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an IDX file of unsigned bytes into an array.

    Args:
        data: The whole (uncompressed) file.
        source: Name used in error messages, usually the file's path.

    Returns:
        A uint8 array with the shape the header declares.

    Raises:
        DataFormatError: Wrong magic bytes, a data type other than unsigned
            byte, or a data section shorter or longer than the header declares.

    Example:
        The header is two zero bytes, the data type (0x08: unsigned byte), the
        number of dimensions, then each dimension as a big-endian 4-byte
        integer; the values follow in row-major order.

        >>> from cae_lib.data import parse_idx
        >>> header = bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
        >>> parse_idx(header + bytes([0, 1, 2, 3, 4, 5]))
        array([[0, 1, 2],
               [3, 4, 5]], dtype=uint8)
    """
    if len(data) < 4:
        raise DataFormatError(f"{source}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise DataFormatError(f"{source}: not an IDX file (magic bytes {data[:2].hex()}, expected 0000)")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != IDX_UBYTE:
        kind = _IDX_TYPES.get(dtype_code, "unknown")
        raise DataFormatError(
            f"{source}: IDX data type 0x{dtype_code:02X} ({kind}) is not supported; "
            "MNIST files hold unsigned bytes (0x08)"
        )
    if ndim == 0:
        raise DataFormatError(f"{source}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataFormatError(
            f"{source}: truncated IDX header ({len(data)} bytes, {ndim} dimensions need {header_len})"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    expected = math.prod(shape)  # Python ints: 255 dimensions of 2**32 do not overflow
    found = len(data) - header_len
    if found != expected:
        what = "truncated" if found < expected else "has trailing bytes"
        raise DataFormatError(
            f"{source}: {what}: header declares shape {shape} ({expected} bytes of data), found {found} bytes"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(shape)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) of unsigned bytes.

    Args:
        path: The file. A name ending in ``.gz`` is decompressed.

    Returns:
        A uint8 array with the shape the file declares.

    Raises:
        DataNotFoundError: If the file does not exist.
        DataFormatError: If it is a truncated or corrupt gzip file or not a
            valid IDX file.

    Example:
        >>> from cae_lib.data import read_idx  # doctest: +SKIP
        >>> images = read_idx("data/mnist/t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        (10000, 28, 28)
    """
    path = Path(path)
    return parse_idx(_read_bytes(path), source=str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed if the name ends in ``.gz``).

    Args:
        path: Destination file.
        array: Array of dtype uint8 with at least one dimension.

    Returns:
        The path written, as a ``pathlib.Path``.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx writes uint8 arrays only. Received: dtype={array.dtype}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx needs 1 to 255 dimensions. Received: ndim={array.ndim}")
    header = bytes([0, 0, IDX_UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        # mtime=0 keeps the bytes reproducible.
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def _find_idx_file(folder: Path, stem: str) -> Path:
    """Find ``stem`` in ``folder`` as .gz or raw, also under the 'train-images.idx3-ubyte' spelling."""
    dotted = stem.replace("-idx", ".idx")
    candidates = [folder / name for s in (stem, dotted) for name in (s + ".gz", s)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataNotFoundError(
        f"{folder / (stem + '.gz')}: file not found (looked for {stem}.gz or {stem} in {folder})"
    )


def _resolve_folder(data_dir: Path, subfolder: str) -> Path:
    """Accept either the folder with the files or its parent holding ``subfolder/``."""
    if not data_dir.is_dir():
        raise DataNotFoundError(f"{data_dir}: data folder not found")
    nested = data_dir / subfolder
    if nested.is_dir() and not any(data_dir.glob("*-idx*-ubyte*")):
        return nested
    return data_dir


def _check_images(images: np.ndarray, path: Path) -> None:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataFormatError(
            f"{path}: expected images of shape (n, {IMAGE_SIZE}, {IMAGE_SIZE}), found {images.shape}"
        )


def _check_labels(labels: np.ndarray, path: Path, n_images: int, images_path: Path) -> None:
    if labels.ndim != 1:
        raise DataFormatError(f"{path}: expected a 1-D array of labels, found shape {labels.shape}")
    if len(labels) != n_images:
        raise DataFormatError(f"{path}: {len(labels)} labels but {images_path.name} holds {n_images} images")
    if labels.size and labels.max() >= NUM_CLASSES:
        bad = int(np.argmax(labels >= NUM_CLASSES))
        raise DataFormatError(f"{path}: label {labels[bad]} at index {bad} is outside 0-{NUM_CLASSES - 1}")


def load_idx_folder(data_dir: str | os.PathLike, *, subfolder: str = "mnist"):
    """Load the four MNIST-style IDX files from a folder.

    Args:
        data_dir: Folder holding ``train-images-idx3-ubyte.gz`` and its three
            siblings (``.gz`` or uncompressed), or a parent folder with them
            in ``subfolder``.
        subfolder: Sub-folder tried when ``data_dir`` holds no IDX files itself.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays.
    """
    folder = _resolve_folder(Path(data_dir).expanduser(), subfolder)
    splits = []
    for split in ("train", "test"):
        images_path = _find_idx_file(folder, IDX_FILES[(split, "images")])
        labels_path = _find_idx_file(folder, IDX_FILES[(split, "labels")])
        images = read_idx(images_path)
        _check_images(images, images_path)
        labels = read_idx(labels_path)
        _check_labels(labels, labels_path, len(images), images_path)
        splits.append((images, labels))
    return tuple(splits)


_OFFLINE_HELP = (
    "MNIST could not be downloaded ({reason}). To work offline, put the four MNIST "
    "IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder and either "
    "pass it as load_mnist(data_dir=...) or set the environment variable "
    f"{config.DATA_DIR_ENV}=/path/to/folder."
)


def _load_with_keras():
    from ._tf import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # urllib, socket, http and OS errors all mean "no download"
        reason = f"{type(exc).__name__}: {exc}".strip()
        raise DataNotFoundError(_OFFLINE_HELP.format(reason=reason[:200])) from None
    return (x_train, y_train), (x_test, y_test)


def load_mnist(data_dir: str | os.PathLike | None = None):
    """Load MNIST as uint8 arrays: 60,000 training and 10,000 test digits.

    Args:
        data_dir: Folder with the original IDX files (or its parent with an
            ``mnist/`` sub-folder). When omitted, the ``CAE_DATA_DIR``
            environment variable is used; when that is unset too,
            ``keras.datasets.mnist.load_data()`` downloads the data (cached in
            ``~/.keras/datasets``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images of shape
        ``(n, 28, 28)`` and labels of shape ``(n,)``, all uint8.

    Raises:
        DataNotFoundError: A file or the folder is missing, or no folder is
            set and the download fails.
        DataFormatError: A file is corrupt, truncated, of the wrong type or shape.

    Example:
        >>> from cae_lib.data import load_mnist  # doctest: +SKIP
        >>> (x_train, y_train), (x_test, y_test) = load_mnist("../shared/data/mnist")  # doctest: +SKIP
        >>> x_train.shape, x_test.dtype  # doctest: +SKIP
        ((60000, 28, 28), dtype('uint8'))
    """
    folder = Path(data_dir) if data_dir is not None else config.data_dir_from_env()
    if folder is None:
        return _load_with_keras()
    return load_idx_folder(folder, subfolder="mnist")


def load_fashion_mnist_test(data_dir: str | os.PathLike | None = None):
    """Load the 10,000 Fashion-MNIST test images and labels (uint8).

    Args:
        data_dir: Folder holding ``t10k-images-idx3-ubyte.gz`` and
            ``t10k-labels-idx1-ubyte.gz`` of Fashion-MNIST, or a parent with a
            ``fashion-mnist/`` sub-folder. When omitted, ``CAE_DATA_DIR`` is
            tried (its ``fashion-mnist/`` sub-folder, or a ``fashion-mnist``
            folder beside it), then Keras' downloader.

    Returns:
        ``(x_test, y_test)`` with shapes ``(10000, 28, 28)`` and ``(10000,)``.
    """
    if data_dir is None:
        env = config.data_dir_from_env()
        if env is None:
            from ._tf import keras

            try:
                return keras.datasets.fashion_mnist.load_data()[1]
            except Exception as exc:
                raise DataNotFoundError(
                    f"Fashion-MNIST could not be downloaded ({type(exc).__name__}). Pass "
                    "data_dir= a folder with its t10k IDX files, or set "
                    f"{config.DATA_DIR_ENV} to a folder with a fashion-mnist/ sub-folder."
                ) from None
        candidates = [env / "fashion-mnist", env.parent / "fashion-mnist", env]
        folder = next((c for c in candidates if c.is_dir() and any(c.glob("t10k-*"))), candidates[0])
    else:
        folder = _resolve_folder(Path(data_dir).expanduser(), "fashion-mnist")
    images_path = _find_idx_file(folder, IDX_FILES[("test", "images")])
    labels_path = _find_idx_file(folder, IDX_FILES[("test", "labels")])
    images = read_idx(images_path)
    _check_images(images, images_path)
    labels = read_idx(labels_path)
    _check_labels(labels, labels_path, len(images), images_path)
    return images, labels


# --------------------------------------------------------------------------- CSV


def load_mnist_csv(path: str | os.PathLike):
    """Load digits stored in Kaggle's CSV layout.

    The file has a header row. With 785 columns the first is ``label`` and
    the other 784 are pixel values 0-255 in row-major order (Kaggle's
    ``train.csv``); with 784 columns there are no labels (Kaggle's ``test.csv``).

    Args:
        path: The CSV file.

    Returns:
        ``(images, labels)``: uint8 arrays of shape ``(n, 28, 28)`` and
        ``(n,)``; ``labels`` is None for a file with no label column.

    Raises:
        DataNotFoundError: If the file does not exist.
        DataFormatError: Empty file, rows with the wrong number of columns,
            values that are not whole numbers in 0-255, or labels outside 0-9.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline().strip()
    if not header:
        raise DataFormatError(f"{path}: empty CSV file (expected a header row)")
    columns = [c.strip().strip('"') for c in header.split(",")]
    if len(columns) not in (NUM_PIXELS, NUM_PIXELS + 1):
        raise DataFormatError(
            f"{path}: header has {len(columns)} columns; expected {NUM_PIXELS + 1} "
            f"('label' then {NUM_PIXELS} pixels) or {NUM_PIXELS} (pixels only)"
        )
    has_labels = len(columns) == NUM_PIXELS + 1
    if has_labels and columns[0].lower() != "label":
        raise DataFormatError(f"{path}: first column is {columns[0]!r}, expected 'label'")
    try:
        values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        # numpy names the row ("the number of columns changed from 785 to 3 at row 7").
        raise DataFormatError(f"{path}: {exc}") from exc
    if values.shape[0] == 0:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8), (
            np.zeros((0,), np.uint8) if has_labels else None
        )
    if values.shape[1] != len(columns):
        raise DataFormatError(
            f"{path}: rows have {values.shape[1]} columns but the header has {len(columns)}"
        )
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values > 255)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise DataFormatError(
            f"{path}: value {values[row, col]:g} in data row {row + 1}, column "
            f"{columns[col]!r} is not a whole number in 0-255"
        )
    pixels = values[:, 1:] if has_labels else values
    images = pixels.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    if not has_labels:
        return images, None
    labels = values[:, 0].astype(np.uint8)
    _check_labels(labels, path, len(images), path)
    return images, labels


def save_mnist_csv(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray | None = None):
    """Write digits in Kaggle's CSV layout (the inverse of :func:`load_mnist_csv`).

    Args:
        path: Destination file.
        images: uint8 array of shape ``(n, 28, 28)``.
        labels: Labels of shape ``(n,)``; omitted, the file has pixel columns only.

    Returns:
        The path written, as a ``pathlib.Path``.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"images must be uint8 of shape (n, {IMAGE_SIZE}, {IMAGE_SIZE}). Received: dtype={images.dtype}, shape={images.shape}"
        )
    table = images.reshape(len(images), NUM_PIXELS).astype(np.int64)
    header = [f"pixel{i}" for i in range(NUM_PIXELS)]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape ({len(images)},). Received: shape={labels.shape}")
        table = np.column_stack([labels.astype(np.int64), table])
        header = ["label"] + header
    np.savetxt(path, table, fmt="%d", delimiter=",", header=",".join(header), comments="")
    return Path(path)


# --------------------------------------------------------------------------- arrays


def load_mnist_float(data_dir: str | os.PathLike | None = None):
    """Load MNIST as float32 in [0, 1] with a channel axis, plus the labels.

    Args:
        data_dir: As for :func:`load_mnist`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` with images of shape
        ``(n, 28, 28, 1)`` float32 and uint8 labels.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir)
    return (to_float(x_train), y_train), (to_float(x_test), y_test)
