"""The ``.cae`` container: framing, header and checksum, as pure bytes (no TensorFlow, no model).

Format version 2, written by :func:`pack` (11 bytes of overhead for a single
digit at the default step, 13 at any other step)::

    offset  size  field
    0       2     magic b"CA"
    2       1     format version (2) in the low 7 bits; bit 7 (0x80) set when a step field follows
    3       3     model id: the first 3 bytes of the model's 4-byte id (:func:`cae_lib.codec.model_id`)
    6       1-5   number of images, unsigned LEB128
    .       0|2   quantisation step, IEEE 754 half precision, little-endian; only when it is not 1
    .       n     payload: the range coder's 32-bit words, little-endian, trailing zero bytes dropped
    end-4   4     CRC-32 of every byte before it, little-endian

Format version 1, still read (and written by ``pack(..., version=1)``;
16 bytes of overhead for a single digit)::

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

Why version 2 is five bytes shorter for one digit:

* height and width (2 bytes) are gone: every codec model takes 28x28
  digits, so the model fixes them (:class:`Header` still reports 28x28);
* the step (2 bytes) is stored only when it differs from ``DEFAULT_STEP``
  (1.0), flagged by bit 7 of the version byte; a file that flags a step of
  exactly 1 is refused, since no writer makes one;
* the model id keeps the first 3 of its 4 bytes (1 byte): it guards against
  decoding with the wrong model by mistake, not against forgery, and a random
  other model now passes with probability 2^-24 (about 1 in 17 million,
  against 2^-32 in version 1; the shipped models' 3-byte prefixes all differ);
* the CRC-32 stays whole: it is what catches damage, and every single-bit
  error of a file is caught by it.

:func:`read_header` checks everything that can be checked without the
model; what the payload holds is :mod:`cae_lib.codec.entropy`'s business.

Example:
    >>> from cae_lib.codec.container import pack, read_header
    >>> data = pack(b"\\x01\\x02\\x03\\x04", count=1, step=1.0, payload=b"\\x2a")
    >>> len(data), read_header(data).header_bytes, read_header(data).payload_bytes
    (12, 11, 1)
    >>> read_header(pack(b"\\x01\\x02\\x03\\x04", count=1, step=0.5, payload=b"\\x2a")).header_bytes
    13
    >>> old = pack(b"\\x01\\x02\\x03\\x04", count=1, step=1.0, payload=b"\\x2a", version=1)
    >>> len(old), read_header(old).version, read_header(old).model_id.hex()
    (17, 1, '01020304')
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..data import IMAGE_SIZE

MAGIC = b"CA"
FORMAT_VERSION = 2
"""The version :func:`pack` writes."""
SUPPORTED_VERSIONS = (1, 2)
"""The versions :func:`read_header` reads."""
MODEL_ID_BYTES = 4
"""Length of a model's id (:func:`cae_lib.codec.model_id`)."""
STORED_ID_BYTES = {1: 4, 2: 3}
"""Bytes of the model id a file stores, by format version: a prefix of the model's id."""
CHECKSUM_BYTES = 4
STEP_FLAG = 0x80
"""Bit of the version byte (version 2) that says a step field follows the image count."""
_VERSION_BITS = 0x7F
SUFFIX = ".cae"
DEFAULT_STEP = 1.0
MAX_IMAGES = 2**24
"""The most images the format allows in one file (the count field's limit)."""
DEFAULT_MAX_IMAGES = 100_000
"""The most images :func:`cae_lib.codec.decompress` decodes unless told otherwise (78 MB of uint8 digits)."""
_COUNT_START = {version: len(MAGIC) + 1 + STORED_ID_BYTES[version] for version in SUPPORTED_VERSIONS}
_SMALLEST = {1: _COUNT_START[1] + 1 + 2 + 2 + CHECKSUM_BYTES, 2: _COUNT_START[2] + 1 + CHECKSUM_BYTES}
SMALLEST_FILE = _SMALLEST[2]
"""Bytes of the smallest file: version 2, empty payload, one-byte count, default step (11).

A version-1 file is at least 16 bytes (its height, width and step are always there)."""


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
    """The model id as stored: its first ``STORED_ID_BYTES[version]`` bytes (3 in version 2, 4 in version 1)."""
    count: int
    height: int
    """Image height (version 1 stores it; version 2 implies ``IMAGE_SIZE``)."""
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
            if i and not byte:  # a last byte of 0 adds nothing: the writer never makes one
                raise CodecError(
                    "the image count is not minimally encoded (a trailing zero byte in its LEB128)"
                )
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
    smallest, largest = float(np.finfo(np.float16).smallest_normal), float(np.finfo(np.float16).max)
    ok = np.isfinite(value) and 0 < value <= largest
    stored = float(np.float16(value)) if ok else 0.0
    if not smallest <= stored <= largest:
        raise ValueError(
            f"`step` must be a positive number that half precision holds without loss of precision "
            f"({smallest:.3g} to {largest:g}). Received: step={step!r}"
        )
    return stored


