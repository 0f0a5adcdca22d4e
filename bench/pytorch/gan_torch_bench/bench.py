"""PyTorch side of `bench/compare.sh`: the same measurement as `gan-lab bench`.

A step is the PyTorch DCGAN tutorial's: G(z) once; D on a real batch and on the detached fakes, one
D update; then G through the updated D on the same fakes, one G update. BCE on logits, Adam. Data:
the preset's dataset from datasets/ (gzip IDX) in memory, scaled to [-1, 1], batches drawn at random.
Warm-up steps are not timed; each repetition times `--steps` steps; the median rate is reported.

    python -m gan_torch_bench.bench --preset dcgan28 --batch 64 --threads 2 --format csv
"""
import argparse
import gzip
import os
import statistics
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .flops import step_flops_per_image
from .models import LATENT, build

DATASETS = {"dcgan28": "mnist10k", "mlp-gan": "mnist10k", "dcgan-emoji32": "noto-emoji-32", "pytorch-dcgan64": "twemoji-64"}
HEADER = "preset,batch,backend,threads,images_per_s,min_images_per_s,max_images_per_s,ms_per_step,reps,steps_per_rep,mflop_per_image,gflop_per_s"


def read_idx_images(path):
    """Images of a gzip IDX file as float32 [N, C, H, W] in [-1, 1]."""
    raw = gzip.decompress(Path(path).read_bytes())
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if pixels.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {pixels.size} bytes of pixels, dims {dims} need {int(np.prod(dims))}")
    x = pixels.reshape(dims).astype(np.float32) / 127.5 - 1.0
    x = x[:, None] if ndim == 3 else x.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(x))


def load_data(preset, datasets_dir):
    name = DATASETS[preset]
    folder = Path(datasets_dir) / name
    # images are idx3 (grey) or idx4 (colour); idx1 files are labels
    files = sorted(f for pattern in ("*-idx3-ubyte.gz", "*-idx4-ubyte.gz") for f in folder.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no *-idx3-ubyte.gz or *-idx4-ubyte.gz images in {folder} (set --datasets)")
    return read_idx_images(files[0])


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_one(preset, batch, device, warmup, reps, steps, datasets_dir, seed=0):
    """Median, min and max images/s over `reps` repetitions of `steps` training steps."""
    torch.manual_seed(seed)
    g, d, _ = build(preset)
    g, d = g.to(device).train(), d.to(device).train()
    data = load_data(preset, datasets_dir).to(device)
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    ones = torch.ones(batch, device=device)
    zeros = torch.zeros(batch, device=device)
    stats = torch.zeros(2, device=device)

    def step():
        real = data[torch.randint(0, data.shape[0], (batch,), device=device)]
        fake = g(torch.randn(batch, LATENT, device=device))
        d_opt.zero_grad(set_to_none=True)
        d_loss = F.binary_cross_entropy_with_logits(d(real), ones) + F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        g_loss = F.binary_cross_entropy_with_logits(d(fake), ones)
        g_loss.backward()
        g_opt.step()
        # accumulated on the device and read once, as gan_lab does
        stats.add_(torch.stack([d_loss.detach(), g_loss.detach()]))

    for _ in range(warmup):
        step()
    sync(device)
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        rates.append(batch * steps / (time.perf_counter() - t0))
    if not torch.isfinite(stats).all():
        raise RuntimeError(f"{preset}: non-finite losses {stats.tolist()}")
    return statistics.median(rates), min(rates), max(rates)


def sgemm_gflops(n, threads, device, reps=5):
    """Best GFLOP/s of an n x n x n float32 matrix product (the BLAS PyTorch uses)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = 0.0
    for i in range(reps + 1):
        sync(device)
        t0 = time.perf_counter()
        c = a @ b
        sync(device)
        dt = time.perf_counter() - t0
        if i > 0:
            best = max(best, 2 * n**3 / dt / 1e9)
    del c
    return best


def main(argv=None):
    here = Path(__file__).resolve()
    default_datasets = os.environ.get("GAN_LAB_DATASETS") or str(here.parents[3] / "datasets")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", action="append", help="dcgan28, mlp-gan, dcgan-emoji32 or pytorch-dcgan64 (repeatable)")
    p.add_argument("--batch", action="append", type=int, help="batch size (repeatable; default 64)")
    p.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's choice)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.add_argument("--datasets", default=default_datasets, help="folder holding mnist10k/, noto-emoji-32/ and twemoji-64/")
    p.add_argument("--sgemm", type=int, metavar="N", help="print the GFLOP/s of an N x N x N matrix product and exit")
    a = p.parse_args(argv)
    if a.threads is not None:
        if a.threads < 1:
            p.error(f"--threads must be >= 1, got {a.threads}")
        torch.set_num_threads(a.threads)
        torch.set_num_interop_threads(1)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: PyTorch sees no CUDA device")
    if a.sgemm:
        print(f"{sgemm_gflops(a.sgemm, torch.get_num_threads(), device):.1f}")
        return 0
    if min(a.warmup, a.reps - 1, a.steps - 1) < 0:
        p.error("need --warmup >= 0, --reps >= 1, --steps >= 1")
    backend = "pytorch" if device.type == "cpu" else f"pytorch-{device.type}"
    threads = torch.get_num_threads()
    rows = []
    for preset in a.preset or ["dcgan28", "mlp-gan"]:
        build(preset)  # unknown names fail before any measurement
        for batch in a.batch or [64]:
            med, lo, hi = bench_one(preset, batch, device, a.warmup, a.reps, a.steps, a.datasets)
            mflop = step_flops_per_image(preset) / 1e6
            rows.append(
                f"{preset},{batch},{backend},{threads},{med:.2f},{lo:.2f},{hi:.2f},{1000 * batch / med:.2f},{a.reps},{a.steps},{mflop:.2f},{med * mflop / 1e3:.2f}"
            )
            if a.format == "table":
                print(f"measured {preset} batch {batch} on {backend}: {med:.1f} images/s", file=sys.stderr)
    print(HEADER)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
