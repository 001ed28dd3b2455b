"""Checks of notebook 01 (Fetching the dataset): class means, gzip per class, a CSV of sevens, IDX by hand.

Each check takes the learner's answer and the notebook's data, and says
precisely what is wrong (see :mod:`cae_lib.exercises`).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from . import Wrong, answered, call, exercise

__all__ = ["class_means", "gzip_per_digit", "sevens_csv", "idx_file"]


def _reference_means(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.stack([images[labels == d].mean(axis=0, dtype=np.float64) for d in range(10)])


def _mean_abs_distances(means: np.ndarray) -> np.ndarray:
    flat = means.reshape(10, -1)
    return np.abs(flat[:, None, :] - flat[None, :, :]).mean(axis=2)


@exercise("01_dataset_ex1", "the mean image of each class")
def class_means(answer, x_train, y_train) -> str:
    """Check ``(means, most_alike)``: the ten class means and the pair of classes whose means differ least.

    ``means`` may hold pixel values (0-255) or values scaled to [0, 1];
    ``most_alike`` is a pair of two different labels, in either order,
    compared by the mean absolute difference of their mean images.
    """
    means, most_alike = answer if isinstance(answer, (tuple, list)) and len(answer) == 2 else (answer, None)
    means = answered(means, "means")
    try:
        means = np.asarray(means, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(
            f"means should be an array of ten 28 x 28 mean images. Received: {type(means).__name__}"
        ) from None
    if means.shape != (10, 28, 28):
        raise Wrong(
            f"means has shape {means.shape}; expected (10, 28, 28): one 28 x 28 mean image per class 0-9"
        )
    reference = _reference_means(x_train, y_train)
    scale = 255.0 if means.max() <= 1.0 + 1e-6 else 1.0
    scaled = means * scale
    errors = np.abs(scaled - reference).max(axis=(1, 2))
    if errors.max() > 0.5 and np.abs(scaled.transpose(0, 2, 1) - reference).max() <= 0.5:
        raise Wrong(
            "your mean images are transposed (rows and columns swapped): average over the images only, "
            "x_train[y_train == d].mean(axis=0), and keep each image's (row, column) order"
        )
    if (
        errors.max() > 0.5
        and np.all(scaled == np.round(scaled))
        and np.abs(scaled - np.floor(reference)).max() < 1e-6
    ):
        raise Wrong(
            "your means are whole numbers, each rounded down (up to 1 pixel value too low): "
            ".astype(np.uint8) cuts off the fraction; keep the float mean that .mean(axis=0) gives"
        )
    counts = np.bincount(np.asarray(y_train), minlength=10)[:, None, None]
    if errors.max() > 0.5 and np.abs(means - reference * counts).max() <= 0.5 * counts.max():
        raise Wrong(
            "your 'means' are the sums of each class's images: divide by the number of images in the class, or use "
            ".mean(axis=0)"
        )
    factor = float((scaled * reference).sum() / max(float((scaled * scaled).sum()), 1e-12))
    if errors.max() > 0.5 and abs(factor - 1) > 1e-3 and np.abs(factor * scaled - reference).max() <= 0.5:
        raise Wrong(
            f"your means are the class means times {1 / factor:.4g} (pixel values scaled by another number "
            f"than 255?): keep them in 0-255, or divide by 255 exactly"
        )
    if errors.max() > 0.5:
        bad = int(errors.argmax())
        closest = int(np.abs(reference - scaled[bad]).mean(axis=(1, 2)).argmin())
        if closest != bad:
            raise Wrong(
                f"means[{bad}] looks like the mean of class {closest}, not of class {bad}: "
                f"select each class by its label, x_train[y_train == d], for d = 0 ... 9"
            )
        raise Wrong(
            f"means[{bad}] differs from the mean of the training images labelled {bad} by up to "
            f"{errors[bad]:.1f} pixel values: average *all* of them, over the training set (x_train, y_train)"
        )
    most_alike = answered(most_alike, "most_alike")
    if isinstance(most_alike, (str, bytes)):
        raise Wrong(f"most_alike should be a pair of labels such as (3, 5), not the text {most_alike!r}")
    if any(isinstance(v, (str, bytes)) for v in np.ravel(np.asarray(most_alike, dtype=object))):
        raise Wrong(f"most_alike = {most_alike!r} holds text: give the two labels as numbers, e.g. (3, 5)")
    if any(isinstance(v, (bool, np.bool_)) for v in np.ravel(np.asarray(most_alike, dtype=object))):
        raise Wrong(
            f"most_alike = {most_alike!r} holds True/False: give the two labels, e.g. the row and "
            f"column of the smallest distance (np.unravel_index), not a comparison's result"
        )
    try:
        labels = [float(v) for v in most_alike]
        i, j = (int(v) for v in labels)
    except (TypeError, ValueError):
        raise Wrong(
            f"most_alike should be a pair of labels such as (3, 5). Received: {most_alike!r}"
        ) from None
    if any(v != int(v) for v in labels):
        raise Wrong(
            f"most_alike = {most_alike!r} holds a number that is not a whole label: give the two class "
            f"labels (row and column of the smallest distance, np.unravel_index), not distances or averages"
        )
    if i == j:
        raise Wrong(
            f"most_alike is ({i}, {j}): a class compared with itself is always at distance 0; "
            f"leave the diagonal out (e.g. add np.inf to it) before taking the smallest distance"
        )
    if not (0 <= i <= 9 and 0 <= j <= 9):
        raise Wrong(f"most_alike = ({i}, {j}): labels run from 0 to 9")
    distances = _mean_abs_distances(reference)
    np.fill_diagonal(distances, np.inf)
    best = float(distances.min())
    if distances[i, j] > best + 1e-9:
        largest = float(distances[np.isfinite(distances)].max())
        hint = (
            "that is the *most different* pair: take the smallest distance, not the largest"
            if distances[i, j] >= largest - 1e-9
            else "compare all 45 pairs and take the one with the smallest distance"
        )
        raise Wrong(
            f"the means of {i} and {j} differ by {distances[i, j]:.1f} pixel values on average, "
            f"but another pair differs by only {best:.1f}: {hint}"
        )
    return (
        f"the ten class means are right, and {min(i, j)} and {max(i, j)} are the most alike "
        f"(mean absolute difference {best:.1f} of 255)"
    )


def _gzip_per_digit(images: np.ndarray) -> float:
    return len(gzip.compress(np.ascontiguousarray(images).tobytes(), compresslevel=9)) / len(images)


_WHOLE_SET: dict[str, float] = {}
"""gzip bytes per digit of a whole image set, by a digest of its bytes (the test set takes seconds to compress)."""


def _gzip_per_digit_cached(images: np.ndarray) -> float:
    import hashlib

    key = hashlib.blake2b(np.ascontiguousarray(images).tobytes(), digest_size=16).hexdigest()
    if key not in _WHOLE_SET:
        _WHOLE_SET[key] = _gzip_per_digit(images)
    return _WHOLE_SET[key]


@exercise("01_dataset_ex2", "gzip bytes per digit, class by class")
def gzip_per_digit(answer, x_test, y_test) -> str:
    """Check a function ``images -> bytes per image`` of gzip -9 over all the images in one stream."""
    if not callable(answer):
        raise Wrong(f"expected a function images -> bytes per digit. Received: {type(answer).__name__}")
    found = {}
    for digit in (1, 8):
        subset = x_test[y_test == digit]
        value = call(answer, subset, what=f"the test {digit}s")
        if isinstance(value, (str, bytes)):
            raise Wrong(
                f"your function returns the text {value!r}: return the number itself (a float), "
                f"and format it only where you print it"
            )
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise Wrong(
                f"your function should return a number of bytes per digit. Received: {value!r}"
            ) from None
        expected = _gzip_per_digit(subset)
        n = len(subset)
        if value == int(value) and abs(value - expected) > 1e-6 and abs(value - expected) < 1:
            raise Wrong(
                f"for the {n:,} test digits labelled {digit} your function gives the whole number {value:.0f}; "
                f"the bytes per digit are {expected:.3f}: divide with / (not the floor division //) and do not round"
            )
        if (
            abs(value - expected) > 0.005
        ):  # the same gzip here as in the learner's cell: only rounding differs
            one = len(gzip.compress(np.ascontiguousarray(subset[0]).tobytes(), compresslevel=9))
            if abs(value - (expected * n - 12) / n) < 0.002:  # zlib: 6 bytes of framing, gzip: 18
                hint = (
                    "that is zlib's stream, 12 bytes shorter than gzip's (its header and trailer): the exercise measures "
                    "gzip -9, gzip.compress(images.tobytes(), compresslevel=9)"
                )
            elif abs(value - expected * n) < 0.5 * n:
                hint = "that is the size of the whole stream: divide by the number of images"
            elif abs(value - 8 * expected) < 0.5:
                hint = "that is in bits (8 per byte): len(gzip.compress(...)) already counts bytes"
            elif abs(value - one) < 0.5:
                hint = "that is the size of the first digit alone: compress all the images your function receives"
            elif min(abs(value * 1024 - expected), abs(value * 1000 - expected)) < 0.5:
                hint = "that is in kilobytes: give bytes, len(gzip.compress(...)) / len(images)"
            elif abs(value * expected - 784) < 8:
                hint = "that is the compression ratio (784 bytes / compressed bytes); the exercise wants bytes per digit"
            elif abs(value * 784 / 8 - expected) < 0.5:
                hint = "that is in bits per pixel: multiply by 784 pixels and divide by 8 bits per byte"
            elif abs(value * len(x_test) - expected * n) < 1:
                hint = f"you divided by len(x_test) = {len(x_test):,}: divide by len(images), the images passed in"
            elif abs(value - _gzip_per_digit_cached(x_test)) < 0.5:
                hint = (
                    "that is the figure for the whole test set: compress the images your function "
                    "receives (its argument), not x_test"
                )
            elif abs(value - np.mean([len(gzip.compress(d.tobytes(), 9)) for d in subset])) < 1:
                hint = (
                    "that is one gzip stream per digit, each paying about 20 bytes of header and "
                    "trailer: compress all the images in one stream, as the cell on the test set does"
                )
            elif value > 1.5 * expected:
                hint = "did you compress float or wider integer pixels (4 or 8 bytes each)? compress the uint8 array's bytes"
            else:
                hint = "use gzip.compress(images.tobytes(), compresslevel=9) and divide by len(images)"
            raise Wrong(
                f"for the {n:,} test digits labelled {digit} your function gives {value:.3f} bytes per digit; "
                f"gzip -9 of them in one stream gives {expected:.3f} (the check allows 0.005 for rounding): {hint}"
            )
        found[digit] = value
    ink = {d: float(np.mean(x_test[y_test == d] > 0)) for d in (1, 8)}
    return (
        f"ones {found[1]:.0f} bytes per digit ({ink[1]:.0%} of their pixels are ink), "
        f"eights {found[8]:.0f} ({ink[8]:.0%} ink), as gzip -9 gives"
    )


@exercise("01_dataset_ex3", "the test-set sevens in Kaggle's CSV layout")
def sevens_csv(answer, x_test, y_test) -> str:
    """Check the path of a CSV file holding every test seven, with its label, in Kaggle's layout."""
    from .. import data

    if not isinstance(answer, (str, Path)) and not hasattr(answer, "__fspath__"):
        raise Wrong(
            f"expected the path of the CSV file (what data.save_mnist_csv returns). Received: {type(answer).__name__}"
        )
    path = Path(answer)
    if not path.is_file():
        raise Wrong(f"{path} is not a file: pass the path that data.save_mnist_csv returned")
    try:
        images, labels = data.load_mnist_csv(path)
    except data.DataFormatError as error:
        raise Wrong(f"data.load_mnist_csv cannot read it: {error}") from None
    sevens = x_test[y_test == 7]
    if labels is None:
        raise Wrong("the file has no label column: pass the labels to data.save_mnist_csv too")
    if len(images) != len(sevens):
        raise Wrong(
            f"the file holds {len(images)} digits; the test set has {len(sevens)} sevens: "
            f"select them with x_test[y_test == 7]"
        )
    if not np.all(labels == 7) and len(np.unique(labels)) == 1:
        raise Wrong(
            f"every label in the file is {int(labels[0])}, not 7: "
            + ("a mask such as y_test == 7 is True (1) for each seven; " if int(labels[0]) == 1 else "")
            + "save the labels themselves, y_test[y_test == 7], in the 'label' column (the first)"
        )
    if not np.all(labels == 7):
        raise Wrong(
            f"{int(np.sum(labels != 7))} of the {len(labels)} labels are not 7: "
            f"save the labels of the same selection, y_test[y_test == 7]"
        )
    if not np.array_equal(images, sevens):
        raise Wrong(
            "the pixels differ from the test sevens: save x_test[y_test == 7] as it is (uint8, in order)"
        )
    return f"{len(images):,} sevens, every label 7, every pixel identical to x_test[y_test == 7]"


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


