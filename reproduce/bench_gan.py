#!/usr/bin/env python
"""Seconds per generator iteration of GMEGAN (three variants) and the seven baselines on the GAN notebooks' settings:
what each method's iteration costs (budgets are not set from it: every run trains to its own plateau under a common
cap, SPEC §2; :func:`gpelib.gan.experiments.equal_time_iterations` turns the table into equal-wall-clock counts).

    python reproduce/bench_gan.py                      # print the table (CPU, one thread per process)
    python reproduce/bench_gan.py --write              # and store it in gpelib/gan/step_seconds.csv
    python reproduce/bench_gan.py --settings mixture100 --rounds 3
    python reproduce/bench_gan.py --profile paper --device cuda --threads 16 --write   # before a paper-profile run

Each method runs ``--steps`` iterations from fresh networks per round, the methods interleaved in an order rotated
each round; a method's time is the median iteration; its **ratio** to GMEGAN (as printed) in the same round cancels
the machine's load. One thread per process, as the notebooks' worker pool runs its jobs (``--threads`` to change).
Printed: the median ratio over rounds and its range, and the iterations an equal wall-clock gives each method per
1,000 GMEGAN iterations.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gpelib import profiles  # noqa: E402
from gpelib.gan import experiments as gx  # noqa: E402


def settings(profile: str, data_root: str | None = None) -> dict[str, dict]:
    """name → (data loader, architectures, latent size, batch) of notebooks 07–08 under ``profile`` (loaded lazily:
    the paper profile's image data sets must be on disk only when they are measured)."""
    out = {}
    s7 = profiles.preset("07", profile)
    for spec in s7["datasets"]:
        out[f"mixture{spec.dim}"] = dict(load=lambda spec=spec: spec.load().x, archs=[s7["arch"]], latent=2,
                                         batch=s7["batch"])
    s8 = profiles.preset("08", profile, data_root=data_root)
    for spec in s8["datasets"]:
        out[spec.name] = dict(load=lambda spec=spec: spec.load()[0].images, archs=s8["archs"], latent=s8["latent"],
                              batch=s8["batch"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=profiles.PROFILES)
    ap.add_argument("--data-root", help="the paper profile's data sets (default $GPE_DATA_ROOT or ~/data)")
    ap.add_argument("--device", default="cpu")
    pre, _ = ap.parse_known_args(argv)
    known = settings(pre.profile, pre.data_root)
    ap.add_argument("--settings", nargs="+", default=list(known), choices=list(known))
    ap.add_argument("--archs", nargs="+", help="only these architectures (default: each setting's)")
    ap.add_argument("--methods", nargs="+", default=list(gx.LABELS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--write", action="store_true",
                    help=f"store the table in {gx.step_seconds_path()} (default gpelib/gan/{gx.STEP_SECONDS.name}; "
                         "$GPE_STEP_SECONDS names another file)")
    ap.add_argument("--csv", type=Path, help="also write the tidy table here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    frames, done = [], set()
    for name in args.settings:
        s = known[name]
        data = s["load"]().to(args.device)
        for arch in (a for a in s["archs"] if not args.archs or a in args.archs):
            key = gx.shape_key(arch, data.shape[1:], s["latent"], s["batch"])
            if key in done:  # e.g. Tiny ImageNet at 32 px has CIFAR10's shape: one setting, measured once
                print(f"-- {name}, {arch}: measured above ({key})", flush=True)
                continue
            done.add(key)
            print(f"-- {name}, {arch}: {len(args.methods)} methods × {args.rounds} rounds × {args.steps} steps",
                  flush=True)
            frames.append(gx.step_seconds(args.methods, data, arch=arch, latent_dim=s["latent"],
                                          batch_size=s["batch"], rounds=args.rounds, steps=args.steps))
    t = pd.concat(frames, ignore_index=True)
    dev = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    t["device"] = f"{dev}, {torch.get_num_threads()} thread(s)"
    t["torch"] = torch.__version__
    summary = t.groupby(["key", "method"], sort=False).agg(
        s_per_iter=("s_per_iter", "median"), ratio=("ratio", "median"), ratio_min=("ratio", "min"),
        ratio_max=("ratio", "max")).reset_index()
    summary["iterations_per_1000"] = [gx.equal_time_iterations([m], key=k, units=1000, table=t, multiple=10)[m]
                                      for k, m in zip(summary.key, summary.method)]
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(summary.round(4).to_string(index=False))
    if args.write:  # replace the measured settings, keep the others
        path = gx.step_seconds_path()
        old = pd.read_csv(path) if path.exists() else t.iloc[:0]
        pd.concat([old[~old.key.isin(set(t.key))], t], ignore_index=True).to_csv(path, index=False)
        print(f"-> {path}")
    if args.csv:
        t.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
