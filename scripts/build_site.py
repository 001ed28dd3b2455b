#!/usr/bin/env python
"""Build the course as a static web site: every notebook executed and rendered to HTML, with an index.

    python scripts/build_site.py            # what `make site` runs; output in site/, entry site/index.html

Each notebook in ``notebooks/`` (01 to 09, in course order) is executed in a
fresh kernel (nbclient, in a temporary working folder) and rendered with
nbconvert's ``lab`` template; the index lists the notebooks with the purpose
and time stated in each one's first cell, and every page links to the
previous and next notebook and to the index. The pages load nothing from the
network: images are embedded, and the template's scripts (require.js,
MathJax, Mermaid, the widget manager, all from CDNs) are left out; no
notebook has TeX, diagrams or anything else that needs them.

* Quick mode by default: ``CAE_QUICK`` is set to 1 unless it is already set
  (``CAE_QUICK=0 make site`` builds the full figures); ``CAE_DATA_DIR`` is
  passed through to the kernels.
* Training prints one line per epoch (``CAE_PROGRESS=epoch``, read by
  ``cae_lib.training``), and stream outputs are cleaned like a terminal
  would show them (carriage returns and backspaces applied), so a progress
  bar cannot bloat a page.
* Widgets (notebooks 06 and 07) are shown as a static picture of their last
  state: images, text and the controls' values, rendered from the widget
  state the kernel left; their controls do nothing on the page.
* A notebook that raises stops the build with a message naming it and the
  cell; the site is built in a temporary folder and moved into place only
  when every page is done, so ``site/`` is never half built.
* The README and every ``docs/*.md`` become pages too (``site/readme.html``,
  ``site/docs/NAME.html``), listed on the index after the notebooks: their
  links to each other and to the notebooks lead to the site's pages (with
  GitHub's heading anchors), links to any other file of the repository open
  it on GitHub, and their local figures are embedded.
* Nothing to do when ``site/`` was built from the same notebooks, library,
  builder and settings (``site/.build-info.json``); ``--force`` rebuilds.
  When only the README or ``docs/`` changed, only their pages and the index
  are written again, and no notebook runs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cae_lib import config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SITE = ROOT / "site"
BUILD_INFO = ".build-info.json"
README_PAGE = "readme.html"  # README.md on the site; docs/NAME.md becomes docs/NAME.html
BRANCH = "main"  # links to other files of the repository open them on GitHub (as scripts/badges.py's BRANCH)
COURSE_TITLE = "Image compression with convolutional autoencoders"
PROGRESS_ENV, QUICK_ENV = config.PROGRESS_ENV, config.QUICK_ENV  # cae_lib.config loads no TensorFlow
CELL_TIMEOUT = 3600  # seconds per cell; full mode trains for minutes in one cell (notebooks 05, 06, 09)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_NOTE = (
    "Interactive widget, shown as the notebook left it: its controls do nothing on this page. "
    "Open the notebook in JupyterLab (<code>make course</code>) to use it."
)


class SiteError(Exception):
    """The site cannot be built: a notebook failed, or one lacks what the index needs."""


# --------------------------------------------------------------------------- the course's notebooks


@dataclass(frozen=True)
class Lesson:
    """One notebook of the course, as the index shows it."""

    path: Path
    title: str
    purpose: str
    time: str
    minutes: int | None

    @property
    def page(self) -> str:
        return f"{self.path.stem}.html"


def course_notebooks(folder: Path) -> list[Path]:
    """The course's notebooks in course order: ``NN_name.ipynb``, sorted by their number."""
    paths = [p for p in folder.glob("*.ipynb") if re.match(r"\d+_", p.name)]
    if not paths:
        raise SiteError(f"no numbered notebooks (NN_name.ipynb) in {folder}")
    return sorted(paths, key=lambda p: (int(p.name.split("_", 1)[0]), p.name))


def _plain(markdown: str) -> str:
    """A line of markdown as plain text: emphasis and code marks dropped."""
    return re.sub(r"(\*\*|__|\*|`)", "", markdown).strip()


def describe(path: Path, notebook) -> Lesson:
    """Title, purpose and time from a notebook's first markdown cell.

    The cell starts with ``# NN · Title`` and has a ``**Purpose:** ...`` line
    and a ``Time: about N minutes ...`` line; the time shown is that
    line's first sentence.
    """
    first = next((c for c in notebook.cells if c.cell_type == "markdown"), None)
    text = first.source if first is not None else ""
    title = re.search(r"^#\s+(.+?)\s*$", text, re.M)
    purpose = re.search(r"^\W*Purpose:?\W*\s*(.+?)\s*$", text, re.M | re.I)
    duration = re.search(r"^\W*Time:?\**\s*(.+?)\s*$", text, re.M | re.I)
    missing = [n for n, m in (("a '# title' line", title), ("a 'Purpose:' line", purpose),
                              ("a 'Time:' line", duration)) if m is None]  # fmt: skip
    if missing:
        raise SiteError(f"{path.name}: its first markdown cell needs {', '.join(missing)} for the index")
    time_text = re.split(r"(?<=[.)])\s+(?=[A-Z])", _plain(duration.group(1)), maxsplit=1)[0].rstrip(".")
    minutes = re.search(r"(\d+)\s*min", time_text)
    return Lesson(path, _plain(title.group(1)), _plain(purpose.group(1)), time_text,
                  int(minutes.group(1)) if minutes else None)  # fmt: skip


