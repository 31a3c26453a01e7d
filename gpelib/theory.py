"""Numerical forms of the papers' propositions (issue 15; ``../shared/THEORY.md`` restates each statement).

Everything here works on finite point sets ``X`` ``(n, D)`` and their images ``Y = T(X)`` ``(n, d)`` in float64, so
that the statements about the GME cost (GPE eq. 14) can be checked exactly on the empirical measure:

* :func:`gme_v` — the V-statistic GME cost ``(1/n²) Σ_{i,j} (log(1+|y_i−y_j|²) − log(1+|x_i−x_j|²))²`` (the
  diagonal terms are 0), and :func:`mds_v` — the squared-distance MDS cost of Remark 1;
* :func:`hessian` — the Hessian of such a cost in the latent coordinates ``Y`` (autograd), with the closed forms it
  is checked against: :func:`collapsed_hessian` (Prop. 2) and :func:`second_variation` (Thm 3);
* :func:`zero_modes` — how many eigenvalues vanish (rigid motions at an isometry);
* :func:`mixture_map`, :func:`mixture_map_slope_at_centre` — GPE Example 1: the monotone map pushing a symmetric
  two-Gaussian mixture onto N(0, 1) and its exact slope at the centre.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

__all__ = ["gme_v", "mds_v", "hessian", "collapsed_hessian", "second_variation", "zero_modes", "top_eigenvalue",
           "mixture_map", "mixture_map_slope_at_centre", "weak_bilipschitz_forms", "separated_pair_bounds"]


def _sq(a: Tensor) -> Tensor:
    """Pairwise squared distances ``(n, n)`` of the rows of ``a`` (exact differences, no Gram shortcut)."""
    return (a[:, None, :] - a[None, :, :]).square().sum(-1)


def gme_v(X: Tensor, Y: Tensor) -> Tensor:
    """V-statistic GME cost ``(1/n²) Σ_{i,j} (log(1+|y_i−y_j|²) − log(1+|x_i−x_j|²))²`` (GPE eq. 14 on the
    empirical measure, diagonal included); ``X`` ``(n, D)``, ``Y`` ``(n, d)``."""
    r = torch.log1p(_sq(Y)) - torch.log1p(_sq(X))
    return r.square().mean()


def mds_v(X: Tensor, Y: Tensor) -> Tensor:
    """Squared-distance MDS cost ``(1/n²) Σ_{i,j} (|y_i−y_j|² − |x_i−x_j|²)²`` (GPE Remark 1's comparison)."""
    return (_sq(Y) - _sq(X)).square().mean()


def hessian(cost: Callable[[Tensor, Tensor], Tensor], X: Tensor, Y: Tensor) -> Tensor:
    """``∂²cost(X, Y)/∂Y²`` as an ``(n·d, n·d)`` matrix (row-major in ``Y``), by autograd in float64."""
    X64, Y64 = X.double(), Y.double()
    n, d = Y64.shape
    H = torch.autograd.functional.hessian(lambda y: cost(X64, y.reshape(n, d)), Y64.reshape(-1))
    return H.reshape(n * d, n * d)


def collapsed_hessian(X: Tensor, d: int) -> Tensor:
    """Prop. 2's closed form: at a collapsed map ``Y ≡ y₀`` the Hessian of :func:`gme_v` is
    ``−(8/n²)·Lap(w) ⊗ I_d`` with ``w_ij = log(1+|x_i−x_j|²)`` and ``Lap(w) = diag(w·1) − w`` — negative
    semi-definite with exactly ``d`` zero eigenvalues (translations) when the points are distinct."""
    w = torch.log1p(_sq(X.double()))
    lap = torch.diag(w.sum(1)) - w
    n = X.shape[0]
    return torch.kron(-(8.0 / n**2) * lap, torch.eye(d, dtype=torch.float64))


def second_variation(X: Tensor, Y: Tensor, H: Tensor) -> Tensor:
    """Thm 3's exact second variation of :func:`gme_v` at ``Y`` in the direction ``H`` ``(n, d)``: with
    ``a = y_i − y_j``, ``b = h_i − h_j`` and ``R = log(1+|a|²) − log(1+|x_i−x_j|²)``,

        δ²C(Y)(H, H) = (1/n²) Σ_{i,j} [ 8(a·b)²/(1+|a|²)² + R·(4|b|²/(1+|a|²) − 8(a·b)²/(1+|a|²)²) ]."""
    X, Y, H = X.double(), Y.double(), H.double()
    a = Y[:, None, :] - Y[None, :, :]
    b = H[:, None, :] - H[None, :, :]
    u = a.square().sum(-1)
    ab = (a * b).sum(-1)
    R = torch.log1p(u) - torch.log1p(_sq(X))
    t = 8 * ab.square() / (1 + u).square() + R * (4 * b.square().sum(-1) / (1 + u) - 8 * ab.square() / (1 + u).square())
    return t.mean()


def zero_modes(H: Tensor, *, rtol: float = 1e-9) -> tuple[int, float, float]:
    """``(number of |eigenvalues| ≤ rtol·max|eigenvalue|, smallest, largest eigenvalue)`` of a symmetric ``H``."""
    ev = torch.linalg.eigvalsh(H.double())
    scale = float(ev.abs().max())
    return int((ev.abs() <= rtol * scale).sum()), float(ev.min()), float(ev.max())


def top_eigenvalue(H: Tensor) -> float:
    """The largest eigenvalue of a symmetric matrix."""
    return float(torch.linalg.eigvalsh(H.double()).max())


def mixture_map(x: np.ndarray, m0: float, sigma: float) -> np.ndarray:
    """GPE Example 1: ``T = Φ⁻¹ ∘ F_µ`` for ``µ = ½N(−m0, σ²) + ½N(m0, σ²)``: the monotone map pushing µ onto N(0, 1)
    (computed with log-survival functions on the right so the tails stay finite)."""
    from scipy.stats import norm

    x = np.asarray(x, dtype=np.float64)
    cdf = 0.5 * (norm.cdf(x, -m0, sigma) + norm.cdf(x, m0, sigma))
    sf = 0.5 * (norm.sf(x, -m0, sigma) + norm.sf(x, m0, sigma))
    return np.where(x <= 0, norm.ppf(cdf), norm.isf(sf))


def mixture_map_slope_at_centre(m0: float, sigma: float) -> float:
    """GPE eq. 17 at ``x = 0``: ``T'(0) = f_µ(0)/φ(0) = e^{−m0²/(2σ²)}/σ`` (exact for the symmetric mixture, since
    ``F_µ(0) = ½`` gives ``T(0) = 0``): the map contracts the gap between the modes exponentially in ``m0²``."""
    return math.exp(-m0**2 / (2 * sigma**2)) / sigma


def weak_bilipschitz_forms(dx2: np.ndarray, dy2: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Def. 1 (GMEGAN (3.6)) in its two forms, for squared pair distances ``dx2`` (data) and ``dy2`` (latent):
    ``α|Δx|² − (1−α) ≤ |Δy|² ≤ |Δx|²/α + (1/α − 1)`` and ``α ≤ (1+|Δy|²)/(1+|Δx|²) ≤ 1/α``; boolean arrays."""
    a = alpha
    first = (a * dx2 - (1 - a) <= dy2) & (dy2 <= dx2 / a + (1 / a - 1))
    ratio = (1 + dy2) / (1 + dx2)
    return first, (a <= ratio) & (ratio <= 1 / a)


def separated_pair_bounds(dx2: np.ndarray, dy2: np.ndarray, alpha: float, gamma: float) -> tuple[np.ndarray, ...]:
    """Prop. 1: on pairs in K_α with ``|Δx|² ≥ (1−α)/(αγ)`` the strong bounds ``α(1−γ)|Δx|² ≤ |Δy|² ≤
    (1/α + γ)|Δx|²`` hold. Returns ``(pairs the proposition covers, pairs among them meeting both bounds)``."""
    in_k = weak_bilipschitz_forms(dx2, dy2, alpha)[1]
    covered = in_k & (dx2 >= (1 - alpha) / (alpha * gamma))
    ok = (alpha * (1 - gamma) * dx2 <= dy2 * (1 + 1e-12)) & (dy2 <= (1 / alpha + gamma) * dx2 * (1 + 1e-12))
    return covered, covered & ok
