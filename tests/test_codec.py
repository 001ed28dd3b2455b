"""cae_lib.codec: real bytes, exact round trips, the container's checks, and fuzzing."""

import struct
import zlib

import numpy as np
import pytest
from conftest import fake_digits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cae_lib import codec, models
from cae_lib.codec import container

RNG = np.random.default_rng(0)


_digits = fake_digits


@pytest.fixture(scope="module")
def model(tiny_codec_model):
    return tiny_codec_model


@pytest.fixture(scope="module")
def other_model(other_tiny_codec_model):
    return other_tiny_codec_model


@pytest.fixture(scope="module")
def step(tiny_codec_step):
    return tiny_codec_step


def _reference(images, model, step):
    """What decompress must return: the decoder applied to the dequantised symbols."""
    stored = float(np.float16(step))
    symbols = codec.latents_to_symbols(codec.encode_latents(images, model), model, stored)
    return codec.decode_latents(codec.symbols_to_latents(symbols, model, stored), model)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("n", [1, 3, 130])
def test_round_trip_is_exactly_the_quantised_reconstruction(model, step, n):
    images = _digits(n)
    data = codec.compress(images, model, step=step)
    assert isinstance(data, bytes)
    out = codec.decompress(data, model)
    assert out.shape == (n, 28, 28) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, _reference(images, model, step))


def test_symbols_survive_the_entropy_coder_exactly(model, step):
    images = _digits(50)
    stored = float(np.float16(step))
    symbols = codec.latents_to_symbols(codec.encode_latents(images, model), model, stored)
    _, latents = codec.decompress_latents(codec.compress(images, model, step=step), model)
    np.testing.assert_array_equal(codec.latents_to_symbols(latents, model, stored), symbols)


def test_single_image_without_batch_axis_and_float_input(model, step):
    image = _digits(1)[0]
    from_uint8 = codec.compress(image, model, step=step)
    from_float = codec.compress(image[None, ..., None] / np.float32(255), model, step=step)
    assert from_uint8 == from_float
    assert codec.decompress(from_uint8, model).shape == (1, 28, 28)


def test_empty_batch(model):
    data = codec.compress(np.zeros((0, 28, 28), np.uint8), model)
    assert codec.decompress(data, model).shape == (0, 28, 28)


def test_compression_is_deterministic(model, step):
    images = _digits(10)
    assert codec.compress(images, model, step=step) == codec.compress(images, model, step=step)


# --------------------------------------------------------------------------- the container


def test_single_digit_header_is_11_bytes_at_the_default_step(model):
    data = codec.compress(_digits(1), model, step=1.0)
    header = codec.read_header(data)
    assert header.header_bytes == 11
    assert header.total_bytes == len(data) == 11 + header.payload_bytes
    assert data[:2] == b"CA" and data[2] == 2 and header.version == 2  # no step flag
    assert data[3:6] == codec.model_id(model)[:3] == header.model_id
    assert data[6] == 1  # the count, then the payload straight away
    assert (header.count, header.height, header.width) == (1, 28, 28)
    assert header.step == 1.0
    assert struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])


def test_single_digit_header_is_13_bytes_at_another_step(model, step):
    data = codec.compress(_digits(1), model, step=0.5)
    header = codec.read_header(data)
    assert header.header_bytes == 13 and header.total_bytes == len(data) == 13 + header.payload_bytes
    assert data[2] == 0x82  # version 2 with the step flag
    assert np.frombuffer(data[7:9], "<f2")[0] == 0.5 == header.step
    assert codec.read_header(codec.compress(_digits(1), model, step=step)).header_bytes == 13
    near_one = codec.compress(_digits(1), model, step=1.0002)  # stored as 1 in half precision
    assert codec.read_header(near_one).header_bytes == 11


