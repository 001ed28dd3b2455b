"""Showing a widget as a cell's output on ipywidgets 7 (Colab) and 8 alike."""

from __future__ import annotations

IPYWIDGETS_7_NOTE = (
    "ipywidgets 7 here: if no widget shows above (JupyterLab 4 and Notebook 7 draw ipywidgets 8 only), "
    'run %pip install -q "ipywidgets>=8", then restart the kernel.'
)
"""The line under a widget where ipywidgets 7 runs outside Colab, which draws it (so do VS Code and Notebook 6)."""


def _display(widget) -> None:
    """Show an ipywidgets widget as a cell's output: ipywidgets 7 (Colab) and 8 alike.

    ipywidgets 8 widgets have ``_repr_mimebundle_``; ipywidgets 7 ones display
    themselves through ``_ipython_display_``. IPython's ``display`` takes both.
    Under ipywidgets 7 outside Colab, :data:`IPYWIDGETS_7_NOTE` follows.
    """
    import ipywidgets
    from IPython.display import display

    from ..environment import on_colab

    display(widget)
    if int(ipywidgets.__version__.split(".")[0]) < 8 and not on_colab():
        print(IPYWIDGETS_7_NOTE)


_DESCRIBED_IMAGE = None


def described_image(**kwargs):
    """An ``ipywidgets.Image`` whose ``tooltip`` may hold a text of what it shows (the site's alt text).

    ipywidgets 8 draws a tooltip by reading the widget's ``description``,
    which a plain ``Image`` lacks: setting ``tooltip`` on one leaves an error
    box in JupyterLab ("Cannot read properties of undefined (reading
    'length')") instead of the picture. This subclass carries an empty
    ``description``, so the tooltip becomes the image's title.

    Args:
        **kwargs: What ``ipywidgets.Image`` takes (``format``, ``value``, ...).
    """
    global _DESCRIBED_IMAGE
    if _DESCRIBED_IMAGE is None:
        import ipywidgets
        from traitlets import Unicode

        class DescribedImage(ipywidgets.Image):
            description = Unicode("", help="Empty: ipywidgets' tooltip code reads it.").tag(sync=True)

        _DESCRIBED_IMAGE = DescribedImage
    return _DESCRIBED_IMAGE(**kwargs)
