"""scripts/build_site.py, the course as a static web site, and training's one line per epoch.

Fast tests of the builder's parts (index order, navigation, progress lines,
widgets as static HTML, a page with no network scripts) and one small build of
two tiny notebooks in a real kernel (a few seconds). The built course itself
is checked in Chromium by tests/test_browser.py.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
site = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("build_site", site)  # dataclasses look their module up there
_spec.loader.exec_module(site)

PNG = base64.b64decode(  # a 1 x 1 grey PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg=="
)


def _first_cell(number: int, name: str, minutes: int = 20) -> str:
    return (
        f"# {number:02d} · {name}\n\n**Purpose:** learn {name.lower()}, with `code`.\n\n"
        f"**What you will learn**\n\n- things\n\n"
        f"Time: about {minutes} minutes (15 of study, 5 of running in full mode). Nothing is trained."
    )


def _notebook(number: int, name: str, *code: str, minutes: int = 20):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(_first_cell(number, name, minutes))]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in code]
    return nb


def _lessons(tmp_path, count=3):
    lessons = []
    for n in range(1, count + 1):
        path = tmp_path / f"{n:02d}_lesson{n}.ipynb"
        lessons.append(site.describe(path, _notebook(n, f"Lesson {n}", minutes=10 * n)))
    return lessons


# --------------------------------------------------------------------------- index


def test_the_course_notebooks_in_course_order_each_with_title_purpose_and_time():
    paths = site.course_notebooks(ROOT / "notebooks")
    assert [p.name[:2] for p in paths] == [f"{n:02d}" for n in range(1, 10)]
    for path in paths:
        lesson = site.describe(path, nbformat.read(path, as_version=4))
        assert lesson.title.startswith(path.name[:2]), lesson.title
        assert len(lesson.purpose) > 20 and "Purpose" not in lesson.purpose, lesson.purpose
        assert lesson.minutes and lesson.minutes > 5 and lesson.time.startswith("about"), lesson.time


def test_numbered_notebooks_sort_by_number_not_by_text(tmp_path):
    for name in ("10_last.ipynb", "02_b.ipynb", "01_a.ipynb", "scratch.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in site.course_notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "10_last.ipynb"]


def test_describe_reads_the_first_markdown_cell(tmp_path):
    lesson = site.describe(tmp_path / "04_x.ipynb", _notebook(4, "Compressing", minutes=47))
    assert lesson.title == "04 · Compressing"
    assert lesson.purpose == "learn compressing, with code."
    assert lesson.time == "about 47 minutes (15 of study, 5 of running in full mode)"
    assert lesson.minutes == 47 and lesson.page == "04_x.html"


def test_a_notebook_without_purpose_or_time_stops_the_build_with_its_name(tmp_path):
    nb = _notebook(1, "A")
    nb.cells[0].source = "# 01 · A\n\nNo purpose here."
    with pytest.raises(site.SiteError, match=r"01_a.ipynb.*'Purpose:' line, a 'Time:' line"):
        site.describe(tmp_path / "01_a.ipynb", nb)


def test_index_lists_every_notebook_in_order_with_purpose_and_time(tmp_path):
    lessons = _lessons(tmp_path)
    page = site.index_page(lessons, quick=True)
    links = re.findall(r'<a class="cae-lesson-title" href="([^"]+)">([^<]+)</a>', page)
    assert links == [("01_lesson1.html", "01 · Lesson 1"), ("02_lesson2.html", "02 · Lesson 2"),
                     ("03_lesson3.html", "03 · Lesson 3")]  # fmt: skip
    assert page.count("Learn lesson 2, with code.") == 1 and "about 20 minutes" in page
    assert "about 1 h 00 min in all" in page  # 10 + 20 + 30
    assert "quick mode" in page and "quick mode" not in site.index_page(lessons, quick=False)
    assert "<script" not in page


def test_each_page_links_to_the_previous_and_next_notebook_and_the_index(tmp_path):
    lessons = _lessons(tmp_path)

    def links(i):
        nav = site.navigation(lessons, i)
        return dict(re.findall(r'<a rel="(\w+)"[^>]* href="([^"]+)"', nav))

    assert links(0) == {"index": "index.html", "next": "02_lesson2.html"}
    assert links(1) == {"prev": "01_lesson1.html", "index": "index.html", "next": "03_lesson3.html"}
    assert links(2) == {"prev": "02_lesson2.html", "index": "index.html"}
    assert "← 01 · Lesson 1" in site.navigation(lessons, 1) and "03 · Lesson 3 →" in site.navigation(
        lessons, 1
    )


# --------------------------------------------------------------------------- progress lines


def _keras_like_bar(epochs: int, steps: int) -> str:
    """What Keras' Progbar writes in a kernel (dynamic display): each update erases and redraws the line."""
    out, width = [], 0
    for epoch in range(1, epochs + 1):
        out.append(f"Epoch {epoch}/{epochs}\n")
        for step in range(1, steps + 1):
            line = f"{step:4d}/{steps} ━━━━━━━━━━ 1s 5ms/step - loss: {1 / step:.4f}"
            out.append("\b" * width + "\r" + line)
            width = len(line)
        out.append("\n")
        width = 0
    return "".join(out)


