"""Recipes of the GMEGAN notebooks (07–09): sweeps over methods × architectures × seeds, each run trained by
:func:`~gpelib.gan.train.train_gan` and scored once trained.

A job is a module-level function of picklable arguments, so sweeps run on several processes with
:func:`gpelib.parallel.map_jobs`; it returns a small :class:`SweepRun` (metrics, history, a few samples for the
figures), while the networks stay in their checkpoint folders — a rerun with the same settings loads them instead of
training again.

* the synthetic mixtures (GMEGAN §6.2, Figs. 4–5) are trained to their plateau by
  :func:`gpelib.gan.mixture_jobs.mixture_job`, on the specs and job folders of this module.
* image data (GMEGAN §6.3–6.4, Figs. 6–8) are trained to their plateau by
  :func:`gpelib.gan.image_jobs.image_plateau_job`, on the specs, folders and feature extractors of this module.
* :func:`sweep_table`, :func:`summarize`, :func:`compare_reference` — tidy tables for the verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from ..train import TrainConfig
from .step_table import STEP_SECONDS, equal_time_iterations, shape_key, step_seconds_path
from .tables import (
    compare_reference,
    history_table,
    paired_values,
    plateau_states,
    run_states,
    state_counts,
    states_by_run,
    summarize,
    sweep_table,
)

__all__ = [
    "MixtureSpec",
    "ImageSpec",
    "SweepRun",
    "sweep_table",
    "summarize",
    "compare_reference",
    "sweep_jobs",
    "step_seconds",
    "equal_time_iterations",
    "paired_values",
    "history_table",
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
"""Version of what a stored run's history and scores mean, part of :func:`sweep_jobs`' folder names, so that a change
of it retrains instead of reusing stale runs. 2 (issue #18):
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

    ``metrics``: floats (see :func:`~gpelib.gan.mixture_jobs.mixture_job` /
    :func:`~gpelib.gan.image_jobs.image_plateau_job`). ``latents`` ``(n, d)``: the latent points whose
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


def sweep_jobs(
    variants: Mapping[str, tuple[str, Mapping[str, Any]]],
    *,
    specs: Sequence[MixtureSpec | ImageSpec],
    archs: Sequence[str],
    seeds: Sequence[int],
    checkpoint_root: str | Path | None = None,
    **common: Any,
) -> list[dict[str, Any]]:
    """Job arguments for every ``spec × variant × arch × seed``, for :func:`~gpelib.gan.mixture_jobs.mixture_job` /
    :func:`~gpelib.gan.image_jobs.image_plateau_job` (grouped into batches by their ``*_jobs``).

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
# Seconds per iteration (a benchmark: reproduce/bench_gan.py; budgets are set by plateaus, SPEC §2)
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
    """The variants of notebook 09 for :func:`~gpelib.gan.image_jobs.image_plateau_jobs`: ``"<label><suffix>" →
    (method, hyper)`` for every GMEGAN reading of ``full`` and every ablation of ``ablations`` (``"GMEGAN λ1 = 0 (no
    GME)"`` → ``("gmegan", {"lambda1": 0.0})``)."""
    return {f"{label}{suffix}": (method, hyper) for label, method in full.values()
            for suffix, hyper in ablations.items()}
