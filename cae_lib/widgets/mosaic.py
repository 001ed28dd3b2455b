"""A few digits, their decoded versions and signed error maps as one PNG, fast enough for a slider."""

from __future__ import annotations

import io

import numpy as np


def digit_mosaic(originals, decoded, *, titles=None, zoom: int = 3) -> bytes:
    """PNG bytes of a 3-row mosaic: originals, decoded digits and signed error maps (red: too bright).

    Drawn with numpy and Pillow rather than matplotlib, so that it takes a few
    milliseconds and the explorer stays interactive.

    Args:
        originals, decoded: uint8 digits ``(n, 28, 28)``.
        titles: Optional text above each decoded digit (e.g. its PSNR).
        zoom: Pixels per image pixel.

    Returns:
        The PNG file as bytes.
    """
    import matplotlib
    from PIL import Image, ImageDraw

    originals, decoded = np.asarray(originals), np.asarray(decoded)
    if originals.shape != decoded.shape or originals.ndim != 3 or originals.dtype != np.uint8:
        raise ValueError(
            "originals and decoded must be uint8 arrays of the same shape (n, H, W). "
            f"Received: {originals.dtype} {originals.shape} and {decoded.dtype} {decoded.shape}"
        )
    n, h, wd = originals.shape
    gray = lambda a: np.repeat(a[..., None], 3, axis=-1)  # noqa: E731
    error = (decoded.astype(np.float32) - originals.astype(np.float32)) / 255.0
    colored = (matplotlib.colormaps["RdBu_r"]((error + 1) / 2)[..., :3] * 255).astype(np.uint8)
    label_w, text_h, gap = 64, 12, 2
    rows = [gray(originals), gray(decoded), colored]
    width = label_w + n * (wd * zoom + gap)
    height = 3 * (h * zoom + text_h)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for r, (row, name) in enumerate(zip(rows, ("original", "decoded", "error"))):
        top = r * (h * zoom + text_h) + text_h
        draw.text((2, top + h * zoom // 2 - 5), name, fill=(0, 0, 0))
        for i in range(n):
            left = label_w + i * (wd * zoom + gap)
            canvas.paste(Image.fromarray(row[i]).resize((wd * zoom, h * zoom), Image.NEAREST), (left, top))
            if r == 1 and titles is not None:
                draw.text((left + 2, top - text_h + 1), str(titles[i]), fill=(0, 0, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()
