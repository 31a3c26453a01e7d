#!/usr/bin/env python
"""Run-iterations per second of K runs of one GAN method trained as one batched model (:mod:`gpelib.gan.batched`,
:mod:`gpelib.gan.batched_critics`) against the same K runs stepped one after the other (each single method's
``step``), in one process on one thread (issue 28, item 2).

    python reproduce/bench_gan_batched.py                         # GMEGAN, K = 1, 3, 8, 16 on the mixture shape
    python reproduce/bench_gan_batched.py --shape digits-mlp --ks 12
    python reproduce/bench_gan_batched.py --ks 3 --rounds 5 --method gmegan_released
    python reproduce/bench_gan_batched.py --ks 5 --method gan wgan wgan_gp wgan_div otm   # the batched baselines
    python reproduce/bench_gan_batched.py --ks 3 8 --end-to-end 120   # and whole runs, evaluations included

Shapes: ``mixture`` — notebook 07 (9 modes in R^100, latent R^2, batch 16, ``mlp``: 3 hidden layers of 128);
``digits-mlp`` / ``digits-mlp_deep`` — the two fully connected architectures of notebooks 08–09 (quick) on 1×28×28
images, latent 16, batch 64 (the timing does not depend on the pixel values: synthetic tensors in [−1, 1]). One
training iteration is one critic and one generator-side update per run, each run drawing its own batch (as
:func:`~gpelib.gan.batched_train.train_gan_batched` and :func:`~gpelib.gan.train.train_gan` do). Each round times
the sequential and the batched block back to back (their order alternating), ``--steps`` iterations each after a
warm-up; printed are the median run-iterations per second over rounds and the median of the per-round ratios (which
cancels slow drifts of the machine's load). ``eval ms`` is one held-out evaluation of one run (the default energy
distance on 500 points, :func:`~gpelib.gan.batched_train.held_out_energy`, the held-out term kept); ``eval share``
its part of a batched run's time at the quick profile's cadence (07: every 30 iterations; 08–09: 60 units over 20
evaluations, every 3).

The convolutional architecture of 08–09 (``dcgan_narrow``) is not measured: the batched engine stacks the MLP family
only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gpelib.data import gaussian_mixture  # noqa: E402
from gpelib.distributed import DistInfo  # noqa: E402
from gpelib.gan import build_networks, get_method  # noqa: E402
from gpelib.gan.batched import BatchedMethod, RunStream  # noqa: E402
from gpelib.gan.batched_train import engine_for, held_out_energy, train_gan_batched  # noqa: E402
from gpelib.gan.experiments import LABELS  # noqa: E402
from gpelib.gan.train import train_gan  # noqa: E402
from gpelib.train_setup import TrainConfig, seed_everything  # noqa: E402
from gpelib.training_loop import BatchFeeder  # noqa: E402

BATCHED = [m for m in LABELS if engine_for(m) is not None]


def _digits() -> torch.Tensor:
    return torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


SHAPES = {
    "mixture": dict(arch="mlp", latent=2, batch=16, eval_every=30, what="mixture 9 modes in R^100",
                    data=lambda: gaussian_mixture(1000, n_modes=9, dim=100, seed=0).x),
    "digits-mlp": dict(arch="mlp", latent=16, batch=64, eval_every=3, what="1x28x28 digits' shape", data=_digits),
    "digits-mlp_deep": dict(arch="mlp_deep", latent=16, batch=64, eval_every=3, what="1x28x28 digits' shape",
                            data=_digits),
}


def make_runs(method: str, data: torch.Tensor, k: int, shape: dict):
    """K single methods with their feeders and streams, seeded 0..K-1 as train_gan seeds them."""
    cls = get_method(method)
    methods, feeders, streams = [], [], []
    for seed in range(k):
        seed_everything(seed)
        nets = build_networks(shape["arch"], tuple(data.shape[1:]), shape["latent"], parts=cls.REQUIRES)
        m = cls(nets, latent_dim=shape["latent"])
        cpu = torch.Generator()
        cpu.set_state(torch.get_rng_state())
        methods.append(m)
        streams.append(RunStream(cpu=cpu, dev=cpu, pool=data))
        feeders.append(BatchFeeder(data, TrainConfig(batch_size=shape["batch"], seed=seed), torch.device("cpu"),
                                   DistInfo(0, 1, 0)))
    return methods, feeders, streams


def sequential_block(methods, feeders, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        for m, f in zip(methods, feeders):
            out = m.step(f.next())
            float(out["loss"])  # the loop reads every run's loss (train_gan's record_step)
    return time.perf_counter() - t0


def batched_block(engine: BatchedMethod, feeders, data: torch.Tensor, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        x = data[torch.stack([f.batches.next() for f in feeders])]
        out = engine.step(x)
        out["loss"].tolist()  # the engine reads every run's loss once per step
    return time.perf_counter() - t0


def measure(method: str, data: torch.Tensor, k: int, shape: dict, steps: int, rounds: int) -> dict[str, float]:
    methods, feeders, _ = make_runs(method, data, k, shape)
    b_methods, b_feeders, streams = make_runs(method, data, k, shape)
    engine = engine_for(method)(b_methods, streams)
    sequential_block(methods, feeders, 5)
    batched_block(engine, b_feeders, data, 5)
    seq, bat, ratio = [], [], []
    for r in range(rounds):
        if r % 2:
            tb, ts = batched_block(engine, b_feeders, data, steps), sequential_block(methods, feeders, steps)
        else:
            ts, tb = sequential_block(methods, feeders, steps), batched_block(engine, b_feeders, data, steps)
        seq.append(k * steps / ts)
        bat.append(k * steps / tb)
        ratio.append(ts / tb)
    val = data[:500]
    term = held_out_energy(b_methods[0], val, n=500, seed=0)[1]  # the engine computes it once per run
    t0 = time.perf_counter()
    engine.to_singles(optimizers=False)
    for m in b_methods:
        held_out_energy(m, val, n=500, seed=0, held_out_term=term)
    eval_per_run = (time.perf_counter() - t0) / k
    train_per_run = shape["eval_every"] / statistics.median(bat)  # one run's batched training between evaluations
    return {"K": k, "sequential it/s": statistics.median(seq), "batched it/s": statistics.median(bat),
            "ratio": statistics.median(ratio), "ratio min": min(ratio), "ratio max": max(ratio),
            "eval share": eval_per_run / (eval_per_run + train_per_run), "eval ms": 1e3 * eval_per_run}


def end_to_end(method: str, data: torch.Tensor, held_out: torch.Tensor, k: int, iterations: int) -> dict[str, float]:
    """K runs through train_gan one after the other against train_gan_batched: training, bookkeeping and held-out
    evaluations at notebook 07's quick cadence (every 30 iterations, 500 held-out points), no checkpoints."""
    cfg = TrainConfig(iterations=iterations, batch_size=16, eval_every=30, progress=False)
    t0 = time.perf_counter()
    for seed in range(k):
        train_gan(method, data, latent_dim=2, config=replace(cfg, seed=seed), val_data=held_out, n_val=500)
    ts = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_gan_batched(method, data, seeds=list(range(k)), latent_dim=2, config=cfg, val_data=held_out, n_val=500)
    tb = time.perf_counter() - t0
    return {"K": k, "sequential it/s": k * iterations / ts, "batched it/s": k * iterations / tb, "ratio": ts / tb}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 3, 8, 16])
    ap.add_argument("--method", nargs="+", default=["gmegan"], choices=BATCHED)
    ap.add_argument("--shape", default="mixture", choices=list(SHAPES))
    ap.add_argument("--steps", type=int, default=30, help="timed iterations per block")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--end-to-end", type=int, default=0, metavar="ITERATIONS",
                    help="also time whole runs of ITERATIONS iterations (train_gan × K against train_gan_batched)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    shape = SHAPES[args.shape]
    data = shape["data"]()
    load = os.getloadavg()
    print(f"{shape['what']}, batch {shape['batch']}, latent {shape['latent']}, {shape['arch']}, {args.threads} "
          f"thread(s); load average before: {load[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'method':>16} {'K':>3} {'sequential it/s':>16} {'batched it/s':>13} {'ratio':>6} {'(min–max)':>12} "
          f"{'eval ms':>8} {'eval share':>11}")
    for method in args.method:
        for k in args.ks:
            r = measure(method, data, k, shape, args.steps, args.rounds)
            print(f"{method:>16} {r['K']:>3} {r['sequential it/s']:>16.0f} {r['batched it/s']:>13.0f} "
                  f"{r['ratio']:>6.2f} {r['ratio min']:>5.2f}–{r['ratio max']:<5.2f} {r['eval ms']:>8.1f} "
                  f"{100 * r['eval share']:>10.1f}%")
    if args.end_to_end and args.shape != "mixture":
        print("(--end-to-end times the mixture shape only)")
    elif args.end_to_end:
        held_out = gaussian_mixture(1000, n_modes=9, dim=100, seed=0).sample(500, seed=30_000).x
        print(f"whole runs of {args.end_to_end} iterations, evaluated every 30 on 500 held-out points:")
        print(f"{'K':>3} {'sequential it/s':>16} {'batched it/s':>13} {'ratio':>6}")
        for k in args.ks:
            r = end_to_end(args.method[0], data, held_out, k, args.end_to_end)
            print(f"{r['K']:>3} {r['sequential it/s']:>16.0f} {r['batched it/s']:>13.0f} {r['ratio']:>6.2f}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} (it/s are run-iterations per second: K runs × iterations / seconds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
