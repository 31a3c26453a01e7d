"""Generation metrics: Fréchet distances, KID, precision/recall, mode coverage, exact W2 (SPEC §1 "Metrics").

* :func:`frechet_distance` — ``‖µ1 − µ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2})`` with a true matrix square root,
  computed in float64 from the eigenvalues of ``Σ1^{1/2} Σ2 Σ1^{1/2}`` (SPEC §5; no ``scipy.linalg.sqrtm``).
* Features: the extractors live in :mod:`gpelib.features` (re-exported here): :class:`InceptionFeatures` (the
  standard FID network, **local weights only**; score name ``"FID"``) or :class:`ClassifierFeatures` (a small
  classifier gpelib trains on the real labelled data; score name ``"FD-classifier"``, never ``"FID"``).
  :func:`default_feature_extractor` picks one.
* :class:`FrechetScore` always carries the sample counts and the feature extractor (SPEC §5).
* Mode coverage (GMEGAN §6.3): :func:`class_counts`, :func:`relative_std`, :func:`mode_coverage`.
* :func:`wasserstein2_exact` — exact W2 between two point clouds with POT.
* Small-sample generation checks (issue 11): :func:`kernel_distance` (KID, unbiased, through ``torchmetrics``),
  :func:`precision_recall_density_coverage` (through ``prdc``), both in :func:`sample_quality` with the Fréchet
  distance against one *held-out* reference set; :func:`memorisation` (are samples closer to the training images
  than unseen real images are?).
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import linalg
from torch import Tensor

from .features import (
    INCEPTION_WEIGHTS_FILE,
    ArrayLike,
    ClassifierFeatures,
    ClassifierNet,
    FeatureExtractor,
    InceptionFeatures,
    WeightsNotFoundError,
    _as_tensor,
    build_classifier,
    default_feature_extractor,
    fid_inception_v3,
    find_inception_weights,
    train_classifier,
)

__all__ = [
    "frechet_distance",
    "gaussian_stats",
    "frechet_distance_from_features",
    "FeatureStats",
    "feature_stats",
    "FrechetScore",
    "frechet_score",
    "FeatureExtractor",
    "WeightsNotFoundError",
    "INCEPTION_WEIGHTS_FILE",
    "find_inception_weights",
    "fid_inception_v3",
    "InceptionFeatures",
    "ClassifierNet",
    "build_classifier",
    "ClassifierFeatures",
    "train_classifier",
    "default_feature_extractor",
    "class_counts",
    "relative_std",
    "mode_coverage",
    "wasserstein2_exact",
    "wasserstein1_exact",
    "kernel_distance",
    "kid_subsets",
    "precision_recall_density_coverage",
    "SampleQuality",
    "sample_quality",
    "Memorisation",
    "memorisation",
]


def _np64(a: Any, name: str) -> np.ndarray:
    arr = a.detach().cpu().double().numpy() if isinstance(a, Tensor) else np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


# ----------------------------------------------------------------------------------------------------------------
# Fréchet distance
# ----------------------------------------------------------------------------------------------------------------


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root via ``eigh``; tiny negative eigenvalues (round-off) are clamped to 0."""
    w, v = linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Fréchet (2-Wasserstein) distance between ``N(µ1, Σ1)`` and ``N(µ2, Σ2)`` — the FID formula (SPEC §1)::

        d² = ‖µ1 − µ2‖² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1 Σ2)^{1/2})

    ``Tr((Σ1 Σ2)^{1/2}) = Σ_k sqrt(max(λ_k, 0))`` with ``λ_k`` the eigenvalues of the symmetric PSD matrix
    ``Σ1^{1/2} Σ2 Σ1^{1/2}`` (similar to ``Σ1 Σ2``), all in float64 (SPEC §5: no ``scipy.linalg.sqrtm``).
    ``µ``: ``(F,)``; ``Σ``: ``(F, F)`` symmetric PSD. Returns ``d²`` (as FID does), clamped at 0 against round-off.
    Raises ``ValueError`` on non-finite input or mismatched shapes.
    """
    m1, m2 = _np64(mu1, "mu1"), _np64(mu2, "mu2")
    s1, s2 = _np64(sigma1, "sigma1"), _np64(sigma2, "sigma2")
    f = m1.shape[0] if m1.ndim == 1 else -1
    if m1.ndim != 1 or m2.shape != (f,) or s1.shape != (f, f) or s2.shape != (f, f):
        raise ValueError(
            f"shape mismatch: mu1 {m1.shape}, mu2 {m2.shape}, sigma1 {s1.shape}, sigma2 {s2.shape}; "
            "expected (F,), (F,), (F, F), (F, F)"
        )
    r1 = _psd_sqrt(s1)
    m = r1 @ ((s2 + s2.T) / 2) @ r1
    lam = linalg.eigvalsh((m + m.T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    diff = m1 - m2
    d = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * tr_sqrt
    return max(d, 0.0)


def gaussian_stats(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(F,)`` and covariance ``(F, F)`` (``ddof=1``) of ``features`` ``(N, F)``, in float64."""
    x = _np64(features, "features")
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must have shape (N ≥ 2, F); got {x.shape}")
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False, ddof=1))


