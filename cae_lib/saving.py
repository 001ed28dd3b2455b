"""Model files that load on every Keras 3 the course supports, not only on the one that wrote them.

A ``.keras`` file is a zip of ``config.json`` (how to rebuild the network)
and ``model.weights.h5`` (its numbers). Keras writes into the config every
argument its layers know, defaults included, and each release adds a few
(``quantization_config`` in ``Dense``, ``input_axes`` in ``GlorotUniform``,
``optional`` in ``InputLayer`` ...). An older Keras refuses any argument it
does not know, so a plain ``model.save`` on the newest Keras writes files that
Colab's Keras cannot open. The weights are not the problem: their layout has
been the same since Keras 3.0. (Keras 3.0 to 3.3 also expect a one-input
model's ``input_layers`` in an older layout than 3.4 writes; the course
therefore needs Keras 3.4.1 or newer.)

:func:`cae_lib.deploy.save_keras`, which writes every model file of the
course, therefore rewrites the config after saving (:func:`make_portable`):
:func:`portable_config` leaves out every argument that still has its
default value and writes plain floating-point dtype policies as their name
(``"float32"``), which every Keras 3 reads the same way. Older releases also
rebuild a one-input model with lists of one tensor; :func:`load_model` and
:func:`single_tensors` undo that. Nothing else changes: the weights are the same
bytes, so a codec's model id (a hash of its weights) stays what it was. The
shipped models are written this way, and CI loads them on the oldest and the
newest Keras the course supports (``tests/envs/``).

Example:
    >>> from cae_lib import models, saving
    >>> encoder = models.build_encoder(4, filters=4, hidden_units=8)
    >>> layer = saving.portable_config(keras.saving.serialize_keras_object(encoder.get_layer("latent")))
    >>> sorted(layer["config"])
    ['activation', 'bias_initializer', 'dtype', 'kernel_initializer', 'name', 'trainable', 'units']
    >>> layer["config"]["dtype"]
    'float32'
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import zipfile
from functools import lru_cache
from pathlib import Path

from ._tf import keras

CONFIG_MEMBER = "config.json"
_PLAIN_DTYPE_POLICIES = ("DTypePolicy", "FloatDTypePolicy")


def portable_config(config):
    """A serialized Keras config without the arguments that still have their default values.

    Walks a config as ``keras.saving.serialize_keras_object`` or the
    ``config.json`` of a ``.keras`` file holds it. In every serialized
    object whose class this Keras knows (a layer, an initializer, a
    registered ``cae_lib`` layer), an argument of the class's ``__init__``
    whose value equals its default is left out (``None`` and ``False`` count
    as the same "off"); the class then gets its own default when the file is
    loaded, on this Keras or on an older one that never heard of the
    argument. That default is assumed to mean the same on every release;
    CI checks it where it matters, by loading the shipped models on the
    oldest and the newest supported Keras. A plain dtype policy becomes its name. Arguments the class
    takes through ``**kwargs`` (``name``, ``trainable``, ``dtype``) are kept.

    Args:
        config: A serialized config (nested dicts and lists), not changed.

    Returns:
        A new config of the same shape.
    """
    if isinstance(config, list):
        return [portable_config(item) for item in config]
    if not isinstance(config, dict):
        return config
    if _is_plain_dtype_policy(config):
        return config["config"]["name"]
    result = {key: portable_config(value) for key, value in config.items()}
    arguments = result.get("config")
    if "class_name" in result and isinstance(arguments, dict):
        defaults = _defaults(_serialized_class(result))
        result["config"] = {key: value for key, value in arguments.items()
                            if not (key in defaults and _same(value, defaults[key]))}  # fmt: skip
    return result


def make_portable(path: str | os.PathLike) -> None:
    """Rewrite the config of the ``.keras`` file at ``path`` in place with :func:`portable_config`."""
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    if CONFIG_MEMBER not in [info.filename for info, _ in members]:
        raise ValueError(f"{path}: no {CONFIG_MEMBER} inside; not a Keras 3 model file")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, content in members:
            if info.filename == CONFIG_MEMBER:
                content = json.dumps(portable_config(json.loads(content))).encode()
            archive.writestr(info, content)


def load_model(path: str | os.PathLike) -> keras.Model:
    """``keras.saving.load_model(path, compile=False)``, then :func:`single_tensors`: the same model on every Keras."""
    return single_tensors(keras.saving.load_model(path, compile=False))


def single_tensors(model: keras.Model) -> keras.Model:
    """Give every functional model in ``model`` its one input and its one output as tensors, not lists of one; in place.

    Older Keras releases rebuild a functional model from its config
    (``load_model``, ``clone_model``) with a one-element list where the model
    had one tensor: Keras 3.4 for its input and its output, 3.10 still for its
    input. The model then warns ("The structure of `inputs` doesn't match the
    expected structure") every time it is called with a tensor, returns a
    list of one, and its SavedModel export expects a list. Newer releases keep
    the tensors; this does the same on the older ones and changes nothing on
    the newer.

    Returns:
        ``model``, for chaining.
    """
    pending = [model]
    while pending:
        current = pending.pop()
        for attribute in ("_inputs_struct", "_outputs_struct"):
            structure = getattr(current, attribute, None)
            if (
                isinstance(structure, list)
                and len(structure) == 1
                and isinstance(structure[0], keras.KerasTensor)
            ):
                setattr(current, attribute, structure[0])
        pending.extend(layer for layer in getattr(current, "layers", []) if isinstance(layer, keras.Model))
    return model


def _is_plain_dtype_policy(config: dict) -> bool:
    inner = config.get("config")
    return (config.get("class_name") in _PLAIN_DTYPE_POLICIES and isinstance(inner, dict)
            and set(inner) == {"name"} and inner["name"] in ("float16", "bfloat16", "float32", "float64"))  # fmt: skip


def _serialized_class(config: dict):
    """The class a serialized object names, or None where this Keras does not know it."""
    registered = config.get("registered_name")
    if registered and registered != config.get("class_name"):
        return keras.saving.get_registered_object(registered)
    try:
        return getattr(importlib.import_module(str(config.get("module"))), str(config["class_name"]), None)
    except ImportError:
        return None


@lru_cache(maxsize=None)
def _defaults(cls) -> dict:
    """``{argument: default}`` of ``cls.__init__`` (empty for anything that is not a class with a signature)."""
    if not isinstance(cls, type):
        return {}
    try:
        parameters = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _same(value, default) -> bool:
    """True when a serialized ``value`` says the same as the argument's ``default``."""
    if value is None or value is False:
        return default is None or default is False
    if isinstance(default, tuple):
        default = list(default)
    return type(value) is type(default) and value == default
