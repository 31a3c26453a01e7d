"""Notebook 07's runs (GMEGAN §6.2, Figs. 4–5): every method on a Gaussian mixture, trained to its own plateau under one
common cap of generator iterations (SPEC §2 "Fair comparison"), the seeds of a method batched in one process.

* :func:`mixture_job` — one method, one or several seeds: the seeds of a method with a batched engine
  (:data:`BATCHED`) train together as one batched model (:func:`~gpelib.gan.batched_train.train_gan_batched`), every
  other method's one seed after the other (:func:`~gpelib.gan.train.train_gan`). Each run records the tracked
  scores at every evaluation (:func:`~gpelib.gan.mixture_scores.mixture_scores` on fixed latents against held-out
  points) and, with ``min_iteration`` set, stops at its plateau (:func:`~gpelib.gan.mixture_scores.mixture_stop`)
  or at the cap.
* :func:`plateau_jobs` — the job arguments for a sweep: :func:`~gpelib.gan.experiments.sweep_jobs`' runs (their
  checkpoint folders included), the seeds of each :data:`BATCHED` method grouped into one job.

A job returns a list of :class:`~gpelib.gan.experiments.SweepRun`, one per seed; its history carries ``stopped``
("plateau" or "iterations") and its metrics ``stopped_at_plateau`` (1 or 0).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..models import eval_mode
from ..plateau import PlateauStop
from ..train_setup import TrainConfig
from .batched_train import engine_for, train_gan_batched
from .experiments import _HELD_OUT_SEED, LABELS, MixtureSpec, SweepRun, _config, sweep_jobs
from .mixture_scores import HeldOutEnergy, history_floors, mixture_scores, mixture_stop
from .train import GANResult, train_gan

__all__ = ["mixture_job", "plateau_jobs", "TRACK_SEED", "SCORE_SEED", "BATCHED", "SLOWEST_FIRST"]

TRACK_SEED = 50_000
"""The seed of the fixed latents every run's scores are tracked on while it trains (the same for every run)."""
SCORE_SEED = 10_000
"""+ the run's seed: the latents of a trained run's final scores."""
BATCHED: tuple[str, ...] = tuple(m for m in LABELS if engine_for(m) is not None)
"""The methods whose seeds train as one batched model (:func:`~gpelib.gan.batched_train.engine_for`): the GMEGAN
variants, GAN, WGAN, WGAN-GP, WGAN-div and OTM; VAEGAN and VEEGAN train one seed after the other."""


SLOWEST_FIRST: tuple[str, ...] = ("otm", "wgan_div", "wgan_gp", "wgan", "gmegan", "gmegan_mean", "gmegan_released")
"""The order in which grouped jobs start (most seconds per iteration first, ``reproduce/bench_gan.py``)."""


def _tracker(mix: Any, held_out: torch.Tensor, n_track: int, n_std: float, n_tuples: int):
    """The evaluation of a training run: the tracked scores of :func:`mixture_scores` on the first ``n_track`` of
    ``len(held_out)`` fixed latents (:data:`TRACK_SEED`) against the held-out points, and the history's ``val_loss``:
    the energy distance of all those latents' samples to all the held-out points (:class:`HeldOutEnergy`)."""
    energy = HeldOutEnergy(held_out)

    def track(method) -> dict[str, float]:
        y = method.sample_latent(len(held_out), generator=torch.Generator().manual_seed(TRACK_SEED))
        scores, _ = mixture_scores(method, mix, y[:n_track], held_out, n_std=n_std, n_tuples=n_tuples, full=False,
                                   energy=False)
        with eval_mode(*method.modules().values()):
            scores["val_loss"] = energy(method.generator_map(y))
        return scores
    return track


