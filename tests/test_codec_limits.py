"""Hostile .cae files: a header never buys more work than its payload can justify.

Each file here has a valid checksum: the container's CRC cannot help, only
the decoder's own bounds can. Time and memory figures for these refusals are
printed by ``benchmarks/hostile_files.py``; the tests check behaviour.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cae_lib import cli, codec, pretrained
from cae_lib.codec import container, entropy, model_file


@pytest.fixture(scope="module")
def model(tiny_codec_model):
    return tiny_codec_model


@pytest.fixture(scope="module")
def step(tiny_codec_step):
    return tiny_codec_step


@pytest.fixture(scope="module")
def valid(model, step, fake_digits):
    return codec.compress(fake_digits(40, seed=3), model, step=step)


def with_count(data: bytes, count: int) -> bytes:
    """The same file with another image count, and a checksum that matches it."""
    header = codec.read_header(data)
    return codec.pack(header.model_id, count=count, step=header.step, payload=codec.payload_of(data, header))


def shipped_hostile(count: int, payload: bytes = b"") -> bytes:
    """A file for the shipped latent-28 model: valid header and checksum, ``count`` images, a tiny payload."""
    ident = bytes.fromhex(pretrained.manifest()["models"]["28"]["model_id"])
    return codec.pack(ident, count=count, step=1.0, payload=payload)


# --------------------------------------------------------------------------- the library


def test_the_two_files_of_the_report_are_refused_by_the_library():
    model = pretrained.load_pretrained(28)
    empty = shipped_hostile(100_000)
    assert len(empty) == 13  # a one-digit file's 11 bytes of framing, 2 more for the count's LEB128
    with pytest.raises(
        codec.CorruptPayloadError, match=r"states 100,000 images but its 0-byte payload holds at most 0"
    ):
        codec.decompress(empty, model)
    huge = shipped_hostile(2**24 - 1)
    assert len(huge) == 14
    with pytest.raises(codec.TooManyImagesError, match="16,777,215 images, more than the 100,000 allowed"):
        codec.decompress(huge, model)
    with pytest.raises(codec.CorruptPayloadError, match="16,777,215 images but its 0-byte payload"):
        codec.decompress(huge, model, max_images=None)


def test_every_image_costs_at_least_its_most_probable_symbols(model, step):
    scale = codec.prior_of(model).scale_values
    least = codec.min_bits_per_image(scale, step)
    # All-zero symbols are the cheapest image: the bound is what they really cost, to a fraction of a bit.
    assert least == pytest.approx(
        codec.ideal_bits(np.zeros((1, len(scale))), 0 * scale, scale, step), abs=0.01
    )
    assert least > 8  # this model's cheapest digit needs more than a byte
    payload_bytes = 100
    fits = int((8 * payload_bytes + entropy.SLACK_BITS) // least)
    codec.check_count(fits, payload_bytes, scale, step)
    with pytest.raises(codec.CorruptPayloadError, match=f"holds at most {fits}"):
        codec.check_count(fits + 1, payload_bytes, scale, step)


@pytest.mark.parametrize("change", [+1, +5, +1000, -1, -20])
def test_a_valid_file_with_another_count_is_refused(model, valid, change):
    with pytest.raises(codec.CorruptPayloadError):
        codec.decompress(with_count(valid, 40 + change), model)


def test_zero_images_with_a_payload_is_refused(model, valid):
    with pytest.raises(codec.CorruptPayloadError, match="states 0 images but"):
        codec.decompress(with_count(valid, 0), model)


def test_the_cap_is_the_callers(model, valid, fake_digits, step):
    with pytest.raises(codec.TooManyImagesError, match="40 images, more than the 39 allowed"):
        codec.decompress(valid, model, max_images=39)
    assert codec.decompress(valid, model, max_images=40).shape == (40, 28, 28)
    with pytest.raises(codec.TooManyImagesError):
        codec.read_header(valid, max_images=10)


def test_decoding_in_chunks_changes_nothing_and_checks_the_position(model, step, fake_digits):
    scale = codec.prior_of(model).scale_values
    symbols = codec.latents_to_symbols(codec.encode_latents(fake_digits(50, seed=4), model), model, step)
    payload = entropy.encode_symbols(symbols, scale, step)
    for chunk in (1, 7, 50, 4096):
        np.testing.assert_array_equal(
            entropy.decode_symbols(payload, scale, step, 50, chunk_images=chunk), symbols
        )
    # Half the payload, with a count the first check lets through: a later chunk runs out of data.
    half = payload[: len(payload) // 2]
    fits = int((8 * len(half) + entropy.SLACK_BITS) // entropy.min_bits_per_image(scale, step))
    with pytest.raises(codec.CorruptPayloadError):
        entropy.decode_symbols(half, scale, step, min(fits, 50), chunk_images=5)


def test_a_valid_large_file_still_decodes(model, step, fake_digits):
    digits = fake_digits(10_000, seed=6)
    data = codec.compress(digits, model, step=step)
    assert codec.decompress(data, model).shape == (10_000, 28, 28)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.one_of(st.integers(0, 200), st.integers(0, container.MAX_IMAGES)),
    cap=st.sampled_from([None, 1000]),
)
def test_any_count_with_a_recomputed_checksum_decodes_or_raises_a_codec_error(model, valid, count, cap):
    mutated = with_count(valid, count)
    try:
        out = codec.decompress(mutated, model, max_images=cap)
    except codec.CodecError:
        return
    # Accepted only if the payload really holds that many images.
    assert count == 40 and out.shape == (40, 28, 28)


# --------------------------------------------------------------------------- the command line


def run_cli(*argv):
    return subprocess.run(
        [sys.executable, "-c", "import sys; from cae_lib.cli import main; sys.exit(main(sys.argv[1:]))", *map(str, argv)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_model_file_gives_the_prior_scales_without_tensorflow():
    path = pretrained.model_path(28)
    np.testing.assert_allclose(
        model_file.prior_scale(path), codec.prior_of(pretrained.load_pretrained(28)).scale_values
    )
    assert model_file.prior_scale(pretrained.PRETRAINED_DIR / "manifest.json") is None


@pytest.mark.parametrize(
    "count, message",
    [(100_000, "holds at most 0 under this model"), (2**24 - 1, "more than the 100,000 allowed (raise max_images, or --max-images")],
)  # fmt: skip
def test_cae_decompress_refuses_hostile_files_in_one_line_and_writes_nothing(tmp_path, count, message):
    hostile = tmp_path / "hostile.cae"
    hostile.write_bytes(shipped_hostile(count))
    for out in (tmp_path / "out.npy", tmp_path / "pngs"):
        result = run_cli("decompress", hostile, "-o", out)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.cae"]  # no partial files either


def test_cae_refuses_before_loading_tensorflow(tmp_path):
    """The refusal needs only the header and the prior's scales: TensorFlow never loads, so memory stays small."""
    hostile = tmp_path / "hostile.cae"
    hostile.write_bytes(shipped_hostile(100_000))
    script = textwrap.dedent(f"""
        import sys
        from cae_lib import cli
        assert cli.main(["decompress", {str(hostile)!r}, "-o", {str(tmp_path / "x.npy")!r}]) == 1
        assert cli.main(["info", {str(hostile)!r}]) == 0
        import cae_lib.codec.container
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[]")


def test_a_failed_decompress_keeps_an_existing_output(tmp_path, capsys):
    hostile = tmp_path / "hostile.cae"
    hostile.write_bytes(shipped_hostile(100_000))
    out = tmp_path / "digits.npy"
    np.save(out, np.arange(5))
    before = out.read_bytes()
    assert cli.main(["decompress", str(hostile), "-o", str(out)]) == 1
    assert out.read_bytes() == before
    assert "hostile.cae" not in capsys.readouterr().out
