"""Model files that older Keras releases load: configs without arguments left at their defaults.

CI runs this file in its Colab-like and minimum environments too
(``scripts/environments.py``), where the shipped files are read by Keras 3.10
and 3.4.1; here the mechanism itself is tested.
"""

import json
import warnings
import zipfile

import numpy as np
import pytest

from cae_lib import codec, deploy, models, pretrained, saving
from cae_lib._tf import keras


@keras.saving.register_keras_serializable(package="cae_tests")
class Scaled(keras.layers.Layer):
    """A layer as a newer release writes it: ``novelty`` is an argument older releases do not know."""

    def __init__(self, factor=1.0, novelty=None, **kwargs):
        super().__init__(**kwargs)
        self.factor, self.novelty = factor, novelty

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "novelty": self.novelty}


class OldScaled(keras.layers.Layer):
    """The same layer as an older release has it: no ``novelty``."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor


def _config(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def _layer_configs(config):
    """Every serialized object's own arguments in a config, with its class name."""
    if isinstance(config, list):
        for item in config:
            yield from _layer_configs(item)
    elif isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict):
            yield config["class_name"], config["config"]
        for value in config.values():
            yield from _layer_configs(value)


def test_an_argument_left_at_its_default_is_left_out_so_an_older_class_can_load_the_config():
    written = keras.saving.serialize_keras_object(Scaled(2.0, name="scaled"))
    with pytest.raises((TypeError, ValueError), match="novelty"):
        OldScaled.from_config(written["config"])  # what an older Keras does with a newer file
    portable = saving.portable_config(written)
    assert "novelty" not in portable["config"] and portable["config"]["factor"] == 2.0
    assert OldScaled.from_config(portable["config"]).factor == 2.0
    assert written["config"]["novelty"] is None  # the input is not changed


def test_an_argument_that_differs_from_its_default_is_kept():
    kept = saving.portable_config(keras.saving.serialize_keras_object(Scaled(3.0, novelty="on")))
    assert kept["config"]["novelty"] == "on"
    dense = saving.portable_config(keras.saving.serialize_keras_object(keras.layers.Dense(4, use_bias=False)))
    assert dense["config"]["use_bias"] is False and dense["config"]["units"] == 4
    assert "kernel_regularizer" not in dense["config"]  # None, the default
    assert dense["config"]["dtype"] == "float32"  # a plain policy becomes its name


def test_a_mixed_precision_policy_is_kept_as_written():
    written = keras.saving.serialize_keras_object(keras.layers.Dense(2, dtype="mixed_float16"))
    assert saving.portable_config(written)["config"]["dtype"] == written["config"]["dtype"]


def test_save_keras_writes_a_portable_file_that_loads_to_the_same_outputs(tmp_path, fake_digits):
    model = models.build_autoencoder(6, filters=4, hidden_units=16, seed=3)
    path = deploy.save_keras(model, tmp_path / "ae.keras")
    config = _config(path)
    assert saving.portable_config(config) == config
    conv1 = next(c for name, c in _layer_configs(config) if c.get("name") == "conv1")
    assert conv1["strides"] == [2, 2] and conv1["padding"] == "same"  # what makes the layer what it is stays
    loaded = keras.saving.load_model(path, compile=False)
    x = fake_digits(8)[..., None] / np.float32(255)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", pretrained.available_models())
def test_every_shipped_model_is_portable_loads_and_keeps_its_model_id(name):
    """Every model `cae models` lists: a portable config, and the manifest's model id after loading on this Keras."""
    config = _config(pretrained.model_path(name))
    assert saving.portable_config(config) == config, (
        f"{name}: run scripts/train_pretrained.py --make-portable"
    )
    for class_name, arguments in _layer_configs(config):
        assert not (isinstance(arguments.get("dtype"), dict)), (
            f"{name}: {class_name} keeps a dtype policy object"
        )
    model = pretrained.load_pretrained(name)
    assert codec.model_id(model).hex() == pretrained.model_info(name)["model_id"]


def test_a_loaded_model_takes_one_tensor_without_a_warning_and_exports_a_one_input_signature(tmp_path):
    """Keras 3.4 and 3.10 rebuild a one-input model with lists of one; saving.single_tensors undoes that."""
    model = pretrained.load_pretrained(8)
    saved = deploy.save_keras(models.decoder_of(model), tmp_path / "decoder.keras")
    z = np.zeros((2, 8), np.float32)
    for decoder in (models.decoder_of(model), codec.load_model(saved)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "The structure of `inputs` doesn't match the expected structure"
            assert np.asarray(decoder(z, training=False)).shape == (2, 28, 28, 1)
            assert tuple(decoder.output.shape) == (None, 28, 28, 1) and tuple(decoder.input.shape) == (
                None,
                8,
            )
            assert model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0).shape == (2, 28, 28, 1)
    serve = deploy.load_saved_model(deploy.export_saved_model(models.decoder_of(model), tmp_path / "saved"))
    assert np.asarray(serve(z)).shape == (2, 28, 28, 1)
