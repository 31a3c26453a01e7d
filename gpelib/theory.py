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
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike
from scipy.spatial.distance import pdist
from torch import Tensor

from .metrics import wasserstein1_exact

__all__ = ["jl_chart_embedding", "JLEmbedding",
           "gme_v", "mds_v", "hessian", "collapsed_hessian", "second_variation", "second_variation_bounds",
           "zero_modes", "top_eigenvalue",
           "power_law_exponent", "mixture_map", "mixture_map_slope_at_centre", "weak_bilipschitz_forms",
           "separated_pair_bounds",
           "k_alpha_mass_v",
           "gme_gradient_descent", "lemma3_sides", "thm6_core", "decoder_hessian_1d", "small_gme_decoder_conditioning",
           "remark3_hessian", "gme_u", "stretch_map", "gme_concentration", "lemma6_pair_bound",
           "discriminator_modulus"]


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


def second_variation_bounds(X: Tensor, Y: Tensor, H: Tensor) -> tuple[float, float, float]:
    """Thm 3's two-sided bound in the form THEORY.md §9 derives from the proof outline (Hölder; the paper's constants
    are lost): with ``‖h‖_Lip = max_{i≠j} |h_i − h_j|/|x_i − x_j|`` and V-statistic means ``E`` over the pairs,

        −4√C·‖h‖²_Lip·(E|Δx|⁴)^{1/2}  ≤  δ²C(Y)(H, H)  ≤  ‖h‖²_Lip·[2E|Δx|² + 4√C·(E|Δx|⁴)^{1/2}],

    ``C`` = :func:`gme_v` ``(X, Y)``. Returns ``(lower, δ²C, upper)``; the lower bound → 0 with the cost."""
    X, Y, H = X.double(), Y.double(), H.double()
    dx2 = _sq(X)
    off = ~torch.eye(X.shape[0], dtype=torch.bool)
    lip2 = float((_sq(H)[off] / dx2[off]).max())
    root_c = math.sqrt(float(gme_v(X, Y)))
    m4 = math.sqrt(float(dx2.square().mean()))
    return (-4 * root_c * lip2 * m4, float(second_variation(X, Y, H)),
            lip2 * (2 * float(dx2.mean()) + 4 * root_c * m4))


def zero_modes(H: Tensor, *, rtol: float = 1e-9) -> tuple[int, float, float]:
    """``(number of |eigenvalues| ≤ rtol·max|eigenvalue|, smallest, largest eigenvalue)`` of a symmetric ``H``."""
    ev = torch.linalg.eigvalsh(H.double())
    scale = float(ev.abs().max())
    return int((ev.abs() <= rtol * scale).sum()), float(ev.min()), float(ev.max())


def top_eigenvalue(H: Tensor) -> float:
    """The largest eigenvalue of a symmetric matrix."""
    return float(torch.linalg.eigvalsh(H.double()).max())


def power_law_exponent(x: ArrayLike, y: ArrayLike) -> float:
    """The exponent ``k`` of ``y ≈ c·x^k``: the least-squares slope of ``log y`` on ``log x`` (the growth rates the
    shape-only checks compare, e.g. Remark 1's L² growth)."""
    return float(np.polyfit(np.log(np.asarray(x, dtype=np.float64)), np.log(np.asarray(y, dtype=np.float64)), 1)[0])


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


def k_alpha_mass_v(X: Tensor, Y: Tensor, alphas: list[float]) -> np.ndarray:
    """``µ²[K_α]`` under the V-statistic pair measure (all ``n²`` ordered pairs, the diagonal included — it always
    lies in K_α), the normalisation that matches :func:`gme_v` in Thm 2: ``(n + (n² − n)·f_α)/n²`` with ``f_α`` the
    off-diagonal fraction of :func:`gpelib.geometry.fraction_in_k_alpha`."""
    from .geometry import fraction_in_k_alpha

    n = X.shape[0]
    return (n + (n * n - n) * fraction_in_k_alpha(X, Y, alphas)) / n**2