def test_a_progress_bar_collapses_to_its_last_state_per_line():
    text = _keras_like_bar(epochs=3, steps=400)
    assert len(text) > 50_000
    lines = site.collapse_progress(text).splitlines()
    assert lines == [line for e in (1, 2, 3) for line in
                     (f"Epoch {e}/3", " 400/400 ━━━━━━━━━━ 1s 5ms/step - loss: 0.0025")]  # fmt: skip


@pytest.mark.parametrize(
    "text,expected",
    [("plain\ntext\n", "plain\ntext\n"), ("abc\b\bd\n", "ad\n"), ("50%\r100%\r\n", "100%\n"),
     ("a\r\nb", "a\nb"), ("\b\bx", "x")],
)  # fmt: skip
def test_collapse_progress_cases(text, expected):
    assert site.collapse_progress(text) == expected


def test_streams_are_merged_per_name_and_empty_ones_dropped():
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": "Epoch 1/2\n 1/9 [=]"},
        {"output_type": "stream", "name": "stdout", "text": "\r 9/9 [=========]\n"},
        {"output_type": "stream", "name": "stderr", "text": "warning\n"},
        {"output_type": "stream", "name": "stdout", "text": "\r"},
        {"output_type": "execute_result", "data": {"text/plain": "1"}, "metadata": {}, "execution_count": 1},
    ]
    merged = site.merge_streams(outputs)
    assert [o.get("name") for o in merged] == ["stdout", "stderr", None]
    assert merged[0]["text"] == "Epoch 1/2\n 9/9 [=========]\n"


def _tiny_training_data(n=64):
    x = np.zeros((n, 28, 28, 1), np.float32)
    x[:, 8:20, 10:14] = 1.0
    return x


