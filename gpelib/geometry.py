"""Geometry diagnostics of an encoder: distance ratios, distance correlation and the Theorem-1 certificate.

GMEGAN Theorem 1 (SPEC §1): if ``GM(T; µ) < ε`` then
``K_α = {(x, x') : α ≤ (‖Tx − Tx'‖² + 1)/(s²‖x − x'‖² + 1) ≤ 1/α}`` has ``µ²[K_α] > 1 − ε/(log α)²``.
On an empirical measure the bound is Markov's inequality applied to the GME integrand, so it must hold exactly
for the pairs the cost was computed on; on held-out pairs it is a genuine generalisation check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .losses import gme_cost, pairwise_sq_dists
from .models import encode

__all__ = [
    "PairSample",
    "sample_pairs",
    "distance_ratios",
    "fraction_in_k_alpha",
    "theorem1_bound",
    "best_scale",
    "certificate",
    "EncoderDiagnostics",
    "diagnose_encoder",
]


@dataclass
class PairSample:
    """Distances of sampled pairs ``i ≠ j``: ``data_dist = s‖x_i − x_j‖``, ``latent_dist = ‖z_i − z_j‖``."""

    i: np.ndarray
    j: np.ndarray
    data_dist: np.ndarray
    latent_dist: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """``‖Tx − Tx'‖ / (s‖x − x'‖)`` per pair (GMEGAN Fig. 3)."""
        return self.latent_dist / np.maximum(self.data_dist, 1e-12)

    def frame(self) -> pd.DataFrame:
        """Tidy table: i, j, data_dist, latent_dist, ratio."""
        return pd.DataFrame(
            {"i": self.i, "j": self.j, "data_dist": self.data_dist, "latent_dist": self.latent_dist,
             "ratio": self.ratio}
        )


def _all_pairs_sq(x: Tensor, z: Tensor, data_scale: float) -> tuple[Tensor, Tensor]:
    with torch.no_grad():
        dx = pairwise_sq_dists(x.double()) * data_scale**2
        dz = pairwise_sq_dists(z.double())
    return dx, dz


def sample_pairs(
    x: Tensor, z: Tensor, *, data_scale: float = 1.0, max_pairs: int | None = None, seed: int = 0
) -> PairSample:
    """All unordered pairs ``i < j`` of ``x`` (N, ...) and ``z`` (N, d), or a seeded random subset of ``max_pairs``."""
    n = x.shape[0]
    if z.shape[0] != n:
        raise ValueError(f"x and z must hold the same number of points; got {n} and {z.shape[0]}")
    iu, ju = np.triu_indices(n, k=1)
    if max_pairs is not None and max_pairs < iu.size:
        sel = np.random.default_rng(seed).choice(iu.size, size=max_pairs, replace=False)
        iu, ju = iu[sel], ju[sel]
    dx, dz = _all_pairs_sq(x.reshape(n, -1), z, data_scale)
    it, jt = torch.from_numpy(iu), torch.from_numpy(ju)
    return PairSample(
        i=iu, j=ju, data_dist=dx[it, jt].sqrt().numpy(), latent_dist=dz[it, jt].sqrt().numpy()
    )


def distance_ratios(
    encoder: nn.Module, x: Tensor, *, data_scale: float = 1.0, max_pairs: int | None = 20000, seed: int = 0
) -> PairSample:
    """Encode ``x`` and return pair distances and ratios ``‖Tx − Tx'‖/‖x − x'‖`` (GMEGAN Fig. 3)."""
    return sample_pairs(x, encode(encoder, x), data_scale=data_scale, max_pairs=max_pairs, seed=seed)


def theorem1_bound(eps: float, alpha: float | np.ndarray) -> float | np.ndarray:
    """Lower bound ``1 − ε/(log α)²`` on ``µ²[K_α]`` (GMEGAN Theorem 1), for ``0 < α < 1``; may be negative."""
    a = np.asarray(alpha, dtype=float)
    if np.any((a <= 0) | (a >= 1)):
        raise ValueError("alpha must lie in (0, 1)")
    out = 1.0 - eps / np.log(a) ** 2
    return float(out) if out.ndim == 0 else out


def fraction_in_k_alpha(
    x: Tensor, z: Tensor, alphas: Sequence[float], *, data_scale: float = 1.0
) -> np.ndarray:
    """Empirical ``µ²[K_α]`` over ordered pairs ``i ≠ j``: the fraction with
    ``α ≤ (‖z_i − z_j‖² + 1)/(s²‖x_i − x_j‖² + 1) ≤ 1/α``, for each α in ``alphas``."""
    n = x.shape[0]
    dx, dz = _all_pairs_sq(x.reshape(n, -1), z, data_scale)
    logr = torch.log1p(dz) - torch.log1p(dx)
    off = ~torch.eye(n, dtype=torch.bool)
    vals = logr[off].abs()
    return np.array([float((vals <= -math.log(a)).double().mean()) for a in alphas])


def certificate(
    x: Tensor,
    z: Tensor,
    *,
    alphas: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
    eps: float | None = None,
    data_scale: float = 1.0,
) -> pd.DataFrame:
    """Theorem-1 certificate table: for each α, the empirical ``µ²[K_α]`` next to ``1 − ε/(log α)²``.

    ``eps`` defaults to the U-statistic GME cost of ``(x, z)`` itself, for which the bound holds exactly
    (Markov's inequality on the empirical pair measure). Columns: alpha, empirical, bound, eps, holds.
    """
    if eps is None:
        with torch.no_grad():
            eps = float(gme_cost(x.double(), z.double(), data_scale=data_scale, chunk_size=512))
    emp = fraction_in_k_alpha(x, z, alphas, data_scale=data_scale)
    bound = theorem1_bound(eps, np.asarray(alphas))
    return pd.DataFrame(
        {"alpha": list(alphas), "empirical": emp, "bound": bound, "eps": eps, "holds": emp >= bound - 1e-12}
    )


def best_scale(x: Tensor, z: Tensor, *, data_scale: float = 1.0, bounds: tuple[float, float] = (1e-4, 1e4)) -> float:
    """The scalar ``c > 0`` minimising the GME cost ``GM(c·z; x)`` (GPE eq. 14), by bounded 1-D minimisation over
    ``log c`` (scipy's ``minimize_scalar``, bounded method).

    The GME cost is not invariant to the latent scale (``log(1 + c²u)`` against ``log(1 + s²v)``), so the Theorem-1
    certificate of two encoders mostly compares their scales; rescaling each latent by its own ``c`` first makes
    the comparison about shape. ``c = 1`` for an encoder that is already at its best scale (an isometry)."""
    from scipy.optimize import minimize_scalar

    xd, zd = x.detach().double(), z.detach().double()

    def cost(log_c: float) -> float:
        with torch.no_grad():
            return float(gme_cost(xd, zd * math.exp(log_c), data_scale=data_scale, chunk_size=512))

    res = minimize_scalar(cost, bounds=(math.log(bounds[0]), math.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-6})
    return float(math.exp(res.x))


@dataclass
class EncoderDiagnostics:
    """Summary of how well an encoder preserves geometry on a fixed set.

    ``gme``: U-statistic GME cost; ``distance_corr``: Pearson correlation of data vs latent pair distances;
    ``spearman``: rank correlation; ``ratio_q05/median/q95``: quantiles of ``‖Tx−Tx'‖/‖x−x'‖``;
    ``spread``: ``q95/q05``, an empirical bi-Lipschitz spread (1 for an exact scaled isometry).
    """

    gme: float
    distance_corr: float
    spearman: float
    ratio_q05: float
    ratio_median: float
    ratio_q95: float
    spread: float
    n_points: int

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def diagnose_encoder(
    encoder: nn.Module, x: Tensor, *, data_scale: float = 1.0, max_pairs: int = 50000, seed: int = 0
) -> EncoderDiagnostics:
    """GME cost, distance correlations and ratio quantiles of ``encoder`` on ``x`` (N, ...)."""
    from scipy.stats import spearmanr

    z = encode(encoder, x)
    with torch.no_grad():
        gme = float(gme_cost(x.double(), z.double(), data_scale=data_scale, chunk_size=512))
    pairs = sample_pairs(x, z, data_scale=data_scale, max_pairs=max_pairs, seed=seed)
    r = pairs.ratio
    q05, q50, q95 = np.quantile(r, [0.05, 0.5, 0.95])
    return EncoderDiagnostics(
        gme=gme,
        distance_corr=float(np.corrcoef(pairs.data_dist, pairs.latent_dist)[0, 1]),
        spearman=float(spearmanr(pairs.data_dist, pairs.latent_dist).statistic),
        ratio_q05=float(q05),
        ratio_median=float(q50),
        ratio_q95=float(q95),
        spread=float(q95 / max(q05, 1e-12)),
        n_points=int(x.shape[0]),
    )
