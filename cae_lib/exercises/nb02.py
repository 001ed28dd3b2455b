"""Checks of notebook 02 (Convolutional filters): padding by hand, a stroke detector, multiplications, pooling.

Each check takes the learner's answer and the notebook's data, and says
precisely what is wrong (see :mod:`cae_lib.exercises`).
"""

from __future__ import annotations

import numpy as np

from . import Wrong, call, exercise

__all__ = ["padded_conv", "horizontal_detector", "multiplications", "max_pooling"]


def _conv2d(image: np.ndarray, kernel: np.ndarray, stride: int = 1) -> np.ndarray:
    """'Valid' cross-correlation of a 2-D image, as notebook 02 writes it (vectorised)."""
    kh, kw = kernel.shape
    windows = np.lib.stride_tricks.sliding_window_view(image, (kh, kw))[::stride, ::stride]
    return np.einsum("ijkl,kl->ij", windows, kernel).astype(np.float32)


def _tf_conv(image: np.ndarray, kernel: np.ndarray, stride: int, padding) -> np.ndarray:
    from .._tf import tf

    out = tf.nn.conv2d(
        image[None, :, :, None].astype(np.float32),
        kernel[:, :, None, None].astype(np.float32),
        strides=stride,
        padding=padding,
    )
    return out.numpy()[0, :, :, 0]


