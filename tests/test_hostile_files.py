"""Hostile `.cae` files and outputs: nothing written that cannot be read, no data lost, one line per failure.

The reproductions of the hostile-input probe (issue 22) that concern the
container, the entropy coder and the command's outputs, each with other
variants of its class. Image and model files have their own modules
(tests/test_hostile_inputs.py, tests/test_hostile_models.py).
"""

import os
import struct
import subprocess
import sys
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cae_lib import cli, codec, pretrained
from cae_lib.codec import container, entropy


@pytest.fixture(scope="module")
def model():
    return pretrained.load_litert()  # the default model, as the command runs it


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    x = np.zeros((3, 28, 28), np.uint8)
    x[:, 5:23, 12:16] = 255
    x[1, 5:9, 8:20] = 200
    x[2] = np.roll(x[2], 4, axis=1)
    return np.clip(x.astype(int) + rng.integers(0, 30, x.shape), 0, 255).astype(np.uint8)


@pytest.fixture()
def files(tmp_path, digits):
    np.save(tmp_path / "one.npy", digits[:1])
    np.save(tmp_path / "three.npy", digits)
    return tmp_path


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(status, err, *fragments):
    assert status == 1, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


# --- nothing written that cannot be read ------------------------------------------------------------


@pytest.mark.parametrize("step", ["1e-6", "8e-6", "3e-5", "6e-8"])
def test_steps_the_decoder_cannot_take_are_refused_before_anything_is_written(files, capsys, step):
    """``--step 1e-6`` wrote a file decompress refused; at 8e-6 symbols were silently clipped."""
    status, _, err = run(capsys, "compress", files / "one.npy", "-o", files / "x.cae", "--step", step)
    one_line_error(status, err, "step")
    assert not (files / "x.cae").exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    step=st.floats(min_value=6e-5, max_value=65504.0),
    count=st.integers(min_value=0, max_value=4),
    as_float=st.sampled_from([None, np.float32, np.float64]),
)
def test_every_file_compress_writes_decodes_to_the_same_symbols(model, digits, step, count, as_float):
    images = np.resize(digits, (count, 28, 28))
    images = images if as_float is None else (images / 255).astype(as_float)
    try:
        data = codec.compress(images, model, step=step)
    except ValueError as exc:  # refused with a reason: fine, as long as nothing unreadable comes out
        assert "step" in str(exc) or "range" in str(exc), exc
        return
    header = codec.read_header(data)
    back = codec.decompress(data, model)
    assert back.shape == (count, 28, 28) and header.count == count
    if count:  # the symbols in the file are the ones the encoder made, none clipped
        symbols = codec.latents_to_symbols(codec.encode_latents(images, model), model, header.step)
        payload = container.payload_of(data, header)
        decoded = entropy.decode_symbols(payload, model.prior.scale_values, header.step, count)
        np.testing.assert_array_equal(decoded, symbols)


def test_checked_step_refuses_half_precision_subnormals():
    for step in (6e-8, 1e-6, 3e-5, 0.0, -1.0, float("nan"), float("inf"), 70000.0):
        with pytest.raises(ValueError, match="half precision"):
            container.checked_step(step)
    assert container.checked_step(6.2e-5) > 0 and container.checked_step(65504) == 65504


def test_symbols_beyond_the_priors_range_are_refused_not_clipped():
    scale = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="beyond the prior's range"):
        entropy.encode_symbols(np.array([[0, 40]]), scale, step=1.0)  # 40 > 16 x 2
    with pytest.raises(ValueError, match="too small"):
        entropy.encode_symbols(np.array([[0, 0]]), scale, step=1e-5)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_prior_scale_that_is_not_positive_and_finite_is_one_clean_error(bad):
    """A scale of 0 or below crashed constriction with a PanicException (not even an Exception)."""
    scale = np.array([1.0, bad])
    with pytest.raises(ValueError, match="positive finite"):
        entropy.encode_symbols(np.array([[0, 0]]), scale, step=1.0)
    with pytest.raises(codec.CorruptPayloadError, match="positive finite"):
        entropy.decode_symbols(b"\x01\x02", scale, step=1.0, count=1)


# --- a canonical container ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good(model, digits):
    return codec.compress(digits[:1], model, step=1.0)


def test_exactly_one_byte_string_per_content(model, good):
    """Extra payload bytes, a trailing zero and a non-minimal count used to decode to the same digits."""
    header = codec.read_header(good)
    body = good[:-4]
    count_at = header.payload_start - 1  # version 2, default step: the count byte ends the header
    assert body[count_at] == 1
    variants = {
        "trailing zero byte": with_crc(body + b"\x00"),
        "non-minimal count": with_crc(body[:count_at] + b"\x81\x00" + body[count_at + 1 :]),
    }
    for extra in (1, 2, 3, 4):
        variants[f"{extra} extra payload byte(s)"] = with_crc(body + b"\x5a" * extra)
    for name, data in variants.items():
        with pytest.raises(codec.CodecError) as caught:
            codec.decompress(data, model)
        assert (
            "canonical" in str(caught.value)
            or "minimal" in str(caught.value)
            or "left over" in str(caught.value)
            or "writer" in str(caught.value)
        ), (name, caught.value)
    np.testing.assert_array_equal(codec.decompress(good, model), codec.decompress(bytes(good), model))