# --------------------------------------------------------------------------- outputs


def collapse_progress(text: str) -> str:
    """Stream text as a terminal would leave it: ``\\r`` restarts a line, ``\\b`` erases a character.

    A progress bar redraws its line with these, thousands of times in a long
    run; only the last state of each line stays.

    Example:
        >>> collapse_progress("1/3 [=  ]\\r2/3 [== ]\\r3/3 [===]\\ndone\\n")
        '3/3 [===]\\ndone\\n'
    """
    if "\r" not in text and "\b" not in text:
        return text
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if "\r" in line:
            parts = [p for p in line.split("\r") if p.replace("\b", "")]
            line = parts[-1] if parts else ""
        if "\b" in line:
            kept: list[str] = []
            for char in line:
                if char == "\b":
                    if kept:
                        kept.pop()
                else:
                    kept.append(char)
            line = "".join(kept)
        lines.append(line)
    return "\n".join(lines)


def merge_streams(outputs: list) -> list:
    """Join consecutive outputs of the same stream (stdout, stderr) and collapse their progress lines."""
    merged: list = []
    for output in outputs:
        if (output.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == output.get("name")):  # fmt: skip
            merged[-1]["text"] += output["text"]
        else:
            merged.append(output)
    for output in merged:
        if output.get("output_type") == "stream":
            output["text"] = collapse_progress(output["text"])
    return [o for o in merged if o.get("output_type") != "stream" or o["text"].strip()]


def widget_states(notebook) -> dict:
    """The widget models the kernel left (``metadata.widgets``), by id, binary buffers put back in."""
    saved = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    states = {}
    for model_id, model in saved.items():
        state = dict(model.get("state", {}))
        for buffer in model.get("buffers", []):
            target, path = state, list(buffer.get("path", []))
            while len(path) > 1:
                target = target.setdefault(path.pop(0), {})
            if path:
                target[path[0]] = {"base64": buffer.get("data", "")}
        states[model_id] = {"name": model.get("model_name") or state.get("_model_name", ""), "state": state}
    return states


def _ref(value) -> str | None:
    return value[len("IPY_MODEL_") :] if isinstance(value, str) and value.startswith("IPY_MODEL_") else None


def _image_src(value, fmt: str) -> str | None:
    if isinstance(value, dict) and "base64" in value:
        data = value["base64"]
    elif isinstance(value, (bytes, bytearray)):
        data = base64.b64encode(value).decode()
    else:
        return None
    kind = {"svg": "svg+xml", "jpg": "jpeg"}.get(fmt, fmt or "png")
    return f"data:image/{kind};base64,{data}" if data else None


def _options(state) -> list[str]:
    return [str(o) for o in state.get("_options_labels", state.get("options", []))]


def widget_html(model_id: str, states: dict, _depth: int = 0) -> str:
    """Static HTML of a widget in its stored state: boxes, images, HTML, labels, and controls as values.

    Models it does not know (or layouts and styles) give nothing.
    """
    model = states.get(model_id)
    if model is None or _depth > 50:
        return ""
    name, state = model["name"], model["state"]
    layout = states.get(_ref(state.get("layout")) or "", {}).get("state", {})
    if layout.get("display") == "none" or layout.get("visibility") == "hidden":
        return ""
    desc = html.escape(str(state.get("description", "")))
    label = f'<span class="cae-w-desc">{desc}</span> ' if desc else ""
    kind = name.removesuffix("Model")

    if kind in ("VBox", "Box", "GridBox", "HBox", "Accordion", "Tab", "Stack"):
        children = "".join(widget_html(_ref(c) or "", states, _depth + 1) for c in state.get("children", []))
        return f'<div class="cae-w-{"hbox" if kind == "HBox" else "vbox"}">{children}</div>'
    if kind == "Image":
        src = _image_src(state.get("value"), str(state.get("format", "png")))
        if src is None:
            return ""
        size = "".join(f' {k}="{html.escape(str(state[k]))}"' for k in ("width", "height") if state.get(k))
        alt = desc or html.escape(str(state.get("tooltip") or "")) or "widget image"  # the widget's own text
        return f'<img class="cae-w-image" src="{src}"{size} alt="{alt}">'
    if kind in ("HTML", "HTMLMath"):
        return f'<div class="cae-w-html">{label}{state.get("value", "")}</div>'
    if kind in ("Label", "Text", "Textarea", "Password", "Combobox"):
        return f'<div class="cae-w-text">{label}{html.escape(str(state.get("value", "")))}</div>'
    if kind == "Button":
        name = desc or html.escape(str(state.get("tooltip") or "button"))
        return f'<button class="cae-w-button" disabled aria-label="{name}">{desc}</button>'
    if kind in ("ToggleButtons", "RadioButtons", "Dropdown", "Select", "SelectionSlider", "ToggleButton",
                "Checkbox", "SelectMultiple"):  # fmt: skip
        if kind in ("ToggleButton", "Checkbox"):
            return f'<div class="cae-w-control">{label}<b>{"on" if state.get("value") else "off"}</b></div>'
        options, index = _options(state), state.get("index")
        chosen = index if isinstance(index, (list, tuple)) else [index]
        if kind == "ToggleButtons":
            buttons = "".join(
                f'<button class="cae-w-button{" cae-w-chosen" if i in chosen else ""}" disabled>'
                f"{html.escape(o)}</button>"
                for i, o in enumerate(options)
            )
            return f'<div class="cae-w-control">{label}{buttons}</div>'
        value = ", ".join(options[i] for i in chosen if isinstance(i, int) and 0 <= i < len(options))
        return f'<div class="cae-w-control">{label}<b>{html.escape(value)}</b></div>'
    if "Slider" in kind or kind.endswith("Text") or kind in ("Play", "IntProgress", "FloatProgress"):
        value = state.get("value")
        if isinstance(value, (list, tuple)):
            shown = " – ".join(str(v) for v in value)
        else:
            shown = str(value)
        bounds = ""
        if "min" in state and "max" in state and not isinstance(value, (list, tuple)):
            bounds = (f'<input type="range" disabled aria-label="{desc or kind}" min="{state["min"]}" '
                      f'max="{state["max"]}" step="{state.get("step", 1)}" value="{value}">')  # fmt: skip
        return f'<div class="cae-w-control">{label}{bounds}<b>{html.escape(shown)}</b></div>'
    if kind == "Output":
        return "".join(_output_html(o) for o in state.get("outputs", []))
    return ""


