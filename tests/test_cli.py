"""The `cae` command line, end to end on files, with the shipped models (the default one unless named)."""

import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cae_lib import cli, codec, imageio, pretrained


@pytest.fixture(scope="module")
def digit():
    """A hand-drawn '1'-like stroke: light on dark, 28x28 uint8."""
    x = np.zeros((28, 28), np.uint8)
    x[4:24, 13:16] = 255
    x[4:7, 10:13] = 180
    return x


@pytest.fixture()
def files(tmp_path, digit):
    Image.fromarray(digit).save(tmp_path / "digit.png")
    big = np.kron(255 - digit, np.ones((9, 12), np.uint8))  # dark on light, 252x336
    Image.fromarray(big).convert("RGB").save(tmp_path / "photo.jpg", quality=95)
    np.save(tmp_path / "batch.npy", np.stack([digit, np.roll(digit, 3, axis=1)]))
    return tmp_path


def run(capsys, *argv):
    status = cli.main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return status, out, err


def test_png_round_trip(files, capsys, digit):
    status, out, _ = run(capsys, "compress", files / "digit.png", "-o", files / "d.cae")
    assert status == 0 and "1 digit(s)" in out
    data = (files / "d.cae").read_bytes()
    assert codec.read_header(data).header_bytes == 11 and len(data) < 55  # format version 2, default step
    status, out, _ = run(capsys, "decompress", files / "d.cae", "-o", files / "back.png")
    assert status == 0 and f"pretrained {pretrained.default_model()}" in out
    back = np.asarray(Image.open(files / "back.png"))
    assert back.shape == (28, 28) and back.dtype == np.uint8
    # The default model runs on LiteRT: exactly its decoding, within one grey level of the Keras decoder's.
    assert "on LiteRT" in out
    np.testing.assert_array_equal(back, codec.decompress(data, pretrained.load_litert())[0])
    keras_back = codec.decompress(data, pretrained.load_pretrained(pretrained.default_model()))[0]
    assert np.abs(back.astype(int) - keras_back).max() <= 1
    # The reconstruction is the stroke, not noise: most of its ink is where the original's is.
    assert back[digit > 0].mean() > 3 * back[digit == 0].mean()


def test_info_describes_the_file(files, capsys):
    run(capsys, "compress", files / "digit.png", "-o", files / "d.cae", "--step", "0.5")
    status, out, _ = run(capsys, "info", files / "d.cae")
    size = (files / "d.cae").stat().st_size
    assert status == 0
    assert "version 2, checksum OK" in out and "1 of 28x28" in out and "step  0.5" in out
    assert f"{size} bytes = 13 header/checksum" in out  # 11 + the step
    assert f"pretrained {pretrained.default_model()}" in out


def test_info_and_decompress_still_read_format_version_1(files, capsys):
    golden = Path(__file__).parent / "golden" / "latent28_step1_5digits.cae"
    status, out, _ = run(capsys, "info", golden)
    assert status == 0
    assert "version 1, checksum OK" in out and "5 of 28x28" in out and "pretrained ae_latent28" in out
    assert f"{golden.stat().st_size} bytes = 16 header/checksum" in out
    status, out, _ = run(capsys, "decompress", golden, "-o", files / "old.npy")
    assert status == 0 and "pretrained ae_latent28" in out
    np.testing.assert_array_equal(
        np.load(files / "old.npy"), codec.decompress(golden.read_bytes(), pretrained.load_pretrained(28))
    )


def test_any_image_and_npy_batches(files, capsys):
    status, out, err = run(
        capsys, "compress", files / "photo.jpg", files / "batch.npy", "-o", files / "m.cae"
    )
    assert status == 0 and "3 digit(s)" in out
    assert "photo.jpg: converted to 28x28 grayscale" in err and "inverted" in err and "resized" in err
    status, out, _ = run(capsys, "decompress", files / "m.cae", "-o", files / "outdir")
    assert status == 0 and sorted(p.name for p in (files / "outdir").iterdir()) == [
        "digit_00000.png", "digit_00001.png", "digit_00002.png"]  # fmt: skip
    status, _, _ = run(capsys, "decompress", files / "m.cae", "-o", files / "all.npy")
    assert np.load(files / "all.npy").shape == (3, 28, 28)


def test_models_lists_every_shipped_model_one_a_line_name_first(capsys):
    status, out, _ = run(capsys, "models")
    lines = out.splitlines()
    assert status == 0 and [line.split()[0] for line in lines] == pretrained.available_models()
    assert [line.split()[0] for line in lines if line.endswith("(default)")] == [pretrained.default_model()]


@pytest.mark.parametrize("name", pretrained.available_models(kind="rate")[:1] + ["ae_latent08"])
def test_compress_with_a_named_model_and_step(files, capsys, name):
    status, out, _ = run(capsys, "compress", files / "batch.npy", "-o", files / "n.cae", "--model", name,
                         "--step", "0.75")  # fmt: skip
    assert status == 0 and f"pretrained {name} on TensorFlow, step 0.75" in out  # no LiteRT export: falls back
    data = (files / "n.cae").read_bytes()
    model = pretrained.load_pretrained(name)
    assert codec.read_header(data).model_id == codec.model_id(model)[:3]
    status, out, _ = run(capsys, "decompress", files / "n.cae", "-o", files / "n.npy")
    assert status == 0 and f"pretrained {name}" in out
    np.testing.assert_array_equal(np.load(files / "n.npy"), codec.decompress(data, model))


