"""The explorer of notebook 07 and the guessing game of 06, alive on the course site (issue 23, item 3).

* The states the site embeds (:mod:`cae_lib.widgets.static`) hold the widget's
  own numbers: a second explorer moved to the same state shows the same
  figures and readout, and the codec run here gives the same file size and PSNR.
* The guessing game's rounds played ahead are the pairs the widget draws.
* The builder puts the live element in place of the widget's picture and
  takes the publishing cell out of the page.
* In headless Chromium (as tests/test_browser.py, skipped without it): a page
  rendered from a small explorer and game, moved with the keyboard and
  clicked; the page's verdict is the widget's for every score up to 30
  rounds; axe finds no serious or critical violation. Then the built site's
  page 07 (``make site``): under 4 MB, its states' numbers are the codec's,
  and its latent slider moves with the keyboard.
"""

from __future__ import annotations

import html
import json
import re

import nbformat
import numpy as np
import pytest
from test_site import ROOT, _lessons, _widget_notebook, site

SITE_PAGE = ROOT / "site" / "07_latent_size_explorer.html"
MAX_PAGE_BYTES = 4_000_000
FIRSTS = (0, 8)


@pytest.fixture(scope="module")
def small_explorer(mnist):
    """An explorer over two autoencoders and one rate-aware model, 50 reference digits, and its states."""
    from cae_lib import widgets
    from cae_lib.widgets import static

    explorer = widgets.LatentExplorer(mnist[1][0], latent_dims=[8, 28], rate_models=["rate_lambda0.03"],
                                      reference_size=50)  # fmt: skip
    return explorer, static.explorer_states(explorer, firsts=FIRSTS)


@pytest.fixture(scope="module")
def small_game(mnist):
    from cae_lib import codec, pretrained, widgets
    from cae_lib.widgets import static

    digits = mnist[1][0][:40]
    model = pretrained.load_pretrained(8)
    decoded = codec.decompress(codec.compress(digits, model, step=2.0), model)
    game = widgets.GuessTheOriginal(digits, decoded, seed=0)
    return game, static.guess_rounds(game, rounds=12)


NUMBERS = (
    "mean_psnr_db",
    "mean_ssim",
    "bytes_per_digit",
    "compression_ratio",
    "file_bytes",
    "latent_dim",
    "model",
)


def test_every_state_is_there_with_the_widgets_numbers(mnist, small_explorer):
    from cae_lib import codec, metrics, pretrained, widgets

    explorer, data = small_explorer
    assert len(data["states"]) == len(FIRSTS) * 3 * len(explorer.steps)
    assert data["steps"] == ["float32", "step 0.25", "step 0.5", "step 1", "step 2", "step 3"]
    assert data["start"] == {"family": widgets.AUTOENCODER, "latent": 28, "rate": "rate_lambda0.03",
                             "step": "step 1", "first": 0}  # fmt: skip
    json.dumps(data)  # JSON-ready

    # A second explorer, moved by its controls like a learner, shows the same figures and readout.
    other = widgets.LatentExplorer(mnist[1][0], latent_dims=[8, 28], rate_models=["rate_lambda0.03"],
                                   reference_size=50)  # fmt: skip
    for name in ("0|28|step 1", "8|8|step 3", "8|8|float32", "0|rate_lambda0.03|step 0.5"):
        first, key, step = name.split("|")
        other.index_slider.value = int(first)
        if key.isdigit():
            other.latent_slider.value = int(key)
            other.family.value = widgets.AUTOENCODER
        else:
            other.quality_slider.value = key
            other.family.value = widgets.RATE
        other.step_slider.value = dict(zip(data["steps"], other.steps))[step]
        figures, state = other.update(), data["states"][name]
        for field in NUMBERS:
            assert state[field] == getattr(figures, field), (name, field)
        assert state["stats"] == other.stats.value and state["quantisation"] == step
        assert state["indices"] == list(range(int(first), int(first) + 8))
        assert state["alt"].endswith(other.image.tooltip)
        assert data["curve_alt"][f"{step}|{key}"] == other.curve_image.tooltip

    # ... and they are the codec's: a real file of these digits, decoded, measured here.
    state = data["states"]["8|8|step 3"]
    digits = mnist[1][0][8:16]
    blob = codec.compress(digits, pretrained.load_pretrained(8), step=3.0)
    assert state["file_bytes"] == len(blob)
    psnr = metrics.mean_psnr(digits, codec.decompress(blob, pretrained.load_pretrained(8)), data_range=255)
    assert abs(state["mean_psnr_db"] - psnr) < 1e-6
    assert re.match(r"Latent 8, step 3: \d+\.\d bytes a digit, \d+\.\d dB\. Eight test digits", state["alt"])
    # The explorer shows again what it showed before.
    assert (explorer.family.value, explorer.latent_slider.value, explorer.step_slider.value) == (
        widgets.AUTOENCODER, 28, 1.0)  # fmt: skip


