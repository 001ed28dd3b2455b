"""Entropy coding of latent symbols: quantisation, the symbol model, ideal bits and range coding.

No TensorFlow and no Keras: the symbol model is computed from the prior's
stored scales by NumPy and ``constriction``, so the sender and the receiver
derive identical probability tables.

A latent coordinate ``y`` (centred and rotated by the prior) becomes the
symbol ``k = round(y / step)``. Its probability is the zero-mean Gaussian of
standard deviation ``scale / step`` integrated over ``[k - 1/2, k + 1/2]``,
and it costs ``-log2 P(k)`` bits: :func:`ideal_bits` adds those up, the range
coder (:func:`encode_symbols`) comes within a fraction of a percent of it.

Decoding (:func:`decode_symbols`) never trusts the image count of a header
beyond what its payload can hold: every image costs at least
:func:`min_bits_per_image`, the cheapest possible symbols, so a payload of
``n`` bytes holds at most about ``8 n / min_bits`` images
(:func:`check_count`). Where symbols are nearly free (a huge step) that
bound (:func:`check_count`) is weak, so decoding also goes in chunks and
checks the decoder's position after each one, and the caller's
``max_images`` cap still applies.

Example:
    >>> import numpy as np
    >>> from cae_lib.codec import entropy
    >>> scale = np.array([2.0, 0.5])
    >>> symbols = np.array([[1, 0], [-2, 0], [0, 1]], np.int32)
    >>> payload = entropy.encode_symbols(symbols, scale, step=1.0)
    >>> entropy.decode_symbols(payload, scale, step=1.0, count=3).tolist()
    [[1, 0], [-2, 0], [0, 1]]
"""

from __future__ import annotations

import math

import numpy as np

from .container import CorruptPayloadError

PRIOR_SPAN = 16.0
"""Symbols are clipped to ``+- PRIOR_SPAN * scale / step``: never reached by real digits."""
MAX_SYMBOL = 2**20
PRECISION = 24
"""Bits of constriction's probabilities (its queue coders' default): every symbol of the range has at least 2**-24."""
PROBABILITY_FLOOR = 2.0**-23
"""Above any rounding of constriction's 24-bit probabilities: costs computed with it never exceed the real ones."""
SLACK_BITS = 64
"""What a payload may hold beyond its bytes: the range coder's 64-bit state, flushed without trailing zeros."""
CHUNK_IMAGES = 2048
"""Images decoded between two checks of the decoder's position."""

_erfc = np.frompyfunc(math.erfc, 1, 1)


def quantise(latents: np.ndarray, step: float) -> np.ndarray:
    """Uniform scalar quantisation: ``round(z / step)`` as int32 symbols.

    Example:
        >>> quantise([0.4, 0.6, -1.6], 0.5).tolist()
        [1, 1, -3]
    """
    return np.rint(np.asarray(latents, dtype=np.float64) / step).astype(np.int32)


def dequantise(symbols: np.ndarray, step: float) -> np.ndarray:
    """Back to the latent scale: the centre of each quantisation bin, ``k * step``."""
    return (np.asarray(symbols, dtype=np.float64) * step).astype(np.float32)


def _probabilities(symbols, loc, scale) -> np.ndarray:
    """P(k) of the Gaussian(loc, scale) integrated over ``[k - 1/2, k + 1/2]``, float64."""
    symbols = np.asarray(symbols, dtype=np.float64)
    z_hi = (symbols + 0.5 - loc) / (scale * np.sqrt(2.0))
    z_lo = (symbols - 0.5 - loc) / (scale * np.sqrt(2.0))
    # P = (erf(z_hi) - erf(z_lo)) / 2, computed on the side where it does not cancel.
    flip = z_lo > 0
    hi = np.where(flip, -z_lo, z_hi)
    lo = np.where(flip, -z_hi, z_lo)
    return 0.5 * (_erfc(-hi).astype(np.float64) - _erfc(-lo).astype(np.float64))


def ideal_bits(symbols: np.ndarray, prior_loc, prior_scale, step: float) -> float:
    """Ideal code length in bits of integer ``symbols`` ``(n, latent_dim)`` under the discretised Gaussian prior.

    This is what a perfect entropy coder would need: ``sum(-log2 P(k))``.

    Example:
        >>> round(ideal_bits([[0]], [0.0], [1.0], 1.0), 4)  # P(0) = erf(0.5 / sqrt 2) = 0.3829
        1.3849
    """
    loc = np.asarray(prior_loc, np.float64) / step
    scale = np.asarray(prior_scale, np.float64) / step
    prob = _probabilities(symbols, loc, scale)
    return float(-np.log2(np.maximum(prob, 1e-300)).sum())