@exercise("02_convolutional_filters_ex1", "zero padding in conv2d")
def padded_conv(answer, digit) -> str:
    """Check ``conv2d_padded(image, kernel, stride=1, pad=0)`` against ``tf.nn.conv2d`` on a digit."""
    if not callable(answer):
        raise Wrong(f"expected a function conv2d_padded(image, kernel, stride, pad). Received: {answer!r}")
    digit = np.asarray(digit, np.float32)
    rng = np.random.default_rng(1)
    bright_border = rng.uniform(size=(12, 12)).astype(np.float32)  # MNIST's borders are black
    stride_2 = [[0, 0], [1, 1], [1, 1], [0, 0]]  # one zero row and column on every side
    cases = [  # (image, kernel size, stride, pad, TensorFlow's padding, in words)
        (digit, 3, 1, 1, "SAME", "pad=1, 3 x 3 kernel, stride 1 (TensorFlow's 'SAME')"),
        (bright_border, 3, 1, 1, "SAME", "pad=1 on a 12 x 12 map with a bright border"),
        (digit, 3, 1, 0, "VALID", "pad=0 (no padding, TensorFlow's 'VALID')"),
        (digit, 5, 1, 2, "SAME", "pad=2, 5 x 5 kernel, stride 1 (TensorFlow's 'SAME')"),
        (digit, 3, 2, 1, stride_2, "pad=1, stride 2 (one zero row and column on every side)"),
    ]
    for image, k, stride, pad, padding, words in cases:
        kernel = rng.normal(size=(k, k)).astype(np.float32)  # no symmetry: a flipped kernel shows
        expected = _tf_conv(image, kernel, stride, padding)
        found = np.asarray(call(answer, image, kernel, stride, pad, what=words), dtype=np.float32)
        if found.shape != expected.shape:
            side = image.shape[0]
            if found.shape[0] == (side - k) // stride + 1:
                hint = f"the unpadded size: did you pad the image with np.pad(image, {pad})?"
            elif stride > 1 and found.shape[0] == side + 2 * pad - k + 1:
                hint = f"the size for stride 1: pass the stride on to conv2d(padded, kernel, stride={stride})"
            elif found.shape[0] == (side + pad - k) // stride + 1:
                hint = (
                    f"padded on one side only: np.pad(image, {pad}) adds {pad} rows and columns on every side"
                )
            else:
                hint = f"expected (n + 2 * pad - k) // stride + 1 = {expected.shape[0]} rows and columns"
            raise Wrong(
                f"with {words} your output has shape {found.shape}, TensorFlow's {expected.shape}: {hint}"
            )
        if np.allclose(found, expected, atol=1e-4):
            continue
        padded = np.pad(image, pad)
        if np.allclose(found, _conv2d(padded, kernel[::-1, ::-1], stride), atol=1e-4):
            raise Wrong(
                f"with {words} your output is a true convolution (kernel flipped): deep-learning "
                f"layers slide the kernel unflipped, np.sum(patch * kernel)"
            )
        if np.allclose(found, expected.T, atol=1e-4):
            raise Wrong(
                f"with {words} your output is transposed (rows and columns swapped): output[i, j] is the "
                f"window whose top-left corner is padded[i * stride, j * stride]"
            )
        if np.allclose(found, _conv2d(padded, kernel.T, stride), atol=1e-4):
            raise Wrong(
                f"with {words} your output is what the transposed kernel gives: kernel[a, b] multiplies "
                f"the pixel a rows down and b columns right in each window"
            )
        if pad and np.allclose(found, _conv2d(np.pad(image, pad, mode="edge"), kernel, stride), atol=1e-4):
            raise Wrong(
                f"with {words} your border values differ: pad with zeros (np.pad's default), not the edge"
            )
        inside = (slice(pad, -pad), slice(pad, -pad))
        if pad and min(expected.shape) > 2 * pad and np.allclose(found[inside], expected[inside], atol=1e-4):
            raise Wrong(
                f"with {words} your output is right inside but differs along the border, where the "
                f"window overlaps the padding: pad with zeros, np.pad(image, {pad}) (np.pad's default)"
            )
        stride_1 = _conv2d(padded, kernel, 1)
        if stride > 1 and np.allclose(found, stride_1[stride - 1 :: stride, stride - 1 :: stride], atol=1e-4):
            # The same numbers as TensorFlow's 'SAME' for stride 2, which pads 0 rows above and 1 below.
            raise Wrong(
                f"with {words} your windows start at row and column {stride - 1} of the padded image (what "
                f"TensorFlow's 'SAME' gives: for stride 2 it pads 0 rows above and 1 below): with {pad} zero rows "
                f"and columns on every side, the first window's top-left corner is padded[0, 0] and output[i, j] "
                f"starts at padded[i * stride, j * stride]"
            )
        if expected.min() < -1e-3 and np.allclose(found, np.maximum(expected, 0), atol=1e-4):
            raise Wrong(
                f"with {words} your output has no negative values where TensorFlow's has: it is clipped at 0 "
                f"(a ReLU, or an unsigned dtype); conv2d returns the raw weighted sums"
            )
        if np.all(found == np.round(found)) and np.abs(found - expected).max() < 1:
            raise Wrong(
                f"with {words} your output holds whole numbers, TensorFlow's fractions: keep float32, "
                f"do not round or cast to an integer type"
            )
        factor = float((found * expected).sum() / max(float((expected * expected).sum()), 1e-12))
        if abs(factor - 1) > 1e-3 and np.allclose(found, factor * expected, atol=1e-4):
            raise Wrong(
                f"with {words} your output is TensorFlow's times {factor:.3g}: use the kernel as it is "
                f"(not normalised or scaled), np.sum(patch * kernel)"
            )
        worst = np.unravel_index(np.abs(found - expected).argmax(), expected.shape)
        raise Wrong(
            f"with {words} your output differs from TensorFlow's by up to "
            f"{np.abs(found - expected).max():.3g} (at row {worst[0]}, column {worst[1]})"
        )
    return "matches tf.nn.conv2d for 'SAME' (3 x 3 and 5 x 5 kernels), 'VALID', and pad=1 with stride 2"


def _bars(thickness: int = 2):
    # Across the whole image: a bar with ends would add edges of the other orientation.
    horizontal = np.zeros((28, 28), np.float32)
    horizontal[13 : 13 + thickness, :] = 1.0
    return horizontal, horizontal.T.copy()


