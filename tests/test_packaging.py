"""The repository's own files agree with each other: packaging, Binder recipe, notebooks."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DOCS = sorted((ROOT / "docs").glob("*.md"))


def _normalise(requirement: str) -> str:
    name, rest = re.match(r"\s*([A-Za-z0-9_.\-]+)(.*)", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + re.sub(r"\s+", "", rest).replace('"', "'")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_matches_pyproject():
    """Binder gets the dependencies, the "cpu" extra (TensorFlow) and the "course" extra (JupyterLab & co.)."""
    project = _project()
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["cpu"] + extras["course"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip section"
    assert sorted(map(_normalise, pip_sections[0])) == sorted(map(_normalise, wanted))
    assert "conda-forge" in env["channels"]
    assert any(str(d).startswith("python") for d in env["dependencies"])


def test_binder_installs_cae_lib():
    post_build = (ROOT / "postBuild").read_text()
    assert "set -e" in post_build and re.search(r"pip install .*-e \.", post_build)


TENSORFLOW = re.compile(r"^\s*(tensorflow|tensorflow[-_]cpu|tensorflow[-_]intel|tf[-_]nightly)\b", re.I)


def test_tensorflow_comes_only_from_the_cpu_and_gpu_extras():
    """A plain install keeps the TensorFlow a machine has (Colab, a GPU build); the extras bring one.

    tests/test_install.py asks pip what each case would install.
    """
    project = _project()
    extras = project["optional-dependencies"]
    assert not [r for r in project["dependencies"] if TENSORFLOW.match(r)], project["dependencies"]
    assert not [r for name in ("course", "test") for r in extras[name] if TENSORFLOW.match(r)]
    cpu = {_normalise(r) for r in extras["cpu"]}
    assert cpu == {
        "tensorflow-cpu>=2.16.1;sys_platform=='linux'andplatform_machine=='x86_64'",
        "tensorflow>=2.16.1;sys_platform!='linux'orplatform_machine!='x86_64'",
    }
    assert [_normalise(r) for r in extras["gpu"]] == ["tensorflow[and-cuda]>=2.16.1"]


def test_make_setup_and_ci_install_the_cpu_extra():
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r"pip install [^\n]*-e \"\.\[([^\]]*)\]\"", makefile)
    assert installs and all("cpu" in extras.split(",") for extras in installs), installs
    assert "make setup" in (ROOT / ".ci" / "run").read_text()


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


# --------------------------------------------------------------------------- badges and the Colab install step

BINDER = re.compile(r"https://mybinder\.org/v2/gh/([^/]+)/([^/]+)/HEAD\?urlpath=lab/tree/(notebooks/[^)\s]+)$")
COLAB = re.compile(r"https://colab\.research\.google\.com/github/([^/]+)/([^/]+)/blob/main/(notebooks/[^)\s]+)$")
LINK = re.compile(r"\]\((https://(?:mybinder\.org|colab\.research\.google\.com)/[^)\s]*)\)")
LOGOS = {"https://mybinder.org/badge_logo.svg", "https://colab.research.google.com/assets/colab-badge.svg"}


def _repository() -> tuple[str, str]:
    """(owner, name) of ``[project.urls] Repository``, the one place the course's address is written."""
    url = _project()["urls"]["Repository"]
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", url)
    assert match, f"[project.urls] Repository must be https://github.com/OWNER/REPO, not {url!r}"
    return match.group(1), match.group(2)


def _targets(text: str) -> list[str]:
    """The notebooks that the Binder and Colab links in ``text`` open, each checked against the configured repository."""
    targets = []
    for url in LINK.findall(text):
        if url in LOGOS:
            continue
        match = BINDER.match(url) or COLAB.match(url)
        assert match, f"not a Binder or Colab notebook link of the expected form: {url}"
        assert match.group(1, 2) == _repository(), f"{url} does not point at {_project()['urls']['Repository']}"
        assert (ROOT / match.group(3)).is_file(), f"{url} opens {match.group(3)}, which does not exist"
        targets.append(match.group(3))
    return targets


def _cells(notebook: Path) -> list:
    return json.loads(notebook.read_text())["cells"]


def test_every_badge_in_the_notebooks_and_the_readme_opens_an_existing_notebook_of_the_course():
    found = _targets((ROOT / "README.md").read_text())
    for notebook in NOTEBOOKS:
        found += _targets("\n".join("".join(cell["source"]) for cell in _cells(notebook)))
    assert found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_opens_with_its_title_then_its_two_badges(notebook):
    lines = "".join(_cells(notebook)[0]["source"]).splitlines()
    assert lines[0].startswith(f"# {notebook.name[:2]} "), lines[0]
    badges = lines[2] if len(lines) > 2 else ""
    assert "mybinder.org" in badges and "colab.research.google.com" in badges, f"{notebook.name}: line 3 is {badges!r}"
    assert _targets(badges) == [f"notebooks/{notebook.name}"] * 2


