#!/usr/bin/env python3
"""Does a notebook train as fast as the release binary? Same machine, same settings, alternating:

    python notebooks/measure_throughput.py [--preset dcgan28] [--batch 64] [--steps 100] [--rounds 3]

One notebook, executed with the real evcxr kernel, starts an `Experiment` on the preset and batch
and trains one step (the time from `Experiment::start` to the first trained step); then, in each
round, `gan-lab bench` (release binary, in-memory data, warm-up excluded) runs for the preset and
batch, and the notebook trains `--steps` more steps in one chunk (real data, progress lines, metrics
rows). Prints each round's rates and their ratio (training-step rate, and the rate over the whole
cell, sample grid and checkpoint included), and the medians.
"""
import argparse
import csv
import io
import os
import pathlib
import re
import statistics
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from execute import kernel_environment, name_next_kernel, shared_first_cell, stream_text  # noqa: E402


def run_cell(client, nb, source, tag):
    """Appends a code cell, executes it and returns the numbers it printed after `tag`."""
    nb.cells.append(nbformat.v4.new_code_cell(source))
    client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    text = stream_text(nb.cells[-1], "stdout")
    m = re.search(rf"{tag} (.*)", text)
    if not m:
        sys.exit(f"the cell printed no {tag} line:\n{text}{stream_text(nb.cells[-1], 'stderr')}")
    return [float(v) for v in m.group(1).split()]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="dcgan28")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    kernel_environment()
    os.environ["GAN_LAB_QUICK"] = "0"
    engine = pathlib.Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "gan-lab"
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "gan_lab", "--bin", "gan-lab"], cwd=HERE.parent, check=True)

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(shared_first_cell())]
    name_next_kernel(HERE / "measure-throughput")
    client = NotebookClient(nb, kernel_name="rust", timeout=3600, startup_timeout=600, resources={"metadata": {"path": str(HERE)}})
    rows = []
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        start_s, first_step_s, first_cell_s = run_cell(client, nb, f"""use gan_lab::prelude::*;
let mut cfg = preset("{args.preset}")?;
cfg.train.batch_size = {args.batch};
cfg.train.log_every = 10;
cfg.train.eval_samples = 0;
let t = std::time::Instant::now();
let mut exp = Experiment::start(&cfg)?;
let started = t.elapsed().as_secs_f64();
let first = exp.train_steps(1)?;
println!("START {{}} {{}} {{}}", started, first.train_seconds, t.elapsed().as_secs_f64());""", "START")
        for _ in range(args.rounds):
            out = subprocess.run(
                [str(engine), "bench", "--preset", args.preset, "--batch", str(args.batch), "--format", "csv"], capture_output=True, text=True, check=True
            ).stdout
            bench = float(next(csv.DictReader(io.StringIO(out)))["images_per_s"])
            step_rate, wall_rate = run_cell(
                client, nb, f"let chunk = exp.train_steps({args.steps})?;\nprintln!(\"RESULT {{}} {{}}\", chunk.images_per_s, chunk.wall_images_per_s());", "RESULT"
            )
            rows.append((bench, step_rate, wall_rate))

    print(f"{args.preset}, batch {args.batch}, {args.rounds} rounds of gan-lab bench, then {args.steps} steps in the notebook")
    print(f"Experiment::start {start_s:.2f} s, then the first step {first_step_s:.2f} s: first trained step {start_s + first_step_s:.2f} s after start")
    print(f"(that cell took {first_cell_s:.2f} s with the chunk's sample grid and checkpoint)")
    print(f"{'round':>5} {'bench':>9} {'notebook steps':>15} {'ratio':>6} {'whole cell':>11} {'ratio':>6}")
    for i, (b, s, w) in enumerate(rows, start=1):
        print(f"{i:5} {b:9.1f} {s:15.1f} {s / b:6.2f} {w:11.1f} {w / b:6.2f}")
    med = [statistics.median(c) for c in zip(*rows)]
    ratios = [s / b for b, s, _ in rows]
    print(f"{'med.':>5} {med[0]:9.1f} {med[1]:15.1f} {med[1] / med[0]:6.2f} {med[2]:11.1f} {med[2] / med[0]:6.2f}   rounds' step ratios {min(ratios):.2f}-{max(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
