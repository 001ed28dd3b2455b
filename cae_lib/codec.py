"""The course codec: autoencoder latents, quantised and entropy-coded into a real ``.cae`` file.

Pipeline (:func:`compress`)::

    uint8 digits -> encoder -> latent z -> y = (z - loc) @ rotation -> symbols k = round(y / step)
      -> range coder (constriction) under the model's per-dimension prior -> container bytes

and back (:func:`decompress`)::

    container bytes -> checks -> range decoder -> z_hat = (k * step) @ rotation.T + loc -> decoder -> digits

The prior is the :class:`~cae_lib.layers.LatentPrior` stored inside the model:
a Gaussian fitted on the training latents. The latent ``z`` is first centred
and rotated onto its principal axes, ``y = (z - loc) @ rotation``, so that the
coordinates of ``y`` are uncorrelated and can be coded one by one. A symbol
``k = round(y[d] / step)`` costs ``-log2 P(k)`` bits, with ``P`` the
zero-mean Gaussian of standard deviation ``scale[d] / step`` integrated over
``[k - 1/2, k + 1/2]``. A larger ``step`` (the quality knob) means fewer, more
probable symbols: fewer bytes and a coarser reconstruction.

Container, format version 1 (16 bytes of overhead for a single digit)::

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

Sizes reported by this module (:func:`measure`) are lengths of these bytes,
never estimates; the ideal code length under the prior is reported next to
them so the coder's overhead is visible.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"CA"
FORMAT_VERSION = 1
MODEL_ID_BYTES = 4
CHECKSUM_BYTES = 4
SUFFIX = ".cae"
DEFAULT_STEP = 1.0
PRIOR_SPAN = 16.0  # symbols are clipped to loc +- PRIOR_SPAN * scale: never reached by real digits
MAX_SYMBOL = 2**20
MAX_IMAGES = 2**24


class CodecError(ValueError):
    """Base class of every error :func:`decompress` raises for bad bytes or a wrong model."""


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


# --------------------------------------------------------------------------- model identity


def weights_digest(network) -> bytes:
    """First 16 bytes of SHA-256 over a network's weights (shapes included), as stored in a prior's fingerprint."""
    digest = hashlib.sha256()
    for weight in network.get_weights():
        array = np.ascontiguousarray(weight, dtype=np.float32)
        digest.update(struct.pack("<B", array.ndim) + struct.pack(f"<{array.ndim}I", *array.shape))
        digest.update(array.astype("<f4").tobytes())
    return digest.digest()[:16]


def model_id(model) -> bytes:
    """Identifier of a codec model: the first 4 bytes of SHA-256 over its prior's weights.

    The prior holds a fingerprint of the encoder and decoder it was fitted
    for (:meth:`cae_lib.layers.LatentPrior.set_fingerprint`), so the id covers
    encoder, prior and decoder, yet a sender holding only encoder and prior
    and a receiver holding only prior and decoder compute the same id. A
    retrained model, a refitted prior or a different latent size gives a
    different id. Works on a full codec model, a sender or a receiver
    (:func:`cae_lib.models.sender_of`, :func:`cae_lib.models.receiver_of`).
    """
    return hashlib.sha256(weights_digest(_prior(model)) + b"cae-prior").digest()[:MODEL_ID_BYTES]


def _prior(model):
    from .models import prior_of

    return prior_of(model)


def _checked(model, part: str):
    """The model's prior and its ``part`` ("encoder" or "decoder"), checked against the prior's fingerprint."""
    from .models import decoder_of, encoder_of

    prior = _prior(model)
    try:
        network = (encoder_of if part == "encoder" else decoder_of)(model)
    except ValueError:
        raise ValueError(
            f"model {model.name!r} has no {part}: "
            + (
                "compress needs a sender or codec model"
                if part == "encoder"
                else "decompress needs a receiver or codec model"
            )
        ) from None
    recorded = prior.encoder_digest if part == "encoder" else prior.decoder_digest
    if recorded is not None and recorded != weights_digest(network):
        raise ModelMismatchError(
            f"the {part} of model {model.name!r} is not the one its prior was fitted for "
            "(was it trained further?); refit the prior with cae_lib.models.attach_prior"
        )
    return prior, network


def load_model(path):
    """Load a codec, sender or receiver model saved as ``.keras`` (see :mod:`cae_lib.deploy`).

    Registers the course's prior layer first, so a script needs no other
    ``cae_lib`` import to load a model.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a loadable Keras model; the message names the file.
    """
    from pathlib import Path

    from . import layers

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        return layers.keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise ValueError(f"{path}: not a loadable Keras model ({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------- header


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
    payload_bytes: int
    total_bytes: int

    @property
    def bits_per_pixel(self) -> float:
        pixels = self.count * self.height * self.width
        return 8 * self.total_bytes / pixels if pixels else float("nan")

    @property
    def bytes_per_image(self) -> float:
        return self.total_bytes / self.count if self.count else float("nan")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
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


def _quantise_step(step) -> float:
    """The step as it will be stored (half precision), checked."""
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


def read_header(data: bytes) -> Header:
    """Parse and check a ``.cae`` container's framing without needing the model.

    Checks the magic bytes, the version, the length and the CRC-32.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    Header

    Raises
    ------
    NotACaeFileError, UnsupportedVersionError, TruncatedFileError, ChecksumError
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
    minimum = 3 + MODEL_ID_BYTES + 1 + 2 + 2 + CHECKSUM_BYTES
    if len(data) < minimum:
        raise TruncatedFileError(
            f"{len(data)} bytes is shorter than the smallest .cae file ({minimum} bytes)"
        )
    body, stored_crc = data[:-CHECKSUM_BYTES], struct.unpack("<I", data[-CHECKSUM_BYTES:])[0]
    if zlib.crc32(body) != stored_crc:
        raise ChecksumError("checksum mismatch: the file is corrupt, truncated or was modified")
    ident = body[3 : 3 + MODEL_ID_BYTES]
    count, offset = _read_varint(body, 3 + MODEL_ID_BYTES)
    if offset + 4 > len(body):
        raise TruncatedFileError("the data ends inside the header")
    height, width = body[offset], body[offset + 1]
    step = float(np.frombuffer(body[offset + 2 : offset + 4], dtype="<f2")[0])
    offset += 4
    if not (np.isfinite(step) and step > 0):
        raise CodecError(f"invalid quantisation step {step} in the header")
    if count > MAX_IMAGES:
        raise CodecError(f"image count {count} exceeds the format's limit of {MAX_IMAGES}")
    return Header(
        version=data[2], model_id=ident, count=count, height=height, width=width, step=step,
        header_bytes=offset + CHECKSUM_BYTES, payload_bytes=len(body) - offset, total_bytes=len(data),
    )  # fmt: skip


