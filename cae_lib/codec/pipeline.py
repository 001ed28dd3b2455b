"""Digits to bytes and back: the encoder, the prior's transform, the entropy coder and the container joined.

Pipeline (:func:`compress`)::

    uint8 digits -> encoder -> latent z -> y = (z - loc) @ rotation -> symbols k = round(y / step)
      -> range coder (constriction) under the model's per-dimension prior -> container bytes

and back (:func:`decompress`)::

    container bytes -> checks -> range decoder -> z_hat = (k * step) @ rotation.T + loc -> decoder -> digits

Sizes reported here (:func:`measure`) are lengths of real bytes, never
estimates; the ideal code length under the prior is reported next to them so
the coder's overhead is visible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import data as _data
from . import container, entropy
from .container import DEFAULT_MAX_IMAGES, DEFAULT_STEP, CodecError, ModelMismatchError
from .lite import LiteModel


def _prior(model):
    """The model's prior: a :class:`~cae_lib.layers.LatentPrior`, or a LiteModel's NumPy one."""
    if isinstance(model, LiteModel):
        return model.prior
    from .assembly import prior_of  # Keras models only: TensorFlow is imported here, not before

    return prior_of(model)


def _model_id(model) -> bytes:
    if isinstance(model, LiteModel):
        return model.model_id
    from .assembly import model_id

    return model_id(model)


def latents_to_symbols(latents, model, step: float) -> np.ndarray:
    """Decorrelate latents with the model's prior and quantise them: int32 symbols ``(n, latent_dim)``."""
    return entropy.quantise(_prior(model).to_coordinates(latents), step)


def symbols_to_latents(symbols, model, step: float) -> np.ndarray:
    """Inverse of :func:`latents_to_symbols` up to the quantisation error: float32 latents."""
    return _prior(model).from_coordinates(entropy.dequantise(symbols, step)).astype(np.float32)


def symbol_bits(symbols, model, step: float) -> float:
    """Ideal code length in bits of ``symbols`` under the model's prior (see :func:`entropy.ideal_bits`)."""
    scale = _prior(model).scale_values
    return entropy.ideal_bits(symbols, np.zeros_like(scale), scale, step)


def encode_latents(images, model, *, batch_size: int = 1000) -> np.ndarray:
    """Run the model's encoder: digits in (uint8 or float in [0, 1]), float latents ``(n, latent_dim)`` out."""
    if isinstance(model, LiteModel):
        return model.encode_latents(images)
    from ..training import predict_in_batches
    from .assembly import checked_part

    _, encoder = checked_part(model, "encoder")
    x = _data.to_float(images)
    if len(x) == 0:
        return np.zeros((0, encoder.output_shape[-1]), np.float32)
    return predict_in_batches(encoder, x, batch_size=batch_size)


def decode_latents(latents, model, *, batch_size: int = 1000) -> np.ndarray:
    """Run the model's decoder: latents in, uint8 digits ``(n, 28, 28)`` out (converted batch by batch)."""
    if isinstance(model, LiteModel):
        return model.decode_latents(latents)
    from ..training import predict_in_batches
    from .assembly import checked_part

    _, decoder = checked_part(model, "decoder")
    latents = np.asarray(latents, dtype=np.float32)
    if len(latents) == 0:
        return np.zeros((0, _data.IMAGE_SIZE, _data.IMAGE_SIZE), np.uint8)
    return predict_in_batches(decoder, latents, batch_size=batch_size, convert=_data.to_uint8)


ENCODE_CHUNK = 8192
"""Images converted to floats and encoded at a time: memory follows the chunk, not the batch (26 MB of floats)."""


def _symbols(images, model, step: float) -> np.ndarray:
    batch = _data.image_batch(images, name="images")  # checked once, converted chunk by chunk below
    if len(batch) > container.MAX_IMAGES:
        raise ValueError(
            f"at most {container.MAX_IMAGES} images fit in one file. Received: {len(batch)} images"
        )
    parts = [
        latents_to_symbols(encode_latents(_data.to_float(batch[i : i + ENCODE_CHUNK]), model), model, step)
        for i in range(0, len(batch), ENCODE_CHUNK)
    ]
    if not parts:
        return latents_to_symbols(encode_latents(_data.to_float(batch), model), model, step)
    return np.concatenate(parts)