def test_header_layout_byte_by_byte(model):
    data = codec.compress(_digits(300), model, step=0.5)
    assert data[:6] == b"CA\x82" + codec.model_id(model)[:3]
    assert data[6:8] == bytes([300 & 0x7F | 0x80, 300 >> 7])  # LEB128 count
    assert np.frombuffer(data[8:10], "<f2")[0] == 0.5
    assert codec.read_header(data).header_bytes == 14
    assert codec.read_header(codec.compress(_digits(300), model, step=1.0)).header_bytes == 12


def test_version_1_files_still_decode_to_the_same_digits(model, other_model, step):
    images = _digits(3)
    data = codec.compress(images, model, step=step)
    header = codec.read_header(data)
    payload = codec.payload_of(data, header)
    old = codec.pack(codec.model_id(model), count=3, step=step, payload=payload, version=1)
    old_header = codec.read_header(old)
    assert old[2] == 1 and old[3:7] == codec.model_id(model) == old_header.model_id
    assert old_header.header_bytes == 16 and len(old) == len(data) + 3  # height, width and the 4th id byte
    assert (old_header.count, old_header.step) == (3, header.step)
    assert codec.payload_of(old, old_header) == payload
    np.testing.assert_array_equal(codec.decompress(old, model), codec.decompress(data, model))
    # The mismatch message shows the stored id and as many bytes of the given model's id.
    other = codec.model_id(other_model)
    with pytest.raises(
        codec.ModelMismatchError, match=f"needs model {old[3:7].hex()} but .* is {other.hex()};"
    ):
        codec.decompress(old, other_model)
    with pytest.raises(
        codec.ModelMismatchError, match=f"needs model {data[3:6].hex()} but .* is {other[:3].hex()};"
    ):
        codec.decompress(data, other_model)


def test_sizes_are_real_lengths(model, step):
    images = _digits(100)
    m = codec.measure(images, model, step=step)
    data = codec.compress(images, model, step=step)
    assert m.total_bytes == len(data)
    assert m.bytes_per_image == pytest.approx(len(data) / 100)
    assert m.bits_per_pixel == pytest.approx(8 * len(data) / (100 * 784))
    assert m.payload_bytes + m.header_bytes == len(data)


def test_range_coder_is_close_to_the_ideal_code_length(model, step):
    m = codec.measure(_digits(500), model, step=step)
    assert m.ideal_payload_bits > 500  # several bits per image: a meaningful test
    assert 0 <= m.coder_overhead < 0.03


def test_larger_step_means_fewer_bytes_and_lower_quality(model, step):
    fine = codec.measure(_digits(100), model, step=step / 4)
    coarse = codec.measure(_digits(100), model, step=step * 4)
    assert coarse.total_bytes < fine.total_bytes
    assert coarse.mean_psnr_db <= fine.mean_psnr_db


def test_ideal_bits_matches_a_hand_computed_gaussian():
    # One symbol 0 under N(0, 1) with step 1: P = erf(0.5 / sqrt 2) = 0.38292...
    bits = codec.ideal_bits(np.array([[0]]), np.array([0.0]), np.array([1.0]), 1.0)
    assert bits == pytest.approx(-np.log2(0.3829249225480262), rel=1e-9)
    # Far in the tail the probability must not cancel to zero.
    tail = codec.ideal_bits(np.array([[12]]), np.array([0.0]), np.array([1.0]), 1.0)
    assert 70 < tail < 120


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), 1e6, "big"])
def test_bad_step(model, bad):
    with pytest.raises(ValueError, match="Received: step="):
        codec.compress(_digits(1), model, step=bad)


def test_bad_images(model):
    with pytest.raises(ValueError, match=r"Received: shape=\(2, 32, 32\)"):
        codec.compress(np.zeros((2, 32, 32), np.uint8), model)
    with pytest.raises(ValueError, match="must lie in"):
        codec.compress(np.full((1, 28, 28), 255.0), model)
    with pytest.raises(TypeError, match="dtype=int64"):
        codec.compress(np.zeros((1, 28, 28), np.int64), model)


