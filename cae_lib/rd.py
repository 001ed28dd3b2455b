"""Rate-distortion measurements: the course codec and classic formats, in real bytes.

Used by notebook 04 and ``benchmarks/rate_distortion.py`` alike, so the two
always measure the same way:

* :func:`codec_points` - the ``.cae`` codec over a list of quantisation steps;
* :func:`pillow_points` - PNG, JPEG, WebP or AVIF through Pillow, one file per digit;
* :func:`mosaic_points` - the same formats, all the digits tiled into one
  image and one file: what a classic format costs when it, too, may pack
  many digits together (compare it with one ``.cae`` file of many digits);
* :func:`pareto_front` and :func:`bytes_at` - the best size for a quality level;
* :func:`bd_rate` - Bjøntegaard's delta rate: the average share of bytes one
  method saves against another over a range of quality; :func:`bd_rate_range`
  the range it averages over;
* :func:`plot_rate_distortion` - PSNR against bytes per digit.
"""

from __future__ import annotations

import io
import time
from dataclasses import asdict, dataclass

import numpy as np

from . import codec, metrics


@dataclass(frozen=True)
class RDPoint:
    """One setting of one method: real size and quality on a set of digits.

    Attributes:
        method: The method's name, e.g. ``"cae"``, ``"JPEG"`` or ``"PNG"``.
        setting: The setting in words, e.g. ``"quality 50"`` or ``"step 1"``.
        bytes_per_image: Real bytes per digit; for the codec, of one file
            holding all the digits.
        single_file_bytes: Mean size of a file holding one digit, header included.
        mean_psnr_db: Mean PSNR in dB (:func:`cae_lib.metrics.mean_psnr`).
        mean_ssim: Mean SSIM (:func:`cae_lib.metrics.mean_ssim`).
        ideal_bytes_per_image: Codec only: ideal code length under the prior,
            plus the header, per digit.
        seconds: Wall time of encoding and decoding the digits (NaN: not measured).
    """

    method: str
    setting: str
    bytes_per_image: float
    single_file_bytes: float
    mean_psnr_db: float
    mean_ssim: float
    ideal_bytes_per_image: float = float("nan")
    seconds: float = float("nan")

    def as_dict(self) -> dict:
        """The fields as a plain dict (e.g. for JSON)."""
        return asdict(self)


def pillow_round_trip(images: np.ndarray, fmt: str, **params) -> tuple[np.ndarray, np.ndarray]:
    """Save each uint8 digit as its own file with Pillow, read it back.

    Args:
        images: uint8 digits ``(n, H, W)``.
        fmt: A Pillow format name (``"PNG"``, ``"JPEG"``, ``"WEBP"``, ...).
        **params: Passed to ``Image.save`` (e.g. ``quality=50``).

    Returns:
        ``(decoded, sizes)``: ``decoded`` uint8 ``(n, H, W)`` as read back;
        ``sizes`` the length in bytes of each file.

    Example:
        >>> import numpy as np
        >>> from cae_lib.rd import pillow_round_trip
        >>> digits = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
        >>> decoded, sizes = pillow_round_trip(digits, "PNG")
        >>> np.array_equal(decoded, digits), sizes.shape
        (True, (3,))
    """
    from PIL import Image

    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"images must be uint8 (n, H, W). Received: dtype={images.dtype}, shape={images.shape}"
        )
    decoded = np.empty_like(images)
    sizes = np.empty(len(images), dtype=np.int64)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image, mode="L").save(buffer, format=fmt, **params)
        sizes[i] = buffer.tell()
        buffer.seek(0)
        with Image.open(buffer) as back:
            decoded[i] = np.asarray(back.convert("L"))
    return decoded, sizes


def _quality(originals, decoded):
    return metrics.mean_psnr(originals, decoded, data_range=255), metrics.mean_ssim(
        originals, decoded, data_range=255
    )


def pillow_points(images: np.ndarray, fmt: str, qualities, *, name: str | None = None, **params):
    """One :class:`RDPoint` per quality setting of a Pillow format ("JPEG", "WEBP", ...).

    Args:
        images: uint8 digits ``(n, 28, 28)``.
        fmt: The Pillow format.
        qualities: The ``quality`` values to try.
        name: Method name in the points (default: ``fmt``).
        **params: Further arguments of ``Image.save``.

    Returns:
        ``(points, decoded)``: ``points`` a list of :class:`RDPoint`;
        ``decoded`` a dict ``{quality: uint8 digits}`` as read back from the files.
    """

    def one_file_each(q):
        decoded, sizes = pillow_round_trip(images, fmt, quality=q, **params)
        return decoded, sizes.mean(), sizes.mean()

    return _quality_points(images, qualities, one_file_each, name or fmt)


