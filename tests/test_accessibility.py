"""The course site is accessible: axe-core finds no serious or critical WCAG 2.1 A/AA violation on any page.

axe-core (Deque's accessibility engine) comes from the ``axe-playwright-python``
package of the ``test`` extra, which ships ``axe.min.js``: nothing is loaded
from a CDN, at build or at view time. It runs in headless Chromium, set up as
in tests/test_browser.py (skipped without a browser or the package, a failure
under ``CAE_REQUIRE_BROWSER=1``), with the WCAG 2.0 and 2.1 A and AA rules.
Besides axe, each page is checked for what axe's WCAG rules leave to "best
practice": ``<html lang>``, exactly one ``h1`` and no skipped heading level, a
skip link as the first thing the Tab key reaches, shown when focused, with a
visible focus ring, leading to the main content.

* :func:`test_axe_and_the_structure_checks_catch_a_bad_page`: a crafted page
  (faint text, an unlabelled field, no ``lang``, two ``h1``) fails each check,
  so the checks can fail.
* :func:`test_the_page_templates_pass_axe`: a tiny notebook page, the index
  and a docs page rendered by scripts/build_site.py (no kernel, no site/).
* :func:`test_every_page_of_the_built_site_passes_axe`: every page of
  ``site/`` (``make site``; ``make test`` builds it first).

What is and is not checked: docs/accessibility.md.
"""

from __future__ import annotations

import importlib.resources
import json

import nbformat
import pytest
from test_browser import SITE, _browser_or_skip, _require
from test_site import _lessons, _repo, _widget_notebook, site

pytestmark = pytest.mark.browser

# The WCAG 2.0 and 2.1 success criteria of levels A and AA that axe-core tests automatically.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")

# What a page is made of, for the checks axe's WCAG rules leave out: its language, its headings in order,
# and where the first press of Tab lands (the skip link), whether it is on screen with a focus ring.
_STRUCTURE = """async () => {
    const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
        .filter(h => h.getClientRects().length > 0)
        .map(h => [Number(h.tagName[1]), h.textContent.trim().slice(0, 60)]);
    return {lang: document.documentElement.getAttribute('lang') || '', headings};
}"""

