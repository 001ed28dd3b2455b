"""The shipped pretrained models: hashes, manifest figures, refusal of tampered files."""

import shutil

import numpy as np
import pytest

from cae_lib import codec, data, metrics, models, pretrained, training


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


@pytest.mark.parametrize("latent_dim", pretrained.available_latent_dims())
def test_loads_with_the_recorded_id_and_latent_size(latent_dim):
    model = pretrained.load_pretrained(latent_dim)
    assert models.latent_dim_of(model) == latent_dim
    assert codec.model_id(model).hex() == pretrained.manifest()["models"][str(latent_dim)]["model_id"]
    assert pretrained.find_by_model_id(codec.model_id(model))[1] == f"pretrained latent {latent_dim}"


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
