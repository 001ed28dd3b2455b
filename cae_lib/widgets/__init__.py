"""The course's widgets, one concept a module.

* :mod:`.explorer` - :class:`LatentExplorer`, the latent-size and quality explorer of notebook 07;
* :mod:`.guess` - :class:`GuessTheOriginal`, the side-by-side "visually lossless" game of notebook 06;
* :mod:`.mosaic` - :func:`digit_mosaic`, originals, decoded digits and error maps as one PNG;
* :mod:`.pad` - :class:`HandwritingLab` and :func:`drawing_pad`, your own digit through MNIST's preprocessing
  and the codec (notebook 07);
* :mod:`.display` - showing a widget on ipywidgets 7 (Colab) and 8 alike.

Example:
    >>> from cae_lib import data, widgets                # doctest: +SKIP
    >>> _, (x_test, _) = data.load_mnist()               # doctest: +SKIP
    >>> widgets.LatentExplorer(x_test)                    # doctest: +SKIP
"""

from .display import IPYWIDGETS_7_NOTE
from .explorer import (
    AUTOENCODER,
    DEFAULT_STEPS,
    FLOAT,
    RATE,
    RAW_BYTES,
    Figures,
    LatentExplorer,
    quality_label,
)
from .guess import GuessTheOriginal
from .mosaic import digit_mosaic
from .pad import HandwritingLab, drawing_pad

__all__ = [
    "AUTOENCODER", "DEFAULT_STEPS", "FLOAT", "IPYWIDGETS_7_NOTE", "RATE", "RAW_BYTES", "Figures",
    "GuessTheOriginal", "HandwritingLab", "LatentExplorer", "digit_mosaic", "drawing_pad", "quality_label",
]  # fmt: skip