def layout(data: bytes) -> list[dict]:
    """The fields of a ``.cae`` file byte by byte: offset, size, name, hex bytes and meaning.

    Checks the file like :func:`read_header` first. Handy for teaching and for
    debugging a file by eye.
    """
    header = read_header(data)
    data = bytes(data)
    count_end = 3 + MODEL_ID_BYTES + len(_varint(header.count))
    payload_start = header.header_bytes - CHECKSUM_BYTES
    fields = [
        (0, 2, "magic", "b'CA': this is a .cae file"),
        (2, 1, "version", f"format version {header.version}"),
        (3, MODEL_ID_BYTES, "model id", "which encoder, prior and decoder (a SHA-256 prefix)"),
        (7, count_end - 7, "image count", f"{header.count} (LEB128)"),
        (count_end, 1, "height", f"{header.height} pixels"),
        (count_end + 1, 1, "width", f"{header.width} pixels"),
        (count_end + 2, 2, "step", f"{header.step:g} (float16)"),
        (payload_start, header.payload_bytes, "payload", "range-coded symbols"),
        (header.total_bytes - CHECKSUM_BYTES, CHECKSUM_BYTES, "CRC-32", "checksum of all bytes before it"),
    ]
    return [
        {"offset": o, "size": n, "field": name, "hex": data[o : o + n].hex(" "), "meaning": meaning}
        for o, n, name, meaning in fields
    ]


