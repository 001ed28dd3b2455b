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

from ._tf import tf
from .images import image_batch


def _as_batch(images, name: str) -> np.ndarray:
    """Any image or batch, of any size, with 1 or 3 channels, as float32 ``(N, H, W, C)``."""
    return image_batch(images, name=name, size=None, channels=(1, 3), unit_range=False).astype(np.float32)


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

    Args:
        image_true: One image ``(H, W)`` / ``(H, W, C)`` with C = 1 or 3, or a
            batch ``(N, H, W)`` / ``(N, H, W, C)``.
        image_test: Same shape as ``image_true``.
        data_range: Distance between the smallest and largest possible pixel
            value: 1.0 for images in [0, 1], 255 for uint8.

    Returns:
        A float numpy array of shape ``(N,)`` (``(1,)`` for one image).
        Identical images give ``inf``.

    Raises:
        TypeError: If an input does not hold numbers.
        ValueError: If the shapes differ or are not one of those above, or
            ``data_range`` is not a positive number.

    Example:
        An error of 0.1 on every pixel of a [0, 1] image: MSE 0.01, 20 dB.

        >>> import numpy as np
        >>> from cae_lib import metrics
        >>> original = np.zeros((28, 28), np.float32)
        >>> metrics.psnr(original, original + 0.1, data_range=1.0).round(2)
        array([20.], dtype=float32)
        >>> metrics.psnr(original, original, data_range=1.0)
        array([inf], dtype=float32)
    """
    a, b = _pair(image_true, image_test)
    return _in_chunks(tf.image.psnr, a, b, _check_range(data_range))


def ssim(image_true, image_test, *, data_range: float) -> np.ndarray:
    """Structural similarity of each image (``tf.image.ssim``, 11x11 Gaussian window).

    Args:
        image_true: As for :func:`psnr`; images must be at least 11x11.
        image_test: Same shape as ``image_true``.
        data_range: As for :func:`psnr`.

    Returns:
        A float numpy array of shape ``(N,)``, 1.0 for identical images.

    Raises:
        TypeError: If an input does not hold numbers.
        ValueError: As for :func:`psnr`, or if the images are smaller than 11x11.

    Example:
        >>> import numpy as np
        >>> from cae_lib import metrics
        >>> digits = np.random.default_rng(0).integers(0, 256, (2, 28, 28), dtype=np.uint8)
        >>> metrics.ssim(digits, digits, data_range=255)
        array([1., 1.], dtype=float32)
    """
    a, b = _pair(image_true, image_test)
    if min(a.shape[1:3]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11. Received: shape={a.shape[1:3]}")
    return _in_chunks(tf.image.ssim, a, b, _check_range(data_range))


def mean_psnr(image_true, image_test, *, data_range: float) -> float:
    """Mean of the per-image PSNRs (dB), ignoring images reconstructed exactly (PSNR = inf).

    Args:
        image_true, image_test, data_range: As for :func:`psnr`.

    Returns:
        The mean as a float; ``inf`` when every image is reconstructed exactly.

    Example:
        The first image is reconstructed exactly and does not count:

        >>> import numpy as np
        >>> from cae_lib import metrics
        >>> originals = np.zeros((2, 28, 28), np.float32)
        >>> decoded = originals.copy()
        >>> decoded[1] += 0.1
        >>> metrics.psnr(originals, decoded, data_range=1.0).round(2)
        array([inf, 20.], dtype=float32)
        >>> round(metrics.mean_psnr(originals, decoded, data_range=1.0), 2)
        20.0
    """
    values = psnr(image_true, image_test, data_range=data_range)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("inf")


def mean_ssim(image_true, image_test, *, data_range: float) -> float:
    """Mean of the per-image SSIMs, as a float.

    Args:
        image_true, image_test, data_range: As for :func:`ssim`.
    """
    return float(ssim(image_true, image_test, data_range=data_range).mean())


def paired_accuracy_drop_upper_bound(
    correct_original, correct_reconstructed, *, confidence: float = 0.95
) -> float:
    """One-sided upper confidence bound on the accuracy a classifier loses on reconstructions.

    The same digits are read twice, as originals and as reconstructions, so
    the two accuracies are *paired*: per digit the difference
    ``d = correct_original - correct_reconstructed`` is +1 (only the original
    read correctly), -1 (only the reconstruction) or 0. The accuracy drop is
    the mean of ``d``; its bound uses the normal approximation to that mean:

        upper = mean(d) + z · std(d, ddof=1) / sqrt(n),   z = Φ⁻¹(confidence)

    (z = 1.645 at 95 %). Only the discordant digits (read right once) make
    ``std(d)`` non-zero, which is why pairing gives a much tighter bound than
    comparing two independent accuracies. The approximation wants a few
    discordant digits (say 10 or more); with none the bound is the observed drop, 0.

    Args:
        correct_original: Booleans (or 0/1), one per digit: the original read correctly.
        correct_reconstructed: The same for the reconstruction of each digit.
        confidence: One-sided confidence level, in (0, 1).

    Returns:
        The upper bound as a fraction (0.005 is half a percentage point).

    Example:
        1,000 digits: 30 read correctly only as originals, 10 only as
        reconstructions. Drop 20/1000 = 2 points; sample variance of d
        (40 - 1000 · 0.02²) / 999 = 0.03964, standard error 0.006296, so the
        bound is 0.02 + 1.645 · 0.006296 = 0.0304:

        >>> import numpy as np
        >>> from cae_lib import metrics
        >>> original = np.ones(1000, bool)
        >>> reconstructed = np.ones(1000, bool)
        >>> reconstructed[:30] = False          # only the original read correctly
        >>> original[30:40] = False             # only the reconstruction read correctly
        >>> round(metrics.paired_accuracy_drop_upper_bound(original, reconstructed), 4)
        0.0304
    """
    from statistics import NormalDist

    a = np.asarray(correct_original)
    b = np.asarray(correct_reconstructed)
    if a.ndim != 1 or a.shape != b.shape or len(a) < 2:
        raise ValueError(
            "correct_original and correct_reconstructed must be 1-D, of the same length, at least 2. "
            f"Received: shapes {a.shape} and {b.shape}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1. Received: confidence={confidence!r}")
    if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
        raise ValueError("correct_original and correct_reconstructed must hold booleans or 0/1 values")
    d = a.astype(np.float64) - b.astype(np.float64)
    z = NormalDist().inv_cdf(confidence)
    return float(d.mean() + z * d.std(ddof=1) / np.sqrt(len(d)))