def test_model_without_prior_is_refused(step):
    plain = models.build_autoencoder(6, filters=4, hidden_units=16)
    with pytest.raises(ValueError, match="no latent prior"):
        codec.compress(_digits(1), plain, step=step)


# --------------------------------------------------------------------------- errors


def test_wrong_model(model, other_model, step):
    data = codec.compress(_digits(2), model, step=step)
    with pytest.raises(codec.ModelMismatchError, match="needs model"):
        codec.decompress(data, other_model)


def test_refitting_the_prior_changes_the_model_id(model):
    ae = models.build_autoencoder(6, filters=4, hidden_units=16, seed=1)
    refit = codec.attach_prior(ae, _digits(100, seed=9)[..., None] / np.float32(255))
    assert codec.model_id(refit) != codec.model_id(model)


def test_unknown_version(model, step):
    data = bytearray(codec.compress(_digits(1), model, step=step))
    data[2] = 3
    with pytest.raises(codec.UnsupportedVersionError, match=r"version 3 .* reads versions 1 and 2"):
        codec.decompress(bytes(data), model)


def test_not_a_cae_file(model):
    with pytest.raises(codec.NotACaeFileError, match="not a .cae file"):
        codec.decompress(b"\x89PNG\r\n\x1a\n" + bytes(40), model)


@pytest.mark.parametrize("keep", [0, 1, 2, 5, 12, -1])
def test_truncated(model, step, keep):
    data = codec.compress(_digits(3), model, step=step)
    with pytest.raises(codec.CodecError):
        codec.decompress(data[:keep] if keep >= 0 else data[:-1], model)


def test_every_single_bit_flip_is_caught(model, step):
    data = codec.compress(_digits(1), model, step=step)
    for position in range(len(data) * 8):
        flipped = bytearray(data)
        flipped[position // 8] ^= 1 << (position % 8)
        with pytest.raises(codec.CodecError):
            codec.decompress(bytes(flipped), model)


def _with_payload(data: bytes, payload: bytes) -> bytes:
    """``data`` with its payload replaced and the CRC recomputed: only the entropy decoder can notice."""
    body = data[: codec.read_header(data).header_bytes - 4] + payload
    return body + struct.pack("<I", zlib.crc32(body))


def test_corrupt_payload_with_a_valid_checksum_is_caught_or_decodes_differently(model, step):
    data = codec.compress(_digits(5), model, step=step)
    header = codec.read_header(data)
    payload = data[header.header_bytes - 4 : -4]
    assert len(payload) == header.payload_bytes >= 8
    _, latents = codec.decompress_latents(data, model)
    digits = codec.decompress(data, model)
    middle = len(payload) // 2
    forgeries = {
        "all 0xff": b"\xff" * len(payload),
        "all zero": bytes(len(payload)),
        "first byte inverted": bytes([payload[0] ^ 0xFF]) + payload[1:],
        "one bit of the middle byte": (
            payload[:middle] + bytes([payload[middle] ^ 0x10]) + payload[middle + 1 :]
        ),
        "lowest bit of the last byte": payload[:-1] + bytes([payload[-1] ^ 1]),
        "last byte dropped": payload[:-1],
        "bytes reversed": payload[::-1],
        "random bytes": np.random.default_rng(5).integers(0, 256, len(payload), dtype=np.uint8).tobytes(),
    }
    caught = []
    for name, forged_payload in forgeries.items():
        assert forged_payload != payload, name
        forged = _with_payload(data, forged_payload)
        try:
            assert codec.read_header(forged).payload_bytes == len(forged_payload)  # the container accepts it...
        except codec.CodecError as exc:  # ...unless the payload ends in a zero byte, which no writer makes
            assert forged_payload.endswith(b"\0") and "canonical" in str(exc), (name, exc)
            caught.append(name)
            continue
        try:
            _, forged_latents = codec.decompress_latents(forged, model)
            out = codec.decompress(forged, model)
        except codec.CodecError:
            caught.append(name)
            continue
        # Not caught: a forger can make *some* valid stream, but it must never pass for the original.
        assert out.shape == (5, 28, 28) and out.dtype == np.uint8, name
        assert not np.array_equal(forged_latents, latents), f"{name}: decoded to the original latents"
        assert not np.array_equal(out, digits), f"{name}: decoded to the original digits"
    assert caught, f"none of the forged payloads was refused: {list(forgeries)}"


def test_not_bytes(model):
    with pytest.raises(TypeError, match="type=str"):
        codec.decompress("CA...", model)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(max_size=64))