# --------------------------------------------------------------------------- entropy coding


def _symbol_model(prior_loc, prior_scale, step, count):
    """constriction model, per-symbol means/stds and the clipping range for ``count`` images."""
    import constriction

    loc = prior_loc / step
    scale = prior_scale / step
    low = int(np.clip(np.floor((loc - PRIOR_SPAN * scale).min()), -MAX_SYMBOL, MAX_SYMBOL))
    high = int(np.clip(np.ceil((loc + PRIOR_SPAN * scale).max()), -MAX_SYMBOL, MAX_SYMBOL))
    family = constriction.stream.model.QuantizedGaussian(low, high)
    return family, np.tile(loc, count), np.tile(scale, count), low, high


def ideal_bits(symbols: np.ndarray, prior_loc, prior_scale, step: float) -> float:
    """Ideal code length in bits of integer ``symbols`` ``(n, latent_dim)`` under the discretised Gaussian prior.

    This is what a perfect entropy coder would need: ``sum(-log2 P(k))``.
    """
    import tensorflow as tf

    symbols = np.asarray(symbols, dtype=np.float64)
    loc = np.asarray(prior_loc, np.float64) / step
    scale = np.asarray(prior_scale, np.float64) / step
    z_hi = (symbols + 0.5 - loc) / (scale * np.sqrt(2.0))
    z_lo = (symbols - 0.5 - loc) / (scale * np.sqrt(2.0))
    # P = (erf(z_hi) - erf(z_lo)) / 2, computed on the side where it does not cancel.
    flip = z_lo > 0
    hi = np.where(flip, -z_lo, z_hi)
    lo = np.where(flip, -z_hi, z_lo)
    prob = 0.5 * (tf.math.erfc(-hi).numpy() - tf.math.erfc(-lo).numpy())
    return float(-np.log2(np.maximum(prob, 1e-300)).sum())


def quantise(latents: np.ndarray, step: float) -> np.ndarray:
    """Uniform scalar quantisation: ``round(z / step)`` as int32 symbols."""
    return np.rint(np.asarray(latents, dtype=np.float64) / step).astype(np.int32)


def dequantise(symbols: np.ndarray, step: float) -> np.ndarray:
    """Back to the latent scale: the centre of each quantisation bin, ``k * step``."""
    return (np.asarray(symbols, dtype=np.float64) * step).astype(np.float32)


def latents_to_symbols(latents, model, step: float) -> np.ndarray:
    """Decorrelate latents with the model's prior and quantise them: int32 symbols ``(n, latent_dim)``."""
    prior = _prior(model)
    return quantise(prior.to_coordinates(latents), step)


def symbols_to_latents(symbols, model, step: float) -> np.ndarray:
    """Inverse of :func:`latents_to_symbols` up to the quantisation error: float32 latents."""
    prior = _prior(model)
    return prior.from_coordinates(dequantise(symbols, step)).astype(np.float32)


def symbol_bits(symbols, model, step: float) -> float:
    """Ideal code length in bits of ``symbols`` under the model's prior (see :func:`ideal_bits`)."""
    prior = _prior(model)
    scale = prior.scale_values
    return ideal_bits(symbols, np.zeros_like(scale), scale, step)


# --------------------------------------------------------------------------- images in and out


def _as_images(images) -> np.ndarray:
    """Check and convert input digits to float32 ``(n, 28, 28, 1)`` in [0, 1]."""
    arr = np.asarray(images)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 3 or arr.shape[1:] != (28, 28):
        raise ValueError(
            f"images must have shape (28, 28), (n, 28, 28) or (n, 28, 28, 1). Received: shape={np.shape(images)}"
        )
    if arr.dtype == np.uint8:
        return (arr.astype(np.float32) / 255.0)[..., np.newaxis]
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and (not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1):
            raise ValueError(
                "float images must lie in [0, 1] (uint8 images are scaled automatically). "
                f"Received: min={arr.min()}, max={arr.max()}"
            )
        return arr.astype(np.float32)[..., np.newaxis]
    raise TypeError(f"images must be uint8 or float in [0, 1]. Received: dtype={arr.dtype}")


