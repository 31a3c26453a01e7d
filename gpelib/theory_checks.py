"""Notebook 10's experiments, each whole: the random draws in the notebook's order, the result as a tidy table
(``figures/10_*.csv``) that :mod:`gpelib.claims.theory` decides on. The statements' closed forms and estimators they
use are in :mod:`gpelib.theory`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .theory import (
    collapsed_hessian,
    gme_concentration,
    gme_gradient_descent,
    gme_v,
    hessian,
    k_alpha_mass_v,
    lemma3_sides,
    mds_v,
    power_law_exponent,
    second_variation,
    second_variation_bounds,
    separated_pair_bounds,
    thm6_core,
    top_eigenvalue,
    weak_bilipschitz_forms,
    zero_modes,
)

__all__ = [
    "random_map_checks", "hessian_checks", "remark1_spectra", "remark1_slopes", "corollary1_run", "lemma3_table",
    "thm6_sweep", "concentration_table", "concentration_slopes", "trained_encoder_k_alpha"
]

# --------------------------------------------------------------------------------------------------------------
# Notebook 10's experiments, each whole: the random draws in the notebook's order, the result as a tidy table
# --------------------------------------------------------------------------------------------------------------


def random_map_checks(n: int, dims: tuple[int, int], maps: int, alphas: list[float], g: torch.Generator
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Def. 1, Prop. 1 and Thm 2 on ``maps`` random maps: data ``X`` ``(n, D)`` near a d-dimensional subspace of R^D
    (``dims = (D, d)``) and images from a near-isometry (map 0) to strongly distorting ones, drawn from ``g``.

    Returns ``(theorem2, proposition1)``: ``theorem2`` one row per (``map``, ``alpha``) with the V-statistic ``gme``,
    the ``empirical`` pair mass µ²[K_α] and Thm 2's ``bound`` 1 − C/(log α)²; ``proposition1`` one row per ``alpha``
    over all maps — ``maps``, ``pairs`` (off-diagonal pairs examined), ``forms_agree`` (Def. 1's two forms agree on
    every pair, :func:`weak_bilipschitz_forms`), ``covered`` (separated pairs in K_α, γ = ½) and ``within`` (those
    among them meeting Prop. 1's bounds, :func:`separated_pair_bounds`)."""
    from .geometry import theorem1_bound

    D, d = dims
    agree, covered, within, thm2 = dict.fromkeys(alphas, True), dict.fromkeys(alphas, 0), dict.fromkeys(alphas, 0), []
    for k in range(maps):
        t = k / maps
        Z = torch.randn(n, d, generator=g, dtype=torch.float64)
        X = torch.cat([Z, 0.02 * torch.randn(n, D - d, generator=g, dtype=torch.float64)], 1)
        Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
        Y = (Z @ Q) * (1 + t * torch.randn(d, generator=g, dtype=torch.float64)) \
            + t * torch.randn(n, d, generator=g, dtype=torch.float64)
        dx2 = ((X[:, None] - X[None]) ** 2).sum(-1).numpy()
        dy2 = ((Y[:, None] - Y[None]) ** 2).sum(-1).numpy()
        off = ~np.eye(n, dtype=bool)
        C = float(gme_v(X, Y))
        for a in alphas:
            f1, f2 = weak_bilipschitz_forms(dx2[off], dy2[off], a)
            agree[a] &= bool(np.array_equal(f1, f2))
            cov, ok = separated_pair_bounds(dx2[off], dy2[off], a, 0.5)
            covered[a] += int(cov.sum())
            within[a] += int(ok.sum())
            mu = float(k_alpha_mass_v(X, Y, [a])[0])  # the V-statistic pair measure, as gme_v's
            thm2.append(dict(map=k, alpha=a, gme=C, empirical=mu, bound=theorem1_bound(C, a)))
    prop1 = pd.DataFrame([dict(alpha=a, maps=maps, pairs=maps * n * (n - 1), forms_agree=agree[a],
                               covered=covered[a], within=within[a]) for a in alphas])
    return pd.DataFrame(thm2), prop1


