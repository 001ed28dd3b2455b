"""The shipped pretrained models: hashes, manifest figures, refusal of tampered files."""

import json
import shutil

import numpy as np
import pytest

from cae_lib import codec, data, metrics, models, pretrained, training
from cae_lib.codec import container


def test_manifest_lists_files_that_exist_within_the_size_budget():
    entries = pretrained.manifest()["models"]
    assert 28 in pretrained.available_latent_dims()
    total = 0
    for key, entry in entries.items():
        path = pretrained.PRETRAINED_DIR / entry["file"]
        assert path.is_file()
        total += path.stat().st_size
        assert entry["latent_dim"] == int(key)
        for field in ("sha256", "model_id", "training", "test_mean_psnr_db", "test_mean_ssim"):
            assert field in entry, f"{entry['file']} lacks {field}"
        assert entry["training"]["seed"] == 0 and entry["training"]["seconds"] > 0
    assert total <= 10 * 2**20


def test_all_package_data_fits_15_mib():
    package = pretrained.PRETRAINED_DIR.parent
    files = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    data_files = [p for p in files if p.suffix != ".py" or p.parent.name == "solutions"]
    assert pretrained.PRETRAINED_DIR / "manifest.json" in data_files
    assert sum(p.stat().st_size for p in data_files) <= 15 * 2**20


def test_every_shipped_model_has_a_name_and_loads_by_it():
    names = pretrained.available_models()
    assert names[: len(pretrained.available_latent_dims())] == [
        f"ae_latent{d:02d}" for d in pretrained.available_latent_dims()
    ]
    assert pretrained.default_model() in names
    rate_names = pretrained.available_models(kind="rate")
    assert rate_names and set(rate_names) <= set(names)
    lambdas = [pretrained.model_info(n)["lambda"] for n in rate_names]
    assert lambdas == sorted(lambdas, reverse=True)  # coarse to fine
    for name in rate_names:
        entry = pretrained.model_info(name)
        assert entry["kind"] == "rate" and (pretrained.PRETRAINED_DIR / entry["file"]).is_file()
        assert entry["training"]["seed"] == 0 and 0 < entry["training"]["seconds"] < 15 * 60
        model = pretrained.load_pretrained(name)
        assert codec.model_id(model).hex() == entry["model_id"]
        assert pretrained.name_by_model_id(codec.model_id(model)[:3]) == name
    assert pretrained.resolve(28) == pretrained.resolve("28") == "ae_latent28"
    for wrong in ("rate_lambda9", 29, True, None):
        with pytest.raises(pretrained.PretrainedModelError):
            pretrained.resolve(wrong)


@pytest.mark.parametrize("name", pretrained.available_models(kind="rate"))
def test_rate_models_keep_their_manifest_figures(name, mnist):
    (_, _), (x_test, _) = mnist
    entry = pretrained.model_info(name)
    measured = codec.measure(x_test, pretrained.load_pretrained(name), step=1.0)
    assert measured.bytes_per_image == pytest.approx(entry["test_step1_bytes_per_digit"], abs=0.01)
    assert measured.mean_psnr_db == pytest.approx(entry["test_step1_mean_psnr_db"], abs=0.01)
    assert measured.coder_overhead < 0.01


@pytest.mark.parametrize("latent_dim", pretrained.available_latent_dims())
def test_loads_with_the_recorded_id_and_latent_size(latent_dim):
    model = pretrained.load_pretrained(latent_dim)
    assert models.latent_dim_of(model) == latent_dim
    assert codec.model_id(model).hex() == pretrained.manifest()["models"][str(latent_dim)]["model_id"]
    assert pretrained.find_by_model_id(codec.model_id(model))[1] == f"pretrained ae_latent{latent_dim:02d}"


def test_every_caller_gets_its_own_model():
    first, second = pretrained.load_pretrained(28), pretrained.load_pretrained(28)
    assert first is not second
    kernel = models.encoder_of(first).get_layer("conv1").kernel
    original = np.asarray(models.encoder_of(second).get_layer("conv1").kernel).copy()
    kernel.assign(np.zeros(kernel.shape, np.float32))  # as fine-tuning would change it
    third = pretrained.load_pretrained(28)
    np.testing.assert_array_equal(np.asarray(models.encoder_of(second).get_layer("conv1").kernel), original)
    np.testing.assert_array_equal(np.asarray(models.encoder_of(third).get_layer("conv1").kernel), original)
    assert [layer.name for layer in third.layers] == ["image", "encoder", "prior", "decoder"]
    assert codec.model_id(third) == codec.model_id(second)


def test_the_manifest_names_each_file_by_model_id_without_loading_it():
    for key, entry in pretrained.manifest()["models"].items():
        assert pretrained.latent_dim_by_model_id(bytes.fromhex(entry["model_id"])) == int(key)
        assert pretrained.model_path(int(key)) == pretrained.PRETRAINED_DIR / entry["file"]
    assert pretrained.latent_dim_by_model_id(b"\0\0\0\0") is None


def test_the_shipped_models_differ_in_the_3_bytes_a_file_stores():
    """A format-version-2 file keeps only the first 3 bytes of the model id: they must name one shipped model."""
    raw = json.loads((pretrained.PRETRAINED_DIR / "manifest.json").read_text())["models"]
    stored = container.STORED_ID_BYTES[2]
    prefixes = [bytes.fromhex(entry["model_id"])[:stored] for entry in raw.values()]
    assert len(prefixes) >= 2 and all(len(p) == 3 for p in prefixes)
    assert len(set(prefixes)) == len(prefixes), f"two shipped models share a 3-byte id prefix: {prefixes}"
    for key, prefix in zip(raw, prefixes):
        assert pretrained.latent_dim_by_model_id(prefix) == int(key)
    assert pretrained.latent_dim_by_model_id(b"\0\0\0") is None
    assert pretrained.latent_dim_by_model_id(prefixes[0][:2]) is None  # too short to name a model
    assert pretrained.latent_dim_by_model_id(b"") is None


def test_tampered_file_is_refused(tmp_path):
    shutil.copytree(pretrained.PRETRAINED_DIR, tmp_path / "p", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "p" / pretrained.model_filename(28)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(pretrained.PretrainedModelError, match="does not match the manifest"):
        pretrained.load_pretrained(28, directory=tmp_path / "p")


def test_unknown_size_and_missing_manifest(tmp_path):
    with pytest.raises(pretrained.PretrainedModelError, match="Available"):
        pretrained.load_pretrained(3)
    with pytest.raises(pretrained.PretrainedModelError, match="manifest not found"):
        pretrained.load_pretrained(28, directory=tmp_path)
    assert pretrained.find_by_model_id(b"\0\0\0\0") is None


@pytest.mark.parametrize("latent_dim", pretrained.available_latent_dims())
def test_manifest_psnr_and_ssim_hold_on_the_test_set(latent_dim, mnist):
    _, (x_test, _) = mnist
    x_test = data.to_float(x_test)  # what data.load_mnist_float() returns
    recon = training.predict_in_batches(pretrained.load_pretrained(latent_dim), x_test)
    entry = pretrained.manifest()["models"][str(latent_dim)]
    assert metrics.mean_psnr(x_test, recon, data_range=1.0) == pytest.approx(
        entry["test_mean_psnr_db"], abs=0.1
    )
    assert metrics.mean_ssim(x_test, recon, data_range=1.0) == pytest.approx(
        entry["test_mean_ssim"], abs=0.005
    )