def _run(network, inputs: np.ndarray, batch_size: int) -> np.ndarray:
    """Apply a Keras model batch by batch (see :func:`cae_lib.training.predict_in_batches`)."""
    from .training import predict_in_batches

    return predict_in_batches(network, inputs, batch_size=batch_size)


def encode_latents(images, model, *, batch_size: int = 1000) -> np.ndarray:
    """Run the model's encoder: digits in, float latents ``(n, latent_dim)`` out."""
    _, encoder = _checked(model, "encoder")
    x = _as_images(images)
    if len(x) == 0:
        return np.zeros((0, encoder.output_shape[-1]), np.float32)
    return _run(encoder, x, batch_size)


def decode_latents(latents, model, *, batch_size: int = 1000) -> np.ndarray:
    """Run the model's decoder: latents in, uint8 digits ``(n, 28, 28)`` out."""
    from .data import to_uint8

    _, decoder = _checked(model, "decoder")
    latents = np.asarray(latents, dtype=np.float32)
    if len(latents) == 0:
        return np.zeros((0, 28, 28), np.uint8)
    return to_uint8(_run(decoder, latents, batch_size))


# --------------------------------------------------------------------------- compress / decompress


def compress(images, model, *, step: float = DEFAULT_STEP) -> bytes:
    """Compress digits into the bytes of a ``.cae`` file.

    Parameters
    ----------
    images : array_like
        One digit ``(28, 28)`` or a batch ``(n, 28, 28)`` / ``(n, 28, 28, 1)``,
        uint8 (0-255) or float in [0, 1].
    model : keras.Model
        A codec model (encoder, prior, decoder), e.g. from
        :func:`cae_lib.pretrained.load_pretrained`.
    step : float, optional
        Quantisation step in latent units, the quality knob: larger is
        smaller and coarser. Stored in half precision.

    Returns
    -------
    bytes
        The complete file; ``len()`` of it is the real compressed size.

    Examples
    --------
    >>> data = compress(x_test[:1], model, step=1.0)  # doctest: +SKIP
    >>> digits = decompress(data, model)              # doctest: +SKIP
    """
    step = _quantise_step(step)
    x = _as_images(images)
    if len(x) > MAX_IMAGES:
        raise ValueError(f"at most {MAX_IMAGES} images fit in one file. Received: {len(x)} images")
    prior = _prior(model)
    symbols = latents_to_symbols(encode_latents(x, model), model, step) if len(x) else None
    payload = _encode_symbols(symbols, prior.scale_values, step, len(x))
    return _container(model_id(model), len(x), step, payload)


def compress_each(images, model, *, step: float = DEFAULT_STEP) -> list[bytes]:
    """Compress every digit into its own complete ``.cae`` file (one encoder pass for all).

    ``compress_each(x, m)[i] == compress(x[i], m)``; use it to measure what a
    single-digit file really costs, header and coder flush included.
    """
    step = _quantise_step(step)
    x = _as_images(images)
    prior = _prior(model)
    ident = model_id(model)
    scale = prior.scale_values
    symbols = latents_to_symbols(encode_latents(x, model), model, step) if len(x) else []
    return [_container(ident, 1, step, _encode_symbols(row[np.newaxis], scale, step, 1)) for row in symbols]


def _container(ident: bytes, count: int, step: float, payload: bytes) -> bytes:
    header = (
        MAGIC + bytes([FORMAT_VERSION]) + ident + _varint(count)
        + bytes([28, 28]) + np.float16(step).astype("<f2").tobytes()
    )  # fmt: skip
    body = header + payload
    return body + struct.pack("<I", zlib.crc32(body))


def _encode_symbols(symbols, scale, step, count) -> bytes:
    import constriction

    if count == 0:
        return b""
    family, means, stds, low, high = _symbol_model(np.zeros_like(scale), scale, step, count)
    encoder = constriction.stream.queue.RangeEncoder()
    encoder.encode(np.clip(symbols, low, high).astype(np.int32).ravel(), family, means, stds)
    return encoder.get_compressed().astype("<u4").tobytes().rstrip(b"\0")