def test_an_unknown_version_byte_is_reported_as_it_is(good):
    body = bytearray(good[:-4])
    body[2] = 0xFF
    with pytest.raises(codec.UnsupportedVersionError, match="0xff"):
        codec.read_header(with_crc(bytes(body)))


def test_decoding_memory_follows_the_images_decoded_not_the_count_stated():
    """With --max-images raised, a 16-byte file made decode_symbols allocate count x dims (4 GiB) first."""
    scale = np.ones(28)
    step = 60000.0  # every symbol is 0 and nearly free: a tiny payload can state many images
    count = 200_000
    payload = entropy.encode_symbols(np.zeros((count, 28), np.int32), scale, step)
    assert len(payload) < 64
    tracemalloc.start()
    seen = 0
    for chunk in entropy.iter_decode_symbols(payload, scale, step, count):
        seen += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seen == count
    assert peak < 12e6, (
        peak
    )  # a few chunks' worth (6.3 MB measured), never count x 28 x 4 bytes = 22 MB at once


# --- reading a .cae file --------------------------------------------------------------------------------


def test_what_is_not_a_regular_file_is_named_for_what_it_is(files, capsys):
    os.mkfifo(files / "pipe.cae")
    (files / "folder.cae").mkdir()
    cases = {
        files / "missing.cae": "file not found",
        files / "folder.cae": "a folder",
        files / "pipe.cae": "a pipe",
        "/dev/zero": "a device",
    }
    for path, words in cases.items():
        status, _, err = run(capsys, "info", path)
        one_line_error(status, err, str(path), words)
        status, _, err = run(capsys, "decompress", path, "-o", files / "out.npy")
        one_line_error(status, err, words)
        assert not (files / "out.npy").exists()


