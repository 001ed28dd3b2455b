"""Checks of notebook 04 (compressing): steps, files, the prior's rotation and a digit range-coded by hand.

Each check measures for real with :mod:`cae_lib.codec` and compares the
learner's answer with it, naming the likely mistake when they differ.
"""

from __future__ import annotations

import numpy as np

from . import NotAnswered, Wrong, answered, exercise, number

LEVEL_DB = 23.0
"""The quality Exercise 1 must keep, mean PSNR in dB."""


@exercise("04_compressing_ex1", "the largest step that keeps 23 dB")
def largest_step(best_step, digits, model, *, bytes_per_digit=...) -> str:
    """Check ``best_step`` (one decimal) and the bytes per digit it needs, on ``digits``."""
    from .. import codec

    best_bytes = number(answered(bytes_per_digit, "best_bytes"), "best_bytes")
    step = number(best_step, "best_step")
    if step <= 0 or abs(step * 10 - round(step * 10)) > 1e-6:
        raise Wrong(f"give a positive step to one decimal, such as 1.3. Received: best_step={best_step!r}")
    step, larger = round(step, 1), round(step + 0.1, 1)
    here = codec.measure(digits, model, step=step)
    if here.mean_psnr_db < LEVEL_DB:
        raise Wrong(
            f"at step {step} the mean PSNR is {here.mean_psnr_db:.2f} dB, below {LEVEL_DB:g} dB: "
            "the answer is a smaller step"
        )
    above = codec.measure(digits, model, step=larger)
    if above.mean_psnr_db >= LEVEL_DB:
        decoded = codec.decompress(codec.compress(digits, model, step=larger), model)
        pooled = 10 * np.log10(255.0**2 / np.mean((np.asarray(digits, np.float64) - decoded) ** 2))
        why = (
            f" (the PSNR of the pooled squared error is {pooled:.2f} dB there: the course's figure is the mean of "
            "the per-digit PSNRs, metrics.mean_psnr)"
            if pooled < LEVEL_DB
            else ""
        )
        raise Wrong(
            f"step {larger} still keeps {above.mean_psnr_db:.2f} dB (at least {LEVEL_DB:g}): a larger step "
            f"works; scan the steps up to the first one that falls below 23 dB{why}"
        )
    real = here.bytes_per_image
    if abs(best_bytes - real) > 0.006:
        hint = "divide the file's length by the number of digits: codec.measure(...).bytes_per_image"
        blob = codec.compress(digits, model, step=step)
        header = codec.read_header(blob)
        symbols = codec.latents_to_symbols(codec.encode_latents(digits, model), model, step)
        ideal = codec.symbol_bits(symbols, model, step) / len(symbols) / 8
        if abs(best_bytes - here.total_bytes) < 1:
            hint = f"{best_bytes:g} bytes is the whole file of {here.count} digits; " + hint
        elif abs(best_bytes - 8 * real) < 0.5:
            hint = "that is bits per digit; a byte is 8 bits"
        elif abs(best_bytes - ideal) < 0.006:
            hint = (
                "that is the ideal size the prior predicts (symbol bits / 8), not a file: the real file adds its "
                f"{header.header_bytes} bytes of header and checksum and the coder's last word; measure the file"
            )
        elif abs(best_bytes - header.payload_bytes / here.count) < 0.006:
            hint = (
                f"that is the payload alone: the file also holds {header.header_bytes} bytes of header and checksum, "
                "which its digits share; divide the file's whole length by the number of digits"
            )
        elif abs(best_bytes - above.bytes_per_image) <= 0.006:
            hint = (
                f"that is the bytes at step {larger}, the first step below {LEVEL_DB:g} dB: measure the bytes "
                "at the step you keep"
            )
        raise Wrong(
            f"at step {step} the {here.count} digits need {real:.4f} bytes per digit, not {best_bytes:g} (the check "
            f"allows 0.006 for rounding): {hint}"
        )
    return (
        f"step {step} keeps {here.mean_psnr_db:.2f} dB (step {larger} gives {above.mean_psnr_db:.2f} dB) "
        f"at {real:.2f} bytes per digit, measured on {here.count} digits in one file"
    )


