"""The repository's own files agree with each other: packaging, Binder recipe, notebooks."""

import json
import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _normalise(requirement: str) -> str:
    name, rest = re.match(r"\s*([A-Za-z0-9_.\-]+)(.*)", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + re.sub(r"\s+", "", rest).replace('"', "'")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["course"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip section"
    assert sorted(map(_normalise, pip_sections[0])) == sorted(map(_normalise, wanted))
    assert "conda-forge" in env["channels"]
    assert any(str(d).startswith("python") for d in env["dependencies"])


def test_binder_installs_cae_lib():
    post_build = (ROOT / "postBuild").read_text()
    assert "set -e" in post_build and re.search(r"pip install .*-e \.", post_build)


def test_there_are_numbered_notebooks():
    names = [nb.name for nb in NOTEBOOKS]
    assert "01_dataset.ipynb" in names
    assert all(re.match(r"\d\d_[a-z0-9_]+\.ipynb$", n) for n in names), names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(notebook):
    nb = json.loads(notebook.read_text())
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{notebook.name}: cells {dirty} carry outputs; run `make strip`"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_cae_lib_without_path_tricks(notebook):
    source = "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"])
    assert "sys.path" not in source
    assert "import cae_lib" in source or "from cae_lib" in source


TIME = re.compile(
    r"Time: about (\d+) minutes \((\d+) of study and exercises, (\d+) of running in full mode\)"
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_states_the_same_time_as_the_readme(path):
    """Stated time = a study estimate + the measured full-mode run time, in the notebook and the README alike."""
    intro = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"][:3])
    match = TIME.search(intro)
    assert match, (
        f"{path.name}: no 'Time: about N minutes (S of study and exercises, R of running in full mode)'"
    )
    total, study, running = map(int, match.groups())
    assert total == study + running, f"{path.name}: {study} + {running} != {total}"
    row = re.search(rf"^\| {path.name[:2]} \| \[.*\]\(notebooks/{re.escape(path.name)}\) \|.*\| (\d+) min \|$",
                    (ROOT / "README.md").read_text(), re.M)  # fmt: skip
    assert row and int(row.group(1)) == total, f"README.md states another time for {path.name}"
