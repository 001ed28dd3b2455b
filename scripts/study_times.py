"""How long each notebook takes a careful learner, from a stated reading model; writes the stated times.

The model (docs/teaching.md, "Timings", states it for teachers):

* prose: the words of the markdown cells at ``PROSE_WPM`` words a minute,
  the pace of careful reading of technical text with formulas;
* code: every line of the code cells a learner reads and runs (answer cells
  and blank lines excepted) at ``CODE_SECONDS_PER_LINE`` seconds;
* exercises: ``EXERCISE_MINUTES`` to read each and try an answer, plus
  ``SOLUTION_MINUTES_PER_LINE`` for each line of code of its solution
  (``cae_lib/solutions``), the work a learner does;
* running: the measured full-mode wall time of the notebook
  (``benchmarks/results/notebooks.csv``, ``benchmarks/notebooks.py``).

Usage::

    python scripts/study_times.py           # the table
    python scripts/study_times.py --write   # and write the times into the notebooks, README.md, docs/teaching.md
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = ROOT / "cae_lib" / "solutions"
RUN_TIMES = ROOT / "benchmarks" / "results" / "notebooks.csv"

PROSE_WPM = 100
CODE_SECONDS_PER_LINE = 8
EXERCISE_MINUTES = 5
SOLUTION_MINUTES_PER_LINE = 0.75
TIME = re.compile(r"Time: about \d+ minutes \(\d+ of study and exercises, \d+ of running in full mode\)")


def _code_lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def estimate(path: Path, run_seconds: dict[str, float]) -> dict:
    """The parts of one notebook's time, in minutes, and the stated study and running minutes."""
    cells = json.loads(path.read_text())["cells"]
    words = sum(len("".join(c["source"]).split()) for c in cells if c["cell_type"] == "markdown")
    code = sum(
        _code_lines("".join(c["source"]))
        for c in cells
        if c["cell_type"] == "code" and not "".join(c["source"]).startswith("%%answer")
    )
    exercises = sorted(SOLUTIONS.glob(f"{path.stem}_ex*.py"))
    solution_lines = sum(_code_lines(p.read_text()) for p in exercises)
    parts = {
        "prose": words / PROSE_WPM,
        "code": code * CODE_SECONDS_PER_LINE / 60,
        "exercises": len(exercises) * EXERCISE_MINUTES + solution_lines * SOLUTION_MINUTES_PER_LINE,
    }
    if path.name not in run_seconds:
        raise SystemExit(
            f"{RUN_TIMES}: no full-mode run of {path.name}; run benchmarks/notebooks.py --modes full"
        )
    # rounded up to 5 minutes: an estimate, not a measurement
    study = int(5 * math.ceil(sum(parts.values()) / 5))
    running = max(1, round(run_seconds[path.name] / 60))
    return {"notebook": path.name, "words": words, "code_lines": code, "exercise_count": len(exercises),
            "solution_lines": solution_lines, **parts, "study": study, "running": running}  # fmt: skip


def full_mode_seconds(path: Path = RUN_TIMES) -> dict[str, float]:
    with open(path, newline="") as f:
        return {
            r["notebook"]: float(r["wall_s"])
            for r in csv.DictReader(f)
            if r["mode"] == "full" and r["ok"] == "True"
        }


def write(rows: list[dict]) -> None:
    """Write each notebook's time into its intro, the README's table and docs/teaching.md."""
    readme, teaching = (ROOT / "README.md").read_text(), (ROOT / "docs" / "teaching.md").read_text()
    for row in rows:
        total = row["study"] + row["running"]
        path = ROOT / "notebooks" / row["notebook"]
        text = path.read_text()
        stated = f"Time: about {total} minutes ({row['study']} of study and exercises, {row['running']} of running in full mode)"
        text, found = TIME.subn(stated, text, count=1)
        assert found, f"{path.name}: no Time line"
        path.write_text(text)
        number = row["notebook"][:2]
        readme = re.sub(rf"^(\| {number} \| .*\| )\d+ min \|$", rf"\g<1>{total} min |", readme, flags=re.M)
        teaching = re.sub(rf"^(### {number} · .* )\(\d+ min: \d+ study, \d+ running\)$",
                          rf"\g<1>({total} min: {row['study']} study, {row['running']} running)", teaching, flags=re.M)  # fmt: skip
        teaching = re.sub(rf"^(\| {number} [a-z ]+ \| )\d+ min \| \d+ \| \d+ \|",
                          rf"\g<1>{total} min | {row['study']} | {row['running']} |", teaching, flags=re.M)  # fmt: skip
    study, running = sum(r["study"] for r in rows), sum(r["running"] for r in rows)
    hours, minutes = divmod(study, 60)
    teaching = re.sub(r"\(\d+ h \d+ min of study and exercises,\s+\d+ min of running in full mode\)",
                      f"({hours} h {minutes} min of study and exercises, {running} min of running in full mode)", teaching)  # fmt: skip
    total_hours = round((study + running) / 60)
    teaching = re.sub(r"about \d+ hours in all", f"about {total_hours} hours in all", teaching)
    (ROOT / "README.md").write_text(readme)
    (ROOT / "docs" / "teaching.md").write_text(teaching)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--write", action="store_true", help="write the times into the notebooks and the docs"
    )
    args = parser.parse_args(argv)
    runs = full_mode_seconds()
    rows = [estimate(path, runs) for path in NOTEBOOKS]
    print(f"reading model: prose {PROSE_WPM} words/min, code {CODE_SECONDS_PER_LINE} s/line, exercise "
          f"{EXERCISE_MINUTES} min + {SOLUTION_MINUTES_PER_LINE} min per solution line; running: full-mode wall time")  # fmt: skip
    print(
        f"{'notebook':32} {'words':>6} {'prose':>6} {'code':>6} {'exerc.':>7} {'study':>6} {'run':>4} {'total':>6}"
    )
    for r in rows:
        print(f"{r['notebook']:32} {r['words']:6} {r['prose']:6.0f} {r['code']:6.0f} {r['exercises']:7.0f} "
              f"{r['study']:6} {r['running']:4} {r['study'] + r['running']:6}")  # fmt: skip
    if args.write:
        write(rows)
    return rows


if __name__ == "__main__":
    sys.exit(main() and 0)
