#!/usr/bin/env python3
"""execute.py fails a notebook whose checks fail, with the real evcxr kernel: evcxr marks only
compile errors as errors, while a panic (a failed `assert!`) or an error returned by `?` is printed
on stderr and the cell counts as run. Four tiny notebooks, no gan_lab needed:

    python notebooks/check_failures.py

  a failed assert!          must fail, naming the assertion's message (or, when evcxr delivers
                            that after the cell ended, the missing `checks passed`)
  `?` in the checks cell    must fail: the cell stops before `println!("checks passed")`
  stderr and checks passed  must pass (gan_lab prints its progress on stderr)
  a compile error           must fail
"""
import os
import pathlib
import shutil
import sys
import tempfile

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from execute import failures_of, kernel_environment  # noqa: E402

CASES = [
    ("a failed assert!", ["let a = 1;", 'assert!(a == 2, "a is {}, not 2", a);\nprintln!("checks passed");'], ("a is 1, not 2", "did not reach")),
    ("`?` in the checks cell", ["let a = 1;", 'let r: Result<u32, String> = Err("no such run".into());\nlet b = r?;\nprintln!("checks passed");'], ("did not reach",)),
    ("stderr and checks passed", ["let a = 1;", 'eprintln!("run 20261202-dcgan28 on flex");\nassert_eq!(a, 1);\nprintln!("checks passed");'], None),
    ("a compile error", ["let a = 1;", 'let b: u32 = "two";\nprintln!("checks passed");'], ("mismatched types",)),
]


def main():
    home = kernel_environment()
    (home / "evcxr").mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="check-failures-", dir=home / "evcxr")
    os.environ["EVCXR_TMPDIR"] = folder  # a folder of its own: these cells need no dependency
    bad = 0
    try:
        for name, cells, expected in CASES:
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
            NotebookClient(nb, kernel_name="rust", timeout=600, startup_timeout=600, allow_errors=True, resources={"metadata": {"path": str(HERE)}}).execute()
            found = failures_of(nb)
            # a panic's own text comes on stderr, which evcxr may deliver after the cell ended
            ok = (not found) if expected is None else any(e in f for e in expected for f in found)
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {found or 'no failure'}", flush=True)
            bad += not ok
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
