"""Point every "open this notebook online" link at the course's repository, from one setting.

The repository is written once, as ``Repository`` under ``[project.urls]`` in
``pyproject.toml``. From it this script writes:

* a Binder and a Colab badge under the title of every notebook (first cell);
* the same two badges in the README: under its title (for notebook 01) and
  in the "open in" column of its notebook table;
* the Colab install step at the top of every notebook's Setup code cell,
  ``%pip install -q "cae-lib @ git+<repository>"``, which runs only where
  ``cae_lib`` is not installed;
* every other ``git+https://github.com/...`` install URL in README.md and in
  the pages of docs/ (docs/install.md shows the Setup cell's install line,
  docs/teaching.md the install for a class).

Usage (from anywhere; the repository is this file's parent's parent):

    python scripts/badges.py           # rewrite what is stale, print what changed
    python scripts/badges.py --check   # change nothing; exit 1 if anything is stale

A fork edits ``[project.urls]`` and runs the first command. Running it twice
changes nothing the second time. Notebooks are rewritten as nbformat writes
them (one-space indent, key order kept, trailing newline), cell ids and
metadata untouched, outputs left as they are (none: the repository stores
notebooks without them).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = "notebooks"
BRANCH = "main"  # the branch Colab opens (Binder opens HEAD, the default branch)
BINDER_LOGO = "https://mybinder.org/badge_logo.svg"
COLAB_LOGO = "https://colab.research.google.com/assets/colab-badge.svg"
README = "README.md"
DOCS_DIR = "docs"  # README.md and every docs/*.md: their git+ install URLs follow the setting too


def prose_files(root: Path = ROOT) -> list[Path]:
    """README.md, then every page of docs/ in name order."""
    return [root / README, *sorted((root / DOCS_DIR).glob("*.md"))]


GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")
GIT_INSTALL_URL = re.compile(
    r"git\+https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?(?:\.git)?(?=[\"'`\s)@#]|$)"
)
BADGE_LINE = re.compile(r"^\[!\[Binder\]\(.*$", re.M)  # a line of badges starts with the Binder one
INSTALL_STEP = re.compile(
    r'\Aimport importlib\.util\n\nif not importlib\.util\.find_spec\("cae_lib"\):.*\n    %pip install .*\n\n'
)


def repository(pyproject: Path = ROOT / "pyproject.toml") -> tuple[str, str]:
    """``(owner, name)`` of the GitHub repository named by ``[project.urls] Repository``."""
    urls = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"].get("urls", {})
    url = urls.get("Repository", "")
    match = GITHUB.match(url.strip())
    if not match:
        raise SystemExit(
            f"{pyproject}: [project.urls] Repository must be https://github.com/OWNER/REPO "
            f"(Binder and Colab open notebooks from GitHub). Found: {url!r}"
        )
    return match.group(1), match.group(2)


def binder_url(repo: tuple[str, str], notebook: str) -> str:
    """JupyterLab on Binder, opened at ``notebook`` (a file name in notebooks/)."""
    return f"https://mybinder.org/v2/gh/{repo[0]}/{repo[1]}/HEAD?urlpath=lab/tree/{NOTEBOOK_DIR}/{notebook}"


def colab_url(repo: tuple[str, str], notebook: str) -> str:
    """``notebook`` opened in Colab straight from GitHub."""
    return f"https://colab.research.google.com/github/{repo[0]}/{repo[1]}/blob/{BRANCH}/{NOTEBOOK_DIR}/{notebook}"


def badges(repo: tuple[str, str], notebook: str) -> str:
    """The two badges of ``notebook``, as one line of Markdown."""
    return (
        f"[![Binder]({BINDER_LOGO})]({binder_url(repo, notebook)}) "
        f"[![Open in Colab]({COLAB_LOGO})]({colab_url(repo, notebook)})"
    )


def install_url(repo: tuple[str, str]) -> str:
    return f"git+https://github.com/{repo[0]}/{repo[1]}"


def install_step(repo: tuple[str, str]) -> str:
    """The first lines of every Setup code cell: install the course where it is missing (Colab)."""
    return (
        "import importlib.util\n"
        "\n"
        'if not importlib.util.find_spec("cae_lib"):  # on Colab: install the course (TensorFlow stays as it is)\n'
        f'    %pip install -q "cae-lib @ {install_url(repo)}"\n'
        "\n"
    )


# --------------------------------------------------------------------------- notebooks


def _lines(text: str) -> list[str]:
    """A cell source as nbformat stores it: lines with their newlines, the last without."""
    return text.splitlines(keepends=True)


def _with_badges(title_cell: str, line: str, where: str) -> str:
    if BADGE_LINE.search(title_cell):
        return BADGE_LINE.sub(lambda _: line, title_cell, count=1)
    title, newline, rest = title_cell.partition("\n")
    if not title.startswith("# "):
        raise SystemExit(f"{where}: the first cell must start with the notebook's title ('# ...')")
    rest = rest.lstrip("\n")
    return f"{title}\n\n{line}" + (f"\n\n{rest}" if rest else "")


def _setup_code_cell(cells: list, where: str) -> dict:
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("## Setup"):
            for following in cells[index + 1 :]:
                if following["cell_type"] == "code":
                    return following
    raise SystemExit(f"{where}: no code cell after a '## Setup' heading")


def update_notebook(path: Path, repo: tuple[str, str]) -> str | None:
    """The notebook's new file content, or None if it is up to date."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    cells = nb["cells"]
    first = cells[0]
    if first["cell_type"] != "markdown":
        raise SystemExit(f"{path}: the first cell must be the markdown title cell")
    first["source"] = _lines(_with_badges("".join(first["source"]), badges(repo, path.name), str(path)))
    setup = _setup_code_cell(cells, str(path))
    source = "".join(setup["source"])
    setup["source"] = _lines(install_step(repo) + INSTALL_STEP.sub("", source, count=1))
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    return None if new == raw else new


