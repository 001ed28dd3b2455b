"""The course codec: autoencoder latents, quantised and entropy-coded into a real ``.cae`` file.

One concept per module:

* :mod:`~cae_lib.codec.container` - the ``.cae`` bytes: magic, version,
  header fields, CRC-32, :func:`read_header`, :func:`layout`;
* :mod:`~cae_lib.codec.entropy` - quantisation, the symbol model, ideal
  bits and range coding with ``constriction``;
* :mod:`~cae_lib.codec.assembly` - codec models: :func:`attach_prior`,
  :func:`prior_of`, :func:`sender_of`, :func:`receiver_of`,
  :func:`load_model`, :func:`model_id`;
* :mod:`~cae_lib.codec.pipeline` - :func:`compress`, :func:`decompress`,
  :func:`measure`: digits to bytes and back;
* :mod:`~cae_lib.codec.lite` - :class:`~cae_lib.codec.lite.LiteModel`: a codec
  model on LiteRT with its prior as NumPy arrays, taken by the same functions
  without TensorFlow (:func:`cae_lib.pretrained.load_litert`).

Everything is re-exported here (``codec.compress``, ``codec.layout``, ...).
The container and entropy names load without TensorFlow; the model and
pipeline names are imported the first time one of them is used, and import
TensorFlow only for a Keras model, so ``cae info`` and :func:`read_header`
start fast and a :class:`~cae_lib.codec.lite.LiteModel` never needs it.

Example:
    >>> from cae_lib import codec
    >>> codec.read_header(codec.pack(b"\\x00\\x01\\x02\\x03", count=0, step=1.0, payload=b"")).count
    0
"""

from __future__ import annotations

import importlib

from .container import (
    CHECKSUM_BYTES,
    DEFAULT_MAX_IMAGES,
    DEFAULT_STEP,
    FORMAT_VERSION,
    MAGIC,
    MAX_IMAGES,
    MODEL_ID_BYTES,
    SUFFIX,
    ChecksumError,
    CodecError,
    CorruptPayloadError,
    Header,
    ModelMismatchError,
    NotACaeFileError,
    TooManyImagesError,
    TruncatedFileError,
    UnsupportedVersionError,
    checked_step,
    layout,
    pack,
    payload_of,
    read_header,
)
from .entropy import check_count, dequantise, ideal_bits, min_bits_per_image, quantise

_LAZY = {
    "assembly": ("attach_prior", "checked_part", "load_model", "model_id", "prior_of", "receiver_of",
                 "sender_of", "weights_digest"),
    "pipeline": ("Measurement", "compress", "compress_each", "decode_latents", "decompress", "decompress_chunks",
                 "decompress_latents", "encode_latents", "latents_to_symbols", "measure", "symbol_bits",
                 "symbols_to_latents"),
}  # fmt: skip
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str):
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES))


__all__ = [
    # container
    "CHECKSUM_BYTES", "DEFAULT_MAX_IMAGES", "DEFAULT_STEP", "FORMAT_VERSION", "MAGIC", "MAX_IMAGES",
    "MODEL_ID_BYTES", "SUFFIX", "ChecksumError", "CodecError", "CorruptPayloadError", "Header",
    "ModelMismatchError", "NotACaeFileError", "TooManyImagesError", "TruncatedFileError",
    "UnsupportedVersionError", "checked_step", "layout", "pack", "payload_of", "read_header",
    # entropy
    "check_count", "dequantise", "ideal_bits", "min_bits_per_image", "quantise",
    # assembly and pipeline, imported when first used
    *_LAZY_NAMES,
]  # fmt: skip