def test_the_pictures_are_small_pngs_of_the_decoded_digits(small_explorer):
    import base64
    import io

    from PIL import Image

    explorer, data = small_explorer
    explorer.update()
    state = data["states"]["0|28|step 1"]
    picture = Image.open(io.BytesIO(base64.b64decode(state["decoded"].split(",", 1)[1])))
    assert picture.size == (8 * 28, 28) and picture.mode == "L"
    assert np.array_equal(np.asarray(picture), np.concatenate(list(explorer.shown[1]), axis=1))
    assert len(data["colours"]) == 6 * 256 and len(state["decoded"]) < 5000


def test_the_games_rounds_are_the_pairs_the_widget_draws(small_game):
    from cae_lib import widgets

    game, data = small_game
    fresh = widgets.GuessTheOriginal(game.originals, game.reconstructions, seed=0)
    for played in data["rounds"]:
        assert (played["index"], played["original"], played["alt"]) == (
            fresh.index, fresh.original_side, fresh.image.tooltip)  # fmt: skip
        assert played["image"].endswith(__import__("base64").b64encode(fresh.image.value).decode())
        fresh.next_pair()
    assert game.rounds == 0  # the notebook's game is left as it was


def _page_with(tmp_path, payloads: dict) -> str:
    """A notebook page whose widget outputs have precomputed states, rendered by the builder."""
    nb, _ = _widget_notebook()
    for kind, data in payloads.items():
        view = {"version_major": 2, "version_minor": 0, "model_id": data["model_id"]}
        cell = nbformat.v4.new_code_cell(kind)
        cell.outputs = [
            nbformat.v4.new_output("display_data", data={"text/plain": "VBox()", site.WIDGET_VIEW: view})
        ]
        nb.cells.append(cell)
    publish = nbformat.v4.new_code_cell("publish", metadata={"cae_site_static": True})
    publish.outputs = [nbformat.v4.new_output("display_data", data={"application/vnd.cae.static-widget+json": d})
                       for d in payloads.values()]  # fmt: skip
    nb.cells.append(publish)
    site.tidy(nb)
    return site.render_page(nb, _lessons(tmp_path, 3), 1, quick=True)


def test_the_builder_takes_the_publishing_cell_out_and_keeps_an_unknown_kind_static():
    nb, _ = _widget_notebook()
    cells = len(nb.cells)
    cell = nbformat.v4.new_code_cell("publish", metadata={"cae_site_static": True})
    data = {"kind": "unknown", "model_id": "box"}
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"application/vnd.cae.static-widget+json": data})
    ]
    nb.cells.append(cell)
    site.tidy(nb)
    assert len(nb.cells) == cells and "controls do nothing" in nb.cells[1].outputs[0]["data"]["text/html"]
    widgets = site._site_widgets()
    assert "LatentExplorer(" in widgets.MAKERS and "publish(globals())" in widgets.PUBLISH_CELL
    for name in ("explorer.js", "guess.js"):  # nothing from the network
        assert "http" not in widgets.asset(name).replace("http://www.w3.org/2000/svg", ""), name


