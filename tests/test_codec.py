"""cae_lib.codec: real bytes, exact round trips, the container's checks, and fuzzing."""

import struct
import zlib

import numpy as np
import pytest
from conftest import fake_digits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cae_lib import codec, models

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


def test_single_digit_header_is_16_bytes(model, step):
    data = codec.compress(_digits(1), model, step=step)
    header = codec.read_header(data)
    assert header.header_bytes == 16
    assert header.total_bytes == len(data) == 16 + header.payload_bytes
    assert data[:2] == b"CA" and data[2] == 1
    assert data[3:7] == codec.model_id(model)
    assert (header.count, header.height, header.width) == (1, 28, 28)
    assert header.step == float(np.float16(step))
    assert struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])


def test_header_layout_byte_by_byte(model):
    data = codec.compress(_digits(300), model, step=0.5)
    assert data[7:9] == bytes([300 & 0x7F | 0x80, 300 >> 7])  # LEB128 count
    assert data[9:11] == bytes([28, 28])
    assert np.frombuffer(data[11:13], "<f2")[0] == 0.5
    assert codec.read_header(data).header_bytes == 17


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
    data[2] = 2
    with pytest.raises(codec.UnsupportedVersionError, match="version 2"):
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
        assert codec.read_header(forged).payload_bytes == len(forged_payload)  # the container accepts it
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
    assert all(codec.read_header(f).header_bytes == 16 for f in files)


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