@exercise("04_compressing_ex2", "one file of 100 digits against 100 files")
def batch_saving(saved, digits, model, *, from_headers=...) -> str:
    """Check the bytes one file of ``digits`` saves over one file per digit, and the headers' share (step 1)."""
    from .. import codec

    saved = number(saved, "saved")
    headers = number(answered(from_headers, "from_headers"), "from_headers")
    batch = codec.compress(digits, model, step=1.0)
    singles = codec.compress_each(digits, model, step=1.0)
    single_total = sum(len(f) for f in singles)
    expected = single_total - len(batch)
    n = len(digits)
    if saved != expected:
        hint = "the saving is (bytes of all single files) - (bytes of the one file)"
        if saved == -expected:
            hint = "the sign is the wrong way round: the single files are the bigger ones"
        elif saved in (len(batch), single_total):
            hint = f"{saved:g} bytes is the size of one side; " + hint
        elif saved == n - 1 or saved == n:
            hint = "that counts files, not bytes: add up len() of every file"
        raise Wrong(
            f"one file of {n} digits is {len(batch)} bytes and {n} single files are {single_total} bytes in all, "
            f"so it saves {expected} bytes, not {saved:g}: {hint}"
        )
    one_header = codec.read_header(singles[0]).header_bytes
    batch_header = codec.read_header(batch).header_bytes
    expected_headers = n * one_header - batch_header
    if headers != expected_headers:
        hint = f"{n} single files carry {n} headers of {one_header} bytes, the one file {batch_header}"
        if headers == n * one_header:
            hint = f"off by one: the one file keeps a header too, so {n - 1} headers are saved, not {n}"
        elif headers == (n - 1) * (one_header - codec.CHECKSUM_BYTES):
            hint = f"each file also ends with a {codec.CHECKSUM_BYTES}-byte CRC-32: count header and checksum"
        raise Wrong(
            f"the headers account for {expected_headers} of the {expected} bytes saved, not {headers:g}: {hint}"
        )
    rest = expected - expected_headers
    return (
        f"{expected} bytes saved: {expected_headers} from {n - 1} headers of {one_header} bytes, and {rest} from "
        f"the range coder, which pays to start and flush its state once per file (about {rest / (n - 1):.1f} "
        "bytes a file)"
    )


def _same_prior(a, b) -> bool:
    """True when two priors hold the same numbers (up to float32 rounding of the same fit)."""
    scale = b.scale_values
    return bool(
        np.max(np.abs(a.loc_values - b.loc_values) / scale) < 1e-3
        and np.max(np.abs(a.scale_values / scale - 1)) < 1e-3
    )


@exercise("04_compressing_ex3", "is the rotation worth it?")
def rotation_worth_it(
    plain, rotated, bytes_plain=..., bytes_rotated=..., *, latents, model, step=1.0, x_train=None
) -> str:
    """Check two codec models (prior without and with decorrelation) and their ideal bytes per digit of ``latents``.

    With ``x_train``, both priors must be fitted on the notebook's training
    sample (its first 2,000 digits in quick mode, 20,000 otherwise), not on the
    test digits that measure them.
    """
    from .. import codec, config, data
    from ..codec.assembly import weights_digest
    from ..layers import LatentPrior
    from ..models import encoder_of
    from ..training import predict_in_batches

    bytes_plain = number(answered(bytes_plain, "bytes_plain"), "bytes_plain")
    bytes_rotated = number(answered(bytes_rotated, "bytes_rotated"), "bytes_rotated")
    rotated = answered(rotated, "rotated")
    own_encoder = weights_digest(encoder_of(model))
    for name, candidate, wanted in [("plain", plain, False), ("rotated", rotated, True)]:
        try:
            prior = codec.prior_of(candidate)
        except (ValueError, AttributeError):
            raise Wrong(
                f"{name} has no latent prior: build it with codec.attach_prior(model, train_sample, ...)"
            ) from None
        if prior.decorrelate is not wanted:
            raise Wrong(
                f"{name}'s prior has decorrelate={prior.decorrelate}: pass decorrelate={wanted} to attach_prior"
            )
        if prior.encoder_digest is not None and prior.encoder_digest != own_encoder:
            raise Wrong(f"{name}'s prior was fitted for another encoder: attach it to the notebook's model")

    if x_train is not None:
        sample = data.to_float(np.asarray(x_train)[: 2000 if config.quick_mode() else 20_000])
        train_latents = predict_in_batches(encoder_of(model), sample)
        for name, candidate, decorrelate in [("plain", plain, False), ("rotated", rotated, True)]:
            mine = codec.prior_of(candidate)
            reference, on_test = LatentPrior(decorrelate=decorrelate), LatentPrior(decorrelate=decorrelate)
            reference.fit(train_latents)
            on_test.fit(np.asarray(latents))
            if _same_prior(mine, reference):
                continue
            if _same_prior(mine, on_test) or np.max(
                np.abs(mine.loc_values - on_test.loc_values) / on_test.scale_values
            ) < 0.3 * np.max(np.abs(mine.loc_values - reference.loc_values) / reference.scale_values):
                raise Wrong(
                    f"{name}'s prior was fitted on the test digits, the very digits it is measured on: fit it on "
                    "train_sample (training digits), so the bytes say what a new digit costs"
                )
            raise Wrong(
                f"{name}'s prior differs from one fitted on train_sample: attach_prior(model, train_sample, ...)"
            )

    def ideal(m) -> float:
        symbols = codec.latents_to_symbols(latents, m, step)
        return codec.symbol_bits(symbols, m, step) / len(symbols) / 8

    def real(m) -> float:  # bytes per digit of the real .cae file of these latents (what codec.measure gives)
        from ..codec import container, entropy

        symbols = codec.latents_to_symbols(latents, m, step)
        payload = entropy.encode_symbols(symbols, codec.prior_of(m).scale_values, step)
        return len(container.pack(codec.model_id(m), count=len(symbols), step=step, payload=payload)) / len(
            symbols
        )

    want_plain, want_rotated = ideal(plain), ideal(rotated)
    n = len(latents)
    for name, got, want, other, m in [
        ("bytes_plain", bytes_plain, want_plain, want_rotated, plain),
        ("bytes_rotated", bytes_rotated, want_rotated, want_plain, rotated),
    ]:
        if abs(got - want) > 1e-9 and abs(got - real(m)) < 1e-9:
            raise Wrong(
                f"{name} = {got:g} is the real file's bytes per digit (header and the coder's last word included); "
                f"the exercise compares the priors themselves: ideal bytes = codec.symbol_bits(symbols, m, "
                f"{step:g}) / number of digits / 8 = {want:.4f}"
            )
        if abs(got - want) <= 0.006:
            continue
        hint = "ideal bytes per digit = codec.symbol_bits(symbols, m, 1.0) / number of digits / 8, same model m throughout"
        if abs(got - 8 * want) < 0.05:
            hint = "that is bits per digit; divide by 8"
        elif abs(got - n * want) < 0.5 or abs(got - 8 * n * want) < 4:
            hint = f"that is all {n} digits together; divide by the number of digits"
        elif abs(got - other) <= 0.006:
            hint = "that is the other prior's figure: the two are swapped"
        elif abs(got - ideal(model)) <= 0.006:
            hint = (
                "that is the shipped model's prior: use plain or rotated for both the symbols and their bits"
            )
        raise Wrong(
            f"{name} is {want:.4f} ideal bytes per digit of the {n} test latents at step {step:g}, not {got:g} "
            f"(the check allows 0.006 for rounding): {hint}"
        )
    gain = want_plain - want_rotated
    return (
        f"independent coordinates {want_plain:.2f}, principal axes {want_rotated:.2f} ideal bytes per digit at "
        f"step {step:g}: the rotation saves {gain:.2f} bytes per digit ({gain / max(want_plain, 1e-9):.1%})"
    )


