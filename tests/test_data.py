"""cae_lib.data: IDX, CSV and Keras loading, and every error path, on tiny files the tests write."""

import struct
from pathlib import Path

import numpy as np
import pytest

from cae_lib import config, data
from cae_lib.data import DataFormatError, DataNotFoundError

RNG = np.random.default_rng(0)


def make_split(n):
    images = RNG.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = RNG.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def write_mnist_folder(folder: Path, *, n_train=12, n_test=5, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = make_split(n)
        data.write_idx(folder / (data.IDX_FILES[(split, "images")] + suffix), images)
        data.write_idx(folder / (data.IDX_FILES[(split, "labels")] + suffix), labels)
        arrays[split] = (images, labels)
    return arrays


# --------------------------------------------------------------------------- IDX


def test_idx_header_bytes_follow_the_format():
    raw = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 28, 28) + bytes(2 * 784)
    assert data.parse_idx(raw).shape == (2, 28, 28)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_then_read_idx_round_trips(tmp_path, suffix):
    images, _ = make_split(3)
    path = data.write_idx(tmp_path / f"x-idx3-ubyte{suffix}", images)
    back = data.read_idx(path)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, images)
    if suffix:
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # really gzip


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_reads_folder_as_uint8(tmp_path, gz):
    arrays = write_mnist_folder(tmp_path, gz=gz)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path)
    assert x_train.shape == (12, 28, 28) and x_test.shape == (5, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, arrays["train"][0])
    np.testing.assert_array_equal(y_test, arrays["test"][1])


def test_load_mnist_accepts_parent_folder_with_mnist_subfolder(tmp_path):
    arrays = write_mnist_folder(tmp_path / "mnist")
    (_, y_train), _ = data.load_mnist(tmp_path)
    np.testing.assert_array_equal(y_train, arrays["train"][1])


def test_load_mnist_accepts_dotted_file_names(tmp_path):
    arrays = write_mnist_folder(tmp_path, gz=False)
    for path in list(tmp_path.iterdir()):
        path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    (x_train, _), _ = data.load_mnist(tmp_path)
    np.testing.assert_array_equal(x_train, arrays["train"][0])


def test_load_mnist_reads_env_var(tmp_path, monkeypatch):
    arrays = write_mnist_folder(tmp_path)
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))
    _, (x_test, _) = data.load_mnist()
    np.testing.assert_array_equal(x_test, arrays["test"][0])


def test_argument_wins_over_env_var(tmp_path, monkeypatch):
    arrays = write_mnist_folder(tmp_path / "a")
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "does-not-exist"))
    _, (_, y_test) = data.load_mnist(tmp_path / "a")
    np.testing.assert_array_equal(y_test, arrays["test"][1])


def test_missing_folder(tmp_path):
    with pytest.raises(DataNotFoundError, match="data folder not found"):
        data.load_mnist(tmp_path / "nowhere")


def test_missing_file_names_it_and_is_a_value_error(tmp_path):
    write_mnist_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: file not found"):
        data.load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError):
        data.load_mnist(tmp_path)


# Each case: a good MNIST folder (gzipped when the file name ends in .gz) in which one file is
# replaced, by a function of its bytes or by an IDX file of the given array; the error names the file.
BAD_MNIST_FOLDERS = [
    pytest.param(
        "train-images-idx3-ubyte.gz", lambda raw: raw[: len(raw) // 2],
        r"train-images-idx3-ubyte\.gz: truncated gzip", id="truncated-gzip",
    ),
    pytest.param(
        "train-labels-idx1-ubyte.gz", lambda raw: b"this is not gzip at all",
        r"train-labels-idx1-ubyte\.gz: corrupt gzip", id="corrupt-gzip",
    ),
    pytest.param(
        "t10k-images-idx3-ubyte", lambda raw: raw[:-100],
        r"t10k-images-idx3-ubyte: truncated: .*\(5, 28, 28\)", id="truncated-idx-data",
    ),
    pytest.param(
        "train-images-idx3-ubyte.gz", np.zeros((12, 32, 32), np.uint8),
        r"train-images-idx3-ubyte\.gz: expected images of shape \(n, 28, 28\), found \(12, 32, 32\)",
        id="wrong-image-dimensions",
    ),
    pytest.param(
        "train-labels-idx1-ubyte.gz", np.zeros((12, 2), np.uint8),
        "1-D array of labels", id="labels-with-two-dimensions",
    ),
    pytest.param(
        "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8),
        r"t10k-labels-idx1-ubyte\.gz: 4 labels but t10k-images-idx3-ubyte\.gz holds 5 images",
        id="label-count-differs-from-image-count",
    ),
    pytest.param(
        "t10k-labels-idx1-ubyte.gz", np.array([0, 0, 0, 12, 0], np.uint8),
        "label 12 at index 3 is outside 0-9", id="label-out-of-range",
    ),
]  # fmt: skip


@pytest.mark.parametrize("file_name, damage, match", BAD_MNIST_FOLDERS)
def test_bad_file_in_the_mnist_folder(tmp_path, file_name, damage, match):
    write_mnist_folder(tmp_path, gz=file_name.endswith(".gz"))
    path = tmp_path / file_name
    if isinstance(damage, np.ndarray):
        data.write_idx(path, damage)
    else:
        path.write_bytes(damage(path.read_bytes()))
    damaged = path.read_bytes()
    with pytest.raises(DataFormatError, match=match):
        data.load_mnist(tmp_path)
    assert path.read_bytes() == damaged  # the reader changed nothing


TWO_IMAGES_IDX = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 28, 28) + bytes(2 * 784)