# --------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def chromium_page():
    from test_browser import _browser_or_skip

    chromium, sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        try:
            yield page, requests
        finally:
            browser.close()


_SHOWN = """(root) => { const r = document.querySelector(root); return {
    state: r.getAttribute('data-state'), drawn: r.getAttribute('data-drawn'),
    status: r.querySelector('.cae-live-status').textContent, stats: r.querySelector('.cae-live-stats').textContent,
    src: r.querySelector('.cae-live-digits').getAttribute('src'), alt: r.querySelector('.cae-live-digits').alt,
    curve: r.querySelector('.cae-live-curve').getAttribute('aria-label'),
    width: r.querySelector('.cae-live-digits').naturalWidth}; }"""


def _wait_drawn(page, root: str, old_src: str | None = None) -> dict:
    page.wait_for_function(
        "([root, old]) => { const r = document.querySelector(root); return r.getAttribute('data-drawn') ==="
        " r.getAttribute('data-state') && r.querySelector('.cae-live-digits').getAttribute('src') !== old; }",
        arg=[root, old_src],
        timeout=20_000,
    )
    return page.evaluate(_SHOWN, root)


def _check_shown(shown: dict, data: dict) -> dict:
    """What the page shows is the embedded state's: readout, numbers in the status, picture and its text."""
    state = data["states"][shown["state"]]
    assert shown["stats"] == html.unescape(re.sub(r"<[^>]+>", "", state["stats"]))  # the widget's readout
    assert f"{state['mean_psnr_db']:.2f} dB mean PSNR" in shown["status"], shown["status"]
    if state["file_bytes"] is not None:
        assert f"a {state['file_bytes']}-byte file" in shown["status"], shown["status"]
    assert shown["alt"] == state["alt"] and shown["src"].startswith("data:image/png;base64,")
    assert shown["width"] == 8 * 28 * 3 + 7 * 4  # the mosaic drawn on the page: three rows of eight digits
    _, key, step = shown["state"].split("|")
    assert shown["curve"] == data["curve_alt"][f"{step}|{key}"]
    return state


def test_a_page_with_the_live_explorer_and_game_in_chromium(
    tmp_path, small_explorer, small_game, chromium_page
):
    from test_accessibility import _axe_source, page_problems

    from cae_lib import widgets

    page, requests = chromium_page
    _, data = small_explorer
    _, rounds = small_game
    data, rounds = {**data, "model_id": "e"}, {**rounds, "model_id": "g"}
    path = tmp_path / "live.html"
    path.write_text(_page_with(tmp_path, {"explorer": data, "game": rounds}), encoding="utf-8")
    page.goto(path.as_uri())
    root = ".cae-live-explorer"
    shown = _wait_drawn(page, root)
    assert shown["state"] == "0|28|step 1"
    _check_shown(shown, data)

    # The latent-size slider, with the keyboard: 28 -> 8, numbers and picture change.
    slider = page.locator(root).get_by_label("latent size", exact=True)
    slider.focus()
    slider.press("ArrowLeft")
    moved = _wait_drawn(page, root, shown["src"])
    assert moved["state"] == "0|8|step 1" and moved["status"] != shown["status"]
    assert (
        page.locator(root).get_by_label("latent size", exact=True).get_attribute("aria-valuetext")
        == "latent 8"
    )
    _check_shown(moved, data)
    # The quantisation slider to float32 (Home), then the other digits, then the rate-aware model.
    step = page.locator(root).get_by_label("quantisation", exact=True)
    step.focus()
    step.press("Home")
    shown = _check_shown(_wait_drawn(page, root, moved["src"]), data)
    assert shown["file_bytes"] is None and page.evaluate(_SHOWN, root)["state"] == "0|8|float32"
    old = page.evaluate(_SHOWN, root)["src"]
    page.locator(root).get_by_label("digits", exact=True).select_option("8")
    assert _wait_drawn(page, root, old)["state"] == "8|8|float32"
    old = page.evaluate(_SHOWN, root)["src"]
    page.locator(root).get_by_label("rate-aware: quality").press("Space")  # the family, by its radio button
    now = _wait_drawn(page, root, old)
    assert now["state"] == "8|rate_lambda0.03|float32"
    _check_shown(now, data)
    assert page.locator(root).get_by_label("rate-aware: quality").is_checked()

    # The game: a click scores and shows the next pair; the verdict is the widget's for every score.
    game = page.locator(".cae-live-guess")
    first = rounds["rounds"][0]
    game.get_by_role("button", name="left is the original").click()
    assert game.get_attribute("data-round") == "1"
    right = first["original"] == "left"
    assert game.locator(".cae-live-last").inner_text() == (
        f"{'Right' if right else 'Wrong'}: the original of digit {first['index']} was on the {first['original']}."
    )
    assert game.locator(".cae-live-pair").get_attribute("alt") == rounds["rounds"][1]["alt"]
    python = widgets.GuessTheOriginal(np.zeros((1, 28, 28), np.uint8), np.zeros((1, 28, 28), np.uint8))
    expected, shown_js = (
        {},
        page.evaluate(
            "() => { const out = {}; for (let n = 0; n <= 30; n++) for (let c = 0; c <= n; c++)"
            " out[c + '/' + n] = window.caeGuessVerdict(c, n); return out; }"
        ),
    )
    for n in range(31):
        for c in range(n + 1):
            python.rounds, python.correct = n, c
            expected[f"{c}/{n}"] = python.verdict()
    assert shown_js == expected
    assert game.locator(".cae-live-verdict").inner_text() == expected[f"{int(right)}/1"]

    page.goto(path.as_uri())  # afresh: the clicks above moved where the next Tab starts
    _wait_drawn(page, root)
    problems = page_problems(page, _axe_source())
    assert not problems, "\n".join(problems)
    assert not [u for u in requests if not u.startswith(("file:", "data:"))]


