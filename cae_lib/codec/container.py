"""The ``.cae`` container: framing, header and checksum, as pure bytes (no TensorFlow, no model).

Format version 1 (16 bytes of overhead for a single digit)::

    offset  size  field
    0       2     magic b"CA"
    2       1     format version (1)
    3       4     model id: first 4 bytes of a SHA-256 of the prior, which fingerprints encoder and decoder
    7       1-5   number of images, unsigned LEB128
    .       1     image height
    .       1     image width
    .       2     quantisation step, IEEE 754 half precision, little-endian
    .       n     payload: the range coder's 32-bit words, little-endian, trailing zero bytes dropped
    end-4   4     CRC-32 of every byte before it, little-endian

:func:`read_header` checks everything that can be checked without the
model; what the payload holds is :mod:`cae_lib.codec.entropy`'s business.

Example:
    >>> from cae_lib.codec.container import pack, read_header
    >>> data = pack(b"\\x01\\x02\\x03\\x04", count=1, step=1.0, payload=b"\\x2a")
    >>> len(data), read_header(data).payload_bytes
    (17, 1)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..data import IMAGE_SIZE

MAGIC = b"CA"
FORMAT_VERSION = 1
MODEL_ID_BYTES = 4
CHECKSUM_BYTES = 4
SUFFIX = ".cae"
DEFAULT_STEP = 1.0
MAX_IMAGES = 2**24
"""The most images the format allows in one file (the count field's limit)."""
DEFAULT_MAX_IMAGES = 100_000
"""The most images :func:`cae_lib.codec.decompress` decodes unless told otherwise (78 MB of uint8 digits)."""
_COUNT_START = len(MAGIC) + 1 + MODEL_ID_BYTES
SMALLEST_FILE = _COUNT_START + 1 + 2 + 2 + CHECKSUM_BYTES
"""Bytes of a file with an empty payload and a one-byte count (16)."""


class CodecError(ValueError):
    """Base class of every error :func:`cae_lib.codec.decompress` raises for bad bytes or a wrong model."""


class NotACaeFileError(CodecError):
    """The data does not start with the ``.cae`` magic bytes."""


class UnsupportedVersionError(CodecError):
    """The file was written by a format version this library cannot read."""


class TruncatedFileError(CodecError):
    """The data ends before its header does."""


class ChecksumError(CodecError):
    """The CRC-32 does not match: the file is corrupt, truncated or was altered."""


class ModelMismatchError(CodecError):
    """The file was written with a different model than the one given."""


class CorruptPayloadError(CodecError):
    """The header is valid but the payload does not decode under the model."""


class TooManyImagesError(CodecError):
    """The file states more images than the caller allows (``max_images``)."""


@dataclass(frozen=True)
class Header:
    """The fields of a ``.cae`` container, as read by :func:`read_header`."""

    version: int
    model_id: bytes
    count: int
    height: int
    width: int
    step: float
    header_bytes: int
    """Bytes that are not payload: the header fields and the checksum."""
    payload_bytes: int
    total_bytes: int

    @property
    def payload_start(self) -> int:
        """Offset of the first payload byte."""
        return self.header_bytes - CHECKSUM_BYTES

    @property
    def bits_per_pixel(self) -> float:
        pixels = self.count * self.height * self.width
        return 8 * self.total_bytes / pixels if pixels else float("nan")

    @property
    def bytes_per_image(self) -> float:
        return self.total_bytes / self.count if self.count else float("nan")


def varint(n: int) -> bytes:
    """Unsigned LEB128: 7 bits a byte, least significant first, high bit set on all but the last.

    Example:
        >>> varint(300).hex()
        'ac02'
    """
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(data: bytes, offset: int) -> tuple[int, int]:
    """Read an unsigned LEB128 of at most 5 bytes at ``offset``; return ``(value, next offset)``."""
    value = shift = 0
    for i in range(5):
        if offset + i >= len(data):
            raise TruncatedFileError("the data ends inside the image count")
        byte = data[offset + i]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset + i + 1
    raise CodecError("the image count is longer than 5 bytes")


def checked_step(step) -> float:
    """The quantisation step as it will be stored (half precision), checked.

    Raises:
        ValueError: ``step`` is not a positive number that half precision holds.

    Example:
        >>> checked_step(0.3)
        0.300048828125
    """
    try:
        value = float(step)
    except (TypeError, ValueError):
        raise ValueError(f"`step` must be a positive number. Received: step={step!r}") from None
    ok = np.isfinite(value) and 0 < value <= float(np.finfo(np.float16).max)
    stored = float(np.float16(value)) if ok else 0.0
    if not stored > 0:
        raise ValueError(
            f"`step` must be a positive number representable in half precision "
            f"(about 6e-5 to 65504). Received: step={step!r}"
        )
    return stored


def pack(model_id: bytes, *, count: int, step: float, payload: bytes,
         height: int = IMAGE_SIZE, width: int = IMAGE_SIZE) -> bytes:  # fmt: skip
    """Frame a payload: header, payload, CRC-32. The inverse of :func:`read_header`.

    Args:
        model_id: The codec model's ``MODEL_ID_BYTES``-byte id.
        count: Number of images the payload codes.
        step: Quantisation step (stored in half precision).
        payload: The range coder's bytes.
        height: Image height in pixels.
        width: Image width in pixels.

    Returns:
        The complete file.
    """
    if len(model_id) != MODEL_ID_BYTES:
        raise ValueError(f"`model_id` must be {MODEL_ID_BYTES} bytes. Received: {model_id!r}")
    if not 0 <= count <= MAX_IMAGES:
        raise ValueError(f"at most {MAX_IMAGES} images fit in one file. Received: count={count}")
    header = (
        MAGIC + bytes([FORMAT_VERSION]) + bytes(model_id) + varint(count)
        + bytes([height, width]) + np.float16(checked_step(step)).astype("<f2").tobytes()
    )  # fmt: skip
    body = header + bytes(payload)
    return body + struct.pack("<I", zlib.crc32(body))


def read_header(data: bytes, *, max_images: int | None = None) -> Header:
    """Parse and check a ``.cae`` container's framing without needing the model.

    Checks the magic bytes, the version, the length, the CRC-32 and the
    header's fields; reads no payload and allocates nothing that depends
    on the stated image count.

    Args:
        data: The whole file.
        max_images: Refuse files that state more images than this
            (None: only the format's own limit, ``MAX_IMAGES``).

    Returns:
        The parsed :class:`Header`.

    Raises:
        NotACaeFileError: Wrong magic bytes.
        UnsupportedVersionError: A format version this library cannot read.
        TruncatedFileError: The data ends inside the header.
        ChecksumError: The CRC-32 does not match.
        TooManyImagesError: More images than ``max_images``.
        CodecError: Any other impossible header field.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"`data` must be bytes. Received: type={type(data).__name__}")
    data = bytes(data)
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise NotACaeFileError(f"not a .cae file (starts with {data[:4]!r}, expected {MAGIC!r})")
    if len(data) < 3:
        raise TruncatedFileError("the data ends before the format version")
    if data[2] != FORMAT_VERSION:
        raise UnsupportedVersionError(
            f".cae format version {data[2]} is not supported (this library reads version {FORMAT_VERSION})"
        )
    if len(data) < SMALLEST_FILE:
        raise TruncatedFileError(
            f"{len(data)} bytes is shorter than the smallest .cae file ({SMALLEST_FILE} bytes)"
        )
    body, stored_crc = data[:-CHECKSUM_BYTES], struct.unpack("<I", data[-CHECKSUM_BYTES:])[0]
    if zlib.crc32(body) != stored_crc:
        raise ChecksumError("checksum mismatch: the file is corrupt, truncated or was modified")
    ident = body[3:_COUNT_START]
    count, offset = read_varint(body, _COUNT_START)
    if offset + 4 > len(body):
        raise TruncatedFileError("the data ends inside the header")
    height, width = body[offset], body[offset + 1]
    step = float(np.frombuffer(body[offset + 2 : offset + 4], dtype="<f2")[0])
    offset += 4
    if not (np.isfinite(step) and step > 0):
        raise CodecError(f"invalid quantisation step {step} in the header")
    if count > MAX_IMAGES:
        raise CodecError(f"image count {count} exceeds the format's limit of {MAX_IMAGES}")
    if max_images is not None and count > max_images:
        raise TooManyImagesError(
            f"the file states {count:,} images, more than the {max_images:,} allowed "
            "(raise max_images, or --max-images on the command line, if you trust it)"
        )
    return Header(
        version=data[2], model_id=ident, count=count, height=height, width=width, step=step,
        header_bytes=offset + CHECKSUM_BYTES, payload_bytes=len(body) - offset, total_bytes=len(data),
    )  # fmt: skip


def payload_of(data: bytes, header: Header) -> bytes:
    """The payload bytes of a file whose header :func:`read_header` returned."""
    return bytes(data)[header.payload_start : header.total_bytes - CHECKSUM_BYTES]


def layout(data: bytes) -> list[dict]:
    """The fields of a ``.cae`` file byte by byte: offset, size, name, hex bytes and meaning.

    Checks the file like :func:`read_header` first. Handy for teaching and for
    debugging a file by eye.

    Example:
        >>> data = pack(b"\\x01\\x02\\x03\\x04", count=1, step=1.0, payload=b"\\x2a")
        >>> [(row["offset"], row["size"], row["field"]) for row in layout(data)][3:5]
        [(7, 1, 'image count'), (8, 1, 'height')]
    """
    header = read_header(data)
    data = bytes(data)
    count_end = _COUNT_START + len(varint(header.count))
    fields = [
        (0, 2, "magic", "b'CA': this is a .cae file"),
        (2, 1, "version", f"format version {header.version}"),
        (3, MODEL_ID_BYTES, "model id", "which encoder, prior and decoder (a SHA-256 prefix)"),
        (_COUNT_START, count_end - _COUNT_START, "image count", f"{header.count} (LEB128)"),
        (count_end, 1, "height", f"{header.height} pixels"),
        (count_end + 1, 1, "width", f"{header.width} pixels"),
        (count_end + 2, 2, "step", f"{header.step:g} (float16)"),
        (header.payload_start, header.payload_bytes, "payload", "range-coded symbols"),
        (header.total_bytes - CHECKSUM_BYTES, CHECKSUM_BYTES, "CRC-32", "checksum of all bytes before it"),
    ]
    return [
        {"offset": o, "size": n, "field": name, "hex": data[o : o + n].hex(" "), "meaning": meaning}
        for o, n, name, meaning in fields
    ]
