#!/usr/bin/env python3
"""Does a notebook train as fast as the release binary? One run, same machine, same settings:

    python notebooks/measure_throughput.py [--preset dcgan28] [--batch 64] [--steps 40]

1. `gan-lab bench` (release binary, in-memory data, warm-up excluded) for the preset and batch;
2. a notebook executed with the real evcxr kernel that starts an `Experiment` on the same preset and
   batch and trains `--steps` steps in one chunk (real data, progress lines, metrics rows).
Prints both rates and their ratio (training-step rate, and the rate over the whole cell).
"""
import argparse
import csv
import io
import os
import pathlib
import re
import subprocess
import sys
import time

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from execute import kernel_environment, name_next_kernel, shared_first_cell  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="dcgan28")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=40)
    args = p.parse_args()
    kernel_environment()
    os.environ["GAN_LAB_QUICK"] = "0"
    engine = pathlib.Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "gan-lab"
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "gan_lab", "--bin", "gan-lab"], cwd=HERE.parent, check=True)

    out = subprocess.run(
        [str(engine), "bench", "--preset", args.preset, "--batch", str(args.batch), "--format", "csv"], capture_output=True, text=True, check=True
    ).stdout
    bench = float(next(csv.DictReader(io.StringIO(out)))["images_per_s"])

    code = f"""use gan_lab::prelude::*;
let mut cfg = preset("{args.preset}")?;
cfg.train.batch_size = {args.batch};
cfg.train.log_every = 10;
cfg.train.eval_samples = 0;
let mut exp = Experiment::start(&cfg)?;
let t = std::time::Instant::now();
let chunk = exp.train_steps({args.steps})?;
println!("RESULT {{}} {{}} {{}}", chunk.images_per_s, chunk.wall_images_per_s(), t.elapsed().as_secs_f64());"""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(shared_first_cell()), nbformat.v4.new_code_cell(code)]
    name_next_kernel(HERE / "measure-throughput")
    started = time.monotonic()
    NotebookClient(nb, kernel_name="rust", timeout=3600, startup_timeout=600, resources={"metadata": {"path": str(HERE)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.get("output_type") == "stream")
    m = re.search(r"RESULT (\S+) (\S+) (\S+)", text)
    if not m:
        print(text)
        return 1
    step_rate, wall_rate, cell_s = map(float, m.groups())
    print(f"{args.preset}, batch {args.batch}, {args.steps} steps; notebook executed in {time.monotonic() - started:.0f} s")
    print(f"{'':28} {'images/s':>9} {'vs bench':>9}")
    print(f"{'gan-lab bench (release)':28} {bench:9.1f} {1.0:9.2f}")
    print(f"{'notebook, training steps':28} {step_rate:9.1f} {step_rate / bench:9.2f}")
    print(f"{'notebook, whole cell':28} {wall_rate:9.1f} {wall_rate / bench:9.2f}   ({cell_s:.1f} s incl. sample grid + checkpoint)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
