"""Notebooks 08–09's runs (GMEGAN §6.3–6.4, Figs. 6–8): every method × architecture on an image dataset, trained to
its own plateau under one common cap of generator iterations (SPEC §2 "Fair comparison"; issue 28 item 4), the runs
of a method that differ only in their seed or in GMEGAN's scalar weights batched in one process.

* :func:`image_floor` — the noise floor of the plateau rule: the Fréchet distance (and KID) of ``n`` *training*
  images against the ``n`` held-out images every run is scored against, over a few draws — the level a perfect
  generator scores at that ``n`` (``level``) and the score's noise (``sd``).
* :func:`image_plateau_job` — one method and architecture, one or several (seed, hyper-parameters) runs: batched
  (:func:`~gpelib.gan.batched_train.train_gan_batched`) when the method has a batched engine and the architecture is
  fully connected (:data:`BATCHED_ARCHS`), else one run after the other (:func:`~gpelib.gan.train.train_gan`). Every
  ``eval_every`` iterations a run's ``fd`` and ``kid`` are measured on fixed latents (:data:`TRACK_SEED`) against the
  held-out images at matched ``n``; with ``min_iteration`` set it stops at the first evaluation from then on at which
  ``fd`` is at its plateau (:class:`~gpelib.plateau.PlateauStop` with the floor's ``sd``), else at the cap.
* :func:`image_plateau_jobs` — the job arguments for a sweep (:func:`~gpelib.gan.experiments.sweep_jobs`' runs and
  checkpoint folders), grouped per (dataset, method, architecture) — so notebook 09's λ-ablations train in the same
  batch as the full GMEGAN's seeds.

A run's scores (:func:`image_scores`), as the paper reads its FIDs "between epochs 250 and 300": over the
evaluations of the last fifth of the run, the mean of the ``best_k`` lowest ``fd`` (and ``kid`` at those
evaluations); the relative std of the class counts the classifier predicts for ``n_counts`` samples of the final
model.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..plateau import PlateauStop, Watch
from .batched_train import engine_for, train_gan_batched
from .experiments import _CACHE, LABELS, ImageSpec, SweepRun, _classifier, _config, _extractor, sweep_jobs
from .train import GANResult, train_gan

__all__ = ["image_floor", "image_plateau_job", "image_plateau_jobs", "image_scores", "ImageFloor", "BATCHED_ARCHS",
           "TRACK_SEED", "COUNT_SEED", "TRACKED"]

BATCHED_ARCHS: tuple[str, ...] = ("mlp", "mlp_wide", "mlp_deep")
"""The architectures the batched engine stacks (:mod:`gpelib.gan.batched`: the fully connected family)."""
TRACK_SEED = 50_000
"""The seed of the fixed latents every run's ``fd``/``kid`` are tracked on while it trains (the same for every run)."""
COUNT_SEED = 60_000
"""+ the run's seed: the latents of the samples whose class counts give a trained run's relative std."""
TRACKED: dict[str, str] = {"fd": "lower", "kid": "lower", "relative_std": "lower"}
"""The history columns a run's plateau states are judged on (:func:`gpelib.gan.tables.plateau_states`), lower better."""


@dataclass(frozen=True)
class ImageFloor:
    """What a perfect generator scores at ``n`` images: the mean (``fd``, ``kid``, ``relative_std``) and sd
    (``fd_sd``, ``kid_sd``, ``relative_std_sd``) over ``draws`` seeded draws of ``n`` training images against the
    first ``n`` held-out images (the relative std: of the classes predicted for the drawn images)."""

    n: int
    draws: int
    fd: float
    fd_sd: float
    kid: float
    kid_sd: float
    relative_std: float
    relative_std_sd: float

    def noise(self) -> dict[str, float]:
        """History column → noise floor, the form :func:`gpelib.gan.tables.plateau_states` takes."""
        return {c: getattr(self, f"{c}_sd") for c in TRACKED}


def _cached(key: tuple[Any, ...], make: Any) -> Any:
    """``make()``, computed once per process for ``key``."""
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def _held_out_features(ext: Any, spec: ImageSpec, n: int) -> Any:
    """Features (kept, for KID) of the first ``n`` held-out images of ``spec``, cached per process."""
    from ..metrics import feature_stats

    return _cached(("held_out_features", spec, n, ext.description),
                   lambda: feature_stats(ext, spec.load()[1].images[:n], keep=True))


def _score(ext: Any, clf: Any, real: Any, images: torch.Tensor) -> dict[str, float]:
    """Fréchet distance and KID of ``images`` against the held-out features ``real``; the relative std of the class
    counts the classifier ``clf`` predicts for them (GMEGAN §6.3)."""
    from ..metrics import class_counts, feature_stats, frechet_score, kernel_distance, relative_std

    f = feature_stats(ext, images, keep=True)
    counts = class_counts(clf.predict(images), clf.n_classes)
    return {"fd": frechet_score(ext, real, f).value, "kid": kernel_distance(real.features, f.features),
            "relative_std": relative_std(counts)}


