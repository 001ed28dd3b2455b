"""Rate-distortion measurements: the course codec and classic formats, in real bytes.

Used by notebook 04 and ``benchmarks/rate_distortion.py`` alike, so the two
always measure the same way:

* :func:`codec_points` - the ``.cae`` codec over a list of quantisation steps;
* :func:`pillow_points` - PNG, JPEG or WebP through Pillow, one file per digit;
* :func:`pareto_front` and :func:`bytes_at` - the best size for a quality level;
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
    """One setting of one method: real size and quality on a set of digits."""

    method: str
    setting: str
    bytes_per_image: float
    """Real bytes per digit; for the codec, of one file holding all the digits."""
    single_file_bytes: float
    """Mean size of a file holding one digit, header included."""
    mean_psnr_db: float
    mean_ssim: float
    ideal_bytes_per_image: float = float("nan")
    """Codec only: ideal code length under the prior, plus the header, per digit."""
    seconds: float = float("nan")

    def as_dict(self) -> dict:
        return asdict(self)


def pillow_round_trip(images: np.ndarray, fmt: str, **params) -> tuple[np.ndarray, np.ndarray]:
    """Save each uint8 digit as its own file with Pillow, read it back.

    Returns
    -------
    decoded : numpy.ndarray
        uint8 ``(n, 28, 28)``.
    sizes : numpy.ndarray
        Length in bytes of each file.
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

    Returns
    -------
    points : list of RDPoint
    decoded : dict
        ``{quality: uint8 digits}`` as read back from the files.
    """
    points, decoded_by_quality = [], {}
    for q in qualities:
        start = time.perf_counter()
        decoded, sizes = pillow_round_trip(images, fmt, quality=q, **params)
        seconds = time.perf_counter() - start
        psnr, ssim = _quality(images, decoded)
        points.append(
            RDPoint(name or fmt, f"quality {q}", sizes.mean(), sizes.mean(), psnr, ssim, seconds=seconds)
        )
        decoded_by_quality[q] = decoded
    return points, decoded_by_quality


def png_point(images: np.ndarray) -> RDPoint:
    """Lossless PNG (Pillow, ``optimize=True``): the size to beat without losing anything."""
    decoded, sizes = pillow_round_trip(images, "PNG", optimize=True)
    if not np.array_equal(decoded, images):
        raise AssertionError("PNG round trip changed pixels")
    return RDPoint("PNG", "lossless", sizes.mean(), sizes.mean(), float("inf"), 1.0)


def codec_points(images: np.ndarray, model, steps, *, name: str = "cae", single_sample: int = 200):
    """Compress ``images`` for real at each step; return the points and the decoded digits per step.

    Returns
    -------
    points : list of RDPoint
    decoded : dict
        ``{step: uint8 digits}`` as decoded from the real file.
    """
    points, decoded_by_step = [], {}
    for step in steps:
        start = time.perf_counter()
        blob = codec.compress(images, model, step=step)
        decoded = codec.decompress(blob, model)
        seconds = time.perf_counter() - start
        header = codec.read_header(blob)
        symbols = codec.latents_to_symbols(codec.encode_latents(images, model), model, header.step)
        ideal = codec.symbol_bits(symbols, model, header.step) / 8
        singles = codec.compress_each(images[:single_sample], model, step=step) if single_sample else []
        psnr, ssim = _quality(images, decoded)
        points.append(RDPoint(
            name, f"step {header.step:.3g}", len(blob) / len(images),
            float(np.mean([len(f) for f in singles])) if singles else float("nan"),
            psnr, ssim, (ideal + header.header_bytes) / len(images), seconds,
        ))  # fmt: skip
        decoded_by_step[step] = decoded
    return points, decoded_by_step


def pareto_front(points, *, size: str = "bytes_per_image") -> list[tuple[float, float]]:
    """``(bytes, psnr)`` pairs that no other point beats on both, by increasing size."""
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
    """
    if not front or level > front[-1][1]:
        return None
    if level <= front[0][1]:
        return front[0][0]
    sizes, psnrs = np.log([p[0] for p in front]), [p[1] for p in front]
    return float(np.exp(np.interp(level, psnrs, sizes)))


CLASSIC_STYLES = {"JPEG": "s--", "WEBP": "D--", "WebP": "D--"}


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
        elif method in CLASSIC_STYLES:  # classic formats in black and grey, apart from the codec's colours
            ax.plot(*zip(*pairs), CLASSIC_STYLES[method], color="k" if method == "JPEG" else "0.45",
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
    return ax