def _floor_bits(symbols, scale) -> float:
    """Bits the range coder spends at least on ``symbols`` (scale in symbol units): never more than real."""
    prob = _probabilities(symbols, 0.0, scale)
    return float(-np.log2(np.minimum(prob + PROBABILITY_FLOOR, 1.0)).sum())


def min_bits_per_image(scale, step: float) -> float:
    """The fewest bits any one image can cost: every symbol 0, the most probable one.

    Two lower bounds, the larger taken: the Gaussian's own probability of 0
    (less :data:`PROBABILITY_FLOOR`), and the coder's: its probabilities have
    ``PRECISION`` bits and give every other symbol of the range at least
    ``2**-PRECISION``, so even where the step dwarfs the prior (all symbols 0)
    no symbol is free, and a tiny payload cannot state millions of images.

    Example:
        >>> round(min_bits_per_image([1.0, 1.0], 1.0), 3)
        2.77
        >>> min_bits_per_image([1.0] * 64, 60000.0) * 2**24 > 8 * 16  # 16M images need more than 16 bytes
        True
    """
    stds = np.asarray(scale, np.float64) / step
    gaussian = _floor_bits(np.zeros((1, len(stds))), stds)
    low, high = _symbol_range(stds)
    others = (high - low) * 2.0**-PRECISION  # the probability the coder keeps for every symbol but one
    coder = -len(stds) * math.log2(1.0 - others) if others < 1 else float("inf")
    return max(gaussian, coder)


def check_count(count: int, payload_bytes: int, scale, step: float) -> None:
    """Refuse a stated image count that a payload of ``payload_bytes`` cannot hold under the model.

    Raises:
        CorruptPayloadError: ``count`` images cost more bits than the payload has.
    """
    least = min_bits_per_image(scale, step)
    budget = 8 * payload_bytes + SLACK_BITS
    if count * least > budget:
        raise CorruptPayloadError(
            f"the header states {count:,} images but its {payload_bytes}-byte payload holds at most "
            f"{int(budget // least):,} under this model (each image costs at least {least:.1f} bits)"
        )


def smallest_step(scale) -> float:
    """The smallest quantisation step the coder handles for these prior scales.

    Symbols span ``+- PRIOR_SPAN`` standard deviations of the prior; below
    this step that span would pass the coder's ``MAX_SYMBOL`` and real
    symbols would be clipped. :func:`encode_symbols` refuses smaller steps.

    Example:
        >>> smallest_step([1.0, 2.0])  # 16 x 2 / 2**20
        3.0517578125e-05
    """
    return PRIOR_SPAN * float(np.max(np.asarray(scale, np.float64))) / MAX_SYMBOL


def check_scale(scale) -> np.ndarray:
    """The prior's scales as float64, refused unless every one is finite and positive.

    Raises:
        ValueError: A scale that is zero, negative, NaN or infinite (the
            range coder would crash or code nothing), or no scales at all.
    """
    scale = np.asarray(scale, np.float64)
    if scale.ndim != 1 or not len(scale) or not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError(
            "the model's prior scales must be positive finite numbers, one per latent dimension. "
            f"Received: {np.array2string(np.ravel(scale)[:8], precision=3)}"
        )
    return scale


def symbol_model(scale, step: float):
    """constriction's model family for symbols of the given prior scales, and its clipping range.

    Returns:
        ``(family, stds, low, high)``: the ``QuantizedGaussian`` family over
        ``[low, high]`` and the per-dimension standard deviations in symbol units.
    """
    import constriction

    stds = check_scale(scale) / step
    low, high = _symbol_range(stds)
    return constriction.stream.model.QuantizedGaussian(low, high), stds, low, high


def _symbol_range(stds) -> tuple[int, int]:
    """The symbols the coder covers for standard deviations ``stds`` in symbol units: ``(low, high)``."""
    low = int(np.clip(np.floor((-PRIOR_SPAN * stds).min()), -MAX_SYMBOL, MAX_SYMBOL))
    high = int(np.clip(np.ceil((PRIOR_SPAN * stds).max()), -MAX_SYMBOL, MAX_SYMBOL))
    return low, high


def encode_symbols(symbols, scale, step: float) -> bytes:
    """Range-code int symbols ``(n, latent_dim)``: 32-bit little-endian words, trailing zero bytes dropped.

    Raises:
        ValueError: The step is below :func:`smallest_step`, or a symbol lies
            outside the range the coder covers (the file could not
            reproduce it: nothing is clipped silently).
    """
    import constriction

    symbols = np.asarray(symbols)
    if symbols.size == 0:
        return b""
    family, stds, low, high = symbol_model(scale, step)
    if step < smallest_step(scale):
        raise ValueError(
            f"step {step:g} is too small for this model: the coder needs at least {smallest_step(scale):.3g} "
            f"(its symbols must stay within +-{MAX_SYMBOL:,})"
        )
    outside = int(np.count_nonzero((symbols < low) | (symbols > high)))
    if outside:
        raise ValueError(
            f"{outside} of {symbols.size} latent values lie beyond the prior's range at step {step:g} "
            f"(+-{PRIOR_SPAN:g} standard deviations): these images are unlike the model's training digits, "
            "and the file could not reproduce them"
        )
    encoder = constriction.stream.queue.RangeEncoder()
    stds = np.tile(stds, len(symbols))
    encoder.encode(symbols.astype(np.int32).ravel(), family, np.zeros_like(stds), stds)
    return encoder.get_compressed().astype("<u4").tobytes().rstrip(b"\0")