def test_a_huge_file_is_refused_by_its_size_and_magic_before_it_is_read(files, capsys):
    """A 3 GB file was read whole (3.2 GB RSS, MemoryError) before its 2 magic bytes were checked."""
    huge = files / "huge.cae"
    with open(huge, "wb") as handle:  # sparse: no disk used
        handle.write(b"CA\x02")
        handle.truncate(3 * 2**30)
    script = (  # VmHWM: this process's own peak (ru_maxrss would carry the forking parent's across exec)
        "import re, sys; from cae_lib.cli import main; status = main(sys.argv[1:]); "
        "print(status, re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    result = subprocess.run([sys.executable, "-c", script, "decompress", str(huge), "-o", str(files / "o.npy")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    status, peak_kib = map(int, result.stdout.split())
    assert status == 1 and "more than a file of at most" in result.stderr, result.stderr
    assert peak_kib < 400_000, peak_kib
    (files / "notcae.bin").write_bytes(b"PK\x03\x04" + bytes(100))
    status, _, err = run(capsys, "info", files / "notcae.bin")
    one_line_error(status, err, "not a .cae file")


def test_a_closed_stdout_is_silent_with_the_sigpipe_status(files, capsys):
    """``cae info x.cae | head -0`` printed a BrokenPipeError traceback."""
    run(capsys, "compress", files / "one.npy", "-o", files / "x.cae")
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write fails
    result = subprocess.run([sys.executable, "-m", "cae_lib.cli", "info", str(files / "x.cae")],
                            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
    os.close(write_end)
    assert result.returncode == 141 and result.stderr == "", result.stderr


# --- output that never destroys data --------------------------------------------------------------------


def test_the_output_is_never_an_input(files, capsys, digits):
    """``cae compress d.png -o d.png`` replaced the input image with .cae bytes."""
    from PIL import Image

    Image.fromarray(digits[0]).save(files / "d.png")
    before = (files / "d.png").read_bytes()
    for extra in ([], ["--force"]):
        status, _, err = run(capsys, "compress", files / "d.png", "-o", files / "d.png", *extra)
        one_line_error(status, err, "is also an input")
        status, _, err = run(
            capsys, "compress", files / "one.npy", files / "d.png", "-o", files / "./d.png", *extra
        )
        one_line_error(status, err, "is also an input")
    os.link(files / "d.png", files / "hard.png")  # another name of the same file
    status, _, err = run(capsys, "compress", files / "hard.png", "-o", files / "d.png", "--force")
    one_line_error(status, err, "is also an input")
    run(capsys, "compress", files / "one.npy", "-o", files / "x.cae")
    status, _, err = run(capsys, "decompress", files / "x.cae", "-o", files / "x.cae", "--force")
    one_line_error(status, err, "is also an input")
    assert (files / "d.png").read_bytes() == before


def test_an_existing_output_is_replaced_only_with_force(files, capsys):
    (files / "x.cae").write_bytes(b"my notes")
    status, _, err = run(capsys, "compress", files / "one.npy", "-o", files / "x.cae")
    one_line_error(status, err, "already exists", "--force")
    assert (files / "x.cae").read_bytes() == b"my notes"
    status, _, _ = run(capsys, "compress", files / "one.npy", "-o", files / "x.cae", "--force")
    assert status == 0 and codec.read_header((files / "x.cae").read_bytes()).count == 1
    (files / "y.npy").write_bytes(b"mine")
    status, _, err = run(capsys, "decompress", files / "x.cae", "-o", files / "y.npy")
    one_line_error(status, err, "already exists")
    assert (files / "y.npy").read_bytes() == b"mine"
    assert "--force" in cli.build_parser()._subparsers._group_actions[0].choices["compress"].format_help()


def test_a_folder_output_holds_exactly_this_files_digits(files, capsys):
    """Decompressing into a folder with an earlier result left stale PNGs and reported the new count."""
    run(capsys, "compress", files / "three.npy", "-o", files / "three.cae")
    run(capsys, "compress", files / "one.npy", "-o", files / "one.cae")
    assert run(capsys, "decompress", files / "three.cae", "-o", files / "out")[0] == 0
    assert len(list((files / "out").iterdir())) == 3
    status, _, err = run(capsys, "decompress", files / "one.cae", "-o", files / "out")
    one_line_error(status, err, "not empty", "--force")
    assert len(list((files / "out").iterdir())) == 3
    status, out, _ = run(capsys, "decompress", files / "one.cae", "-o", files / "out", "--force")
    assert status == 0 and "(1 PNG files)" in out
    assert [p.name for p in (files / "out").iterdir()] == ["digit_00000.png"]
    staging = [p.name for p in files.iterdir() if p.name.startswith(".")]
    assert staging == []


def test_the_current_folder_is_refused_with_a_clear_line(files, capsys, monkeypatch):
    """``-o .`` failed with "PosixPath('.') has an empty name"."""
    run(capsys, "compress", files / "one.npy", "-o", files / "one.cae")
    monkeypatch.chdir(files)
    for extra in ([], ["--force"]):
        status, _, err = run(capsys, "decompress", "one.cae", "-o", ".", *extra)
        one_line_error(status, err)
        assert "PosixPath" not in err
    assert (files / "one.npy").exists() and (files / "one.cae").exists()


def test_a_npy_output_is_written_in_chunks_and_equals_the_decoded_digits(files, capsys, model):
    run(capsys, "compress", files / "three.npy", "-o", files / "three.cae")
    assert run(capsys, "decompress", files / "three.cae", "-o", files / "back.npy")[0] == 0
    back = np.load(files / "back.npy")
    np.testing.assert_array_equal(back, codec.decompress((files / "three.cae").read_bytes(), model))


def test_a_tiny_payload_cannot_state_millions_of_nearly_free_images():
    """At a huge step every symbol is 0, but the coder still charges each one: 16M images need over 16 bytes."""
    scale, step = np.ones(64), 65504.0
    with pytest.raises(codec.CorruptPayloadError, match="holds at most"):
        entropy.check_count(2**24 - 1, 4, scale, step)
    real = entropy.encode_symbols(
        np.zeros((200_000, 64), np.int32), scale, step
    )  # a real file of such images
    entropy.check_count(200_000, len(real), scale, step)  # passes: the bound is never above the real cost


def test_system_failures_are_one_line_and_leave_nothing(files, capsys, monkeypatch):
    """Disk full, a file where a folder should be, memory exhausted: one line each, no staging left."""
    import errno
    from pathlib import Path

    (files / "plain").write_text("a file, not a folder")
    status, _, err = run(capsys, "compress", files / "one.npy", "-o", files / "plain" / "x.cae")
    one_line_error(status, err)

    real_write = Path.write_bytes

    def disk_full(self, data):
        real_write(self, data[:3])  # part of it reached the disk
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    status, _, err = run(capsys, "compress", files / "one.npy", "-o", files / "x.cae")
    one_line_error(status, err, "No space left on device")
    monkeypatch.undo()
    assert sorted(p.name for p in files.iterdir()) == ["one.npy", "plain", "three.npy"]

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(codec, "compress", exhausted)
    status, _, err = run(capsys, "compress", files / "one.npy", "-o", files / "x.cae")
    one_line_error(status, err, "out of memory")
    assert not (files / "x.cae").exists()


def test_an_unreadable_file_is_named_for_what_it_is(files, capsys, monkeypatch):
    """Missing, folder, device, FIFO (above) and unreadable are four different lines (CI runs as root: simulated)."""
    import builtins

    run(capsys, "compress", files / "one.npy", "-o", files / "x.cae")
    real_open = builtins.open

    def denied(path, *args, **kwargs):
        if str(path).endswith("x.cae"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denied)
    status, _, err = run(capsys, "info", files / "x.cae")
    one_line_error(status, err, "x.cae: permission denied")


def test_an_output_in_a_missing_folder_is_one_line(files, capsys):
    status, _, err = run(capsys, "compress", files / "one.npy", "-o", files / "nowhere" / "x.cae")
    one_line_error(status, err, "nowhere: folder not found")
    assert not (files / "nowhere").exists()
