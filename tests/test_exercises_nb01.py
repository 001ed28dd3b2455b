"""Notebook 01's exercises: each solution passes its check, and plausible wrong answers fail with a useful message."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import rejects, run_solution

from cae_lib import data, exercises
from cae_lib.exercises import nb01

pytestmark = pytest.mark.usefixtures("strict")


@pytest.fixture(scope="module")
def small_train(mnist):
    (x_train, y_train), _ = mnist
    return x_train[:6000], y_train[:6000]


def test_ex1_class_means(small_train, mnist, monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    x_train, y_train = small_train
    ns = run_solution("01_dataset_ex1", x_train=x_train, y_train=y_train)
    nb01.class_means((ns["means"], ns["most_alike"]), x_train, y_train)
    assert "✓ Exercise 01_dataset_ex1" in capsys.readouterr().out
    means = ns["means"]
    nb01.class_means((means / 255, ns["most_alike"]), x_train, y_train)  # scaled to [0, 1] is fine too
    # The diagonal left in: every class is closest to itself.
    rejects(nb01.class_means, (means, (3, 3)), x_train, y_train, match="compared with itself")
    # argmax instead of argmin.
    flat = means.reshape(10, -1)
    distances = np.abs(flat[:, None] - flat[None]).mean(axis=2)
    far = tuple(int(v) for v in np.unravel_index(distances.argmax(), distances.shape))
    rejects(nb01.class_means, (means, far), x_train, y_train, match="most different")
    # Classes taken by position instead of by label.
    by_position = np.stack([x_train[600 * d : 600 * (d + 1)].mean(axis=0) for d in range(10)])
    rejects(nb01.class_means, (by_position, ns["most_alike"]), x_train, y_train, match=r"means\[\d\]")
    # Means of the first 10 images of each class only.
    few = np.stack([x_train[y_train == d][:10].mean(axis=0) for d in range(10)])
    rejects(nb01.class_means, (few, ns["most_alike"]), x_train, y_train, match="average \\*all\\* of them")
    # The wrong split: the class means of the test set.
    _, (x_test, y_test) = mnist
    test_means = np.stack([x_test[y_test == d].mean(axis=0) for d in range(10)])
    rejects(nb01.class_means, (test_means, ns["most_alike"]), x_train, y_train, match="over the training set")
    # Transposed mean images (rows and columns swapped).
    rejects(
        nb01.class_means, (means.transpose(0, 2, 1), ns["most_alike"]), x_train, y_train, match="transposed"
    )
    # The flat index of argmin, without np.unravel_index.
    np.fill_diagonal(distances, np.inf)
    flat_index = int(distances.argmin())
    rejects(nb01.class_means, (means, flat_index), x_train, y_train, match="should be a pair of labels")
    # Labels counted from 1 (an off-by-one).
    i, j = ns["most_alike"]
    rejects(nb01.class_means, (means, (i + 1, j + 1)), x_train, y_train, match="labels run from 0 to 9")
    # Not whole labels: a float that int() would quietly truncate to the right label.
    rejects(nb01.class_means, (means, (i + 0.5, j)), x_train, y_train, match="not a whole label")
    # Not answered: prints ○, does not raise.
    monkeypatch.delenv(exercises.STRICT_ENV)
    nb01.class_means((..., ...), x_train, y_train)
    assert "○ Exercise 01_dataset_ex1" in capsys.readouterr().out


def test_ex2_gzip_per_digit(mnist, capsys):
    _, (x_test, y_test) = mnist
    ns = run_solution("01_dataset_ex2", x_test=x_test, y_test=y_test)
    nb01.gzip_per_digit(ns["gzip_bytes_per_digit"], x_test, y_test)
    assert "✓ Exercise 01_dataset_ex2" in capsys.readouterr().out

    def total(images):
        return len(gzip.compress(images.tobytes(), 9))

    def one_stream_per_digit(images):
        return np.mean([len(gzip.compress(d.tobytes(), 9)) for d in images])

    def floats(images):
        return len(gzip.compress(data.to_float(images).tobytes(), 9)) / len(images)

    rejects(nb01.gzip_per_digit, total, x_test, y_test, match="divide by the number of images")
    rejects(nb01.gzip_per_digit, one_stream_per_digit, x_test, y_test, match="one gzip stream per digit")
    rejects(nb01.gzip_per_digit, floats, x_test, y_test, match="float or wider integer pixels")

    def bits(images):
        return 8 * len(gzip.compress(images.tobytes(), 9)) / len(images)

    def whole_test_set(images):  # ignores its argument: the figure of the cell above
        return len(gzip.compress(x_test.tobytes(), 9)) / len(x_test)

    def divided_by_len_x_test(images):
        return len(gzip.compress(images.tobytes(), 9)) / len(x_test)

    def constant(images):
        return 100.0

    rejects(nb01.gzip_per_digit, bits, x_test, y_test, match="in bits")
    rejects(nb01.gzip_per_digit, whole_test_set, x_test, y_test, match="not x_test")
    rejects(nb01.gzip_per_digit, divided_by_len_x_test, x_test, y_test, match="divided by len\\(x_test\\)")
    rejects(nb01.gzip_per_digit, constant, x_test, y_test, match="gives 100.000 bytes per digit")


def test_ex1_and_ex2_almost_right_answers(small_train, mnist, capsys):
    """Wrong units, text, a floor division, a wrong scale: each gets a ✗ saying which."""
    x_train, y_train = small_train
    ns = run_solution("01_dataset_ex1", x_train=x_train, y_train=y_train)
    means, pair = ns["means"], ns["most_alike"]
    nb01.class_means([means, pair], x_train, y_train)  # a list is a pair too
    assert "✓ Exercise 01_dataset_ex1" in capsys.readouterr().out
    rejects(nb01.class_means, (means / 256, pair), x_train, y_train, match="times 0.996")
    rejects(nb01.class_means, (means.astype(np.uint8), pair), x_train, y_train, match="astype")
    rejects(nb01.class_means, (means, f"{pair[0]}{pair[1]}"), x_train, y_train, match="not the text")
    rejects(nb01.class_means, (means, (True, False)), x_train, y_train, match="True/False")
    sums = np.stack([x_train[y_train == d].sum(axis=0, dtype=np.float64) for d in range(10)])
    rejects(nb01.class_means, (sums, pair), x_train, y_train, match="are the sums of each class")
    rejects(nb01.class_means, (means, tuple(map(str, pair))), x_train, y_train, match="holds text")

    _, (x_test, y_test) = mnist

    def floor_division(images):
        return len(gzip.compress(images.tobytes(), 9)) // len(images)

    def formatted(images):
        return f"{len(gzip.compress(images.tobytes(), 9)) / len(images):.0f}"

    def kilobytes(images):
        return len(gzip.compress(images.tobytes(), 9)) / len(images) / 1024

    def ratio(images):
        return images.nbytes / len(gzip.compress(images.tobytes(), 9))

    def first_digit(images):
        return len(gzip.compress(images[0].tobytes(), 9))

    rejects(nb01.gzip_per_digit, floor_division, x_test, y_test, match="floor division")
    rejects(nb01.gzip_per_digit, formatted, x_test, y_test, match="returns the text")
    rejects(nb01.gzip_per_digit, kilobytes, x_test, y_test, match="kilobytes")
    rejects(nb01.gzip_per_digit, ratio, x_test, y_test, match="compression ratio")
    rejects(nb01.gzip_per_digit, first_digit, x_test, y_test, match="first digit alone")

    def zlib_stream(images):  # the second review: within the old 0.5 tolerance
        import zlib

        return len(zlib.compress(images.tobytes(), 9)) / len(images)

    rejects(
        nb01.gzip_per_digit, zlib_stream, x_test, y_test, match="zlib's stream, 12 bytes shorter than gzip's"
    )
    is_seven = y_test == 7
    rejects(nb01.sevens_csv, (x_test[is_seven], y_test[is_seven]), x_test, y_test, match="expected the path")


def test_ex3_sevens_csv(mnist, tmp_path, capsys):
    _, (x_test, y_test) = mnist
    ns = run_solution("01_dataset_ex3", x_test=x_test, y_test=y_test, tmp=tmp_path)
    nb01.sevens_csv(ns["sevens_path"], x_test, y_test)
    assert "✓ Exercise 01_dataset_ex3" in capsys.readouterr().out
    is_seven = y_test == 7
    n = int(is_seven.sum())
    wrong_labels = data.save_mnist_csv(tmp_path / "a.csv", x_test[is_seven], y_test[:n])
    rejects(nb01.sevens_csv, wrong_labels, x_test, y_test, match="labels are not 7")
    no_labels = data.save_mnist_csv(tmp_path / "b.csv", x_test[is_seven])
    rejects(nb01.sevens_csv, no_labels, x_test, y_test, match="no label column")
    first_n = data.save_mnist_csv(tmp_path / "c.csv", x_test[:n], np.full(n, 7))
    rejects(nb01.sevens_csv, first_n, x_test, y_test, match="pixels differ")
    rejects(nb01.sevens_csv, tmp_path / "missing.csv", x_test, y_test, match="not a file")
    # The wrong split: the training sevens.
    (x_train, y_train), _ = mnist
    train_sevens = data.save_mnist_csv(tmp_path / "d.csv", x_train[y_train == 7], y_train[y_train == 7])
    rejects(nb01.sevens_csv, train_sevens, x_test, y_test, match=r"test set has \d+ sevens")
    # Another digit: the ones, labelled 1.
    ones = data.save_mnist_csv(tmp_path / "e.csv", x_test[y_test == 1], y_test[y_test == 1])
    rejects(nb01.sevens_csv, ones, x_test, y_test, match="x_test\\[y_test == 7\\]")
    # The right sevens and labels, but each image transposed.
    transposed = data.save_mnist_csv(
        tmp_path / "f.csv", x_test[is_seven].transpose(0, 2, 1), y_test[is_seven]
    )
    rejects(nb01.sevens_csv, transposed, x_test, y_test, match="pixels differ")
    # The mask saved as the labels: every label 1.
    mask_labels = data.save_mnist_csv(tmp_path / "g.csv", x_test[is_seven], is_seven[is_seven].astype(int))
    rejects(nb01.sevens_csv, mask_labels, x_test, y_test, match="every label in the file is 1")


def test_ex4_idx_file(mnist, tmp_path, capsys):
    _, (x_test, y_test) = mnist
    ns = run_solution("01_dataset_ex4", x_test=x_test)
    nb01.idx_file(ns["idx_bytes"], x_test, y_test)
    assert "✓ Exercise 01_dataset_ex4" in capsys.readouterr().out
    assert ns["idx_bytes"](x_test[:3]) == data.write_idx(tmp_path / "x", x_test[:3]).read_bytes()

    def little_endian(a):
        return bytes([0, 0, 8, a.ndim]) + struct.pack(f"<{a.ndim}I", *a.shape) + a.tobytes()

    def no_ndim(a):
        return bytes([0, 0, 8]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()

    def int64_values(a):
        return bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.astype(np.int64).tobytes()

    rejects(nb01.idx_file, little_endian, x_test, y_test, match="little-endian")
    rejects(nb01.idx_file, no_ndim, x_test, y_test, match="number of dimensions")
    rejects(nb01.idx_file, int64_values, x_test, y_test, match="another dtype than uint8")

    def header(a, sizes, ndim):
        return bytes([0, 0, 8, ndim]) + struct.pack(f">{len(sizes)}I", *sizes)

    def ndim_always_3(a):  # right for the images, wrong for the labels
        return header(a, a.shape, 3) + a.tobytes()

    def sizes_off_by_one(a):  # the image sizes only, as if every array were a stack of images
        return header(a, a.shape[1:], a.ndim) + a.tobytes()

    def column_order(a):
        return header(a, a.shape, a.ndim) + a.T.tobytes()

    def header_only(a):
        return header(a, a.shape, a.ndim)

    def two_byte_sizes(a):
        return bytes([0, 0, 8, a.ndim]) + b"".join(n.to_bytes(2, "big") for n in a.shape) + a.tobytes()

    def hex_string(a):
        return (header(a, a.shape, a.ndim) + a.tobytes()).hex()

    rejects(
        nb01.idx_file, ndim_always_3, x_test, y_test, match=r"y_test\[:5\]: the fourth byte .* 1; yours is 3"
    )
    rejects(nb01.idx_file, sizes_off_by_one, x_test, y_test, match=r"should encode \(3, 28, 28\)")
    rejects(nb01.idx_file, column_order, x_test, y_test, match="column order")
    rejects(nb01.idx_file, header_only, x_test, y_test, match="nothing follows it")
    rejects(nb01.idx_file, two_byte_sizes, x_test, y_test, match="4-byte big-endian")
    rejects(nb01.idx_file, hex_string, x_test, y_test, match="should return bytes")


def test_every_nb01_solution_file_is_checked():
    ids = {p.stem for p in Path(exercises.SOLUTIONS_DIR).glob("01_dataset_ex*.py")}
    assert ids == {f"01_dataset_ex{k}" for k in range(1, 5)}
    assert ids <= set(exercises.CHECKS)