def _output_html(output: dict) -> str:
    """A plain rendering of an output held by an Output widget."""
    if output.get("output_type") == "stream":
        return f"<pre>{html.escape(collapse_progress(output.get('text', '')))}</pre>"
    data = output.get("data", {})
    for kind in ("png", "jpeg"):
        if f"image/{kind}" in data:
            alt = html.escape(str(output.get("metadata", {}).get(f"image/{kind}", {}).get("alt") or "output"))
            return f'<img src="data:image/{kind};base64,{data[f"image/{kind}"].strip()}" alt="{alt}">'
    if "text/html" in data:
        return data["text/html"] if isinstance(data["text/html"], str) else "".join(data["text/html"])
    if "text/plain" in data:
        return f"<pre>{html.escape(data['text/plain'])}</pre>"
    return ""


def static_widget_output(output: dict, states: dict) -> dict:
    """A widget display replaced by a static HTML picture of its last state, with a note saying so."""
    model_id = output["data"][WIDGET_VIEW].get("model_id", "")
    body = widget_html(model_id, states)
    if not body:
        body = "<p><i>(This widget's state was not saved: run the notebook to see it.)</i></p>"
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/html": f'<div class="cae-widget">{body}<p class="cae-widget-note">{WIDGET_NOTE}</p></div>'
        },
    }


_REMOTE_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*(?:https?:)?//[^)]*\)")
_REMOTE_HTML_IMAGE = re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//[^>]*>""", re.I)
_ALT = re.compile(r"""\balt\s*=\s*["']([^"']*)["']""", re.I)


def offline_markdown(source: str) -> str:
    """Markdown with its remote images (the Binder and Colab badges) replaced by their alt text.

    Offline a remote image shows as a broken picture; its alt text, framed
    like a badge, reads the same, and a link around it still works online.

    Example:
        >>> offline_markdown("[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/x)")
        '[<span class="cae-badge">Binder</span>](https://mybinder.org/v2/x)'
    """
    source = _REMOTE_MD_IMAGE.sub(lambda m: _badge(m.group(1)), source)
    return _REMOTE_HTML_IMAGE.sub(lambda m: _badge((_ALT.search(m.group(0)) or [None, ""])[1]), source)


def _badge(alt: str) -> str:
    return f'<span class="cae-badge">{html.escape(alt or "image")}</span>'