def test_training_prints_one_line_per_epoch_under_the_builders_setting(monkeypatch, capfd):
    from cae_lib import models, training

    assert site.PROGRESS_ENV == training.PROGRESS_ENV
    env = site.kernel_env({})
    assert env[site.PROGRESS_ENV] == "epoch"
    monkeypatch.setenv(training.PROGRESS_ENV, env[training.PROGRESS_ENV])
    x = _tiny_training_data()
    capfd.readouterr()
    history = training.train_autoencoder(
        models.build_autoencoder(4, filters=2, hidden_units=8), x, x_val=x[:16], epochs=3, batch_size=8,
        quick=False,
    )  # fmt: skip
    lines = [line for line in capfd.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 3, lines  # 8 steps an epoch, and still one line each
    for epoch, line in enumerate(lines, 1):
        assert re.fullmatch(rf"Epoch {epoch}/3 - \d+s - loss: \d\.\d{{4}} - val_loss: \d\.\d{{4}}", line), (
            line
        )
    assert len(history.history["loss"]) == 3


def test_the_classifier_prints_one_line_per_epoch_too(monkeypatch, capfd):
    from cae_lib import models, training

    monkeypatch.setenv(training.PROGRESS_ENV, "epoch")
    capfd.readouterr()
    training.train_digit_classifier(models.build_digit_classifier(), _tiny_training_data(32)[..., 0] * 0 + 0.5,
                                    np.arange(32) % 10, epochs=2, quick=False)  # fmt: skip
    lines = [line for line in capfd.readouterr().out.splitlines() if line.strip()]
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"], lines


def test_an_explicit_verbose_is_kept_under_the_builders_setting(monkeypatch, capfd):
    from cae_lib import models, training

    monkeypatch.setenv(training.PROGRESS_ENV, "epoch")
    assert training.fit_progress(2) == (2, None) and training.fit_progress(0, ["cb"]) == (0, ["cb"])
    verbose, callbacks = training.fit_progress("auto", ["cb"])
    assert verbose == 0 and callbacks[0] == "cb" and isinstance(callbacks[1], training.EpochLines)
    x = _tiny_training_data(16)
    capfd.readouterr()
    training.train_autoencoder(models.build_autoencoder(4, filters=2, hidden_units=8), x, epochs=2, quick=False,
                               verbose=0)  # fmt: skip
    assert capfd.readouterr().out.strip() == ""
    training.train_autoencoder(models.build_autoencoder(4, filters=2, hidden_units=8), x, epochs=2, quick=False,
                               verbose=2)  # fmt: skip
    out = capfd.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out  # Keras' own verbose=2 lines (notebook 09 asks for it)


def test_without_the_setting_auto_stays_keras_auto(monkeypatch):
    from cae_lib import training

    monkeypatch.delenv(training.PROGRESS_ENV, raising=False)
    assert training.progress_mode() == "bar" and training.fit_progress("auto") == ("auto", None)
    monkeypatch.setenv(training.PROGRESS_ENV, "sometimes")
    with pytest.raises(ValueError, match="CAE_PROGRESS"):
        training.progress_mode()


def test_kernel_env_defaults_to_quick_mode_and_respects_a_set_value():
    assert site.kernel_env({})["CAE_QUICK"] == "1"
    assert site.kernel_env({"CAE_QUICK": "0"})["CAE_QUICK"] == "0"
    assert site.kernel_env({"CAE_QUICK": "", "CAE_DATA_DIR": "/d"}) == {
        "CAE_QUICK": "1", "CAE_DATA_DIR": "/d", "CAE_PROGRESS": "epoch"}  # fmt: skip
    assert site.is_quick({"CAE_QUICK": "1"}) and not site.is_quick({"CAE_QUICK": "0"})


# --------------------------------------------------------------------------- markdown

BADGES = (
    "[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/x) "
    "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.example/y)"
)


def test_remote_images_become_their_alt_text_and_local_ones_stay():
    badge = '<span class="cae-badge">{}</span>'.format
    assert site.offline_markdown(BADGES) == (
        f"[{badge('Binder')}](https://mybinder.org/v2/gh/x) [{badge('Open in Colab')}](https://colab.example/y)"
    )
    assert site.offline_markdown('![a digit](digit.png) <img src="http://x/y.png" alt="chart">') == (
        f"![a digit](digit.png) {badge('chart')}"
    )
    assert site.offline_markdown("<img src='//cdn/x.svg'> and text") == f"{badge('image')} and text"
    nb = _notebook(1, "A")
    nb.cells[0].source += "\n\n" + BADGES
    site.tidy(nb)
    assert "badge_logo" not in nb.cells[0].source and "(https://mybinder.org/v2/gh/x)" in nb.cells[0].source


# --------------------------------------------------------------------------- widgets


def _widget_notebook():
    """A notebook as nbclient leaves it after displaying an explorer-like widget (ipywidgets 8 state)."""
    png = base64.b64encode(PNG).decode()

    def model(name, **state):
        return {"model_name": name, "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                "state": {"_model_name": name, "layout": "IPY_MODEL_layout", **state}}  # fmt: skip

    state = {
        "box": model(
            "VBoxModel", children=["IPY_MODEL_row", "IPY_MODEL_image", "IPY_MODEL_stats", "IPY_MODEL_gone"]
        ),
        "row": model("HBoxModel", children=["IPY_MODEL_family", "IPY_MODEL_slider", "IPY_MODEL_hidden"]),
        "family": model("ToggleButtonsModel", _options_labels=["autoencoders", "rate-aware"], index=1),
        "slider": model("IntSliderModel", description="latent size", value=16, min=2, max=64, step=1),
        "hidden": model("ButtonModel", description="secret", layout="IPY_MODEL_hidden_layout"),
        "image": model("ImageModel", format="png", width="", height=""),
        "stats": model("HTMLModel", value="<b>mean PSNR 21.50 dB</b>"),
        "layout": {"model_name": "LayoutModel", "state": {"_model_name": "LayoutModel"}},
        "hidden_layout": {
            "model_name": "LayoutModel",
            "state": {"_model_name": "LayoutModel", "display": "none"},
        },
    }
    state["image"]["buffers"] = [{"data": png, "encoding": "base64", "path": ["value"]}]
    nb = _notebook(7, "Explorer", "explorer", "print('done')")
    nb.cells[1].outputs = [nbformat.v4.new_output(
        "display_data", data={"text/plain": "VBox(children=(HBox(children=(ToggleButtons(...", site.WIDGET_VIEW: {
            "version_major": 2, "version_minor": 0, "model_id": "box"}})]  # fmt: skip
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="done\n")]
    nb.metadata["widgets"] = {site.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb, png


def test_a_widget_becomes_static_html_of_its_last_state_and_the_widget_noise_goes():
    nb, png = _widget_notebook()
    site.tidy(nb)
    (output,) = nb.cells[1].outputs
    assert set(output["data"]) == {"text/html"}
    shown = output["data"]["text/html"]
    assert f'src="data:image/png;base64,{png}"' in shown
    assert "latent size" in shown and "<b>16</b>" in shown and 'min="2" max="64"' in shown
    assert re.search(r'cae-w-chosen" disabled>rate-aware<', shown) and "<b>mean PSNR 21.50 dB</b>" in shown
    assert "secret" not in shown  # display: none
    assert "VBox(children" not in shown and "controls do nothing" in shown
    assert "widgets" not in nb.metadata
    assert nb.cells[2].outputs[0]["text"] == "done\n"


def test_a_widget_without_saved_state_says_so():
    nb, _ = _widget_notebook()
    del nb.metadata["widgets"]
    site.tidy(nb)
    assert "state was not saved" in nb.cells[1].outputs[0]["data"]["text/html"]


def test_a_page_has_navigation_and_loads_nothing_from_the_network(tmp_path):
    nb, png = _widget_notebook()
    nb.cells[0].source += f"\n\n{BADGES}"
    nb.cells[2].outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(PNG).decode()})
    ]
    site.tidy(nb)
    lessons = _lessons(tmp_path, 3)
    page = site.render_page(nb, lessons, 1, quick=True)
    assert "<script" not in page and "require.js" not in page and "mathjax" not in page.lower()
    loads = re.findall(
        r"""<(?:img|script|link|iframe)\b[^>]*\b(?:src|href)=["']?((?:https?:)?//[^"' >]*)""", page
    )
    assert not loads, f"the page must not load from the network: {loads}"
    assert (
        '<a href="https://mybinder.org/v2/gh/x"><span class="cae-badge">Binder</span></a>' in page
    )  # links stay
    assert "application/vnd.jupyter.widget" not in page
    assert (
        page.count('rel="index"') == 2
        and 'href="01_lesson1.html"' in page
        and 'href="03_lesson3.html"' in page
    )
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == 2 and "quick mode" in page
    assert "<title>02 · Lesson 2 · Image compression" in page


