"""Run the course in the environments it promises to run in, and write the "Tested on" table of docs/environments.md.

Three environments, each a fresh virtual environment with the offline data:

* ``latest``: the one ``make test`` uses (``.venv``: the newest releases the
  bounds of ``pyproject.toml`` allow); it runs the whole suite there, and this
  script only records its versions and result (``record``);
* ``colab``: Google Colab's versions (``tests/envs/colab.txt``, the one file
  to update when Colab moves on) installed first, then the course installed
  exactly as every notebook's Setup cell does it: ``pip install "cae-lib @
  <repository>"``, no extra, so Colab's TensorFlow stays;
* ``minimum``: every lower bound of ``pyproject.toml`` pinned
  (``tests/envs/minimum.txt``, checked against ``pyproject.toml`` by
  ``tests/test_environment.py``), on the oldest Python it allows.

In ``colab`` and ``minimum`` (``run NAME``) the tests run from outside the
clone, so that they use the installed package, not the clone's files:
every shipped model loads and keeps its model id, the golden files decode to
the same pixels, the codec round-trips, and every notebook executes in quick
mode with the exercise solutions filled in and strict checks
(:data:`SUBSET`). Each run writes ``test-output/environments/NAME.json``:
versions, what ran, the result, the time.

``table`` renders those records as Markdown; ``table --write`` puts the table
into docs/environments.md between its markers and ``table --check`` fails when
that page's table is not the one the records give. The committed records are in
``tests/envs/tested/`` (copied there from a CI run with ``collect``).

Usage (from the repository root; ``.ci/run`` does all of it):

    python scripts/environments.py run colab            # build, then test: 10 to 15 minutes on 2 cores
    python scripts/environments.py build colab minimum  # or apart: .ci/run builds while the site is built,
    python scripts/environments.py test colab           # then tests the two at the same time
    .venv/bin/python scripts/environments.py record latest --junit test-output/environments/latest.xml
    python scripts/environments.py collect            # test-output/environments/*.json -> tests/envs/tested/
    python scripts/environments.py table --write docs/environments.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
ENVS_DIR = ROOT / "tests" / "envs"
VENVS_DIR = ROOT / ".venvs"
OUTPUT_DIR = ROOT / "test-output" / "environments"
TESTED_DIR = ENVS_DIR / "tested"
BUILD_RECORD = "cae-environment.json"
"""Written into a built environment: how long the build took and what the course's install changed."""
ORDER = ("latest", "colab", "minimum")
SHOWN = (
    "tensorflow",
    "keras",
    "numpy",
    "ipywidgets",
    "matplotlib",
    "scikit-learn",
    "pillow",
    "h5py",
    "jupyterlab",
)
"""Packages whose versions the records and the table show (TensorFlow under any of its distribution names)."""
SUBSET = (
    "tests/test_environment.py",
    "tests/test_pretrained.py",
    "tests/test_golden.py",
    "tests/test_codec.py",
    "tests/test_files.py",
    "tests/test_hostile_files.py",
    "tests/test_hostile_inputs.py",
    "tests/test_hostile_models.py",
    "tests/test_saving.py",
    "tests/test_widgets.py",
    "tests/test_solutions.py::test_the_notebook_passes_every_check_with_the_solutions_filled_in",
    "tests/test_exercises_framework.py",
    "tests/test_solutions.py::test_a_learners_mistake_gets_a_cross_and_run_all_goes_on[01_dataset]",
)
"""What ``colab`` and ``minimum`` run: models, codec, golden files, hostile inputs (Pillow, h5py and NumPy differ), widgets, every notebook with its solutions, and
the checks' handling of a learner's mistakes (on that IPython: ``%%answer`` and one notebook with mistakes)."""
ALSO = {"minimum": ("tests/test_browser.py::test_explorer_in_jupyterlab_with_headless_chromium",)}
"""More for one environment: the oldest JupyterLab and ipywidgets draw the explorer (Colab draws its own)."""
WHAT_RAN = {
    "latest": "the whole suite: the 9 notebooks as learners get them (the site) and with solutions, browser",
    "colab": "every model loads; codec, golden files, widgets; the 9 notebooks with solutions, strict checks; "
    "a learner's mistakes",
    "minimum": "every model loads; codec, golden files, widgets; the 9 notebooks with solutions, strict checks; "
    "a learner's mistakes; the explorer in JupyterLab",
}
TABLE_START = "<!-- tested-on: written by scripts/environments.py table --write; do not edit by hand -->"
TABLE_END = "<!-- tested-on: end -->"