def tidy(notebook) -> None:
    """Prepare an executed notebook for its page, in place.

    Remote images in markdown (badges) become their alt text; streams are
    merged and their progress lines collapsed; widget displays
    become static HTML of their last state (no ``VBox(children=...)``
    text, no widget manager script); the stored widget state is dropped.
    """
    import nbformat

    states = widget_states(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = offline_markdown(cell.source)
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                output = static_widget_output(output, states)
            outputs.append(output)
        cell.outputs = [nbformat.from_dict(o) for o in merge_streams(outputs)]
    notebook.metadata.pop("widgets", None)


# --------------------------------------------------------------------------- execution


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _failure(path: Path, notebook, error: Exception) -> str:
    """Which cell of which notebook failed, and the end of its traceback."""
    for number, cell in enumerate(notebook.cells, 1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
                tail = "\n".join(trace.strip().splitlines()[-15:])
                return (f"{path.name} failed in cell {number} (execution count {cell.get('execution_count')}): "
                        f"{output.get('ename')}: {output.get('evalue')}\n{tail}")  # fmt: skip
    return f"{path.name} failed: {type(error).__name__}: {_ANSI.sub('', str(error))[-3000:]}"


def execute(path: Path, *, timeout: int = CELL_TIMEOUT, env: dict | None = None):
    """Run a notebook in a fresh kernel from a temporary working folder; return it with its outputs.

    ``env`` is the kernel's environment (default :func:`kernel_env`).
    Widget state is kept (``metadata.widgets``). Raises :class:`SiteError`
    naming the notebook and the cell if a cell raises, times out or the
    kernel dies.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="cae-site-run-") as workdir:
        client = NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": workdir}},
            store_widget_state=True, record_timing=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no "running over TCP" warning per kernel
        )  # fmt: skip
        try:
            client.execute(env=kernel_env() if env is None else env)
        except Exception as error:  # CellExecutionError, CellTimeoutError, DeadKernelError, ...
            raise SiteError(_failure(path, notebook, error)) from error
    return notebook


# --------------------------------------------------------------------------- pages

# Accessibility (docs/accessibility.md): a skip link, shown when it has the keyboard focus, and a visible
# focus ring on every page of the site.
SKIP_LINK = '<a class="cae-skip" href="#cae-main">Skip to the content</a>'
FOCUS_CSS = """
.cae-skip { position: absolute; left: -10000px; top: 0.5em; z-index: 100; padding: 0.4em 0.8em;
  font: 15px/1.4 system-ui, sans-serif; color: #1f5fa8; background: #fff; border: 2px solid #1f5fa8;
  border-radius: 4px; }
.cae-skip:focus { left: 0.5em; }
:focus-visible { outline: 3px solid #1f5fa8 !important; outline-offset: 2px; }
"""

CSS = """
:root { --cae-accent: #1f5fa8; }
.cae-nav { display: flex; justify-content: space-between; align-items: baseline; gap: 1em; flex-wrap: wrap;
  font: 15px/1.4 system-ui, sans-serif; padding: 0.6em 1em; margin: 0 0 1em; border-bottom: 1px solid #ddd; }
.cae-nav.cae-bottom { border-bottom: 0; border-top: 1px solid #ddd; margin: 2em 0 0; }
.cae-nav a { color: var(--cae-accent); text-decoration: none; }
.cae-nav a:hover { text-decoration: underline; }
.cae-nav .cae-prev, .cae-nav .cae-next { flex: 1; }
.cae-nav .cae-next { text-align: right; }
.cae-mode { font: 14px/1.4 system-ui, sans-serif; background: #fff8e1; border: 1px solid #f0d98c;
  padding: 0.4em 0.8em; margin: 0 1em 1em; border-radius: 4px; }
.cae-badge { display: inline-block; font: 13px/1.5 system-ui, sans-serif; padding: 0 0.5em;
  border: 1px solid #9bb5d6; border-radius: 3px; background: #eef3fa; }
.cae-widget { border: 1px dashed #bbb; padding: 0.5em; border-radius: 4px; }
.cae-widget-note { font-size: 0.85em; color: #666; margin: 0.5em 0 0; }
.cae-w-vbox { display: flex; flex-direction: column; gap: 0.3em; align-items: flex-start; }
.cae-w-hbox { display: flex; flex-direction: row; flex-wrap: wrap; gap: 0.6em; align-items: flex-start; }
.cae-w-image { max-width: 100%; height: auto; }
.cae-w-control { display: flex; align-items: center; gap: 0.5em; }
.cae-w-desc { min-width: 8em; color: #444; }
.cae-w-button { margin-right: 0.2em; }
.cae-w-chosen { font-weight: bold; background: #dde8f6; }
"""

# Loaded after the lab template's own CSS, so these win: JupyterLab's light theme colours some code tokens,
# the prompts (greyed to half opacity) and fainter text below WCAG AA (4.5:1) on the code cells' #f5f5f5
# and the page's white; each colour here is 5:1 or more on both. Links in text are underlined.
A11Y_CSS = (
    """
:root {
  --jp-mirror-editor-number-color: #007000;
  --jp-mirror-editor-operator-color: #7f1fc0;
  --jp-mirror-editor-meta-color: #7f1fc0;
  --jp-mirror-editor-comment-color: #3a6f6f;
  --jp-mirror-editor-atom-color: #4343c4;
  --jp-mirror-editor-variable-3-color: #00704a;
  --jp-mirror-editor-bracket-color: #68683f;
  --jp-mirror-editor-quote-color: #007a00;
  --jp-mirror-editor-error-color: #c00000;
  --jp-cell-prompt-not-active-opacity: 1;
  --jp-cell-prompt-not-active-font-color: #616161;
  --jp-cell-inprompt-font-color: #1f679f;
  --jp-cell-outprompt-font-color: #a2472c;
  --jp-content-font-color3: rgba(0, 0, 0, 0.62);
  --jp-ui-font-color3: rgba(0, 0, 0, 0.62);
}
.jp-RenderedHTMLCommon a:link, .jp-RenderedHTMLCommon a:visited { text-decoration: underline; }
"""
    + FOCUS_CSS
)

INDEX_CSS = (
    """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.8em; margin-bottom: 0.2em; }
a { color: #1f5fa8; }
ol.cae-lessons { list-style: none; padding: 0; }
ol.cae-lessons li { border-top: 1px solid #ddd; padding: 0.8em 0; }
.cae-lesson-title { font-size: 1.15em; font-weight: 600; }
.cae-lesson-time { color: #555; font-size: 0.9em; }
.cae-lesson-purpose { margin: 0.3em 0 0; }
.cae-mode { background: #fff8e1; border: 1px solid #f0d98c; padding: 0.4em 0.8em; border-radius: 4px; }
.cae-doc-source { color: #5e5e5e; font-size: 0.85em; }
footer { color: #666; font-size: 0.85em; border-top: 1px solid #ddd; margin-top: 1em; padding-top: 0.8em; }
"""
    + FOCUS_CSS
)

# nbconvert's lab template without its network scripts: require.js, MathJax, Mermaid and the widget
# manager all come from CDNs, and nothing in the course needs them (no TeX, no diagrams; widgets are
# rendered as static HTML by tidy()).
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}<style type="text/css">{{ resources.cae_a11y_css }}</style>{%- endblock html_head_css -%}
{%- block extra_css -%}<style type="text/css">{{ resources.cae_css }}</style>{%- endblock extra_css -%}
{#- the lab template writes no alt: an image output's description (cae_lib.figure_text) becomes its alt text -#}
{%- block data_png scoped -%}
{%- set alt = output | get_metadata('alt', 'image/png') -%}
{%- if alt %}{{ super() | replace('<img src=', '<img alt="' ~ (alt | escape_html) ~ '" src=', 1) }}
{%- else %}{{ super() }}{% endif -%}
{%- endblock data_png -%}
{%- block data_jpg scoped -%}
{%- set alt = output | get_metadata('alt', 'image/jpeg') -%}
{%- if alt %}{{ super() | replace('<img src=', '<img alt="' ~ (alt | escape_html) ~ '" src=', 1) }}
{%- else %}{{ super() }}{% endif -%}
{%- endblock data_jpg -%}
{%- block body_header -%}
{{ super() | replace('<main>', resources.cae_skip ~ '\n' ~ resources.cae_nav_top ~ '\n<main id="cae-main">', 1) }}
{{ resources.cae_banner }}
{%- endblock body_header -%}
{%- block body_footer -%}
</main>
{{ resources.cae_nav_bottom }}
</body>
{%- endblock body_footer -%}
"""


def _short(lesson: Lesson) -> str:
    return html.escape(lesson.title)


def navigation(lessons: list[Lesson], index: int, where: str = "top") -> str:
    """The bar of links on a notebook's page: previous notebook, the index, next notebook."""
    prev_link = next_link = ""
    if index > 0:
        prev_link = f'<a rel="prev" href="{lessons[index - 1].page}">← {_short(lessons[index - 1])}</a>'
    if index + 1 < len(lessons):
        next_link = f'<a rel="next" href="{lessons[index + 1].page}">{_short(lessons[index + 1])} →</a>'
    extra = " cae-bottom" if where == "bottom" else ""
    name = "course navigation, end of page" if where == "bottom" else "course navigation"
    return (f'<nav class="cae-nav{extra}" aria-label="{name}">'
            f'<span class="cae-prev">{prev_link}</span>'
            f'<a rel="index" class="cae-index" href="index.html">Course index ({index + 1} of {len(lessons)})</a>'
            f'<span class="cae-next">{next_link}</span></nav>')  # fmt: skip


def mode_banner(quick: bool) -> str:
    if not quick:
        return ""
    return ('<p class="cae-mode">Built in <b>quick mode</b> (<code>CAE_QUICK=1</code>): training uses a '
            "few thousand digits for one epoch and some measurements fewer digits, so the pictures are rough "
            "and the figures differ from those the text states. <code>CAE_QUICK=0 make site</code> builds "
            "the full figures.</p>")  # fmt: skip


def render_page(notebook, lessons: list[Lesson], index: int, quick: bool) -> str:
    """A notebook's page: nbconvert's lab template, no network scripts, with navigation."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab", template_file="cae_site.html.j2",
        extra_loaders=[DictLoader({"cae_site.html.j2": TEMPLATE})],
    )  # fmt: skip
    lesson = lessons[index]
    notebook.metadata["title"] = f"{lesson.title} · {COURSE_TITLE}"
    resources = {
        "cae_css": CSS,
        "cae_a11y_css": A11Y_CSS,
        "cae_skip": SKIP_LINK,
        "cae_nav_top": navigation(lessons, index, "top"),
        "cae_nav_bottom": navigation(lessons, index, "bottom"),
        "cae_banner": mode_banner(quick),
    }
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    return body


def index_page(lessons: list[Lesson], quick: bool, docs: list | tuple = ()) -> str:
    """The site's entry: the notebooks in course order, each with its purpose and time; then the README and docs/."""
    items = "\n".join(
        f'<li id="lesson-{i + 1}"><a class="cae-lesson-title" href="{lesson.page}">{html.escape(lesson.title)}</a>'
        f' <span class="cae-lesson-time">· {html.escape(lesson.time)}</span>'
        f'<p class="cae-lesson-purpose">{html.escape(lesson.purpose[:1].upper() + lesson.purpose[1:])}</p></li>'
        for i, lesson in enumerate(lessons)
    )
    total = sum(lesson.minutes or 0 for lesson in lessons)
    hours = f"about {total // 60} h {total % 60:02d} min" if total >= 60 else f"about {total} min"
    mode = mode_banner(quick)
    about = ""
    if docs:
        entries = "\n".join(
            f'<li><a class="cae-doc-title" href="{doc.page}">{html.escape(doc.title)}</a>'
            f' <span class="cae-doc-source">({html.escape(doc.source)})</span></li>'
            for doc in docs
        )
        about = f'<h2 id="documentation">About the course</h2>\n<ul class="cae-docs">\n{entries}\n</ul>\n'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(COURSE_TITLE)}</title>
<style>{INDEX_CSS}</style>
</head>
<body>
{SKIP_LINK}
<main id="cae-main">
<h1>{html.escape(COURSE_TITLE)}</h1>
<p>The course's {len(lessons)} notebooks in order, each executed with its outputs and figures
({hours} in all). Read them here; run and change them in JupyterLab (<code>make course</code>).</p>
{mode}
<ol class="cae-lessons">
{items}
</ol>
{about}<footer>Built by <code>make site</code> (<code>scripts/build_site.py</code>) from the notebooks and
<code>cae_lib</code>, with nbconvert. Widgets show their last state; their controls work in JupyterLab only.</footer>
</main>
</body>
</html>
"""


# --------------------------------------------------------------------------- the README and docs/ as pages

DOC_CSS = """
.cae-nav { display: flex; gap: 0.3em 1em; flex-wrap: wrap; font-size: 0.9em; padding: 0 0 0.6em;
  border-bottom: 1px solid #ddd; margin-bottom: 1em; }
.cae-nav a { text-decoration: none; }
.cae-nav a[aria-current] { font-weight: 600; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f4f6f8; }
code { background: #f4f6f8; padding: 0.05em 0.3em; border-radius: 3px; font-size: 0.92em; }
pre { background: #f4f6f8; padding: 0.7em 1em; white-space: pre-wrap; overflow-wrap: anywhere;
  border-radius: 4px; }  /* wrapped, not scrolled: a scrolling box would need the keyboard focus */
pre code { background: none; padding: 0; }
img { max-width: 100%; height: auto; }
.cae-badge { display: inline-block; font-size: 13px; padding: 0 0.5em; border: 1px solid #9bb5d6;
  border-radius: 3px; background: #eef3fa; }
"""
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".webp": "image/webp"}  # fmt: skip
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_MD_IMAGE_TARGET = re.compile(r"!\[[^\]]*\]\(\s*([^)\s]+)")


@dataclass(frozen=True)
class Doc:
    """A Markdown file of the repository as a page of the site: the README or a page of ``docs/``."""

    path: Path  # the file
    source: str  # its path in the repository: "README.md", "docs/install.md"
    page: str  # its page in the site: "readme.html", "docs/install.html"
    title: str


def _doc_title(text: str, fallback: str) -> str:
    match = re.search(r"^# +(.+?) *#*$", text, re.M)
    return _plain(match.group(1)) if match else fallback


def markdown_docs(root: Path = ROOT) -> list[Doc]:
    """The README and every ``docs/*.md``: README first, then the pages in the order of the README's
    "Documentation" list (then of its other links); pages the README does not link come last, by name."""
    readme = root / "README.md"
    found = {f"docs/{p.name}": p for p in sorted((root / "docs").glob("*.md"))}
    order = []
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        listed = text.partition("\n## Documentation")[2]  # its list first, then the other links
        links = re.findall(r"\]\(\s*(docs/[^)#\s]+\.md)", listed + text)
        order = [t for t in dict.fromkeys(links) if t in found]
    docs = []
    if readme.is_file():
        docs.append(Doc(readme, "README.md", README_PAGE, "README"))
    for source in [*order, *(s for s in found if s not in order)]:
        path = found[source]
        page = f"docs/{path.stem}.html"
        docs.append(Doc(path, source, page, _doc_title(path.read_text(encoding="utf-8"), path.stem)))
    return docs


def repository_url(root: Path = ROOT) -> str | None:
    """``[project.urls] Repository`` of ``root/pyproject.toml``, the one place the course's address is written."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        urls = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"].get("urls", {})
    except (OSError, KeyError, ValueError):
        return None
    return (urls.get("Repository") or "").strip().rstrip("/") or None


def site_url(target: str, doc: Doc, pages: dict[str, str], repository: str | None) -> str:
    """Where a relative link of ``doc``'s Markdown leads on the site, relative to ``doc``'s page.

    ``pages`` maps repository paths to site pages (the README, ``docs/*.md``,
    ``notebooks/*.ipynb``). Any other file of the repository opens on GitHub;
    absolute URLs and ``#anchors`` stay as they are.

    Example:
        >>> doc = Doc(Path("docs/faq.md"), "docs/faq.md", "docs/faq.html", "FAQ")
        >>> pages = {"README.md": "readme.html", "docs/install.md": "docs/install.html",
        ...          "notebooks/01_dataset.ipynb": "01_dataset.html"}
        >>> [site_url(t, doc, pages, "https://github.com/o/r") for t in
        ...  ("install.md#quick-mode", "../README.md", "../notebooks/01_dataset.ipynb", "../benchmarks/r.md",
        ...   "#top", "https://example.org/")]
        ['install.html#quick-mode', '../readme.html', '../01_dataset.html', 'https://github.com/o/r/blob/main/benchmarks/r.md', '#top', 'https://example.org/']
    """
    if _SCHEME.match(target) or target.startswith(("#", "/")):
        return target
    path, hash_, anchor = target.partition("#")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(doc.source), path))
    if resolved in pages:
        here = posixpath.dirname(doc.page) or "."
        return posixpath.relpath(pages[resolved], here) + hash_ + anchor
    if repository and not resolved.startswith(".."):
        return f"{repository}/blob/{BRANCH}/{resolved}" + hash_ + anchor
    return target


def heading_id(text: str) -> str:
    """GitHub's anchor of a heading (its rendered HTML): so ``page.md#a-heading`` links work on the site too.

    Example:
        >>> heading_id("The library, <code>cae_lib</code>")
        'the-library-cae_lib'
    """
    plain = html.unescape(re.sub(r"<[^>]+>", "", text)).strip().lower()
    return re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")


def render_markdown(text: str, link=lambda url: url, image=lambda url: url) -> str:
    """Markdown (GitHub's tables included) as HTML; headings get GitHub's ids, links and images pass through
    ``link`` and ``image``, remote images become their alt text (:func:`offline_markdown`)."""
    import mistune  # nbconvert's Markdown renderer

    class Renderer(mistune.HTMLRenderer):
        def __init__(self):
            super().__init__(escape=False)
            self.ids: dict[str, int] = {}

        def heading(self, text, level, **attrs):
            slug = heading_id(text)
            seen = self.ids.get(slug, 0)
            self.ids[slug] = seen + 1
            slug = f"{slug}-{seen}" if seen else slug
            return f'<h{level} id="{html.escape(slug)}">{text}</h{level}>\n'

        def link(self, text, url, title=None):
            return super().link(text, link(url), title)

        def image(self, text, url, title=None):
            return super().image(text, image(url), title)

    markdown = mistune.create_markdown(renderer=Renderer(), plugins=["table", "strikethrough"])
    return markdown(offline_markdown(text))


def _embedded(target: str, doc: Doc, root: Path) -> str | None:
    """A local image of the repository as a ``data:`` URL (the site loads nothing from elsewhere)."""
    if _SCHEME.match(target) or target.startswith(("#", "/")):
        return None
    path = root / posixpath.normpath(posixpath.join(posixpath.dirname(doc.source), target))
    kind = _IMAGE_TYPES.get(path.suffix.lower())
    if not kind or not path.is_file():
        return None
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


def doc_navigation(doc: Doc, docs: list[Doc]) -> str:
    """The bar of links on a documentation page: the course index, then the README and every page of docs/."""
    here = posixpath.dirname(doc.page) or "."
    links = [f'<a rel="index" href="{posixpath.relpath("index.html", here)}">Course index</a>']
    for other in docs:
        current = ' aria-current="page"' if other == doc else ""
        href = posixpath.relpath(other.page, here)
        links.append(f'<a href="{href}"{current}>{html.escape(other.title)}</a>')
    return f'<nav class="cae-nav" aria-label="documentation">{"".join(links)}</nav>'


def doc_page(doc: Doc, docs: list[Doc], lessons: list[Lesson], root: Path = ROOT) -> str:
    """A Markdown file's page: its text rendered, links between the README, docs/ and the notebooks kept working."""
    pages = {d.source: d.page for d in docs}
    pages |= {f"notebooks/{lesson.path.name}": lesson.page for lesson in lessons}
    repository = repository_url(root)
    body = render_markdown(
        doc.path.read_text(encoding="utf-8"),
        link=lambda url: site_url(url, doc, pages, repository),
        image=lambda url: _embedded(url, doc, root) or site_url(url, doc, pages, repository),
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(doc.title)} · {html.escape(COURSE_TITLE)}</title>
<style>{INDEX_CSS}{DOC_CSS}</style>
</head>
<body>
{SKIP_LINK}
{doc_navigation(doc, docs)}
<main id="cae-main">
{body}
<footer>{html.escape(doc.source)} of the course's repository, rendered by <code>make site</code>.</footer>
</main>
</body>
</html>
"""


def docs_digest(docs: list[Doc], root: Path = ROOT) -> str:
    """A digest of what the documentation pages are made of: their Markdown, the images they embed, the repository."""
    digest = hashlib.sha256(str(repository_url(root)).encode())
    for doc in docs:
        text = doc.path.read_bytes()
        digest.update(doc.source.encode() + b"\0" + hashlib.sha256(text).digest())
        for target in _MD_IMAGE_TARGET.findall(text.decode("utf-8", "replace")):
            image = _embedded(target, doc, root)
            digest.update(target.encode() + hashlib.sha256((image or "").encode()).digest())
    return digest.hexdigest()


def write_docs(out: Path, docs: list[Doc], lessons: list[Lesson], root: Path = ROOT) -> list[dict]:
    """Write every documentation page into the site folder ``out``; return what was written."""
    written = []
    for doc in docs:
        page = out / doc.page
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(doc_page(doc, docs, lessons, root), encoding="utf-8")
        written.append({"page": doc.page, "source": doc.source, "bytes": page.stat().st_size})
    return written


# --------------------------------------------------------------------------- the build


def kernel_env(environ=None) -> dict:
    """The kernels' environment: ours, quick mode unless ``CAE_QUICK`` is set, one progress line per epoch."""
    env = dict(os.environ if environ is None else environ)
    if not env.get(QUICK_ENV, "").strip():
        env[QUICK_ENV] = "1"
    env[PROGRESS_ENV] = "epoch"
    return env


def is_quick(env: dict) -> bool:
    return env.get(QUICK_ENV, "").strip().lower() in config.QUICK_VALUES


def inputs_digest(notebooks: list[Path], env: dict, root: Path = ROOT) -> str:
    """A digest of everything a build depends on: notebooks, library, builder, settings and installed packages."""
    digest = hashlib.sha256()
    files = [*notebooks, Path(__file__).resolve()]
    library = root / "cae_lib"
    if library.is_dir():
        files += sorted(p for p in library.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name in (QUICK_ENV, "CAE_DATA_DIR", "CAE_EXERCISES", PROGRESS_ENV):
        digest.update(f"{name}={env.get(name, '')}".encode())
    digest.update(installed_packages().encode())
    return digest.hexdigest()


def installed_packages() -> str:
    """This Python and every package installed beside it, one ``name==version`` a line: what the kernels run on."""
    import importlib.metadata

    found = {f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions() if d.metadata["Name"]}
    return "\n".join([sys.executable, sys.version, *sorted(found)])


def _replace_folder(built: Path, out: Path) -> None:
    """Put ``built`` where ``out`` is, the old folder removed only after the new one is in place."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{os.getpid()}")
        out.rename(old)
    built.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _rewrite_docs(out: Path, docs: list[Doc], lessons: list[Lesson], quick: bool, root: Path,
                  info: dict) -> None:  # fmt: skip
    """Write the documentation pages and the index of an otherwise up-to-date site, each file replaced whole."""
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-docs-", dir=out.parent))
    try:
        info["docs"] = write_docs(staging, docs, lessons, root)
        (staging / "index.html").write_text(index_page(lessons, quick, docs), encoding="utf-8")
        (staging / BUILD_INFO).write_text(json.dumps(info, indent=1) + "\n")
        if (staging / "docs").is_dir():
            (staging / "docs").chmod(0o755)
            _replace_folder(staging / "docs", out / "docs")
        elif (out / "docs").is_dir():
            shutil.rmtree(out / "docs")
        for name in (README_PAGE, "index.html", BUILD_INFO):
            if (staging / name).exists():
                os.replace(staging / name, out / name)
            elif name == README_PAGE:
                (out / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build(notebooks_dir: Path = NOTEBOOKS, out: Path = SITE, *, timeout: int = CELL_TIMEOUT,
          force: bool = False, log=print, root: Path = ROOT) -> bool:  # fmt: skip
    """Build the site into ``out``; return False if it was already up to date.

    The README and ``docs/*.md`` of ``root`` become pages too. When only they
    changed, only their pages and the index are written again: no notebook runs.

    Raises:
        SiteError: A notebook failed (``out`` is left as it was).
    """
    import nbformat

    env = kernel_env()
    quick = is_quick(env)
    paths = course_notebooks(notebooks_dir)
    digest = inputs_digest(paths, env)
    docs = markdown_docs(root)
    docs_digest_ = docs_digest(docs, root)
    info_path = out / BUILD_INFO
    if not force and info_path.exists() and (out / "index.html").exists():
        try:
            info = json.loads(info_path.read_text())
        except ValueError:
            info = {}
        if info.get("digest") == digest:
            if info.get("docs_digest") == docs_digest_:
                log(f"site: {out}/index.html is up to date (--force rebuilds)")
                return False
            lessons = [describe(p, nbformat.read(p, as_version=4)) for p in paths]
            _rewrite_docs(out, docs, lessons, quick, root, {**info, "docs_digest": docs_digest_})
            log(f"site: the notebooks' pages are up to date; {len(docs)} documentation pages and the index "
                "written again")  # fmt: skip
            return True

    lessons = [describe(p, nbformat.read(p, as_version=4)) for p in paths]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-build-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a site is for reading
    started = time.monotonic()
    log(f"site: building {len(paths)} notebooks in {'quick' if quick else 'full'} mode "
        f"({QUICK_ENV}={env[QUICK_ENV]}, CAE_DATA_DIR={env.get('CAE_DATA_DIR', '(unset)')})")  # fmt: skip
    try:
        pages = []
        for i, lesson in enumerate(lessons):
            t0 = time.monotonic()
            notebook = execute(lesson.path, timeout=timeout, env=env)
            tidy(notebook)
            page = staging / lesson.page
            page.write_text(render_page(notebook, lessons, i, quick), encoding="utf-8")
            pages.append({"page": lesson.page, "bytes": page.stat().st_size,
                          "seconds": round(time.monotonic() - t0, 1)})  # fmt: skip
            log(f"site: {lesson.page:38} {page.stat().st_size / 1e6:6.2f} MB  {time.monotonic() - t0:6.1f} s")
        doc_pages = write_docs(staging, docs, lessons, root)
        (staging / "index.html").write_text(index_page(lessons, quick, docs), encoding="utf-8")
        info = {
            "digest": digest,
            "docs_digest": docs_digest_,
            "quick": quick,
            "pages": pages,
            "docs": doc_pages,
            "seconds": round(time.monotonic() - started, 1),
        }
        (staging / BUILD_INFO).write_text(json.dumps(info, indent=1) + "\n")
        _replace_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    total = sum(p["bytes"] for p in pages)
    log(
        f"site: {out / 'index.html'} and {len(pages)} pages, {total / 1e6:.1f} MB, "
        f"{len(doc_pages)} documentation pages, built in {time.monotonic() - started:.0f} s"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="folder of NN_name.ipynb files")
    parser.add_argument("--out", type=Path, default=SITE, help="output folder (default: site/)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds allowed per cell")
    parser.add_argument("--force", action="store_true", help="rebuild even if the site is up to date")
    args = parser.parse_args(argv)
    try:
        build(args.notebooks.resolve(), args.out.resolve(), timeout=args.timeout, force=args.force)
    except SiteError as error:
        print(f"site: build failed, {args.out} left unchanged.\nsite: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