def separated_pair_bounds(dx2: np.ndarray, dy2: np.ndarray, alpha: float, gamma: float) -> tuple[np.ndarray, ...]:
    """Prop. 1: on pairs in K_α with ``|Δx|² ≥ (1−α)/(αγ)`` the strong bounds ``α(1−γ)|Δx|² ≤ |Δy|² ≤
    (1/α + γ)|Δx|²`` hold. Returns ``(pairs the proposition covers, pairs among them meeting both bounds)``."""
    in_k = weak_bilipschitz_forms(dx2, dy2, alpha)[1]
    covered = in_k & (dx2 >= (1 - alpha) / (alpha * gamma))
    ok = (alpha * (1 - gamma) * dx2 <= dy2 * (1 + 1e-12)) & (dy2 <= (1 / alpha + gamma) * dx2 * (1 + 1e-12))
    return covered, covered & ok


def gme_gradient_descent(X: Tensor, Y0: Tensor, steps: int) -> dict[str, np.ndarray]:
    """Cor. 1's experiment: plain gradient descent ``Y_{k+1} = Y_k − ∇C(Y_k)/λ̂_k`` on :func:`gme_v`, with ``λ̂_k``
    the largest Hessian eigenvalue seen so far along the run. Returns arrays ``cost`` (C(Y_k), k = 0…steps),
    ``grad_sq`` (|∇C(Y_k)|², k < steps) and ``lam`` (λ̂_k); Cor. 1 then says C is non-increasing and
    ``min_{k<K} |∇C(Y_k)|² ≤ 2 λ̂ C(Y_0) / K`` for every K."""
    X64, Y = X.double(), Y0.double().clone()
    cost, grad_sq, lam, top = [], [], [], 0.0
    for _ in range(steps):
        y = Y.clone().requires_grad_(True)
        c = gme_v(X64, y)
        (g,) = torch.autograd.grad(c, y)
        ev = torch.linalg.eigvalsh(hessian(gme_v, X64, Y))
        top = max(top, float(ev.max()))
        if top <= 1e-9 * float(ev.abs().max()):
            raise ValueError("no positive curvature seen (a collapsed start is a saddle, Prop. 2): start from a "
                             "non-degenerate Y0")
        cost.append(float(c.detach()))
        grad_sq.append(float(g.square().sum()))
        lam.append(top)
        Y = Y - g / top
    cost.append(float(gme_v(X64, Y)))
    return {"cost": np.array(cost), "grad_sq": np.array(grad_sq), "lam": np.array(lam)}


def lemma3_sides(A: np.ndarray, samples: int, seed: int = 0) -> tuple[float, float, float]:
    """GPE Lemma 3 for a linear map ``A`` ``(d, m)``: the sphere average ``F = ⨍ (|Av|² − 1)² dσ(v)`` by Monte Carlo
    (``samples`` uniform directions) against the identity ``(2Σ(λ_i−1)² + (Σ(λ_i−1))²)/(m(m+2))``, λ_i the
    eigenvalues of ``AᵀA``. Returns ``(Monte Carlo mean, its standard error, closed form)``."""
    A = np.asarray(A, dtype=np.float64)
    m = A.shape[1]
    v = np.random.default_rng(seed).standard_normal((samples, m))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    f = (np.square(v @ A.T).sum(1) - 1.0) ** 2
    lam = np.linalg.eigvalsh(A.T @ A) - 1.0
    return float(f.mean()), float(f.std(ddof=1) / math.sqrt(samples)), float((2 * (lam**2).sum() + lam.sum() ** 2)
                                                                            / (m * (m + 2)))


def thm6_core(X: np.ndarray, T: np.ndarray, S: Callable[[np.ndarray], np.ndarray], rho: np.ndarray,
              ) -> tuple[float, float, float]:
    """The constant-free core of GPE Thm 6 (Step 1 with Lemma 4) for a linear encoder ``x ↦ Tx`` that is
    α-bi-Lipschitz on the span of the data ``X`` ``(n, D)`` (α = its smallest singular value there, ≤ 1 ≤ the
    largest's inverse), a decoder ``S`` and any latent point cloud ``rho`` ``(k, d)``:

        W₁(µ_n, S#ρ) ≤ α⁻¹ W₁(T#µ_n, ρ) + E_ρ|T⁻¹y − S(y)|,

    exact W₁ through POT (``ot.emd2``, Euclidean cost); ``T⁻¹`` is the pseudo-inverse. Returns ``(left side, right
    side, α)``."""
    X, T, rho = (np.asarray(a, dtype=np.float64) for a in (X, T, rho))
    sv = np.linalg.svd(T, compute_uv=False)
    alpha = float(min(sv[sv > 1e-12].min(), 1 / sv.max()))
    Tinv = np.linalg.pinv(T)
    lhs = wasserstein1_exact(X, S(rho))
    rhs = wasserstein1_exact(X @ T.T, rho) / alpha + float(np.linalg.norm(rho @ Tinv.T - S(rho), axis=1).mean())
    return lhs, rhs, alpha


