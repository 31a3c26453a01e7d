#!/usr/bin/env python
"""Benchmark the GME cost, forward + backward: gpelib dense and chunked vs a plain ``torch.cdist`` baseline and the
broadcast form most published GME code uses (``(x[:, None] − x[None]).pow(2).sum(-1)``, O(B²·D) memory).

    python reproduce/bench_gme.py                       # B ∈ {128, 512, 2048, 8192}, D = 3072, d = 100
    python reproduce/bench_gme.py --sizes 128 512 --device cuda

Times are medians over ``--repeats`` runs in this process (with the spread: min and max), printed as ratios to the
plain implementation measured in the same process; the implementations are interleaved repeat by repeat, so load on
the machine hits all of them alike. Peak memory: on CUDA ``torch.cuda.max_memory_allocated``; on CPU the growth of
the peak resident set of a fresh child process per case (so one case cannot hide another's peak). The broadcast
baseline is skipped and recorded as "out of memory" where its ``B²·D`` difference tensor would not fit in half the
memory available (``--mem-gib``). Results also go to ``--csv`` (tidy: impl, B, seconds, seconds_min, seconds_max,
ratio_to_plain, peak_mib, note).

The chunked path accumulates its gradients during the forward pass (``losses._ChunkedGME``); issue 14's targets:
chunked ≤ 1.2× dense at B ≥ 2048 and ≤ 512 MiB peak growth at B = 8192, D = 3072 on CPU.
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


def broadcast_gme(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Baseline: pairwise differences by broadcasting, ``(B, B, D)`` in memory."""
    b = x.shape[0]
    cx = torch.log1p((x[:, None] - x[None]).pow(2).sum(-1))
    cy = torch.log1p((z[:, None] - z[None]).pow(2).sum(-1))
    off = ~torch.eye(b, dtype=torch.bool, device=z.device)
    return (cy - cx).square()[off].mean()


IMPLS = ("plain", "broadcast", "dense", "chunked")


def broadcast_fits(b: int, dim: int, mem_gib: float) -> bool:
    """Whether the broadcast baseline's (B, B, D) float32 tensor (plus its square, held at once) fits in half the
    memory budget."""
    return 2 * b * b * dim * 4 <= 0.5 * mem_gib * 2**30


def make_fn(impl: str, chunk: int):
    if impl == "plain":
        return plain_gme
    if impl == "broadcast":
        return broadcast_gme
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


def time_cases(impls: list[str], b: int, args) -> dict[str, list[float]]:
    """Seconds per forward+backward for each implementation, interleaved: repeat r runs every impl once."""
    x, z = inputs(b, args.dim, args.latent, args.device)
    fns = {i: make_fn(i, args.chunk) for i in impls}
    times: dict[str, list[float]] = {i: [] for i in impls}
    for r in range(args.repeats + 1):
        for impl, fn in list(fns.items()):
            z.grad = None
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            try:
                fn(x, z).backward()
            except torch.cuda.OutOfMemoryError:  # recorded as "out of memory" (GPU); the others go on
                del fns[impl], times[impl]
                torch.cuda.empty_cache()
                continue
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            if r > 0:  # the first round warms up
                times[impl].append(time.perf_counter() - t0)
    return times


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


def _mem_gib() -> float:
    """Available memory: the GPU's total on CUDA, else MemAvailable from /proc/meminfo (16 GiB if unreadable)."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_properties(0).total_memory / 2**30
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 16.0


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
    ap.add_argument("--mem-gib", type=float, default=_mem_gib(), help="memory budget for the broadcast baseline")
    args = ap.parse_args()

    print(f"GME cost forward+backward, D={args.dim}, d={args.latent}, chunk={args.chunk}, device={args.device}, "
          f"threads={torch.get_num_threads()}, torch {torch.__version__}")
    # agreement first: the three implementations must give the same value
    xs, zs = inputs(64, 32, 4, "cpu")
    vals = {i: make_fn(i, 16)(xs.double(), zs.double()).item() for i in IMPLS}
    assert max(vals.values()) - min(vals.values()) < 1e-9 * max(vals.values()), vals
    print(f"{'B':>6} {'impl':>9} {'median s':>10} {'[min, max]':>20} {'ratio':>7} {'peak MiB':>10}")
    rows = []
    for b in args.sizes:
        impls = [i for i in IMPLS if i != "broadcast" or broadcast_fits(b, args.dim, args.mem_gib)]
        times = time_cases(impls, b, args)
        t_plain = statistics.median(times["plain"]) if "plain" in times else float("nan")
        for impl in IMPLS:
            if impl not in times:
                if impl == "broadcast" and impl not in impls:
                    need = 2 * b * b * args.dim * 4 / 2**30
                    note = f"out of memory (its (B, B, D) tensors need ≈ {need:.0f} GiB)"
                else:
                    note = "out of memory (GPU)"
                rows.append({"impl": impl, "B": b, "note": note})
                print(f"{b:>6} {impl:>9}   {note}", flush=True)
                continue
            t = statistics.median(times[impl])
            mem = peak_memory_mib(impl, b, args)
            rows.append({"impl": impl, "B": b, "seconds": t, "seconds_min": min(times[impl]),
                         "seconds_max": max(times[impl]), "ratio_to_plain": t / t_plain, "peak_mib": mem, "note": ""})
            spread = f"[{min(times[impl]):.4f}, {max(times[impl]):.4f}]"
            print(f"{b:>6} {impl:>9} {t:>10.4f} {spread:>20} {t / t_plain:>7.2f} {mem:>10.1f}", flush=True)
        if "dense" in times and "chunked" in times:
            ratio = statistics.median(times["chunked"]) / statistics.median(times["dense"])
            print(f"{b:>6} chunked ÷ dense = {ratio:.2f}", flush=True)
    if args.csv:
        import pandas as pd

        pd.DataFrame(rows).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
