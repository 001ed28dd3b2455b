"""Notebook 02's exercises: each solution passes its check, and plausible wrong answers fail with a useful message."""

import numpy as np
import pytest
from conftest import rejects, run_solution

from cae_lib import exercises, models
from cae_lib.exercises import nb02

pytestmark = pytest.mark.usefixtures("strict")

conv2d = nb02._conv2d  # the notebook's conv2d, which the solutions call


@pytest.fixture(scope="module")
def digit(fake_digits):
    return fake_digits(1, seed=3)[0].astype(np.float32) / 255


def test_ex1_padded_conv(digit, capsys):
    kernel = np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)
    ns = run_solution("02_convolutional_filters_ex1", digit=digit, kernel=kernel, conv2d=conv2d)
    nb02.padded_conv(ns["conv2d_padded"], digit)
    assert "✓ Exercise 02_convolutional_filters_ex1" in capsys.readouterr().out

    def flipped(image, kernel, stride=1, pad=0):
        return conv2d(np.pad(image, pad), kernel[::-1, ::-1], stride)

    def unpadded(image, kernel, stride=1, pad=0):
        return conv2d(image, kernel, stride)

    def edge(image, kernel, stride=1, pad=0):
        return conv2d(np.pad(image, pad, mode="edge"), kernel, stride)

    def same_for_stride_2(image, kernel, stride=1, pad=0):
        return conv2d(np.pad(image, [(pad - 1 if stride == 2 else pad, pad)] * 2), kernel, stride)

    rejects(nb02.padded_conv, flipped, digit, match="kernel flipped")
    rejects(nb02.padded_conv, unpadded, digit, match="did you pad the image")
    rejects(nb02.padded_conv, edge, digit, match="pad with zeros")
    rejects(nb02.padded_conv, same_for_stride_2, digit, match="pads 0 rows above and 1")

    def ignores_stride(image, kernel, stride=1, pad=0):
        return conv2d(np.pad(image, pad), kernel)

    def one_side(image, kernel, stride=1, pad=0):
        return conv2d(np.pad(image, [(pad, 0), (pad, 0)]), kernel, stride)

    def transposed_output(image, kernel, stride=1, pad=0):
        return conv2d(np.pad(image, pad), kernel, stride).T

    def transposed_kernel(image, kernel, stride=1, pad=0):
        return conv2d(np.pad(image, pad), kernel.T, stride)

    def padded_with_ones(image, kernel, stride=1, pad=0):  # "white" padding: the digit's background is 0
        return conv2d(np.pad(image, pad, constant_values=1), kernel, stride)

    rejects(nb02.padded_conv, ignores_stride, digit, match="pass the stride on")
    rejects(nb02.padded_conv, one_side, digit, match="padded on one side only")
    rejects(nb02.padded_conv, transposed_output, digit, match="your output is transposed")
    rejects(nb02.padded_conv, transposed_kernel, digit, match="transposed kernel")
    rejects(nb02.padded_conv, padded_with_ones, digit, match="differs along the border")

    def windows_offset(image, kernel, stride=1, pad=0):  # the learner review: stride applied from index 1
        return conv2d(np.pad(image, pad), kernel, 1)[stride - 1 :: stride, stride - 1 :: stride]

    def normalised_kernel(image, kernel, stride=1, pad=0):
        return conv2d(np.pad(image, pad), kernel / np.abs(kernel).sum(), stride)

    def relu_after(image, kernel, stride=1, pad=0):
        return np.maximum(conv2d(np.pad(image, pad), kernel, stride), 0)

    rejects(nb02.padded_conv, windows_offset, digit, match="windows start at row and column 1")
    rejects(nb02.padded_conv, normalised_kernel, digit, match="not normalised or scaled")
    rejects(nb02.padded_conv, relu_after, digit, match="clipped at 0")