# --------------------------------------------------------------------------- what each environment is


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def oldest_python() -> str:
    """The oldest Python ``requires-python`` allows, e.g. ``"3.10"``."""
    match = re.fullmatch(r"\s*>=\s*(\d+\.\d+)\s*", _project()["requires-python"])
    if not match:
        raise SystemExit(
            f"pyproject.toml: requires-python must be '>=X.Y'. Found: {_project()['requires-python']!r}"
        )
    return match.group(1)


def colab_python() -> str:
    """The Python of Colab's runtime, from the ``# python: X.Y`` line of ``tests/envs/colab.txt``."""
    match = re.search(r"^# python: (\d+\.\d+)\s*$", (ENVS_DIR / "colab.txt").read_text(), re.M)
    if not match:
        raise SystemExit("tests/envs/colab.txt: no '# python: X.Y' line")
    return match.group(1)


def find_python(version: str) -> str:
    """A Python ``version`` (``"3.10"``) interpreter: ``pythonX.Y`` on PATH, or one that pyenv installed."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    installed = sorted(
        pyenv.glob(f"{version}.*/bin/python{version}"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)],
    )
    for candidate in [shutil.which(f"python{version}"), *map(str, reversed(installed))]:
        if not candidate:
            continue
        check = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)  # fmt: skip
        if check.returncode == 0 and check.stdout.strip() == version:
            return candidate
    raise SystemExit(f"no Python {version} on this machine: the environment needs it (apt-get, pyenv or uv)")


def test_requirements() -> list[str]:
    """The ``test`` extra's requirement strings from ``pyproject.toml``."""
    return list(_project()["optional-dependencies"]["test"])


# --------------------------------------------------------------------------- building and running


def _run(argv, **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, argv)), flush=True)
    return subprocess.run(list(map(str, argv)), check=True, **kwargs)


def _pip(venv: Path, *args) -> None:
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args])


def build(name: str) -> Path:
    """A fresh virtual environment ``.venvs/NAME`` with the course installed the way NAME's learners get it."""
    start = time.monotonic()
    venv = VENVS_DIR / name
    shutil.rmtree(venv, ignore_errors=True)
    VENVS_DIR.mkdir(exist_ok=True)
    if name == "colab":
        _run([find_python(colab_python()), "-m", "venv", venv])
        _pip(venv, "-r", ENVS_DIR / "colab.txt")
        before = installed_versions(venv)
        # The Setup cell: %pip install -q "cae-lib @ git+https://github.com/..."; the clone stands in for GitHub.
        _pip(venv, f"cae-lib @ {ROOT.as_uri()}")
        changed = {k: [before.get(k), v] for k, v in installed_versions(venv).items() if before.get(k) != v}
        # The test tools, without moving anything Colab has (no browser: Colab draws its own widgets).
        tools = [r for r in test_requirements() if not r.startswith("playwright")]
        _pip(venv, "-c", ENVS_DIR / "colab.txt", *tools)
    elif name == "minimum":
        _run([find_python(oldest_python()), "-m", "venv", venv])
        _pip(venv, "-c", ENVS_DIR / "minimum.txt", f"cae-lib[cpu,course,test] @ {ROOT.as_uri()}")
        changed = {}
    else:
        raise SystemExit(f"unknown environment {name!r}: colab or minimum ('latest' is .venv, see 'record')")
    built = {"course_install_changed": changed, "seconds": round(time.monotonic() - start)}
    (venv / BUILD_RECORD).write_text(json.dumps(built, indent=1))
    print(f"{name}: built in {built['seconds']} s", flush=True)
    return venv