# --------------------------------------------------------------------------- the README and docs/ as pages


def _repo(tmp_path: Path) -> Path:
    """A tiny repository: a README whose Documentation list links two docs pages, one more page, a figure."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "fig.png").write_bytes(PNG)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.urls]\nRepository = "https://github.com/o/r"\n'
    )
    (root / "README.md").write_text(
        "# The course\n\n" + BADGES + "\n\nSee [the FAQ](docs/faq.md#why-not) and "
        "[notebook 1](notebooks/01_lesson1.ipynb).\n\n## Documentation\n\n"
        "- [Install](docs/install.md)\n- [FAQ](docs/faq.md)\n"
    )
    (root / "docs" / "install.md").write_text(
        "# Installing `it`\n\n| a | b |\n| --- | ---: |\n| [FAQ](faq.md) | [back](../README.md) |\n\n"
        "## Quick mode\n\n## Quick mode\n\n![plot](../benchmarks/fig.png) "
        "[results](../benchmarks/results.md) [lesson](../notebooks/02_lesson2.ipynb#setup) [here](#quick-mode)\n"
    )
    (root / "docs" / "faq.md").write_text("# FAQ\n\n## Why not?\n\n[install](install.md#quick-mode)\n")
    (root / "docs" / "zzz.md").write_text("Not linked from the README, no title.\n")
    return root


def _hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a [^>]*href="([^"]*)"', page)]


def test_markdown_docs_come_in_the_readmes_order_with_their_titles(tmp_path):
    docs = site.markdown_docs(_repo(tmp_path))
    assert [(d.source, d.page, d.title) for d in docs] == [
        ("README.md", "readme.html", "README"),
        ("docs/install.md", "docs/install.html", "Installing it"),
        ("docs/faq.md", "docs/faq.html", "FAQ"),
        ("docs/zzz.md", "docs/zzz.html", "zzz"),
    ]
    assert site.markdown_docs(tmp_path / "nothing") == []


def test_a_docs_page_links_to_the_sites_pages_embeds_its_figures_and_loads_nothing(tmp_path):
    root = _repo(tmp_path)
    docs = site.markdown_docs(root)
    lessons = _lessons(tmp_path, 3)
    install = site.doc_page(docs[1], docs, lessons, root)
    assert _hrefs(install)[:2] == ["#cae-main", "../index.html"]  # the skip link, then the navigation
    assert 'aria-current="page">Installing it<' in install
    assert {"faq.html", "../readme.html", "https://github.com/o/r/blob/main/benchmarks/results.md",
            "../02_lesson2.html#setup", "#quick-mode"} <= set(_hrefs(install))  # fmt: skip
    assert '<h1 id="installing-it">Installing <code>it</code></h1>' in install
    assert '<h2 id="quick-mode">' in install and '<h2 id="quick-mode-1">' in install  # GitHub's ids
    assert '<th style="text-align:right">b</th>' in install  # a table, as GitHub renders it
    assert re.search(r'<img src="data:image/png;base64,[^"]+" alt="plot"', install)
    readme = site.doc_page(docs[0], docs, lessons, root)
    assert {"docs/faq.html#why-not", "01_lesson1.html", "docs/install.html"} <= set(_hrefs(readme))
    assert '<span class="cae-badge">Binder</span>' in readme and "badge_logo.svg" not in readme
    for page in (install, readme):
        assert "<script" not in page
        loads = re.findall(
            r"""<(?:img|script|link|iframe)\b[^>]*\b(?:src|href)=["']?((?:https?:)?//[^"' >]*)""", page
        )
        assert not loads, loads