_FOCUSED = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
    const box = e.getBoundingClientRect(), style = getComputedStyle(e);
    return {tag: e.tagName.toLowerCase(), cls: e.className, href: e.getAttribute('href'),
            text: e.textContent.trim(), onScreen: box.width > 0 && box.left >= 0 && box.top >= 0
                && box.right <= innerWidth && box.bottom <= innerHeight,
            outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2}; }"""


def _axe_source() -> str:
    try:
        return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError):
        _require("the axe-playwright-python package (test extra) is not installed: pip install -e '.[test]'")


def axe_violations(page, axe: str) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page, every impact."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    return page.evaluate(f"() => axe.run(document, {json.dumps(options)})")["violations"]


def heading_problems(levels: list[int]) -> list[str]:
    """What is wrong with a page's heading levels, in document order: one h1, first, no level skipped.

    Example:
        >>> heading_problems([1, 2, 3, 2, 2])
        []
        >>> heading_problems([2, 1, 3, 5, 1])
        ['2 h1 headings, not 1', 'the first heading is h2, not h1', 'h3 after h1', 'h5 after h3']
    """
    problems = []
    if levels.count(1) != 1:
        problems.append(f"{levels.count(1)} h1 headings, not 1")
    if levels and levels[0] != 1:
        problems.append(f"the first heading is h{levels[0]}, not h1")
    problems += [f"h{b} after h{a}" for a, b in zip(levels, levels[1:]) if b > a + 1]
    return problems


def page_problems(page, axe: str) -> list[str]:
    """Every accessibility problem of the loaded page that this test fails on, one line each."""
    problems = []
    for v in axe_violations(page, axe):
        if v["impact"] in FAILING_IMPACTS:
            examples = "; ".join(n["html"][:100] for n in v["nodes"][:3])
            problems.append(
                f"axe {v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']} - {examples}"
            )
    structure = page.evaluate(_STRUCTURE)
    if not structure["lang"]:
        problems.append("<html> has no lang attribute")
    problems += heading_problems([level for level, _ in structure["headings"]])
    # The first Tab: the skip link, on screen with a focus ring, leading to the main content.
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    page.keyboard.press("Tab")
    focused = page.evaluate(_FOCUSED)
    if not focused or focused["href"] != "#cae-main" or "cae-skip" not in str(focused["cls"]):
        problems.append(f"the first Tab does not reach the skip link (it reaches {focused})")
    else:
        if not focused["onScreen"]:
            problems.append("the skip link stays off screen when focused")
        if not focused["outline"]:
            problems.append("the focused skip link has no visible focus ring (outline of 2 px or more)")
        if not page.evaluate("() => document.querySelector('main#cae-main') !== null"):
            problems.append("the skip link's target, <main id='cae-main'>, is missing")
    return problems


@pytest.fixture(scope="module")
def browser_page():
    chromium, sync_playwright = _browser_or_skip()
    axe = _axe_source()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            yield page, axe
        finally:
            browser.close()


def test_axe_and_the_structure_checks_catch_a_bad_page(browser_page):
    page, axe = browser_page
    page.set_content(
        "<!DOCTYPE html><html><head><title>bad</title></head><body><main><h1>One</h1><h1>Two</h1><h4>Deep</h4>"
        '<p style="color: #aaa; background: #fff">faint text</p><input type="text"></main></body></html>'
    )
    found = {v["id"]: v["impact"] for v in axe_violations(page, axe)}
    assert found.get("color-contrast") == "serious" and found.get("label") == "critical", found
    assert found.get("html-has-lang") == "serious", found
    problems = "\n".join(page_problems(page, axe))
    for expected in ("axe color-contrast", "axe label", "no lang attribute", "2 h1 headings", "h4 after h1",
                     "does not reach the skip link"):  # fmt: skip
        assert expected in problems, problems


def _tiny_pages(tmp_path) -> dict[str, str]:
    """A notebook page (highlighted code, prompts, outputs, a link in text, a widget), the index, a docs page
    (with a code block wider than the page)."""
    nb, _ = _widget_notebook()
    nb.cells[0].source += "\n\nSee [the FAQ](https://example.org/faq) for more.\n\n## Setup\n\n### Details"
    code = '# a comment\nx = [1, 2.5, 0x1F] if not done else {"key": f"{n}"}\nprint(x is None, len(x) @ 2)'
    cell = nbformat.v4.new_code_cell(code, execution_count=3)
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "[1, 2.5, 31]"}, execution_count=3),
                    nbformat.v4.new_output("stream", name="stderr", text="UserWarning: a warning\n")]  # fmt: skip
    nb.cells.append(cell)
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}  # highlighted as Python
    site.tidy(nb)
    lessons = _lessons(tmp_path, 3)
    root = _repo(tmp_path)
    with (root / "docs" / "install.md").open("a") as md:  # a code block wider than the page
        md.write("\n```bash\n" + " ".join(["make site"] * 60) + "\n```\n")
    docs = site.markdown_docs(root)
    return {
        "notebook": site.render_page(nb, lessons, 1, quick=True),
        "index": site.index_page(lessons, quick=True, docs=docs),
        "docs": site.doc_page(docs[1], docs, lessons, root),
    }


def test_the_page_templates_pass_axe(browser_page, tmp_path):
    page, axe = browser_page
    failures = {}
    for name, text in _tiny_pages(tmp_path).items():
        (tmp_path / f"{name}.html").write_text(text, encoding="utf-8")
        page.goto((tmp_path / f"{name}.html").as_uri())
        failures[name] = page_problems(page, axe)
    assert not any(failures.values()), json.dumps(failures, indent=1)


def test_every_page_of_the_built_site_passes_axe(browser_page):
    """Every page of site/: no serious or critical WCAG 2.1 A/AA violation, lang, headings, skip link, focus."""
    page, axe = browser_page
    if not (SITE / "index.html").exists():
        _require("no site/index.html: build the site with `make site` (`make test` builds it first)")
    pages = sorted(SITE.rglob("*.html"))
    failures = {}
    for path in pages:
        page.goto(path.as_uri())
        problems = page_problems(page, axe)
        if problems:
            failures[path.relative_to(SITE).as_posix()] = problems
    assert not failures, f"{len(failures)} of {len(pages)} pages fail:\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(problems) for name, problems in failures.items()
    )