def installed_versions(venv: Path | None = None) -> dict[str, str]:
    """``{package: version}`` of :data:`SHOWN` (and Python) in ``venv`` (default: this interpreter).

    Asked of the course installed there (:func:`cae_lib.environment.installed_version`).
    """
    code = (
        "import json, platform\n"
        "from cae_lib.environment import installed_version\n"
        f"found = {{name: installed_version(name) for name in {list(SHOWN)!r}}}\n"
        "found['python'] = platform.python_version()\n"
        "print(json.dumps({k: v for k, v in found.items() if v}))\n"
    )
    python = venv / "bin" / "python" if venv else Path(sys.executable)
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def junit_counts(path: Path) -> dict[str, int]:
    """``{"passed", "failed", "skipped"}`` counted in a pytest JUnit XML file."""
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return {"passed": total - failed - skipped, "failed": failed, "skipped": skipped}


def test(name: str) -> int:
    """Run :data:`SUBSET` in the built environment NAME from outside the clone, write its record; pytest's exit code."""
    start = time.monotonic()
    venv = VENVS_DIR / name
    if not (venv / BUILD_RECORD).is_file():
        raise SystemExit(f"{venv}: not built; run 'scripts/environments.py build {name}' first")
    built = json.loads((venv / BUILD_RECORD).read_text())
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    junit = OUTPUT_DIR / f"{name}.xml"
    listed = subprocess.run(
        [venv / "bin" / "cae", "models"], capture_output=True, text=True, check=True
    ).stdout
    env = {**os.environ, "CAE_QUICK": "1", "CAE_PROGRESS": "epoch"}
    tests = [
        f"{ROOT / path}::{rest}" if rest else str(ROOT / path)
        for path, _, rest in (t.partition("::") for t in (*SUBSET, *ALSO.get(name, ())))
    ]
    # Not from the clone: there `import cae_lib` would find the clone's files instead of the installed course.
    with tempfile.TemporaryDirectory() as elsewhere:
        probe = [venv / "bin" / "python", "-c", "import cae_lib; print(cae_lib.__file__)"]
        where = subprocess.run(
            probe, cwd=elsewhere, capture_output=True, text=True, check=True
        ).stdout.strip()
        if Path(where).resolve().is_relative_to(ROOT / "cae_lib"):
            raise SystemExit(
                f"{name}: cae_lib imports from the clone ({where}), not from the installed course"
            )
        pytest = [
            venv / "bin" / "python",
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            ROOT,
            f"--junitxml={junit}",
            f"--basetemp={Path(elsewhere) / 'pytest'}",  # its own: the two environments run at once
        ]
        result = subprocess.run([*map(str, pytest), *tests], cwd=elsewhere, env=env)
    record = write_record(
        name,
        venv=venv,
        junit=junit,
        exit_code=result.returncode,
        seconds={"install": built["seconds"], "tests": round(time.monotonic() - start)},
        course_install_changed=built["course_install_changed"],
        models_listed=[line.split()[0] for line in listed.splitlines() if line.strip()],
    )
    print(f"{name}: {_result_text(record)}, tests {record['seconds']['tests']} s", flush=True)
    return result.returncode


