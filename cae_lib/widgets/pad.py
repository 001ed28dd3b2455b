"""A drawing pad for your own digit, and the lab that runs it through MNIST's preprocessing and the real codec.

:func:`drawing_pad` makes a :class:`DrawingPad`: an `anywidget
<https://anywidget.dev>`_ widget (one small ES module, drawn the same way in
JupyterLab 4, Notebook 7, VS Code and Colab) holding a canvas that takes
the mouse, a pen or a finger (pointer events), a **Clear** button and a
**stroke width** slider. It sends the full-size drawing to Python as a PNG
data URL (its ``image`` traitlet); the preprocessing happens in Python
(:func:`cae_lib.handwriting.mnist_preprocess`), where it can be shown
step by step.

:class:`HandwritingLab` puts the pad, a **compress my digit** button, an
upload of a photo (for a front end that cannot draw the pad, or where
``anywidget`` is not installed) and a menu of built-in examples above the
results: the preprocessing steps, and for each latent size and step the
real ``.cae`` file's bytes, the reconstruction and its PSNR.

Example:
    >>> from cae_lib import widgets                      # doctest: +SKIP
    >>> lab = widgets.HandwritingLab()                   # doctest: +SKIP
    >>> lab                                              # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import numpy as np

from .. import handwriting, pretrained
from .display import _display, described_image

ANYWIDGET_MISSING = (
    "The drawing pad needs the anywidget package: run %pip install -q anywidget, then restart the kernel "
    "(or upload a photo of one handwritten digit below, or pick an example)."
)

_ESM = r"""
function render({ model, el }) {
  const size = model.get("size");
  const wrap = document.createElement("div");
  wrap.className = "cae-pad";
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  canvas.className = "cae-pad-canvas";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Drawing pad, " + size + " by " + size + " pixels: draw one digit with " +
    "the mouse, a pen or a finger. Without a pointer, pick an example or upload a photo below.");
  const ctx = canvas.getContext("2d");
  let sent = model.get("image");
  let drawing = false;
  let last = null;
  function blank() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, size, size);
  }
  function show(url) {
    blank();
    if (!url) return;
    const picture = new Image();
    picture.onload = () => { blank(); ctx.drawImage(picture, 0, 0, size, size); };
    picture.src = url;
  }
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * size / box.width, (event.clientY - box.top) * size / box.height];
  }
  function line(from, to) {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = model.get("stroke_width");
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
  }
  function send(strokes) {
    sent = strokes ? canvas.toDataURL("image/png") : "";
    model.set("image", sent);
    model.set("strokes", strokes);
    model.save_changes();
  }
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    drawing = true;
    if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
    last = point(event);
    line(last, last);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const next = point(event);
    line(last, next);
    last = next;
  });
  function end() {
    if (!drawing) return;
    drawing = false;
    send(model.get("strokes") + 1);
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  const controls = document.createElement("div");
  controls.className = "cae-pad-controls";
  const clear = document.createElement("button");
  clear.type = "button";
  clear.className = "cae-pad-clear jupyter-button";
  clear.textContent = "Clear";
  clear.setAttribute("aria-label", "Clear the drawing pad");
  clear.addEventListener("click", () => { blank(); send(0); });
  const label = document.createElement("label");
  label.textContent = "stroke width ";
  const width = document.createElement("input");
  width.type = "range";
  width.min = "4";
  width.max = "48";
  width.value = String(model.get("stroke_width"));
  width.className = "cae-pad-width";
  width.addEventListener("input", () => {
    model.set("stroke_width", Number(width.value));
    model.save_changes();
  });
  label.appendChild(width);
  controls.append(clear, label);
  wrap.append(canvas, controls);
  el.appendChild(wrap);
  show(sent);

  const onImage = () => {
    const url = model.get("image");
    if (url !== sent) { sent = url; show(url); }
  };
  const onWidth = () => { width.value = String(model.get("stroke_width")); };
  model.on("change:image", onImage);
  model.on("change:stroke_width", onWidth);
  return () => {
    model.off("change:image", onImage);
    model.off("change:stroke_width", onWidth);
  };
}
export default { render };
"""

_CSS = """
.cae-pad { display: inline-flex; flex-direction: column; gap: 6px; }
.cae-pad-canvas { width: 280px; height: 280px; touch-action: none; cursor: crosshair;
                  border: 2px solid #888; border-radius: 4px; background: #000; }
.cae-pad-controls { display: flex; gap: 12px; align-items: center; font-size: 13px; }
.cae-pad-controls button { min-width: 5em; min-height: 28px; }
.cae-pad-controls button:focus-visible, .cae-pad-controls input:focus-visible { outline: 2px solid #1a73e8; }
"""

_PAD_CLASS = None


def have_anywidget() -> bool:
    """True when the ``anywidget`` package can be imported (the pad needs it; the upload does not)."""
    import importlib.util

    return importlib.util.find_spec("anywidget") is not None


def drawing_pad(**kwargs):
    """A new :class:`DrawingPad` (an ``anywidget.AnyWidget``); ``ImportError`` without anywidget.

    Traitlets (synced with the page): ``image``, the drawing as a PNG data URL
    (empty: nothing drawn); ``strokes``, how many strokes it holds; ``stroke_width``
    in pad pixels; ``size``, the canvas side in pixels (:data:`~cae_lib.handwriting.PAD_SIZE`).
    Setting ``image`` from Python shows that picture on the pad.
    """
    global _PAD_CLASS
    if _PAD_CLASS is None:
        import anywidget
        import traitlets

        class DrawingPad(anywidget.AnyWidget):
            """A canvas to draw one digit on (see :func:`drawing_pad`)."""

            _esm = _ESM
            _css = _CSS
            image = traitlets.Unicode("", help="The drawing as a PNG data URL; empty when blank.").tag(
                sync=True
            )
            strokes = traitlets.Int(0, help="Strokes drawn since the last Clear.").tag(sync=True)
            stroke_width = traitlets.Int(20, help="Pen width in canvas pixels.").tag(sync=True)
            size = traitlets.Int(handwriting.PAD_SIZE, help="Canvas side in pixels.").tag(sync=True)

        _PAD_CLASS = DrawingPad
    return _PAD_CLASS(**kwargs)


def png_data_url(pixels) -> str:
    """A uint8 grayscale image as a PNG data URL (what the pad sends)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), "L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_data_url(url: str) -> np.ndarray:
    """The pixels of a PNG data URL (the pad's ``image``): uint8, grayscale, RGB or RGBA as stored."""
    from PIL import Image

    if not url.startswith("data:image/png;base64,"):
        raise ValueError("expected a PNG data URL (data:image/png;base64,...)")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as image:
        return np.asarray(image.convert("RGBA" if "A" in image.getbands() else image.mode)).copy()


def _upload_contents(value) -> tuple[str, bytes] | None:
    """``(name, bytes)`` of the first file of a ``FileUpload`` value: ipywidgets 8 (a tuple) or 7 (a dict)."""
    if not value:
        return None
    if isinstance(value, dict):  # ipywidgets 7: {name: {"metadata": ..., "content": bytes}}
        name, entry = next(iter(value.items()))
        return name, bytes(entry["content"])
    entry = value[0]
    return entry["name"], bytes(entry["content"])


@dataclass(frozen=True)
class LabResult:
    """What the lab last showed, as numbers (tests read these).

    ``source`` says where the image came from; ``digit`` is the preprocessed
    digit; ``coded`` one :class:`~cae_lib.handwriting.Coded` per latent size and
    step; ``as_is`` the same picture shrunk whole to 28 × 28 without the recipe,
    coded by the reference model at the reference step.
    """

    source: str
    digit: np.ndarray
    steps: list
    coded: list
    as_is: handwriting.Coded


class HandwritingLab:
    """Draw (or upload) a digit; see MNIST's preprocessing, then the real ``.cae`` bytes and PSNR per model.

    Args:
        models: ``{latent size: codec model}`` to use (e.g. a
            :class:`~cae_lib.widgets.LatentExplorer`'s ``models``; names of
            rate-aware models are left out); default every shipped autoencoder.
        steps: Quantisation steps (columns of the result).
        reference: ``(latent size, step)`` of the "without the recipe" comparison.

    Attributes:
        pad: The :class:`DrawingPad`, or None where ``anywidget`` is not installed.
        compress_button, upload, examples: The other controls.
        status: ``ipywidgets.HTML``: what happened, or what to do (an empty drawing, an unreadable file).
        steps_image, codec_image: ``ipywidgets.Image``: the preprocessing steps, and the reconstructions.
        stats: ``ipywidgets.HTML``: bytes and PSNR per latent size and step.
        result: The last :class:`LabResult`, or None.
        widget: The whole lab as one ``ipywidgets.VBox``.
    """

    def __init__(self, models=None, *, steps=(0.5, 1.0, 2.0), reference=(28, 1.0)):
        import ipywidgets as w

        if models is None:
            models = {d: pretrained.load_pretrained(d) for d in pretrained.available_latent_dims()}
        self.models = dict(sorted((int(k), m) for k, m in models.items() if not isinstance(k, str)))
        if not self.models:
            raise ValueError("models must hold at least one autoencoder, by latent size")
        self.steps = tuple(float(s) for s in steps)
        self.reference = reference if reference[0] in self.models else (next(iter(self.models)), reference[1])
        self.result: LabResult | None = None

        self.pad = drawing_pad() if have_anywidget() else None
        self.compress_button = w.Button(
            description="compress my digit", icon="compress", button_style="primary",
            tooltip="Preprocess the drawing as MNIST was, then compress it with every latent size",
            layout=w.Layout(width="auto"),
        )  # fmt: skip
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="upload a photo",
                                   layout=w.Layout(width="auto"))  # fmt: skip
        self.examples = w.Dropdown(
            options=[("pick an example...", "")] + [(name, name) for name in handwriting.EXAMPLES],
            value="", description="or try", style={"description_width": "auto"}, layout=w.Layout(width="16em"),
        )  # fmt: skip
        self.status = w.HTML()
        self.status.add_class("cae-handwriting-status")
        self.steps_image = described_image(format="png")
        self.steps_image.add_class("cae-handwriting-steps")
        self.codec_image = described_image(format="png")
        self.codec_image.add_class("cae-handwriting-codec")
        self.stats = w.HTML()
        self.stats.add_class("cae-handwriting-stats")

        self.compress_button.on_click(self._on_compress)
        self.upload.observe(self._on_upload, names="value")
        self.examples.observe(self._on_example, names="value")
        controls = w.HBox([self.compress_button, self.upload, self.examples],
                          layout=w.Layout(flex_flow="row wrap", align_items="center"))  # fmt: skip
        top = [self.pad] if self.pad is not None else [w.HTML(f"<p>{html.escape(ANYWIDGET_MISSING)}</p>")]
        self.widget = w.VBox([*top, controls, self.status, self.steps_image, self.stats, self.codec_image])
        self.status.value = self._message(
            "Draw one digit on the pad, then press <b>compress my digit</b>."
            if self.pad is not None
            else "Upload a photo of one handwritten digit, or pick an example."
        )

    # ------------------------------------------------------------------ numbers

    def run(self, image, *, source: str = "your drawing") -> LabResult | None:
        """Preprocess ``image`` (any :func:`~cae_lib.handwriting.mnist_preprocess` input), code it, show it all.

        Returns the :class:`LabResult`, or None when the image holds no digit (the status says why).
        """
        try:
            digit, steps = handwriting.mnist_preprocess(image, steps=True)
        except ValueError as error:
            self.status.value = self._message(html.escape(str(error)), problem=True)
            return None
        coded = handwriting.code_digit(digit, self.models, self.steps)
        dim, step = self.reference
        as_is = handwriting.code_digit(handwriting.as_is(image), {dim: self.models[dim]}, (step,))[0]
        self.result = LabResult(source, digit, steps, coded, as_is)
        self._draw(self.result)
        return self.result

    def run_pad(self) -> LabResult | None:
        """:meth:`run` on what the pad holds (what **compress my digit** does)."""
        if self.pad is None or not self.pad.image:
            self.status.value = self._message(
                "Nothing is drawn yet: draw a digit on the pad first (or upload a photo).", problem=True
            )
            return None
        return self.run(decode_data_url(self.pad.image), source="your drawing")

    # ------------------------------------------------------------------ events

    def _on_compress(self, button=None) -> None:
        self.status.value = self._message("compressing with every latent size ...")
        self.run_pad()

    def _on_upload(self, change) -> None:
        contents = _upload_contents(change["new"])
        if contents is None:
            return
        name, data = contents
        from ..imageio import ImageReadError, read_grayscale

        try:
            pixels, _ = read_grayscale(data)
        except ImageReadError as error:
            self.status.value = self._message(f"{html.escape(name)}: {html.escape(str(error))}", problem=True)
            return
        self.run(pixels, source=f"the photo {name}")

    def _on_example(self, change) -> None:
        name = change["new"]
        if not name:
            return
        drawing = handwriting.example_drawing(name)
        if self.pad is not None:
            self.pad.image = png_data_url(drawing)
            self.pad.strokes = 0
        self.run(drawing, source=f"the example {name}")

    # ------------------------------------------------------------------ drawing

    @staticmethod
    def _message(text: str, *, problem: bool = False) -> str:
        colour = "#b00020" if problem else "inherit"
        return f"<p role='status' style='color:{colour}'>{text}</p>"

    def _draw(self, result: LabResult) -> None:
        steps_fig = handwriting.steps_figure(result.steps)
        from ..figure_text import description

        self.steps_image.tooltip = description(steps_fig)
        self.steps_image.value = handwriting.figure_png(steps_fig)
        codec_fig = handwriting.codec_figure(result.digit, result.coded, title=result.source)
        self.codec_image.tooltip = description(codec_fig)
        self.codec_image.value = handwriting.figure_png(codec_fig)
        self.stats.value = stats_html(result, self.steps, self.reference)
        best = max(result.coded, key=lambda c: c.psnr_db)
        self.status.value = self._message(
            f"{html.escape(result.source)}: best {best.psnr_db:.1f} dB with latent {best.latent_dim} at step "
            f"{best.step:g}, a real .cae file of {best.file_bytes} bytes."
        )

    def _ipython_display_(self):
        _display(self.widget)


