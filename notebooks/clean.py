#!/usr/bin/env python3
"""Keep committed notebooks clean: no outputs, no execution counts, no per-machine metadata; an H1
title first and checks that end by printing `checks passed`.

    python3 notebooks/clean.py            # strip every notebooks/NN_*.ipynb in place
    python3 notebooks/clean.py --check    # exit 1 and name the notebooks that are not clean

Only the standard library: it runs before anything else is installed.
"""
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
# What every notebook's last cell prints when its checks held (execute.py reads it from here).
CHECKS_PASSED = "checks passed"
LAST_LINE = f'println!("{CHECKS_PASSED}");'
KEEP_METADATA = {"gan_lab", "kernelspec", "language_info"}


def cleaned(doc):
    doc = json.loads(json.dumps(doc))
    doc["metadata"] = {k: v for k, v in doc.get("metadata", {}).items() if k in KEEP_METADATA}
    for cell in doc.get("cells", []):
        cell["metadata"] = {}
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return doc


def problems(doc):
    found = []
    for i, cell in enumerate(doc.get("cells", [])):
        if cell.get("outputs"):
            found.append(f"cell {i} has outputs")
        if cell.get("execution_count") is not None:
            found.append(f"cell {i} has an execution count")
    extra = set(doc.get("metadata", {})) - KEEP_METADATA
    if extra:
        found.append(f"notebook metadata {sorted(extra)}")
    code = [c for c in doc.get("cells", []) if c.get("cell_type") == "code"]
    if code and not "".join(code[-1].get("source", "")).rstrip().endswith(LAST_LINE):
        found.append(f"the last code cell does not end with {LAST_LINE} (execute.py takes its absence for a failed check)")
    first = doc.get("cells", [{}])[0]
    if first.get("cell_type") != "markdown" or not "".join(first.get("source", "")).startswith("# "):
        found.append("does not open with an H1 title")
    return found


def main():
    check = "--check" in sys.argv[1:]
    bad = 0
    for path in sorted(HERE.glob("[0-9][0-9]_*.ipynb")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if check:
            for p in problems(doc):
                print(f"{path.name}: {p}")
                bad += 1
        else:
            path.write_text(json.dumps(cleaned(doc), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if check and bad:
        print("run `python3 notebooks/clean.py` to strip outputs")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