# --------------------------------------------------------------------------- README and docs

TABLE_ROW = re.compile(
    r"^(\| \d\d \| \[[^\]]*\]\("
    + NOTEBOOK_DIR
    + r"/(?P<name>[^)]+\.ipynb)\) \| )(?P<badges>\[!\[Binder\][^|]*?)( \| )",
    re.M,
)
"""A row of the README's notebook table: number, linked title, then the "open in" cell of badges."""


def update_readme(text: str, repo: tuple[str, str], notebooks: list[str]) -> str:
    """README.md with fresh badges (top line and notebook table) and install URLs."""
    head, sep, body = text.partition("\n## ")
    if not BADGE_LINE.search(head):
        raise SystemExit("README.md: no line of badges ('[![Binder](...') before the first '## ' section")
    head = BADGE_LINE.sub(lambda _: badges(repo, notebooks[0]), head, count=1)
    body = TABLE_ROW.sub(lambda m: m.group(1) + badges(repo, m.group("name")) + m.group(4), body)
    return update_prose(head + sep + body, repo)


def update_prose(text: str, repo: tuple[str, str]) -> str:
    return GIT_INSTALL_URL.sub(install_url(repo), text)


def stale_files(root: Path = ROOT) -> dict[Path, str]:
    """``{path: new content}`` of every file the setting would change."""
    repo = repository(root / "pyproject.toml")
    paths = sorted((root / NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))
    changes = {}
    for path in paths:
        new = update_notebook(path, repo)
        if new is not None:
            changes[path] = new
    for path in prose_files(root):
        if not path.is_file():
            continue
        old = path.read_text(encoding="utf-8")
        new = (
            update_readme(old, repo, [p.name for p in paths])
            if path == root / README
            else update_prose(old, repo)
        )
        if new != old:
            changes[path] = new
    return changes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is stale")
    args = parser.parse_args(argv)
    owner, name = repository()
    changes = stale_files()
    for path in changes:
        print(f"{'stale' if args.check else 'updated'}: {path.relative_to(ROOT)}")
        if not args.check:
            path.write_text(changes[path], encoding="utf-8")
    if args.check and changes:
        print(f"badges or install URLs do not match https://github.com/{owner}/{name}: "
              "run python scripts/badges.py", file=sys.stderr)  # fmt: skip
        return 1
    if not changes:
        print(f"up to date: every badge and install URL points at https://github.com/{owner}/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