def _train(method: str, mix: Any, held_out: torch.Tensor, seeds: Sequence[int], dirs: Sequence[str | None], *,
           config: TrainConfig, hyper: dict[str, Any], arch: str, arch_options: dict[str, Any], n_val: int,
           n_track: int, n_std: float, n_tuples: int, stop: PlateauStop | None) -> list[GANResult]:
    """Train one run per seed: batched for :data:`BATCHED` methods with several seeds, else one after the other."""
    track = _tracker(mix, held_out, n_track, n_std, n_tuples)
    common = dict(arch=arch, latent_dim=2, arch_options=arch_options, val_data=held_out, n_val=n_val, eval_fn=track,
                  stop=stop)
    if method in BATCHED and len(seeds) > 1:
        return train_gan_batched(method, mix.x, seeds=seeds, hypers=[hyper] * len(seeds), config=config,
                                 checkpoint_dirs=dirs, **common)
    return [train_gan(method, mix.x, config=replace(config, seed=int(s), checkpoint_dir=d), hyper=hyper, **common)
            for s, d in zip(seeds, dirs)]


def mixture_job(
    method: str,
    spec: MixtureSpec,
    *,
    seeds: Sequence[int] = (0,),
    checkpoint_dirs: Sequence[str | None] | None = None,
    arch: str = "mlp",
    iterations: int = 5000,
    min_iteration: int | None = None,
    batch_size: int = 16,
    eval_every: int = 500,
    hyper: Mapping[str, Any] | None = None,
    arch_options: Mapping[str, Any] | None = None,
    n_eval: int = 1000,
    n_std: float = 3.0,
    n_val: int = 1000,
    n_track: int = 500,
    n_tuples: int = 2_000,
    device: str | None = None,
    variant: str = "",
) -> list[SweepRun]:
    """Train ``method`` on the mixture ``spec`` with latent ``N(0, I₂)`` (GMEGAN §6.2), one run per seed of
    ``seeds`` (``checkpoint_dirs``: one folder or ``None`` per seed), and score each on ``n_eval`` samples ``G(y)``.

    * Budget: ``iterations`` generator iterations, the cap. With ``min_iteration`` a run stops at the first evaluation
      from then on at which its tracked scores are at their plateau (:func:`mixture_stop`, noise floors
      :func:`history_floors` at ``n_track``, the energy's at ``n_val``); without, it trains to the cap.
    * Tracking (history, every ``eval_every`` iterations): the scores of :data:`~gpelib.gan.mixture_scores.TRACKED` on
      ``n_track`` fixed latents against ``n_val`` held-out points, a draw of the mixture with its own seed
      (``30_000 + spec.seed``), never trained on; ``val_loss`` is the energy distance of ``n_val`` samples to those
      points; ``cyclic3_encoder`` uses ``n_tuples`` triples.
    * Final scores (:func:`mixture_scores`, ``full=True``, on latents seeded ``10_000 + seed`` against a fresh draw
      seeded ``20_000 + spec.seed``): ``modes_covered`` (of ``n_modes``) and ``high_quality`` (within ``n_std``
      standard deviations of a centre, :func:`~gpelib.gan.diagnostics.mode_stats`); ``monotonicity`` (eq. A.2, ideal
      encoder after an orthogonal alignment), ``monotonicity_raw``, ``monotonicity_encoder`` (the method's own
      encoder; NaN without one); ``transport_agreement`` (:func:`~gpelib.gan.diagnostics.transport_agreement`: order
      *and* coverage); ``cyclic3`` / ``cyclic3_encoder`` (c_T-cyclical monotonicity of random triples, GMEGAN Thm 3,
      :func:`~gpelib.gan.diagnostics.cyclical_monotonicity`); ``energy`` (squared energy distance).
    """
    seeds = [int(s) for s in seeds]
    dirs = list(checkpoint_dirs) if checkpoint_dirs is not None else [None] * len(seeds)
    if len(dirs) != len(seeds):
        raise ValueError(f"need one checkpoint folder (or None) per seed; got {len(dirs)} for {len(seeds)} seeds")
    mix = spec.load()
    held_out = mix.sample(n_val, seed=_HELD_OUT_SEED + spec.seed).x
    stop = None if min_iteration is None else mixture_stop(
        history_floors(mix, n_track, n_energy=n_val, n_tuples=n_tuples), method=method, min_iteration=min_iteration)
    tmp = tempfile.TemporaryDirectory(prefix="gpelib-gan-") if any(d is None for d in dirs) else None
    try:
        dirs = [d if d is not None else str(Path(tmp.name) / f"s{s}") for s, d in zip(seeds, dirs)]  # type: ignore
        config = _config(iterations, batch_size, seeds[0], eval_every, device, None)
        results = _train(method, mix, held_out, seeds, dirs, config=config, hyper=dict(hyper or {}), arch=arch,
                         arch_options=dict(arch_options or {}), n_val=n_val, n_track=n_track, n_std=n_std,
                         n_tuples=n_tuples, stop=stop)
    finally:
        if tmp is not None:
            tmp.cleanup()
    label = variant or LABELS.get(method, method)
    return [_scored(res, mix, spec, seed=s, n_eval=n_eval, n_std=n_std, label=label,
                    checkpoint=d if checkpoint_dirs is not None else None)
            for res, s, d in zip(results, seeds, dirs)]


