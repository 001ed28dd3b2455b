"""cae_lib: the small library behind the course *Image compression with convolutional autoencoders*.

One concept per module:

* :mod:`cae_lib.data` - loading MNIST from IDX files, Keras or Kaggle CSV;
* :mod:`cae_lib.images` - the one check and conversion of digit arrays;
* :mod:`cae_lib.models` - the encoder, decoder and autoencoder builders;
* :mod:`cae_lib.layers` - the latent prior, a Keras layer;
* :mod:`cae_lib.codec` - the ``.cae`` codec: container, entropy coding,
  codec models, compress and decompress;
* :mod:`cae_lib.metrics` - PSNR and SSIM;
* :mod:`cae_lib.training` - seeded, quick-mode-aware training;
* :mod:`cae_lib.rate` - rate-aware training: a learned entropy model, the
  noise trick, loss = distortion + lambda * bits;
* :mod:`cae_lib.rd` - rate-distortion measurements against classic formats;
* :mod:`cae_lib.pretrained` - the shipped models;
* :mod:`cae_lib.widgets`, :mod:`cae_lib.plotting` - the explorer and shared figures;
* :mod:`cae_lib.deploy` - ``.keras``, SavedModel and TFLite exports;
* :mod:`cae_lib.saving` - model files that load on every Keras the course supports;
* :mod:`cae_lib.litert` - running ``.tflite`` networks on LiteRT, without TensorFlow;
* :mod:`cae_lib.imageio`, :mod:`cae_lib.files`, :mod:`cae_lib.cli` - image files, safe writes, the ``cae`` command;
* :mod:`cae_lib.config` - course-wide settings and the ``CAE_DATA_DIR`` and ``CAE_QUICK`` switches;
* :mod:`cae_lib.environment` - the Setup cell's line of versions, and what to do when one is too old.

Importing the package does not import TensorFlow. The modules that need it
import it through :mod:`cae_lib._tf`, the one place that does.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