def hessian_checks(n: int, dims: tuple[int, int], maps: int, g: torch.Generator, *, draws: int = 10
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Prop. 2 and Thm 3 on the Hessian of :func:`gme_v` in the latent coordinates, points drawn from ``g``.

    Returns ``(theorem3_bounds, spectra, variation)``:

    * ``theorem3_bounds`` — Thm 3's two-sided bound (:func:`second_variation_bounds`) over ``maps`` random (T, h),
      from near-isometries to distorting maps: ``map``, ``gme``, ``lower``, ``second_variation``, ``upper``;
    * ``spectra`` — one row per Hessian examined (``point``): ``collapsed`` (Y = 0 for data in R^D, with
      ``closed_form_error`` the largest deviation from :func:`collapsed_hessian`; ``d`` zero modes expected) and
      ``isometry`` (data in R^d, T orthogonal; the ``d + d(d−1)/2`` rigid motions expected): ``zero_modes``,
      ``expected_zero_modes``, ``smallest``, ``largest`` eigenvalue (:func:`zero_modes`);
    * ``variation`` — ``draws`` random (Y, h) at the collapsed case's data: the Hessian's quadratic form
      ``hessian_form``, the closed form :func:`second_variation` and their ``relative_error``."""
    D, d = dims
    X = torch.randn(n, D, generator=g, dtype=torch.float64)
    H0 = hessian(gme_v, X, torch.zeros(n, d, dtype=torch.float64))
    collapsed_err = float((H0 - collapsed_hessian(X, d)).abs().max())
    z0, lo0, hi0 = zero_modes(H0)
    variation = []
    for k in range(draws):
        Y, Hd = (torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(2))
        q = float(Hd.reshape(-1) @ hessian(gme_v, X, Y) @ Hd.reshape(-1))
        sv = float(second_variation(X, Y, Hd))
        variation.append(dict(draw=k, hessian_form=q, closed_form=sv,
                              relative_error=abs(sv - q) / max(abs(q), 1e-300)))
    thm3 = []
    for k in range(maps):
        t = k / maps
        Xr = torch.randn(n, D, generator=g, dtype=torch.float64)
        Yr = Xr[:, :d] * (1 + t * torch.randn(d, generator=g, dtype=torch.float64)) \
            + t * torch.randn(n, d, generator=g, dtype=torch.float64)
        lo_, val_, hi_ = second_variation_bounds(Xr, Yr, torch.randn(n, d, generator=g, dtype=torch.float64))
        thm3.append(dict(map=k, gme=float(gme_v(Xr, Yr)), lower=lo_, second_variation=val_, upper=hi_))
    Xd = torch.randn(n, d, generator=g, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    zi, loi, hii = zero_modes(hessian(gme_v, Xd, Xd @ Q), rtol=1e-9)
    spectra = pd.DataFrame([
        dict(point="collapsed", zero_modes=z0, expected_zero_modes=d, smallest=lo0, largest=hi0,
             closed_form_error=collapsed_err),
        dict(point="isometry", zero_modes=zi, expected_zero_modes=d + d * (d - 1) // 2, smallest=loi, largest=hii,
             closed_form_error=math.nan)])
    return pd.DataFrame(thm3), spectra, pd.DataFrame(variation)


def remark1_spectra(lipschitz: list[float], g: torch.Generator, *, points: int = 30) -> pd.DataFrame:
    """Remark 1: the largest Hessian eigenvalue of the GME and of the MDS cost at ``T = diag(L, 1/L)`` on ``points``
    uniform points of the unit square (drawn from ``g``), one row per (``L``, ``cost``)."""
    Xs = torch.rand(points, 2, generator=g, dtype=torch.float64)
    rem = []
    for L in lipschitz:
        Y = Xs * torch.tensor([L, 1 / L], dtype=torch.float64)
        rem += [dict(L=L, cost="GME (log)", top_eigenvalue=top_eigenvalue(hessian(gme_v, Xs, Y))),
                dict(L=L, cost="MDS (squared)", top_eigenvalue=top_eigenvalue(hessian(mds_v, Xs, Y)))]
    return pd.DataFrame(rem)


def remark1_slopes(rem: pd.DataFrame, *, min_lipschitz: float = 4) -> dict[str, float]:
    """The log-log slope of each cost's largest Hessian eigenvalue in L (:func:`power_law_exponent`) over
    ``L ≥ min_lipschitz``, from :func:`remark1_spectra`'s table: Remark 1 says ≈ 0 for GME, 2 for MDS."""
    big = rem[rem.L >= min_lipschitz]
    return {c: power_law_exponent(gg.L, gg.top_eigenvalue) for c, gg in big.groupby("cost")}


def corollary1_run(n: int, dims: tuple[int, int], steps: int, g: torch.Generator
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cor. 1's run (:func:`gme_gradient_descent`) from a stretched, noisy copy of random data in R^D (``dims =
    (D, d)``, drawn from ``g``). Returns ``(cost, bound)``: ``cost`` the cost at each ``step`` 0…steps; ``bound``
    one row per gradient step ``step`` 0…steps−1 with ``lambda_hat`` (the step is 1/λ̂) and ``grad_sq`` |∇C|²."""
    D, d = dims
    Xg = torch.randn(n, D, generator=g, dtype=torch.float64)
    gd = gme_gradient_descent(Xg, 1.5 * Xg[:, :d] + 0.3 * torch.randn(n, d, generator=g, dtype=torch.float64), steps)
    return (pd.DataFrame({"step": np.arange(len(gd["cost"])), "cost": gd["cost"]}),
            pd.DataFrame({"step": np.arange(len(gd["lam"])), "lambda_hat": gd["lam"], "grad_sq": gd["grad_sq"]}))


def lemma3_table(d: int, samples: int, rng: np.random.Generator, *, seed: int = 0, matrices: int = 5
                 ) -> pd.DataFrame:
    """Lemma 3 on ``matrices`` random linear maps R^d → R^{d+1} of growing distortion (drawn from ``rng``): the Monte
    Carlo sphere average (``samples`` directions, seeds ``seed + k``), its standard error, the closed form and
    ``z`` = |Monte Carlo − closed form| / standard error (:func:`lemma3_sides`)."""
    rows = []
    for k in range(matrices):
        A = np.eye(d + 1, d) + (0.1 + 0.1 * k) * rng.normal(size=(d + 1, d))
        mc, se, exact = lemma3_sides(A, samples, seed=seed + k)
        rows.append(dict(matrix=k, monte_carlo=mc, se=se, closed_form=exact, z=abs(mc - exact) / se))
    return pd.DataFrame(rows)


def thm6_sweep(X: np.ndarray, P: np.ndarray, sample: Callable[[int], np.ndarray], rng: np.random.Generator
               ) -> pd.DataFrame:
    """Thm 6's constant-free core (:func:`thm6_core`) on the data ``X`` ``(n, D)`` for linear encoders
    ``scale·A·Pᵀ`` (``P`` ``(D, 2)`` the data plane's basis, scale 0.6, 0.8, 1), a latent cloud of fresh points
    ``sample(n)`` pushed through each encoder plus noise (from ``rng``), and decoders of growing error (0, 0.05,
    0.2): one row per (``encoder_scale``, ``decoder_error``) with the encoder's ``alpha``, ``w1`` and ``bound``."""
    n, thm6 = len(X), []
    for scale in (0.6, 0.8, 1.0):
        T = scale * np.array([[1.0, 0.3], [0.0, 0.8], [0.1, 0.2]]) @ P.T
        rho = sample(n) @ T.T + 0.05 * rng.normal(size=(n, 3))
        for err in (0.0, 0.05, 0.2):
            dec = lambda y, T=T, err=err: y @ np.linalg.pinv(T).T + err * np.sin(3 * y[:, :1])  # noqa: E731
            lhs, rhs, a = thm6_core(X, T, dec, rho)
            thm6.append(dict(encoder_scale=scale, alpha=a, decoder_error=err, w1=lhs, bound=rhs))
    return pd.DataFrame(thm6)


def concentration_table(lipschitz: list[float], ns: list[int], draws: int, *, pairs: int, seed: int = 0
                        ) -> pd.DataFrame:
    """Prop. 6 by Monte Carlo (:func:`gme_concentration`), one row per (``L``, ``n``): the ``population`` cost, and
    over ``draws`` samples of size n the ``mean``, ``sd`` and 95 % quantile ``q95`` of |C_n − C|."""
    conc = []
    for L in lipschitz:
        pop, cn = gme_concentration(L, ns, draws, pairs=pairs, seed=seed)
        for i, nn in enumerate(ns):
            conc.append(dict(L=L, n=nn, population=pop, mean=cn[i].mean(), sd=cn[i].std(ddof=1),
                             q95=np.quantile(np.abs(cn[i] - pop), 0.95)))
    return pd.DataFrame(conc)


def concentration_slopes(conc: pd.DataFrame) -> tuple[dict[float, float], float, float]:
    """From :func:`concentration_table`'s table: the log-log slope of sd(C_n) in n for each L (Prop. 6: −½), and at
    the largest n the slopes of sd in log L and in L (:func:`power_law_exponent`) — ``(n_slope, logL_slope,
    L_slope)``."""
    n_slope = {L: power_law_exponent(gg.n, gg.sd) for L, gg in conc.groupby("L")}
    big_n = conc[conc.n == conc.n.max()]
    return n_slope, power_law_exponent(np.log(big_n.L), big_n.sd), power_law_exponent(big_n.L, big_n.sd)


def trained_encoder_k_alpha(x: Tensor, x_val: Tensor, alphas: list[float], *, iterations: int, seed: int = 0
                            ) -> pd.DataFrame:
    """Thm 2 on a trained GPE encoder: a 3-layer MLP (width 64) from ``x``'s space to R² trained on the GME cost
    alone (:func:`gpelib.train.train_encoder`, ``iterations`` steps, batch 100, Adam 1e-3, torch seeded with
    ``seed``), then on the held-out ``x_val`` one row per α: the V-statistic ``gme`` of the held-out pairs, the
    ``empirical`` µ²[K_α] on the same pairs and Thm 2's ``bound`` (exact under this normalisation)."""
    from .geometry import theorem1_bound
    from .models import make_encoder
    from .train import TrainConfig, train_encoder

    torch.manual_seed(seed)
    enc = make_encoder(tuple(x.shape[1:]), 2, hidden=64, n_layers=3)
    train_encoder(enc, x, val_data=x_val, config=TrainConfig(
        iterations=iterations, batch_size=100, lr=1e-3, eval_every=max(iterations // 4, 1), seed=seed,
        progress=False))
    with torch.no_grad():
        Xv, Yv = x_val.double(), enc(x_val).double()
    C = float(gme_v(Xv, Yv))
    return pd.DataFrame([dict(alpha=a, gme=C, empirical=float(k_alpha_mass_v(Xv, Yv, [a])[0]),
                              bound=theorem1_bound(C, a)) for a in alphas])