def _file(symbols, model, step: float) -> bytes:
    """The file of ``symbols``, read back before it is returned: nothing is written that cannot be read."""
    scale = _prior(model).scale_values
    payload = entropy.encode_symbols(symbols, scale, step)
    data = container.pack(_model_id(model), count=len(symbols), step=step, payload=payload)
    header = container.read_header(data)
    try:
        back = entropy.decode_symbols(container.payload_of(data, header), scale, header.step, header.count)
    except CodecError as exc:
        raise ValueError(f"at step {step:g} this model writes a file it cannot read back ({exc})") from None
    if not np.array_equal(back, symbols):
        raise ValueError(f"at step {step:g} this model writes a file that reads back other symbols")
    return data


def compress(images, model, *, step: float = DEFAULT_STEP) -> bytes:
    """Compress digits into the bytes of a ``.cae`` file.

    Args:
        images: One digit ``(28, 28)`` or a batch ``(n, 28, 28)`` /
            ``(n, 28, 28, 1)``, uint8 (0-255) or float in [0, 1].
        model: A codec model (encoder, prior, decoder), e.g. from
            :func:`cae_lib.pretrained.load_pretrained`, or a sender.
        step: Quantisation step in latent units, the quality knob: larger is
            smaller and coarser. Stored in half precision.

    Returns:
        The complete file; ``len()`` of it is the real compressed size.

    Example:
        >>> data = compress(x_test[:1], model, step=1.0)  # doctest: +SKIP
        >>> digits = decompress(data, model)              # doctest: +SKIP
    """
    step = container.checked_step(step)
    return _file(_symbols(images, model, step), model, step)


def compress_each(images, model, *, step: float = DEFAULT_STEP) -> list[bytes]:
    """Compress every digit into its own complete ``.cae`` file (one encoder pass for all).

    ``compress_each(x, m)[i] == compress(x[i], m)``; use it to measure what a
    single-digit file really costs, header and coder flush included.
    """
    step = container.checked_step(step)
    return [_file(row[np.newaxis], model, step) for row in _symbols(images, model, step)]


def _checked(data: bytes, model, max_images):
    header = container.read_header(data, max_images=max_images)
    # A file stores a prefix of the model's id (3 bytes in format version 2): compare as much as it holds.
    expected = _model_id(model)[: len(header.model_id)]
    if header.model_id != expected:
        raise ModelMismatchError(
            f"this file needs model {header.model_id.hex()} but the given model is {expected.hex()}; "
            "decode it with the model that wrote it"
        )
    if (header.height, header.width) != (_data.IMAGE_SIZE, _data.IMAGE_SIZE):
        raise CodecError(f"images of {header.height}x{header.width} do not fit this 28x28 model")
    return header


def decompress_latents(data: bytes, model, *, max_images: int | None = DEFAULT_MAX_IMAGES):
    """Check a ``.cae`` file against ``model``; return its header and dequantised latents.

    See :func:`decompress` for the checks and ``max_images``.
    """
    header = _checked(data, model, max_images)
    scale = _prior(model).scale_values
    symbols = entropy.decode_symbols(container.payload_of(data, header), scale, header.step, header.count)
    return header, symbols_to_latents(symbols, model, header.step)


def decompress_chunks(data: bytes, model, *, max_images: int | None = DEFAULT_MAX_IMAGES,
                      chunk_images: int = entropy.CHUNK_IMAGES):  # fmt: skip
    """Check a ``.cae`` file and return ``(header, chunks)``: its digits decoded a chunk at a time.

    ``chunks`` yields uint8 digits ``(k, 28, 28)``, at most ``chunk_images``
    at a time, so memory stays bounded whatever the file's image count; the
    checks of the whole payload run after the last chunk, so a consumer
    keeps what it got provisional (e.g. in a staging file) until the
    iteration ends without an error. The header's checks run before this
    returns.
    """
    header = _checked(data, model, max_images)
    scale = _prior(model).scale_values
    payload = container.payload_of(data, header)

    def chunks():
        for symbols in entropy.iter_decode_symbols(payload, scale, header.step, header.count,
                                                   chunk_images=chunk_images):  # fmt: skip
            yield decode_latents(symbols_to_latents(symbols, model, header.step), model)

    return header, chunks()


