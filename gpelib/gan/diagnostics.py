"""Diagnostics specific to the GMEGAN paper: generator monotonicity (GMEGAN Appendix A.2), mode statistics on the
synthetic mixtures (GMEGAN §6.2, Fig. 5) and a cheap two-sample distance used as the GAN validation metric.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..losses import pairwise_sq_dists

__all__ = [
    "first_coordinates",
    "monotonicity_score",
    "transport_agreement",
    "cyclical_monotonicity",
    "procrustes_rotation",
    "ModeStats",
    "mode_stats",
    "energy_distance",
]

Map = Callable[[Tensor], Tensor]


def first_coordinates(k: int = 2) -> Map:
    """The fixed projection ``x ↦ (x_1, …, x_k)`` of flattened data, ``(B, ...) → (B, k)``: the ideal
    geometry-preserving encoder of the synthetic mixtures (GMEGAN eq. A.1), usable as ``T`` for methods without an
    encoder."""
    if k < 1:
        raise ValueError(f"k must be ≥ 1; got {k}")

    def project(x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)[:, :k]

    return project


@torch.no_grad()
def monotonicity_score(
    T: Map | None,
    G: Map,
    y: Tensor,
    *,
    max_pairs: int | None = 200_000,
    seed: int = 0,
    align: bool = False,
) -> float:
    """Fraction of pairs ``i ≠ j`` with ``⟨T(G(y_i)) − T(G(y_j)), y_i − y_j⟩ ≥ 0`` (GMEGAN eq. A.2).

    ``y``: ``(N, d)`` latents; ``G``: ``(N, d) → data``; ``T``: ``data → (N, d)`` (the method's encoder, or
    :func:`first_coordinates` ``(d)``; ``None`` means ``first_coordinates(d)``). A c_T-cyclically monotone generator
    scores 1 (GMEGAN Appendix A.2); a random map about ½; an anti-monotone one 0. Ties (``= 0``) count as monotone.
    The inner product is symmetric in ``(i, j)``, so the fraction over unordered pairs is reported: all of them when
    ``N(N−1)/2 ≤ max_pairs`` (or ``max_pairs`` is ``None``), else ``max_pairs`` pairs drawn uniformly with ``seed``.

    ``align=True`` first rotates (or reflects) ``u = T(G(y))`` by the orthogonal ``Q`` that best maps the centred
    ``u`` onto the centred ``y`` (orthogonal Procrustes, ``Q = argmin ‖(u − ū)Q − (y − ȳ)‖_F``). A generator is only
    defined up to such a map — ``G(Qy)`` has the same law as ``G(y)`` for ``y ~ N(0, I)`` — and GMEGAN's encoder
    recovers the plane only "up to an orthogonal transformation" (GMEGAN §6.2), so the aligned score is the one to
    compare methods by; a rotated monotone map scores 1 aligned and below 1 without alignment.
    """
    if y.ndim != 2:
        raise ValueError(f"y must have shape (N, d); got {tuple(y.shape)}")
    n, d = y.shape
    if n < 2:
        raise ValueError("need at least two latent points")
    T = T if T is not None else first_coordinates(d)
    u = T(G(y)).reshape(n, -1).to(torch.float64)
    if u.shape[1] != d:
        raise ValueError(f"T(G(y)) has {u.shape[1]} coordinates but y has {d}; the inner product needs the same "
                         f"dimension (pass T=first_coordinates({d}) for a method without an encoder)")
    yy = y.to(device=u.device, dtype=torch.float64)
    if align:
        u = u @ procrustes_rotation(u, yy)
    n_pairs = n * (n - 1) // 2
    if max_pairs is None or n_pairs <= max_pairs:
        m = u @ yy.T  # m_ij = ⟨u_i, y_j⟩
        diag = torch.diagonal(m)
        inner = diag[:, None] + diag[None, :] - m - m.T
        iu = torch.triu_indices(n, n, offset=1, device=u.device)
        vals = inner[iu[0], iu[1]]
    else:
        g = torch.Generator().manual_seed(seed)
        i = torch.randint(n, (max_pairs,), generator=g)
        j = (i + torch.randint(1, n, (max_pairs,), generator=g)) % n  # uniform over j ≠ i
        i, j = i.to(u.device), j.to(u.device)
        vals = ((u[i] - u[j]) * (yy[i] - yy[j])).sum(dim=1)
    return float((vals >= 0).double().mean())


@torch.no_grad()
def cyclical_monotonicity(
    T: Map | None,
    G: Map,
    y: Tensor,
    *,
    k: int = 3,
    n_tuples: int = 20_000,
    seed: int = 0,
    align: bool = False,
) -> float:
    """Fraction of random ``k``-tuples of the set ``Γ = {(G(y_i), y_i)}`` that are ``c_T``-cyclically monotone for
    ``c_T(x, y) = ‖T(x) − y‖²/2`` (GMEGAN Definition 1, Theorem 3): with ``u_i = T(G(y_i))``, a tuple passes when
    ``Σ_i c_T(x_i, y_i) ≤ Σ_i c_T(x_σ(i), y_i)`` for *every* permutation ``σ`` of its ``k`` points, i.e.
    ``Σ_i ⟨u_i, y_i⟩ ≥ Σ_i ⟨u_σ(i), y_i⟩`` (the squared norms cancel). ``k = 2`` is the eq. A.2 pair condition; a
    c_T-CM generator scores 1 for every ``k``, a random map less the larger ``k`` is (``1/k!`` of the orderings).

    ``T``, ``G``, ``y`` and ``align`` as in :func:`monotonicity_score` (``T=None``: the first ``d`` coordinates).
    ``n_tuples`` tuples of distinct indices are drawn with ``seed``.
    """
    import itertools

    if y.ndim != 2 or y.shape[0] < k:
        raise ValueError(f"y must have shape (N ≥ k, d); got {tuple(y.shape)} for k = {k}")
    if k < 2:
        raise ValueError(f"k must be ≥ 2; got {k}")
    n, d = y.shape
    T = T if T is not None else first_coordinates(d)
    u = T(G(y)).reshape(n, -1).to(torch.float64)
    if u.shape[1] != d:
        raise ValueError(f"T(G(y)) has {u.shape[1]} coordinates but y has {d}")
    yy = y.to(device=u.device, dtype=torch.float64)
    if align:
        u = u @ procrustes_rotation(u, yy)
    g = torch.Generator().manual_seed(seed)
    idx = torch.empty(0, k, dtype=torch.long)
    while len(idx) < n_tuples:  # k distinct indices a row: draw with replacement, drop rows with a repeat
        draw = torch.randint(n, (2 * n_tuples, k), generator=g)
        distinct = (draw.sort(dim=1).values.diff(dim=1) != 0).all(dim=1)
        idx = torch.cat([idx, draw[distinct]])
    idx = idx[:n_tuples].to(u.device)
    m = torch.einsum("tid,tjd->tij", u[idx], yy[idx])  # m[t, i, j] = ⟨u_i, y_j⟩ within tuple t
    own = torch.diagonal(m, dim1=1, dim2=2).sum(1)
    ok = torch.ones(n_tuples, dtype=torch.bool, device=u.device)
    rows = torch.arange(k, device=u.device)
    for perm in itertools.permutations(range(k)):
        if perm == tuple(range(k)):
            continue
        other = m[:, torch.tensor(perm, device=u.device), rows].sum(1)  # Σ_i ⟨u_σ(i), y_i⟩
        ok &= own >= other - 1e-12 * (own.abs() + other.abs())
    return float(ok.double().mean())


@torch.no_grad()
def transport_agreement(
    y: Tensor,
    generated: Tensor,
    data: Tensor,
    assign: Callable[[Tensor], Tensor],
    *,
    align: bool = True,
    seed: int = 0,
) -> float:
    """How often the generator sends a latent point where the *optimal* (monotone) transport map from the latent law
    to the data would send it: the fraction of ``i`` with ``assign(G̃(y_i)) = assign(x_σ(i))``, ``σ`` the exact
    optimal assignment of the latents ``y_i`` to ``n`` data points for the quadratic cost (the empirical Brenier
    map, scipy's ``linear_sum_assignment``).

    ``y``: ``(n, d)`` latents; ``generated``: ``(n, ≥d)`` their images ``G(y)`` in the space where ``assign`` works
    (the mixture's plane: the first ``d`` coordinates are used); ``data``: ``(m ≥ n, ≥d)`` data points (``n`` drawn with
    ``seed`` when ``m > n``); ``assign``: point → class (a mixture's nearest mode, ``Mixture.assign``). The
    assignment ignores any scaling and shift of ``y``; with ``align`` the latents are first rotated into the
    generator's frame by the orthogonal Procrustes map ``Q`` of ``G̃(y)`` onto ``y`` (generators are defined up to an
    orthogonal map of their latent, see :func:`monotonicity_score`).

    Unlike the eq. A.2 fraction, which a collapsed generator passes (a tiny monotone map scores 1), this score needs
    both order and coverage: near 1 for a generator equal to the Brenier map (0.85–0.9 at n = 600–1,000 on the 3×3
    grid: the latents and the data are both samples, so points near a boundary between two modes' cells go either
    way), about ``Σ_k p_k q_k`` (≈ 1/K) for a generator that collapses onto one mode or ignores the latent's order.
    """
    from scipy.optimize import linear_sum_assignment

    if y.ndim != 2:
        raise ValueError(f"y must have shape (n, d); got {tuple(y.shape)}")
    n, d = y.shape
    u = generated.reshape(len(generated), -1)[:, :d].to("cpu", torch.float64)
    v = data.reshape(len(data), -1).to("cpu", torch.float64)
    if u.shape[0] != n or u.shape[1] != d or v.shape[1] < d:
        raise ValueError(f"need generated (n={n}, ≥{d}) and data (m ≥ n, ≥{d}); got {tuple(generated.shape)} "
                         f"and {tuple(data.shape)}")
    if len(v) < n:
        raise ValueError(f"need at least as many data points as latents ({n}); got {len(v)}")
    if len(v) > n:
        v = v[torch.randperm(len(v), generator=torch.Generator().manual_seed(seed))[:n]]
    yy = y.to("cpu", torch.float64)
    if align:
        yy = yy @ procrustes_rotation(u, yy).T  # u Q ≈ y, so y Qᵀ is the latent in the generator's frame
    cost = -(yy @ v[:, :d].T)  # argmin Σ ‖y_i − v_σ(i)‖² = argmax Σ ⟨y_i, v_σ(i)⟩
    rows, cols = linear_sum_assignment(cost.numpy())
    target = torch.as_tensor(assign(v[cols].to(data.dtype)))
    got = torch.as_tensor(assign(generated.reshape(n, -1)[rows].to("cpu")))
    return float((got == target).double().mean())


def procrustes_rotation(a: Tensor, b: Tensor) -> Tensor:
    """The orthogonal ``Q`` ``(d, d)`` minimising ``‖(a − ā)Q − (b − b̄)‖_F`` for ``a``, ``b`` of shape ``(N, d)``:
    ``Q = U Vᵀ`` from the SVD ``(a − ā)ᵀ(b − b̄) = U Σ Vᵀ`` (Schönemann 1966). Reflections are allowed."""
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two (N, d) tensors of the same shape; got {tuple(a.shape)} and {tuple(b.shape)}")
    a0 = (a - a.mean(0)).to(torch.float64)
    b0 = (b - b.mean(0)).to(device=a.device, dtype=torch.float64)
    u, _, vh = torch.linalg.svd(a0.T @ b0)
    return (u @ vh).to(a.dtype)


@dataclass
class ModeStats:
    """Mode statistics of generated samples on a mixture (GMEGAN §6.2).

    ``counts``: high-quality samples per mode ``(K,)``; ``modes_covered``: modes with ``counts ≥ min_count``;
    ``high_quality_fraction``: fraction of all samples within ``n_std·std`` of their nearest centre;
    ``assigned``: all samples per nearest mode ``(K,)``.
    """

    modes_covered: int
    high_quality_fraction: float
    counts: np.ndarray
    assigned: np.ndarray
    n_modes: int
    min_count: int
    n_std: float

    @property
    def covered(self) -> np.ndarray:
        """Bool ``(K,)``: which modes are covered."""
        return self.counts >= self.min_count


def mode_stats(
    samples: Tensor,
    mixture_centres_2d: Tensor,
    std: float,
    n_std: float = 3.0,
    *,
    min_share: float = 0.1,
) -> ModeStats:
    """Mode coverage and sample quality on a mixture whose centres lie in the first two coordinates.

    Each sample ``(N, ≥2)`` (flattened) is assigned to the nearest centre in its first two coordinates; it is *high
    quality* if that distance is ≤ ``n_std · std`` (``std``: the per-coordinate standard deviation of the modes in
    that plane, e.g. ``Mixture.std_major``). A mode is *covered* if it receives at least
    ``min_count = max(1, ceil(min_share · N / K))`` high-quality samples, i.e. ``min_share`` (default 10 %) of the
    share a uniform generator would give it. ``mixture_centres_2d``: ``(K, ≥2)``; only the first two columns are used.
    """
    x = torch.as_tensor(samples).detach().reshape(len(samples), -1).to("cpu", torch.float64)
    c = torch.as_tensor(mixture_centres_2d).detach().to("cpu", torch.float64)
    if x.shape[1] < 2 or c.ndim != 2 or c.shape[1] < 2:
        raise ValueError(f"need samples (N, >=2) and centres (K, >=2); got {tuple(x.shape)}, {tuple(c.shape)}")
    if std <= 0 or n_std <= 0 or not 0 < min_share <= 1:
        raise ValueError(f"need std > 0, n_std > 0, 0 < min_share ≤ 1; got {std}, {n_std}, {min_share}")
    n, k = x.shape[0], c.shape[0]
    dist = torch.cdist(x[:, :2], c[:, :2])
    nearest_d, nearest = dist.min(dim=1)
    good = nearest_d <= n_std * std
    counts = np.bincount(nearest[good].numpy(), minlength=k)
    assigned = np.bincount(nearest.numpy(), minlength=k)
    min_count = max(1, math.ceil(min_share * n / k))
    return ModeStats(
        modes_covered=int((counts >= min_count).sum()),
        high_quality_fraction=float(good.double().mean()) if n else math.nan,
        counts=counts,
        assigned=assigned,
        n_modes=k,
        min_count=min_count,
        n_std=float(n_std),
    )


@torch.no_grad()
def energy_distance(a: Tensor, b: Tensor) -> float:
    """Squared energy distance ``2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖`` between the samples ``a`` ``(N, ...)`` and
    ``b`` ``(M, ...)`` (flattened), the within-sample terms as U-statistics (pairs ``i ≠ j``), in float64.

    Zero in expectation when both samples come from the same law (it can then be slightly negative); used as the
    default GAN validation metric of :func:`gpelib.gan.train_gan`.
    """
    x = a.reshape(a.shape[0], -1).to(torch.float64)
    y = b.reshape(b.shape[0], -1).to(device=x.device, dtype=torch.float64)
    if x.shape[1] != y.shape[1] or x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"need two samples of ≥ 2 points of equal dimension; got {tuple(x.shape)}, {tuple(y.shape)}")
    n, m = x.shape[0], y.shape[0]
    dxy = pairwise_sq_dists(x, y).sqrt().mean()
    dxx = pairwise_sq_dists(x).fill_diagonal_(0.0).sqrt().sum() / (n * (n - 1))
    dyy = pairwise_sq_dists(y).fill_diagonal_(0.0).sqrt().sum() / (m * (m - 1))
    return float(2 * dxy - dxx - dyy)