@exercise("01_dataset_ex4", "an IDX file written by hand")
def idx_file(answer, x_test, y_test) -> str:
    """Check a function ``uint8 array -> bytes`` writing the IDX format (compared with the library's writer)."""
    if not callable(answer):
        raise Wrong(f"expected a function array -> bytes. Received: {type(answer).__name__}")
    for name, array in [("x_test[:3]", x_test[:3]), ("y_test[:5]", y_test[:5]), ("x_test[0]", x_test[0])]:
        found = call(answer, array, what=name)
        if not isinstance(found, (bytes, bytearray)):
            raise Wrong(f"your function should return bytes. Received: {type(found).__name__} for {name}")
        found = bytes(found)
        expected = _idx_bytes(array)
        if found == expected:
            continue
        ndim = array.ndim
        if found[:2] != b"\x00\x00":
            raise Wrong(
                f"{name}: the file must start with two zero bytes; yours starts with {found[:2].hex(' ')}"
            )
        if found[2] != 0x08:
            raise Wrong(
                f"{name}: the third byte is the data type, 0x08 for unsigned bytes; yours is 0x{found[2]:02x}"
            )
        if found[3] != ndim:
            raise Wrong(f"{name}: the fourth byte is the number of dimensions, {ndim}; yours is {found[3]}")
        sizes = found[4 : 4 + 4 * ndim]
        if sizes != struct.pack(f">{ndim}I", *array.shape):
            little = len(sizes) == 4 * ndim and sizes == struct.pack(f"<{ndim}I", *array.shape)
            hint = (
                "they are little-endian: IDX stores sizes big-endian, e.g. n.to_bytes(4, 'big')"
                if little
                else "write each dimension as a 4-byte big-endian integer"
            )
            raise Wrong(f"{name}: the sizes after the fourth byte should encode {array.shape}: {hint}")
        if len(found) == 4 + 4 * ndim:
            raise Wrong(
                f"{name}: the header is right but nothing follows it: append the values, array.tobytes()"
            )
        if len(found) != len(expected):
            raise Wrong(
                f"{name}: {len(found)} bytes; expected {len(expected)} = {4 + 4 * ndim} header bytes + "
                f"{array.size} pixels of one byte each (did you write another dtype than uint8?)"
            )
        if found[4 + 4 * ndim :] == np.ascontiguousarray(array.T).tobytes():
            raise Wrong(
                f"{name}: the header is right but the values are in column order (the array transposed): "
                f"IDX stores them row by row, the last index fastest, as array.tobytes() gives them"
            )
        raise Wrong(f"{name}: the header is right but the values after it differ: append array.tobytes()")
    return "byte for byte what data.write_idx writes, for 3-D images, 1-D labels and one 2-D digit"