def decompress(data: bytes, model, *, max_images: int | None = DEFAULT_MAX_IMAGES) -> np.ndarray:
    """Decode a ``.cae`` file back into uint8 digits ``(n, 28, 28)``.

    The header's image count is never taken on trust: a file stating more
    images than ``max_images``, or more than its payload can hold under the
    model, is refused before anything is decoded, and decoding stops as
    soon as the payload runs out (:func:`cae_lib.codec.entropy.decode_symbols`).

    Args:
        data: A complete file from :func:`compress`.
        model: The codec model that wrote it (checked through the model id),
            or its receiver.
        max_images: The most images to decode (``DEFAULT_MAX_IMAGES``,
            100,000: 78 MB of digits); None allows the format's limit.

    Returns:
        uint8 array of shape ``(n, 28, 28)``.

    Raises:
        CodecError: Subclassed as NotACaeFileError, UnsupportedVersionError,
            TruncatedFileError, ChecksumError, ModelMismatchError,
            TooManyImagesError or CorruptPayloadError; nothing else for bad bytes.
    """
    _, latents = decompress_latents(data, model, max_images=max_images)
    return decode_latents(latents, model)


@dataclass(frozen=True)
class Measurement:
    """Real and ideal sizes of one compressed batch, with its quality.

    Attributes:
        count: Number of digits.
        step: The quantisation step as stored.
        total_bytes: Length of the real file.
        header_bytes: Bytes of header and checksum.
        payload_bytes: Bytes of range-coded payload.
        ideal_payload_bits: Ideal code length of the same symbols under the prior.
        mean_psnr_db: Mean PSNR of the decoded digits (uint8, data range 255).
        mean_ssim: Mean SSIM of the decoded digits.
        seconds: Wall time of compressing and decompressing.
        decoded: The digits decoded from the real file, uint8 ``(n, 28, 28)``.
    """

    count: int
    step: float
    total_bytes: int
    header_bytes: int
    payload_bytes: int
    ideal_payload_bits: float
    mean_psnr_db: float
    mean_ssim: float
    seconds: float = float("nan")
    decoded: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def bytes_per_image(self) -> float:
        return self.total_bytes / self.count

    @property
    def bits_per_pixel(self) -> float:
        return 8 * self.total_bytes / (self.count * _data.NUM_PIXELS)

    @property
    def coder_overhead(self) -> float:
        """Real payload over the ideal code length, minus 1 (0.01 = 1% more than ideal)."""
        return 8 * self.payload_bytes / self.ideal_payload_bits - 1


def measure(images, model, *, step: float = DEFAULT_STEP) -> Measurement:
    """Compress ``images`` for real, decompress, and report bytes and quality.

    The encoder runs once: the same symbols give the file and the ideal
    code length.

    Returns:
        A :class:`Measurement`: real sizes (``len`` of the file), the ideal
        code length of its symbols under the prior, mean PSNR/SSIM of the
        decoded digits against the originals, and the decoded digits.
    """
    from .. import metrics

    step = container.checked_step(step)
    originals = _data.to_uint8(_data.to_float(images))
    start = time.perf_counter()
    symbols = _symbols(originals, model, step)
    blob = _file(symbols, model, step)
    decoded = decompress(blob, model, max_images=None)
    seconds = time.perf_counter() - start
    header = container.read_header(blob)
    return Measurement(
        count=len(originals), step=header.step, total_bytes=len(blob),
        header_bytes=header.header_bytes, payload_bytes=header.payload_bytes,
        ideal_payload_bits=symbol_bits(symbols, model, header.step),
        mean_psnr_db=metrics.mean_psnr(originals, decoded, data_range=255),
        mean_ssim=metrics.mean_ssim(originals, decoded, data_range=255),
        seconds=seconds, decoded=decoded,
    )  # fmt: skip
