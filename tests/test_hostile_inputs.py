"""Hostile and unusual input images, .npy batches and IDX files: a correct digit or one line, in bounded memory.

Reproductions of the hostile-input probe (issue 22) for what ``cae compress``
and ``data.read_idx`` read, each with other variants of its class. Peak
memory is measured in a fresh process (VmHWM), never timed.
"""

import gzip
import struct
import subprocess
import sys
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from cae_lib import cli, data, imageio, metrics
from cae_lib.images import to_uint8


@pytest.fixture(scope="module")
def digit():
    x = np.zeros((28, 28), np.uint8)
    x[4:24, 12:17] = 255
    x[4:8, 8:20] = 190
    x[20:24, 6:22] = 120
    return x


PEAK = (
    "import re, sys\n"
    "from cae_lib import imageio\n"
    "try:\n"
    "    imageio.read_digits(sys.argv[1]); outcome = 'read'\n"
    "except imageio.ImageReadError as exc:\n"
    "    outcome = 'refused'\n"
    "print(outcome, re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
)


def peak_mb(path) -> tuple[str, float]:
    """Read ``path`` in a fresh process: (outcome, the process's own peak RSS in MB)."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, timeout=300
    )
    outcome, kib = result.stdout.split()
    return outcome, int(kib) / 1024


@pytest.mark.parametrize(
    "size,mode",
    [((60000, 1), "L"), ((100000, 1), "1"), ((1, 70000), "L"), ((40000, 3), "RGB")],
    ids=["60000x1 (the probe's 138-byte PNG: 3.56 GB)", "100000x1 1-bit (10 GB)", "1x70000", "40000x3 RGB"],
)
def test_a_thin_image_is_not_padded_to_a_huge_square(tmp_path, size, mode):
    path = tmp_path / "thin.png"
    Image.new(mode, size, 0).save(path)
    digits, notes = imageio.read_digits(path)
    assert digits.shape == (1, 28, 28) and any("resized" in note for note in notes)
    outcome, peak = peak_mb(path)
    assert outcome == "read" and peak < 300, peak


@pytest.mark.parametrize(
    "size,mode",
    [((9000, 9000), "RGBA"), ((20000, 12000), "1"), ((7000, 7000), "L")],
    ids=["81-Mpixel RGBA (1.6 GB)", "240-Mpixel 1-bit (Pillow's bomb: traceback)", "49 Mpixel"],
)
def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(tmp_path, size, mode):
    path = tmp_path / "big.png"
    Image.new(mode, size, 0).save(path)
    with pytest.raises(imageio.ImageReadError, match=f"{path.name}: .*(more than the|decompression bomb)"):
        imageio.read_digits(path)
    outcome, peak = peak_mb(path)
    assert outcome == "refused" and peak < 300, peak


@pytest.mark.parametrize("name", ["bomb.png", "bomb.gif"])
def test_a_refused_image_is_one_line_through_the_command_and_writes_nothing(tmp_path, capsys, name):
    path = tmp_path / name
    if name == "bomb.png":
        Image.new("1", (20000, 12000), 0).save(path)
    else:
        path.write_bytes(_gif_header(65535, 65535))
    status = cli.main(["compress", str(path), "-o", str(tmp_path / "out.cae")])
    err = capsys.readouterr().err
    assert status == 1 and name in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out.cae").exists()


def test_16_bit_images_are_scaled_not_clipped(tmp_path, digit):
    """A 16-bit PNG was clipped to 255 (14 dB); scaled, it is the same digit as the 8-bit one."""
    Image.fromarray(digit.astype(np.uint16) * 257).save(tmp_path / "d16.png")
    back, notes = imageio.read_digits(tmp_path / "d16.png")
    assert metrics.psnr(digit, back[0], data_range=255) > 40 and "scaled" in " ".join(notes)
    Image.fromarray(digit.astype(np.int32) * 257, "I").save(tmp_path / "d32.tiff")  # 32-bit integer mode
    assert metrics.psnr(digit, imageio.read_digits(tmp_path / "d32.tiff")[0][0], data_range=255) > 40


def test_float_images_are_scaled_not_black(tmp_path, digit):
    Image.fromarray(digit.astype(np.float32) / 255).save(tmp_path / "unit.tiff")
    back, notes = imageio.read_digits(tmp_path / "unit.tiff")
    assert metrics.psnr(digit, back[0], data_range=255) > 40 and "[0, 1]" in " ".join(notes)
    Image.fromarray(digit.astype(np.float32) * 4 - 100).save(tmp_path / "wide.tiff")  # any range: stretched
    back, notes = imageio.read_digits(tmp_path / "wide.tiff")
    assert metrics.psnr(digit, back[0], data_range=255) > 40 and "stretched" in " ".join(notes)


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (30, 90, 200)])
def test_ink_drawn_in_the_alpha_channel_is_the_digit(tmp_path, digit, colour):
    """Light ink in the alpha channel on a transparent background became a blank digit."""
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = digit
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    back, notes = imageio.read_digits(tmp_path / "alpha.png")
    assert metrics.psnr(digit, back[0], data_range=255) > 40 and "alpha" in " ".join(notes)
    la = np.stack([np.full((28, 28), colour[0], np.uint8), digit], axis=-1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert metrics.psnr(digit, imageio.read_digits(tmp_path / "la.png")[0][0], data_range=255) > 40


def test_light_ink_on_transparency_with_varied_colours_gets_a_dark_backdrop(tmp_path, digit):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 0] = np.where(digit > 0, 255, 0)
    rgba[..., 1] = np.where(digit > 0, 240, 10)  # two colours: not a pure alpha drawing
    rgba[..., 2] = np.where(digit > 0, 230, 0)
    rgba[..., 3] = np.where(digit > 0, 255, 0)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "light.png")
    back, notes = imageio.read_digits(tmp_path / "light.png")
    assert back[0][digit > 0].mean() > 200 and back[0][digit == 0].mean() < 20, notes


def test_a_multi_frame_image_says_which_frame_it_used(tmp_path, digit):
    frames = [Image.fromarray(digit), Image.fromarray(np.roll(digit, 5, axis=1)), Image.fromarray(digit.T)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    back, notes = imageio.read_digits(tmp_path / "anim.gif")
    assert notes[0] == "first frame used (the file holds several)"
    assert metrics.psnr(digit, back[0], data_range=255) > 30


def _npy(path, shape, dtype="|u1"):
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    with open(path, "wb") as handle:
        handle.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
        size = int(np.prod([max(d, 0) for d in shape])) * np.dtype(dtype).itemsize
        handle.truncate(handle.tell() + size)  # sparse: no disk used
    return path


def test_a_huge_npy_batch_is_refused_before_it_is_copied(tmp_path):
    """A sparse 15.7 GB .npy made the reader attempt a 14.6 GiB copy."""
    path = _npy(tmp_path / "huge.npy", (20_000_000, 28, 28))
    with pytest.raises(imageio.ImageReadError, match="holds 20,000,000 digits, more than"):
        imageio.read_digits(path)
    outcome, peak = peak_mb(path)
    assert outcome == "refused" and peak < 300, peak
    small = _npy(tmp_path / "ok.npy", (300, 28, 28))
    with pytest.raises(imageio.ImageReadError, match="more than the 200"):
        imageio.read_digits(small, max_images=200)
    assert imageio.read_digits(small)[0].shape == (300, 28, 28)


@pytest.mark.parametrize("shape", [(-1, 28, 28), (2**62, 28, 28), (3, -28, 28)])
def test_an_impossible_npy_header_is_one_line(tmp_path, shape, recwarn):
    """An .npy header with a negative dimension raised OverflowError."""
    path = tmp_path / "bad.npy"
    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(100))
    with pytest.raises(imageio.ImageReadError, match="bad.npy"):
        imageio.read_digits(path)
    assert not recwarn.list, [
        str(w.message) for w in recwarn
    ]  # numpy's overflow warning was a second stderr line


def test_float_npy_batches_are_converted_in_chunks(tmp_path, digit):
    batch = np.repeat((digit / 255).astype(np.float32)[None], 20_000, axis=0)
    np.save(tmp_path / "floats.npy", batch)
    back, notes = imageio.read_digits(tmp_path / "floats.npy")
    assert back.dtype == np.uint8 and back.shape == (20_000, 28, 28) and notes == ["float [0, 1] -> uint8"]
    np.testing.assert_array_equal(back[-1], digit)


def test_a_gzip_idx_bomb_is_refused_from_its_header(tmp_path):
    """A 2 MB .gz inflating to 2 GiB was inflated whole."""
    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2_800_000, 28, 28) + bytes(2**20))
    with pytest.raises(data.DataFormatError, match="declares 2,195,200,000 bytes"):
        data.read_idx(path)
    wide = tmp_path / "wide-idx.gz"  # 255 dimensions of 2**32 - 1: no int64 overflow either
    with gzip.open(wide, "wb") as handle:
        handle.write(bytes([0, 0, 8, 255]) + struct.pack(">255I", *[2**32 - 1] * 255))
    with pytest.raises(data.DataFormatError, match="more than the"):
        data.read_idx(wide)


def test_an_idx_file_longer_or_shorter_than_declared_is_refused(tmp_path):
    header = bytes([0, 0, 8, 2]) + struct.pack(">2I", 3, 4)
    for body, words in ((bytes(13), "trailing bytes"), (bytes(11), "truncated")):
        path = tmp_path / "x-idx.gz"
        with gzip.open(path, "wb") as handle:
            handle.write(header + body)
        with pytest.raises(data.DataFormatError, match=words):
            data.read_idx(path)
        raw = tmp_path / "x-idx"
        raw.write_bytes(header + body)
        with pytest.raises(data.DataFormatError, match=words):
            data.read_idx(raw)
    raw.write_bytes(header + bytes(12))
    assert data.read_idx(raw).shape == (3, 4)


def _gif_header(width, height) -> bytes:
    """A GIF that declares ``width x height`` and holds one 1-pixel frame's worth of data."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + bytes(6)  # 2-colour palette
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x4c\x01\x00"
    return screen + frame + b";"


