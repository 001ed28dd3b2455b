"""Image quality metrics: PSNR and SSIM, per image and averaged.

Thin, checked wrappers around ``tf.image.psnr`` and ``tf.image.ssim``: they
accept a single image or a batch, with or without a channel axis, as uint8 or
float, and always need the data range said out loud (1.0 for images scaled to
[0, 1], 255 for uint8 pixels) because a wrong range silently shifts PSNR by
48 dB.

Mean PSNR here is the mean of the per-image PSNRs (the convention of the
learned-compression literature), not the PSNR of the mean squared error.
"""

from __future__ import annotations

import numpy as np

from ._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

import tensorflow as tf


def _as_batch(images, name: str) -> np.ndarray:
    arr = np.asarray(images)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"`{name}` must hold numbers. Received: dtype={arr.dtype}")
    if arr.ndim == 2:  # one image, no channel axis
        arr = arr[np.newaxis, ..., np.newaxis]
    elif arr.ndim == 3 and arr.shape[-1] in (1, 3):  # one image with a channel axis (H, W, C)
        arr = arr[np.newaxis]
    elif arr.ndim == 3:  # a batch without channel axis
        arr = arr[..., np.newaxis]
    elif arr.ndim != 4:
        raise ValueError(
            f"`{name}` must be (H, W), (H, W, C), (N, H, W) or (N, H, W, C). Received: shape={arr.shape}"
        )
    return arr.astype(np.float32)


def _pair(image_true, image_test):
    a = _as_batch(image_true, "image_true")
    b = _as_batch(image_test, "image_test")
    if a.shape != b.shape:
        raise ValueError(
            "`image_true` and `image_test` must have the same shape. "
            f"Received: {np.shape(image_true)} and {np.shape(image_test)}"
        )
    return a, b


def _check_range(data_range) -> float:
    if not np.isscalar(data_range) or not data_range > 0:
        raise ValueError(f"`data_range` must be a positive number. Received: data_range={data_range!r}")
    return float(data_range)


CHUNK = 1000
"""Images per TensorFlow call: 10,000 digits at once would hold hundreds of MB of intermediates."""


def _in_chunks(function, a: np.ndarray, b: np.ndarray, max_val: float) -> np.ndarray:
    if len(a) <= CHUNK:
        return function(a, b, max_val=max_val).numpy()
    return np.concatenate(
        [
            function(a[i : i + CHUNK], b[i : i + CHUNK], max_val=max_val).numpy()
            for i in range(0, len(a), CHUNK)
        ]
    )


def psnr(image_true, image_test, *, data_range: float) -> np.ndarray:
    """Peak signal-to-noise ratio of each image, in decibels.

    ``PSNR = 10 * log10(data_range**2 / MSE)`` computed per image by
    ``tf.image.psnr``.

    Parameters
    ----------
    image_true, image_test : array_like
        One image ``(H, W)`` / ``(H, W, C)`` with C = 1 or 3, or a batch
        ``(N, H, W)`` / ``(N, H, W, C)``.
    data_range : float
        Distance between the smallest and largest possible pixel value:
        1.0 for images in [0, 1], 255 for uint8.

    Returns
    -------
    numpy.ndarray
        float array of shape ``(N,)`` (``(1,)`` for one image). Identical
        images give ``inf``.
    """
    a, b = _pair(image_true, image_test)
    return _in_chunks(tf.image.psnr, a, b, _check_range(data_range))


def ssim(image_true, image_test, *, data_range: float) -> np.ndarray:
    """Structural similarity of each image (``tf.image.ssim``, 11x11 Gaussian window).

    Parameters
    ----------
    image_true, image_test : array_like
        As for :func:`psnr`; images must be at least 11x11.
    data_range : float
        As for :func:`psnr`.

    Returns
    -------
    numpy.ndarray
        float array of shape ``(N,)``, 1.0 for identical images.
    """
    a, b = _pair(image_true, image_test)
    if min(a.shape[1:3]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11. Received: shape={a.shape[1:3]}")
    return _in_chunks(tf.image.ssim, a, b, _check_range(data_range))


def mean_psnr(image_true, image_test, *, data_range: float) -> float:
    """Mean of the per-image PSNRs (dB), ignoring images reconstructed exactly (PSNR = inf).

    Returns ``inf`` when every image is reconstructed exactly.
    """
    values = psnr(image_true, image_test, data_range=data_range)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("inf")


def mean_ssim(image_true, image_test, *, data_range: float) -> float:
    """Mean of the per-image SSIMs."""
    return float(ssim(image_true, image_test, data_range=data_range).mean())
