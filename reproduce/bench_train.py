#!/usr/bin/env python
"""Seconds per training iteration of every reconstruction method, per data shape, next to the GPE paper's Table 2.

    python reproduce/bench_train.py                               # CPU (or CUDA if present), all shapes
    python reproduce/bench_train.py --shapes digits mnist --iterations 20
    python reproduce/bench_train.py --device cuda --precision bf16 --channels-last --compile

Every method of :mod:`gpelib.recipes` (the GPE encoder and decoder phases, VAE, AE, VAE+MDS, AE+MDS) trains on
synthetic data of the dataset's shape (values in [−1, 1]; the speed of a step does not depend on the pixels) with the
paper's batch of 100 and the trainers of the notebooks, so the number measured is the one notebook 05 reports. A
step's time is the median of per-iteration durations after ``--warmup`` iterations (CUDA synchronised per step).

The paper ran on a V100 and we may not: compare **ratios** — each method's s/iter ÷ the VAE's, measured in the same
process on the same device — with the paper's ratios. Results also go to ``--csv`` (tidy).

Efficiency is a ratio too: each step's FLOPs (forward + backward, counted with ``torch.utils.flop_counter`` as the
difference between a two-step and a one-step run of the same trainer, so evaluations and set-up cancel) divided by
its time give the achieved GFLOP/s, printed beside the GFLOP/s of a plain square matmul measured in the same process
in the same precision (``efficiency`` = achieved ÷ matmul).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gpelib.papers import gpe_dataset, paper_values  # noqa: E402
from gpelib.profiles import DIGITS, stage_settings  # noqa: E402
from gpelib.recipes import METHODS, train_method  # noqa: E402
from gpelib.tables import timing_table  # noqa: E402
from gpelib.train import TrainConfig, resolve_device  # noqa: E402

#: name → (shape, latent size, the paper's Table 2 dataset or None); latent sizes from gpelib/paper_values.csv (the
#: digits stand-in: the quick profile's, gpelib.profiles.DIGITS)
SHAPES: dict[str, tuple[tuple[int, ...], int, str | None]] = {
    "digits": ((1, 8, 8), int(DIGITS["latent"]), None),
    "mnist": ((1, 28, 28), gpe_dataset("MNIST").latent_dim, "MNIST"),
    "cifar10": ((3, 32, 32), gpe_dataset("CIFAR10").latent_dim, "CIFAR10"),
    "celeba": ((3, 64, 64), gpe_dataset("CelebA").latent_dim, "CelebA"),
}


def synthetic(shape: tuple[int, ...], n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *shape, generator=g).mul_(2).sub_(1)


def step_flops(method: str, x: torch.Tensor, latent: int, cfg: TrainConfig, width: int) -> dict[str, float]:
    """FLOPs of one training step per phase of ``method`` (``{"encoder": …, "decoder": …}`` for GPE, ``{"joint":
    …}`` otherwise): a two-step run minus a one-step run of the same trainer, without evaluation or compilation."""
    from torch.utils.flop_counter import FlopCounterMode

    base = dataclasses.replace(cfg, iterations=1, compile=False, eval_every=10**9)

    def count(enc_steps: int, steps: int) -> int:
        enc = dataclasses.replace(base, iterations=enc_steps)
        with FlopCounterMode(display=False) as fc:
            train_method(method, x, latent_dim=latent, config=dataclasses.replace(base, iterations=steps),
                         encoder_config=enc, width=width)
        return fc.get_total_flops()

    one = count(1, 1)
    if method == "gpe":
        return {"encoder": float(count(2, 1) - one), "decoder": float(count(1, 2) - one)}
    return {"joint": float(count(1, 2) - one)}


def matmul_gflops(device: str, precision: str, repeats: int = 10) -> float:
    """GFLOP/s of an ``n × n`` matmul (n = 1024 on CPU, 8192 on CUDA) in this process: the machine's practical
    peak for dense work, the denominator of ``efficiency``."""
    n = 8192 if device.startswith("cuda") else 1024
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for r in range(repeats + 2):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if r >= 2:
            times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def bench_shape(name: str, args: argparse.Namespace) -> pd.DataFrame:
    """:func:`gpelib.tables.timing_table` of every method on synthetic data of this shape (ratio to the VAE), with
    each step's GFLOP (forward + backward) and achieved GFLOP/s."""
    shape, latent, paper = SHAPES[name]
    n = max(4 * args.batch, 400)
    x, xv = synthetic(shape, n), synthetic(shape, args.batch, seed=1)
    ref = stage_settings("paper", "joint")  # the paper profile's optimiser (speed does not depend on it)
    cfg = TrainConfig(iterations=args.warmup + args.iterations, batch_size=args.batch, lr=ref["lr"],
                      betas=ref["betas"], seed=0,
                      device=args.device, eval_every=10**9, progress=False, precision=args.precision,
                      channels_last=args.channels_last, compile=args.compile, val_batch_size=args.batch)
    runs, flops = {}, {}
    for method in METHODS:
        t0 = time.perf_counter()
        runs[method] = train_method(method, x, latent_dim=latent, config=cfg, val_data=xv, width=args.width)
        print(f"  {name:8s} {runs[method].label:8s} done in {time.perf_counter() - t0:6.1f} s", file=sys.stderr)
        if not args.no_flops:
            for phase, f in step_flops(method, x, latent, cfg, args.width).items():
                flops[(method, phase)] = f
    table = timing_table(runs, reference="vae", skip=args.warmup).rename(columns={"ratio": "ratio_to_vae"})
    keys = [(m, ph) for m in METHODS for ph in (("encoder", "decoder") if m == "gpe" else ("joint",))]
    assert list(table.phase) == [ph for _, ph in keys], table  # timing_table lists runs in METHODS order
    table["gflop_per_step"] = [flops.get(k, math.nan) / 1e9 for k in keys]
    table["achieved_gflops"] = table.gflop_per_step / table.s_per_iter
    return table.assign(shape=name, paper_dataset=paper)[["shape", "paper_dataset", "method", "s_per_iter",
                                                           "ratio_to_vae", "gflop_per_step", "achieved_gflops"]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: CUDA if available)")
    p.add_argument("--iterations", type=int, default=30, help="timed iterations per method")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch", type=int, default=100, help="the paper's batch size")
    p.add_argument("--width", type=int, default=32, help="channel width of the convolutional stacks")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", nargs="?", const=True, default=False, metavar="MODE",
                   help="torch.compile the networks; MODE e.g. reduce-overhead (CUDA graphs), max-autotune")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--csv", default=None, help="write the tidy table here")
    p.add_argument("--no-flops", action="store_true", help="skip the FLOP count (and the efficiency column)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    args.device = str(device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device {device} ({gpu}); batch {args.batch}; {args.iterations} timed iterations after {args.warmup}; "
          f"precision {args.precision}; channels_last {args.channels_last}; compile {args.compile}")

    df = pd.concat([bench_shape(name, args) for name in args.shapes], ignore_index=True)
    peak = matmul_gflops(args.device, args.precision)
    df["matmul_gflops"] = peak
    df["efficiency"] = df.achieved_gflops / peak
    print(f"matmul {peak:.1f} GFLOP/s ({args.precision}) in this process; efficiency = achieved ÷ matmul")
    pv = paper_values()
    t2 = pv[(pv.table == "Table 2") & (pv.quantity == "seconds_per_iteration")]
    paper = t2.set_index(["dataset", "method"])["value"]
    df["paper_s_per_iter"] = [paper.get((d, m), math.nan) for d, m in zip(df.paper_dataset, df.method)]
    df["paper_ratio_to_vae"] = df.paper_s_per_iter / [paper.get((d, "VAE"), math.nan) for d in df.paper_dataset]
    df.insert(0, "device", gpu)
    df.insert(1, "torch", torch.__version__)
    compiled = "" if not args.compile else "-compile" if args.compile is True else f"-compile-{args.compile}"
    df.insert(2, "variant", f"{args.precision}{'-channels_last' if args.channels_last else ''}{compiled}")
    with pd.option_context("display.width", 160, "display.max_rows", 200, "display.float_format", "{:.4g}".format):
        print(df.drop(columns=["device", "torch", "variant"]).to_string(index=False))
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