def _png_header(width, height) -> bytes:
    """A PNG that declares ``width x height`` 8-bit grayscale pixels and holds almost none."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(64)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "name,content",
    [
        ("huge.gif", _gif_header(65535, 65535)),
        ("wide.gif", _gif_header(9000, 6000)),
        ("huge.png", _png_header(100_000, 100_000)),
        ("long.png", _png_header(2**31 - 1, 1)),
    ],
)
def test_a_crafted_header_claiming_too_many_pixels_is_refused(tmp_path, name, content):
    """Headers claiming billions of pixels over a few bytes are refused before anything is decoded."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(imageio.ImageReadError, match=f"{name}: .*(more than the|decompression bomb)"):
        imageio.read_digits(path)


def _large(digit, kind, path):
    """``digit`` enlarged 160 times (4480x4480, 20 Mpixel) and saved as ``kind``."""
    big = np.kron(digit, np.ones((160, 160), np.uint8))
    if kind == "I;16":
        Image.fromarray(big.astype(np.uint16) * 257).save(path.with_suffix(".png"))
    elif kind == "F":
        Image.fromarray(big.astype(np.float32) / 255).save(
            path.with_suffix(".tiff"), compression="tiff_deflate"
        )
    elif kind == "RGBA alpha ink":
        rgba = np.zeros((*big.shape, 4), np.uint8)
        rgba[..., :3], rgba[..., 3] = 255, big
        Image.fromarray(rgba, "RGBA").save(path.with_suffix(".png"))
    elif kind == "RGBA light ink":  # grey inks of several shades, opaque, on a transparent background
        rgba = np.zeros((*big.shape, 4), np.uint8)
        rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = (
            big,
            np.maximum(big, 10),
            big,
            (big > 0) * 255,
        )
        Image.fromarray(rgba, "RGBA").save(path.with_suffix(".png"))
    else:  # a palette image whose index 0 is transparent
        levels = sorted(set(digit.ravel().tolist()))
        indices = np.searchsorted(levels, big).astype(np.uint8)
        image = Image.fromarray(indices, "P")
        image.putpalette([v for level in levels for v in (level, level, level)])
        image.save(path.with_suffix(".png"), transparency=0)
    return next(path.parent.glob(path.name + ".*"))


