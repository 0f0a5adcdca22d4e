#!/usr/bin/env python3
"""Execute gan_lab notebooks headless with the evcxr Rust kernel and export HTML reports.

    python notebooks/execute.py [--quick] [--reports DIR] [NOTEBOOK ...]

Each notebook runs in a fresh kernel from the notebooks/ folder; any cell error fails it. The
executed copy is exported to DIR/<name>.html with every chart (SVG) and image (PNG) embedded and a
banner saying which mode made it; DIR/index.html then lists every report in DIR (report_index.py).
The committed notebooks are never written to. Exit status 1 when a notebook failed (an error, a
panic such as a failed assertion, or a last cell that did not print `checks passed`) or lacks the
outputs its metadata (`gan_lab.expects`) promises.
"""
import argparse
import datetime
import fcntl
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from clean import CHECKS_PASSED  # noqa: E402
from report_index import write_index  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def git_commit():
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def rust_libdir():
    """The toolchain's libstd folder. evcxr loads each cell as a shared library linked to libstd;
    rustc's relative rpath misses it when the build folder and the toolchain share a parent
    (e.g. both under $HOME), so the kernel is given the folder explicitly."""
    out = subprocess.run(["rustc", "--print", "target-libdir"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def kernel_environment():
    """Sets what every kernel this folder starts needs (engine build cache, libstd folder) and
    returns GAN_LAB_HOME."""
    home = pathlib.Path(os.environ.get("GAN_LAB_HOME", pathlib.Path.home() / ".cache" / "gan_lab"))
    os.environ.setdefault("CARGO_TARGET_DIR", str(home / "target"))
    libdir = rust_libdir()
    if libdir not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
        os.environ["LD_LIBRARY_PATH"] = ":".join(p for p in [libdir, os.environ.get("LD_LIBRARY_PATH", "")] if p)
    return home


def name_next_kernel(notebook):
    """Names the notebook the next kernel runs, as JupyterLab does (JPY_SESSION_NAME): the kernel
    spec's evcxr-kernel.sh then starts it in that notebook's own build folder, copied from the
    warm-up folder the first time."""
    os.environ.pop("EVCXR_TMPDIR", None)
    os.environ["JPY_SESSION_NAME"] = str(notebook)


def remove_build_folders(home, name):
    """Removes the build folder (and its lock) that evcxr-kernel.sh made for notebook `name`."""
    for path in (home / "evcxr").glob(f"{name}-*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def shared_first_cell():
    """The first code cell, the same in every notebook (`:opt`, `:cache`, `:dep gan_lab`)."""
    source = next(HERE.glob("[0-9][0-9]_*.ipynb"))
    return next(c for c in nbformat.read(source, as_version=4).cells if c.cell_type == "code").source


def outputs_of(nb):
    """What the executed notebook shows: counts of PNG images, SVG charts and error outputs."""
    png = svg = errors = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors += 1
            data = out.get("data", {})
            html = data.get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            png += ("image/png" in data) + html.count("data:image/png;base64,")
            svg += ("image/svg+xml" in data) + html.count("<svg")
    return {"png": png, "svg": svg, "errors": errors}


PANIC = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at (\S+):\n(.*)$", re.M)


def stream_text(cell, name):
    """Everything a cell printed on `name` ("stdout" or "stderr")."""
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == name)


def failures_of(nb, checks=True):
    """What failed in an executed notebook, one line per problem. evcxr marks only compile errors
    as errors: a panic (a failed `assert!`) and an error returned by `?` are printed on stderr and
    the cell counts as run. So a panic is looked for by Rust's own panic line (evcxr forwards
    stderr from its own thread, so under load that text can come after the cell has ended and be
    missed), and, reliably, the last code cell must print `checks passed` on stdout as its last
    act, which a panic or a `?` error before it skips."""
    found = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    for n, cell in enumerate(code, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"code cell {n}: {out.get('ename', 'Error')}: {out.get('evalue', '')}".strip())
        for m in PANIC.finditer(stream_text(cell, "stderr")):
            found.append(f"code cell {n} panicked: {m.group(2).strip()} ({m.group(1)})")
    if checks and code and not found and CHECKS_PASSED not in stream_text(code[-1], "stdout"):
        tail = stream_text(code[-1], "stderr").strip().splitlines()[-1:]
        found.append(f"code cell {len(code)} (the checks) did not reach `println!(\"{CHECKS_PASSED}\")`" + "".join(f": {t}" for t in tail))
    return found


def first_cell_seconds(nb):
    """Seconds the first code cell (`:dep gan_lab`) took, from nbclient's timing metadata."""
    import dateutil.parser

    for cell in nb.cells:
        if cell.cell_type == "code":
            t = cell.metadata.get("execution", {})
            if "iopub.execute_input" in t and "shell.execute_reply" in t:
                start, end = (dateutil.parser.isoparse(t[k]) for k in ("iopub.execute_input", "shell.execute_reply"))
                return round((end - start).total_seconds(), 1)
            return None
    return None


def banner(mode, seconds, status):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"> **gan_lab report** — executed headless in **{mode} mode** "
        f"({'GAN_LAB_QUICK=1: smoke-test sizes' if mode == 'quick' else 'full-size runs'}) on {stamp}, "
        f"commit `{git_commit()}`, {seconds:.0f} s, {status}."
    )
    return nbformat.v4.new_markdown_cell(text)


def warm_up(home):
    """Builds the kernel side of gan_lab (the first code cell every notebook shares) in the warm-up
    folder, which evcxr-kernel.sh copies for every notebook opened for the first time; evcxr's
    `:cache` keeps the compiled dependencies too. Holds the folder's lock exclusively meanwhile,
    so no kernel copies it half-built."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(shared_first_cell()), nbformat.v4.new_code_cell("use gan_lab::prelude::*;\nmode_name()")]
    folder = home / "evcxr" / "warm-up"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["EVCXR_TMPDIR"] = str(folder)
    started = time.monotonic()
    with open(home / "evcxr" / "warm-up.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        NotebookClient(nb, kernel_name="rust", timeout=3600, startup_timeout=600, resources={"metadata": {"path": str(HERE)}}).execute()
    print(f"   kernel side of gan_lab built (or found) in {time.monotonic() - started:.0f} s", flush=True)


def run_one(path, args):
    nb = nbformat.read(path, as_version=4)
    name_next_kernel(path)
    client = NotebookClient(
        nb,
        kernel_name="rust",
        timeout=args.cell_timeout,
        startup_timeout=600,
        resources={"metadata": {"path": str(HERE)}},
    )
    started = time.monotonic()
    error = None
    try:
        client.execute()
    except CellExecutionError as e:
        error = f"{e.ename}: {e.evalue}".strip()[:500] or "cell error"
    except Exception as e:  # kernel died, timeout
        error = f"{type(e).__name__}: {e}"
    seconds = time.monotonic() - started
    found = outputs_of(nb)
    found["first_cell_s"] = first_cell_seconds(nb)
    expects = nb.metadata.get("gan_lab", {}).get("expects", [])
    missing = [kind for kind in expects if found.get(kind, 0) == 0]
    failures = failures_of(nb)
    if error is None and failures:
        error = "; ".join(failures)
    if error is None and missing:
        error = "no " + " and no ".join(missing) + " output"
    status = "ok" if error is None else f"FAILED: {error}"
    nb.cells.insert(0, banner(args.mode, seconds, status))
    html, _ = HTMLExporter(embed_images=True).from_notebook_node(nb)
    out = args.reports / f"{path.stem}.html"
    out.write_text(html, encoding="utf-8")
    return {"notebook": path.name, "seconds": round(seconds, 1), "status": status, "report": str(out), **found}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="*", type=pathlib.Path)
    p.add_argument("--quick", action="store_true", help="set GAN_LAB_QUICK=1 (smoke-test sizes)")
    p.add_argument("--reports", type=pathlib.Path, default=ROOT / "reports")
    p.add_argument("--cell-timeout", type=int, default=3 * 3600, help="seconds one cell may take")
    p.add_argument("--warm-up", action="store_true", help="only build the kernel side of gan_lab (the folder new notebooks start from)")
    args = p.parse_args()
    args.mode = "quick" if args.quick else "full"
    os.environ["GAN_LAB_QUICK"] = "1" if args.quick else "0"
    home = kernel_environment()
    if args.warm_up:
        warm_up(home)
        return 0
    args.reports.mkdir(parents=True, exist_ok=True)
    notebooks = args.notebooks or sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    results = []
    for path in notebooks:
        print(f"executing {path.name} ({args.mode} mode) ...", flush=True)
        r = run_one(path.resolve(), args)
        results.append(r)
        print(f"  {r['status']} in {r['seconds']:.0f} s (first cell {r['first_cell_s']} s): {r['png']} PNG, {r['svg']} SVG -> {r['report']}", flush=True)
    (args.reports / "summary.json").write_text(json.dumps({"mode": args.mode, "results": results}, indent=2) + "\n")
    listed = write_index(args.reports)
    print(f"index of {len(listed)} reports: {args.reports / 'index.html'}")
    total = sum(r["seconds"] for r in results)
    failed = [r["notebook"] for r in results if r["status"] != "ok"]
    print(f"{len(results)} notebooks in {total:.0f} s ({args.mode} mode); {len(failed)} failed {failed if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