def test_a_model_path_still_works(files, capsys):
    path = pretrained.model_path(8)
    status, out, _ = run(capsys, "compress", files / "digit.png", "-o", files / "p.cae", "--model", path)
    assert status == 0 and str(path) in out
    status, out, _ = run(capsys, "decompress", files / "p.cae", "-o", files / "p.png", "--model", path)
    assert status == 0 and str(path) in out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "rate_lambda_nonsense"], "neither a shipped model (see `cae models`) nor a model file"),
        (["--model", "ae_latent08", "--latent-dim", "8"], "give --model or --latent-dim, not both"),
    ],
)
def test_model_choice_mistakes_are_one_line(files, capsys, extra, message):
    status, _, err = run(capsys, "compress", files / "digit.png", "-o", files / "x.cae", *extra)
    assert status == 1 and message in err and len(err.strip().splitlines()) == 1
    assert not (files / "x.cae").exists()


def test_other_latent_size_is_found_by_model_id(files, capsys):
    dims = pretrained.available_latent_dims()
    other = next((d for d in dims if d != 28), None)
    if other is None:
        pytest.skip("only one shipped model")
    run(capsys, "compress", files / "digit.png", "-o", files / "o.cae", "--latent-dim", other)
    status, out, _ = run(capsys, "decompress", files / "o.cae", "-o", files / "o.png")
    assert status == 0 and f"pretrained ae_latent{other:02d}" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["compress", "{d}/missing.png", "-o", "{d}/x.cae"], "missing.png: file not found"),
        (["compress", "{d}/text.png", "-o", "{d}/x.cae"], "text.png: not an image Pillow can read"),
        (
            ["compress", "{d}/bad.npy", "-o", "{d}/x.cae"],
            "bad.npy: not a .npy file of digits (`the array` must be one image (28, 28)",
        ),
        (["compress", "{d}/digit.png", "-o", "{d}/x.cae", "--step", "0"], "Received: step=0.0"),
        (
            ["compress", "{d}/digit.png", "-o", "{d}/x.cae", "--latent-dim", "5"],
            "No pretrained model with latent_dim=5",
        ),
        (["decompress", "{d}/text.png", "-o", "{d}/x.png"], "not a .cae file"),
        (["decompress", "{d}/cut.cae", "-o", "{d}/x.png"], "checksum mismatch"),
        (["decompress", "{d}/foreign.cae", "-o", "{d}/x.png"], "no shipped model has id"),
        (["info", "{d}/nothing.cae"], "nothing.cae: file not found"),
    ],
)
def test_expected_mistakes_give_one_line_and_status_1(files, capsys, argv, message, digit):
    (files / "text.png").write_text("hello")
    np.save(files / "bad.npy", np.zeros((2, 5, 5), np.uint8))
    run(capsys, "compress", files / "digit.png", "-o", files / "ok.cae")
    ok = (files / "ok.cae").read_bytes()
    (files / "cut.cae").write_bytes(ok[:-3])
    foreign = bytearray(ok[:-4])
    foreign[3:6] = b"\x00\x11\x22"  # the 3-byte model id of format version 2
    (files / "foreign.cae").write_bytes(bytes(foreign) + struct.pack("<I", zlib.crc32(bytes(foreign))))
    status, out, err = run(capsys, *[a.format(d=files) for a in argv])
    assert status == 1
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_wrong_model_file_is_refused(files, capsys, tmp_path):
    run(capsys, "compress", files / "digit.png", "-o", files / "d.cae")
    dims = [d for d in pretrained.available_latent_dims() if d != 28]
    if not dims:
        pytest.skip("only one shipped model")
    other = pretrained.PRETRAINED_DIR / pretrained.model_filename(dims[0])
    status, _, err = run(capsys, "decompress", files / "d.cae", "-o", files / "x.png", "--model", other)
    assert status == 1 and "needs model" in err


def test_entry_point_is_installed_and_quiet(files):
    # pip puts the script beside the interpreter (the venv's bin/), whether or not it is on PATH.
    exe = shutil.which("cae", path=str(Path(sys.executable).parent))
    assert exe, f"no `cae` script next to {sys.executable}: is the package installed (pip install -e .)?"
    ok = subprocess.run([exe, "compress", str(files / "digit.png"), "-o", str(files / "e.cae")],
                        capture_output=True, text=True, timeout=120)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""  # no TensorFlow start-up chatter
    bad = subprocess.run([exe, "info", str(files / "digit.png")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "not a .cae file" in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "cae_lib.cli", "nonsense"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_image_to_digit_conversions():
    rgba = Image.new("RGBA", (50, 30), (0, 0, 0, 0))  # transparent: composited on white
    digit, notes = imageio.image_to_digit(rgba)
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert "inverted (dark digit on light background)" in notes
    assert digit.max() == 0  # white paper became MNIST's black background
    same, notes = imageio.image_to_digit(Image.new("L", (28, 28), 0))
    assert notes == [] and same.shape == (28, 28)
    with pytest.raises(ValueError, match="Received: invert='maybe'"):
        imageio.image_to_digit(rgba, invert="maybe")


def test_write_png_checks_its_input(tmp_path):
    with pytest.raises(ValueError, match="dtype=float64"):
        imageio.write_png(tmp_path / "x.png", np.zeros((28, 28)))