def test_every_link_of_the_real_readme_and_docs_leads_to_a_page_of_the_site(tmp_path):
    """The course's own README and docs/ rendered: each relative link and #anchor lands on a page and heading."""
    lessons = [
        site.describe(p, nbformat.read(p, as_version=4)) for p in site.course_notebooks(site.NOTEBOOKS)
    ]
    docs = site.markdown_docs()
    assert docs[0].page == "readme.html" and {d.source for d in docs[1:]} == {
        f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")
    }
    written = site.write_docs(tmp_path, docs, lessons)
    assert [w["page"] for w in written] == [d.page for d in docs]
    for lesson in lessons:  # stand-ins for the executed notebooks' pages
        (tmp_path / lesson.page).write_text("<html></html>")
    (tmp_path / "index.html").write_text(site.index_page(lessons, True, docs))
    broken = []
    for page in [tmp_path / "index.html", *(tmp_path / doc.page for doc in docs)]:
        for href in _hrefs(page.read_text()):
            if re.match(r"[a-z]+:", href):
                assert not href.startswith("file:"), href
                continue
            path, _, anchor = href.partition("#")
            target = (page.parent / path).resolve() if path else page
            if not target.is_file() or not target.is_relative_to(tmp_path):
                broken.append(f"{page.name}: {href}")
            elif anchor and f'id="{anchor}"' not in target.read_text():
                broken.append(f"{page.name}: {href} (no heading)")
    assert not broken, broken