def test_random_bytes_only_raise_codec_errors(model, blob):
    with pytest.raises(codec.CodecError):
        codec.decompress(blob, model)


@FUZZ
@given(st.data())
def test_mutated_files_only_raise_codec_errors(model, step, data):
    original = codec.compress(_digits(2), model, step=step)
    mutated = bytearray(original)
    kind = data.draw(st.sampled_from(["flip", "replace", "insert", "delete", "append"]))
    pos = data.draw(st.integers(0, len(original) - 1))
    if kind == "flip":
        mutated[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "replace":
        mutated[pos : pos + 4] = data.draw(
            st.binary(min_size=1, max_size=4).filter(lambda b: b != original[pos : pos + len(b)])
        )
    elif kind == "insert":
        mutated[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    elif kind == "delete":
        del mutated[pos : pos + data.draw(st.integers(1, 8))]
    else:
        mutated += data.draw(st.binary(min_size=1, max_size=8))
    if bytes(mutated) == original:
        return
    with pytest.raises(codec.CodecError):
        codec.decompress(bytes(mutated), model)


# --------------------------------------------------------------------------- the prior in the codec


def test_decorrelation_saves_bits_on_correlated_latents(model, step):
    images = _digits(300)
    ae = models.build_autoencoder(6, filters=4, hidden_units=16, seed=1)
    plain = codec.attach_prior(ae, _digits(200, seed=2)[..., None] / np.float32(255), decorrelate=False)
    assert len(codec.compress(images, model, step=step)) <= len(codec.compress(images, plain, step=step))


def test_codec_model_saves_and_loads_with_the_same_id(model, tmp_path, step):
    import keras

    model.save(tmp_path / "codec.keras")
    loaded = keras.saving.load_model(tmp_path / "codec.keras", compile=False)
    assert codec.model_id(loaded) == codec.model_id(model)
    data = codec.compress(_digits(4), model, step=step)
    np.testing.assert_array_equal(codec.decompress(data, loaded), codec.decompress(data, model))


def test_compress_each_equals_compressing_one_by_one(model, step):
    images = _digits(4)
    files = codec.compress_each(images, model, step=step)
    assert files == [codec.compress(image, model, step=step) for image in images]
    assert all(codec.read_header(f).header_bytes == 13 for f in files)  # the step fixture is not 1
    assert all(codec.read_header(f).header_bytes == 11 for f in codec.compress_each(images, model, step=1.0))


def test_layout_names_every_byte_once(model, step):
    data = codec.compress(_digits(2), model, step=step)
    fields = codec.layout(data)
    assert [f["field"] for f in fields][:3] == ["magic", "version", "model id"]
    assert sum(f["size"] for f in fields) == len(data)
    offsets = [f["offset"] for f in fields]
    assert offsets == sorted(offsets) and all(
        a["offset"] + a["size"] == b["offset"] for a, b in zip(fields, fields[1:])
    )
    assert fields[0]["hex"] == "43 41" and fields[-1]["hex"] == data[-4:].hex(" ")


def test_layout_of_a_version_2_file_lists_no_height_or_width(model):
    for step, names in [
        (1.0, ["magic", "version", "model id", "image count", "payload", "CRC-32"]),
        (0.5, ["magic", "version", "model id", "image count", "step", "payload", "CRC-32"]),
    ]:
        data = codec.compress(_digits(2), model, step=step)
        fields = codec.layout(data)
        assert [f["field"] for f in fields] == names
        assert sum(f["size"] for f in fields) == len(data)
        assert [(f["offset"], f["size"]) for f in fields[:4]] == [(0, 2), (2, 1), (3, 3), (6, 1)]
    old = codec.pack(codec.model_id(model), count=2, step=1.0, payload=b"\x01", version=1)
    assert [f["field"] for f in codec.layout(old)][3:7] == ["image count", "height", "width", "step"]


# --------------------------------------------------------------------------- the container on its own


def _framed(body: bytes) -> bytes:
    """``body`` with a CRC-32 that matches: only the header's own checks can refuse it."""
    return body + struct.pack("<I", zlib.crc32(body))


IDENT = bytes.fromhex("a1b2c3d4")


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("count", [0, 1, 300, codec.MAX_IMAGES])
@pytest.mark.parametrize("step", [1.0, 0.5, 3.0])
def test_pack_and_read_header_round_trip_in_both_versions(version, count, step):
    payload = bytes(range(7))
    data = codec.pack(IDENT, count=count, step=step, payload=payload, version=version)
    header = codec.read_header(data)
    assert (header.version, header.count, header.step) == (version, count, step)
    assert header.model_id == IDENT[: container.STORED_ID_BYTES[version]]
    assert (header.height, header.width) == (28, 28)
    assert codec.payload_of(data, header) == payload and header.total_bytes == len(data)
    count_bytes = len(container.varint(count))
    if version == 1:
        assert header.header_bytes == 15 + count_bytes
    else:
        assert header.header_bytes == 10 + count_bytes + (0 if step == 1.0 else 2)
    # A header's own (stored) id packs the same file again.
    assert codec.pack(header.model_id, count=count, step=step, payload=payload, version=version) == data


def test_pack_refuses_what_the_format_cannot_hold():
    assert codec.FORMAT_VERSION == 2 and container.SUPPORTED_VERSIONS == (1, 2)
    assert container.SMALLEST_FILE == len(codec.pack(IDENT, count=0, step=1.0, payload=b"")) == 11
    with pytest.raises(ValueError, match="`version` must be one of"):
        codec.pack(IDENT, count=1, step=1.0, payload=b"", version=3)
    with pytest.raises(ValueError, match="`model_id` must be 4 bytes"):
        codec.pack(IDENT[:3], count=1, step=1.0, payload=b"", version=1)
    with pytest.raises(ValueError, match=r"`model_id` must be 4 bytes \(or the 3"):
        codec.pack(IDENT[:2], count=1, step=1.0, payload=b"")
    with pytest.raises(ValueError, match="stores no image size"):
        codec.pack(IDENT, count=1, step=1.0, payload=b"", height=32, width=32)
    tall = codec.pack(IDENT, count=1, step=1.0, payload=b"", version=1, height=32)
    assert codec.read_header(tall).height == 32


def test_a_step_field_holding_the_default_is_refused():
    body = b"CA\x82" + IDENT[:3] + b"\x01" + np.float16(1.0).astype("<f2").tobytes() + b"\x2a"
    with pytest.raises(codec.CodecError, match="stores the default step 1"):
        codec.read_header(_framed(body))
    # The same file with the step omitted is the canonical one, and reads.
    assert codec.read_header(_framed(b"CA\x02" + IDENT[:3] + b"\x01\x2a")).step == 1.0


@pytest.mark.parametrize("bad", [0.0, -0.5, float("inf"), float("nan")])
def test_an_invalid_step_field_is_refused(bad):
    body = b"CA\x82" + IDENT[:3] + b"\x01" + np.float16(bad).astype("<f2").tobytes()
    with pytest.raises(codec.CodecError, match="invalid quantisation step"):
        codec.read_header(_framed(body))


def test_unknown_flag_bits_are_refused():
    good = b"CA\x02" + IDENT[:3] + b"\x01\x2a\x2a"
    assert codec.read_header(_framed(good)).version == 2
    for byte in (0x42, 0xC2):  # bit 6 belongs to the version field, so this is no version 2 file
        with pytest.raises(codec.UnsupportedVersionError, match=r"version 66 is not supported"):
            codec.read_header(_framed(b"CA" + bytes([byte]) + good[3:]))
    old = codec.pack(IDENT, count=1, step=1.0, payload=b"\x2a", version=1)
    flagged = bytearray(old[:-4])
    flagged[2] |= 0x80
    with pytest.raises(codec.CodecError, match="unknown flag bits 0x80 in a format version 1 file"):
        codec.read_header(_framed(bytes(flagged)))


@pytest.mark.parametrize(
    "body, message",
    [
        (b"CA\x02", "shorter than the smallest .cae version 2 file"),
        (b"CA\x02" + IDENT[:3], "shorter than the smallest .cae version 2 file"),
        (b"CA\x82" + IDENT[:3] + b"\x01", "shorter than the smallest .cae version 2 file .13 bytes with a step"),
        (b"CA\x02" + IDENT[:3] + b"\x80", "ends inside the image count"),
        (b"CA\x82" + IDENT[:3] + b"\x81\x01\x00", "ends inside the header"),
        (b"CA\x01" + IDENT + b"\x01\x1c", "shorter than the smallest .cae version 1 file .16 bytes"),
    ],
)  # fmt: skip
def test_truncated_headers_are_refused(body, message):
    with pytest.raises(codec.TruncatedFileError, match=message):
        codec.read_header(body if len(body) <= 3 else _framed(body))


# --------------------------------------------------------------------------- sender and receiver


def test_sender_and_receiver_halves_share_the_id_and_round_trip(model, tmp_path, step):
    import keras

    sender, receiver = codec.sender_of(model), codec.receiver_of(model)
    sender.save(tmp_path / "sender.keras")
    receiver.save(tmp_path / "receiver.keras")
    sender = keras.saving.load_model(tmp_path / "sender.keras", compile=False)
    receiver = keras.saving.load_model(tmp_path / "receiver.keras", compile=False)
    assert {layer.name for layer in sender.layers} >= {"encoder", "prior"} and "decoder" not in {
        layer.name for layer in sender.layers
    }
    assert "encoder" not in {layer.name for layer in receiver.layers}
    assert codec.model_id(sender) == codec.model_id(receiver) == codec.model_id(model)
    images = _digits(5)
    data = codec.compress(images, sender, step=step)
    assert data == codec.compress(images, model, step=step)
    np.testing.assert_array_equal(codec.decompress(data, receiver), _reference(images, model, step))
    with pytest.raises(ValueError, match="has no encoder"):
        codec.compress(images, receiver, step=step)
    with pytest.raises(ValueError, match="has no decoder"):
        codec.decompress(data, sender)


def test_prior_fingerprints_its_encoder_and_decoder(model):
    prior = codec.prior_of(model)
    assert prior.encoder_digest == codec.weights_digest(models.encoder_of(model))
    assert prior.decoder_digest == codec.weights_digest(models.decoder_of(model))
    with pytest.raises(ValueError, match="must be 16 bytes"):
        prior.set_fingerprint(b"short", b"x" * 16)


def test_a_decoder_trained_after_the_prior_was_fitted_is_refused(step):
    ae = models.build_autoencoder(6, filters=4, hidden_units=16, seed=3)
    codec_model = codec.attach_prior(ae, _digits(50, seed=2)[..., None] / np.float32(255))
    data = codec.compress(_digits(2), codec_model, step=step)
    decoder = models.decoder_of(codec_model)
    decoder.set_weights([w + 0.01 for w in decoder.get_weights()])  # "trained further"
    with pytest.raises(codec.ModelMismatchError, match="decoder .* is not the one its prior was fitted for"):
        codec.decompress(data, codec_model)
