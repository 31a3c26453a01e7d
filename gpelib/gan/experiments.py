"""Recipes of the GMEGAN notebooks (07–09): sweeps over methods × architectures × seeds, each run trained by
:func:`~gpelib.gan.train.train_gan` and scored once trained.

A job is a module-level function of picklable arguments, so sweeps run on several processes with
:func:`gpelib.parallel.map_jobs`; it returns a small :class:`SweepRun` (metrics, history, a few samples for the
figures), while the networks stay in their checkpoint folders — a rerun with the same settings loads them instead of
training again.

* :func:`mixture_job` — the synthetic mixtures (GMEGAN §6.2, Figs. 4–5): modes covered, fraction of high-quality
  samples, monotonicity of ``G`` (GMEGAN eq. A.2), energy distance to fresh data.
* :func:`image_job` — image data (GMEGAN §6.3, Figs. 6–8): the Fréchet distance at several late milestones (the mean
  of the ``best_k`` lowest, as the paper averages its 5 lowest FIDs of epochs 250–300) and the relative std of the
  predicted class counts of generated samples.
* :func:`sweep_table`, :func:`summarize`, :func:`compare_reference` — tidy tables for the verdicts.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..models import eval_mode
from ..train import TrainConfig, observe_milestones
from ..verdicts import LATE_LIMIT
from .diagnostics import (
    cyclical_monotonicity,
    energy_distance,
    first_coordinates,
    mode_stats,
    monotonicity_score,
    transport_agreement,
)
from .train import GANResult, train_gan

__all__ = [
    "MixtureSpec",
    "ImageSpec",
    "SweepRun",
    "mixture_job",
    "image_job",
    "sweep_table",
    "summarize",
    "compare_reference",
    "late_improvement",
    "sweep_jobs",
    "step_seconds",
    "equal_time_iterations",
    "equal_time_jobs",
    "compute_table",
    "paired_values",
    "late_by_run",
    "STEP_SECONDS",
    "step_seconds_path",
    "LABELS",
    "PROTOCOL",
]

LABELS: dict[str, str] = {"gmegan": "GMEGAN", "gmegan_mean": "GMEGAN-mean", "gmegan_released": "GMEGAN-released",
                          "gan": "GAN", "wgan": "WGAN", "wgan_gp": "WGAN-GP",
                          "wgan_div": "WGAN-div", "otm": "OTM", "vaegan": "VAEGAN", "veegan": "VEEGAN"}
"""Display names in the order of the GMEGAN paper's figures ("GMEGAN" is the paper's eq. 5.2 as printed;
``-mean`` the same with per-coordinate means; ``-released`` the authors' released settings, see
:data:`~gpelib.gan.methods.GMEGAN_VARIANTS`)."""

STEP_SECONDS = Path(__file__).with_name("step_seconds.csv")
"""Seconds per generator iteration of every method on the notebooks' shapes, measured by ``reproduce/bench_gan.py``
(interleaved rounds on a 2-core CPU, one thread per process as the worker pool runs them): the calibration behind
:func:`equal_time_iterations`. ``$GPE_STEP_SECONDS`` names another file (:func:`step_seconds_path`)."""


def step_seconds_path() -> Path:
    """The calibration file in use: ``$GPE_STEP_SECONDS`` if set (a dry run, or a GPU machine keeping its own
    measurements apart from the committed ones), else :data:`STEP_SECONDS`."""
    env = os.environ.get("GPE_STEP_SECONDS")
    return Path(env).expanduser() if env else STEP_SECONDS


_CACHE: dict[Any, Any] = {}  # per process: loaded data, classifiers, real-feature statistics

PROTOCOL = 2
"""Version of what a stored run's history and scores mean, part of :func:`sweep_jobs`' folder names and of
:func:`image_job`'s milestone key, so that a change of it retrains instead of reusing stale runs. 2 (issue #18):
validation on held-out points, samples for scores drawn in eval mode."""

_HELD_OUT_SEED = 30_000  # + spec.seed: the mixture draw that validates every run (the energy score uses 20_000)


@dataclass(frozen=True)
class MixtureSpec:
    """The Gaussian mixture of GMEGAN §6.2 (:func:`gpelib.data.gaussian_mixture`), loaded lazily in each worker."""

    n: int = 1000
    n_modes: int = 9
    dim: int = 100
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.n_modes} modes in R^{self.dim}"

    def load(self):
        from ..data import gaussian_mixture

        key = ("mixture", self)
        if key not in _CACHE:
            _CACHE[key] = gaussian_mixture(self.n, n_modes=self.n_modes, dim=self.dim, seed=self.seed)
        return _CACHE[key]


@dataclass(frozen=True)
class ImageSpec:
    """A labelled image dataset (:func:`gpelib.data.load_dataset`) with a fixed held-out split of ``n_val``."""

    name: str = "digits"
    root: str | None = None
    n_val: int = 300
    seed: int = 0
    options: tuple[tuple[str, Any], ...] = ()

    def load(self):
        """``(train, held_out)`` :class:`~gpelib.data.ImageData`, cached per process."""
        from ..data import load_dataset

        key = ("images", self)
        if key not in _CACHE:
            images = load_dataset(self.name, self.root, **dict(self.options))
            if images.labels is None:
                raise ValueError(f"{self.name}: the GAN image sweep needs class labels (for the classifier that counts "
                                 "modes); use a labelled dataset (digits, mnist, cifar10, tiny_imagenet)")
            _CACHE[key] = images.split(self.n_val, seed=self.seed)
        return _CACHE[key]


@dataclass
class SweepRun:
    """One trained (method, architecture, seed, variant): scores, training history and samples for the figures.

    ``metrics``: floats (see :func:`mixture_job` / :func:`image_job`). ``latents`` ``(n, d)``: the latent points whose
    images are ``samples`` (mixture: the first two coordinates of ``G(y)``, ``(n, 2)``; images: a grid's worth,
    ``(k, C, H, W)``). ``modes``: the mixture mode nearest to each sample, ``(n,)``. ``budget``: what one generator
    iteration costs (:meth:`~gpelib.gan.methods.GANMethod.budget`); :func:`sweep_table` multiplies it by
    ``iterations``.
    """

    dataset: str
    method: str
    arch: str
    seed: int
    variant: str
    metrics: dict[str, float]
    history: pd.DataFrame
    samples: Tensor
    latents: Tensor | None = None
    modes: Tensor | None = None
    seconds: float = 0.0
    iterations: int = 0
    checkpoint: str | None = None
    hyper: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS.get(self.method, self.method)


def _config(iterations: int, batch_size: int, seed: int, eval_every: int, device: str | None,
            checkpoint_dir: str | None) -> TrainConfig:
    return TrainConfig(iterations=int(iterations), batch_size=int(batch_size), seed=int(seed),
                       eval_every=max(1, int(eval_every)), device=device, checkpoint_dir=checkpoint_dir,
                       progress=False)


def _run_dir(checkpoint_dir: str | None) -> tuple[str, tempfile.TemporaryDirectory | None]:
    if checkpoint_dir is not None:
        return checkpoint_dir, None
    tmp = tempfile.TemporaryDirectory(prefix="gpelib-gan-")
    return str(Path(tmp.name) / "run"), tmp


def mixture_job(
    method: str,
    spec: MixtureSpec,
    *,
    arch: str = "mlp",
    seed: int = 0,
    iterations: int = 5000,
    batch_size: int = 16,
    eval_every: int = 500,
    hyper: Mapping[str, Any] | None = None,
    arch_options: Mapping[str, Any] | None = None,
    n_eval: int = 1000,
    n_std: float = 3.0,
    n_val: int = 500,
    device: str | None = None,
    checkpoint_dir: str | None = None,
    variant: str = "",
) -> SweepRun:
    """Train ``method`` on the mixture ``spec`` with latent ``N(0, I₂)`` (GMEGAN §6.2) and score it on ``n_eval``
    samples ``G(y)``. The history's ``val_loss`` (the energy distance of ``train_gan``) is measured on ``n_val``
    held-out points: a fresh draw of the mixture with its own seed (``30_000 + spec.seed``), never trained on.
    Scores:

    * ``modes_covered`` (of ``n_modes``) and ``high_quality`` (fraction within ``n_std`` standard deviations of a
      centre) — :func:`~gpelib.gan.diagnostics.mode_stats`;
    * ``monotonicity`` — eq. A.2 with the ideal encoder ``T(x) = (x₁, x₂)`` after an orthogonal alignment of
      ``G̃(y)`` to ``y`` (``align=True``: generators are defined up to a rotation of the latent);
      ``monotonicity_raw`` — the same without alignment; ``monotonicity_encoder`` — eq. A.2 with the method's own
      encoder, where it has one (GMEGAN's ``T``, VEEGAN's ``F``, VAEGAN's mean; NaN otherwise);
    * ``transport_agreement`` — the fraction of latents sent to the mode the optimal transport map from ``N(0, I₂)`` to
      a fresh draw of the mixture sends them to (:func:`~gpelib.gan.diagnostics.transport_agreement`): needs order
      *and* coverage, so a collapsed generator scores about 1/K where the eq. A.2 fraction gives it 1;
    * ``cyclic3`` / ``cyclic3_encoder`` — the fraction of random triples of ``{(G(y_i), y_i)}`` that are
      ``c_T``-cyclically monotone (GMEGAN Thm 3; :func:`~gpelib.gan.diagnostics.cyclical_monotonicity`), with the
      ideal encoder after alignment / with the method's own encoder (NaN without one);
    * ``energy`` — squared energy distance between the samples and a fresh draw of ``n_eval`` mixture points.
    """
    mix = spec.load()
    held_out = mix.sample(n_val, seed=_HELD_OUT_SEED + spec.seed).x
    ck, tmp = _run_dir(checkpoint_dir)
    try:
        res = train_gan(method, mix.x, arch=arch, latent_dim=2, config=_config(iterations, batch_size, seed,
                        eval_every, device, ck), hyper=dict(hyper or {}), arch_options=dict(arch_options or {}),
                        val_data=held_out, n_val=n_val)
    finally:
        if tmp is not None:
            tmp.cleanup()
    m = res.method
    gen = torch.Generator().manual_seed(10_000 + seed)
    with torch.no_grad(), eval_mode(*m.modules().values()):  # scores see the running statistics, never move them
        y = m.sample_latent(n_eval, generator=gen)
        s = m.generator_map(y)
        flat = s.reshape(n_eval, -1).cpu()
        stats = mode_stats(flat, mix.centres, mix.std_major, n_std)
        fresh = mix.sample(n_eval, seed=20_000 + spec.seed)
        enc = m.latent_of if m.latent_of(s[:2]) is not None else None
        metrics = {
            "modes_covered": float(stats.modes_covered),
            "n_modes": float(mix.n_modes),
            "high_quality": stats.high_quality_fraction,
            "monotonicity": monotonicity_score(first_coordinates(2), m.generator_map, y, align=True),
            "monotonicity_raw": monotonicity_score(first_coordinates(2), m.generator_map, y),
            "monotonicity_encoder": monotonicity_score(enc, m.generator_map, y) if enc is not None else math.nan,
            "transport_agreement": transport_agreement(y.cpu(), flat, fresh.x, mix.assign),
            "cyclic3": cyclical_monotonicity(first_coordinates(2), m.generator_map, y, align=True),
            "cyclic3_encoder": cyclical_monotonicity(enc, m.generator_map, y) if enc is not None else math.nan,
            "energy": energy_distance(flat, fresh.x),
        }
    return SweepRun(dataset=spec.name, method=method, arch=arch, seed=seed,
                    variant=variant or LABELS.get(method, method),
                    metrics=metrics, history=res.history.assign(method=method, arch=arch, seed=seed,
                                                                variant=variant or LABELS.get(method, method)),
                    samples=flat[:, :2].clone(), latents=y.cpu(), modes=mix.assign(flat), seconds=res.seconds,
                    iterations=res.iterations, checkpoint=checkpoint_dir, hyper=m.hyper, budget=m.budget())


def _classifier(path: str, device: str | None):
    from ..metrics import ClassifierFeatures

    key = ("classifier", path, device)
    if key not in _CACHE:
        _CACHE[key] = ClassifierFeatures.load(path, device=device)
    return _CACHE[key]


def _extractor(classifier_path: str, inception_weights: str | None, device: str | None):
    if inception_weights is None:
        return _classifier(classifier_path, device)
    from ..metrics import InceptionFeatures

    key = ("inception", inception_weights, device)
    if key not in _CACHE:
        _CACHE[key] = InceptionFeatures(inception_weights, device=device)
    return _CACHE[key]


def _real_stats(extractor, spec: ImageSpec, n_real: int, key_extra: Any, reference: str = "train"):
    """Features of ``n_real`` reference images: a seeded draw of the training split (``"train"``), or the first
    ``n_real`` of the held-out split (``"held_out"``: images the feature classifier never saw; features kept for
    KID)."""
    from ..metrics import feature_stats

    key = ("real_stats", spec, n_real, key_extra, reference)
    if key not in _CACHE:
        train, held_out = spec.load()
        if reference == "held_out":
            _CACHE[key] = feature_stats(extractor, held_out.images[:n_real], keep=True)
        else:
            g = torch.Generator().manual_seed(spec.seed + 31)
            idx = torch.randperm(len(train), generator=g)[: min(n_real, len(train))]
            _CACHE[key] = feature_stats(extractor, train.images[idx])
    return _CACHE[key]


def image_job(
    method: str,
    spec: ImageSpec,
    *,
    classifier_path: str,
    arch: str = "dcgan",
    latent_dim: int = 16,
    seed: int = 0,
    milestones: Sequence[int] = (2000,),
    batch_size: int = 64,
    eval_every: int = 500,
    hyper: Mapping[str, Any] | None = None,
    arch_options: Mapping[str, Any] | None = None,
    n_fake: int = 2000,
    n_real: int = 2000,
    n_counts: int = 2000,
    best_k: int = 3,
    n_grid: int = 64,
    inception_weights: str | None = None,
    reference: str = "train",
    device: str | None = None,
    checkpoint_dir: str | None = None,
    variant: str = "",
) -> SweepRun:
    """Train ``method`` with architecture ``arch`` on the images of ``spec`` and score it (GMEGAN §6.3).

    Training runs to each of ``milestones`` in turn (each stage resumes the previous one exactly from the
    checkpoint, so the milestones observe one run); at each, ``n_fake`` samples are scored against ``n_real`` training
    images by the Fréchet distance on the features of the classifier saved at ``classifier_path``
    (``FD-classifier``) or, when ``inception_weights`` is given, of Inception-v3 (``FID``). With
    ``reference="held_out"`` the scores are against the first ``n_real`` held-out images instead (never seen by the
    classifier; use ``n_real = n_fake``: the Fréchet distance is biased upward at small n, so compare at matched n),
    and the kernel distance (KID) is computed beside it. Metrics:

    * ``fd`` — the mean of the ``best_k`` lowest scores over the milestones (the paper: mean of the 5 lowest FIDs
      between epochs 250 and 300), ``fd_last`` — the score at the last milestone;
    * ``relative_std`` — ``std(n_i, ddof=1)/mean(n_i)`` of the classifier's predicted class counts on ``n_counts``
      samples of the final model (GMEGAN §6.3), ``classes_covered`` — classes predicted at least once;
    * ``val_energy`` — the last training-history validation value (energy distance, see ``train_gan``), measured
      on the held-out split of ``spec`` (``min(500, n_val)`` of its images), never trained on;
    * ``kid``, ``kid_last`` (``reference="held_out"`` only) — the kernel distance at the milestones of the ``best_k``
      lowest Fréchet scores (mean) and at the last milestone.
    """
    from ..metrics import class_counts, feature_stats, frechet_score, kernel_distance, relative_std

    if reference not in ("train", "held_out"):
        raise ValueError(f"reference must be 'train' or 'held_out'; got {reference!r}")
    train, held_out = spec.load()
    n_val = min(500, len(held_out))
    if reference == "held_out" and n_real > len(held_out):
        raise ValueError(f"{spec.name}: n_real={n_real} held-out images asked for, the split holds {len(held_out)}")
    ext = _extractor(classifier_path, inception_weights, device)
    clf = _classifier(classifier_path, device)
    real = _real_stats(ext, spec, n_real, (classifier_path, inception_weights), reference)
    ck, tmp = _run_dir(checkpoint_dir)

    def train_to(it: int) -> GANResult:
        return train_gan(method, train.images, arch=arch, latent_dim=latent_dim, hyper=dict(hyper or {}),
                         arch_options=dict(arch_options or {}), val_data=held_out.images, n_val=n_val,
                         config=_config(it, batch_size, seed, eval_every, device, ck))

    def score(r: GANResult) -> dict[str, float]:
        fake = r.method.sample(n_fake, generator=torch.Generator().manual_seed(40_000 + seed + r.iterations)).cpu()
        if reference == "train":
            return {"fd": frechet_score(ext, real, fake).value, "iteration": r.iterations}
        f = feature_stats(ext, fake, keep=True)
        return {"fd": frechet_score(ext, real, f).value, "kid": kernel_distance(real.features, f.features),
                "iteration": r.iterations}

    key = dict(extractor=ext.description, n_real=n_real, n_fake=n_fake, spec=asdict(spec), protocol=PROTOCOL)
    if reference != "train":
        key["reference"] = reference
    try:
        rows, res = observe_milestones(train_to, score, milestones, ck, key=key)
    finally:
        if tmp is not None:
            tmp.cleanup()
    scores = [r["fd"] for r in rows]
    samples = res.method.sample(max(n_counts, n_grid), generator=torch.Generator().manual_seed(50_000 + seed)).cpu()
    counts = class_counts(clf.predict(samples[:n_counts]), clf.n_classes)
    order = sorted(range(len(scores)), key=scores.__getitem__)[: max(1, best_k)]
    best = [scores[i] for i in order]
    kid = ({"kid": float(np.mean([rows[i]["kid"] for i in order])), "kid_last": rows[-1]["kid"]}
           if reference == "held_out" else {})
    metrics = {
        "fd": float(np.mean(best)),
        "fd_last": scores[-1],
        **kid,
        "relative_std": relative_std(counts),
        "classes_covered": float((counts > 0).sum()),
        "n_classes": float(clf.n_classes),
        "val_energy": res.final_val,
    }
    return SweepRun(dataset=spec.name, method=method, arch=arch, seed=seed,
                    variant=variant or LABELS.get(method, method),
                    metrics=metrics, history=res.history.assign(method=method, arch=arch, seed=seed, variant=variant),
                    samples=samples[:n_grid].clone(), seconds=res.seconds, iterations=res.iterations,
                    checkpoint=checkpoint_dir, hyper=res.method.hyper, budget=res.method.budget())


# ------------------------------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------------------------------


def sweep_table(runs: Iterable[SweepRun]) -> pd.DataFrame:
    """One tidy row per run: ``dataset, method, label, variant, arch, seed, <metrics>, seconds, iterations,
    generator_updates, critic_updates, real_batches`` — the last three over the whole run: gradient updates of each
    generator-side and each critic-side network, and real batches consumed (the same ``iterations`` cost different
    methods different amounts; :meth:`~gpelib.gan.methods.GANMethod.budget`)."""
    rows = [{"dataset": r.dataset, "method": r.method, "label": r.label, "variant": r.variant, "arch": r.arch,
             "seed": r.seed, **r.metrics, "seconds": r.seconds, "iterations": r.iterations,
             **{k: int(v) * int(r.iterations) for k, v in r.budget.items()}} for r in runs]
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, metrics: Sequence[str], *, by: Sequence[str] = ("dataset", "variant")
              ) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1), min and max of each metric per group: columns ``<metric>_mean`` …"""
    g = table.groupby(list(by), sort=False)[list(metrics)]
    out = g.agg(["mean", "std", "min", "max"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    return out.reset_index()


def compare_reference(
    summary: pd.DataFrame,
    column: str,
    *,
    reference: str,
    better: str,
    key: str = "variant",
    tol: float = 0.0,
) -> pd.DataFrame:
    """The ``reference`` row's ``column`` against every other row of ``summary`` (one dataset): columns
    ``other, reference_value, other_value, reference_better`` where better means higher (``better="higher"``) or
    lower (``"lower"``) by more than ``tol``, ``tie`` (within ``tol``)."""
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower'; got {better!r}")
    s = summary.set_index(key)[column]
    if reference not in s.index:
        raise KeyError(f"{reference!r} not in {list(s.index)}")
    ref = float(s[reference])
    rows = []
    for other, v in s.items():
        if other == reference:
            continue
        d = (ref - float(v)) if better == "higher" else (float(v) - ref)
        rows.append({"other": other, "reference_value": ref, "other_value": float(v),
                     "reference_better": bool(d > tol), "tie": bool(abs(d) <= tol)})
    return pd.DataFrame(rows)


def late_improvement(
    history: pd.DataFrame, *, last: float = 0.2, by: Sequence[str] = ("dataset", "method", "seed"),
    column: str = "val_loss", window: int = 1,
) -> pd.DataFrame:
    """Is a run still improving when its budget ends? For each group of ``history`` (tidy, one row per evaluation),
    the relative fall of ``column`` over the last ``last`` fraction of the iterations,

        late_improvement = (v(it_a) − v(it_end)) / |v(it_a)|,
        it_a = the last evaluation at or before (1 − last)·it_end,

    so 0.3 means the metric (lower is better) still dropped by 30 % in the final fifth — the run had not converged
    and a longer budget may change its ranking. With ``window`` > 1 each ``v`` is the mean of the ``window``
    evaluations ending at that point (a held-out estimate fluctuates from one evaluation to the next; one noisy
    value would otherwise decide). ``total_improvement = (v(first) − v(it_end)) / |v(first)|`` is the fall over the
    whole run from its first evaluation: a run that never improved (a learning rate too small for its budget, or
    one that diverged) is flat at the end without having converged (:func:`gpelib.verdicts.converged_or_inconclusive`
    uses both). Columns: ``*by, value_at_start, value_at_end, late_improvement, total_improvement``.
    """
    if not 0 < last < 1:
        raise ValueError(f"last must be in (0, 1); got {last}")
    if window < 1:
        raise ValueError(f"window must be ≥ 1; got {window}")
    rows = []
    for key, g in history.dropna(subset=[column]).groupby(list(by), sort=False):
        g = g.sort_values("iteration")
        if window > 1:
            g = g.assign(**{column: g[column].rolling(window, min_periods=1).mean()})
        end = g.iloc[-1]
        early = g[g.iteration <= (1 - last) * end.iteration]
        if early.empty or early.iloc[-1].iteration == end.iteration:
            continue
        a, b, first = float(early.iloc[-1][column]), float(end[column]), float(g.iloc[0][column])
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "value_at_start": a,
                     "value_at_end": b, "late_improvement": (a - b) / abs(a) if a else math.nan,
                     "total_improvement": (first - b) / abs(first) if first else math.nan})
    return pd.DataFrame(rows, columns=[*by, "value_at_start", "value_at_end", "late_improvement",
                                       "total_improvement"])


def sweep_jobs(
    variants: Mapping[str, tuple[str, Mapping[str, Any]]],
    *,
    specs: Sequence[MixtureSpec | ImageSpec],
    archs: Sequence[str],
    seeds: Sequence[int],
    checkpoint_root: str | Path | None = None,
    **common: Any,
) -> list[dict[str, Any]]:
    """Job arguments for every ``spec × variant × arch × seed``, for :func:`mixture_job` / :func:`image_job`.

    ``variants``: label → ``(method, hyper)`` (e.g. ``{"GMEGAN": ("gmegan", {}), "λ1 = 0": ("gmegan",
    {"lambda1": 0})}``). With ``checkpoint_root``, each job gets
    ``checkpoint_dir = <root>/<method>-<arch>-s<seed>-<hash>``
    where the hash covers every argument that changes training or scoring except the label and the device, and
    :data:`PROTOCOL` — so two notebooks asking for the same run (e.g. the full GMEGAN of notebooks 08 and 09) share
    one trained model, and runs stored under an older protocol are not reused.
    """
    from ..checkpoint import content_hash

    jobs = []
    for spec in specs:
        for label, (method, hyper) in variants.items():
            for arch in archs:
                for seed in seeds:
                    kw = dict(method=method, spec=spec, arch=arch, seed=int(seed), hyper=dict(hyper), **common)
                    if checkpoint_root is not None:
                        h = {k: (asdict(v) if hasattr(v, "__dataclass_fields__") else v) for k, v in kw.items()
                             if k not in ("device", "variant")}
                        h["protocol"] = PROTOCOL
                        folder = f"{method}-{arch}-s{seed}-{content_hash(h, 12)}"
                        kw["checkpoint_dir"] = str(Path(checkpoint_root) / folder)
                    kw["variant"] = label
                    jobs.append(kw)
    return jobs


# ------------------------------------------------------------------------------------------------------------------
# Equal compute
# ------------------------------------------------------------------------------------------------------------------


def shape_key(arch: str, data_shape: Sequence[int], latent_dim: int, batch_size: int) -> str:
    """The name of a timing setting: ``"<arch> <C>x<H>x<W> d=<latent> b=<batch>"``."""
    return f"{arch} {'x'.join(str(int(s)) for s in data_shape)} d={int(latent_dim)} b={int(batch_size)}"


def step_seconds(
    methods: Sequence[str],
    data: Tensor,
    *,
    arch: str,
    latent_dim: int,
    batch_size: int,
    rounds: int = 5,
    steps: int = 40,
    skip: int = 5,
    reference: str = "gmegan",
    arch_options: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Seconds per generator iteration (one :meth:`~gpelib.gan.methods.GANMethod.step`, critic updates included) of
    each of ``methods`` on batches of ``data`` by **interleaved rounds**: in each round every method runs ``steps``
    iterations from fresh networks in an order rotated by one per round; its time is the median iteration after
    ``skip``; ``ratio`` divides by ``reference``'s time in the same round, so a change of machine load cancels.
    Returns a tidy DataFrame ``round, method, s_per_iter, ratio, key`` (``key``: :func:`shape_key`)."""
    import statistics
    import time

    from ..train import seed_everything
    from .architectures import build_networks
    from .methods import get_method

    if reference not in methods:
        raise ValueError(f"the reference {reference!r} must be one of the timed methods {list(methods)}")
    if steps < skip + 2 or rounds < 1:
        raise ValueError(f"need rounds ≥ 1 and steps ≥ skip + 2; got {rounds}, {steps} (skip {skip})")
    key = shape_key(arch, data.shape[1:], latent_dim, batch_size)
    rows = []
    for r in range(rounds):
        order = [methods[(r + k) % len(methods)] for k in range(len(methods))]
        times: dict[str, float] = {}
        for name in order:
            seed_everything(seed + r)
            cls = get_method(name)
            nets = build_networks(arch, tuple(data.shape[1:]), latent_dim, parts=cls.REQUIRES,
                                  **dict(arch_options or {})).to(data.device)
            m = cls(nets, latent_dim=latent_dim)
            m.attach_data(data)
            sync = torch.cuda.synchronize if data.device.type == "cuda" else (lambda: None)
            durations = []
            for _ in range(steps):
                x = data[torch.randint(len(data), (batch_size,), device=data.device)]
                sync()
                t0 = time.perf_counter()
                m.step(x)
                sync()
                durations.append(time.perf_counter() - t0)
            times[name] = statistics.median(durations[skip:])
        rows += [{"round": r, "method": k, "s_per_iter": v, "ratio": v / times[reference], "key": key}
                 for k, v in times.items()]
    return pd.DataFrame(rows)


def _step_table(table: pd.DataFrame | str | Path | None) -> tuple[pd.DataFrame, str]:
    """The calibration table (given, a CSV path, or :func:`step_seconds_path`) and where it came from, for messages."""
    if isinstance(table, pd.DataFrame):
        return table, "the given table"
    path = Path(table) if table is not None else step_seconds_path()
    if not path.is_file():
        raise FileNotFoundError(f"no GAN step-time calibration at {path}; measure it with "
                                "`python reproduce/bench_gan.py --write` (see $GPE_STEP_SECONDS)")
    return pd.read_csv(path), str(path)


def equal_time_iterations(
    methods: Sequence[str],
    *,
    key: str,
    units: int,
    reference: str = "gmegan",
    multiple: int = 100,
    table: pd.DataFrame | str | Path | None = None,
) -> dict[str, int]:
    """Iterations that give every method the same wall-clock: ``units`` iterations of ``reference`` divided by each
    method's time ratio to it (median over the rounds of :data:`STEP_SECONDS` for the setting ``key``), rounded to the
    nearest ``multiple`` (halves up; at least one ``multiple``). The ratios are a committed calibration, so the
    iteration counts — and with them every result — do not depend on the load of the machine that runs the notebook;
    the notebooks report the seconds each run actually took beside them."""
    t, where = _step_table(table)
    t = t[t.key == key]
    missing = [m for m in methods if m not in set(t.method)]
    if missing:
        raise KeyError(f"no step time for {missing} at {key!r} in {where}; measure it with "
                       f"`python reproduce/bench_gan.py --write` (settings: {sorted(set(t.key)) or 'none'})")
    if reference not in set(t.method):
        raise KeyError(f"the reference {reference!r} has no step time at {key!r}")
    ratio = t.groupby("method").ratio.median()
    return {m: max(multiple, math.floor(units / float(ratio[m]) / multiple + 0.5) * multiple) for m in methods}


def _shape_of(spec: MixtureSpec | ImageSpec) -> tuple[int, ...]:
    if isinstance(spec, MixtureSpec):
        return (spec.dim,)
    return tuple(spec.load()[0].shape)


def equal_time_jobs(
    variants: Mapping[str, tuple[str, Mapping[str, Any]]],
    *,
    specs: Sequence[MixtureSpec | ImageSpec],
    archs: Sequence[str],
    seeds: Sequence[int],
    units: int,
    batch_size: int,
    latent_dim: int,
    evaluations: int = 20,
    multiple: int = 100,
    milestones: Sequence[float] | None = None,
    table: pd.DataFrame | str | Path | None = None,
    **common: Any,
) -> list[dict[str, Any]]:
    """:func:`sweep_jobs` at **equal wall-clock**: each (spec, arch, variant) trains the iterations that take as long
    as ``units`` iterations of GMEGAN as printed (:func:`equal_time_iterations`, from the committed calibration
    ``table``) and is evaluated ``evaluations`` times along the way (``eval_every``), so the late-improvement check
    sees the same number of points for every method. ``latent_dim``/``batch_size`` name the calibration setting;
    ``multiple``: iteration counts are rounded to it. For :func:`image_job`, ``milestones`` gives the scoring points
    as fractions of each method's budget (e.g. ``(0.8, 0.9, 1.0)``; the last must be 1) instead of ``iterations``."""
    if milestones is not None and (not milestones or abs(milestones[-1] - 1.0) > 1e-9 or min(milestones) <= 0):
        raise ValueError(f"milestones are fractions in (0, 1] ending at 1; got {list(milestones)}")
    jobs = []
    for spec in specs:
        for arch in archs:
            key = shape_key(arch, _shape_of(spec), latent_dim, batch_size)
            its = equal_time_iterations(sorted({m for m, _ in variants.values()}), key=key, units=units, table=table,
                                        multiple=multiple)
            for label, (method, hyper) in variants.items():
                n = its[method]
                length = ({"iterations": n} if milestones is None else
                          {"milestones": sorted({max(1, int(round(f * n))) for f in milestones})})
                jobs += sweep_jobs({label: (method, hyper)}, specs=[spec], archs=[arch], seeds=seeds, **length,
                                   batch_size=batch_size, eval_every=max(1, n // evaluations), **common)
    return jobs


def compute_table(
    table: pd.DataFrame,
    late: pd.DataFrame,
    *,
    key: str | None = None,
    step_table: pd.DataFrame | str | Path | None = None,
    limit: float = LATE_LIMIT,
    by: Sequence[str] = ("dataset", "variant"),
) -> pd.DataFrame:
    """What each method spent and whether it converged, one row per ``by`` group of :func:`sweep_table`'s ``table``:
    ``iterations`` (generator iterations), ``updates`` (gradient steps, generator side + critic side, from
    :meth:`~gpelib.gan.methods.GANMethod.budget`: a GMEGAN iteration is 2, a WGAN-GP one 6, an OTM one 11),
    ``reference_seconds`` (the wall-clock those iterations take on the calibration machine, :data:`STEP_SECONDS` at
    setting ``key``; NaN without ``key``), ``converged`` (runs whose :func:`late_improvement` is ≤ ``limit`` and whose
    ``total_improvement`` is ≥ ``limit``: they learned, then levelled off; as "k/n") and ``late_improvement``
    (median over runs). The seconds each run really took stay in the sweep table (a timing column)."""
    t = table.copy()
    t["updates"] = t["generator_updates"] + t["critic_updates"]
    if key is not None:
        st = _step_table(step_table)[0]
        sec = st[st.key == key].groupby("method").s_per_iter.median()
        t["reference_seconds"] = t.iterations * t.method.map(sec)
    else:
        t["reference_seconds"] = math.nan
    rows = []
    for k, g in t.groupby(list(by), sort=False):
        kd = dict(zip(by, k if isinstance(k, tuple) else (k,)))
        mask = np.logical_and.reduce([late[c] == v for c, v in kd.items()]) if len(late) else np.zeros(0, bool)
        sub = late[mask].dropna(subset=["late_improvement"]) if len(late) else pd.DataFrame(
            columns=["late_improvement"])
        li = sub.late_improvement
        ok = li <= limit
        if "total_improvement" in sub:  # flat only because it never learned is not converged
            ok &= sub.total_improvement.fillna(math.inf) >= limit
        rows.append({**kd, "method": g.method.iloc[0], "iterations": int(g.iterations.median()),
                     "updates": int(g.updates.median()), "reference_seconds": float(g.reference_seconds.median()),
                     "converged": f"{int(ok.sum())}/{len(li)}",
                     "late_improvement": float(li.median()) if len(li) else math.nan})
    return pd.DataFrame(rows)


def paired_values(
    table: pd.DataFrame,
    column: str,
    variants: Sequence[str],
    *,
    units: Sequence[str] = ("seed",),
    spread_over: str | None = None,
) -> dict[str, list[float]]:
    """``column`` of each of ``variants`` at every unit (the sorted combinations of the ``units`` columns, e.g.
    ``("arch", "seed")``), in the same order for every variant, so :mod:`gpelib.verdicts` can pair them.

    With ``spread_over`` (one of ``units``), each value is replaced by its absolute deviation from the variant's mean
    over ``spread_over`` (within the other unit columns): a Levene-type spread, so "varies least across seeds /
    architectures" becomes a paired comparison of deviations."""
    t = table[table.variant.isin(list(variants))]
    values = t[column]
    if spread_over is not None:
        if spread_over not in units:
            raise ValueError(f"spread_over must be one of the units {list(units)}; got {spread_over!r}")
        within = ["variant", *[u for u in units if u != spread_over]]
        values = (values - t.groupby(within)[column].transform("mean")).abs()
    t = t.assign(_value=values).set_index(list(units))
    order = sorted(t.index.unique())
    return {k: t[t.variant == k].loc[order, "_value"].tolist() for k in variants}


def late_by_run(late: pd.DataFrame, variants: Sequence[str], *, units: Sequence[str] = ("seed",)
                ) -> pd.DataFrame:
    """:func:`late_improvement`'s ``late_improvement`` and ``total_improvement`` of each run of ``variants``, indexed
    by a readable name (``"GMEGAN dcgan s1"``): the form :func:`gpelib.verdicts.converged_or_inconclusive` names the
    unconverged runs with."""
    t = late[late.variant.isin(list(variants))]
    names = t.variant.astype(str)
    for u in units:
        names = names + " " + (("s" + t[u].astype(str)) if u == "seed" else t[u].astype(str))
    cols = [c for c in ("late_improvement", "total_improvement") if c in t]
    return pd.DataFrame(t[cols].to_numpy(), index=pd.Index(names.to_numpy(), name="run"), columns=cols)