@pytest.mark.parametrize("kind", ["I;16", "F", "RGBA alpha ink", "RGBA light ink", "P with transparency"])
def test_a_large_image_is_converted_without_full_size_copies(tmp_path, digit, kind):
    """A 40-Mpixel 16-bit PNG of 85 kB took 1.4 GB (float64 copies), a float TIFF 1.55 GB, an RGBA 1 GB.

    Now the image is box-averaged before any per-pixel work; at 20 Mpixel it
    used 0.5 to 0.8 GB before, about 110 to 170 MB now.
    """
    path = _large(digit, kind, tmp_path / "large")
    back, notes = imageio.read_digits(path)
    assert metrics.psnr(digit, back[0], data_range=255) > 28, notes
    assert "resized 4480x4480 -> 28x28 (longer side 28, proportions kept)" in notes
    outcome, peak = peak_mb(path)
    assert outcome == "read" and peak < 300, peak


def test_nan_in_a_large_float_image_is_still_found(tmp_path):
    pixels = np.zeros((1000, 900), np.float32)
    pixels[517, 333] = np.nan
    Image.fromarray(pixels).save(tmp_path / "nan.tiff")
    with pytest.raises(imageio.ImageReadError, match="nan.tiff: .*NaN or infinite"):
        imageio.read_digits(tmp_path / "nan.tiff")