def _quality_points(images, qualities, round_trip, method: str):
    """Points and decoded digits per quality; ``round_trip(q)`` returns ``(decoded, bytes/image, single-file bytes)``."""
    points, decoded_by_quality = [], {}
    for q in qualities:
        start = time.perf_counter()
        decoded, per_image, single = round_trip(q)
        seconds = time.perf_counter() - start
        psnr, ssim = _quality(images, decoded)
        points.append(RDPoint(method, f"quality {q}", per_image, single, psnr, ssim, seconds=seconds))
        decoded_by_quality[q] = decoded
    return points, decoded_by_quality


def mosaic(images: np.ndarray, *, columns: int | None = None) -> np.ndarray:
    """Tile uint8 digits ``(n, H, W)`` row by row into one image, padded with black cells.

    Args:
        images: uint8 digits ``(n, H, W)``.
        columns: Digits per row (default: a square grid, ``ceil(sqrt(n))``).

    Returns:
        uint8 image ``(rows * H, columns * W)``.

    Example:
        >>> import numpy as np
        >>> from cae_lib.rd import mosaic, unmosaic
        >>> digits = np.arange(5 * 4, dtype=np.uint8).reshape(5, 2, 2)
        >>> mosaic(digits).shape  # 3 columns, 2 rows
        (4, 6)
        >>> np.array_equal(unmosaic(mosaic(digits), 5, (2, 2)), digits)
        True
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or len(images) == 0:
        raise ValueError(
            f"images must be uint8 (n, H, W) with n >= 1. Received: dtype={images.dtype}, shape={images.shape}"
        )
    n, height, width = images.shape
    columns = int(np.ceil(np.sqrt(n))) if columns is None else int(columns)
    rows = -(-n // columns)
    cells = np.zeros((rows * columns, height, width), np.uint8)
    cells[:n] = images
    return (
        cells.reshape(rows, columns, height, width)
        .transpose(0, 2, 1, 3)
        .reshape(rows * height, columns * width)
    )


def unmosaic(image: np.ndarray, count: int, shape=(28, 28)) -> np.ndarray:
    """The first ``count`` digits of a :func:`mosaic` (the inverse, padding dropped)."""
    height, width = shape
    image = np.asarray(image)
    rows, columns = image.shape[0] // height, image.shape[1] // width
    cells = (
        image[: rows * height, : columns * width].reshape(rows, height, columns, width).transpose(0, 2, 1, 3)
    )
    return np.ascontiguousarray(cells.reshape(rows * columns, height, width)[:count])


def mosaic_round_trip(images: np.ndarray, fmt: str, **params) -> tuple[np.ndarray, int]:
    """Save all digits as one Pillow image (a :func:`mosaic`), read it back.

    Returns:
        ``(decoded, size)``: the digits cut from the decoded image, uint8
        ``(n, H, W)``, and the length of the one file in bytes.
    """
    from PIL import Image

    images = np.asarray(images)
    buffer = io.BytesIO()
    Image.fromarray(mosaic(images), mode="L").save(buffer, format=fmt, **params)
    size = buffer.tell()
    buffer.seek(0)
    with Image.open(buffer) as back:
        decoded = np.asarray(back.convert("L"))
    return unmosaic(decoded, len(images), images.shape[1:]), size


def mosaic_points(images: np.ndarray, fmt: str, qualities, *, name: str | None = None, **params):
    """One :class:`RDPoint` per quality: all ``images`` in one file of a Pillow format.

    ``bytes_per_image`` is the one file's length divided by the number of
    digits (like one ``.cae`` file of all of them); quality is the mean
    per-digit PSNR/SSIM of the digits cut back out. ``single_file_bytes``
    is NaN: no single-digit files are made (see :func:`pillow_points`).

    Args:
        images: uint8 digits ``(n, 28, 28)``.
        fmt: The Pillow format (``"WEBP"``, ``"AVIF"``, ``"JPEG"`` ...).
        qualities: The ``quality`` values to try.
        name: Method name in the points (default: ``fmt + " mosaic"``).
        **params: Further arguments of ``Image.save`` (``method=6``, ``speed=4`` ...).

    Returns:
        ``(points, decoded)`` like :func:`pillow_points`.
    """

    def one_file_for_all(q):
        decoded, size = mosaic_round_trip(images, fmt, quality=q, **params)
        return decoded, size / len(images), float("nan")

    return _quality_points(images, qualities, one_file_for_all, name or f"{fmt} mosaic")


def png_point(images: np.ndarray) -> RDPoint:
    """Lossless PNG (Pillow, ``optimize=True``): the size to beat without losing anything."""
    decoded, sizes = pillow_round_trip(images, "PNG", optimize=True)
    if not np.array_equal(decoded, images):
        raise AssertionError("PNG round trip changed pixels")
    return RDPoint("PNG", "lossless", sizes.mean(), sizes.mean(), float("inf"), 1.0)


def codec_points(images: np.ndarray, model, steps, *, name: str = "cae", single_sample: int = 200):
    """Compress ``images`` for real at each step; return the points and the decoded digits per step.

    Args:
        images: uint8 digits ``(n, 28, 28)``.
        model: A codec model (:func:`cae_lib.codec.attach_prior`).
        steps: Quantisation steps.
        name: Method name in the points.
        single_sample: How many digits (the first) are also compressed one
            file each, for ``single_file_bytes`` (0: none).

    Returns:
        ``(points, decoded)``: ``points`` a list of :class:`RDPoint`;
        ``decoded`` a dict ``{step: uint8 digits}`` as decoded from the real file.
    """
    points, decoded_by_step = [], {}
    for step in steps:
        m = codec.measure(images, model, step=step)
        singles = codec.compress_each(images[:single_sample], model, step=step) if single_sample else []
        points.append(RDPoint(
            name, f"step {m.step:.3g}", m.bytes_per_image,
            float(np.mean([len(f) for f in singles])) if singles else float("nan"),
            m.mean_psnr_db, m.mean_ssim, (m.ideal_payload_bits / 8 + m.header_bytes) / m.count, m.seconds,
        ))  # fmt: skip
        decoded_by_step[step] = m.decoded
    return points, decoded_by_step


def pareto_front(points, *, size: str = "bytes_per_image") -> list[tuple[float, float]]:
    """``(bytes, psnr)`` pairs that no other point beats on both, by increasing size.

    Args:
        points: :class:`RDPoint` objects; those with an infinite or NaN PSNR
            are left out.
        size: The attribute used as the size.

    Example:
        Quality 30 is bigger and worse than quality 50, so not on the front:

        >>> from cae_lib.rd import RDPoint, pareto_front
        >>> points = [
        ...     RDPoint("JPEG", f"quality {q}", size, size, psnr, 0.0)
        ...     for q, size, psnr in [(10, 300, 18.0), (30, 450, 22.0), (50, 400, 24.0), (90, 800, 30.0)]
        ... ]
        >>> pareto_front(points)
        [(300.0, 18.0), (400.0, 24.0), (800.0, 30.0)]
    """
    pairs = sorted((getattr(p, size), p.mean_psnr_db) for p in points if np.isfinite(p.mean_psnr_db))
    front, best = [], -np.inf
    for nbytes, psnr in pairs:
        if psnr > best:
            front.append((float(nbytes), float(psnr)))
            best = psnr
    return front


def bytes_at(front, level: float):
    """Bytes needed to reach at least ``level`` dB along a front (interpolated in log-bytes).

    Below the front's lowest quality the answer is its smallest size (a format
    that cannot go lower still needs that much); above its highest, None.

    Args:
        front: ``(bytes, psnr)`` pairs by increasing size, from :func:`pareto_front`.
        level: The quality to reach, in dB.

    Example:
        27 dB lies halfway between 24 dB at 400 bytes and 30 dB at 800 bytes,
        so in log-bytes it needs ``sqrt(400 * 800)`` bytes:

        >>> from cae_lib.rd import bytes_at
        >>> front = [(300.0, 18.0), (400.0, 24.0), (800.0, 30.0)]
        >>> round(bytes_at(front, 27.0), 1)
        565.7
        >>> bytes_at(front, 10.0), bytes_at(front, 35.0)
        (300.0, None)
    """
    if not front or level > front[-1][1]:
        return None
    if level <= front[0][1]:
        return front[0][0]
    sizes, psnrs = np.log([p[0] for p in front]), [p[1] for p in front]
    return float(np.exp(np.interp(level, psnrs, sizes)))


def bd_rate(front, reference, *, low: float = 20.0, high: float = 26.0) -> float | None:
    """Bjøntegaard delta rate: the mean change in bytes of ``front`` against ``reference`` at equal PSNR.

    Both fronts are interpolated as log-bytes against PSNR (piecewise
    linear, :func:`bytes_at`'s interpolation) and the log-ratio is averaged
    over ``[low, high]`` dB. -0.6 means ``front`` needs 60% fewer bytes on
    average. The range is cut to where both fronts have data
    (:func:`bd_rate_range` tells which); None if they do not overlap.

    Args:
        front: ``(bytes, psnr)`` pairs by increasing size (:func:`pareto_front`).
        reference: The same for the method compared against.
        low: Lowest quality of the range, dB.
        high: Highest quality of the range, dB.

    Example:
        Half the bytes at every quality is a delta rate of -50%:

        >>> from cae_lib.rd import bd_rate
        >>> reference = [(100.0, 20.0), (200.0, 24.0), (400.0, 28.0)]
        >>> front = [(50.0, 20.0), (100.0, 24.0), (200.0, 28.0)]
        >>> round(bd_rate(front, reference), 3)
        -0.5
    """
    window = bd_rate_range(front, reference, low=low, high=high)
    if window is None:
        return None
    levels = np.linspace(*window, 200)

    def log_bytes(points):
        return np.interp(levels, [p[1] for p in points], np.log([p[0] for p in points]))

    return float(np.exp(np.mean(log_bytes(front) - log_bytes(reference))) - 1)


def bd_rate_range(front, reference, *, low: float = 20.0, high: float = 26.0) -> tuple[float, float] | None:
    """The PSNR window, in dB, over which :func:`bd_rate` averages (same arguments), or None.

    :func:`bd_rate` cuts ``[low, high]`` to where both fronts have data: from
    the higher of their lowest qualities to the lower of their highest.
    None when nothing is left (then :func:`bd_rate` is None too).

    Example:
        The window stops at ``high`` when both fronts go further, and at the
        end of the shorter front otherwise:

        >>> from cae_lib.rd import bd_rate_range
        >>> reference = [(100.0, 20.0), (200.0, 24.0), (400.0, 28.0)]
        >>> front = [(50.0, 21.0), (100.0, 24.0), (200.0, 25.5)]
        >>> bd_rate_range(front, reference)
        (21.0, 25.5)
        >>> bd_rate_range(reference, reference, low=22.0)
        (22.0, 26.0)
        >>> bd_rate_range([(10.0, 30.0), (20.0, 32.0)], reference) is None  # no common range
        True
    """
    if not front or not reference:
        return None
    lo = max(low, front[0][1], reference[0][1])
    hi = min(high, front[-1][1], reference[-1][1])
    return (float(lo), float(hi)) if hi > lo else None


CLASSIC_STYLES = {"JPEG": "s--", "WEBP": "D--"}
"""Line styles of the classic formats, by upper-case name (Pillow's "WEBP" and a label "WebP" alike)."""


def plot_rate_distortion(points, *, ax=None, size: str = "bytes_per_image", title=None):
    """PSNR against bytes per digit (log scale), one line per method; PNG as a vertical line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    methods = list(dict.fromkeys(p.method for p in points))
    for method in methods:
        mine = [p for p in points if p.method == method]
        if method == "PNG":
            ax.axvline(getattr(mine[0], size), color="gray", lw=1, ls="-.", label="PNG (lossless)")
            continue
        pairs = sorted((getattr(p, size), p.mean_psnr_db) for p in mine if np.isfinite(p.mean_psnr_db))
        if method.startswith("cae"):
            ax.plot(*zip(*pairs), "o-", label=method, markersize=4)
        elif (
            method.upper() in CLASSIC_STYLES
        ):  # classic formats in black and grey, apart from the codec's colours
            ax.plot(*zip(*pairs), CLASSIC_STYLES[method.upper()], color="k" if method == "JPEG" else "0.45",
                    label=method, markersize=5)  # fmt: skip
        else:
            ax.plot(*zip(*pairs), "^:", label=method, markersize=4, alpha=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("bytes per digit (real files, log scale)")
    ax.set_ylabel("mean PSNR (dB)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    if title:
        ax.set_title(title)
    _describe_rate_distortion(ax, points, size)
    return ax


def _describe_rate_distortion(ax, points, size: str) -> None:
    """The chart's text (:mod:`cae_lib.figure_text`): each method's range of bytes and of PSNR."""
    from .figure_text import describe, num, value_range

    parts = []
    for method in dict.fromkeys(p.method for p in points):
        mine = [p for p in points if p.method == method and np.isfinite(p.mean_psnr_db)]
        sizes = [getattr(p, size) for p in mine]
        if method == "PNG" and sizes:
            parts.append(f"PNG (lossless) at {num(sizes[0])} bytes")
        elif mine:
            parts.append(
                f"{method} {value_range(sizes)} bytes at {value_range([p.mean_psnr_db for p in mine], ' dB')}"
            )
    what = "bytes per digit" if size == "bytes_per_image" else "bytes of a one-digit file"
    describe(ax, f"Mean PSNR against {what} (log scale), one line per method: {'; '.join(parts)}.")