def frechet_distance_from_features(f1: ArrayLike, f2: ArrayLike) -> float:
    """:func:`frechet_distance` between Gaussians fitted to ``f1`` ``(N1, F)`` and ``f2`` ``(N2, F)``."""
    return frechet_distance(*gaussian_stats(f1), *gaussian_stats(f2))


# ----------------------------------------------------------------------------------------------------------------
# scores
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class FeatureStats:
    """Gaussian statistics of one sample set's features, with where they came from (to reuse the real set's).
    ``features`` ``(n, F)`` are kept when asked (:func:`feature_stats` with ``keep=True``): KID and
    precision/recall need the points, not only their moments."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    extractor: str
    features: np.ndarray | None = field(default=None, repr=False)


def feature_stats(extractor: FeatureExtractor, images: ArrayLike, *, keep: bool = False) -> FeatureStats:
    """Features of ``images`` → mean, covariance (ddof=1) and count (and the features themselves if ``keep``)."""
    f = extractor(images)
    mu, sigma = gaussian_stats(f)
    return FeatureStats(mu=mu, sigma=sigma, n=f.shape[0], extractor=extractor.description,
                        features=f if keep else None)


@dataclass
class FrechetScore:
    """A Fréchet distance with what it means: ``metric`` (``"FID"`` or ``"FD-classifier"``), the sample counts
    and the feature extractor (SPEC §5: scores are only comparable at equal counts and features)."""

    value: float
    metric: str
    n_real: int
    n_fake: int
    extractor: str

    def __str__(self) -> str:
        return f"{self.metric} = {self.value:.4g} ({self.n_real} real vs {self.n_fake} generated; {self.extractor})"


def frechet_score(
    extractor: FeatureExtractor, real_images: ArrayLike | FeatureStats, fake_images: ArrayLike | FeatureStats
) -> FrechetScore:
    """Fréchet distance between the features of ``real_images`` and ``fake_images`` (each ``(N, ...)``, or
    precomputed :class:`FeatureStats`). Warns when a sample count does not exceed the feature dimension."""
    real = real_images if isinstance(real_images, FeatureStats) else feature_stats(extractor, real_images)
    fake = fake_images if isinstance(fake_images, FeatureStats) else feature_stats(extractor, fake_images)
    dim = real.mu.shape[0]
    if min(real.n, fake.n) <= dim:
        warnings.warn(f"{extractor.name} with {min(real.n, fake.n)} samples for {dim}-d features: the covariance is "
                      "singular and the score biased; use many more samples than feature dimensions", stacklevel=2)
    value = frechet_distance(real.mu, real.sigma, fake.mu, fake.sigma)
    return FrechetScore(value=value, metric=extractor.name, n_real=real.n, n_fake=fake.n,
                        extractor=extractor.description)


# ----------------------------------------------------------------------------------------------------------------
# mode coverage (GMEGAN §6.3) and exact W2
# ----------------------------------------------------------------------------------------------------------------


def class_counts(predictions: ArrayLike, n_classes: int) -> np.ndarray:
    """``n_i`` = number of predictions equal to ``i``, for ``i < n_classes``; shape ``(n_classes,)``."""
    p = np.asarray(predictions.cpu() if isinstance(predictions, Tensor) else predictions).astype(np.int64).ravel()
    if p.size and (p.min() < 0 or p.max() >= n_classes):
        raise ValueError(f"predictions must lie in [0, {n_classes}); got range [{p.min()}, {p.max()}]")
    return np.bincount(p, minlength=n_classes)


def relative_std(counts: ArrayLike) -> float:
    """``std(n_i, ddof=1) / mean(n_i)`` over the K class counts (GMEGAN §6.3; 0 = perfectly balanced)."""
    c = np.asarray(counts, dtype=np.float64).ravel()
    if c.size < 2:
        raise ValueError("need at least 2 class counts")
    if c.mean() <= 0:
        raise ValueError("all counts are zero")
    return float(c.std(ddof=1) / c.mean())


def mode_coverage(predictions: ArrayLike, n_classes: int, min_count: int = 1) -> int:
    """Number of classes predicted at least ``min_count`` times."""
    return int((class_counts(predictions, n_classes) >= min_count).sum())


def _emd_cost(a: ArrayLike, b: ArrayLike, metric: str, max_iter: int) -> float:
    """``min_π Σ π_ij c(a_i, b_j)`` between the uniform empirical measures of ``a`` ``(N, d)`` and ``b`` ``(M, d)``
    by network simplex (POT ``ot.emd2``), ``c`` = POT's ``metric`` (``"sqeuclidean"``, ``"euclidean"``)."""
    import ot

    x, y = _np64(a, "a"), _np64(b, "b")
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected (N, d) and (M, d); got {x.shape} and {y.shape}")
    cost = ot.dist(x, y, metric=metric)
    wa, wb = np.full(x.shape[0], 1.0 / x.shape[0]), np.full(y.shape[0], 1.0 / y.shape[0])
    return max(float(ot.emd2(wa, wb, cost, numItermax=max_iter)), 0.0)