def test_index_lists_the_readme_and_the_docs_pages_after_the_notebooks(tmp_path):
    root = _repo(tmp_path)
    page = site.index_page(_lessons(tmp_path, 2), quick=False, docs=site.markdown_docs(root))
    assert (
        page.index('href="02_lesson2.html"')
        < page.index('href="readme.html"')
        < page.index('href="docs/install.html"')
        < page.index('href="docs/zzz.html"')
    )
    assert "cae-lesson-title" not in page.partition("About the course")[2]  # the browser test counts lessons


# --------------------------------------------------------------------------- a small build


def test_a_build_of_two_tiny_notebooks_then_a_failing_one_leaves_the_site_as_it_was(tmp_path, monkeypatch):
    monkeypatch.delenv("CAE_QUICK", raising=False)
    notebooks, out = tmp_path / "notebooks", tmp_path / "site"
    notebooks.mkdir()
    bar = "import sys\nfor i in range(300):\n    sys.stdout.write('\\b' * 9 + f'\\r{i:3d}/299')\nprint()"
    env = "import os\nprint(os.environ['CAE_QUICK'], os.environ['CAE_PROGRESS'])"
    nbformat.write(_notebook(1, "First", bar), notebooks / "01_first.ipynb")
    nbformat.write(_notebook(2, "Second", env), notebooks / "02_second.ipynb")
    root = _repo(tmp_path)
    log = []
    assert site.build(notebooks, out, timeout=120, log=log.append, root=root) is True
    assert sorted(p.name for p in out.iterdir()) == [".build-info.json", "01_first.html", "02_second.html",
                                                     "docs", "index.html", "readme.html"]  # fmt: skip
    assert sorted(p.name for p in (out / "docs").iterdir()) == ["faq.html", "install.html", "zzz.html"]
    assert 'href="docs/faq.html#why-not"' in (out / "readme.html").read_text()
    assert 'href="docs/faq.html"' in (out / "index.html").read_text()
    first = (out / "01_first.html").read_text()
    assert "299/299" in first and "298/299" not in first
    # The kernels ran in quick mode (CAE_QUICK was unset) with one progress line per epoch.
    assert re.search(r"<pre>1 epoch\s*</pre>", (out / "02_second.html").read_text())
    info = json.loads((out / ".build-info.json").read_text())
    assert info["quick"] is True and [p["page"] for p in info["pages"]] == ["01_first.html", "02_second.html"]
    pages = ["readme.html", "docs/install.html", "docs/faq.html", "docs/zzz.html"]
    assert [p["page"] for p in info["docs"]] == pages
    assert site.build(notebooks, out, log=log.append, root=root) is False and "up to date" in log[-1]

    # Only a docs page changed (one removed, one new): its pages and the index are written again, no notebook runs.
    notebook_pages = {name: (out / name).read_bytes() for name in ("01_first.html", "02_second.html")}
    (root / "docs" / "faq.md").write_text("# Questions\n\n[back](../README.md)\n")
    (root / "docs" / "zzz.md").unlink()
    (root / "docs" / "new.md").write_text("# New page\n")
    with monkeypatch.context() as patch:
        patch.setattr(site, "execute", lambda *args, **kwargs: pytest.fail("a notebook ran again"))
        assert site.build(notebooks, out, log=log.append, root=root) is True and "documentation" in log[-1]
    assert {name: (out / name).read_bytes() for name in notebook_pages} == notebook_pages
    assert sorted(p.name for p in (out / "docs").iterdir()) == ["faq.html", "install.html", "new.html"]
    assert '<h1 id="questions">Questions</h1>' in (out / "docs" / "faq.html").read_text()
    assert ">Questions</a>" in (out / "index.html").read_text()
    assert site.build(notebooks, out, log=log.append, root=root) is False and "up to date" in log[-1]
    # no staging folder left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "repo", "site"]

    nbformat.write(_notebook(2, "Second", "print('fine')", "1 / 0"), notebooks / "02_second.ipynb")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(site.SiteError, match=r"02_second.ipynb failed in cell 3 .*ZeroDivisionError"):
        site.build(notebooks, out, timeout=120, log=log.append, root=root)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # no staging folder left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "repo", "site"]


def test_the_builders_examples():
    import doctest

    assert doctest.testmod(site, optionflags=doctest.ELLIPSIS).failed == 0