def test_ex2_horizontal_detector(mnist, capsys):
    _, (x_test, _) = mnist
    ns = run_solution("02_convolutional_filters_ex2", x_test=x_test, conv2d=conv2d)
    nb02.horizontal_detector(ns["horizontal"], x_test)
    assert "✓ Exercise 02_convolutional_filters_ex2" in capsys.readouterr().out
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    # No negative rows: a vertical bar lights it up too.
    middle_row = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]])
    rejects(nb02.horizontal_detector, ns["horizontal"].T, x_test, match="vertical detector")
    rejects(nb02.horizontal_detector, sobel_x, x_test, match="vertical detector")
    rejects(nb02.horizontal_detector, middle_row, x_test, match="each column of the kernel sum to zero")
    rejects(nb02.horizontal_detector, np.full((3, 3), 1 / 9), x_test, match="almost as strongly")
    rejects(nb02.horizontal_detector, np.ones((5, 5)), x_test, match="3 x 3")
    dark_line = -ns["horizontal"]  # the signs flipped: [[1, 1, 1], [-2, -2, -2], [1, 1, 1]]
    rejects(
        nb02.horizontal_detector, dark_line, x_test, match="dark line between bright ones; flip the signs"
    )
    sobel_y = sobel_x.T
    rejects(nb02.horizontal_detector, sobel_y, x_test, match="a stroke's edges")
    off_by_a_row = np.array([[2, 2, 2], [-1, -1, -1], [0, 0, 0]], np.float32)
    rejects(nb02.horizontal_detector, off_by_a_row, x_test, match="symmetric top to bottom")
    for one_sided in ([[-2, -2, -2], [2, 2, 2], [0, 0, 0]], [[-1, -1, -1], [1, 1, 1], [0, 0, 0]],
                      [[-1, -1, -1], [2, 2, 2], [0, 0, 0]], [[0, 0, 0], [2, 2, 2], [-2, -2, -2]]):  # fmt: skip
        # The learner review: a one-sided edge kernel passed (6 on the bar's top row, 0 on its second)
        rejects(
            nb02.horizontal_detector, np.array(one_sided, np.float32), x_test, match="one edge of the stroke"
        )
    # Not balanced: a flat bright area answers 3 (the learner review's [[-1]*3, [3]*3, [-1]*3]).
    unbalanced = np.array([[-1, -1, -1], [3, 3, 3], [-1, -1, -1]], np.float32)
    rejects(nb02.horizontal_detector, unbalanced, x_test, match="weights sum to 3.00")
    # The second review: [[-1]*3, [1]*3, [-1]*3] was told to "give positive weights where the stroke lies".
    outweighed = np.array([[-1, -1, -1], [1, 1, 1], [-1, -1, -1]], np.float32)
    rejects(
        nb02.horizontal_detector,
        outweighed,
        x_test,
        match="weights sum to -3.00, so the negative rows outweigh",
    )
    rejects(nb02.horizontal_detector, [["-1"] * 3, ["2"] * 3, ["-1"] * 3], x_test, match="not text")


@pytest.fixture(scope="module")
def encoder():
    return models.build_encoder(28)  # same layer shapes as the shipped encoder; weights do not matter here


