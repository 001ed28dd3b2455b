"""Where the course runs: the Setup cell's line, its advice, and the environments CI proves.

CI runs this file in all three environments (``scripts/environments.py``):
in each, the installed course's requirements are the ones ``pyproject.toml``
declares, and ``environment.report()`` finds nothing to complain about.
"""

import importlib.util
import re
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from cae_lib import environment

ROOT = Path(__file__).resolve().parents[1]
ENVS = ROOT / "tests" / "envs"


def _script():
    """scripts/environments.py, the runner of CI's three environments, as a module."""
    spec = importlib.util.spec_from_file_location("environments", ROOT / "scripts" / "environments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _project() -> dict:
    return _script()._project()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not a pin (name==version)"
            pins[canonicalize_name(name)] = version
    return pins


def _declared_lower_bounds() -> dict[str, str]:
    """``{name: lower bound}`` of every requirement of pyproject.toml (dependencies and extras, every platform)."""
    project = _project()
    extras = project["optional-dependencies"]
    bounds = {}
    for line in [*project["dependencies"], *extras["cpu"], *extras["course"], *extras["test"]]:
        requirement = Requirement(line)
        lows = [s.version for s in requirement.specifier if s.operator == ">="]
        assert len(lows) == 1, f"pyproject.toml: {line!r} needs exactly one lower bound"
        bounds[canonicalize_name(requirement.name)] = lows[0]
    return bounds


def test_the_minimum_environment_pins_exactly_the_declared_lower_bounds():
    """tests/envs/minimum.txt is what 'every >= is a version the tests pass on' is checked with."""
    pins, bounds = _pins(ENVS / "minimum.txt"), _declared_lower_bounds()
    assert set(pins) == set(bounds), f"pinned but not declared: {set(pins) - set(bounds)}; " \
                                     f"declared but not pinned: {set(bounds) - set(pins)}"  # fmt: skip
    different = {
        name: (pins[name], bounds[name]) for name in bounds if Version(pins[name]) != Version(bounds[name])
    }
    assert not different, f"minimum.txt pin vs pyproject.toml bound: {different}"


def test_the_colab_environment_names_its_python_and_the_versions_the_course_must_meet():
    text = (ENVS / "colab.txt").read_text()
    assert re.search(r"^# python: 3\.\d+$", text, re.M)
    pins = _pins(ENVS / "colab.txt")
    assert {"tensorflow-cpu", "keras", "numpy", "ipywidgets", "matplotlib", "scikit-learn", "pillow"} <= set(
        pins
    )
    needs = {canonicalize_name(Requirement(r).name): Requirement(r).specifier
             for r in _project()["dependencies"] + _project()["optional-dependencies"]["course"]}  # fmt: skip
    for name in ("keras", "numpy"):  # Colab's own, which the course promises to keep
        assert needs[name].contains(pins[name]), f"Colab's {name} {pins[name]} is outside {needs[name]}"
    kernel_side = environment.KERNEL_SIDE["ipywidgets"]
    assert Version(pins["ipywidgets"]) in SpecifierSet(kernel_side), (pins["ipywidgets"], kernel_side)


def test_the_installed_course_requires_what_pyproject_declares():
    """A stale install (pyproject.toml changed, not reinstalled) would make the Setup cell's advice wrong."""
    needs = environment.requirements()
    if not needs:
        pytest.skip("cae-lib is not installed (a bare checkout)")
    bounds = _declared_lower_bounds()
    for name, specifier in needs.items():
        declared = bounds["tensorflow-cpu" if name == "tensorflow" else name]
        assert specifier == environment.KERNEL_SIDE.get(name, f">={declared}"), (name, specifier, declared)
    runtime = {
        "tensorflow",
        "keras",
        "numpy",
        "h5py",
        "matplotlib",
        "pillow",
        "constriction",
        "ipywidgets",
        "scikit-learn",
    }
    assert runtime <= set(needs), runtime - set(needs)
    assert (
        "jupyterlab" not in needs and "pytest" not in needs
    )  # a front end and a test tool: not the Setup cell's business


def test_this_environment_meets_the_course_and_the_setup_line_says_so(capsys, monkeypatch):
    monkeypatch.setenv("CAE_QUICK", "1")
    assert environment.problems() == []
    environment.report()
    line = capsys.readouterr().out.strip()
    assert "\n" not in line
    for part in ("Python ", "TensorFlow ", "Keras ", "NumPy ", "GPU: ", "quick mode: on"):
        assert part in line, line
    assert f"Python {sys.version.split()[0]}" in line


def test_a_package_too_old_gets_the_pip_line_and_the_restart(monkeypatch, capsys):
    monkeypatch.setattr(environment, "requirements", lambda: {"keras": ">=99.0", "numpy": ">=1"})
    with pytest.raises(environment.EnvironmentProblem) as raised:
        environment.report()
    message = str(raised.value)
    assert "keras>=99.0" in message and '%pip install -q "keras>=99.0"' in message
    assert "Kernel > Restart Kernel" in message and "numpy" not in message
    assert "GPU: not checked" in capsys.readouterr().out  # Keras too old to import: the advice comes first
    assert raised.value._render_traceback_() == [message]


def test_on_colab_the_advice_names_colabs_menu(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    advice = environment.advice([environment.Problem("tensorflow", "2.15.0", ">=2.16.1")])
    assert '%pip install -q "tensorflow>=2.16.1"' in advice and "Runtime > Restart session" in advice


def test_a_missing_package_and_a_stale_import_are_found(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", types.SimpleNamespace(__version__="0.0.1"))
    found = environment.problems({"pillow": ">=1", "no-such-package-cae": ">=1"})
    assert environment.Problem("no-such-package-cae", "missing", ">=1") in found
    stale = next(p for p in found if p.package == "pillow")
    assert stale.restart_only and stale.found.startswith("0.0.1 loaded, ")
    assert "Restart" in environment.advice([stale]) and "%pip" not in environment.advice([stale])


def test_in_a_notebook_the_problem_shows_as_its_advice_without_a_traceback():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from cae_lib import environment\n"
        "environment.requirements = lambda: {'keras': '>=99.0'}\n"
        "environment.report()"
    )])  # fmt: skip
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    error = next(o for o in notebook.cells[0].outputs if o.output_type == "error")
    assert error.ename == "EnvironmentProblem"
    assert error.traceback[0].startswith("This course needs keras>=99.0"), error.traceback
    assert not any("Traceback" in line or "File " in line for line in error.traceback), error.traceback


