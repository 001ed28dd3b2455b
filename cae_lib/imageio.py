"""Reading digits from image files and ``.npy`` batches, and writing them as PNG (Pillow)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .images import IMAGE_SIZE, image_batch, to_uint8


class ImageReadError(ValueError):
    """An input file cannot be read as a digit."""


MAX_IMAGE_PIXELS = 40_000_000
"""The most pixels an input image may have (a 12-megapixel phone photo fits three times over).

Checked from the file's header before any pixel is decoded; a digit never
needs more. Decoded, such an image takes at most 160 MB (4 bytes a pixel);
converting it copies at most one 40 MB band at full size (see
``_WORKING_SIDE``), so reading any image stays near 300 MB."""
MAX_INPUT_IMAGES = 100_000
"""The most digits one ``.npy`` input may hold unless the caller allows more (78 MB as uint8)."""
_WORKING_SIDE = 8 * IMAGE_SIZE
"""An image longer than twice this is first box-averaged by a whole factor to at most twice this
(224-447 px), before any per-pixel work: memory then follows the decoded image plus one band of it."""
_CHUNK = 8192
_ORIENTATIONS = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
                 6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}  # fmt: skip


def _reducible(image):
    """The image in a mode Pillow can box-average: 1-bit, palette and 16-bit modes widened, alpha un-premultiplied.

    A palette image without transparency goes straight to ``L`` (its grayscale), one byte a pixel.
    """
    mode = image.mode
    if mode == "1":
        return image.convert("L")
    if mode in ("P", "PA"):  # averaging palette indices would mix unrelated colours
        return image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "L")
    if mode.startswith("I;16"):
        return image.convert("I")
    if mode in ("La", "RGBa"):
        return image.convert(mode[:-1] + "A")
    return image


def _shrink(image, factor: int):
    """Box-average by ``factor`` (Pillow premultiplies alpha, so colours under transparency do not bleed)."""
    return image.reduce(factor) if factor >= 2 else image


def _scale_numbers(image, mode: str) -> tuple:
    """A 16-bit, 32-bit integer or float image (already shrunk) to 8-bit ``L``: ``(image, how)``."""
    from PIL import Image

    pixels = np.asarray(image, dtype=np.float64)
    if not np.all(np.isfinite(pixels)):
        raise ValueError(f"{mode} image with NaN or infinite pixels")
    low, high = float(pixels.min()), float(pixels.max())
    if mode == "F" and low >= 0 and high <= 1:
        scaled, how = pixels * 255, "floats in [0, 1] scaled to 0-255"
    elif mode.startswith("I;16") or (mode == "I" and low >= 0 and high <= 65535):
        scaled, how = pixels / 257, "16-bit pixels scaled to 0-255"
    elif high > low:
        scaled, how = (pixels - low) * (255 / (high - low)), f"pixels {low:g} to {high:g} stretched to 0-255"
    else:
        scaled, how = np.zeros_like(pixels), f"a constant image ({low:g})"
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L"), how


def _alpha_to_grayscale(image, mode: str, factor: int) -> tuple:
    """An ``LA`` or ``RGBA`` image to shrunk ``L``, deciding at full size from Pillow's histograms.

    No full-size copy of the image is made: one band at a time (a quarter
    of an RGBA image) is the most extra memory used.
    """
    from PIL import Image, ImageChops, ImageStat

    alpha = image.getchannel("A")
    colour_bands = image.getbands()[:-1]
    low_alpha, high_alpha = alpha.getextrema()
    if high_alpha > 0 and low_alpha < 255:
        drawn = alpha.point([0] + [255] * 255)  # where anything is drawn, however faint
        colours = [ImageStat.Stat(image.getchannel(band), drawn).extrema[0] for band in colour_bands]
        del drawn
        if all(lo == hi for lo, hi in colours):
            # One colour everywhere: the drawing is the alpha channel (ink on a transparent background).
            return _shrink(
                alpha, factor
            ), f"{mode}: ink in the alpha channel -> grayscale (ink light on dark)"
    ink_is_light = False
    if high_alpha > 127:
        opaque = alpha.point([0] * 128 + [255] * 128)
        luminance = image.getchannel("L") if image.mode == "LA" else image.convert("L")
        ink_is_light = ImageStat.Stat(luminance, opaque).mean[0] > 127
        del opaque, luminance
    # Composited on a backdrop contrasting with the ink, from premultiplied bands averaged one at a time.
    backdrop = 0 if ink_is_light else 255
    cover = np.asarray(_shrink(alpha, factor), dtype=np.float64) / 255
    planes = [
        np.asarray(_shrink(ImageChops.multiply(image.getchannel(band), alpha), factor), dtype=np.float64)
        + backdrop * (1 - cover)
        for band in colour_bands
    ]
    pixels = np.clip(np.rint(np.stack(planes, axis=-1)), 0, 255).astype(np.uint8)
    composed = (
        Image.fromarray(pixels[..., 0], "L")
        if len(planes) == 1
        else Image.fromarray(pixels, "RGB").convert("L")
    )
    return composed, f"{mode} on a {'black' if ink_is_light else 'white'} background -> grayscale"


def _orientation(image) -> int:
    """The EXIF orientation tag (1 = upright), 1 when the image has none or it cannot be read."""
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - broken EXIF only loses the orientation, not the image
        return 1


def _grayscale(image, factor: int = 1) -> tuple:
    """Any Pillow mode to 8-bit grayscale ``L`` box-averaged by ``factor``, light ink kept light: ``(image, notes)``."""
    mode = image.mode
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info)
    image = _reducible(image)
    if image.mode in ("I", "F"):
        image, how = _scale_numbers(_shrink(image, factor), mode)
        return image, [f"{mode} -> grayscale ({how})"]
    if has_alpha:
        image, note = _alpha_to_grayscale(image, mode, factor)
        return image, [note]
    image = _shrink(image, factor)
    if image.mode == "LAB":
        image = image.getchannel("L")  # the lightness band; Pillow cannot convert LAB to L
    elif image.mode != "L":
        image = image.convert("L")
    return image, ([] if mode == "L" else [f"{mode} -> grayscale"])


def working_grayscale(image) -> tuple:
    """A Pillow image of any size and mode as upright 8-bit grayscale of at most 447 px: ``(image, notes, size)``.

    The first step of :func:`image_to_digit`, for callers that need more
    than 28 pixels (:mod:`cae_lib.handwriting` crops a photo to its ink
    first). The image is turned to grayscale as there (light ink kept light,
    nothing inverted), box-averaged by a whole factor when it is longer than
    447 pixels, and turned upright by its EXIF orientation.

    Returns:
        ``(image, notes, (width, height))``: a Pillow ``L`` image; the changes
        in words; the upright size before any shrinking.

    Raises:
        ImageReadError: More than ``MAX_IMAGE_PIXELS`` pixels, or float pixels that are NaN or infinite.
    """
    from PIL import Image

    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageReadError(
            f"{width}x{height} is {width * height:,} pixels, more than the {MAX_IMAGE_PIXELS:,} a digit's "
            "image may have: crop or shrink it first"
        )
    orientation = _orientation(image)
    # Everything here works on the image box-averaged to at most 447 px: no copy of a large image is made.
    image, notes = _grayscale(image, max(width, height) // _WORKING_SIDE)
    if orientation in _ORIENTATIONS:
        image = image.transpose(getattr(Image.Transpose, _ORIENTATIONS[orientation]))
        notes.append(f"turned upright (EXIF orientation {orientation})")
        if orientation >= 5:
            width, height = height, width
    return image, notes, (width, height)


def image_to_digit(image, *, invert: str = "auto") -> tuple[np.ndarray, list[str]]:
    """Convert a Pillow image of any size and mode to a 28x28 uint8 MNIST-style digit.

    The image is turned to grayscale (16-bit and float pixels scaled to
    0-255, ink drawn in an alpha channel taken as the ink), resized so its
    longer side is 28 pixels (keeping its proportions) and padded to 28x28
    with its background colour. MNIST digits are light on a dark background;
    with ``invert="auto"`` an image whose border is mostly light (ink on
    paper) is inverted. An image longer than 447 pixels is first
    box-averaged by a whole factor, so no full-size copy of it is made
    beyond one band (decisions about alpha are taken from Pillow's
    histograms of the full image); an EXIF orientation is applied.

    Args:
        image: A ``PIL.Image.Image`` (its first frame, for an animation).
        invert: ``"auto"``, ``"yes"`` or ``"no"``.

    Returns:
        ``(digit, notes)``: ``digit`` a uint8 array of shape (28, 28);
        ``notes`` a list of str saying what was changed, in words (empty when
        the image was already a 28x28 grayscale digit).

    Raises:
        ValueError: If ``invert`` is not one of the three values above, or
            (``ImageReadError``) the image has more than ``MAX_IMAGE_PIXELS``
            pixels, or float pixels that are NaN or infinite.

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
    image, notes, (width, height) = working_grayscale(image)
    pixels = np.asarray(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    do_invert = invert == "yes" or (invert == "auto" and np.median(border) > 127)
    if do_invert:
        image = ImageOps.invert(image)
        notes.append("inverted (dark digit on light background)")
    if (width, height) != (IMAGE_SIZE, IMAGE_SIZE):
        fill = int(np.median(np.asarray(image)[0]))  # the background, from the top row
        side = max(width, height)
        new_w, new_h = max(1, round(width * IMAGE_SIZE / side)), max(1, round(height * IMAGE_SIZE / side))
        if image.size != (new_w, new_h):
            image = image.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
        if (new_w, new_h) != (width, height):
            notes.append(f"resized {width}x{height} -> {new_w}x{new_h} (longer side 28, proportions kept)")
        if (new_w, new_h) != (IMAGE_SIZE, IMAGE_SIZE):
            square = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), fill)
            square.paste(image, ((IMAGE_SIZE - new_w) // 2, (IMAGE_SIZE - new_h) // 2))
            image = square
            notes.append(f"padded {new_w}x{new_h} to 28x28")
    return np.asarray(image, dtype=np.uint8).copy(), notes


_NPY_FORTRAN_BYTES = 64 * 2**20
"""The most data a Fortran-ordered ``.npy`` may hold (it is read whole; C order is read in chunks)."""


def _npy_header(path: Path, handle) -> tuple:
    """``(shape, dtype, data offset)`` from a ``.npy`` header, every claim checked before any data is read."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(handle)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f".npy format version {version[0]}.{version[1]} (digits are saved as 1.0)")
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran_order, dtype = read(handle)
    except (ValueError, TypeError, SyntaxError, OverflowError, EOFError) as exc:  # numpy's header errors
        raise ImageReadError(f"{path}: not a .npy file of digits ({exc})") from None
    if any(dim < 0 for dim in shape):
        raise ImageReadError(f"{path}: the .npy header declares a negative dimension (shape {shape})")
    if dtype.hasobject or dtype.fields is not None:
        raise ImageReadError(f"{path}: holds Python objects or records ({dtype}), not pixels")
    if dtype != np.uint8 and dtype.kind != "f":
        raise ImageReadError(f"{path}: holds {dtype} values; digits are uint8 pixels or floats in [0, 1]")
    offset = handle.tell()
    size = math.prod(shape) * dtype.itemsize  # Python ints: no overflow whatever the header says
    if offset + size > path.stat().st_size:
        raise ImageReadError(
            f"{path}: truncated: the .npy header declares {size:,} bytes of data, the file holds "
            f"{path.stat().st_size - offset:,}"
        )
    if fortran_order and size > _NPY_FORTRAN_BYTES:
        raise ImageReadError(
            f"{path}: {size:,} bytes in Fortran order, more than the {_NPY_FORTRAN_BYTES:,} read at once "
            "(save it with np.save(path, np.ascontiguousarray(x)))"
        )
    return shape, fortran_order, dtype, offset


def _npy_count(shape: tuple) -> int | None:
    """How many digits an array of ``shape`` holds (the shapes :func:`~cae_lib.images.image_batch` takes), or None."""
    digit = (IMAGE_SIZE, IMAGE_SIZE)
    if shape in (digit, (*digit, 1)):
        return 1
    if shape[1:] in (digit, (*digit, 1)):
        return shape[0]
    return None


def _read_npy(path: Path, max_images: int) -> tuple[np.ndarray, list[str]]:
    """A ``.npy`` batch of digits: its header checked before anything is read, read and converted in chunks.

    Memory is the uint8 result plus one chunk of ``_CHUNK`` digits: the data
    is read with ordinary file reads, not memory-mapped, so a large float
    file does not stay resident.
    """
    floats = False
    with open(path, "rb") as handle:
        shape, fortran_order, dtype, offset = _npy_header(path, handle)
        count = _npy_count(shape)
        if count is None:
            try:  # the library's own message, from a zero-stride view of the declared shape (no memory)
                image_batch(np.broadcast_to(np.zeros((), dtype), shape), name="the array", unit_range=False)
                problem = f"shape {shape}"
            except ValueError as exc:
                problem = str(exc)
            raise ImageReadError(f"{path}: not a .npy file of digits ({problem})")
        if count > max_images:
            raise ImageReadError(
                f"{path}: holds {count:,} digits, more than the {max_images:,} one run takes "
                "(split the file, or raise the limit)"
            )
        digits = np.empty((count, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        if fortran_order:
            whole = np.fromfile(handle, dtype, count=math.prod(shape)).reshape(shape, order="F")
            chunks = [(0, whole.reshape(count, IMAGE_SIZE, IMAGE_SIZE))]
        else:
            chunks = (
                (start, np.fromfile(handle, dtype, count=min(_CHUNK, count - start) * IMAGE_SIZE**2))
                for start in range(0, count, _CHUNK)
            )
        for start, chunk in chunks:
            chunk = chunk.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
            if dtype != np.uint8:
                floats = True
                low, high = (chunk.min(), chunk.max()) if chunk.size else (0, 0)
                if not (np.isfinite(low) and np.isfinite(high) and 0 <= low and high <= 1):
                    raise ImageReadError(
                        f"{path}: float pixels must lie in [0, 1]; digits {start:,} to "
                        f"{start + len(chunk) - 1:,} hold {low:g} to {high:g}"
                    )
                chunk = to_uint8(chunk)
            digits[start : start + len(chunk)] = chunk
    return digits, (["float [0, 1] -> uint8"] if floats else [])


def read_digits(
    path: str | os.PathLike, *, invert: str = "auto", max_images: int = MAX_INPUT_IMAGES
) -> tuple[np.ndarray, list[str]]:
    """Read one input file as a batch of uint8 digits ``(n, 28, 28)``.

    ``.npy`` files hold ``(28, 28)`` or ``(n, 28, 28)`` (or ``(n, 28, 28, 1)``)
    uint8 pixels or floats in [0, 1]; any other file is opened with Pillow
    (PNG, JPEG, ...) and converted by :func:`image_to_digit`; of a
    multi-frame file (animated GIF or PNG, multi-page TIFF) the first frame
    is used and a note says so. Memory follows what the file really needs:
    an image's size is checked from its header before its pixels are
    decoded (``MAX_IMAGE_PIXELS``); a ``.npy``'s header (shape, type, and
    the size it claims against the file's) before any data is read, its
    digit count against ``max_images``, then it is read in chunks of
    8,192 digits.

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
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    if not path.is_file():
        raise ImageReadError(
            f"{path}: is {'a folder' if path.is_dir() else 'not a regular file'}, not an image"
        )
    if path.suffix.lower() == ".npy":
        return _read_npy(path, max_images)
    digit, notes = _open_image(path, lambda image: image_to_digit(image, invert=invert))
    return digit[np.newaxis], notes


def _open_image(source, convert) -> tuple:
    """``convert(image)`` of the image file ``source`` (a path, or its bytes), every read problem an ImageReadError.

    ``convert`` returns ``(result, notes)``; a note is added for a multi-frame file (its first frame is used).
    """
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    name = "the image" if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
    opened = io.BytesIO(bytes(source)) if name == "the image" else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(opened) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageReadError(
                        f"{name}: {width}x{height} is {width * height:,} pixels, more than the "
                        f"{MAX_IMAGE_PIXELS:,} a digit's image may have: crop or shrink it first"
                    )
                animated = getattr(image, "is_animated", False)  # n_frames would decode every frame
                image.load()
                result, notes = convert(image)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(f"{name}: not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{name}: refused as a decompression bomb ({exc})") from None
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        MemoryError,
    ) as exc:  # truncated or corrupt image data
        raise ImageReadError(f"{name}: unreadable image ({exc})") from None
    if animated:
        notes.insert(0, "first frame used (the file holds several)")
    return result, notes


def read_grayscale(source) -> tuple[np.ndarray, list[str]]:
    """Read an image file (a path, or the file's bytes, e.g. an upload) as upright uint8 grayscale.

    The same checks as :func:`read_digits` (size from the header before
    decoding, decompression bombs, corrupt data) and the same conversion
    as :func:`image_to_digit`'s first step (:func:`working_grayscale`): an
    image longer than 447 pixels is box-averaged by a whole factor, so a
    phone photo takes little memory. Nothing is inverted or resized to 28:
    :func:`cae_lib.handwriting.mnist_preprocess` does that from here.

    Returns:
        ``(pixels, notes)``: uint8 ``(height, width)``, at most 447 px on its
        longer side; the conversions applied, in words.

    Raises:
        FileNotFoundError: A path that does not exist.
        ImageReadError: Not a readable image, or too large; the message names the file.
    """

    def convert(image):
        gray, notes, (width, height) = working_grayscale(image)
        if gray.size != (width, height):
            notes.append(f"box-averaged {width}x{height} -> {gray.size[0]}x{gray.size[1]}")
        return np.asarray(gray, dtype=np.uint8).copy(), notes

    if not isinstance(source, (bytes, bytearray, memoryview)):
        source = Path(source)
        if not source.exists():
            raise FileNotFoundError(f"{source}: file not found")
        if not source.is_file():
            raise ImageReadError(f"{source}: is not a regular file, not an image")
    return _open_image(source, convert)


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
