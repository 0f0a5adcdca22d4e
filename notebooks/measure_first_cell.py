#!/usr/bin/env python3
"""How long a notebook's first cell (`:dep gan_lab`) and its first cell with a variable take, with
the real kernel started as JupyterLab starts it, in three situations, side by side:

    python notebooks/measure_first_cell.py [--rounds N]

  first open   a notebook name never used before: its build folder is a copy of the warm-up one
  reopen       the same notebook again: its build folder persists
  empty folder a build folder with nothing in it (what every new kernel got before the copies;
               evcxr's `:cache` still holds the compiled dependencies, gan_lab itself is compiled)

Each round runs the three in that order; every folder it makes is removed afterwards. Run
`environment/install.sh` first (it builds the warm-up folder).
"""
import argparse
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
import uuid

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from execute import kernel_environment, name_next_kernel, remove_build_folders, shared_first_cell  # noqa: E402

SECOND_CELL = 'use gan_lab::prelude::*;\nlet mut cfg = preset("dcgan28")?;\ncfg.train.log_every = 5;\ncfg.name.len()'


def cell_times():
    """Seconds the first cell and the second (a `let`, evcxr's first type inference) take."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(shared_first_cell()), nbformat.v4.new_code_cell(SECOND_CELL)]
    client = NotebookClient(nb, kernel_name="rust", timeout=1800, startup_timeout=600, resources={"metadata": {"path": str(HERE)}})
    times = []
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            started = time.monotonic()
            client.execute_cell(cell, i)
            times.append(time.monotonic() - started)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    home = kernel_environment()
    evcxr = home / "evcxr"
    if not (evcxr / "warm-up" / "target").is_dir():
        sys.exit(f"no warm-up build folder in {evcxr}: run environment/install.sh first")
    results = {"first open": [], "reopen": [], "empty folder": []}
    for r in range(args.rounds):
        name = f"measure-first-cell-{uuid.uuid4().hex[:12]}"
        empty = pathlib.Path(tempfile.mkdtemp(prefix="measure-empty-", dir=evcxr))
        try:
            name_next_kernel(HERE / f"{name}.ipynb")
            results["first open"].append(cell_times())
            results["reopen"].append(cell_times())
            os.environ["EVCXR_TMPDIR"] = str(empty)
            results["empty folder"].append(cell_times())
        finally:
            shutil.rmtree(empty, ignore_errors=True)
            remove_build_folders(home, name)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f} s + {v[-1][1]:.1f} s" for k, v in results.items()), flush=True)
    print(f"\nseconds over {args.rounds} rounds, median (min–max): first cell (:dep gan_lab) | second cell (first `let`)")
    for kind, rows in results.items():
        cols = []
        for i in range(2):
            xs = [row[i] for row in rows]
            cols.append(f"{statistics.median(xs):5.1f} ({min(xs):.1f}–{max(xs):.1f})")
        print(f"  {kind:<13} {cols[0]:>18} | {cols[1]:>18}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