def pack(model_id: bytes, *, count: int, step: float, payload: bytes, version: int = FORMAT_VERSION,
         height: int = IMAGE_SIZE, width: int = IMAGE_SIZE) -> bytes:  # fmt: skip
    """Frame a payload: header, payload, CRC-32. The inverse of :func:`read_header`.

    Args:
        model_id: The codec model's ``MODEL_ID_BYTES``-byte id; version 2
            stores its first ``STORED_ID_BYTES[2]`` bytes, and also accepts
            just those (a :class:`Header`'s ``model_id``).
        count: Number of images the payload codes.
        step: Quantisation step (stored in half precision; version 2 omits
            it when it is ``DEFAULT_STEP``).
        payload: The range coder's bytes.
        version: Format version to write, one of ``SUPPORTED_VERSIONS``
            (version 1 only for tests and old tools).
        height: Image height in pixels (version 1 stores it; version 2
            only takes ``IMAGE_SIZE``).
        width: Image width in pixels (likewise).

    Returns:
        The complete file.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"`version` must be one of {SUPPORTED_VERSIONS}. Received: version={version!r}")
    stored = STORED_ID_BYTES[version]
    if len(model_id) not in (MODEL_ID_BYTES, stored):
        also = f" (or the {stored} a version-{version} file stores)" if stored != MODEL_ID_BYTES else ""
        raise ValueError(f"`model_id` must be {MODEL_ID_BYTES} bytes{also}. Received: {model_id!r}")
    if not 0 <= count <= MAX_IMAGES:
        raise ValueError(f"at most {MAX_IMAGES} images fit in one file. Received: count={count}")
    step = checked_step(step)
    step_bytes = np.float16(step).astype("<f2").tobytes()
    if version == 1:
        header = (
            MAGIC + bytes([1]) + bytes(model_id) + varint(count) + bytes([height, width]) + step_bytes
        )  # fmt: skip
    else:
        if (height, width) != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(
                f"format version 2 stores no image size: the model fixes {IMAGE_SIZE}x{IMAGE_SIZE}. "
                f"Received: height={height}, width={width}"
            )
        flagged = step != DEFAULT_STEP
        header = (
            MAGIC + bytes([2 | (STEP_FLAG if flagged else 0)]) + bytes(model_id)[:stored] + varint(count)
            + (step_bytes if flagged else b"")
        )  # fmt: skip
    body = header + bytes(payload)
    return body + struct.pack("<I", zlib.crc32(body))


def _read_step(body: bytes, offset: int) -> float:
    if offset + 2 > len(body):
        raise TruncatedFileError("the data ends inside the header")
    step = float(np.frombuffer(body[offset : offset + 2], dtype="<f2")[0])
    if not (np.isfinite(step) and step >= float(np.finfo(np.float16).smallest_normal)):
        raise CodecError(f"invalid quantisation step {step:g} in the header (no writer stores it)")
    return step


def read_header(data: bytes, *, max_images: int | None = None) -> Header:
    """Parse and check a ``.cae`` container's framing without needing the model.

    Reads format versions 1 and 2 (``SUPPORTED_VERSIONS``). Checks the
    magic bytes, the version and its flags, the length, the CRC-32 and the
    header's fields; reads no payload and allocates nothing that depends
    on the stated image count.

    Args:
        data: The whole file.
        max_images: Refuse files that state more images than this
            (None: only the format's own limit, ``MAX_IMAGES``).

    Returns:
        The parsed :class:`Header`; its ``model_id`` is the stored prefix
        of the model's id (``STORED_ID_BYTES[version]`` bytes), its height
        and width are ``IMAGE_SIZE`` for version 2.

    Raises:
        NotACaeFileError: Wrong magic bytes.
        UnsupportedVersionError: A format version this library cannot read.
        TruncatedFileError: The data ends inside the header.
        ChecksumError: The CRC-32 does not match.
        TooManyImagesError: More images than ``max_images``.
        CodecError: Any other impossible header field (unknown flag bits,
            an invalid step, a version-2 step field that holds the default).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"`data` must be bytes. Received: type={type(data).__name__}")
    data = bytes(data)
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise NotACaeFileError(f"not a .cae file (starts with {data[:4]!r}, expected {MAGIC!r})")
    if len(data) < 3:
        raise TruncatedFileError("the data ends before the format version")
    version, flags = data[2] & _VERSION_BITS, data[2] & STEP_FLAG
    if version not in SUPPORTED_VERSIONS:
        readable = " and ".join(map(str, SUPPORTED_VERSIONS))
        raise UnsupportedVersionError(
            f"version byte {data[2]:#04x}: .cae format version {version} is not supported "
            f"(this library reads versions {readable})"
        )
    if version == 1 and flags:
        raise CodecError(
            f"unknown flag bits {flags:#04x} in a format version 1 file (version 1 has no flags)"
        )
    smallest = _SMALLEST[version] + (2 if flags else 0)
    if len(data) < smallest:
        raise TruncatedFileError(
            f"{len(data)} bytes is shorter than the smallest .cae version {version} file "
            f"({smallest} bytes{' with a step field' if flags else ''})"
        )
    body, stored_crc = data[:-CHECKSUM_BYTES], struct.unpack("<I", data[-CHECKSUM_BYTES:])[0]
    if zlib.crc32(body) != stored_crc:
        raise ChecksumError("checksum mismatch: the file is corrupt, truncated or was modified")
    ident = body[3 : _COUNT_START[version]]
    count, offset = read_varint(body, _COUNT_START[version])
    if version == 1:
        if offset + 4 > len(body):
            raise TruncatedFileError("the data ends inside the header")
        height, width = body[offset], body[offset + 1]
        step = _read_step(body, offset + 2)
        offset += 4
    else:
        height = width = IMAGE_SIZE
        step = DEFAULT_STEP
        if flags:
            step = _read_step(body, offset)
            offset += 2
            if step == DEFAULT_STEP:
                raise CodecError(
                    f"the header stores the default step {DEFAULT_STEP:g}, which a version 2 file omits"
                )
    if len(body) > offset and body[-1] == 0:
        raise CodecError(
            "the payload ends with a zero byte, which the writer always drops: not a canonical file"
        )
    if count > MAX_IMAGES:
        raise CodecError(f"image count {count} exceeds the format's limit of {MAX_IMAGES}")
    if max_images is not None and count > max_images:
        raise TooManyImagesError(
            f"the file states {count:,} images, more than the {max_images:,} allowed "
            "(raise max_images, or --max-images on the command line, if you trust it)"
        )
    return Header(
        version=version, model_id=ident, count=count, height=height, width=width, step=step,
        header_bytes=offset + CHECKSUM_BYTES, payload_bytes=len(body) - offset, total_bytes=len(data),
    )  # fmt: skip


