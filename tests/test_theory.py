"""The theory module against closed forms (issue 15; ../shared/THEORY.md §§2–9)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from gpelib import theory, theory_checks


@pytest.fixture
def points():
    g = torch.Generator().manual_seed(0)
    return torch.randn(10, 3, generator=g, dtype=torch.float64)


def test_collapsed_map_hessian_is_the_closed_form_and_a_saddle(points):
    d = 2
    H = theory.hessian(theory.gme_v, points, torch.zeros(10, d, dtype=torch.float64))
    assert torch.allclose(H, theory.collapsed_hessian(points, d), atol=1e-13, rtol=0)
    zeros, lo, hi = theory.zero_modes(H)
    assert zeros == d and hi <= 1e-12 and lo < 0  # negative semi-definite, only the translations are flat


def test_second_variation_matches_autograd(points):
    g = torch.Generator().manual_seed(1)
    Y, H = torch.randn(10, 2, generator=g, dtype=torch.float64), torch.randn(10, 2, generator=g, dtype=torch.float64)
    hess = theory.hessian(theory.gme_v, points, Y)
    quad = H.reshape(-1) @ hess @ H.reshape(-1)
    assert float(theory.second_variation(points, Y, H)) == pytest.approx(float(quad), rel=1e-10, abs=1e-13)


def test_isometry_is_a_minimum_with_exactly_the_rigid_motions_flat():
    g = torch.Generator().manual_seed(2)
    d = 3
    X = torch.randn(12, d, generator=g, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    Y = X @ Q + 0.5  # a rotation and a shift: GME 0
    assert float(theory.gme_v(X, Y)) < 1e-28
    zeros, lo, _ = theory.zero_modes(theory.hessian(theory.gme_v, X, Y), rtol=1e-9)
    assert zeros == d + d * (d - 1) // 2 and lo > -1e-12


def test_remark1_gme_curvature_stays_bounded_while_mds_grows_like_l_squared():
    g = torch.Generator().manual_seed(3)
    X = torch.rand(30, 2, generator=g, dtype=torch.float64)
    tops = {}
    for L in (1.0, 4.0, 16.0):
        Y = X * torch.tensor([L, 1 / L], dtype=torch.float64)
        tops[L] = (theory.top_eigenvalue(theory.hessian(theory.gme_v, X, Y)),
                   theory.top_eigenvalue(theory.hessian(theory.mds_v, X, Y)))
    mds_slope = math.log(tops[16.0][1] / tops[4.0][1]) / math.log(4)
    assert mds_slope == pytest.approx(2.0, abs=0.1)  # L²
    assert tops[16.0][0] <= 2 * tops[1.0][0]  # bounded (it even falls)


def test_example1_slope_at_the_centre_is_exact():
    for m0, s in ((4.0, 1.0), (1.5, 0.7)):
        h = 1e-5
        fd = (theory.mixture_map(np.array([h]), m0, s) - theory.mixture_map(np.array([-h]), m0, s))[0] / (2 * h)
        assert fd == pytest.approx(theory.mixture_map_slope_at_centre(m0, s), rel=1e-6)
    assert theory.mixture_map(np.array([0.0]), 4.0, 1.0)[0] == pytest.approx(0.0, abs=1e-12)
    assert theory.mixture_map_slope_at_centre(4.0, 1.0) == pytest.approx(3.3546e-4, rel=1e-4)  # THEORY.md §7


def test_weak_bilipschitz_forms_agree_and_prop1_holds_on_separated_pairs():
    rng = np.random.default_rng(4)
    dx2 = rng.exponential(3.0, 5000)
    dy2 = dx2 * rng.uniform(0.3, 2.5, 5000) + rng.uniform(-0.5, 0.5, 5000).clip(-dx2 * 0.2)
    dy2 = np.abs(dy2)
    for alpha in (0.3, 0.6, 0.9):
        a, b = theory.weak_bilipschitz_forms(dx2, dy2, alpha)
        assert np.array_equal(a, b)
        covered, ok = theory.separated_pair_bounds(dx2, dy2, alpha, 0.5)
        assert covered.sum() > 100 and np.array_equal(covered, ok)


def test_gradient_descent_with_step_one_over_lambda_meets_corollary1():
    g = torch.Generator().manual_seed(5)
    X = torch.randn(16, 3, generator=g, dtype=torch.float64)
    Y0 = 1.5 * X[:, :2] + 0.3 * torch.randn(16, 2, generator=g, dtype=torch.float64)
    r = theory.gme_gradient_descent(X, Y0, 40)
    assert (np.diff(r["cost"]) <= 1e-15).all() and r["cost"][-1] < 0.5 * r["cost"][0]
    K = np.arange(1, 41)
    assert (np.minimum.accumulate(r["grad_sq"]) <= 2 * r["lam"] * r["cost"][0] / K).all()
    with pytest.raises(ValueError, match="collapsed"):
        theory.gme_gradient_descent(X, torch.zeros(16, 2, dtype=torch.float64), 2)


def test_lemma3_identity_by_monte_carlo_and_exactly_zero_at_an_isometry():
    rng = np.random.default_rng(6)
    A = np.eye(4, 3) + 0.3 * rng.normal(size=(4, 3))
    mc, se, exact = theory.lemma3_sides(A, 200_000)
    assert abs(mc - exact) < 5 * se
    Q = np.linalg.qr(rng.normal(size=(4, 3)))[0]  # orthonormal columns: |Qv| = |v|
    mc, se, exact = theory.lemma3_sides(Q, 1000)
    assert exact == pytest.approx(0.0, abs=1e-14) and mc == pytest.approx(0.0, abs=1e-14)


def test_thm6_core_holds_and_is_equality_for_a_perfect_decoder_on_the_encoded_data():
    rng = np.random.default_rng(7)
    P = np.linalg.qr(rng.normal(size=(10, 2)))[0]
    t = rng.uniform(0, 2 * np.pi, 120)
    X = np.c_[np.cos(t), np.sin(t)] @ P.T
    T = np.array([[1.0, 0.3], [0.0, 0.8], [0.1, 0.2]]) @ P.T
    Tinv = np.linalg.pinv(T)
    perfect = lambda y: y @ Tinv.T  # noqa: E731
    lhs, rhs, alpha = theory.thm6_core(X, T, perfect, X @ T.T)
    assert lhs == pytest.approx(0.0, abs=1e-7) and rhs == pytest.approx(0.0, abs=1e-7) and 0 < alpha <= 1
    noisy = X @ T.T + 0.1 * rng.normal(size=(120, 3))
    lhs, rhs, _ = theory.thm6_core(X, T, lambda y: y @ Tinv.T + 0.05 * np.sin(3 * y[:, :1]), noisy)
    assert 0 < lhs <= rhs


def test_thm4_decoder_hessian_eigenvalues_in_the_interval_and_iterations_grow_like_alpha_minus_two():
    alphas = np.array([0.7, 0.5, 0.35, 0.25])
    rows = [theory.decoder_hessian_1d(a) for a in alphas]
    for r in rows:
        assert r["lower"] - 1e-12 <= r["lambda_min"] and r["lambda_max"] <= r["upper"] + 1e-12
        assert r["lambda_min"] == pytest.approx(r["lower"]) and r["lambda_max"] == pytest.approx(r["upper"])  # attained
        bound = math.ceil(math.log(1e-6) / math.log(1 - 1 / r["kappa"]))  # (1 − 1/κ)^k ≤ 1e-6
        assert r["gd_iterations"] <= bound
    slope = np.polyfit(np.log(1 / alphas), np.log([r["gd_iterations"] for r in rows]), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.15)
    with pytest.raises(ValueError, match="alpha"):
        theory.decoder_hessian_1d(1.5)


def test_k_alpha_mass_v_counts_every_ordered_pair_once():
    X = torch.tensor([[0.0], [1.0], [5.0]], dtype=torch.float64)
    Y = torch.tensor([[0.0], [1.0], [1.0]], dtype=torch.float64)
    # off-diagonal ratios (1+|Δy|²)/(1+|Δx|²): (0,1) 1; (0,2) 2/26; (1,2) 1/17 → at α = 0.5 only (0,1), both orders
    assert theory.k_alpha_mass_v(X, Y, [0.5])[0] == pytest.approx((3 + 2) / 9)


def test_jl_chart_embedding_follows_eq_13_and_its_shape():
    from gpelib.theory import jl_chart_embedding

    e = jl_chart_embedding(300, 16, 40, seed=1)
    same = e.chart[:, None] == e.chart[None]
    dT = np.linalg.norm(e.T[:, None] - e.T[None], axis=-1)
    ds = np.abs(e.s[:, None] - e.s[None])
    assert np.allclose(dT[same], ds[same])  # ι is an isometric injection of each chart's arclength
    step = np.linalg.norm(np.diff(e.X, axis=0), axis=1) / np.diff(e.s)
    assert np.all(step <= 1 + 1e-12) and np.median(step) > 0.99  # chords never exceed arcs; the speed is √K exactly
    assert e.r == pytest.approx(np.pi * np.sqrt(5) / 16) and 0 < e.alpha <= 1 and 0 < e.excluded < 1
    # the shape of Thm 1 (its constants are lost): smaller charts and more dimensions give a larger α
    coarse, fine = jl_chart_embedding(300, 8, 400, seed=1), jl_chart_embedding(300, 128, 400, seed=1)
    assert fine.excluded < coarse.excluded and fine.alpha > coarse.alpha
    assert jl_chart_embedding(300, 64, 400, seed=1).alpha > jl_chart_embedding(300, 64, 10, seed=1).alpha
    with pytest.raises(ValueError, match="harmonics"):
        jl_chart_embedding(10, 4, 3, harmonics=30)


# ------------------------------------------------ Lemma 2, Thm 5, Remark 3, Prop 6, Lemma 6, GMEGAN Prop 2


def test_small_gme_family_closed_forms():
    """At α = 1 the encoder is the identity: C(T) = 0, ∫F = 0, κ = ρ_max/ρ_min exactly; for α < 1, ∫F_T dµ equals
    p_low(α⁻² − 1)² + p_high(α² − 1)² (p the µ-masses of the two kinds of piece) and κ = ρ_max/(ρ_min α²)."""
    from gpelib.theory import small_gme_decoder_conditioning

    one = small_gme_decoder_conditioning(1.0)
    assert one["gme"] == 0.0 and one["f_integral"] == 0.0 and one["kappa"] == pytest.approx(3.0, rel=1e-12)
    a = 0.7
    r = small_gme_decoder_conditioning(a, rho=(0.5, 1.5))
    p_low = 0.5 / 2.0
    assert r["f_integral"] == pytest.approx(p_low * (a**-2 - 1) ** 2 + (1 - p_low) * (a**2 - 1) ** 2, rel=1e-12)
    assert r["kappa"] == pytest.approx(3.0 / a**2, rel=1e-9)
    costs = [small_gme_decoder_conditioning(b)["gme"] for b in (0.5, 0.8, 0.95)]
    assert costs[0] > costs[1] > costs[2] > 0


def test_remark3_hessian_is_two_identity_and_norms_are_sandwiched():
    from gpelib.theory import remark3_hessian

    for a in (0.4, 0.9):
        r = remark3_hessian(a, n=2000, bins=16, probes=50, seed=1)
        assert r["hessian_error"] < 1e-12
        assert r["lower"] <= r["ratio_min"] <= r["ratio_max"] <= r["upper"]


def test_gme_u_against_the_double_sum():
    from gpelib.theory import gme_u

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 4)), rng.normal(size=(7, 2))
    direct = np.mean([(np.log1p(((y[i] - y[j]) ** 2).sum()) - np.log1p(((x[i] - x[j]) ** 2).sum())) ** 2
                      for i in range(7) for j in range(7) if i != j])
    assert gme_u(x, y) == pytest.approx(direct, rel=1e-12)


def test_gme_concentration_is_unbiased_and_vanishes_for_an_isometry():
    """C_n is a U-statistic: its mean over draws matches C within 4 standard errors; for T = id (L = 1, no tanh
    coordinate) every C_n and C are 0."""
    from gpelib.theory import gme_concentration

    pop, cn = gme_concentration(8.0, [40], 200, pairs=200_000, seed=3)
    assert abs(cn.mean() - pop) < 4 * cn.std(ddof=1) / np.sqrt(cn.size) + 0.01 * pop
    pop0, cn0 = gme_concentration(1.0, [10], 3, dim=2, pairs=1000)
    assert pop0 == 0.0 and np.all(cn0 == 0.0)


def test_lemma6_bound_is_the_plan_cost_over_sqrt_alpha_one_minus_gamma_for_an_isometry():
    """For T = id every pair lies in K_α and, as α → 1, every pair is separated: the plan is then W₁'s own optimal
    plan, so the bound is exactly W₁/√(α(1−γ)); for an α < 1 the bound still exceeds W₁."""
    from gpelib.theory import lemma6_pair_bound

    rng = np.random.default_rng(0)
    X, Xp = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    a, gam = 1 - 1e-12, 0.5
    r = lemma6_pair_bound(X, Xp, lambda x: x, a, gam)
    assert r["outside_mass"] == 0.0 and r["close"] == pytest.approx(0.0, abs=1e-5)
    assert r["bound"] * np.sqrt(a * (1 - gam)) == pytest.approx(r["w1"], rel=1e-6)
    r2 = lemma6_pair_bound(X, Xp, lambda x: np.c_[x[:, :2] * 1.5, np.tanh(x[:, 2:])], 0.6, gam)
    assert r2["w1"] <= r2["bound"] and r2["bound"] > 0


def test_discriminator_modulus_for_an_isometry_and_a_contraction():
    """An isometry (α = 1): ψ = f∘T has exactly f's difference quotients. A contraction by ½ (α = ½): no pair
    violates Prop. 2 and Lip ψ = Lip f / 2 ≤ Lip f / α. The duals are optimal: Σa·u + Σb·v = W₂² (POT)."""
    import ot

    from gpelib.theory import discriminator_modulus

    rng = np.random.default_rng(1)
    X, Z = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    Q = np.linalg.qr(rng.normal(size=(2, 2)))[0]
    iso = discriminator_modulus(X, lambda x: x @ Q, Z)
    assert iso["alpha"] == pytest.approx(1.0, abs=1e-9) and iso["violations"] == 0
    assert iso["lip_psi"] == pytest.approx(iso["lip_f"], rel=1e-9)
    half = discriminator_modulus(X, lambda x: 0.5 * x, Z)
    assert half["alpha"] == pytest.approx(0.5, rel=1e-9) and half["violations"] == 0
    assert half["lip_psi"] == pytest.approx(half["lip_f"] / 2, rel=1e-9)
    w = np.full(40, 1 / 40)
    _, log = ot.emd(w, w, ot.dist(0.5 * X, Z), log=True)
    assert float(w @ log["u"] + w @ log["v"]) == pytest.approx(float(ot.emd2(w, w, ot.dist(0.5 * X, Z))), rel=1e-9)


def test_second_variation_bounds_hold_and_collapse_at_an_isometry():
    """Thm 3's Hölder bounds hold on random (T, h) (they follow from |8(a·b)²/(1+|a|²)²| ≤ 2|b|² and Cauchy–Schwarz
    on the pair measure), and at an isometry (C = 0) the lower bound is exactly 0 and δ²C ≥ 0; a direction with
    ‖h‖_Lip doubled scales every term by 4."""
    g = torch.Generator().manual_seed(2)
    for t in (0.0, 0.3, 1.0):
        X = torch.randn(9, 3, generator=g, dtype=torch.float64)
        Y = X[:, :2] * (1 + t) + t * torch.randn(9, 2, generator=g, dtype=torch.float64)
        H = torch.randn(9, 2, generator=g, dtype=torch.float64)
        lo, val, hi = theory.second_variation_bounds(X, Y, H)
        assert lo <= val <= hi
        lo2, val2, hi2 = theory.second_variation_bounds(X, Y, 2 * H)
        assert (lo2, val2, hi2) == pytest.approx((4 * lo, 4 * val, 4 * hi), rel=1e-12)
    Xi = torch.randn(9, 2, generator=g, dtype=torch.float64)
    Q = torch.linalg.qr(torch.randn(2, 2, generator=g, dtype=torch.float64))[0]
    lo, val, hi = theory.second_variation_bounds(Xi, Xi @ Q, torch.randn(9, 2, generator=g, dtype=torch.float64))
    assert lo == pytest.approx(0.0, abs=1e-12) and val >= -1e-12 and hi > 0


def test_power_law_exponent_recovers_the_exponent():
    x = np.array([1.0, 2.0, 5.0, 10.0, 40.0])
    assert theory.power_law_exponent(x, 3.0 * x**1.7) == pytest.approx(1.7, rel=1e-12)
    assert theory.power_law_exponent(x, 0.5 / x) == pytest.approx(-1.0, rel=1e-12)


# ------------------------------------------------------------------------------ notebook 10's whole experiments


def test_random_map_checks_tables_hold_exactly_and_replay_from_the_generator():
    """Def. 1's forms agree and Prop. 1 / Thm 2 hold on every map; the same generator state gives the same tables
    (notebook 10's claims test replays the quick run this way)."""
    run = lambda: theory_checks.random_map_checks(6, (3, 2), 3, [0.5, 0.9], torch.Generator().manual_seed(4))  # noqa: E731
    thm2, prop1 = run()
    assert list(thm2.columns) == ["map", "alpha", "gme", "empirical", "bound"] and len(thm2) == 6
    assert (thm2.empirical >= thm2.bound).all() and thm2.gme.iloc[0] < thm2.gme.iloc[-1]  # map 0 the near-isometry
    assert prop1.alpha.tolist() == [0.5, 0.9] and prop1.forms_agree.all() and (prop1.pairs == 3 * 30).all()
    assert (prop1.within == prop1.covered).all() and (prop1.covered <= prop1.pairs).all()
    again = run()
    assert thm2.equals(again[0]) and prop1.equals(again[1])


def test_hessian_checks_find_the_saddle_the_closed_form_and_the_rigid_motions():
    thm3, spectra, variation = theory_checks.hessian_checks(7, (3, 2), 4, torch.Generator().manual_seed(5), draws=3)
    col, iso = (spectra.set_index("point").loc[p] for p in ("collapsed", "isometry"))
    assert col.zero_modes == col.expected_zero_modes == 2 and col.largest <= 1e-12 and col.closed_form_error < 1e-12
    assert iso.zero_modes == iso.expected_zero_modes == 3 and iso.smallest > -1e-10
    assert math.isnan(iso.closed_form_error)
    assert len(variation) == 3 and (variation.relative_error < 1e-9).all()
    assert len(thm3) == 4 and (thm3.lower <= thm3.second_variation).all()
    assert (thm3.second_variation <= thm3.upper).all()


def test_remark1_and_concentration_slopes_read_their_tables():
    L = np.array([1, 4, 16, 64])
    rem = pd.DataFrame([dict(L=x, cost=c, top_eigenvalue=v) for x in L
                        for c, v in (("GME (log)", 0.1 * x**-0.5), ("MDS (squared)", 0.3 * x**2.0))])
    assert theory_checks.remark1_slopes(rem) == pytest.approx({"GME (log)": -0.5, "MDS (squared)": 2.0}, rel=1e-12)
    conc = pd.DataFrame([dict(L=x, n=k, sd=x**0.25 / math.sqrt(k)) for x in (4, 16, 256) for k in (50, 200, 800)])
    n_slope, logL_slope, L_slope = theory_checks.concentration_slopes(conc)
    assert n_slope == pytest.approx({4: -0.5, 16: -0.5, 256: -0.5}, rel=1e-12) and L_slope == pytest.approx(0.25)
    assert logL_slope > 0


def test_remark1_spectra_and_corollary1_run_on_small_problems():
    g = torch.Generator().manual_seed(6)
    rem = theory_checks.remark1_spectra([1, 4, 16], g, points=12)
    assert rem.cost.tolist() == ["GME (log)", "MDS (squared)"] * 3 and (rem.top_eigenvalue > 0).all()
    cost, bound = theory_checks.corollary1_run(8, (3, 2), 5, g)
    assert cost.step.tolist() == list(range(6)) and bound.step.tolist() == list(range(5))
    assert np.diff(cost.cost).max() <= 1e-15 and (np.diff(bound.lambda_hat) >= 0).all()  # λ̂: the largest so far


def test_lemma3_table_thm6_sweep_and_concentration_table():
    rng = np.random.default_rng(0)
    lem3 = theory_checks.lemma3_table(2, 20000, rng, seed=1, matrices=2)
    assert lem3.matrix.tolist() == [0, 1] and (lem3.z < 5).all()
    P = np.linalg.qr(rng.normal(size=(10, 2)))[0]
    circle = lambda k: np.c_[np.cos(t := 2 * np.pi * rng.random(k)), np.sin(t)] @ P.T  # noqa: E731
    thm6 = theory_checks.thm6_sweep(circle(40), P, circle, rng)
    assert len(thm6) == 9 and (thm6.w1 <= thm6.bound).all()
    assert thm6.alpha.nunique() == 3 and thm6.decoder_error.unique().tolist() == [0.0, 0.05, 0.2]
    conc = theory_checks.concentration_table([4, 16], [20, 40], 5, pairs=2000, seed=0)
    assert conc[["L", "n"]].values.tolist() == [[4, 20], [4, 40], [16, 20], [16, 40]] and (conc.sd > 0).all()

