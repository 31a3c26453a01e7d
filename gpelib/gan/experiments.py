"""Recipes of the GMEGAN notebooks (07–09): sweeps over methods × architectures × seeds, each run trained by
:func:`~gpelib.gan.train.train_gan` and scored once trained.

A job is a module-level function of picklable arguments, so sweeps run on several processes with
:func:`gpelib.parallel.map_jobs`; it returns a small :class:`SweepRun` (metrics, history, a few samples for the
figures), while the networks stay in their checkpoint folders — a rerun with the same settings loads them instead of
training again.

* the synthetic mixtures (GMEGAN §6.2, Figs. 4–5) are trained to their plateau by
  :func:`gpelib.gan.mixture_jobs.mixture_job`, on the specs and job folders of this module.
* :func:`image_job` — image data (GMEGAN §6.3, Figs. 6–8): the Fréchet distance at several late milestones (the mean
  of the ``best_k`` lowest, as the paper averages its 5 lowest FIDs of epochs 250–300) and the relative std of the
  predicted class counts of generated samples.
* :func:`sweep_table`, :func:`summarize`, :func:`compare_reference` — tidy tables for the verdicts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..train import TrainConfig, observe_milestones
from .step_table import STEP_SECONDS, equal_time_iterations, shape_key, step_seconds_path
from .tables import (
    compare_reference,
    compute_table,
    compute_tables,
    history_table,
    late_by_run,
    late_improvement,
    paired_values,
    plateau_states,
    run_states,
    state_counts,
    states_by_run,
    summarize,
    sweep_table,
)
from .train import GANResult, train_gan

__all__ = [
    "MixtureSpec",
    "ImageSpec",
    "SweepRun",
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
    "history_table",
    "compute_tables",
    "plateau_states",
    "run_states",
    "state_counts",
    "states_by_run",
    "ABLATIONS",
    "ABLATED",
    "ablation_variants",
    "STEP_SECONDS",
    "step_seconds_path",
    "LABELS",
    "BASELINES",
    "PROTOCOL",
]

LABELS: dict[str, str] = {"gmegan": "GMEGAN", "gmegan_mean": "GMEGAN-mean", "gmegan_released": "GMEGAN-released",
                          "gan": "GAN", "wgan": "WGAN", "wgan_gp": "WGAN-GP",
                          "wgan_div": "WGAN-div", "otm": "OTM", "vaegan": "VAEGAN", "veegan": "VEEGAN"}
"""Display names in the order of the GMEGAN paper's figures ("GMEGAN" is the paper's eq. 5.2 as printed;
``-mean`` the same with per-coordinate means; ``-released`` the authors' released settings, see
:data:`~gpelib.gan.methods.GMEGAN_VARIANTS`)."""
#: The seven baselines of GMEGAN §6 (display names), in the paper's order.
BASELINES: list[str] = [v for m, v in LABELS.items() if not m.startswith("gmegan")]

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

    def data_shape(self) -> tuple[int, ...]:
        """``(dim,)``: one sample's shape (the key of its step-time calibration)."""
        return (self.dim,)

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

    def data_shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` of the images (loaded, cached): the key of its step-time calibration."""
        return tuple(self.load()[0].shape)

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


def _scorer(ext: Any, real: Any, n_fake: int, seed: int, reference: str) -> Any:
    """:func:`image_job`'s score at a milestone: ``n_fake`` samples (seeded by the iteration) against the real
    statistics, the Fréchet distance (and KID against held-out images)."""
    from ..metrics import feature_stats, frechet_score, kernel_distance

    def score(r: GANResult) -> dict[str, float]:
        fake = r.method.sample(n_fake, generator=torch.Generator().manual_seed(40_000 + seed + r.iterations)).cpu()
        if reference == "train":
            return {"fd": frechet_score(ext, real, fake).value, "iteration": r.iterations}
        f = feature_stats(ext, fake, keep=True)
        return {"fd": frechet_score(ext, real, f).value, "kid": kernel_distance(real.features, f.features),
                "iteration": r.iterations}

    return score


def _image_metrics(rows: Sequence[Mapping[str, float]], res: GANResult, clf: Any, samples: Tensor, *, best_k: int,
                   with_kid: bool) -> dict[str, float]:
    """:func:`image_job`'s metrics from its milestone scores ``rows`` and the final model's ``samples``: the mean of
    the ``best_k`` lowest Fréchet scores, the last one, KID at the same milestones, the class counts' relative std."""
    from ..metrics import class_counts, relative_std

    scores = [r["fd"] for r in rows]
    counts = class_counts(clf.predict(samples), clf.n_classes)
    order = sorted(range(len(scores)), key=scores.__getitem__)[: max(1, best_k)]
    best = [scores[i] for i in order]
    kid = {"kid": float(np.mean([rows[i]["kid"] for i in order])), "kid_last": rows[-1]["kid"]} if with_kid else {}
    return {
        "fd": float(np.mean(best)),
        "fd_last": scores[-1],
        **kid,
        "relative_std": relative_std(counts),
        "classes_covered": float((counts > 0).sum()),
        "n_classes": float(clf.n_classes),
        "val_energy": res.final_val,
    }


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

    key = dict(extractor=ext.description, n_real=n_real, n_fake=n_fake, spec=asdict(spec), protocol=PROTOCOL)
    if reference != "train":
        key["reference"] = reference
    try:
        rows, res = observe_milestones(train_to, _scorer(ext, real, n_fake, seed, reference), milestones, ck, key=key)
    finally:
        if tmp is not None:
            tmp.cleanup()
    samples = res.method.sample(max(n_counts, n_grid), generator=torch.Generator().manual_seed(50_000 + seed)).cpu()
    metrics = _image_metrics(rows, res, clf, samples[:n_counts], best_k=best_k, with_kid=reference == "held_out")
    return SweepRun(dataset=spec.name, method=method, arch=arch, seed=seed,
                    variant=variant or LABELS.get(method, method),
                    metrics=metrics, history=res.history.assign(method=method, arch=arch, seed=seed, variant=variant),
                    samples=samples[:n_grid].clone(), seconds=res.seconds, iterations=res.iterations,
                    checkpoint=checkpoint_dir, hyper=res.method.hyper, budget=res.method.budget())


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
            key = shape_key(arch, spec.data_shape(), latent_dim, batch_size)
            its = equal_time_iterations(sorted({m for m, _ in variants.values()}), key=key, units=units, table=table,
                                        multiple=multiple)
            for label, (method, hyper) in variants.items():
                n = its[method]
                length = ({"iterations": n} if milestones is None else
                          {"milestones": sorted({max(1, int(round(f * n))) for f in milestones})})
                jobs += sweep_jobs({label: (method, hyper)}, specs=[spec], archs=[arch], seeds=seeds, **length,
                                   batch_size=batch_size, eval_every=max(1, n // evaluations), **common)
    return jobs


ABLATIONS: dict[str, dict[str, float]] = {
    "": {}, " λ1 = 0 (no GME)": {"lambda1": 0.0}, " λ2 = 0 (no critic penalty)": {"lambda2": 0.0},
    " λ3 = 0 (no reconstruction)": {"lambda3": 0.0},
}
"""GMEGAN Fig. 8's ablations: the suffix of a variant's name → the hyper-parameters it sets (``""``: the full method,
then λ1, λ2 and λ3 = 0 in that order)."""

ABLATED: dict[str, tuple[str, str]] = {"as printed": ("GMEGAN", "gmegan"),
                                       "as released": ("GMEGAN-released", "gmegan_released")}
"""The GMEGAN readings the ablation is run for: how → (display name, method)."""


def ablation_variants(ablations: Mapping[str, Mapping[str, float]] = ABLATIONS,
                      full: Mapping[str, tuple[str, str]] = ABLATED) -> dict[str, tuple[str, Mapping[str, float]]]:
    """The variants of notebook 09 for :func:`equal_time_jobs`: ``"<label><suffix>" → (method, hyper)`` for every
    GMEGAN reading of ``full`` and every ablation of ``ablations`` (``"GMEGAN λ1 = 0 (no GME)"`` → ``("gmegan",
    {"lambda1": 0.0})``)."""
    return {f"{label}{suffix}": (method, hyper) for label, method in full.values()
            for suffix, hyper in ablations.items()}