# --------------------------------------------------------------------------- the built site


def _site_data() -> dict:
    if not SITE_PAGE.exists():
        pytest.skip("no site/: build it with `make site`")
    text = SITE_PAGE.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" class="cae-live-data">(.*?)</script>', text, re.S)
    assert found, f"{SITE_PAGE.name} has no live explorer: rebuild the site (make site)"
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_the_sites_page_07_is_under_4_mb_and_its_numbers_are_the_codecs(mnist):
    from cae_lib import codec, metrics, pretrained, widgets

    assert SITE_PAGE.exists() or pytest.skip("no site/: build it with `make site`")
    assert SITE_PAGE.stat().st_size < MAX_PAGE_BYTES, SITE_PAGE.stat().st_size
    data = _site_data()
    models = len(pretrained.available_latent_dims()) + len(pretrained.available_models(kind="rate"))
    assert len(data["states"]) == models * (1 + len(widgets.DEFAULT_STEPS)) * len(data["firsts"])
    x_test = mnist[1][0]
    for name in ("0|28|step 1", f"{data['firsts'][-1]}|2|step 3", "0|rate_lambda0.1|step 0.5"):
        first, key, step = name.split("|")
        state = data["states"][name]
        model = pretrained.load_pretrained(int(key) if key.isdigit() else key)
        digits = x_test[int(first) : int(first) + data["n_digits"]]
        blob = codec.compress(digits, model, step=float(step.split()[1]))
        psnr = metrics.mean_psnr(digits, codec.decompress(blob, model), data_range=255)
        assert state["file_bytes"] == len(blob) and abs(state["mean_psnr_db"] - psnr) < 1e-4, name


def test_the_sites_page_07_moves_with_the_keyboard(chromium_page):
    page, _ = chromium_page
    data = _site_data()
    page.goto(SITE_PAGE.as_uri())
    root = ".cae-live-explorer"
    shown = _wait_drawn(page, root)
    _check_shown(shown, data)
    slider = page.locator(root).get_by_label("latent size", exact=True)
    slider.focus()
    slider.press("ArrowLeft")
    moved = _wait_drawn(page, root, shown["src"])
    assert moved["state"] != shown["state"] and moved["status"] != shown["status"]
    _check_shown(moved, data)
