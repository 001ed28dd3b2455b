"""The widgets of notebooks 06 and 07 alive on the course site: their precomputed states, a small script each.

scripts/build_site.py appends :data:`PUBLISH_CELL` to a notebook that makes a
``LatentExplorer`` or a ``GuessTheOriginal``: run last in the same kernel, it
computes every state the page offers with the widget itself
(:mod:`cae_lib.widgets.static`) and displays them as JSON outputs. The
builder then puts :func:`live_html` in place of the widget's static picture:
real controls (range inputs, radio buttons, a select, buttons, all with
labels and keyboard use), the states as JSON in the page, and the script of
``scripts/site_assets/`` (plain JavaScript, no framework, nothing loaded from
the network) that moves through them. Imports nothing heavy: no TensorFlow in
the builder.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "site_assets"
# cae_lib.widgets.static.MIME_TYPE, written again here: importing cae_lib.widgets loads TensorFlow.
MIME_TYPE = "application/vnd.cae.static-widget+json"
MAKERS = ("LatentExplorer(", "GuessTheOriginal(")
PUBLISH_CELL = "from cae_lib.widgets import static as _cae_static\n\n_cae_static.publish(globals());"
CELL_MARK = "cae_site_static"  # the appended cell's metadata key: tidy() takes it out of the page

CSS = """
.cae-live { border: 1px solid #9bb5d6; padding: 0.6em 0.8em; border-radius: 4px; font: 14px/1.45 system-ui, sans-serif; }
.cae-live fieldset { border: 0; padding: 0; margin: 0 0 0.3em; display: flex; gap: 0.8em; align-items: center;
  flex-wrap: wrap; }
.cae-live legend, .cae-live-row > label { float: left; min-width: 8em; color: #333; padding: 0; }
.cae-live-row { display: flex; align-items: center; gap: 0.6em; margin: 0.2em 0; flex-wrap: wrap; }
.cae-live-row input[type=range] { width: 18em; }
.cae-live-row output { min-width: 10em; font-weight: 600; }
.cae-live-status { font-weight: 600; margin: 0.5em 0 0.2em; }
.cae-live-stats table { width: auto; margin: 0.2em 0; }
.cae-live-stats td { text-align: left !important; }
.cae-live-pictures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; margin-top: 0.4em; }
.cae-live figure { margin: 0; }
.cae-live figcaption { font-size: 0.9em; color: #444; max-width: 44em; }
.cae-live-digits, .cae-live-pair { image-rendering: pixelated; max-width: 100%; height: auto; }
.cae-live-curve text { font: 11px system-ui, sans-serif; fill: #333; }
.cae-live button { font: inherit; padding: 0.3em 0.9em; margin-right: 0.5em; }
.cae-live-note { font-size: 0.85em; color: #555; margin: 0.5em 0 0; }
"""


def asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _json(data) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def _range(uid: str, name: str, label: str, options: list[str], index: int) -> str:
    return (f'<div class="cae-live-row cae-live-{name}"><label for="{uid}-{name}">{html.escape(label)}</label>'
            f'<input type="range" id="{uid}-{name}" min="0" max="{len(options) - 1}" step="1" value="{index}" '
            f'aria-valuetext="{html.escape(options[index])}">'
            f'<output for="{uid}-{name}" id="{uid}-{name}-value">{html.escape(options[index])}</output></div>')  # fmt: skip


def explorer_html(data: dict, uid: str) -> str:
    """The explorer as a page element: its controls in their start state, its readout, pictures and script."""
    start = data["start"]
    latent = [f"latent {d}" for d in data["latent_dims"]]
    rates = [m["label"] for m in data["rate_models"]]
    key = str(start["latent"]) if start["family"] != "rate" else start["rate"]
    state = data["states"][f"{start['first']}|{key}|{start['step']}"]
    n = data["n_digits"]
    family = (
        f'<fieldset class="cae-live-family"><legend>models</legend>'
        f'<label><input type="radio" name="{uid}-family" value="autoencoder"'
        f'{" checked" if start["family"] != "rate" else ""}> autoencoders: latent size</label>'
        + (f'<label><input type="radio" name="{uid}-family" value="rate"'
           f'{" checked" if start["family"] == "rate" else ""}> rate-aware: quality</label>' if rates else "")
        + "</fieldset>"
    )  # fmt: skip
    controls = family + _range(
        uid, "latent", "latent size", latent, data["latent_dims"].index(start["latent"])
    )
    if rates:
        names = [m["name"] for m in data["rate_models"]]
        at = names.index(start["rate"]) if start["rate"] in names else len(names) // 2
        controls += _range(uid, "quality", "quality", rates, at)
    controls += _range(uid, "step", "quantisation", data["steps"], data["steps"].index(start["step"]))
    options = "".join(
        f'<option value="{f}"{" selected" if f == start["first"] else ""}>test digits {f} to {f + n - 1}</option>'
        for f in data["firsts"]
    )
    controls += (f'<div class="cae-live-row"><label for="{uid}-first">digits</label>'
                 f'<select id="{uid}-first">{options}</select></div>')  # fmt: skip
    count = len(data["states"])
    return f"""<div class="cae-live cae-live-explorer" id="{uid}" data-state="">
<script type="application/json" class="cae-live-data">{_json(data)}</script>
{controls}
<p class="cae-live-status" role="status" aria-live="polite"></p>
<div class="cae-live-stats">{state["stats"]}</div>
<div class="cae-live-pictures">
<figure><img class="cae-live-digits" src="{state["decoded"]}" alt="{html.escape(state["alt"])}">
<figcaption>Rows: the original digits, decoded, and the signed error (red: decoded too bright, blue: too dark).
PSNR per digit: <span class="cae-live-psnr">{", ".join(f"{p:.1f}" for p in state["psnr"])}</span> dB.</figcaption>
</figure>
<figure><svg class="cae-live-curve" role="img" width="360" height="270" viewBox="0 0 360 270"></svg>
<figcaption>Grey: every quantisation setting; red: the latent sizes at the current one; green squares:
the rate-aware models; star: the current model. Measured on {data["reference"]} test digits.</figcaption></figure>
</div>
<p class="cae-live-note">The explorer runs on this page: its {count} states (every shipped model at every
quantisation setting, for {len(data["firsts"])} set{"s" if len(data["firsts"]) > 1 else ""} of {n} test digits) were computed by the notebook's widget
when the site was built, so its numbers are the widget's. Sliders move with the arrow keys. In JupyterLab
(<code>make course</code>) it takes any digits.</p>
</div>
<script>{asset("explorer.js")}</script>"""


def guess_html(data: dict, uid: str) -> str:
    """The guessing game as a page element: the first pair, two buttons, the score, its script."""
    first = data["rounds"][0]
    return f"""<div class="cae-live cae-live-guess" id="{uid}" data-round="0">
<script type="application/json" class="cae-live-data">{_json(data)}</script>
<img class="cae-live-pair" src="{first["image"]}" alt="{html.escape(first["alt"])}">
<div class="cae-live-row"><button type="button" data-side="left">left is the original</button>
<button type="button" data-side="right">right is the original</button></div>
<div class="cae-live-score" role="status" aria-live="polite"><p class="cae-live-last"></p>
<p><b class="cae-live-verdict">0 of 0 right so far: play at least 10 rounds (20 is better).</b></p></div>
<p class="cae-live-note">The game runs on this page: {len(data["rounds"])} rounds drawn by the notebook's widget
when the site was built (then they start again). In JupyterLab (<code>make course</code>) it draws new ones.</p>
</div>
<script>{asset("guess.js")}</script>"""


def live_html(data: dict, uid: str) -> str | None:
    """The live element of a widget's precomputed states, or None for a kind this module does not know."""
    make = {"explorer": explorer_html, "guess": guess_html}.get(data.get("kind"))
    return None if make is None else f"<style>{CSS}</style>\n{make(data, uid)}"