def test_the_readme_has_both_badges_for_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for notebook in NOTEBOOKS:
        row = re.search(rf"^\| {notebook.name[:2]} \| \[[^\]]*\]\(notebooks/{re.escape(notebook.name)}\) \| (.*?) \|", readme, re.M)
        assert row, f"README.md: no row for {notebook.name} in the notebook table"
        assert _targets(row.group(1)) == [f"notebooks/{notebook.name}"] * 2, row.group(1)
    top = readme.partition("\n## ")[0]
    assert _targets(top) == [f"notebooks/{NOTEBOOKS[0].name}"] * 2


def _setup_code(notebook: Path) -> str:
    cells = _cells(notebook)
    heading = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## Setup"))
    return "".join(next(c for c in cells[heading + 1 :] if c["cell_type"] == "code")["source"])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_each_setup_cell_starts_by_installing_the_course_where_it_is_missing(notebook):
    """On Colab the course is installed from the configured repository, without an extra: Colab's TensorFlow stays."""
    owner, name = _repository()
    lines = _setup_code(notebook).splitlines()
    assert lines[:4] == [
        "import importlib.util",
        "",
        'if not importlib.util.find_spec("cae_lib"):  # on Colab: install the course (TensorFlow stays as it is)',
        f'    %pip install -q "cae-lib @ git+https://github.com/{owner}/{name}"',
    ], lines[:4]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_each_setup_cell_says_where_the_learner_is_before_anything_else_runs(notebook):
    """Right after the install step: one line of versions, GPU and quick mode, or what to do when one is too old."""
    lines = _setup_code(notebook).splitlines()
    assert lines[4:8] == ["", "from cae_lib import environment", "",
                          "environment.report()  # Python, TensorFlow, Keras, NumPy, GPU, quick mode; what to do if one is too old"], lines[4:8]  # fmt: skip


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_no_tooling_comment_in_a_cell_learners_read(notebook):
    """Linters' switches (isort, noqa, fmt) belong in pyproject.toml, not in the lesson."""
    for index, cell in enumerate(_cells(notebook)):
        found = re.findall(r"#\s*(?:isort|noqa|fmt|type):", "".join(cell["source"]))
        assert not found, f"{notebook.name} cell {index}: {found}"


