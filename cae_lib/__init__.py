"""cae_lib: the small library behind the course *Image compression with convolutional autoencoders*.

One concept per module:

* :mod:`cae_lib.data` - loading MNIST from IDX files, Keras or Kaggle CSV;
* :mod:`cae_lib.models` - the encoder, decoder and autoencoder builders;
* :mod:`cae_lib.metrics` - PSNR and SSIM;
* :mod:`cae_lib.training` - seeded, quick-mode-aware training;
* :mod:`cae_lib.plotting` - the figures the notebooks share;
* :mod:`cae_lib.config` - the ``CAE_DATA_DIR`` and ``CAE_QUICK`` switches.

Importing the package does not import TensorFlow; the modules that need it do.
"""

import os as _os

# Quieten TensorFlow's C++ start-up chatter unless the user asked for it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

__all__ = ["__version__"]
