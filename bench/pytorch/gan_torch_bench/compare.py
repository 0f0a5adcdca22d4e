"""gan-lab bench and the PyTorch reference, in alternation, on this machine; ratios pair by pair.

Each round measures every (preset, batch) once with `gan-lab bench` (per backend) and once with
`python -m gan_torch_bench.bench`, each in its own process with the same thread count, so slow
drifts of a shared machine hit both sides alike. The summary takes the median over rounds; the
FLOP limit is the faster of the two f32 matrix products (flex's gemm, PyTorch's BLAS) measured in
the same run.

    bench/compare.sh [--preset P ...] [--batch B ...] [--backend flex ...] [--threads 2] [--rounds 2]
"""
import argparse
import csv
import io
import statistics
import subprocess
import sys
from pathlib import Path


def run(cmd):
    """Standard output of a command (a failing command stops the comparison)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()}")
    return p.stdout


def run_csv(cmd):
    """Rows of a bench command's CSV output."""
    return list(csv.DictReader(io.StringIO(run(cmd))))


def run_number(cmd):
    """The last number a command prints."""
    return float(run(cmd).split()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gan-lab", required=True, help="the gan-lab binary")
    p.add_argument("--preset", action="append")
    p.add_argument("--batch", action="append", type=int)
    p.add_argument("--backend", action="append", help="gan_lab backends (default flex)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--sgemm", type=int, default=2048, help="matrix size for the FLOP limit")
    p.add_argument("--torch-device", default="cpu", help="PyTorch's device (cuda: compare with gan_lab's cuda backend)")
    p.add_argument("--out", type=Path, help="also write every measured row (both sides) as CSV")
    a = p.parse_args(argv)
    if a.rounds < 1 or a.threads < 1:
        p.error(f"need --rounds >= 1 and --threads >= 1, got {a.rounds} and {a.threads}")
    presets = a.preset or ["dcgan28", "mlp-gan", "dcgan-emoji32", "pytorch-dcgan64"]
    batches = a.batch or [64, 128]
    backends = a.backend or ["flex"]
    plan = ["--warmup", str(a.warmup), "--reps", str(a.reps), "--steps", str(a.steps), "--threads", str(a.threads), "--format", "csv"]
    torch_cmd = [sys.executable, "-m", "gan_torch_bench.bench", "--device", a.torch_device]
    on_cpu = a.torch_device == "cpu"

    rows = []
    for r in range(a.rounds):
        for preset in presets:
            for batch in batches:
                torch_row = None
                for backend in backends:
                    (ours,) = run_csv([a.gan_lab, "bench", "--preset", preset, "--batch", str(batch), "--backend", backend] + plan)
                    if torch_row is None:
                        (torch_row,) = run_csv(torch_cmd + ["--preset", preset, "--batch", str(batch)] + plan)
                        rows.append(dict(torch_row, round=r))
                    rows.append(dict(ours, round=r))
                    ratio = float(ours["images_per_s"]) / float(torch_row["images_per_s"])
                    print(
                        f"round {r + 1}: {preset} batch {batch} threads {a.threads}: gan_lab {backend} {float(ours['images_per_s']):.1f}"
                        f" vs PyTorch {float(torch_row['images_per_s']):.1f} images/s = {ratio:.2f}x",
                        file=sys.stderr,
                        flush=True,
                    )
    # On a GPU the limit is PyTorch's f32 product there; flex's gemm is a CPU figure.
    ceilings = {"PyTorch BLAS" if on_cpu else f"PyTorch {a.torch_device}": run_number(torch_cmd + ["--threads", str(a.threads), "--sgemm", str(a.sgemm)])}
    if on_cpu:
        ceilings["flex gemm"] = run_number([a.gan_lab, "bench", "--threads", str(a.threads), "--sgemm", str(a.sgemm)])
    limit = max(ceilings.values())

    torch_backend = "pytorch" if on_cpu else f"pytorch-{a.torch_device}"

    def values(preset, batch, backend, key):
        """One value per round, in round order."""
        return [float(x[key]) for x in rows if (x["preset"], int(x["batch"]), x["backend"]) == (preset, batch, backend)]

    def median(preset, batch, backend, key):
        return statistics.median(values(preset, batch, backend, key))

    def ratio_spread(preset, batch, backend):
        """Lowest and highest ratio of one round's pair (measured one after the other)."""
        ratios = [o / t for o, t in zip(values(preset, batch, backend, "images_per_s"), values(preset, batch, torch_backend, "images_per_s"))]
        return min(ratios), max(ratios)

    print()
    where = f"{a.threads} threads" if on_cpu else a.torch_device
    print(f"FLOP limit: {limit:.1f} GFLOP/s ({a.sgemm}^3 f32 matrix product, {where}: " + ", ".join(f"{k} {v:.1f}" for k, v in ceilings.items()) + ")")
    print(f"median of {a.rounds} rounds, each {a.reps} x {a.steps} steps after {a.warmup} warm-up steps")
    print()
    print("| preset | batch | threads | backend | gan_lab images/s | PyTorch images/s | ratio | rounds' ratios | MFLOP/image | gan_lab GFLOP/s | gan_lab % of limit | PyTorch % of limit |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for preset in presets:
        for batch in batches:
            theirs = median(preset, batch, torch_backend, "images_per_s")
            their_gflops = median(preset, batch, torch_backend, "gflop_per_s")
            for backend in backends:
                ours = median(preset, batch, backend, "images_per_s")
                gflops = median(preset, batch, backend, "gflop_per_s")
                mflop = median(preset, batch, backend, "mflop_per_image")
                lo, hi = ratio_spread(preset, batch, backend)
                print(
                    f"| {preset} | {batch} | {a.threads} | {backend} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}x | {lo:.2f}–{hi:.2f} | {mflop:.1f} |"
                    f" {gflops:.1f} | {100 * gflops / limit:.1f} % | {100 * their_gflops / limit:.1f} % |"
                )
    if a.out:
        with a.out.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
