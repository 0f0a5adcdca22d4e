#!/usr/bin/env python3
"""Interrupting a training cell loses nothing: a check with the real evcxr kernel.

    python notebooks/check_interrupt.py

Starts the `rust` kernel, starts an experiment, sends a cell that would train for hours, interrupts
the kernel after a few seconds (evcxr kills its code process), then checks that the engine finished
its step, wrote a checkpoint and exited, and that a new cell can reopen the run and train on.
"""
import os
import pathlib
import re
import sys
import tempfile
import time

from jupyter_client.manager import start_new_kernel

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from execute import kernel_environment, name_next_kernel, shared_first_cell  # noqa: E402


def run(kc, code, timeout=600):
    """Executes `code`, returns (status, text printed)."""
    msg_id = kc.execute(code)
    out = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append(content.get("evalue", ""))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    return reply["content"]["status"], "".join(out)


def main():
    kernel_environment()
    name_next_kernel(HERE / "check-interrupt")
    runs = tempfile.mkdtemp(prefix="gan_lab_interrupt_")
    os.environ["GAN_LAB_RUNS_DIR"] = runs
    km, kc = start_new_kernel(kernel_name="rust", cwd=str(HERE), startup_timeout=600)
    try:
        status, _ = run(kc, shared_first_cell())
        assert status == "ok", "the first cell failed"
        status, text = run(kc, 'use gan_lab::prelude::*;\nlet mut cfg = preset("mlp-gan")?;\ncfg.train.log_every = 20;\ncfg.train.eval_samples = 0;\nlet mut exp = Experiment::start(&cfg)?;')
        assert status == "ok", text
        run_dir = pathlib.Path(re.search(r"run (\S+) on", text).group(1))
        run_dir = pathlib.Path(runs) / run_dir.name if not run_dir.is_absolute() else run_dir
        msg_id = kc.execute("exp.train_steps(10_000_000)?")
        time.sleep(8)
        started = time.monotonic()
        km.interrupt_kernel()
        while True:  # wait for the interrupted cell to end
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        deadline = time.monotonic() + 60
        while not list((run_dir / "checkpoints").glob("step-*")) and time.monotonic() < deadline:
            time.sleep(0.5)
        checkpoints = sorted(p.name for p in (run_dir / "checkpoints").glob("step-*"))
        print(f"interrupted after 8 s; checkpoints now: {checkpoints} ({time.monotonic() - started:.1f} s after the interrupt)")
        assert checkpoints and checkpoints[-1] != "step-0000000", "no checkpoint after the interrupt"
        step = int(checkpoints[-1].split("-")[1])
        status, text = run(kc, f'use gan_lab::prelude::*;\nlet mut again = Experiment::open("{run_dir}", None)?;\nagain.train_steps(20)?;\nprintln!("STEP {{}}", again.step());')
        assert status == "ok", text
        resumed = int(re.search(r"STEP (\d+)", text).group(1))
        assert resumed == step + 20, (resumed, step)
        print(f"reopened in a new cell at step {step} and trained to {resumed}: nothing lost")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