def write_record(
    name: str, *, venv: Path | None, junit: Path, exit_code: int, seconds: dict, **extra
) -> dict:
    """Write ``test-output/environments/NAME.json``: versions, what ran, the result, the time; return it."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    record = {
        "environment": name,
        "versions": installed_versions(venv),
        "ran": WHAT_RAN[name],
        "result": junit_counts(junit) if junit.is_file() else {"passed": 0, "failed": 1, "skipped": 0},
        "exit_code": exit_code,
        "seconds": seconds,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        **extra,
    }
    (OUTPUT_DIR / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def record_latest(junit: Path, seconds: float | None, exit_code: int) -> None:
    """Write the record of the ``latest`` environment (this interpreter) from its pytest JUnit file."""
    write_record("latest", venv=None, junit=junit, exit_code=exit_code,
                 seconds={"tests": round(seconds)} if seconds is not None else {})  # fmt: skip


# --------------------------------------------------------------------------- the table


def _result_text(record: dict) -> str:
    r = record["result"]
    verdict = "pass" if record["exit_code"] == 0 and r["failed"] == 0 else "FAIL"
    return f"{verdict}: {r['passed']} passed, {r['failed']} failed, {r['skipped']} skipped"


def records(folder: Path = TESTED_DIR) -> list[dict]:
    """The records in ``folder``, in :data:`ORDER`."""
    found = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    return [found[name] for name in ORDER if name in found]


def table(found: list[dict]) -> str:
    """The "Tested on" table (Markdown) of ``found`` records."""
    lines = [
        "| environment | Python | TensorFlow | Keras | NumPy | ipywidgets | what ran | result | date |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for record in found:
        v = record["versions"]
        lines.append(
            f"| {record['environment']} | {v.get('python', '-')} | {v.get('tensorflow', '-')} | {v.get('keras', '-')} "
            f"| {v.get('numpy', '-')} | {v.get('ipywidgets', '-')} | {record['ran']} | {_result_text(record)} "
            f"| {record['date']} |"
        )
    return "\n".join(lines)


def _with_table(text: str, rendered: str) -> str:
    if TABLE_START not in text or TABLE_END not in text:
        raise SystemExit(
            f"no '{TABLE_START}' ... '{TABLE_END}' markers in that file (docs/environments.md has them)"
        )
    head, _, rest = text.partition(TABLE_START)
    _, _, tail = rest.partition(TABLE_END)
    return f"{head}{TABLE_START}\n{rendered}\n{TABLE_END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command, text in (
        ("build", "build fresh environments"),
        ("test", "run the subset in built environments, one after the other"),
        ("run", "build, then test"),
    ):
        sub.add_parser(command, help=text).add_argument("names", nargs="+", choices=ORDER[1:])
    rec = sub.add_parser(
        "record", help="record the 'latest' environment (this interpreter) from its JUnit file"
    )
    rec.add_argument("name", choices=["latest"])
    rec.add_argument("--junit", type=Path, required=True)
    rec.add_argument("--seconds", type=float, default=None)
    rec.add_argument("--exit-code", type=int, default=0, help="make test's exit code")
    sub.add_parser("collect", help="copy test-output/environments/*.json into tests/envs/tested/")
    tab = sub.add_parser("table", help="print the table of tests/envs/tested/ (or --from a folder)")
    tab.add_argument("--from", dest="folder", type=Path, default=TESTED_DIR)
    tab.add_argument(
        "--write", type=Path, help="put the table into this file (docs/environments.md) between its markers"
    )
    tab.add_argument("--check", type=Path, help="exit 1 if this file's table is not the rendered one")
    args = parser.parse_args(argv)
    if args.command in ("build", "run"):
        for name in args.names:
            build(name)
    if args.command in ("test", "run"):
        return max(test(name) for name in args.names)
    if args.command == "build":
        return 0
    if args.command == "record":
        record_latest(args.junit, args.seconds, args.exit_code)
        return 0
    if args.command == "collect":
        TESTED_DIR.mkdir(parents=True, exist_ok=True)
        for name in ORDER:
            source = OUTPUT_DIR / f"{name}.json"
            if not source.is_file():
                raise SystemExit(f"{source}: missing; run the three environments first (.ci/run)")
            shutil.copyfile(source, TESTED_DIR / source.name)
        return 0
    rendered = table(records(args.folder))
    if args.write:
        args.write.write_text(_with_table(args.write.read_text(encoding="utf-8"), rendered), encoding="utf-8")
    elif args.check:
        text = args.check.read_text(encoding="utf-8")
        if _with_table(text, rendered) != text:
            print(
                f"{args.check}: the Tested-on table is stale; run scripts/environments.py table --write {args.check}"
            )
            return 1
    else:
        print(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