BAD_IDX_FILES = [
    pytest.param("x-idx3-ubyte", TWO_IMAGES_IDX + b"\x00", "trailing bytes", id="trailing-bytes"),
    pytest.param(
        "x-idx3-ubyte", b"\x89PNG" + bytes(100),
        r"x-idx3-ubyte: not an IDX file \(magic bytes 8950", id="wrong-magic",
    ),
    pytest.param(
        "x-idx1-ubyte", bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 2) + bytes(8),
        r"type 0x0D \(float\) is not supported", id="float-idx-type",
    ),
]  # fmt: skip


@pytest.mark.parametrize("file_name, raw, match", BAD_IDX_FILES)
def test_bad_idx_file(tmp_path, file_name, raw, match):
    path = tmp_path / file_name
    path.write_bytes(raw)
    with pytest.raises(DataFormatError, match=match):
        data.read_idx(path)


@pytest.mark.parametrize(
    "raw, match",
    [
        pytest.param(b"\x00\x00", "too short", id="too-short"),
        pytest.param(bytes([0, 0, 8, 3, 0, 0]), "truncated IDX header", id="truncated-header"),
    ],
)
def test_bad_idx_bytes(raw, match):
    with pytest.raises(DataFormatError, match=match):
        data.parse_idx(raw, source="tiny")


def test_write_idx_rejects_non_uint8(tmp_path):
    with pytest.raises(ValueError, match="dtype=float64"):
        data.write_idx(tmp_path / "x", np.zeros((2, 2)))


# --------------------------------------------------------------------------- Keras fallback