def wasserstein2_exact(a: ArrayLike, b: ArrayLike, *, max_iter: int = 1_000_000) -> float:
    """Exact ``W2`` between the empirical measures of ``a`` ``(N, d)`` and ``b`` ``(M, d)`` (uniform weights,
    squared Euclidean cost) by network simplex (POT ``ot.emd2``): ``sqrt(min_π Σ π_ij ‖a_i − b_j‖²)``."""
    return math.sqrt(_emd_cost(a, b, "sqeuclidean", max_iter))


def wasserstein1_exact(a: ArrayLike, b: ArrayLike, *, max_iter: int = 1_000_000) -> float:
    """Exact ``W1`` between the empirical measures of ``a`` and ``b`` (Euclidean cost): ``min_π Σ π_ij ‖a_i − b_j‖``."""
    return _emd_cost(a, b, "euclidean", max_iter)

# ----------------------------------------------------------------------------------------------------------------
# small-sample generation checks: KID, precision/recall/density/coverage, memorisation
# ----------------------------------------------------------------------------------------------------------------


def kernel_distance(real: ArrayLike, fake: ArrayLike, *, degree: int = 3) -> float:
    """KID (Bińkowski et al. 2018): the unbiased estimate of ``MMD²`` between the feature sets ``real`` ``(n, F)``
    and ``fake`` ``(m, F)`` with the polynomial kernel ``k(a, b) = (aᵀb / F + 1)^degree`` (``torchmetrics``'
    ``poly_kernel``), on *all* points (no subsets), in float64::

        Σ_{i≠j} k(r_i, r_j) / (n(n−1)) + Σ_{i≠j} k(f_i, f_j) / (m(m−1)) − 2 Σ_{i,j} k(r_i, f_j) / (nm)

    (``torchmetrics``' own ``poly_mmd`` divides all three sums by the first set's size, which is this only when
    n = m). Unbiased: its expectation is 0 for two samples of one distribution at any sample size (the Fréchet
    distance's is not), so it can be negative."""
    from torchmetrics.image.kid import poly_kernel

    a, b = torch.from_numpy(_np64(real, "real")), torch.from_numpy(_np64(fake, "fake"))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(a.shape[0], b.shape[0]) < 2:
        raise ValueError(f"expected features (N ≥ 2, F) and (M ≥ 2, F); got {tuple(a.shape)} and {tuple(b.shape)}")
    n, m = a.shape[0], b.shape[0]
    k_aa, k_bb, k_ab = poly_kernel(a, a, degree), poly_kernel(b, b, degree), poly_kernel(a, b, degree)
    within = (k_aa.sum() - k_aa.trace()) / (n * (n - 1)) + (k_bb.sum() - k_bb.trace()) / (m * (m - 1))
    return float(within - 2.0 * k_ab.mean())


def kid_subsets(real: ArrayLike, fake: ArrayLike, *, n_subsets: int = 100, subset_size: int | None = None,
                degree: int = 3, seed: int = 0) -> tuple[float, float]:
    """KID as Bińkowski et al. (2018, §5) and ``torchmetrics`` report it: the mean and standard deviation of
    :func:`kernel_distance` over ``n_subsets`` pairs of random subsets, ``subset_size`` points drawn without
    replacement from each set (default: half the smaller set, so that the subsets differ). The spread says how much
    KID moves between draws at that n — a difference of two KIDs smaller than it is noise. Seeded: the same
    subsets for every call with the same sizes and ``seed``."""
    a, b = _np64(real, "real"), _np64(fake, "fake")
    m = subset_size if subset_size is not None else min(a.shape[0], b.shape[0]) // 2
    if not 2 <= m <= min(a.shape[0], b.shape[0]) or n_subsets < 1:
        raise ValueError(f"need 2 ≤ subset_size ≤ {min(a.shape[0], b.shape[0])} and n_subsets ≥ 1; got "
                         f"subset_size={m}, n_subsets={n_subsets}")
    rng = np.random.default_rng(seed)
    vals = [kernel_distance(a[rng.choice(a.shape[0], m, replace=False)], b[rng.choice(b.shape[0], m, replace=False)],
                            degree=degree) for _ in range(n_subsets)]
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if n_subsets > 1 else 0.0