@exercise("02_convolutional_filters_ex2", "a horizontal stroke detector")
def horizontal_detector(answer, x_test) -> str:
    """Check a 3 x 3 kernel: its largest response to a horizontal bar is at least twice that to a vertical one.

    And across a bright horizontal stroke (1 and 2 pixels thick) it answers
    most on the stroke itself: not a dark-line detector (signs flipped), not
    an edge detector (Sobel-y) nor a kernel off by a row.
    """
    if np.asarray(answer).dtype.kind in "USO":
        raise Wrong(
            f"the kernel should hold numbers, not text or objects. Received: {np.asarray(answer).dtype}"
        )
    kernel = np.asarray(answer, dtype=np.float32)
    if kernel.shape != (3, 3):
        raise Wrong(f"the kernel should be 3 x 3. Received: shape {kernel.shape}")
    if not np.all(np.isfinite(kernel)):
        raise Wrong("the kernel holds NaN or infinite values")
    across, down = _bars()
    r_across, r_down = _conv2d(across, kernel).max(), _conv2d(down, kernel).max()
    if r_down > max(r_across, 1e-6):
        raise Wrong(
            f"largest response to a horizontal bar {r_across:.2f}, to a vertical bar {r_down:.2f}: "
            f"it prefers vertical strokes, a vertical detector (transpose it)"
        )
    if r_across <= 1e-6 and kernel[1].sum() > 0 and kernel.sum() < 0:
        raise Wrong(
            f"its largest response to a horizontal bar is {r_across:.2f}: its weights sum to {kernel.sum():.2f}, so "
            "the negative rows outweigh the bright middle row; make the middle row as strong as the rows above and "
            "below together (the weights summing to zero)"
        )
    if r_across <= 1e-6:
        raise Wrong(
            f"its largest response to a horizontal bar (2 pixels thick) is {r_across:.2f}: "
            f"give positive weights where a bright horizontal stroke lies, negative ones around it"
        )
    if r_across < 2 * max(r_down, 0.0):
        raise Wrong(
            f"largest response to a horizontal bar {r_across:.2f}, to a vertical bar {r_down:.2f} "
            f"(should be at most half): it answers almost as strongly to vertical strokes: make each column "
            f"of the kernel sum to zero, so a vertical stroke (the same in every row) cancels out"
        )
    for thickness in (1, 2):  # the response across a bright stroke: highest on the stroke itself
        profile = _conv2d(_bars(thickness)[0], kernel)[:, 13]  # output row r is centred on input row r + 1
        on = profile[12 : 12 + thickness]
        beside = np.delete(profile, np.arange(12, 12 + thickness))
        if on.max() < 0 < beside.max() and np.allclose(kernel, kernel[::-1]):
            raise Wrong(
                f"on a bright horizontal stroke {thickness} pixel(s) thick it answers {on.mean():.2f} and "
                f"{beside.max():.2f} beside it: it detects a dark line between bright ones; flip the signs "
                "(positive where the stroke lies, negative around it)"
            )
        if on.mean() <= beside.max():
            raise Wrong(
                f"across a bright horizontal stroke {thickness} pixel(s) thick it answers {beside.max():.2f} beside "
                f"the stroke and {on.mean():.2f} on it: it finds a stroke's edges (like Sobel), not the stroke; "
                "make it symmetric top to bottom: positive in the middle row, negative above and below"
            )
        if thickness == 2 and abs(on[0] - on[1]) > 0.25 * on.max():
            raise Wrong(
                f"on a bright horizontal stroke 2 pixels thick it answers {on[0]:.2f} on the stroke's top row and "
                f"{on[1]:.2f} on its bottom row: it leans to one edge of the stroke, not the stroke itself; make it "
                "symmetric top to bottom: positive in the middle row, the same negative weights above and below"
            )
    flat = float(
        kernel.sum()
    )  # its answer inside any flat bright area: a filled blob, a thick stroke's middle
    if flat > 0.25 * r_across:
        raise Wrong(
            f"on a flat bright area it answers {flat:.2f} (its weights sum to {flat:.2f}), against {r_across:.2f} "
            f"on a horizontal stroke: every blob of ink lights up too; make the weights sum to zero (as much "
            f"negative above and below as positive in the middle row)"
        )
    seven, one = (x_test[i].astype(np.float32) / 255 for i in (0, 2))
    r7, r1 = _conv2d(seven, kernel).max(), _conv2d(one, kernel).max()
    weaker = "" if r_down <= 1e-6 else f" ({r_across / r_down:.1f} times weaker)"
    return (
        f"a horizontal bar gives {r_across:.2f}, a vertical one {r_down:.2f}{weaker}; "
        f"on real digits: the 7 {r7:.2f}, the 1 {r1:.2f}"
    )


