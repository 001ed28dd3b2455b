"""Exercises: every one has a learner cell, a check and a solution file, and the notebooks pass with the solutions.

Notebooks run by nbval keep their stubs (each check prints "not answered yet"
and Run All goes on). Here each notebook runs again with every learner cell
replaced by its solution file and ``CAE_EXERCISES=strict``, so that a check
that rejects its own solution, or a solution that no longer fits the
notebook, fails the test.
"""

import importlib
import json
import pkgutil
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cae_lib import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TAG = re.compile(r"^answer:(\d\d_\w+_ex\d+)$")

for module in pkgutil.iter_modules(exercises.__path__):
    importlib.import_module(f"cae_lib.exercises.{module.name}")


def learner_cells(path: Path):
    """``{exercise id: cell index}`` of the cells tagged ``answer:<id>``."""
    cells = json.loads(path.read_text())["cells"]
    found = {}
    for index, cell in enumerate(cells):
        for tag in cell.get("metadata", {}).get("tags", []):
            match = TAG.match(tag)
            if match:
                assert cell["cell_type"] == "code", (
                    f"{path.name} cell {index}: {tag} on a {cell['cell_type']} cell"
                )
                assert match.group(1) not in found, f"{path.name}: {match.group(1)} tagged twice"
                found[match.group(1)] = index
    return found


def test_every_exercise_has_a_learner_cell_a_check_and_one_solution_file():
    tagged = {}
    for path in NOTEBOOKS:
        cells = learner_cells(path)
        assert cells, f"{path.name} has no exercise for the learner"
        for exercise_id, index in cells.items():
            assert exercise_id.startswith(path.name[:2]), f"{exercise_id} is tagged in {path.name}"
            source = "".join(json.loads(path.read_text())["cells"][index + 1]["source"])
            assert "check." in source, f"{path.name}: the cell after {exercise_id}'s stub calls no check"
        tagged.update(cells)
    files = {p.stem for p in exercises.SOLUTIONS_DIR.glob("*.py")}
    assert files == set(tagged), f"solution files without a learner cell: {sorted(files - set(tagged))}; " \
                                 f"learner cells without a solution file: {sorted(set(tagged) - files)}"  # fmt: skip
    assert set(tagged) <= set(exercises.CHECKS), (
        f"no check registered for {sorted(set(tagged) - set(exercises.CHECKS))}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_solution_runs_inside_the_notebook(path):
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        source = "".join(cell["source"])
        assert "solution" not in cell.get("metadata", {}).get("tags", []), f"{path.name} cell {index}"
        if cell["cell_type"] == "code":
            assert not re.match(r"\s*#\s*solution", source, re.I), f"{path.name} cell {index} runs a solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_passes_every_check_with_the_solutions_filled_in(path, monkeypatch, mnist):
    monkeypatch.setenv(exercises.STRICT_ENV, "strict")
    monkeypatch.setenv("CAE_QUICK", "1")
    notebook = nbformat.read(path, as_version=4)
    cells = learner_cells(path)
    for exercise_id, index in cells.items():
        notebook.cells[index].source = exercises.solution_path(exercise_id).read_text()
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    for exercise_id in cells:
        assert f"✓ Exercise {exercise_id} " in printed, (
            f"{path.name}: the check of {exercise_id} did not pass"
        )
