#!/usr/bin/env python3
"""A notebook a user writes from scratch works: the cells notebooks/README.md shows under "A
notebook of your own", run with the real evcxr kernel as a new notebook (not one of the shipped
files), in quick mode.

    python notebooks/check_new_notebook.py [--reports DIR]

Fails when the README no longer holds the cells, when a cell errors, or when the chunk report
(SVG charts, PNG sample grid) is missing. Prints the first cell's time.
"""
import argparse
import os
import pathlib
import re
import sys
import tempfile
import time
import uuid

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from execute import failures_of, first_cell_seconds, kernel_environment, name_next_kernel, outputs_of, remove_build_folders  # noqa: E402


def readme_cells():
    """The code blocks between the README's `new-notebook` markers, one cell each."""
    text = (HERE / "README.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- new-notebook -->(.*?)<!-- /new-notebook -->", text, re.S)
    if section is None:
        sys.exit("notebooks/README.md has no <!-- new-notebook --> section")
    cells = re.findall(r"```rust\n(.*?)```", section.group(1), re.S)
    if len(cells) < 2:
        sys.exit(f"the new-notebook section of notebooks/README.md holds {len(cells)} code cells, expected at least 2")
    return [c.rstrip("\n") for c in cells]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reports", type=pathlib.Path, default=pathlib.Path(tempfile.gettempdir()))
    args = p.parse_args()
    os.environ["GAN_LAB_QUICK"] = "1"
    home = kernel_environment()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Rust", "language": "rust", "name": "rust"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A notebook of your own")] + [nbformat.v4.new_code_cell(c) for c in readme_cells()]
    # A name no notebook had before, so the kernel gets a new build folder as a notebook opened for
    # the first time does (a copy of the warm-up folder); removed afterwards.
    name = f"new-notebook-{uuid.uuid4().hex[:12]}"
    name_next_kernel(HERE / f"{name}.ipynb")
    started = time.monotonic()
    try:
        NotebookClient(nb, kernel_name="rust", timeout=1800, startup_timeout=600, resources={"metadata": {"path": str(HERE)}}).execute()
    finally:
        remove_build_folders(home, name)
    seconds = time.monotonic() - started
    found = outputs_of(nb)
    args.reports.mkdir(parents=True, exist_ok=True)
    report = args.reports / "new_notebook.html"
    report.write_text(HTMLExporter(embed_images=True).from_notebook_node(nb)[0], encoding="utf-8")
    print(f"new notebook: {len(nb.cells) - 1} code cells in {seconds:.0f} s (first cell {first_cell_seconds(nb)} s): "
          f"{found['svg']} SVG, {found['png']} PNG, {found['errors']} errors -> {report}")
    failures = failures_of(nb, checks=False)
    if failures or found["svg"] == 0 or found["png"] == 0:
        sys.exit(f"the new notebook did not show its chunk report (SVG charts and a PNG grid) without errors: {failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
