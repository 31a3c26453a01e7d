#!/usr/bin/env python
"""Iterations to plateau of every GAN method on the packaged MNIST digits at a small image size, on this machine
(issue 28, item 4): the measurement that sets notebooks 08–09's quick settings.

    python reproduce/probe_gan_images.py --size 16 --archs mlp --cap 12000       # the fully connected family
    python reproduce/probe_gan_images.py --size 16 --archs dcgan_narrow --methods gmegan wgan_gp --seeds 0

Each method trains ``--cap`` generator iterations (its own paper's optimiser settings, batch 64, latent 16) on the
4,000 training digits resized to ``--size`` px; every ``--eval-every`` iterations its FD-classifier is measured on
``--n`` samples from fixed latents against the first ``--n`` held-out digits (features of a classifier trained on the
training digits at that size, cached in ``runs/classifiers``). The seeds of a method with a batched engine train as
one batched model (fully connected architectures only). Its *floor*: the FD-classifier of ``--n`` training digits
against the same held-out digits, over five draws — the level a perfect generator would score at that n (``level``)
and the metric's noise (``sd``).

Printed and written to ``--out`` (``history.csv``: every evaluation; ``summary.csv``: per run): the iteration at
which the FD-classifier's plateau stop rule would first have fired (:class:`gpelib.plateau.PlateauStop`: from
``--min-iteration`` on, over the last fifth its running mean moves by less than max(10 %, 2 × sd), and it has left
its start), its state at the cap, the best and final values and the seconds per iteration (training only).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gpelib.gan.batched_train import engine_for, train_gan_batched  # noqa: E402
from gpelib.gan.experiments import LABELS, ImageSpec  # noqa: E402
from gpelib.gan.train import train_gan  # noqa: E402
from gpelib.metrics import ClassifierFeatures, feature_stats, frechet_distance, gaussian_stats  # noqa: E402
from gpelib.models import eval_mode  # noqa: E402
from gpelib.plateau import PlateauStop, Watch, plateau_state  # noqa: E402
from gpelib.train_setup import TrainConfig  # noqa: E402

MLP_FAMILY = ("mlp", "mlp_deep", "mlp_wide")
TRACK_SEED = 50_000


def floor(clf, train: torch.Tensor, real, n: int, draws: int = 5) -> tuple[float, float]:
    """FD-classifier of ``n`` training digits (``draws`` seeded draws) against the held-out reference: mean, sd."""
    vals = []
    for d in range(draws):
        idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(100 + d))[:n]
        mu, sigma = gaussian_stats(clf(train[idx]))
        vals.append(frechet_distance(real.mu, real.sigma, mu, sigma))
    return float(np.mean(vals)), float(np.std(vals, ddof=1))


def tracker(clf, real, n: int):
    def track(method) -> dict[str, float]:
        y = method.sample_latent(n, generator=torch.Generator().manual_seed(TRACK_SEED))
        with torch.no_grad(), eval_mode(*method.modules().values()):
            x = method.generator_map(y).clamp(-1, 1)
        mu, sigma = gaussian_stats(clf(x))
        fd = frechet_distance(real.mu, real.sigma, mu, sigma)
        return {"fd": fd, "val_loss": fd}
    return track


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist_5k", choices=["mnist_5k", "digits"],
                    help="the packaged MNIST digits (28 px, 4,000/1,000) or scikit-learn's digits (8 px, 1,497/300)")
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--archs", nargs="+", default=["mlp"])
    ap.add_argument("--methods", nargs="+", default=list(LABELS), choices=list(LABELS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--cap", type=int, default=12000)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--min-iteration", type=int, default=2000, help="the earliest a plateau may be declared")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--latent", type=int, default=16)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("runs/probe_gan_images"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    spec = ImageSpec(args.dataset, n_val=1000 if args.dataset == "mnist_5k" else 300, options=(("size", args.size),))
    train, held_out = spec.load()
    args.n = min(args.n, len(held_out))  # scikit-learn's digits hold out 300
    clf = ClassifierFeatures.load_or_train(Path(os.environ.get("GPE_RUNS_DIR", "runs")) / "classifiers",
                                           train.images, train.labels, tag=f"{args.dataset}-{args.size}px", epochs=15,
                                           width=16, seed=0)
    real = feature_stats(clf, held_out.images[: args.n])
    level, sd = floor(clf, train.images, real, args.n)
    print(f"{args.dataset} at {args.size}px: FD-classifier floor at n={args.n}: level {level:.3g}, sd {sd:.3g} "
          f"({clf.description}); load {os.getloadavg()[0]:.2f}", flush=True)
    track = tracker(clf, real, args.n)
    stop = PlateauStop((Watch("fd", "lower", sd),), min_iteration=args.min_iteration, progress="fd")
    args.out.mkdir(parents=True, exist_ok=True)
    frames, rows = [], []
    cfg = TrainConfig(iterations=args.cap, batch_size=args.batch, eval_every=args.eval_every, progress=False)
    for arch in args.archs:
        for method in args.methods:
            t0 = time.perf_counter()
            common = dict(arch=arch, latent_dim=args.latent, val_data=held_out.images, eval_fn=track)
            if engine_for(method) is not None and arch in MLP_FAMILY and len(args.seeds) > 1:
                results = train_gan_batched(method, train.images, seeds=args.seeds, config=cfg, **common)
            else:
                results = [train_gan(method, train.images, config=replace(cfg, seed=s), **common)
                           for s in args.seeds]
            wall = time.perf_counter() - t0
            for s, res in zip(args.seeds, results):
                h = res.history.dropna(subset=["fd"])
                frames.append(h[["iteration", "fd"]].assign(size=args.size, arch=arch, method=method, seed=s))
                recs = h.to_dict("records")
                at = next((int(r["iteration"]) for j, r in enumerate(recs) if stop(recs[: j + 1])), None)
                state = plateau_state(h.iteration, h.fd, better="lower", floor=sd).state
                rows.append(dict(size=args.size, arch=arch, method=method, seed=s, plateau_at=at, state=state,
                                 fd_best=float(h.fd.min()), fd_last=float(h.fd.iloc[-1]), floor_level=level,
                                 floor_sd=sd, s_per_iteration=res.seconds / max(res.iterations, 1),
                                 wall_seconds=wall / len(results)))
                print(f"{arch:>12} {method:>16} seed {s}: plateau at {at}, state {state}, FD best "
                      f"{h.fd.min():.3g} last {h.fd.iloc[-1]:.3g} (floor {level:.3g} ± {sd:.2g}), "
                      f"{1e3 * rows[-1]['s_per_iteration']:.1f} ms/it", flush=True)
            pd.concat(frames).to_csv(args.out / f"history_{args.dataset}_{args.size}px.csv", index=False)
            pd.DataFrame(rows).to_csv(args.out / f"summary_{args.dataset}_{args.size}px.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