def _reference_multiplications(layer) -> int:
    kernel = tuple(int(v) for v in layer.kernel.shape)
    if len(kernel) == 4:  # Conv2D: one product per weight of the k x k x in_channels window, per output value
        out_h, out_w, filters = (int(v) for v in layer.output.shape[1:])
        return out_h * out_w * filters * kernel[0] * kernel[1] * kernel[2]
    return kernel[0] * kernel[1]  # Dense: every input times every output


@exercise("02_convolutional_filters_ex3", "multiplications of a layer")
def multiplications(answer, encoder) -> str:
    """Check ``multiplications(layer)`` on the encoder's conv and dense layers and a wide dense layer."""
    from .._tf import keras

    if not callable(answer):
        raise Wrong(f"expected a function layer -> number of multiplications. Received: {answer!r}")
    wide = keras.Sequential([keras.Input((784,)), keras.layers.Dense(14 * 14 * 16, name="dense_784_to_3136")])
    # A 5 x 5 kernel, stride 1, 4 channels in and 6 out: a count that assumes 3 x 3, stride 2 or in == out shows.
    five = keras.Sequential(
        [keras.Input((14, 14, 4)), keras.layers.Conv2D(6, 5, padding="same", name="conv_5x5")]
    )
    layers = [encoder.get_layer(name) for name in ("conv1", "conv2", "conv3", "dense1", "latent")] + [
        five.layers[0],
        wide.layers[0],
    ]
    for layer in layers:
        expected = _reference_multiplications(layer)
        found = call(answer, layer, what=f"layer {layer.name}")
        received = found
        try:
            if isinstance(found, (str, bytes, bool)) or np.ndim(found) != 0:
                raise TypeError
            value = float(found)
        except (TypeError, ValueError):
            raise Wrong(
                f"your function should return a whole number. Received: {received!r} for layer {layer.name}"
            ) from None
        if not np.isfinite(value) or value != round(value):
            millions = abs(value * 1e6 - expected) < 1
            raise Wrong(
                f"layer {layer.name}: your function returns {value!r}, not a whole number: "
                + ("count every multiplication, not millions of them" if millions
                   else "a count of multiplications is an int (no division, no averaging)")
            )  # fmt: skip
        found = int(value)
        if found == expected:
            continue
        words = f"layer {layer.name}: yours {found:,}, expected {expected:,}"
        if len(layer.kernel.shape) == 2:
            raise Wrong(
                f"{words}: a Dense layer multiplies each of its inputs by each of its outputs' weights"
            )
        k, _, in_channels, filters = (int(v) for v in layer.kernel.shape)
        in_h = int(layer.input.shape[1])
        out_h = int(layer.output.shape[1])
        if found == int(layer.count_params()) or found == k * k * in_channels * filters:
            hint = (
                "that is the number of weights: each is used once per output position, "
                "so multiply by the output's height x width"
            )
        elif in_channels > 1 and found * in_channels == expected:
            hint = "each output value sums over k x k x in_channels products: you left out the input channels"
        elif found == expected * (in_h * in_h) // (out_h * out_h):
            hint = "you counted the input's positions; with stride 2 there are 4 times fewer output positions"
        elif found * filters == expected:
            hint = "every filter has its own output map: multiply by the number of filters"
        elif found * k * k == expected:
            hint = "each output value needs one product per kernel weight (k x k of them per input channel)"
        elif k != 3 and found * k * k == expected * 9:
            hint = f"this kernel is {k} x {k}: take k from layer.kernel.shape, not 3"
        else:
            hint = "output height x width x filters x (k x k x in_channels)"
        raise Wrong(f"{words}: {hint}")
    conv1, dense = (_reference_multiplications(layer) for layer in (layers[0], layers[-1]))
    return (
        f"right for conv1, conv2, conv3, dense1, latent, a 5 x 5 conv and a 784 -> 3,136 dense layer "
        f"(conv1 {conv1:,} vs {dense:,}: {dense / conv1:.0f} times fewer)"
    )