def test_the_badges_script_finds_nothing_stale():
    """``python scripts/badges.py`` has been run since the last change of [project.urls] or of the notebooks' badges."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "badges.py"), "--check"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_pins_tensorflow_to_the_cpu():
    """The notebooks use a GPU when TensorFlow sees one: no code hides it."""
    pinning = re.compile(r"CUDA_VISIBLE_DEVICES|set_visible_devices|tf\.device\(")
    sources = [*NOTEBOOKS, *sorted((ROOT / "cae_lib").rglob("*.py"))]
    found = [str(p.relative_to(ROOT)) for p in sources if pinning.search(p.read_text(encoding="utf-8"))]
    assert not found, f"these files choose TensorFlow's devices: {found}"


def test_a_fork_repoints_every_badge_and_install_url_by_editing_one_line(tmp_path):
    """What README.md tells a fork to do: edit [project.urls], run scripts/badges.py; a second run changes nothing."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("badges", ROOT / "scripts" / "badges.py")
    badges = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(badges)
    docs = [f"docs/{p.name}" for p in DOCS]
    for name in ("README.md", *docs, *(f"notebooks/{p.name}" for p in NOTEBOOKS)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    old = _project()["urls"]["Repository"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert pyproject.count(f'Repository = "{old}"') == 1
    (tmp_path / "pyproject.toml").write_text(pyproject.replace(old, "https://github.com/a-teacher/cae-class"))

    changes = badges.stale_files(tmp_path)
    with_urls = [tmp_path / name for name in docs if "git+https://github.com/" in (ROOT / name).read_text()]
    assert tmp_path / "docs/install.md" in with_urls and tmp_path / "docs/teaching.md" in with_urls
    assert set(changes) == {tmp_path / "README.md", *with_urls,
                            *(tmp_path / "notebooks" / p.name for p in NOTEBOOKS)}  # fmt: skip
    for path, text in changes.items():
        path.write_text(text, encoding="utf-8")
        assert old.removeprefix("https://github.com/") not in text, f"{path.name} still points at {old}"
        assert "a-teacher/cae-class" in text
    assert badges.stale_files(tmp_path) == {}
    for path in changes:  # the notebooks stay valid, with the same cells and ids
        if path.suffix == ".ipynb":
            ids = [c.get("id") for c in json.loads(path.read_text())["cells"]]
            assert ids == [c.get("id") for c in _cells(ROOT / "notebooks" / path.name)]


def test_the_teaching_notes_state_each_notebooks_time_and_the_total():
    """docs/teaching.md repeats the notebooks' Time lines (per notebook and in total): they must agree."""
    teaching = (ROOT / "docs" / "teaching.md").read_text()
    study_total = running_total = 0
    for path in NOTEBOOKS:
        intro = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"][:3])
        total, study, running = map(int, TIME.search(intro).groups())
        study_total, running_total = study_total + study, running_total + running
        heading = rf"^### {path.name[:2]} · .* \({total} min: {study} study, {running} running\)$"
        assert re.search(heading, teaching, re.M), f"docs/teaching.md: heading of {path.name} should say {total} min"
        row = rf"^\| {path.name[:2]} [a-z ]+ \| {total} min \| {study} \| {running} \|"
        assert re.search(row, teaching, re.M), f"docs/teaching.md: timings row of {path.name} should say {total} min"
    hours, minutes = divmod(study_total, 60)
    stated = f"({hours} h {minutes} min of study and exercises, {running_total} min of running in full mode)"
    assert stated in " ".join(teaching.split()), f"docs/teaching.md should state the total as {stated!r}"


MAX_MARKDOWN_WORDS = 350


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_no_markdown_cell_is_longer_than_a_reader_takes_in_at_once(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    long = {
        i: len("".join(cell["source"]).split())
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "markdown" and len("".join(cell["source"]).split()) > MAX_MARKDOWN_WORDS
    }
    assert not long, f"{notebook.name}: markdown cells over {MAX_MARKDOWN_WORDS} words (cell: words): {long}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_the_exercises_come_before_the_summary_and_the_summary_closes_the_lesson(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    sources = ["".join(cell["source"]) for cell in cells]
    summaries = [i for i, s in enumerate(sources) if re.search(r"^## Summary", s, re.M)]
    assert len(summaries) == 1, f"{notebook.name}: one '## Summary' heading, found {len(summaries)}"
    summary = summaries[0]
    assert sources[summary].startswith("## Summary"), f"{notebook.name}: the summary opens its own cell"
    answers = [i for i, s in enumerate(sources) if s.startswith("%%answer")]
    assert answers and max(answers) < summary, f"{notebook.name}: an exercise (cell {max(answers)}) after the summary"
    after = [s.splitlines()[0] for s in sources[summary + 1 :]]
    assert all(line.startswith("## Further") for line in after), f"{notebook.name}: after the summary: {after}"


def test_the_stated_times_are_the_reading_models():
    """Each notebook's study minutes and running minutes are what scripts/study_times.py computes."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import study_times
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    runs = study_times.full_mode_seconds()
    for path in NOTEBOOKS:
        row = study_times.estimate(path, runs)
        intro = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"][:3])
        total, study, running = map(int, TIME.search(intro).groups())
        assert (study, running) == (row["study"], row["running"]), (
            f"{path.name} states {study} + {running} min; the reading model gives {row['study']} + {row['running']}: "
            "run python scripts/study_times.py --write"
        )


# --------------------------------------------------------------------------- the README and docs/

README_MAX_LINES = 150
MD_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _markdown_links(text: str) -> list[str]:
    """The targets of the inline links and images in ``text``, code blocks and code spans left out."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    text = re.sub(r"`[^`\n]*`", "``", text)
    return MD_LINK.findall(text)


def _anchors(text: str) -> set[str]:
    """GitHub's anchors of the headings in ``text``: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, re.M):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
        anchors.add(re.sub(r"[^\w\- ]", "", plain.lower()).replace(" ", "-"))
    return anchors


def test_the_readme_is_read_in_two_minutes():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it under {README_MAX_LINES} and move the rest into docs/"
    )


def test_every_docs_page_is_linked_from_the_readme():
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in _markdown_links((ROOT / "README.md").read_text())
        if not re.match(r"[a-z]+:", target)
    }
    assert DOCS
    missing = [p.name for p in DOCS if p.resolve() not in linked]
    assert not missing, f"docs pages not linked from README.md's Documentation list: {missing}"


@pytest.mark.parametrize("page", [ROOT / "README.md", *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_an_existing_file_and_heading(page):
    """Links between the README and docs/ (and to notebooks, results, figures) survive moving text around."""
    broken = []
    for target in _markdown_links(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto: ...
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_file() or not file.is_relative_to(ROOT):
            broken.append(f"{target} (no file {path})")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text()):
            broken.append(f"{target} (no heading #{anchor} in {file.name})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_the_link_checker_sees_links_and_headings():
    text = (
        '# A title\n\n## Where it *is* tested\n\n[a](x.md) ![b](img/c.png) `[no](code.md)` [d](e.md#f "t")\n'
    )
    assert _markdown_links(text) == ["x.md", "img/c.png", "e.md#f"]
    assert _anchors(text) == {"a-title", "where-it-is-tested"}
    assert _anchors("## `ImportError: cae_lib needs TensorFlow >= 2.16.1 ...`") == {
        "importerror-cae_lib-needs-tensorflow--2161-"
    }