def _symbol_hint(got, z, prior, step: float) -> str:
    """The likely mistake behind wrong symbols ``got`` of latent ``z``."""
    y = prior.to_coordinates(z[None])[0]
    candidates = [
        (np.rint((z - prior.loc_values) / step), "they are not rotated: use y = prior.to_coordinates(z)"),
        (np.rint(z / step), "they are neither centred nor rotated: use y = prior.to_coordinates(z)"),
        (np.floor(y / step), "np.floor rounds down: round to the nearest integer with np.rint"),
        (
            np.trunc(y / step),
            "astype(int) cuts towards zero: round to the nearest integer first with np.rint",
        ),
        (np.rint(y), f"divide y by the step ({step:g}) before rounding"),
        (np.rint(y * step), "divide y by the step, do not multiply"),
    ]
    for symbols, hint in candidates:
        if np.array_equal(got, symbols.astype(np.int64)):
            return hint
    return "symbols = round(prior.to_coordinates(latent) / step), as int32"


@exercise("04_compressing_ex4", "code a digit by hand with constriction")
def by_hand(encode_by_hand, digits, model, *, steps=(1.0, 0.5)) -> str:
    """Check ``encode_by_hand(digit, step) -> (symbols, payload)`` against the codec on every digit and step."""
    from .. import codec, models
    from ..codec import entropy

    if not callable(encode_by_hand):
        raise Wrong(
            f"encode_by_hand should be a function (digit, step) -> (symbols, payload). Received: {encode_by_hand!r}"
        )
    prior = codec.prior_of(model)
    scale = prior.scale_values
    latents = codec.encode_latents(digits, model)
    dims = models.latent_dim_of(model)

    def check_one(digit, step, want, latent, where):
        try:
            result = encode_by_hand(digit, step)
        except KeyError as error:
            if "zero probability" not in str(error):
                raise
            raise Wrong(
                f"{where}: constriction refused a symbol (it has zero probability: it lies outside the codec's range "
                f"-/+ ceil(16 x the largest std)): your symbols are far larger than the codec's; did the encoder "
                f"get pixels 0-255? scale the digit first, data.to_float(digit)"
            ) from None
        if result is None:
            raise NotAnswered("encode_by_hand", returned_none=True)
        if not isinstance(result, tuple) or len(result) != 2:
            raise Wrong(
                f"encode_by_hand should return two things, (symbols, payload). Received: {type(result).__name__}"
            )
        symbols, payload = result
        symbols = np.asarray(symbols)
        if symbols.size != dims or not np.issubdtype(symbols.dtype, np.number):
            raise Wrong(
                f"{where}: symbols should be {dims} integers (one per latent value). Received: shape {symbols.shape}"
            )
        symbols = symbols.reshape(-1)
        if not np.array_equal(symbols, np.rint(symbols)):
            raise Wrong(
                f"{where}: symbols should be integers: round them (np.rint) and convert with .astype(np.int32)"
            )
        if not np.array_equal(symbols.astype(np.int64), want):
            hint = _symbol_hint(symbols.astype(np.int64), latent, prior, step)
            raise Wrong(
                f"{where}: your symbols start {symbols[:6].tolist()}, the codec's {want[:6].tolist()}: {hint}"
            )
        if isinstance(payload, np.ndarray):
            raise Wrong(
                f"{where}: payload is an array of {payload.dtype}; turn the coder's 32-bit words into bytes: "
                'words.astype("<u4").tobytes().rstrip(b"\\0")'
            )
        if not isinstance(payload, (bytes, bytearray)):
            raise Wrong(f"{where}: payload should be bytes. Received: {type(payload).__name__}")
        payload = bytes(payload)
        blob = codec.compress(digit, model, step=step)
        expected = codec.payload_of(blob, codec.read_header(blob))
        if payload != expected:
            raise Wrong(
                f"{where}: your symbols are right but " + _payload_hint(payload, expected, scale, step, want)
            )
        back = entropy.decode_symbols(payload, scale, step, count=1)[
            0
        ]  # the proof: the same symbols come back
        if not np.array_equal(back, want):
            raise Wrong(f"{where}: your payload decodes to {back[:6].tolist()}, not {want[:6].tolist()}")
        return len(payload)

    first = None
    for step in steps:
        step = codec.checked_step(step)  # as a .cae file stores it
        expected_symbols = codec.latents_to_symbols(latents, model, step)
        for i, digit in enumerate(digits):
            size = check_one(digit, step, expected_symbols[i], latents[i], f"digit {i} at step {step:g}")
            first = first or (size, step)
    # A payload whose last 32-bit word ends in zero bytes, which the codec drops: about 1 digit in 50 has one.
    shifts = [(k, axis) for k in (1, -1, 2, -2, 3, -3, 4, -4) for axis in (-1, -2)]
    for (shift, axis), step, digit in ((k, s, d) for k in shifts for s in (1.0, 0.5, 2.0) for d in digits):
        moved = np.roll(np.asarray(digit), shift, axis=axis)
        blob = codec.compress(moved, model, step=step)
        if len(codec.payload_of(blob, codec.read_header(blob))) % 4:
            latent = codec.encode_latents(moved[np.newaxis], model)
            check_one(
                moved,
                step,
                codec.latents_to_symbols(latent, model, step)[0],
                latent[0],
                f"a digit shifted {shift} px at step {step:g} (its payload's last word ends in zero bytes)",
            )
            break
    return (
        f"{len(digits)} digits at steps {', '.join(f'{s:g}' for s in steps)}: your payloads decode to the same "
        f"{dims} symbols and equal the codec's byte for byte ({first[0]} bytes for digit 0 at step {first[1]:g})"
    )