def _max_pool_keras(image: np.ndarray) -> np.ndarray:
    from .._tf import keras

    pooled = keras.layers.MaxPooling2D(2)(np.asarray(image, np.float32)[None, :, :, None])
    return np.asarray(pooled)[0, :, :, 0]


def _max_pool_reference():
    return _max_pool_keras


@exercise("02_convolutional_filters_ex4", "2 x 2 max pooling in NumPy", fallback=_max_pool_reference)
def max_pooling(answer, digit) -> str:
    """Check ``max_pool_2x2(image)`` against ``keras.layers.MaxPooling2D(2)`` on a digit and odd-sized maps."""
    if not callable(answer):
        raise Wrong(f"expected a function image -> pooled image. Received: {answer!r}")
    digit = np.asarray(digit, np.float32)
    rng = np.random.default_rng(2)
    cases = [
        ("the digit (28 x 28)", digit),
        ("a 7 x 7 feature map", rng.normal(size=(7, 7)).astype(np.float32)),
        (
            "a 26 x 26 Sobel response (negative values too)",
            _conv2d(digit, np.array([[-1, 0, 1]] * 3, np.float32)),
        ),
    ]
    for words, image in cases:
        expected = _max_pool_keras(image)
        found = np.asarray(call(answer, image, what=words), dtype=np.float32)
        if found.shape != expected.shape:
            h, w = image.shape
            if found.shape == (h - 1, w - 1):
                hint = "that is a 2 x 2 window moved by 1 pixel: pooling moves it by 2 (stride 2)"
            elif found.shape == (-(-h // 2), -(-w // 2)):
                hint = "Keras' default padding='valid' drops the last row and column of an odd-sized image"
            else:
                hint = "2 x 2 windows side by side give height // 2 x width // 2"
            raise Wrong(
                f"on {words} your output has shape {found.shape}; MaxPooling2D gives {expected.shape}: {hint}"
            )
        if np.allclose(found, expected, atol=1e-6):
            continue
        h, w = expected.shape
        blocks = image[: 2 * h, : 2 * w].reshape(h, 2, w, 2)
        if np.allclose(found, blocks.mean(axis=(1, 3)), atol=1e-5):
            hint = "that is average pooling: keep the largest value of each block"
        elif np.allclose(found, blocks.max(axis=(1, 3)).T, atol=1e-6):
            hint = "your output is transposed"
        elif np.allclose(found, np.abs(blocks).max(axis=(1, 3)), atol=1e-6):
            hint = "you kept the largest *magnitude*; max pooling keeps the largest value, negative or not"
        else:
            hint = "each output pixel is the maximum of the 2 x 2 block image[2i:2i+2, 2j:2j+2]"
        raise Wrong(f"on {words} your output differs from MaxPooling2D's: {hint}")
    return (
        "equal to keras.layers.MaxPooling2D(2) on a digit, a 7 x 7 map and a 26 x 26 map with negative values"
    )
