"""Pixels in every form the course meets, checked in one place.

Digits arrive as one image ``(28, 28)`` or a batch ``(n, 28, 28)``, with or
without a channel axis, as uint8 pixels (0-255) or floats in [0, 1].
:func:`image_batch` checks any of these and returns a batch with a channel
axis; :func:`to_float` and :func:`to_uint8` convert between the two pixel
forms. The codec, the metrics, the training helpers and the image reader
all go through :func:`image_batch`, so they accept and refuse the same
inputs with the same messages.
"""

from __future__ import annotations

import numpy as np

IMAGE_SIZE = 28
"""Height and width of an MNIST digit in pixels."""
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
"""Shape of one digit as the models see it (height, width, channels)."""


def image_batch(images, *, name: str = "images", size=(IMAGE_SIZE, IMAGE_SIZE), channels=(1,),
                unit_range: bool = True) -> np.ndarray:  # fmt: skip
    """Check one image or a batch and return it as a batch ``(n, height, width, channels)``.

    The pixels are not converted (the dtype stays); the result is a view
    of the input where no copy is needed.

    Args:
        images: ``(H, W)``, ``(H, W, C)``, ``(n, H, W)`` or ``(n, H, W, C)``.
        name: What to call the argument in error messages.
        size: The required ``(H, W)``, or None for any size.
        channels: The allowed numbers of channels.
        unit_range: Require uint8 pixels or floats in [0, 1] (True), or
            allow any real numbers (False, for metrics with a ``data_range``).

    Returns:
        A 4-D array.

    Raises:
        TypeError: The array does not hold numbers (or, with ``unit_range``,
            neither uint8 nor floats).
        ValueError: A shape that is not an image or batch of the required
            size, or floats outside [0, 1] with ``unit_range``.

    Example:
        >>> import numpy as np
        >>> image_batch(np.zeros((28, 28), np.uint8)).shape
        (1, 28, 28, 1)
        >>> image_batch(np.zeros((5, 28, 28), np.float32)).shape
        (5, 28, 28, 1)
    """
    arr = np.asarray(images)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"`{name}` must hold numbers. Received: dtype={arr.dtype}")
    if unit_range and arr.dtype != np.uint8 and not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"`{name}` must be uint8 pixels or floats in [0, 1]. Received: dtype={arr.dtype}")
    if arr.ndim == 3 and (arr.shape[1:] == tuple(size) if size else arr.shape[-1] not in channels):
        arr = arr[..., np.newaxis]  # a batch without channel axis
    elif arr.ndim == 2:
        arr = arr[np.newaxis, ..., np.newaxis]
    elif arr.ndim == 3:
        arr = arr[np.newaxis]  # one image with a channel axis
    shape_ok = arr.ndim == 4 and arr.shape[-1] in channels and (not size or arr.shape[1:3] == tuple(size))
    if not shape_ok:
        h, w = size if size else ("H", "W")
        raise ValueError(
            f"`{name}` must be one image ({h}, {w}) or a batch ({h}, {w}) preceded by n, with or without "
            f"a channel axis of {' or '.join(map(str, channels))}. Received: shape={np.shape(images)}"
        )
    if unit_range and arr.dtype != np.uint8 and arr.size:
        low, high = arr.min(), arr.max()
        if not (np.isfinite(low) and np.isfinite(high) and 0 <= low and high <= 1):
            raise ValueError(
                f"float `{name}` must lie in [0, 1] (uint8 pixels are scaled automatically). "
                f"Received: min={low}, max={high}"
            )
    return arr


def to_float(images, *, name: str = "images") -> np.ndarray:
    """Digits as the models take them: float32 ``(n, 28, 28, 1)`` in [0, 1].

    uint8 pixels are scaled (``x / 255``); floats in [0, 1] are kept.

    Raises:
        TypeError, ValueError: As for :func:`image_batch`.

    Example:
        >>> import numpy as np
        >>> from cae_lib.data import to_float
        >>> x = to_float(np.full((2, 28, 28), 255, dtype=np.uint8))
        >>> x.shape, x.dtype, float(x.max())
        ((2, 28, 28, 1), dtype('float32'), 1.0)
    """
    batch = image_batch(images, name=name)
    if batch.dtype == np.uint8:
        return batch.astype(np.float32) / np.float32(255.0)
    return batch.astype(np.float32, copy=False)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Turn float images in [0, 1] (any trailing channel axis of size 1) back to uint8 pixels.

    Values are rounded to the nearest pixel value and clipped to 0-255.

    Example:
        >>> import numpy as np
        >>> from cae_lib.data import to_float, to_uint8
        >>> to_uint8(np.array([0.0, 0.5, 1.0]))
        array([  0, 128, 255], dtype=uint8)
        >>> digits = np.arange(2 * 28 * 28).reshape(2, 28, 28).astype(np.uint8)
        >>> np.array_equal(to_uint8(to_float(digits)), digits)
        True
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim >= 3 and images.shape[-1] == 1:
        images = images[..., 0]
    return np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