def _thm4_family(alpha: float, rho: tuple[float, float], pieces: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thm 4's extreme 1-D family: ``(dens, slope, t_edges)`` — µ's density on each of ``pieces`` equal pieces of
    [0, 1] (alternating ρ_min, ρ_max, normalised), the encoder's slope there (low density stretched by 1/α, high
    density compressed by α) and the edges of the image pieces (T is piecewise linear)."""
    low = np.arange(pieces) % 2 == 0
    dens = np.where(low, rho[0], rho[1])
    dens = dens / dens.mean()  # a probability density on [0, 1], constant on each piece of length 1/pieces
    slope = np.where(low, 1 / alpha, alpha)
    return dens, slope, np.concatenate([[0.0], np.cumsum(slope / pieces)])


def decoder_hessian_1d(alpha: float, *, bins: int = 64, rho: tuple[float, float] = (0.5, 1.5), pieces: int = 8
                       ) -> dict[str, float]:
    """GPE Thm 4 with m = 1, made exact: µ on M = [0, 1] with density ρ alternating between ``rho = (ρ_min, ρ_max)``
    on ``pieces`` equal pieces, and a monotone encoder ``T`` whose slope alternates between ``α`` and ``1/α`` on the
    same pieces (the extreme bi-Lipschitz case: T#µ then has densities ρ/α and αρ). The decoder ``S`` is expanded in
    ``bins`` indicator functions on ``T(M)`` (each image piece cut into ``bins/pieces`` equal parts), orthonormal in
    ``L²(T(M), vol)``, so the objective
    ``L(S) = E_µ|x − S(Tx)|²`` is quadratic and its Hessian is ``2·diag(T#µ(bin_j)/|bin_j|)``: its eigenvalues are
    twice the bin averages of the pushforward density, which Thm 4 (eq. 31) puts in ``[2αρ_min, 2ρ_max/α]``.

    Returns ``lambda_min``, ``lambda_max``, the bounds ``lower = 2αρ_min``, ``upper = 2ρ_max/α``, ``kappa`` and the
    number of gradient-descent iterations with step ``1/λ_max`` that shrink the distance to the minimiser below
    ``1e-6`` of its start (from a start with every coordinate equal) — Thm 4's rate ``(1 − 1/κ)^k`` bounds it."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must lie in (0, 1]; got {alpha}")
    dens, slope, t_edges = _thm4_family(alpha, rho, pieces)
    push = dens / slope  # the density of T#µ on each image piece (change of variables)
    # bins: each image piece cut into equal parts, so no bin mixes two pieces (a coarse grid would average the
    # extremes away as α → 0 and hide the α⁻² conditioning)
    per = max(1, bins // pieces)
    edges = np.unique(np.concatenate([np.linspace(a, b, per + 1) for a, b in zip(t_edges[:-1], t_edges[1:])]))
    overlap = np.clip(np.minimum(edges[1:, None], t_edges[None, 1:]) - np.maximum(edges[:-1, None], t_edges[None, :-1]),
                      0.0, None)  # (bins, pieces) lengths
    lam = 2 * (overlap @ push) / np.diff(edges)
    lo, hi = float(lam.min()), float(lam.max())
    r_lo, r_hi = float(dens.min()), float(dens.max())
    err = np.ones(bins)
    k = 0
    while np.abs(err).max() > 1e-6 and k < 10_000_000:  # GD on a diagonal quadratic: each coordinate contracts
        err = err * (1 - lam / hi)
        k += 1
    return {"lambda_min": lo, "lambda_max": hi, "lower": 2 * alpha * r_lo, "upper": 2 * r_hi / alpha,
            "kappa": hi / lo, "gd_iterations": float(k)}


@dataclass(frozen=True)
class JLEmbedding:
    """GPE Thm 1's construction on a closed curve (see :func:`jl_chart_embedding`). ``X`` ``(n, D)`` samples, ``T``
    ``(n, d)`` their images, ``s`` arclengths, ``chart`` chart index per point, ``r`` chart radius (half an arc),
    ``tau`` the boundary-layer width, ``alpha`` the largest α with α ≤ ‖Tx − Tx′‖/‖x − x′‖ ≤ 1/α on every kept pair,
    ``excluded`` the fraction of pairs in the boundary layer (different charts, closer than ``tau``)."""

    X: np.ndarray
    T: np.ndarray
    s: np.ndarray
    chart: np.ndarray
    r: float
    tau: float
    alpha: float
    excluded: float


def jl_chart_embedding(n: int, charts: int, d: int, *, ambient: int = 50, harmonics: int = 5, seed: int = 0
                       ) -> JLEmbedding:
    """GPE Thm 1 (existence via Johnson–Lindenstrauss; THEORY.md §5, eq. 13) on a closed curve in ``R^ambient``.

    Curve: ``x(θ) = Q (a_k cos kθ, a_k sin kθ)_{k ≤ K}`` with ``a_k = 1/k`` and ``Q`` a random ``ambient × 2K``
    matrix with orthonormal columns, so the speed is ``‖x′(θ)‖ = √K`` and the arclength ``s = √K θ`` exactly; ``µ``
    uniform in arclength (``n`` samples). Charts: ``charts`` equal arcs ``V_i`` with centres ``c_i`` (mid-arc),
    ``φ_i`` = arclength from the centre, radius ``r`` = half an arc. Map (eq. 13):
    ``T(x) = P c_i + ι(φ_i(x))`` with ``P`` a Gaussian ``d × ambient`` JL matrix (entries ``N(0, 1/d)``) and
    ``ι: R → R^d`` an isometric injection (a random unit vector). Kept pairs ``K``: both points in one chart, or
    farther apart than the boundary-layer width ``τ = √r`` (which → 0 with ``r``, while the O(r) offset mismatch
    of adjacent charts, relative to ``τ``, → 0 too). The theorem's constants are lost: its shape is what can be
    checked — 1 − α falls as d grows and as r shrinks, and the excluded mass → 0.
    """
    if n < 2 or charts < 1 or d < 1 or harmonics < 1 or ambient < 2 * harmonics:
        raise ValueError(f"need n ≥ 2, charts ≥ 1, d ≥ 1, 1 ≤ harmonics ≤ ambient/2; got {n}, {charts}, {d}, "
                         f"{harmonics}, {ambient}")
    rng = np.random.default_rng(seed)
    k = np.arange(1, harmonics + 1)
    a = 1.0 / k
    speed = math.sqrt(harmonics)  # ‖x′(θ)‖² = Σ k² a_k² = K
    Q, _ = np.linalg.qr(rng.standard_normal((ambient, 2 * harmonics)))

    def x_of(theta: np.ndarray) -> np.ndarray:
        return np.concatenate([a * np.cos(np.outer(theta, k)), a * np.sin(np.outer(theta, k))], 1) @ Q.T

    length = 2 * math.pi * speed
    theta = np.sort(rng.uniform(0, 2 * math.pi, n))
    s = theta * speed
    X = x_of(theta)
    arc = length / charts
    chart = np.minimum((s // arc).astype(int), charts - 1)
    mid = (np.arange(charts) + 0.5) * arc
    C = x_of(mid / speed)
    P = rng.standard_normal((d, ambient)) / math.sqrt(d)
    e = rng.standard_normal(d)
    e /= np.linalg.norm(e)
    T = C[chart] @ P.T + np.outer(s - mid[chart], e)
    r = arc / 2
    tau = math.sqrt(r)
    dx, dt = pdist(X), pdist(T)  # pairs i < j in the order of np.triu_indices(n, 1)
    keep = (chart[:, None] == chart[None])[np.triu_indices(n, 1)] | (dx >= tau)
    ratio = dt[keep] / dx[keep]
    alpha = float(min(ratio.min(), 1.0 / ratio.max()))
    return JLEmbedding(X=X, T=T, s=s, chart=chart, r=r, tau=tau, alpha=alpha, excluded=float(1.0 - keep.mean()))


# ------------------------------------------------------------------------------------------------------------------
# GPE Lemma 2, Thm 5 and Remark 3 (m = 1); GPE Prop 6 and Lemma 6 (Thm 7); GMEGAN Prop 2
# ------------------------------------------------------------------------------------------------------------------


def _piecewise_1d(alpha: float, rho: tuple[float, float], pieces: int, grid: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`decoder_hessian_1d`'s µ and encoder on a midpoint grid of ``grid`` cells of [0, 1]: returns the cell
    centres ``x``, their µ-masses ``w`` (Σ = 1), ``T(x)`` and ``T′(x)`` (exact: T is piecewise linear)."""
    dens, slope, t_edges = _thm4_family(alpha, rho, pieces)
    x = (np.arange(grid) + 0.5) / grid
    piece = np.minimum((x * pieces).astype(int), pieces - 1)
    t = t_edges[piece] + slope[piece] * (x - piece / pieces)
    w = dens[piece] / grid
    return x, w / w.sum(), t, slope[piece]


def small_gme_decoder_conditioning(alpha: float, *, rho: tuple[float, float] = (0.5, 1.5), pieces: int = 8,
                                   bins: int = 64, grid: int = 800) -> dict[str, float]:
    """GPE Lemma 2 and Thm 5 with m = 1 (THEORY.md §11), on :func:`decoder_hessian_1d`'s family: µ on [0, 1] with a
    density alternating between ``ρ_min, ρ_max`` and a piecewise-linear encoder of slopes ``1/α, α`` (α → 1: an
    isometry). Returns

    * ``gme`` — the population GME cost ``C(T) = ∬ (log(1+|Tx−Tx′|²) − log(1+|x−x′|²))² dµ(x)dµ(x′)`` (midpoint
      quadrature on ``grid`` cells; the integrand is smooth, the error O(grid⁻²));
    * ``f_integral`` — Lemma 2's ``∫F_T dµ``, here ``F_T(x) = (T′(x)² − 1)²`` (eq. 34 for m = 1), exact;
    * ``kappa`` — the decoder objective's condition number (:func:`decoder_hessian_1d`) and ``kappa_limit`` =
      ρ_max/ρ_min, the value Thm 5 says it approaches as ``C(T) → 0``.

    Lemma 2's exponent β and Thm 5's constants are lost (THEORY.md §11): what can be checked is their shape —
    ``∫F_T dµ ≤ C·ε^β`` with some β > 0 (a power law in ``C(T)``), and ``κ → ρ_max/ρ_min``."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must lie in (0, 1]; got {alpha}")
    x, w, t, slope = _piecewise_1d(alpha, rho, pieces, grid)
    dx2, dt2 = np.subtract.outer(x, x) ** 2, np.subtract.outer(t, t) ** 2
    gme = float(w @ (np.log1p(dt2) - np.log1p(dx2)) ** 2 @ w)
    h = decoder_hessian_1d(alpha, bins=bins, rho=rho, pieces=pieces)
    return {"alpha": alpha, "gme": gme, "f_integral": float(w @ (slope**2 - 1) ** 2), "kappa": h["kappa"],
            "kappa_limit": max(rho) / min(rho)}


def remark3_hessian(alpha: float, *, n: int = 4000, bins: int = 32, rho: tuple[float, float] = (0.5, 1.5),
                    pieces: int = 8, probes: int = 200, seed: int = 0) -> dict[str, float]:
    """GPE Remark 3 with m = 1: for the empirical ``µ_n`` (``n`` draws from :func:`decoder_hessian_1d`'s µ) and a
    decoder ``S = Σ_j c_j e_j`` in bin indicators on ``T(M)`` normalised in ``L²(T#µ_n)`` (``e_j = 1_{B_j} /
    √(T#µ_n(B_j))``), the objective ``L_n(S) = (1/n) Σ_i (x_i − S(Tx_i))²`` has Hessian exactly ``2·Id`` in ``c``
    (autograd, float64; empty bins dropped). And ``‖h‖²_{T#µ} / ‖h‖²_vol`` lies in ``[αρ_min, ρ_max/α]`` for every
    ``h`` — checked on ``probes`` random step functions with the population density. Returns ``hessian_error`` (max
    |H − 2I|), ``ratio_min``, ``ratio_max``, ``lower``, ``upper``."""
    rng = np.random.default_rng(seed)
    dens, slope, t_edges = _thm4_family(alpha, rho, pieces)
    piece = rng.choice(pieces, size=n, p=dens / dens.sum())
    x = (piece + rng.random(n)) / pieces
    t = t_edges[piece] + slope[piece] * (x - piece / pieces)
    edges = np.linspace(0.0, t_edges[-1], bins + 1)
    b = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, bins - 1)
    mass = np.bincount(b, minlength=bins) / n
    used = np.flatnonzero(mass > 0)
    E = torch.zeros(n, len(used), dtype=torch.float64)
    col = {j: k for k, j in enumerate(used)}
    E[torch.arange(n), torch.tensor([col[j] for j in b])] = torch.tensor(1 / np.sqrt(mass[b]))
    xt = torch.tensor(x)
    H = torch.autograd.functional.hessian(lambda c: ((xt - E @ c) ** 2).mean(), torch.zeros(len(used),
                                                                                          dtype=torch.float64))
    err = float((H - 2 * torch.eye(len(used), dtype=torch.float64)).abs().max())
    # population: T#µ has density dens/slope on image piece k; a random step function h on a fine grid of T(M)
    fine = np.linspace(0.0, t_edges[-1], 2049)
    mid = 0.5 * (fine[1:] + fine[:-1])
    k = np.clip(np.searchsorted(t_edges, mid, side="right") - 1, 0, pieces - 1)
    push = (dens / slope)[k]
    hs = rng.standard_normal((probes, mid.size)) * (rng.random((probes, mid.size)) < 0.2)
    ratio = (hs**2 @ push) / (hs**2).sum(1)
    return {"alpha": alpha, "hessian_error": err, "ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
            "lower": alpha * float(dens.min()), "upper": float(dens.max()) / alpha}


def gme_u(x: np.ndarray, y: np.ndarray) -> float:
    """The U-statistic GME cost ``C_n = (1/(n(n−1))) Σ_{i≠j} (log(1+|y_i−y_j|²) − log(1+|x_i−x_j|²))²`` (the
    empirical cost of Prop. 6), from condensed pair distances."""
    return float(np.mean((np.log1p(pdist(y, "sqeuclidean")) - np.log1p(pdist(x, "sqeuclidean"))) ** 2))


def stretch_map(x: np.ndarray, lipschitz: float) -> np.ndarray:
    """The test encoder of Prop. 6's check: ``T_L(x) = (L·x₁, x₂/L, tanh x₃, …)`` — Lipschitz constant L, so the
    pair costs grow like (log L)² (never like L²)."""
    y = np.array(x, dtype=np.float64, copy=True)
    y[:, 0] *= lipschitz
    y[:, 1] /= lipschitz
    y[:, 2:] = np.tanh(y[:, 2:])
    return y


def gme_concentration(lipschitz: float, ns: list[int], draws: int, *, dim: int = 3, pairs: int = 2_000_000,
                      seed: int = 0) -> tuple[float, np.ndarray]:
    """GPE Prop. 6 by Monte Carlo: µ = N(0, I_dim), ``T = stretch_map(·, L)``. Returns the population cost ``C(T)``
    (the mean over ``pairs`` independent pairs) and an array ``(len(ns), draws)`` of ``C_n(T)`` (:func:`gme_u`) on
    independent samples of each size — Prop. 6: ``|C_n − C| ≤ t`` with probability ``≥ 1 − 2exp(−c n t² / ((log L)⁴ +
    (log L)² t))``, i.e. fluctuations of order ``(log L)²/√n`` (constants lost: the shape is what can be checked)."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((pairs, dim)), rng.standard_normal((pairs, dim))
    ta, tb = stretch_map(a, lipschitz), stretch_map(b, lipschitz)
    pop = float(np.mean((np.log1p(((ta - tb) ** 2).sum(1)) - np.log1p(((a - b) ** 2).sum(1))) ** 2))
    out = np.empty((len(ns), draws))
    for i, n in enumerate(ns):
        for k in range(draws):
            x = rng.standard_normal((n, dim))
            out[i, k] = gme_u(x, stretch_map(x, lipschitz))
    return pop, out


def lemma6_pair_bound(X: np.ndarray, Xp: np.ndarray, T: Callable[[np.ndarray], np.ndarray], alpha: float,
                      gamma: float) -> dict[str, float]:
    """GPE Lemma 6 on empirical measures (THEORY.md §12): with ``ρ = T#µ′_n`` (so ``T⁻¹#ρ = µ′_n``, the sample
    ``Xp``), take the exact optimal plan π between ``T#µ_n`` and ``ρ`` (POT ``ot.emd``, Euclidean latent cost) and
    bound each transported pair ``(x, x′)``: by ``(α(1−γ))^{−1/2}|Tx − Tx′|`` if it lies in ``K_α`` and is separated
    (``|x−x′|² ≥ (1−α)/(αγ)``, Prop. 1), by ``√((1−α)/(αγ))`` if in ``K_α`` and close, by ``diam`` (of both samples)
    outside ``K_α``. π is a coupling of µ_n and µ′_n, so ``W₁(µ_n, µ′_n) ≤ Σ π·bound``. Returns ``w1`` (exact),
    ``bound`` and the bound's three parts ``separated``, ``close``, ``outside`` (with ``outside_mass``)."""
    import ot

    X, Xp = np.asarray(X, dtype=np.float64), np.asarray(Xp, dtype=np.float64)
    Y, Yp = T(X), T(Xp)
    n, m = len(X), len(Xp)
    plan = ot.emd(np.full(n, 1 / n), np.full(m, 1 / m), ot.dist(Y, Yp, metric="euclidean"), numItermax=10_000_000)
    dx2, dy2 = ot.dist(X, Xp, metric="sqeuclidean"), ot.dist(Y, Yp, metric="sqeuclidean")
    in_k = weak_bilipschitz_forms(dx2, dy2, alpha)[1]
    sep = dx2 >= (1 - alpha) / (alpha * gamma)
    both = np.vstack([X, Xp])
    diam = float(pdist(both).max())
    parts = {"separated": float((plan * (in_k & sep) * np.sqrt(dy2)).sum()) / math.sqrt(alpha * (1 - gamma)),
             "close": float((plan * (in_k & ~sep)).sum()) * math.sqrt((1 - alpha) / (alpha * gamma)),
             "outside": float((plan * ~in_k).sum()) * diam}
    return {"w1": wasserstein1_exact(X, Xp), "bound": sum(parts.values()), **parts,
            "outside_mass": float((plan * ~in_k).sum())}


def discriminator_modulus(X: np.ndarray, T: Callable[[np.ndarray], np.ndarray], Z: np.ndarray
                          ) -> dict[str, float]:
    """GMEGAN Prop. 2 on empirical measures: the optimal dual pair ``(f, g)`` of ``W₂²(T#µ_n, ν_m)`` (POT ``ot.emd``,
    squared Euclidean cost; ``f`` on the latent points ``y_i = T(x_i)``) gives the discriminator ``ψ(x_i) =
    f(y_i)``. With ``ω`` the smallest increasing modulus of ``f`` on the sample (``ω(s) = max_{|y_k−y_l| ≤ s}
    |f_k − f_l|``) and α the exact bi-Lipschitz constant of T on the sample, Prop. 2 says ``|ψ(x_i) − ψ(x_j)| ≤
    ω(|x_i − x_j|/α)`` for every pair. Returns ``alpha``, ``violations`` (pairs breaking it), ``lip_f`` and
    ``lip_psi`` (the largest difference quotients of f in y and of ψ in x; Prop. 2 gives ``lip_psi ≤ lip_f/α``)."""
    import ot

    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(T(X), dtype=np.float64)
    n, m = len(X), len(Z)
    _, log = ot.emd(np.full(n, 1 / n), np.full(m, 1 / m), ot.dist(Y, np.asarray(Z, dtype=np.float64)), log=True,
                    numItermax=10_000_000)
    f = np.asarray(log["u"], dtype=np.float64)
    dy, dx = pdist(Y), pdist(X)
    df = pdist(f[:, None])
    ratio = dy / dx
    alpha = float(min(ratio.min(), 1 / ratio.max()))
    order = np.argsort(dy, kind="stable")
    sorted_dy, running = dy[order], np.maximum.accumulate(df[order])

    def omega(s: np.ndarray) -> np.ndarray:  # the largest |Δf| over pairs with |Δy| ≤ s (0 below the smallest)
        k = np.searchsorted(sorted_dy, s * (1 + 1e-12), side="right")
        return np.where(k > 0, running[np.maximum(k - 1, 0)], 0.0)

    viol = int((df > omega(dx / alpha) * (1 + 1e-12) + 1e-12).sum())
    return {"alpha": alpha, "violations": float(viol), "lip_f": float((df / dy).max()),
            "lip_psi": float((df / dx).max())}