def test_ex3_multiplications(encoder, capsys):
    ns = run_solution("02_convolutional_filters_ex3", conv2d=conv2d)
    nb02.multiplications(ns["multiplications"], encoder)
    out = capsys.readouterr().out
    assert "✓ Exercise 02_convolutional_filters_ex3" in out and "conv1 28,224 vs 2,458,624" in out

    def no_in_channels(layer):
        if len(layer.kernel.shape) == 2:
            return ns["multiplications"](layer)
        k, _, _, filters = layer.kernel.shape
        return layer.output.shape[1] * layer.output.shape[2] * filters * k * k

    def input_positions(layer):
        if len(layer.kernel.shape) == 2:
            return ns["multiplications"](layer)
        k, _, c, filters = layer.kernel.shape
        return layer.input.shape[1] * layer.input.shape[2] * filters * k * k * c

    rejects(nb02.multiplications, no_in_channels, encoder, match="left out the input channels")
    rejects(nb02.multiplications, input_positions, encoder, match="4 times fewer output positions")
    rejects(
        nb02.multiplications,
        lambda layer: int(np.prod(layer.kernel.shape)),
        encoder,
        match="number of weights",
    )
    # The parameters (weights and biases) instead of the multiplications.
    rejects(nb02.multiplications, lambda layer: layer.count_params(), encoder, match="number of weights")

    def millions(layer):
        return ns["multiplications"](layer) / 1e6

    def half_open(layer):  # a float that int() would truncate to the right count
        return ns["multiplications"](layer) + 0.5

    def as_text(layer):
        return f"{ns['multiplications'](layer)}"

    def dense_with_biases(layer):
        n_in, n_out = layer.kernel.shape[0], layer.kernel.shape[-1]
        return ns["multiplications"](layer) if len(layer.kernel.shape) == 4 else (n_in + 1) * n_out

    rejects(nb02.multiplications, millions, encoder, match="not millions")
    rejects(nb02.multiplications, half_open, encoder, match="not a whole number")
    rejects(nb02.multiplications, as_text, encoder, match="should return a whole number")
    rejects(nb02.multiplications, dense_with_biases, encoder, match="layer dense1: .* Dense layer multiplies")

    def three_by_three(layer):  # k taken as 3 whatever the kernel: right on the encoder, wrong on a 5 x 5
        if len(layer.kernel.shape) == 2:
            return ns["multiplications"](layer)
        _, _, c, filters = layer.kernel.shape
        return layer.output.shape[1] * layer.output.shape[2] * filters * 9 * c

    rejects(nb02.multiplications, three_by_three, encoder, match="conv_5x5: .* not 3")


def test_ex4_max_pooling(digit, capsys):
    ns = run_solution("02_convolutional_filters_ex4", conv2d=conv2d)
    nb02.max_pooling(ns["max_pool_2x2"], digit)
    assert "✓ Exercise 02_convolutional_filters_ex4" in capsys.readouterr().out

    def average(image):
        h, w = image.shape[0] // 2, image.shape[1] // 2
        return image[: 2 * h, : 2 * w].reshape(h, 2, w, 2).mean(axis=(1, 3))

    def wrong_reshape(image):  # splits rows into two halves instead of pairs of neighbours
        h, w = image.shape[0] // 2, image.shape[1] // 2
        return image[: 2 * h, : 2 * w].reshape(2, h, 2, w).max(axis=(0, 2))

    def stride_1(image):
        return np.lib.stride_tricks.sliding_window_view(image, (2, 2)).max(axis=(2, 3))

    def ceil_size(image):
        padded = np.pad(image, [(0, image.shape[0] % 2), (0, image.shape[1] % 2)], constant_values=-np.inf)
        return ns["max_pool_2x2"](padded)

    def magnitude(image):
        return ns["max_pool_2x2"](np.abs(image))

    rejects(nb02.max_pooling, average, digit, match="average pooling")
    rejects(nb02.max_pooling, wrong_reshape, digit, match=r"image\[2i:2i\+2, 2j:2j\+2\]")
    rejects(nb02.max_pooling, stride_1, digit, match="moved by 1 pixel")
    rejects(nb02.max_pooling, ceil_size, digit, match="drops the last row")
    rejects(nb02.max_pooling, magnitude, digit, match="largest \\*magnitude\\*")

    def transposed(image):
        return ns["max_pool_2x2"](image).T

    def min_pooling(image):
        return -ns["max_pool_2x2"](-image)

    rejects(nb02.max_pooling, transposed, digit, match="transposed")
    rejects(nb02.max_pooling, min_pooling, digit, match="differs from MaxPooling2D's")


def test_unanswered_stubs_fall_back_and_go_on(digit, monkeypatch, capsys):
    monkeypatch.delenv(exercises.STRICT_ENV)

    def stub(image): ...

    pooled = nb02.max_pooling(stub, digit)
    assert "○ Exercise 02_convolutional_filters_ex4" in capsys.readouterr().out
    assert pooled(digit).shape == (14, 14)