def payload_of(data: bytes, header: Header) -> bytes:
    """The payload bytes of a file whose header :func:`read_header` returned."""
    return bytes(data)[header.payload_start : header.total_bytes - CHECKSUM_BYTES]


def layout(data: bytes) -> list[dict]:
    """The fields of a ``.cae`` file byte by byte: offset, size, name, hex bytes and meaning.

    Checks the file like :func:`read_header` first. Handy for teaching and for
    debugging a file by eye. Lists the fields the file really has: a
    version-2 file has no height and width, and a step only when it is not
    the default.

    Example:
        >>> data = pack(b"\\x01\\x02\\x03\\x04", count=1, step=1.0, payload=b"\\x2a")
        >>> [(row["offset"], row["size"], row["field"]) for row in layout(data)]  # doctest: +NORMALIZE_WHITESPACE
        [(0, 2, 'magic'), (2, 1, 'version'), (3, 3, 'model id'), (6, 1, 'image count'),
         (7, 1, 'payload'), (8, 4, 'CRC-32')]
        >>> [row["field"] for row in layout(pack(b"\\x01\\x02\\x03\\x04", count=1, step=0.5, payload=b""))]
        ['magic', 'version', 'model id', 'image count', 'step', 'payload', 'CRC-32']
        >>> old = pack(b"\\x01\\x02\\x03\\x04", count=1, step=1.0, payload=b"", version=1)
        >>> [row["field"] for row in layout(old)]  # doctest: +NORMALIZE_WHITESPACE
        ['magic', 'version', 'model id', 'image count', 'height', 'width', 'step', 'payload',
         'CRC-32']
    """
    header = read_header(data)
    data = bytes(data)
    count_start = _COUNT_START[header.version]
    count_end = count_start + len(varint(header.count))
    id_bytes = STORED_ID_BYTES[header.version]
    if header.version == 1:
        fields = [
            (2, 1, "version", "format version 1"),
            (3, id_bytes, "model id", "which encoder, prior and decoder (a SHA-256 prefix)"),
            (count_start, count_end - count_start, "image count", f"{header.count} (LEB128)"),
            (count_end, 1, "height", f"{header.height} pixels"),
            (count_end + 1, 1, "width", f"{header.width} pixels"),
            (count_end + 2, 2, "step", f"{header.step:g} (float16)"),
        ]
    else:
        flagged = bool(data[2] & STEP_FLAG)
        flag_meaning = "0x80 set: a step field follows" if flagged else f"0x80 clear: step {DEFAULT_STEP:g}"
        fields = [
            (2, 1, "version", f"format version {header.version}; flag {flag_meaning}"),
            (3, id_bytes, "model id", f"which encoder, prior and decoder (the id's first {id_bytes} bytes)"),
            (count_start, count_end - count_start, "image count", f"{header.count} (LEB128)"),
        ]
        if flagged:
            fields.append((count_end, 2, "step", f"{header.step:g} (float16)"))
    fields = [
        (0, 2, "magic", "b'CA': this is a .cae file"),
        *fields,
        (header.payload_start, header.payload_bytes, "payload", "range-coded symbols"),
        (header.total_bytes - CHECKSUM_BYTES, CHECKSUM_BYTES, "CRC-32", "checksum of all bytes before it"),
    ]
    return [
        {"offset": o, "size": n, "field": name, "hex": data[o : o + n].hex(" "), "meaning": meaning}
        for o, n, name, meaning in fields
    ]