def test_no_folder_falls_back_to_keras(monkeypatch):
    import keras

    fake = make_split(3), make_split(2)
    monkeypatch.delenv(config.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    (x_train, _), (x_test, _) = data.load_mnist()
    assert x_train.shape == (3, 28, 28) and x_test.shape == (2, 28, 28)


def test_offline_without_folder_says_how_to_fix(monkeypatch):
    import keras

    def no_network():
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv(config.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(DataNotFoundError, match="CAE_DATA_DIR") as info:
        data.load_mnist()
    assert "load_mnist(data_dir=" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


# --------------------------------------------------------------------------- CSV


def test_csv_round_trip_with_labels(tmp_path):
    images, labels = make_split(4)
    path = data.save_mnist_csv(tmp_path / "train.csv", images, labels)
    assert path.read_text().splitlines()[0].startswith("label,pixel0,pixel1,")
    back, back_labels = data.load_mnist_csv(path)
    np.testing.assert_array_equal(back, images)
    np.testing.assert_array_equal(back_labels, labels)
    assert back.dtype == back_labels.dtype == np.uint8


def test_csv_without_label_column(tmp_path):
    images, _ = make_split(2)
    back, labels = data.load_mnist_csv(data.save_mnist_csv(tmp_path / "test.csv", images))
    assert labels is None
    np.testing.assert_array_equal(back, images)


def test_csv_pixel_order_is_row_major(tmp_path):
    path = tmp_path / "one.csv"
    row = ["7"] + ["0"] * 784
    row[1 + 28 * 2 + 5] = "200"  # row 2, column 5
    path.write_text("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n" + ",".join(row) + "\n")
    images, labels = data.load_mnist_csv(path)
    assert labels.tolist() == [7] and images[0, 2, 5] == 200 and images.sum() == 200


CSV_HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


def _csv_row(*values: str) -> str:
    """One data row: ``values`` first, then zeros up to 785 columns."""
    return ",".join([*values] + ["0"] * (785 - len(values)))


BAD_CSV_FILES = [
    pytest.param(
        "bad.csv", f"{CSV_HEADER}\n{_csv_row('1')}\n1,2,3\n",
        r"bad\.csv: .*number of columns changed from 785 to 3", id="row-with-wrong-number-of-columns",
    ),
    pytest.param(
        "narrow.csv", "label,a,b\n1,2,3\n",
        r"narrow\.csv: header has 3 columns; expected 785", id="header-too-narrow",
    ),
    pytest.param(
        "x.csv", "digit," + ",".join(f"p{i}" for i in range(784)) + "\n",
        "first column is 'digit'", id="first-column-not-label",
    ),
    *[
        pytest.param(
            "range.csv", f"{CSV_HEADER}\n{_csv_row('1', *['0'] * 9, value)}\n",
            r"range\.csv: value .* in data row 1, column 'pixel9' is not a whole number in 0-255",
            id=f"pixel-value-{value}",
        )
        for value in ["256", "-1", "3.5", "nan"]
    ],
    pytest.param("lab.csv", f"{CSV_HEADER}\n{_csv_row('11')}\n", "label 11 at index 0", id="label-outside-0-9"),
    pytest.param("text.csv", f"{CSV_HEADER}\n{_csv_row('1', 'abc')}\n", r"text\.csv: ", id="non-numeric-value"),
    pytest.param("empty.csv", "", "empty CSV", id="empty-file"),
]  # fmt: skip


@pytest.mark.parametrize("file_name, text, match", BAD_CSV_FILES)
def test_bad_csv_file(tmp_path, file_name, text, match):
    path = tmp_path / file_name
    path.write_text(text)
    with pytest.raises(DataFormatError, match=match):
        data.load_mnist_csv(path)


def test_csv_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"nope\.csv: file not found"):
        data.load_mnist_csv(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- arrays


def test_to_float_and_back():
    images, _ = make_split(3)
    x = data.to_float(images)
    assert x.shape == (3, 28, 28, 1) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x[0, 0, 0, 0] == pytest.approx(images[0, 0, 0] / 255)
    np.testing.assert_array_equal(data.to_uint8(x), images)


@pytest.mark.parametrize(
    "images, error, message",
    [
        (np.full((1, 28, 28), 1.5, np.float32), ValueError, r"float `images` must lie in \[0, 1\].*max=1.5"),
        (np.full((1, 28, 28), np.nan, np.float32), ValueError, r"must lie in \[0, 1\]"),
        (np.zeros((1, 32, 32), np.uint8), ValueError, r"shape=\(1, 32, 32\)"),
        (
            np.zeros((2, 28, 28, 3), np.uint8),
            ValueError,
            r"channel axis of 1. Received: shape=\(2, 28, 28, 3\)",
        ),
        (
            np.zeros((1, 28, 28), np.int16),
            TypeError,
            "uint8 pixels or floats in \\[0, 1\\]. Received: dtype=int16",
        ),
        (np.zeros((1, 28, 28), bool), TypeError, "must hold numbers"),
    ],
    ids=["float above 1", "NaN", "32x32", "three channels", "int16", "bool"],
)
def test_to_float_refuses_what_is_not_a_digit(images, error, message):
    with pytest.raises(error, match=message):
        data.to_float(images)


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1), (3, 28, 28), (3, 28, 28, 1)])
def test_to_float_takes_one_digit_or_a_batch_as_uint8_or_float(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    n = shape[0] if len(shape) > 2 and shape[0] == 3 else 1
    scaled = data.to_float(pixels)
    assert scaled.shape == (n, 28, 28, 1) and scaled.dtype == np.float32
    np.testing.assert_array_equal(scaled.ravel(), pixels.ravel() / np.float32(255))
    np.testing.assert_array_equal(data.to_float(scaled), scaled)  # floats in [0, 1] pass unchanged


def test_fashion_mnist_folder_beside_mnist(tmp_path, monkeypatch):
    write_mnist_folder(tmp_path / "mnist")
    images, labels = make_split(5)
    (tmp_path / "fashion-mnist").mkdir()
    data.write_idx(tmp_path / "fashion-mnist" / "t10k-images-idx3-ubyte.gz", images)
    data.write_idx(tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz", labels)
    for env in (tmp_path, tmp_path / "mnist"):  # the parent or the mnist folder itself
        monkeypatch.setenv(config.DATA_DIR_ENV, str(env))
        x, y = data.load_fashion_mnist_test()
        np.testing.assert_array_equal(x, images)
        np.testing.assert_array_equal(y, labels)


# --------------------------------------------------------------------------- the real data


def test_real_mnist_from_data_dir(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert y_train.shape == (60_000,) and y_test.shape == (10_000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    # Published facts about MNIST: class 1 is the most frequent in training (6,742 images).
    assert np.bincount(y_train).tolist()[1] == 6742
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x_train.max() == 255 and x_train.min() == 0


def test_real_fashion_mnist_from_data_dir(fashion_mnist_test):
    x, y = fashion_mnist_test
    assert x.shape == (10_000, 28, 28)
    assert np.bincount(y).tolist() == [1000] * 10
