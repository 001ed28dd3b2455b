"""Exercises: every one has a learner cell, a check and a solution file, and the notebooks pass with the solutions.

Notebooks run by nbval keep their stubs (each check prints "not answered yet"
and Run All goes on). Here each notebook runs again with every learner cell
replaced by its solution file and ``CAE_EXERCISES=strict``, so that a check
that rejects its own solution, or a solution that no longer fits the
notebook, fails the test; and once more with two of a learner's mistakes in
turn in every learner cell (functions and values that are None, then code that
raises), where every check must answer ✗ each time and Run All must reach the end.
"""

import ast
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
        magic, _ = _split_magic(notebook.cells[index].source)
        notebook.cells[index].source = magic + exercises.solution_path(exercise_id).read_text()
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


def _split_magic(source: str) -> tuple[str, str]:
    """``("%%answer exK\\n", the rest)`` of a learner cell."""
    first, _, rest = source.partition("\n")
    assert first.startswith("%%answer "), f"a learner cell starts with {first!r}, not %%answer"
    return first + "\n", rest


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_learner_cell_starts_with_its_answer_magic(path):
    cells = json.loads(path.read_text())["cells"]
    for exercise_id, index in learner_cells(path).items():
        magic, _ = _split_magic("".join(cells[index]["source"]))
        assert magic == f"%%answer {exercise_id.rsplit('_', 1)[1]}\n", f"{path.name} cell {index}: {magic!r}"


class _Slip(ast.NodeTransformer):
    """A learner's mistake in a stub: ``"raises"`` (functions raise, other cells end in an error) or ``"none"``."""

    def __init__(self, kind: str):
        self.kind = kind

    def visit_FunctionDef(self, node):
        docstring = node.body[:1] if ast.get_docstring(node) else []
        if self.kind == "raises":
            slip = ast.parse('raise KeyError("bound")').body
        else:
            slip = ast.parse("total = 0\nfor _ in range(3):\n    total += 1").body  # works, forgets `return`
        node.body = docstring + slip
        return node

    def visit_Constant(self, node):
        return ast.Constant(None) if self.kind == "none" and node.value is Ellipsis else node


def learner_slip(stub: str, kind: str) -> str:
    """The stub of a learner cell with the mistake ``kind`` (see :class:`_Slip`), its magic line kept."""
    magic, body = _split_magic(stub)
    tree = _Slip(kind).visit(ast.parse(body))
    source = ast.unparse(ast.fix_missing_locations(tree))
    defines = any(isinstance(node, ast.FunctionDef) for node in tree.body)
    if kind == "raises" and (not defines or "..." in source):
        source = "learner_typo.shape  # NameError, before any of the cell's names is defined\n" + source
    return magic + source + "\n"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_learners_mistake_gets_a_cross_and_run_all_goes_on(path, monkeypatch, mnist):
    """Each exercise meets two mistakes in one run: its learner cell forgets a ``return`` (None), its check runs;
    then the learner cell raises, its check runs again. The cells after it run in what the two left (functions
    that raise; values that are None where the raising cell stopped before its names), and Run All must reach
    the end. One run instead of one per mistake: the notebooks are the suite's longest part."""
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    monkeypatch.setenv("CAE_QUICK", "1")
    notebook = nbformat.read(path, as_version=4)
    cells = learner_cells(path)
    for index in sorted(cells.values(), reverse=True):  # from the end, so earlier indices stay put
        stub, check = notebook.cells[index].source, notebook.cells[index + 1].source
        notebook.cells[index].source = learner_slip(stub, "none")
        notebook.cells[index + 2 : index + 2] = [nbformat.v4.new_code_cell(learner_slip(stub, "raises")),
                                                 nbformat.v4.new_code_cell(check)]  # fmt: skip
    NotebookClient(  # raises CellExecutionError if any cell stops Run All
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for shift, (exercise_id, index) in enumerate(sorted(cells.items(), key=lambda item: item[1])):
        first = index + 2 * shift  # where the learner cell is once the copies before it are in
        for kind, at in (("none", first), ("raises", first + 2)):
            printed = "".join(
                output.get("text", "")
                for cell in notebook.cells[at : at + 2]
                for output in cell.get("outputs", [])
            )
            assert f"✗ Exercise {exercise_id} " in printed, f"{path.name} {exercise_id} ({kind}): {printed!r}"
            word = "raised" if kind == "raises" else "None"
            assert word in printed, f"{path.name} {exercise_id} ({kind}): {printed!r}"
