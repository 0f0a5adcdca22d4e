#!/usr/bin/env python3
"""Writes DIR/index.html: every notebook report in DIR with its title, first sample grid, mode,
date, commit and outcome, read from the reports themselves (the banner execute.py puts on top).

    python notebooks/report_index.py [--check] DIR

execute.py writes the index after every run, so it lists reports of earlier runs too. With
--check, exit 1 unless the index lists every report with its mode and date (what CI checks).
"""
import argparse
import html
import pathlib
import re
import sys

BANNER = re.compile(
    r"executed headless in (?P<mode>quick|full) mode .*? on (?P<date>\d{4}-\d\d-\d\d \d\d:\d\d UTC), "
    r"commit (?P<commit>\S+), (?P<seconds>\d+) s, (?P<status>ok|FAILED[^<]*?)\.?</p>",
    re.S,
)
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
# An output image (the page's style sheet embeds PNGs of its own, never in an <img>).
PNG = re.compile(r"<img[^>]*?src=\"(data:image/png;base64,[A-Za-z0-9+/=]+)\"")


def text(fragment):
    """HTML without its tags and nbconvert's ¶ anchors, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("¶", "")).strip()


def describe(report):
    """What the index shows of one report: title, mode, date, commit, seconds, status, first PNG."""
    page = report.read_text(encoding="utf-8", errors="replace")
    banner = BANNER.search(re.sub(r"</?(strong|code|em)>", "", page))
    title = H1.search(page)
    grid = PNG.search(page)
    fields = banner.groupdict() if banner else {"mode": None, "date": None, "commit": None, "seconds": None, "status": None}
    return {"report": report.name, "title": text(title.group(1)) if title else report.stem, "grid": grid.group(1) if grid else None, **fields}


def write_index(folder):
    """Writes folder/index.html and returns the rows it lists, in name order."""
    folder = pathlib.Path(folder)
    rows = [describe(p) for p in sorted(folder.glob("*.html")) if p.name != "index.html"]
    items = []
    for r in rows:
        grid = f'<img src="{r["grid"]}" alt="first sample grid" style="width:128px;image-rendering:pixelated">' if r["grid"] else "(no image)"
        status = html.escape(r["status"] or "no banner")
        colour = "#070" if r["status"] == "ok" else "#a00"
        when = f'{html.escape(r["mode"] or "?")} mode, {html.escape(r["date"] or "date unknown")}, commit {html.escape(r["commit"] or "?")}, {r["seconds"] or "?"} s'
        items.append(
            f'<tr><td>{grid}</td><td><a href="{html.escape(r["report"])}"><b>{html.escape(r["title"])}</b></a><br>'
            f'<small>{when}</small><br><span style="color:{colour}">{status}</span></td></tr>'
        )
    page = (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>gan_lab reports</title>\n"
        "<style>body{font-family:sans-serif} td{padding:6px 12px;vertical-align:top;border-bottom:1px solid #ddd}</style></head>\n"
        f"<body><h1>gan_lab reports</h1>\n<p>{len(rows)} notebook reports in this folder; each opens on its own and embeds its images.</p>\n"
        f"<table>\n{chr(10).join(items)}\n</table>\n</body></html>\n"
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=pathlib.Path)
    p.add_argument("--check", action="store_true", help="fail unless every report is listed with its mode and date")
    args = p.parse_args()
    rows = write_index(args.folder)
    print(f"{args.folder / 'index.html'}: {len(rows)} reports")
    if args.check:
        bad = [r["report"] for r in rows if not (r["mode"] and r["date"] and r["status"])]
        if not rows or bad:
            print(f"reports without a readable banner: {bad or 'no reports at all'}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
