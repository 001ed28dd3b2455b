"""The light runtime: shipped LiteRT exports, the same files as the Keras path, and a `cae` without TensorFlow."""

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from cae_lib import codec, pretrained
from cae_lib.codec.lite import LiteModel, NumpyPrior
from cae_lib.litert import litert_available

pytestmark = pytest.mark.skipif(not litert_available(), reason="ai-edge-litert has no wheel on this platform")
DEFAULT = pretrained.default_model()


@pytest.fixture(scope="module")
def both():
    return pretrained.load_pretrained(DEFAULT), pretrained.load_litert(DEFAULT)


@pytest.fixture(scope="module")
def digits(request):
    """MNIST test digits when the data folder is there, else synthetic strokes."""
    try:
        from cae_lib import data

        return data.load_mnist()[1][0][:500]
    except (FileNotFoundError, OSError, ValueError):
        from conftest import fake_digits

        return fake_digits(500)


def test_the_default_model_is_exported_and_listed_with_hashes():
    entry = pretrained.model_info(DEFAULT)["litert"]
    for part in ("encoder", "decoder"):
        path = pretrained.PRETRAINED_DIR / entry[part]["file"]
        assert path.is_file() and path.stat().st_size == entry[part]["bytes"]
    lite = pretrained.load_litert()
    assert lite.runtime == "LiteRT (ai_edge_litert)"
    assert lite.model_id.hex() == pretrained.model_info(DEFAULT)["model_id"]
    assert pretrained.has_litert(DEFAULT) and not pretrained.has_litert("ae_latent08")
    with pytest.raises(pretrained.PretrainedModelError, match="no LiteRT export"):
        pretrained.load_litert("ae_latent08")


def test_the_prior_read_without_keras_equals_the_layer(both):
    keras_prior, lite_prior = codec.prior_of(both[0]), both[1].prior
    np.testing.assert_array_equal(lite_prior.loc, keras_prior.loc_values)
    np.testing.assert_array_equal(lite_prior.scale, keras_prior.scale_values)
    np.testing.assert_array_equal(lite_prior.rotation, keras_prior.rotation_values)
    assert codec.model_id(both[0]) == both[1].model_id


def test_pixels_within_one_grey_level_and_files_decode_either_way(both, digits):
    model, lite = both
    z_keras, z_lite = codec.encode_latents(digits, model), codec.encode_latents(digits, lite)
    assert np.abs(z_keras - z_lite).max() < 1e-3
    from_keras, from_lite = codec.compress(digits, model), codec.compress(digits, lite)
    # Latents a float rounding apart can, very rarely, round to different symbols: compare what decodes.
    for data in (from_keras, from_lite):
        by_keras, by_lite = codec.decompress(data, model), codec.decompress(data, lite)
        assert by_keras.shape == by_lite.shape == (len(digits), 28, 28)
        assert np.abs(by_keras.astype(int) - by_lite).max() <= 1
        assert np.mean(by_keras != by_lite) < 0.01  # nearly every pixel identical
    assert abs(len(from_keras) - len(from_lite)) <= 2
    measured = codec.measure(digits[:100], lite)
    assert measured.total_bytes == len(codec.compress(digits[:100], lite)) and measured.mean_psnr_db > 18


def test_a_sender_and_a_receiver_each_hold_one_network(both, digits):
    sender = pretrained.load_litert(DEFAULT, parts=("encoder",))
    receiver = pretrained.load_litert(DEFAULT, parts=("decoder",))
    data = codec.compress(digits[:3], sender)
    np.testing.assert_array_equal(codec.decompress(data, receiver), codec.decompress(data, both[1]))
    with pytest.raises(ValueError, match="has no decoder"):
        codec.decompress(data, sender)
    with pytest.raises(ValueError, match="has no encoder"):
        codec.compress(digits[:1], receiver)
    other = LiteModel(model_id=b"\0\0\0\0", prior=both[1].prior, decoder=open(
        pretrained.PRETRAINED_DIR / pretrained.model_info(DEFAULT)["litert"]["decoder"]["file"], "rb").read())
    with pytest.raises(codec.ModelMismatchError):
        codec.decompress(data, other)


def test_lite_model_checks_its_parts(both):
    prior = both[1].prior
    with pytest.raises(ValueError, match="4 bytes"):
        LiteModel(model_id=b"abc", prior=prior, decoder=b"12345678")
    with pytest.raises(ValueError, match="needs an encoder, a decoder or both"):
        LiteModel(model_id=b"abcd", prior=prior)
    with pytest.raises(ValueError, match="not a loadable .tflite model"):
        LiteModel(model_id=b"abcd", prior=prior, decoder=b"not a flat buffer at all")
    encoder = (pretrained.PRETRAINED_DIR / pretrained.model_info(DEFAULT)["litert"]["encoder"]["file"]).read_bytes()
    with pytest.raises(ValueError, match="the decoder takes"):
        LiteModel(model_id=b"abcd", prior=prior, decoder=encoder)  # an encoder where the decoder goes
    small = NumpyPrior(loc=np.zeros(3), scale=np.ones(3), rotation=np.eye(3))
    with pytest.raises(ValueError, match="do not fit together"):
        NumpyPrior.from_arrays({"loc": np.zeros(3), "scale": np.ones(4)})
    assert small.from_coordinates(small.to_coordinates([[1.0, 2.0, 3.0]])).tolist() == [[1.0, 2.0, 3.0]]