def _scored(res: GANResult, mix: Any, spec: MixtureSpec, *, seed: int, n_eval: int, n_std: float, label: str,
            checkpoint: str | None) -> SweepRun:
    """A trained run's :class:`SweepRun`: its final scores, history and the samples of the figures."""
    m = res.method
    with torch.no_grad(), eval_mode(*m.modules().values()):
        y = m.sample_latent(n_eval, generator=torch.Generator().manual_seed(SCORE_SEED + seed))
    fresh = mix.sample(n_eval, seed=20_000 + spec.seed).x
    metrics, flat = mixture_scores(m, mix, y, fresh, n_std=n_std)
    method = res.method_name
    history = res.history.assign(method=method, arch=res.arch, seed=seed, variant=label, stopped=res.stopped)
    return SweepRun(dataset=spec.name, method=method, arch=res.arch, seed=seed, variant=label,
                    metrics={**metrics, "stopped_at_plateau": float(res.stopped == "plateau")}, history=history,
                    samples=flat[:, :2].clone(), latents=y.cpu(), modes=mix.assign(flat), seconds=res.seconds,
                    iterations=res.iterations, checkpoint=checkpoint, hyper=m.hyper, budget=m.budget())


def plateau_jobs(
    variants: Mapping[str, tuple[str, Mapping[str, Any]]],
    *,
    specs: Sequence[MixtureSpec],
    seeds: Sequence[int],
    checkpoint_root: str | Path | None = None,
    **common: Any,
) -> list[dict[str, Any]]:
    """The jobs of :func:`mixture_job` for every ``spec × variant``: :func:`~gpelib.gan.experiments.sweep_jobs`' runs
    (one checkpoint folder per run, named by everything that changes training or scoring), the seeds of each
    :data:`BATCHED` method grouped into one job, every other run a job of its own; the grouped jobs first, the larger
    mixtures and the slower methods (:data:`SLOWEST_FIRST`) first, so that the single runs fill the workers at the
    end."""
    runs = sweep_jobs(variants, specs=specs, archs=[common.pop("arch", "mlp")], seeds=seeds,
                      checkpoint_root=checkpoint_root, **common)
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    singles = []
    for kw in runs:
        seed, folder = kw.pop("seed"), kw.pop("checkpoint_dir", None)
        if kw["method"] in BATCHED:
            key = (kw["variant"], kw["spec"])
            job = groups.setdefault(key, {**kw, "seeds": [], "checkpoint_dirs": []})
            job["seeds"].append(seed)
            job["checkpoint_dirs"].append(folder)
        else:
            singles.append({**kw, "seeds": [seed], "checkpoint_dirs": [folder]})
    slow = {m: i for i, m in enumerate(SLOWEST_FIRST)}
    order = sorted(groups.values(), key=lambda j: (-j["spec"].dim, slow.get(j["method"], len(slow))))
    return [*order, *sorted(singles, key=lambda j: -j["spec"].dim)]