def precision_recall_density_coverage(real: ArrayLike, fake: ArrayLike, *, nearest_k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` (Naeem et al. 2020, the ``prdc``
    package) from k-nearest-neighbour balls in feature space: precision/density = how many fakes fall inside real
    balls (fidelity), recall/coverage = how much of the real set the fakes reach (diversity)."""
    from prdc import compute_prdc

    a, b = _np64(real, "real").astype(np.float32), _np64(fake, "fake").astype(np.float32)
    if min(a.shape[0], b.shape[0]) <= nearest_k:
        raise ValueError(f"need more than nearest_k={nearest_k} points in each set; got {a.shape[0]} and {b.shape[0]}")
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the sample counts
        out = compute_prdc(real_features=a, fake_features=b, nearest_k=nearest_k)
    return {k: float(v) for k, v in out.items()}


@dataclass(frozen=True)
class SampleQuality:
    """Every score of one generated set against one reference set, in one feature space, at stated counts."""

    fd: float
    kid: float
    precision: float
    recall: float
    density: float
    coverage: float
    metric: str
    n_real: int
    n_fake: int
    nearest_k: int
    extractor: str
    kid_mean: float = math.nan  # KID over 100 subsets of half the points (kid_subsets): its mean and spread
    kid_std: float = math.nan


def sample_quality(extractor: FeatureExtractor, reference: FeatureStats, fake_images: ArrayLike, *,
                   nearest_k: int = 5) -> SampleQuality:
    """Fréchet distance, KID and precision/recall/density/coverage of ``fake_images`` against ``reference``
    (made with ``feature_stats(..., keep=True)``, ideally of held-out images the extractor never saw, with as many
    points as ``fake_images``: the Fréchet distance is biased upward at small n, so compare at matched n)."""
    if reference.features is None:
        raise ValueError("reference has no features: make it with feature_stats(extractor, images, keep=True)")
    fake = feature_stats(extractor, fake_images, keep=True)
    prdc = precision_recall_density_coverage(reference.features, fake.features, nearest_k=nearest_k)
    kid_mean, kid_std = kid_subsets(reference.features, fake.features)
    return SampleQuality(fd=frechet_score(extractor, reference, fake).value,
                         kid=kernel_distance(reference.features, fake.features), **prdc, metric=extractor.name,
                         n_real=reference.n, n_fake=fake.n, nearest_k=nearest_k, extractor=extractor.description,
                         kid_mean=kid_mean, kid_std=kid_std)


@dataclass(frozen=True)
class Memorisation:
    """How often generated samples sit closer to a training image than unseen real images do.

    ``rate``: fraction of samples whose nearest-training-image distance is below ``threshold``, the ``quantile`` of
    the held-out images' nearest-training-image distances: ≈ ``quantile`` for a generator that does not copy, → 1 for
    one that replays training images. ``median_ratio``: median sample distance ÷ median held-out distance."""

    rate: float
    quantile: float
    threshold: float
    median_ratio: float
    n_samples: int
    n_train: int
    n_heldout: int


def _nearest_distances(x: Tensor, ref: Tensor, chunk: int = 1024) -> Tensor:
    """``min_j ‖x_i − ref_j‖`` for each row of ``x`` ``(N, D)`` against ``ref`` ``(M, D)``, in float64 chunks."""
    out = [torch.cdist(x[i : i + chunk], ref).amin(1) for i in range(0, x.shape[0], chunk)]
    return torch.cat(out)


def memorisation(samples: ArrayLike, train: ArrayLike, heldout: ArrayLike, *, quantile: float = 0.05) -> Memorisation:
    """:class:`Memorisation` of ``samples`` against ``train``, calibrated on ``heldout`` (all ``(N, ...)`` in the
    same pixel space; distances are Euclidean on the flattened images)."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie in (0, 1); got {quantile}")
    s, t, h = (_as_tensor(a).double().flatten(1) for a in (samples, train, heldout))
    if not (s.shape[1] == t.shape[1] == h.shape[1]):
        raise ValueError(f"samples, train and heldout must have the same size per item; got {s.shape[1]}, "
                         f"{t.shape[1]}, {h.shape[1]}")
    ds, dh = _nearest_distances(s, t), _nearest_distances(h, t)
    threshold = float(torch.quantile(dh, quantile))
    return Memorisation(rate=float((ds < threshold).double().mean()), quantile=quantile, threshold=threshold,
                        median_ratio=float(ds.median() / dh.median()), n_samples=s.shape[0], n_train=t.shape[0],
                        n_heldout=h.shape[0])
