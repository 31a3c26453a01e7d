#!/usr/bin/env python
"""Benchmark the GME cost, forward + backward: gpelib dense and chunked vs a plain ``torch.cdist`` baseline.

    python reproduce/bench_gme.py                       # B ∈ {128, 512, 2048, 8192}, D = 3072, d = 100
    python reproduce/bench_gme.py --sizes 128 512 --device cuda

Times are medians over ``--repeats`` runs in this process, printed as ratios to the plain implementation measured
in the same process. Peak memory: on CUDA ``torch.cuda.max_memory_allocated``; on CPU the growth of the peak
resident set of a fresh child process per case (so one case cannot hide another's peak). Results also go to
``--csv`` (tidy: impl, B, seconds, ratio_to_plain, peak_mib).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gpelib.losses import gme_cost  # noqa: E402


def plain_gme(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Baseline: the obvious implementation with ``torch.cdist`` (sqrt, then square) and a diagonal mask."""
    b = x.shape[0]
    cx = torch.log1p(torch.cdist(x, x).square())
    cy = torch.log1p(torch.cdist(z, z).square())
    off = ~torch.eye(b, dtype=torch.bool, device=z.device)
    return (cy - cx).square()[off].mean()


def make_fn(impl: str, chunk: int):
    if impl == "plain":
        return plain_gme
    if impl == "dense":
        return lambda x, z: gme_cost(x, z)
    if impl == "chunked":
        return lambda x, z: gme_cost(x, z, chunk_size=chunk)
    raise ValueError(impl)


def inputs(b: int, dim: int, latent: int, device: str):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(b, dim, generator=g).mul_(2).sub_(1).to(device)
    z = torch.randn(b, latent, generator=g).to(device).requires_grad_(True)
    return x, z


def run_case(impl: str, b: int, dim: int, latent: int, chunk: int, device: str) -> float:
    x, z = inputs(b, dim, latent, device)
    loss = make_fn(impl, chunk)(x, z)
    loss.backward()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return loss.item()


def time_case(impl: str, b: int, args) -> float:
    x, z = inputs(b, args.dim, args.latent, args.device)
    fn = make_fn(impl, args.chunk)
    times = []
    for r in range(args.repeats + 1):
        z.grad = None
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn(x, z).backward()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        if r > 0:  # the first run warms up
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_memory_mib(impl: str, b: int, args) -> float:
    if args.device.startswith("cuda"):
        x, z = inputs(b, args.dim, args.latent, args.device)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        make_fn(impl, args.chunk)(x, z).backward()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    cmd = [sys.executable, __file__, "--_child", impl, str(b), str(args.dim), str(args.latent), str(args.chunk)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(impl: str, b: int, dim: int, latent: int, chunk: int) -> None:
    """Peak resident-set growth of one forward+backward, measured in a fresh process. The high-water mark is reset
    through /proc/self/clear_refs (Linux ≥ 4.0), so torch's import-time peak does not mask the computation's."""
    run_case(impl, 64, 32, 4, 16, "cpu")  # warm up allocator and kernels on a tiny case
    x, z = inputs(b, dim, latent, "cpu")
    _ = (x.sum(), z.sum())
    try:
        Path("/proc/self/clear_refs").write_text("5")
        base, use_proc = _status_kib("VmRSS"), True
    except OSError:  # not Linux: fall back to ru_maxrss, which may under-report
        base, use_proc = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, False
    run_case(impl, b, dim, latent, chunk, "cpu")
    peak = _status_kib("VmHWM") if use_proc else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mib": (peak - base) / 1024}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_child":
        impl, b, dim, latent, chunk = sys.argv[2], *map(int, sys.argv[3:7])
        child(impl, b, dim, latent, chunk)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 2048, 8192])
    ap.add_argument("--dim", type=int, default=3072)
    ap.add_argument("--latent", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args()

    print(f"GME cost forward+backward, D={args.dim}, d={args.latent}, chunk={args.chunk}, device={args.device}, "
          f"threads={torch.get_num_threads()}, torch {torch.__version__}")
    # agreement first: the three implementations must give the same value
    xs, zs = inputs(64, 32, 4, "cpu")
    vals = {i: make_fn(i, 16)(xs.double(), zs.double()).item() for i in ("plain", "dense", "chunked")}
    assert max(vals.values()) - min(vals.values()) < 1e-9 * max(vals.values()), vals
    print(f"{'B':>6} {'impl':>8} {'seconds':>10} {'ratio':>7} {'peak MiB':>10}")
    rows = []
    for b in args.sizes:
        t_plain = None
        for impl in ("plain", "dense", "chunked"):
            t = time_case(impl, b, args)
            t_plain = t if impl == "plain" else t_plain
            mem = peak_memory_mib(impl, b, args)
            rows.append({"impl": impl, "B": b, "seconds": t, "ratio_to_plain": t / t_plain, "peak_mib": mem})
            print(f"{b:>6} {impl:>8} {t:>10.4f} {t / t_plain:>7.2f} {mem:>10.1f}", flush=True)
    if args.csv:
        import pandas as pd

        pd.DataFrame(rows).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