@pytest.mark.parametrize("part", ["decoder", "keras"])
def test_a_changed_file_is_refused(tmp_path, part):
    folder = tmp_path / "pretrained"
    shutil.copytree(pretrained.PRETRAINED_DIR, folder)
    entry = pretrained.model_info(DEFAULT)
    name = entry["file"] if part == "keras" else entry["litert"][part]["file"]
    content = bytearray((folder / name).read_bytes())
    content[len(content) // 2] ^= 1
    (folder / name).write_bytes(bytes(content))
    with pytest.raises(pretrained.PretrainedModelError, match=f"{name}: sha256 .* does not match"):
        pretrained.load_litert(DEFAULT, directory=folder)


def _cae_in_subprocess(tmp_path, argv, *, block=()):
    """Run ``cae`` in a fresh interpreter; return (status, stdout, stderr, TensorFlow imported?)."""
    script = textwrap.dedent(f"""
        import sys, json
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {list(block)!r}:
                    raise ImportError("blocked by the test: " + name)
        sys.meta_path.insert(0, Block())
        from cae_lib import cli
        status = cli.main({[str(a) for a in argv]!r})
        print(json.dumps([status, "tensorflow" in sys.modules]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    *lines, last = done.stdout.strip().splitlines() or [""]
    status, imported = json.loads(last)
    return status, "\n".join(lines), done.stderr, imported


@pytest.fixture()
def png(tmp_path, digits):
    Image.fromarray(digits[0]).save(tmp_path / "digit.png")
    return tmp_path / "digit.png"


def test_the_cli_never_imports_tensorflow_for_the_default_model(tmp_path, png):
    status, out, err, imported = _cae_in_subprocess(tmp_path, ["compress", png, "-o", tmp_path / "d.cae"])
    assert (status, imported) == (0, False), err
    assert "on LiteRT" in out
    for argv in (["decompress", tmp_path / "d.cae", "-o", tmp_path / "d.png"], ["info", tmp_path / "d.cae"],
                 ["models"]):  # fmt: skip
        status, out, err, imported = _cae_in_subprocess(tmp_path, argv)
        assert (status, imported) == (0, False), (argv, err)
    back = np.asarray(Image.open(tmp_path / "d.png"))
    data = (tmp_path / "d.cae").read_bytes()
    keras_back = codec.decompress(data, pretrained.load_pretrained(DEFAULT))[0]
    assert np.abs(back.astype(int) - keras_back).max() <= 1


def test_without_litert_the_cli_falls_back_to_tensorflow(tmp_path, png):
    status, out, err, imported = _cae_in_subprocess(
        tmp_path, ["compress", png, "-o", tmp_path / "t.cae"], block=("ai_edge_litert",))
    assert (status, imported) == (0, True), err
    assert "on TensorFlow" in out
    lite_file = tmp_path / "l.cae"
    status, *_ = _cae_in_subprocess(tmp_path, ["compress", png, "-o", lite_file])
    # Either file decodes with the other runtime.
    for source, runtime in (((tmp_path / "t.cae"), "litert"), (lite_file, "tensorflow")):
        status, out, err, _ = _cae_in_subprocess(
            tmp_path, ["decompress", source, "-o", tmp_path / f"{runtime}.png", "--runtime", runtime])
        assert status == 0 and f"on {'LiteRT' if runtime == 'litert' else 'TensorFlow'}" in out, err
    status, _, err, _ = _cae_in_subprocess(
        tmp_path, ["compress", png, "-o", tmp_path / "x.cae", "--runtime", "litert"], block=("ai_edge_litert",))
    assert status == 1 and "needs the ai-edge-litert package" in err and "Traceback" not in err
    assert not (tmp_path / "x.cae").exists()


def test_runtime_mistakes_are_one_line(tmp_path, png, capsys):
    from cae_lib import cli

    for extra, message in ((["--model", "ae_latent08"], "has no LiteRT export"),
                           (["--model", str(pretrained.model_path(8))], "is a model file")):  # fmt: skip
        status = cli.main(["compress", str(png), "-o", str(tmp_path / "x.cae"), "--runtime", "litert", *extra])
        err = capsys.readouterr().err
        assert status == 1 and message in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "x.cae").exists()
