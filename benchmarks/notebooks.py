"""Wall time, CPU time and peak memory of every notebook, in quick and in full mode.

Each notebook is executed by ``jupyter nbconvert --execute`` in a fresh
kernel; the kernel process is sampled every 0.2 s for its resident memory
(RSS, the peak is reported) and its CPU time. Targets (Binder gives a session
at most 2 GB and about one CPU-hour):

* quick mode, all notebooks together: under 10 minutes;
* full mode: every notebook's peak RSS under 1.5 GB, and the whole course
  under 45 CPU-minutes.

Usage::

    CAE_DATA_DIR=/path/to/mnist python benchmarks/notebooks.py                 # quick and full
    python benchmarks/notebooks.py --modes quick --keep /tmp/executed           # keep executed copies
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
GB = 1024**3


def run_notebook(path: Path, *, quick: bool, out_dir: Path) -> dict:
    """Execute one notebook; return wall seconds, kernel CPU seconds, kernel peak RSS and status."""
    env = {**os.environ, "CAE_QUICK": "1" if quick else "0"}
    out = out_dir / f"{path.stem}_{'quick' if quick else 'full'}.ipynb"
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", str(path),
           "--ExecutePreprocessor.timeout=7200", "--output", str(out)]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=path.parent)
    parent = psutil.Process(proc.pid)
    peak, cpu = 0, {}
    while proc.poll() is None:
        try:
            for child in parent.children(recursive=True):
                try:
                    if "ipykernel" in " ".join(child.cmdline()):
                        peak = max(peak, child.memory_info().rss)
                        t = child.cpu_times()
                        cpu[child.pid] = t.user + t.system + t.children_user + t.children_system
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    stderr = proc.stderr.read().decode(errors="replace")
    return {
        "notebook": path.name,
        "mode": "quick" if quick else "full",
        "ok": proc.returncode == 0,
        "wall_s": time.perf_counter() - start,
        "kernel_cpu_s": sum(cpu.values()),
        "peak_rss_gb": peak / GB,
        "error": "" if proc.returncode == 0 else stderr.strip().splitlines()[-1][:200],
        "date": datetime.date.today().isoformat(),
    }


FIELDS = ("notebook", "mode", "ok", "wall_s", "kernel_cpu_s", "peak_rss_gb", "error", "date")


def merge_with_saved(rows: list[dict], path: Path) -> list[dict]:
    """New rows replace saved rows of the same notebook and mode; the merged table is saved back to ``path``."""
    merged = {}
    if path.exists():
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                r.update(ok=r["ok"] == "True", wall_s=float(r["wall_s"]), kernel_cpu_s=float(r["kernel_cpu_s"]),
                         peak_rss_gb=float(r["peak_rss_gb"]))  # fmt: skip
                merged[(r["notebook"], r["mode"])] = r
    for r in rows:
        merged[(r["notebook"], r["mode"])] = r
    ordered = sorted(merged.values(), key=lambda r: (r["mode"] != "quick", r["notebook"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows({k: r[k] for k in FIELDS} for r in ordered)
    return ordered


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--modes", nargs="+", choices=["quick", "full"], default=["quick", "full"])
    parser.add_argument(
        "--notebooks", nargs="+", default=None, help="names like 04_compressing (default: all)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the executed notebooks in this folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        wanted = {name.removesuffix(".ipynb") for name in args.notebooks}
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            parser.error(f"no notebook named {', '.join(sorted(unknown))} in {ROOT / 'notebooks'}")
        paths = [p for p in paths if p.stem in wanted]
    out_dir = args.keep or Path(tempfile.mkdtemp())
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for mode in args.modes:
        for path in paths:
            row = run_notebook(path, quick=mode == "quick", out_dir=out_dir)
            rows.append(row)
            print(f"{row['notebook']:34} {mode:5} {'ok' if row['ok'] else 'FAILED'} {row['wall_s']:7.1f} s wall "
                  f"{row['kernel_cpu_s']:7.1f} s CPU  peak {row['peak_rss_gb']:.2f} GB {row['error']}", flush=True)  # fmt: skip

    rows = merge_with_saved(rows, args.out / "notebooks.csv")
    modes = [m for m in ("quick", "full") if any(r["mode"] == m for r in rows)]
    lines = [
        f"# Notebook run times ({datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPU cores)",
        "",
        "| notebook | mode | status | wall time (s) | kernel CPU (s) | kernel peak RSS (GB) | measured |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['notebook']} | {r['mode']} | {'ok' if r['ok'] else 'failed'} | {r['wall_s']:.0f} | "
                     f"{r['kernel_cpu_s']:.0f} | {r['peak_rss_gb']:.2f} | {r['date']} |")  # fmt: skip
    lines += ["", "| target | measured | verdict |", "| --- | --- | :---: |"]
    for mode in modes:
        mine = [r for r in rows if r["mode"] == mode]
        wall, cpu, peak = sum(r["wall_s"] for r in mine), sum(r["kernel_cpu_s"] for r in mine), max(r["peak_rss_gb"] for r in mine)  # fmt: skip
        failed = [r["notebook"] for r in mine if not r["ok"]]

        def verdict(ok, failed=failed):  # a notebook that failed part-way says nothing about the target
            return f"not settled: {', '.join(failed)} failed" if failed else ("met" if ok else "missed")

        if mode == "quick":
            lines.append(f"| quick mode, all notebooks under 10 min | {wall / 60:.1f} min | {verdict(wall < 600)} |")  # fmt: skip
        else:
            worst = max(mine, key=lambda r: r["peak_rss_gb"])["notebook"]
            lines.append(f"| full mode, every notebook under 1.5 GB | peak {peak:.2f} GB ({worst}) | {verdict(peak < 1.5)} |")  # fmt: skip
            lines.append(f"| full mode, whole course under 45 CPU-minutes | {cpu / 60:.1f} CPU-min ({wall / 60:.1f} min wall) | {verdict(cpu < 45 * 60)} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "notebooks.md").write_text(text)
    return rows


if __name__ == "__main__":
    main()