def test_an_exif_orientation_is_applied_and_noted(tmp_path, digit):
    upright = Image.fromarray(np.kron(digit, np.ones((20, 20), np.uint8)))  # 560x560: the shrunk path
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: the viewer rotates the stored pixels 90 degrees clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "photo.png", exif=exif)
    back, notes = imageio.read_digits(tmp_path / "photo.png")
    assert "turned upright (EXIF orientation 6)" in notes
    assert metrics.psnr(digit, back[0], data_range=255) > 28


def test_a_lab_image_is_read_by_its_lightness(digit):
    lab = Image.merge(
        "LAB", [Image.fromarray(digit), Image.new("L", (28, 28), 128), Image.new("L", (28, 28), 128)]
    )
    back, notes = imageio.image_to_digit(lab)
    np.testing.assert_array_equal(back, digit)
    assert notes == ["LAB -> grayscale"]


def test_a_large_float_npy_batch_is_read_in_bounded_memory(tmp_path):
    """100,000 float64 digits (627 MB, within the default limit) went through a memory map: 859 MB resident."""
    path = _npy(tmp_path / "f8.npy", (100_000, 28, 28), "<f8")  # sparse: zeros, no disk used
    outcome, peak = peak_mb(path)
    assert outcome == "read" and peak < 400, peak


@pytest.mark.parametrize(
    "shape,dtype,size,message",
    [
        (
            (3, 28, 28),
            "|u1",
            100,
            "truncated: the .npy header declares 2,352 bytes of data, the file holds 100",
        ),
        ((3, 28, 28), "<i8", None, "holds int64 values; digits are uint8 pixels or floats in"),
        ((3, 28, 28), "|O", None, "holds Python objects"),
        ((3, 28, 28), "[('a', '|u1')]", None, "holds Python objects or records"),
        ((3, 28), "|u1", None, "must be one image"),
        ((1, 28, 28 * 10**8), "<f8", None, "must be one image"),
    ],
)
def test_an_npy_header_is_checked_before_its_data_is_read(tmp_path, shape, dtype, size, message):
    path = tmp_path / "odd.npy"
    header = f"{{'descr': {dtype!r}, 'fortran_order': False, 'shape': {shape}, }}".encode()
    if dtype.startswith("["):
        header = header.replace(repr(dtype).encode(), dtype.encode())
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    with open(path, "wb") as handle:
        handle.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
        handle.truncate(handle.tell() + (size if size is not None else int(np.prod(shape)) * 8))
    with pytest.raises(imageio.ImageReadError, match=f"odd.npy: .*{message}"):
        imageio.read_digits(path)


def test_npy_batches_read_in_chunks_are_exact_in_every_layout(tmp_path, monkeypatch, digit):
    monkeypatch.setattr(imageio, "_CHUNK", 7)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (23, 28, 28), dtype=np.uint8)
    floats = rng.random((23, 28, 28)).astype(">f4")
    cases = {
        "u8.npy": (pixels, pixels),
        "ch.npy": (pixels[..., None], pixels),
        "one.npy": (digit, digit[None]),
        "f4.npy": (floats, to_uint8(floats)),
        "fortran.npy": (
            np.asfortranarray(floats.astype(np.float16)),
            to_uint8(floats.astype(np.float16)),
        ),
    }
    for name, (array, expected) in cases.items():
        np.save(tmp_path / name, array)
        np.testing.assert_array_equal(imageio.read_digits(tmp_path / name)[0], expected, err_msg=name)
    floats[17, 3, 4] = 1.5
    np.save(tmp_path / "out.npy", floats)
    with pytest.raises(
        imageio.ImageReadError, match=r"out.npy: float pixels must lie in \[0, 1\]; digits 14 to 20"
    ):
        imageio.read_digits(tmp_path / "out.npy")


def test_a_gzip_idx_inflating_past_its_declared_size_stops_reading(tmp_path):
    """A header within the budget over a payload that inflates to 64 MiB: one byte past the claim is read."""
    path = tmp_path / "long-idx1-ubyte.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip, streamed: the test never holds 64 MiB either
    with open(path, "wb") as handle:
        handle.write(packer.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 1000)))
        for _ in range(64):
            handle.write(packer.compress(bytes(2**20)))
        handle.write(packer.flush())
    tracemalloc.start()
    try:
        with pytest.raises(
            data.DataFormatError, match="long-idx1-ubyte.gz: has trailing bytes: .*the file holds more"
        ):
            data.read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, peak


def test_the_idx_budget_is_the_documented_constant(tmp_path, monkeypatch):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 28, 28) + bytes(2 * 784))
    assert data.read_idx(path).shape == (2, 28, 28)
    monkeypatch.setattr(data, "MAX_IDX_BYTES", 1000)
    with pytest.raises(data.DataFormatError, match="declares 1,568 bytes of data, more than the 1,000"):
        data.read_idx(path)
