"""Reading digits from image files and ``.npy`` batches, and writing them as PNG (Pillow)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .images import IMAGE_SIZE, image_batch, to_uint8


class ImageReadError(ValueError):
    """An input file cannot be read as a digit."""


def image_to_digit(image, *, invert: str = "auto") -> tuple[np.ndarray, list[str]]:
    """Convert a Pillow image of any size and mode to a 28x28 uint8 MNIST-style digit.

    The image is turned to grayscale, padded to a square with its background
    colour (so the digit keeps its proportions) and resized to 28x28. MNIST
    digits are light on a dark background; with ``invert="auto"`` an image
    whose border is mostly light (ink on paper) is inverted.

    Args:
        image: A ``PIL.Image.Image``.
        invert: ``"auto"``, ``"yes"`` or ``"no"``.

    Returns:
        ``(digit, notes)``: ``digit`` a uint8 array of shape (28, 28);
        ``notes`` a list of str saying what was changed, in words (empty when
        the image was already a 28x28 grayscale digit).

    Raises:
        ValueError: If ``invert`` is not one of the three values above.

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
        padded 56x40 to a square
        resized 56x56 -> 28x28
    """
    from PIL import Image, ImageOps

    if invert not in ("auto", "yes", "no"):
        raise ValueError(f"`invert` must be 'auto', 'yes' or 'no'. Received: invert={invert!r}")
    notes = []
    image = ImageOps.exif_transpose(image)
    if image.mode != "L":
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image.convert("RGBA"))
        notes.append(f"{image.mode} -> grayscale")
        image = image.convert("L")
    pixels = np.asarray(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    do_invert = invert == "yes" or (invert == "auto" and np.median(border) > 127)
    if do_invert:
        image = ImageOps.invert(image)
        notes.append("inverted (dark digit on light background)")
    width, height = image.size
    if (width, height) != (IMAGE_SIZE, IMAGE_SIZE):
        if width != height:
            side = max(width, height)
            fill = int(np.median(np.asarray(image)[0]))
            square = Image.new("L", (side, side), fill)
            square.paste(image, ((side - width) // 2, (side - height) // 2))
            image = square
            notes.append(f"padded {width}x{height} to a square")
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
        notes.append(f"resized {max(width, height)}x{max(width, height)} -> 28x28")
    return np.asarray(image, dtype=np.uint8).copy(), notes


def read_digits(path: str | os.PathLike, *, invert: str = "auto") -> tuple[np.ndarray, list[str]]:
    """Read one input file as a batch of uint8 digits ``(n, 28, 28)``.

    ``.npy`` files hold ``(28, 28)`` or ``(n, 28, 28)`` (or ``(n, 28, 28, 1)``)
    uint8 pixels or floats in [0, 1]; any other file is opened with Pillow
    (PNG, JPEG, ...) and converted by :func:`image_to_digit`.

    Args:
        path: The file to read.
        invert: As for :func:`image_to_digit` (images only, not ``.npy``).

    Returns:
        ``(digits, notes)``: ``digits`` uint8 ``(n, 28, 28)``; ``notes`` a
        list of str, the conversions applied, for telling the user.

    Raises:
        FileNotFoundError: The file does not exist.
        ImageReadError: The file is not a readable image or holds arrays of
            the wrong shape or type.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    if path.suffix.lower() == ".npy":
        try:  # memory-mapped: a header is checked against the file's real size before anything is read
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            batch = image_batch(array, name="the array")
            digits = np.array(batch[..., 0])
        except (TypeError, ValueError, OSError, EOFError) as exc:
            raise ImageReadError(f"{path}: not a .npy file of digits ({exc})") from None
        if digits.dtype == np.uint8:
            return digits, []
        return to_uint8(digits), ["float [0, 1] -> uint8"]
    try:
        with Image.open(path) as image:
            image.load()
            digit, notes = image_to_digit(image, invert=invert)
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image Pillow can read") from None
    except (OSError, SyntaxError) as exc:  # truncated or corrupt image data
        raise ImageReadError(f"{path}: unreadable image ({exc})") from None
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