def _payload_hint(payload: bytes, expected: bytes, scale, step: float, symbols) -> str:
    """Why a payload of the right symbols differs from the codec's."""
    from ..codec import entropy
    from ..codec.container import CorruptPayloadError

    if payload.rstrip(b"\0") == expected:
        return f"your payload ends with {len(payload) - len(expected)} zero bytes the codec drops: .rstrip(b'\\0')"
    if payload:
        words = np.frombuffer(payload + b"\0" * (-len(payload) % 4), ">u4")
        if words.astype("<u4").tobytes().rstrip(b"\0") == expected:
            return 'the bytes of each 32-bit word are reversed: use little-endian words, .astype("<u4")'
    try:
        decodes = np.array_equal(
            entropy.decode_symbols(payload.rstrip(b"\0"), scale, step, count=1)[0], symbols
        )
    except CorruptPayloadError:
        decodes = False
    _, _, low, high = entropy.symbol_model(scale, step)
    verdict = (
        "they decode to them all the same"
        if decodes
        else "they do not decode to them under the codec's model"
    )
    return (
        f"your {len(payload)} bytes ({payload[:8].hex()}...) are not the codec's {len(expected)} "
        f"({expected[:8].hex()}...) and {verdict}: the probabilities must be exactly the codec's: "
        f"QuantizedGaussian({low}, {high}) at step {step:g} (low, high = -/+ ceil(16 x the largest std)), "
        "means 0, stds prior.scale_values / step"
    )
