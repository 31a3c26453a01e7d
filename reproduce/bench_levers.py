#!/usr/bin/env python
"""The quick suite's speed levers, each measured against its plain baseline in the same process (issue 14).

    python reproduce/bench_levers.py                 # both levers, CPU, about two minutes on two cores
    python reproduce/bench_levers.py --iterations 400 --rounds 7 --csv levers.csv

* **fused Adam** (:func:`gpelib.train.adam`): seconds per training step of the quick profile's MLP VAE (mnist_5k
  shape, 784 → 256 → 256 → 256 → 2·30 and back, batch 100, one torch thread) with torch's fused Adam against the
  plain per-tensor Adam, in interleaved rounds (the order alternates; a round's ratio cancels the machine's load).
* **worker pool** (:func:`gpelib.parallel.map_jobs`): the wall-clock of ``2 × workers`` identical training jobs on
  ``workers`` spawned processes with one thread each (start-up and imports included) against the same jobs one after
  the other in this process (one thread): the throughput gain of running seeds and methods side by side.

Printed: the median ratio (baseline ÷ lever, > 1 = the lever is faster) and its range over rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gpelib.parallel import default_workers, map_jobs  # noqa: E402
from gpelib.recipes import init_models  # noqa: E402
from gpelib.train import adam  # noqa: E402


def vae_steps(iterations: int, fused: bool, seed: int = 0) -> float:
    """Seconds per step of ``iterations`` VAE-shaped training steps (MSE of a deterministic autoencoder of the VAE's
    layer sizes: the optimiser's share is what differs), after 20 warm-up steps."""
    torch.manual_seed(seed)
    enc, dec = init_models((1, 28, 28), 30, seed=seed, variational=True, arch="mlp", hidden=256)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = adam(params, lr=1e-3, betas=(0.5, 0.999)) if fused else \
        torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))
    x = torch.rand(100, 1, 28, 28) * 2 - 1
    t0 = 0.0
    for i in range(iterations + 20):
        if i == 20:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        mu, _ = enc.distribution(x) if hasattr(enc, "distribution") else (enc(x), None)
        (dec(mu) - x).square().mean().backward()
        opt.step()
    return (time.perf_counter() - t0) / iterations


def _job(iterations: int, seed: int) -> float:
    return vae_steps(iterations, fused=True, seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=300, help="timed steps per measurement")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=None, help="pool size (default: one per CPU core)")
    ap.add_argument("--pool-iterations", type=int, default=1500, help="steps of each pool job (≈ 15 s on one core)")
    ap.add_argument("--pool-rounds", type=int, default=1)
    ap.add_argument("--csv", type=Path, help="also write the tidy table here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for r in range(args.rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        t = {fused: vae_steps(args.iterations, fused) for fused in order}
        rows.append(dict(lever="fused Adam", round=r, baseline_s=t[False], lever_s=t[True]))
    n = args.workers or default_workers()
    jobs = [dict(iterations=args.pool_iterations, seed=i) for i in range(2 * n)]
    for r in range(args.pool_rounds):
        t0 = time.perf_counter()
        for j in jobs:
            _job(**j)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        map_jobs(_job, jobs, n_workers=n, threads_per_worker=1, desc="pool", progress=False)
        pooled = time.perf_counter() - t0
        rows.append(dict(lever=f"worker pool ({n} processes)", round=r, baseline_s=serial, lever_s=pooled))
    table = pd.DataFrame(rows)
    table["ratio"] = table.baseline_s / table.lever_s
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s) in this process")
    for lever, g in table.groupby("lever", sort=False):
        print(f"{lever:>28}: baseline {statistics.median(g.baseline_s):.4g} s, lever {statistics.median(g.lever_s):.4g}"
              f" s, ratio {statistics.median(g.ratio):.2f}× (range {g.ratio.min():.2f}–{g.ratio.max():.2f}, "
              f"{len(g)} rounds)")
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