def image_floor(ext: Any, clf: Any, spec: ImageSpec, n: int, *, draws: int = 5) -> ImageFloor:
    """:class:`ImageFloor` of ``spec`` at ``n`` images with the feature extractor ``ext`` and classifier ``clf``
    (draw ``d`` takes a random ``n`` of the training split, seeded ``100 + d``)."""
    def measure() -> ImageFloor:
        train, held_out = spec.load()
        if not 2 <= n <= len(held_out):
            raise ValueError(f"{spec.name}: a floor at n={n} needs 2 ≤ n ≤ {len(held_out)} held-out images")
        real = _held_out_features(ext, spec, n)
        rows = [_score(ext, clf, real, train.images[torch.randperm(len(train), generator=torch.Generator().manual_seed(
            100 + d))[:n]]) for d in range(draws)]
        v = {k: np.array([r[k] for r in rows]) for k in TRACKED}
        return ImageFloor(n=n, draws=draws, **{k: float(a.mean()) for k, a in v.items()},
                          **{f"{k}_sd": float(a.std(ddof=1)) for k, a in v.items()})
    return _cached(("image_floor", spec, n, draws, ext.description), measure)


def _tracker(ext: Any, clf: Any, real: Any, n: int):
    """The evaluation of a training run: :data:`TRACKED` of ``n`` samples from fixed latents (:data:`TRACK_SEED`),
    clamped to the data range [−1, 1], against the held-out features ``real``."""
    def track(method) -> dict[str, float]:
        with torch.no_grad():
            x = method.sample(n, generator=torch.Generator().manual_seed(TRACK_SEED)).clamp(-1, 1)
        return _score(ext, clf, real, x.cpu())
    return track


def image_scores(history: pd.DataFrame, *, best_k: int, last: float = 0.2) -> dict[str, float]:
    """A run's Fréchet scores from its ``history`` (columns ``iteration``, ``fd``, ``kid``): over the evaluations at
    iterations ≥ ``(1 − last)·t_end``, ``fd`` = the mean of the ``best_k`` lowest, ``kid`` = the mean KID at those
    evaluations; ``fd_last``/``kid_last`` at the last evaluation."""
    h = history.dropna(subset=["fd"]).sort_values("iteration")
    if h.empty:
        raise ValueError("the run's history holds no fd evaluation")
    late = h[h.iteration >= (1 - last) * h.iteration.iloc[-1]]
    best = late.nsmallest(max(1, int(best_k)), "fd")
    return {"fd": float(best.fd.mean()), "kid": float(best.kid.mean()), "fd_last": float(h.fd.iloc[-1]),
            "kid_last": float(h.kid.iloc[-1]), "scored_evaluations": float(len(best))}


def _scored(res: GANResult, clf: Any, *, dataset: str, seed: int, label: str, best_k: int, n_counts: int,
            n_grid: int, checkpoint: str | None) -> SweepRun:
    """A trained run's :class:`SweepRun`: :func:`image_scores`, the class counts' relative std, a grid of samples."""
    from ..metrics import class_counts, relative_std

    m = res.method
    with torch.no_grad():
        samples = m.sample(max(n_counts, n_grid), generator=torch.Generator().manual_seed(COUNT_SEED + seed))
    samples = samples.clamp(-1, 1).cpu()
    counts = class_counts(clf.predict(samples[:n_counts]), clf.n_classes)
    metrics = {**image_scores(res.history, best_k=best_k), "relative_std": relative_std(counts),
               "classes_covered": float((counts > 0).sum()), "n_classes": float(clf.n_classes),
               "val_energy": res.final_val, "stopped_at_plateau": float(res.stopped == "plateau")}
    history = res.history.assign(method=res.method_name, arch=res.arch, seed=seed, variant=label, stopped=res.stopped)
    return SweepRun(dataset=dataset, method=res.method_name, arch=res.arch, seed=seed, variant=label, metrics=metrics,
                    history=history, samples=samples[:n_grid].clone(), seconds=res.seconds, iterations=res.iterations,
                    checkpoint=checkpoint, hyper=m.hyper, budget=m.budget())


