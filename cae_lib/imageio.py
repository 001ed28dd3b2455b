"""Reading digits from image files and ``.npy`` batches, and writing them as PNG (Pillow)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .images import IMAGE_SIZE, image_batch, to_uint8


class ImageReadError(ValueError):
    """An input file cannot be read as a digit."""


MAX_IMAGE_PIXELS = 40_000_000
"""The most pixels an input image may have (a 12-megapixel phone photo fits three times over).

Checked from the file's header before any pixel is decoded; a digit never
needs more, and it keeps decoding under about 200 MB whatever the file."""
MAX_INPUT_IMAGES = 100_000
"""The most digits one ``.npy`` input may hold unless the caller allows more (78 MB as uint8)."""
_CHUNK = 8192


def _grayscale(image) -> tuple:
    """Any Pillow mode to 8-bit grayscale ``L``, light ink kept light; returns ``(image, notes)``."""
    from PIL import Image

    notes = []
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        if not np.all(np.isfinite(pixels)):
            raise ValueError(f"{mode} image with NaN or infinite pixels")
        low, high = float(pixels.min()), float(pixels.max())
        if mode == "F" and low >= 0 and high <= 1:
            scaled, how = pixels * 255, "floats in [0, 1] scaled to 0-255"
        elif mode.startswith("I;16") or (mode == "I" and low >= 0 and high <= 65535):
            scaled, how = pixels / 257, "16-bit pixels scaled to 0-255"
        elif high > low:
            scaled, how = (
                (pixels - low) * (255 / (high - low)),
                f"pixels {low:g} to {high:g} stretched to 0-255",
            )
        else:
            scaled, how = np.zeros_like(pixels), f"a constant image ({low:g})"
        notes.append(f"{mode} -> grayscale ({how})")
        return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L"), notes
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        pixels = np.asarray(rgba)
        alpha, colour = pixels[..., 3], pixels[..., :3]
        opaque = alpha > 127
        drawn = colour[alpha > 0]
        if 0 < len(drawn) and alpha.min() < 255 and np.ptp(drawn, axis=0).max() == 0:
            # One colour everywhere: the drawing is the alpha channel (ink on a transparent background).
            notes.append(f"{mode}: ink in the alpha channel -> grayscale (ink light on dark)")
            return Image.fromarray(np.ascontiguousarray(alpha), "L"), notes
        ink_is_light = opaque.any() and np.asarray(rgba.convert("L"))[opaque].mean() > 127
        backdrop = (0, 0, 0, 255) if ink_is_light else (255, 255, 255, 255)
        image = Image.alpha_composite(Image.new("RGBA", image.size, backdrop), rgba)
        notes.append(f"{mode} on a {'black' if ink_is_light else 'white'} background -> grayscale")
        return image.convert("L"), notes
    if mode != "L":
        notes.append(f"{mode} -> grayscale")
        image = image.convert("L")
    return image, notes


def image_to_digit(image, *, invert: str = "auto") -> tuple[np.ndarray, list[str]]:
    """Convert a Pillow image of any size and mode to a 28x28 uint8 MNIST-style digit.

    The image is turned to grayscale (16-bit and float pixels scaled to
    0-255, ink drawn in an alpha channel taken as the ink), resized so its
    longer side is 28 pixels (keeping its proportions) and padded to 28x28
    with its background colour. MNIST digits are light on a dark background;
    with ``invert="auto"`` an image whose border is mostly light (ink on
    paper) is inverted. Nothing larger than the input is ever allocated.

    Args:
        image: A ``PIL.Image.Image`` (its first frame, for an animation).
        invert: ``"auto"``, ``"yes"`` or ``"no"``.

    Returns:
        ``(digit, notes)``: ``digit`` a uint8 array of shape (28, 28);
        ``notes`` a list of str saying what was changed, in words (empty when
        the image was already a 28x28 grayscale digit).

    Raises:
        ValueError: If ``invert`` is not one of the three values above, or
            the image has more than ``MAX_IMAGE_PIXELS`` pixels.

    Example:
        A dark stroke on a white RGB page, wider than high:

        >>> from PIL import Image, ImageDraw
        >>> from cae_lib.imageio import image_to_digit
        >>> page = Image.new("RGB", (56, 40), "white")
        >>> ImageDraw.Draw(page).line([(28, 5), (28, 35)], fill="black", width=4)
        >>> digit, notes = image_to_digit(page)
        >>> digit.shape, digit.dtype, int(digit[0, 0]), int(digit.max())
        ((28, 28), dtype('uint8'), 0, 255)
        >>> for note in notes:
        ...     print(note)
        RGB -> grayscale
        inverted (dark digit on light background)
        resized 56x40 -> 28x20 (longer side 28, proportions kept)
        padded 28x20 to 28x28
    """
    from PIL import Image, ImageOps

    if invert not in ("auto", "yes", "no"):
        raise ValueError(f"`invert` must be 'auto', 'yes' or 'no'. Received: invert={invert!r}")
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{width}x{height} is {width * height:,} pixels, more than the {MAX_IMAGE_PIXELS:,} a digit's "
            "image may have: crop or shrink it first"
        )
    image = ImageOps.exif_transpose(image)
    image, notes = _grayscale(image)
    pixels = np.asarray(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    do_invert = invert == "yes" or (invert == "auto" and np.median(border) > 127)
    if do_invert:
        image = ImageOps.invert(image)
        notes.append("inverted (dark digit on light background)")
    width, height = image.size
    if (width, height) != (IMAGE_SIZE, IMAGE_SIZE):
        fill = int(np.median(np.asarray(image)[0]))  # the background, from the top row
        side = max(width, height)
        new_w, new_h = max(1, round(width * IMAGE_SIZE / side)), max(1, round(height * IMAGE_SIZE / side))
        if (new_w, new_h) != (width, height):
            image = image.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
            notes.append(f"resized {width}x{height} -> {new_w}x{new_h} (longer side 28, proportions kept)")
        if (new_w, new_h) != (IMAGE_SIZE, IMAGE_SIZE):
            square = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), fill)
            square.paste(image, ((IMAGE_SIZE - new_w) // 2, (IMAGE_SIZE - new_h) // 2))
            image = square
            notes.append(f"padded {new_w}x{new_h} to 28x28")
    return np.asarray(image, dtype=np.uint8).copy(), notes


def _read_npy(path: Path, max_images: int) -> tuple[np.ndarray, list[str]]:
    """A ``.npy`` batch of digits: its header checked before anything is copied, converted in chunks."""
    try:  # memory-mapped: the header is checked against the file's real size before anything is read
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any header numpy cannot map is the file's problem
        raise ImageReadError(f"{path}: not a .npy file of digits ({type(exc).__name__}: {exc})") from None
    try:
        shape = tuple(array.shape)
        count = shape[0] if len(shape) in (3, 4) else 1
        if count > max_images:
            raise ImageReadError(
                f"{path}: holds {count:,} digits, more than the {max_images:,} one run takes "
                "(split the file, or raise the limit)"
            )
        batch = image_batch(array, name="the array")
        parts, floats = [], batch.dtype != np.uint8
        for start in range(0, len(batch), _CHUNK):
            chunk = np.array(batch[start : start + _CHUNK, ..., 0])
            parts.append(to_uint8(chunk) if floats else chunk)
    except ImageReadError:
        raise
    except (TypeError, ValueError, OSError, EOFError, OverflowError) as exc:
        raise ImageReadError(f"{path}: not a .npy file of digits ({exc})") from None
    digits = np.concatenate(parts) if parts else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    return digits, (["float [0, 1] -> uint8"] if floats else [])


def read_digits(
    path: str | os.PathLike, *, invert: str = "auto", max_images: int = MAX_INPUT_IMAGES
) -> tuple[np.ndarray, list[str]]:
    """Read one input file as a batch of uint8 digits ``(n, 28, 28)``.

    ``.npy`` files hold ``(28, 28)`` or ``(n, 28, 28)`` (or ``(n, 28, 28, 1)``)
    uint8 pixels or floats in [0, 1]; any other file is opened with Pillow
    (PNG, JPEG, ...) and converted by :func:`image_to_digit`. Memory follows
    what the file really needs: an image's size is checked from its header
    before its pixels are decoded (``MAX_IMAGE_PIXELS``), a ``.npy``'s digit
    count before anything is copied (``max_images``).

    Args:
        path: The file to read.
        invert: As for :func:`image_to_digit` (images only, not ``.npy``).
        max_images: The most digits a ``.npy`` file may hold.

    Returns:
        ``(digits, notes)``: ``digits`` uint8 ``(n, 28, 28)``; ``notes`` a
        list of str, the conversions applied, for telling the user.

    Raises:
        FileNotFoundError: The file does not exist.
        ImageReadError: The file is not a readable image, is too large, or
            holds arrays of the wrong shape or type; the message names it.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    if not path.is_file():
        raise ImageReadError(
            f"{path}: is {'a folder' if path.is_dir() else 'not a regular file'}, not an image"
        )
    if path.suffix.lower() == ".npy":
        return _read_npy(path, max_images)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageReadError(
                        f"{path}: {width}x{height} is {width * height:,} pixels, more than the "
                        f"{MAX_IMAGE_PIXELS:,} a digit's image may have: crop or shrink it first"
                    )
                animated = getattr(image, "is_animated", False)  # n_frames would decode every frame
                image.load()
                digit, notes = image_to_digit(image, invert=invert)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{path}: refused as a decompression bomb ({exc})") from None
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        MemoryError,
    ) as exc:  # truncated or corrupt image data
        raise ImageReadError(f"{path}: unreadable image ({exc})") from None
    if animated:
        notes.insert(0, "first frame used (the file holds several)")
    return digit[np.newaxis], notes


def write_png(path: str | os.PathLike, digit: np.ndarray) -> Path:
    """Write one uint8 digit ``(28, 28)`` as an 8-bit grayscale PNG.

    Returns:
        The path written, as a ``pathlib.Path``.

    Raises:
        ValueError: If ``digit`` is not a 2-D uint8 array.
    """
    from PIL import Image

    digit = np.asarray(digit)
    if digit.dtype != np.uint8 or digit.ndim != 2:
        raise ValueError(
            f"write_png needs a 2-D uint8 image. Received: dtype={digit.dtype}, shape={digit.shape}"
        )
    Image.fromarray(digit, mode="L").save(path, format="PNG")
    return Path(path)