def _decode_symbols(payload, scale, step, count) -> np.ndarray:
    import constriction

    if count == 0:
        return np.zeros((0, len(scale)), np.int32)
    family, means, stds, _, _ = _symbol_model(np.zeros_like(scale), scale, step, count)
    padded = payload + b"\0" * (-len(payload) % 4)
    words = np.frombuffer(padded, dtype="<u4").astype(np.uint32)
    try:
        decoder = constriction.stream.queue.RangeDecoder(words)
        symbols = decoder.decode(family, means, stds)
    except BaseException as exc:  # constriction reports invalid data with assertion errors
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise CorruptPayloadError(f"the payload does not decode under this model ({exc})") from None
    return np.asarray(symbols, dtype=np.int32).reshape(count, len(scale))


def decompress_latents(data: bytes, model) -> tuple[Header, np.ndarray]:
    """Check a ``.cae`` file against ``model`` and return its header and dequantised latents."""
    header = read_header(data)
    expected = model_id(model)
    if header.model_id != expected:
        raise ModelMismatchError(
            f"this file needs model {header.model_id.hex()} but the given model is {expected.hex()}; "
            "decode it with the model that wrote it"
        )
    if (header.height, header.width) != (28, 28):
        raise CodecError(f"images of {header.height}x{header.width} do not fit this 28x28 model")
    prior = _prior(model)
    payload = bytes(data)[header.header_bytes - CHECKSUM_BYTES : header.total_bytes - CHECKSUM_BYTES]
    symbols = _decode_symbols(payload, prior.scale_values, header.step, header.count)
    return header, symbols_to_latents(symbols, model, header.step)


def decompress(data: bytes, model) -> np.ndarray:
    """Decode a ``.cae`` file back into uint8 digits ``(n, 28, 28)``.

    Parameters
    ----------
    data : bytes
        A complete file from :func:`compress`.
    model : keras.Model
        The codec model that wrote it (checked through the model id).

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``(n, 28, 28)``.

    Raises
    ------
    CodecError
        Subclassed as NotACaeFileError, UnsupportedVersionError,
        TruncatedFileError, ChecksumError, ModelMismatchError or
        CorruptPayloadError; nothing else for bad bytes.
    """
    _, latents = decompress_latents(data, model)
    return decode_latents(latents, model)


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Measurement:
    """Real and ideal sizes of one compressed batch, with its quality."""

    count: int
    step: float
    total_bytes: int
    header_bytes: int
    payload_bytes: int
    ideal_payload_bits: float
    mean_psnr_db: float
    mean_ssim: float

    @property
    def bytes_per_image(self) -> float:
        return self.total_bytes / self.count

    @property
    def bits_per_pixel(self) -> float:
        return 8 * self.total_bytes / (self.count * 784)

    @property
    def coder_overhead(self) -> float:
        """Real payload over the ideal code length, minus 1 (0.01 = 1% more than ideal)."""
        return 8 * self.payload_bytes / self.ideal_payload_bits - 1


def measure(images, model, *, step: float = DEFAULT_STEP) -> Measurement:
    """Compress ``images`` for real, decompress, and report bytes and quality.

    Returns
    -------
    Measurement
        Real sizes (from ``len(compress(...))``), the ideal code length of
        the same symbols under the prior, and mean PSNR/SSIM of the decoded
        digits against the originals (uint8, data range 255).
    """
    from . import metrics

    x = _as_images(images)
    originals = np.rint(x[..., 0] * 255).astype(np.uint8)
    data = compress(originals, model, step=step)
    header = read_header(data)
    decoded = decompress(data, model)
    symbols = latents_to_symbols(encode_latents(originals, model), model, header.step)
    return Measurement(
        count=len(originals), step=header.step, total_bytes=len(data),
        header_bytes=header.header_bytes, payload_bytes=header.payload_bytes,
        ideal_payload_bits=symbol_bits(symbols, model, header.step),
        mean_psnr_db=metrics.mean_psnr(originals, decoded, data_range=255),
        mean_ssim=metrics.mean_ssim(originals, decoded, data_range=255),
    )  # fmt: skip