def stats_html(result: LabResult, steps, reference) -> str:
    """A table: one row per latent size, per step the ``.cae`` file's bytes and the PSNR; then the as-is line."""
    head = "".join(f"<th style='padding:0 1em'>step {s:g}</th>" for s in steps)
    by_key = {(c.latent_dim, c.step): c for c in result.coded}
    rows = []
    for dim in dict.fromkeys(c.latent_dim for c in result.coded):
        cells = "".join(
            f"<td style='padding:0 1em'>{by_key[(dim, s)].file_bytes} bytes, {by_key[(dim, s)].psnr_db:.1f} dB</td>"
            for s in steps
        )
        rows.append(f"<tr><th style='text-align:right'>latent {dim}</th>{cells}</tr>")
    a = result.as_is
    note = (
        f"<p>Without MNIST's recipe (the whole picture shrunk to 28 × 28, as <code>cae compress</code> does): "
        f"latent {a.latent_dim}, step {a.step:g}: {a.file_bytes} bytes, {a.psnr_db:.1f} dB.</p>"
    )
    caption = f"<caption>{html.escape(result.source)}: real .cae file of one digit, and its PSNR</caption>"
    return (
        f"<table class='cae-handwriting-table'>{caption}<tr><th></th>{head}</tr>{''.join(rows)}</table>{note}"
    )