def image_plateau_job(
    method: str,
    spec: ImageSpec,
    *,
    classifier_path: str,
    seeds: Sequence[int] = (0,),
    hypers: Sequence[Mapping[str, Any]] | None = None,
    variants: Sequence[str] | None = None,
    checkpoint_dirs: Sequence[str | None] | None = None,
    arch: str = "mlp",
    latent_dim: int = 16,
    iterations: int = 10_000,
    min_iteration: int | None = None,
    eval_every: int = 250,
    batch_size: int = 64,
    n_track: int = 300,
    n_counts: int = 2000,
    best_k: int = 3,
    n_grid: int = 64,
    inception_weights: str | None = None,
    device: str | None = None,
) -> list[SweepRun]:
    """Train ``method`` with architecture ``arch`` on the images of ``spec``, one run per ``seeds[k]`` with
    ``hypers[k]`` (named ``variants[k]``; checkpoint folder ``checkpoint_dirs[k]`` or ``None``), to its plateau or
    ``iterations`` (module docstring), and score each (:func:`image_scores` with ``best_k``, relative std on
    ``n_counts`` samples). Scores use the features of the classifier at ``classifier_path`` (``FD-classifier``) or,
    with ``inception_weights``, Inception-v3 (``FID``), against the first ``n_track`` held-out images; the history's
    ``val_loss`` is the held-out energy distance (:func:`~gpelib.gan.train.train_gan`)."""
    seeds = [int(s) for s in seeds]
    k = len(seeds)
    hypers = [dict(h) for h in (hypers if hypers is not None else [{}] * k)]
    labels = list(variants) if variants is not None else [LABELS.get(method, method)] * k
    dirs = list(checkpoint_dirs) if checkpoint_dirs is not None else [None] * k
    if not (len(hypers) == len(labels) == len(dirs) == k):
        raise ValueError(f"need one hyper, variant name and checkpoint folder (or None) per seed ({k}); got "
                         f"{len(hypers)}, {len(labels)} and {len(dirs)}")
    train, held_out = spec.load()
    n = min(int(n_track), len(held_out))
    ext, clf = _extractor(classifier_path, inception_weights, device), _classifier(classifier_path, device)
    track = _tracker(ext, clf, _held_out_features(ext, spec, n), n)
    stop = None if min_iteration is None else PlateauStop(
        (Watch("fd", "lower", image_floor(ext, clf, spec, n).fd_sd),), min_iteration=int(min_iteration),
        progress="fd")
    tmp = tempfile.TemporaryDirectory(prefix="gpelib-gan-") if any(d is None for d in dirs) else None
    try:
        run_dirs = [d if d is not None else str(Path(tmp.name) / f"r{i}") for i, d in enumerate(dirs)]  # type: ignore
        config = _config(iterations, batch_size, seeds[0], eval_every, device, None)
        common = dict(arch=arch, latent_dim=latent_dim, val_data=held_out.images, n_val=min(500, len(held_out)),
                      eval_fn=track, stop=stop)
        if engine_for(method) is not None and arch in BATCHED_ARCHS and k > 1:
            results = train_gan_batched(method, train.images, seeds=seeds, hypers=hypers, config=config,
                                        checkpoint_dirs=run_dirs, **common)
        else:
            results = [train_gan(method, train.images, config=replace(config, seed=s, checkpoint_dir=d), hyper=h,
                                 **common) for s, h, d in zip(seeds, hypers, run_dirs)]
        return [_scored(r, clf, dataset=spec.name, seed=s, label=v, best_k=best_k, n_counts=n_counts, n_grid=n_grid,
                        checkpoint=d) for r, s, v, d in zip(results, seeds, labels, dirs)]
    finally:
        if tmp is not None:
            tmp.cleanup()


def image_plateau_jobs(
    variants: Mapping[str, tuple[str, Mapping[str, Any]]],
    *,
    specs: Sequence[ImageSpec],
    archs: Sequence[str],
    seeds: Sequence[int],
    checkpoint_root: str | Path | None = None,
    **common: Any,
) -> list[dict[str, Any]]:
    """The jobs of :func:`image_plateau_job` for every ``spec × variant × arch × seed``: one checkpoint folder per run,
    named by everything that changes training or scoring (:func:`~gpelib.gan.experiments.sweep_jobs`: notebooks 08
    and 09 share the full GMEGAN's runs), every run of one (spec, method, arch) in one job — a batch when
    :func:`image_plateau_job` batches it, else its runs one after the other; the largest jobs first."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for kw in sweep_jobs(variants, specs=specs, archs=archs, seeds=seeds, checkpoint_root=checkpoint_root, **common):
        seed, folder, hyper, label = kw.pop("seed"), kw.pop("checkpoint_dir", None), kw.pop("hyper"), kw.pop("variant")
        batched = engine_for(kw["method"]) is not None and kw["arch"] in BATCHED_ARCHS
        key = (kw["spec"], kw["method"], kw["arch"]) + (() if batched else (seed, label))
        job = groups.setdefault(key, {**kw, "seeds": [], "hypers": [], "variants": [], "checkpoint_dirs": []})
        for name, value in (("seeds", seed), ("hypers", hyper), ("variants", label), ("checkpoint_dirs", folder)):
            job[name].append(value)
    return sorted(groups.values(), key=lambda j: -len(j["seeds"]))