def decode_symbols(payload: bytes, scale, step: float, count: int, *, chunk_images: int = CHUNK_IMAGES):
    """Decode ``count`` images' symbols from a payload, never reading more than it holds.

    Checks, each raising :class:`~cae_lib.codec.container.CorruptPayloadError`:

    1. before decoding anything, that ``count`` images fit in the payload
       at all (:func:`check_count`);
    2. after each chunk of ``chunk_images`` images, that the symbols decoded
       so far cost no more bits than the payload has (the decoder's
       position), and that a decoder that has used up its data has only
       nearly free images left;
    3. at the end, that no data is left over and that the payload is the
       one byte string the writer makes for these symbols (canonical: no
       padding, no extra bytes that decode to the same symbols).

    Memory grows with the images really decoded, never with the count a
    header states (:func:`iter_decode_symbols` gives them chunk by chunk).

    Returns:
        int32 symbols ``(count, latent_dim)``.
    """
    dims = len(np.atleast_1d(scale))
    chunks = list(iter_decode_symbols(payload, scale, step, count, chunk_images=chunk_images))
    return np.concatenate(chunks) if chunks else np.zeros((0, dims), np.int32)


def iter_decode_symbols(payload: bytes, scale, step: float, count: int, *, chunk_images: int = CHUNK_IMAGES):
    """Yield the symbols of :func:`decode_symbols` in chunks of at most ``chunk_images`` images.

    The checks of the whole payload (nothing left over, canonical bytes)
    run after the last chunk: a consumer must treat what it got as
    provisional until the iteration ends without an error.
    """
    import constriction

    payload = bytes(payload)
    try:
        scale = check_scale(scale)
    except ValueError as exc:
        raise CorruptPayloadError(str(exc)) from None
    if count == 0:
        if payload:
            raise CorruptPayloadError(f"the header states 0 images but {len(payload)} payload bytes follow")
        return
    if step < smallest_step(scale):
        raise CorruptPayloadError(
            f"step {step:g} is below the smallest this model's coder handles: no writer makes it"
        )
    budget = 8 * len(payload) + SLACK_BITS
    check_count(count, len(payload), scale, step)
    least = min_bits_per_image(scale, step)
    family, stds, _, _ = symbol_model(scale, step)
    dims = len(scale)
    words = np.frombuffer(payload + b"\0" * (-len(payload) % 4), dtype="<u4").astype(np.uint32)
    chunk_stds = np.tile(stds, min(count, chunk_images))
    chunk_means = np.zeros_like(chunk_stds)
    spent = 0.0
    try:
        decoder = constriction.stream.queue.RangeDecoder(words)
        again = constriction.stream.queue.RangeEncoder()  # the canonical bytes of what is decoded
        for start in range(0, count, chunk_images):
            n = min(chunk_images, count - start)
            if decoder.maybe_exhausted() and (count - start) * least > SLACK_BITS:
                raise CorruptPayloadError(
                    f"the payload ends at image {start:,} of the {count:,} the header states"
                )
            symbols = np.asarray(
                decoder.decode(family, chunk_means[: n * dims], chunk_stds[: n * dims]), np.int32
            )
            spent += _floor_bits(symbols.reshape(n, dims), stds)
            if spent > budget:
                raise CorruptPayloadError(
                    f"images up to {start + n:,} of {count:,} need more than the payload's "
                    f"{len(payload)} bytes: the file is damaged or its header lies"
                )
            again.encode(symbols, family, chunk_means[: n * dims], chunk_stds[: n * dims])
            yield symbols.reshape(n, dims)
        if not decoder.maybe_exhausted():
            raise CorruptPayloadError(
                f"payload data is left over after the {count:,} images the header states"
            )
        if again.get_compressed().astype("<u4").tobytes().rstrip(b"\0") != payload:
            raise CorruptPayloadError(
                "the payload is not the writer's encoding of the symbols it holds (extra or padding bytes)"
            )
    except CorruptPayloadError:
        raise
    except GeneratorExit:
        raise
    except BaseException as exc:  # constriction reports invalid data with assertion errors (and panics)
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise
        raise CorruptPayloadError(f"the payload does not decode under this model ({exc})") from None