def test_the_tested_on_table_is_the_one_ci_records_give():
    """The table is written by scripts/environments.py from the records of a CI run, never by hand."""
    script = _script()
    records = script.records()
    assert [r["environment"] for r in records] == list(script.ORDER)
    for record in records:
        assert record["exit_code"] == 0 and record["result"]["failed"] == 0, record
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "environments.py"), "table", "--check",
                             str(ROOT / "docs" / "environments.md")], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_tensorflow_that_does_not_import_is_reported_with_the_other_fixes(monkeypatch):
    def broken():
        raise ImportError(
            "cae_lib needs TensorFlow >= 2.16.1 ... (libcudart.so.12: cannot open shared object file)"
        )

    monkeypatch.setattr(environment, "requirements", lambda: {"numpy": ">=99.0"})
    monkeypatch.setattr(environment, "gpu_description", broken)
    with pytest.raises(environment.EnvironmentProblem) as raised:
        environment.report()
    lines = str(raised.value).splitlines()
    assert "GPU: not checked" in lines[0] and "libcudart" in lines[1]
    assert '%pip install -q "numpy>=99.0"' in str(raised.value)  # often why TensorFlow fails to import


def test_a_version_written_two_ways_is_not_a_stale_import(monkeypatch):
    """``tf.__version__`` may say 2.20.0-dev1 where the metadata says 2.20.0.dev1: the same release."""
    installed = environment.installed_version("pillow")
    monkeypatch.setitem(sys.modules, "PIL", types.SimpleNamespace(__version__=installed + ".0"))
    assert environment.problems({"pillow": ">=1"}) == []
