# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (gpelib)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10 — The theory of both papers, checked numerically (first part)
#
# Each row below takes one statement of the GPE paper (or GMEGAN's equivalent), as restated in
# `../shared/THEORY.md` (the GPE text lost its formulas), and checks it **exactly** on finite point sets in float64:
# the empirical measure *is* a measure, so a statement about µ holds for it or it does not. Every check can fail: a
# wrong constant, sign or normalisation in `gpelib.theory` (or in our reading of the paper) shows up as a failed row.
# Statements whose constants are not recoverable are checked in shape (growth rates), never against an invented
# constant. This first part covers Definition 1, Propositions 1–2, Theorem 2, Theorem 3's second variation and
# zero modes, Corollary 1, Remark 1, Example 1, Theorem 4 (m = 1), Lemma 3 and Theorem 6's constant-free core;
# Theorem 1 (JL construction), Theorems 5 and 7 and GMEGAN Prop. 2/Thm 3 follow.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
seed = 0

# %%

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from gpelib import models, plots, profiles, reporting, theory, verdicts
from gpelib.geometry import theorem1_bound
from gpelib.train import TrainConfig, train_encoder

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("10", profile)
g = torch.Generator().manual_seed(seed)
rng = np.random.default_rng(seed)
n, (D, d) = S["n"], S["dims"]
print(f"profile={profile}  out={out}\n{S}")

# %% [markdown]
# ## Example 1 (GPE eq. 17): the monotone map onto N(0, 1) contracts the gap between modes
#
# For µ = ½N(−m₀, 1) + ½N(m₀, 1), the map T = Φ⁻¹∘F_µ has slope T'(0) = e^{−m₀²/2} at the centre — exactly; so any
# map that pushes µ onto a Gaussian has a bi-Lipschitz constant of at least e^{m₀²/2}, while an isometric embedding
# (GME cost 0) keeps the gap.

# %%
seps = S["separations"]
h = 1e-5
rows = []
for m0 in seps:
    fd = float((theory.mixture_map(np.array([h]), m0, 1.0) - theory.mixture_map(np.array([-h]), m0, 1.0))[0] / (2 * h))
    rows.append(dict(m0=m0, slope_fd=fd, slope_exact=theory.mixture_map_slope_at_centre(m0, 1.0)))
ex1 = pd.DataFrame(rows).assign(rel_error=lambda t: (t.slope_fd / t.slope_exact - 1).abs())
reporting.save_table(ex1, out, "10_example1_slopes")
fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
xs = np.linspace(-8, 8, 801)
for m0 in seps[:: max(1, len(seps) // 4)]:
    a1.plot(xs, theory.mixture_map(xs, m0, 1.0), label=f"m₀ = {m0:g}")
a1.plot(xs, xs, "k:", lw=0.8, label="isometry")
a1.set(xlabel="x", ylabel="T(x) = Φ⁻¹(F_µ(x))", title="monotone map onto N(0, 1)")
a1.legend(fontsize=7)
a2.semilogy(ex1.m0, ex1.slope_exact, "o-", label="e^{−m₀²/2} (exact)")
a2.semilogy(ex1.m0, ex1.slope_fd, "x", label="finite difference")
a2.set(xlabel="half-separation m₀", ylabel="T'(0)", title="slope at the centre")
a2.legend(fontsize=7)
fig.tight_layout()
plots.save_figure(fig, out, "10_example1")
display(ex1)

# %% [markdown]
# ## Definition 1, Proposition 1 and Theorem 2 on random maps (exact, empirical pair measure)

# %%
alphas = S["alphas"]
agree, prop1_ok, prop1_n, thm2 = True, 0, 0, []
for k in range(S["maps"]):
    # data near a d-dimensional subspace of R^D; maps from near-isometries (k = 0) to strongly distorting ones
    t = k / S["maps"]
    Z = torch.randn(n, d, generator=g, dtype=torch.float64)
    X = torch.cat([Z, 0.02 * torch.randn(n, D - d, generator=g, dtype=torch.float64)], 1)
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    Y = (Z @ Q) * (1 + t * torch.randn(d, generator=g, dtype=torch.float64)) \
        + t * torch.randn(n, d, generator=g, dtype=torch.float64)
    dx2 = ((X[:, None] - X[None]) ** 2).sum(-1).numpy()
    dy2 = ((Y[:, None] - Y[None]) ** 2).sum(-1).numpy()
    off = ~np.eye(n, dtype=bool)
    C = float(theory.gme_v(X, Y))
    for a in alphas:
        f1, f2 = theory.weak_bilipschitz_forms(dx2[off], dy2[off], a)
        agree &= bool(np.array_equal(f1, f2))
        covered, ok = theory.separated_pair_bounds(dx2[off], dy2[off], a, 0.5)
        prop1_n += int(covered.sum())
        prop1_ok += int(ok.sum())
        mu = float(theory.k_alpha_mass_v(X, Y, [a])[0])  # the V-statistic pair measure, as gme_v's
        thm2.append(dict(map=k, alpha=a, gme=C, empirical=mu, bound=theorem1_bound(C, a)))
thm2 = pd.DataFrame(thm2)
reporting.save_table(thm2, out, "10_theorem2")
best = thm2[thm2.gme == thm2.gme.min()]
display(best)

# %% [markdown]
# ## Proposition 2 and Theorem 3: the Hessian of the GME cost in the latent coordinates

# %%
X = torch.randn(n, D, generator=g, dtype=torch.float64)
H0 = theory.hessian(theory.gme_v, X, torch.zeros(n, d, dtype=torch.float64))
collapsed_err = float((H0 - theory.collapsed_hessian(X, d)).abs().max())
z0, lo0, hi0 = theory.zero_modes(H0)
errs = []
for _ in range(10):
    Y, Hd = (torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(2))
    q = float(Hd.reshape(-1) @ theory.hessian(theory.gme_v, X, Y) @ Hd.reshape(-1))
    errs.append(abs(float(theory.second_variation(X, Y, Hd)) - q) / max(abs(q), 1e-300))
thm3 = []  # the two-sided bound (THEORY.md §9) over random (T, h), from near-isometries to distorting maps
for k in range(S["maps"]):
    t = k / S["maps"]
    Xr = torch.randn(n, D, generator=g, dtype=torch.float64)
    Yr = Xr[:, :d] * (1 + t * torch.randn(d, generator=g, dtype=torch.float64)) \
        + t * torch.randn(n, d, generator=g, dtype=torch.float64)
    lo_, val_, hi_ = theory.second_variation_bounds(Xr, Yr, torch.randn(n, d, generator=g, dtype=torch.float64))
    thm3.append(dict(map=k, gme=float(theory.gme_v(Xr, Yr)), lower=lo_, second_variation=val_, upper=hi_))
thm3 = pd.DataFrame(thm3)
reporting.save_table(thm3, out, "10_theorem3_bounds")
Xd = torch.randn(n, d, generator=g, dtype=torch.float64)
Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
zi, loi, hii = theory.zero_modes(theory.hessian(theory.gme_v, Xd, Xd @ Q), rtol=1e-9)
rigid = d + d * (d - 1) // 2
print(f"collapsed map: max |autograd − closed form| {collapsed_err:.2e}; eigenvalues in [{lo0:.3g}, {hi0:.2g}], "
      f"{z0} zero (d = {d})\nsecond variation: max relative error {max(errs):.1e}\nisometry: {zi} zero eigenvalues "
      f"(rigid motions: {rigid}), smallest {loi:.2g}")

# %% [markdown]
# ## Remark 1: the GME cost's curvature stays bounded as the encoder stretches; the MDS cost's grows like L²

# %%
Xs = torch.rand(30, 2, generator=g, dtype=torch.float64)
rem = []
for L in S["lipschitz"]:
    Y = Xs * torch.tensor([L, 1 / L], dtype=torch.float64)
    rem += [dict(L=L, cost="GME (log)", top_eigenvalue=theory.top_eigenvalue(theory.hessian(theory.gme_v, Xs, Y))),
            dict(L=L, cost="MDS (squared)", top_eigenvalue=theory.top_eigenvalue(theory.hessian(theory.mds_v, Xs, Y)))]
rem = pd.DataFrame(rem)
reporting.save_table(rem, out, "10_remark1")
big = rem[rem.L >= 4]
slope = {c: theory.power_law_exponent(gg.L, gg.top_eigenvalue) for c, gg in big.groupby("cost")}
fig, ax = plt.subplots(figsize=(5, 3.5))
for c, gg in rem.groupby("cost"):
    ax.loglog(gg.L, gg.top_eigenvalue, "o-", label=f"{c}: slope {slope[c]:.2f} (L ≥ 4)")
ax.set(xlabel="L (T = diag(L, 1/L))", ylabel="largest Hessian eigenvalue", title="Remark 1")
ax.legend(fontsize=8)
plots.save_figure(fig, out, "10_remark1")
display(rem.pivot_table(index="L", columns="cost", values="top_eigenvalue"))

# %% [markdown]
# ## Corollary 1, Lemma 3 and Theorem 6's constant-free core
#
# Cor. 1: gradient descent on the latent points with step 1/λ̂ (λ̂ the largest Hessian eigenvalue seen so far) never
# raises the cost, and its smallest squared gradient after K steps is at most 2λ̂C₀/K. Lemma 3: for a linear map A
# the sphere average of (|Av|² − 1)² equals (2Σ(λᵢ−1)² + (Σ(λᵢ−1))²)/(m(m+2)) (Monte Carlo). Thm 6, Step 1 with
# Lemma 4: W₁(µ_n, S#ρ) ≤ α⁻¹W₁(T#µ_n, ρ) + E_ρ|T⁻¹y − Sy| for a linear α-bi-Lipschitz encoder, any decoder and
# any latent cloud, with exact W₁ (POT) — a circle in R^10, decoders of growing error.

# %%
Xg = torch.randn(n, D, generator=g, dtype=torch.float64)
gd = theory.gme_gradient_descent(Xg, 1.5 * Xg[:, :d] + 0.3 * torch.randn(n, d, generator=g, dtype=torch.float64),
                                 S["gd_steps"])
K = np.arange(1, S["gd_steps"] + 1)
cor1_rise = float(np.diff(gd["cost"]).max())
cor1_margin = float((2 * gd["lam"] * gd["cost"][0] / K - np.minimum.accumulate(gd["grad_sq"])).min())
lem3 = []
for k in range(5):
    A = np.eye(d + 1, d) + (0.1 + 0.1 * k) * rng.normal(size=(d + 1, d))
    mc, se, exact = theory.lemma3_sides(A, S["mc_samples"], seed=seed + k)
    lem3.append(dict(matrix=k, monte_carlo=mc, se=se, closed_form=exact, z=abs(mc - exact) / se))
lem3 = pd.DataFrame(lem3)
P = np.linalg.qr(rng.normal(size=(10, 2)))[0]
circle = lambda k: np.c_[np.cos(2 * np.pi * rng.random(k)), np.sin(2 * np.pi * rng.random(k))] @ P.T  # noqa: E731
Xc = circle(S["n_circle"])
thm6 = []
for scale in (0.6, 0.8, 1.0):
    T = scale * np.array([[1.0, 0.3], [0.0, 0.8], [0.1, 0.2]]) @ P.T
    rho = circle(S["n_circle"]) @ T.T + 0.05 * rng.normal(size=(S["n_circle"], 3))
    for err in (0.0, 0.05, 0.2):
        dec = lambda y, T=T, err=err: y @ np.linalg.pinv(T).T + err * np.sin(3 * y[:, :1])  # noqa: E731
        lhs, rhs, a = theory.thm6_core(Xc, T, dec, rho)
        thm6.append(dict(encoder_scale=scale, alpha=a, decoder_error=err, w1=lhs, bound=rhs))
thm6 = pd.DataFrame(thm6)
thm4 = pd.DataFrame([dict(alpha=a, **theory.decoder_hessian_1d(a)) for a in S["thm4_alphas"]])
thm4_slope = theory.power_law_exponent(1 / thm4.alpha, thm4.gd_iterations)
reporting.save_table(thm4, out, "10_theorem4")
display(thm4.round(4))
reporting.save_table(lem3, out, "10_lemma3")
reporting.save_table(thm6, out, "10_theorem6_core")
reporting.save_table(pd.DataFrame({"step": np.arange(len(gd["cost"])), "cost": gd["cost"]}), out, "10_corollary1")
display(lem3.round(5))
display(thm6.round(4))

# %% [markdown]
# ## Theorem 1 (existence via Johnson–Lindenstrauss), its construction on a curve in R^50
#
# THEORY.md §5, eq. 13: on each chart piece V_i of a closed curve, T(x) = P c_i + ι(φ_i(x) − φ_i(c_i)) with P a
# Gaussian JL matrix on the chart centres and ι an isometric injection of the arclength chart. Kept pairs: those in
# one chart, or farther apart than a boundary layer τ = √r (r the chart radius). The theorem's constants are lost, so
# its shape is checked: 1 − α (α the weak bi-Lipschitz constant on the kept pairs) falls as d grows and as the charts
# shrink, and the excluded mass goes to 0 (`gpelib.theory.jl_chart_embedding`; several JL draws per cell).

# %%
jl = pd.DataFrame([dict(charts=N, d=dd, seed=sd, **{k: v for k, v in vars(theory.jl_chart_embedding(
    S["jl_points"], N, dd, seed=seed + sd)).items() if k in ("r", "tau", "alpha", "excluded")})
    for N in S["jl_charts"] for dd in S["jl_dims"] for sd in range(S["jl_seeds"])]).assign(
    one_minus_alpha=lambda t: 1 - t.alpha)
reporting.save_table(jl, out, "10_theorem1_jl", keys=["charts", "d", "seed"])
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
for dd, g_ in jl.groupby("d"):
    m_ = g_.groupby("r").one_minus_alpha.mean()
    axes[0].plot(m_.index, m_.values, "o-", label=f"d = {dd}")
axes[0].set(xscale="log", xlabel="chart radius r", ylabel="1 − α (kept pairs)", title="Thm 1: distortion")
axes[0].legend(fontsize=7)
m_ = jl.groupby("r").excluded.mean()
axes[1].plot(m_.index, m_.values, "o-")
axes[1].set(xscale="log", yscale="log", xlabel="chart radius r", ylabel="mass of the boundary layer",
            title="Thm 1: excluded pairs")
fig.tight_layout()
plots.save_figure(fig, out, "10_theorem1_jl")
per_seed = lambda N, dd, col: jl[(jl.charts == N) & (jl.d == dd)].sort_values("seed")[col].tolist()  # noqa: E731
display(jl.groupby(["charts", "d"])[["r", "one_minus_alpha", "excluded"]].mean().round(4))

# %% [markdown]
# ## Lemma 2, Theorem 5 and Remark 3 (m = 1): the decoder's conditioning as the encoder's GME cost → 0
#
# THEORY.md §10–11 on Theorem 4's family (density alternating between ρ_min and ρ_max, encoder slopes 1/α and α)
# with α → 1: the population GME cost C(T) (quadrature), Lemma 2's ∫F_T dµ (F_T = (T′² − 1)² for m = 1) and the
# decoder's condition number κ, which Theorem 5 says tends to ρ_max/ρ_min as C(T) → 0 (Lemma 2's exponent β and
# Theorem 5's constants are lost: the shape is checked — a power law ∫F ∝ C^β with β > 0, and κ → ρ_max/ρ_min).
# Remark 3: in L²(T#µ_n) the decoder objective's Hessian is exactly 2·Id, and the two norms of the decoder's
# perturbation compare within [αρ_min, ρ_max/α].

# %%
thm5 = pd.DataFrame([theory.small_gme_decoder_conditioning(a) for a in S["thm5_alphas"]]).assign(
    excess=lambda t: t.kappa / t.kappa_limit - 1)
beta_fit = theory.power_law_exponent(thm5.gme, thm5.f_integral)
rem3 = pd.DataFrame([theory.remark3_hessian(a, seed=seed) for a in (0.5, 0.9)])
reporting.save_table(thm5, out, "10_theorem5")
reporting.save_table(rem3, out, "10_remark3")
fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
a1.loglog(thm5.gme, thm5.f_integral, "o-", label=f"∫F_T dµ (fitted β = {beta_fit:.2f})")
a1.set(xlabel="GME cost C(T)", ylabel="∫F_T dµ", title="Lemma 2 (m = 1)")
a1.legend(fontsize=7)
a2.loglog(thm5.gme, thm5.excess, "o-")
a2.set(xlabel="GME cost C(T)", ylabel="κ / (ρ_max/ρ_min) − 1", title="Theorem 5: κ → ρ_max/ρ_min")
fig.tight_layout()
plots.save_figure(fig, out, "10_theorem5")
display(thm5.round(6))
display(rem3)

# %% [markdown]
# ## Theorem 7's ingredients: Proposition 6 (concentration of C_n) and Lemma 6 (the pair bound)
#
# Prop. 6: |C_n(T) − C(T)| ≤ t with probability ≥ 1 − 2exp(−c n t²/((log L)⁴ + (log L)² t)) — fluctuations of order
# (log L)²/√n, the Lipschitz constant L entering only through log L (constants lost). Monte Carlo: µ = N(0, I₃),
# T_L(x) = (Lx₁, x₂/L, tanh x₃), C_n the U-statistic on independent samples, C from a million independent pairs.
# Lemma 6: with ρ = T#µ′_n, the exact optimal latent plan bounds W₁(µ_n, µ′_n) pair by pair — (α(1−γ))^{−1/2}|Tx −
# Tx′| on separated pairs of K_α, √((1−α)/(αγ)) on close ones, the diameter outside K_α (a circle in R^10, γ = ½).

# %%
conc = []
for L in S["prop6_lipschitz"]:
    pop, cn = theory.gme_concentration(L, S["prop6_ns"], S["prop6_draws"], pairs=S["prop6_pairs"], seed=seed)
    for i, nn in enumerate(S["prop6_ns"]):
        conc.append(dict(L=L, n=nn, population=pop, mean=cn[i].mean(), sd=cn[i].std(ddof=1),
                         q95=np.quantile(np.abs(cn[i] - pop), 0.95)))
conc = pd.DataFrame(conc)
reporting.save_table(conc, out, "10_proposition6", keys=["L", "n"])
n_slope = {L: theory.power_law_exponent(gg.n, gg.sd) for L, gg in conc.groupby("L")}
big_n = conc[conc.n == max(S["prop6_ns"])]
logL_slope = theory.power_law_exponent(np.log(big_n.L), big_n.sd)
L_slope = theory.power_law_exponent(big_n.L, big_n.sd)
fig, ax = plt.subplots(figsize=(5, 3.5))
for L, gg in conc.groupby("L"):
    ax.loglog(gg.n, gg.sd, "o-", label=f"L = {L}: slope {n_slope[L]:.2f}")
ax.set(xlabel="n", ylabel="sd of C_n over draws", title="Proposition 6: C_n concentrates like n^{−1/2}")
ax.legend(fontsize=7)
plots.save_figure(fig, out, "10_proposition6")
display(conc.round(4))
Xa, Xb = circle(S["n_circle"]), circle(S["n_circle"])
curved = lambda x: np.c_[x @ P, 0.3 * np.sin(3 * (x @ P)[:, :1])]  # noqa: E731 — a curved embedding of the circle
lem6 = pd.DataFrame([dict(alpha=a, **theory.lemma6_pair_bound(Xa, Xb, curved, a, 0.5)) for a in (0.5, 0.7, 0.9)])
reporting.save_table(lem6, out, "10_lemma6")
display(lem6.round(4))

# %% [markdown]
# ## GMEGAN Proposition 2 (the discriminator's regularity) and Theorem 2 on a trained encoder
#
# Prop. 2: with (f, g) the optimal dual pair of W₂²(T#µ, ν) and ω a modulus of continuity of f, the discriminator
# ψ*(x) = f(Tx) satisfies |ψ*(x) − ψ*(x′)| ≤ ω(|x − x′|/α) — exact duals (POT) on a circle in R^10 mapped to R² by
# encoders from an isometry (α = 1) to strongly distorting ones, ν a Gaussian sample; as α → 1 the discriminator has
# f's regularity. Theorem 2 on a **trained** GPE encoder (`gpelib.train.train_encoder`, GME cost only) of a gently
# curved sheet in R^10 to R², where a small cost makes the bound informative at α = 0.9 (held-out pairs, the cost
# measured on the same pairs: the V-statistic normalisation under which the bound is exact).

# %%
Zg = rng.normal(size=(S["n_circle"], 2))
prop2 = pd.DataFrame([dict(distortion=s_, **theory.discriminator_modulus(
    Xa, lambda x, s_=s_: (x @ P) * (1 + s_ * np.sin(2 * (x @ P)[:, :1])), Zg)) for s_ in (0.0, 0.3, 0.6, 0.9)])
prop2["bound"] = prop2.lip_f / prop2.alpha
reporting.save_table(prop2, out, "10_gmegan_prop2")
display(prop2.round(4))
Psheet = np.linalg.qr(rng.normal(size=(10, 3)))[0]
sheet = lambda k: torch.tensor(np.c_[(u := rng.standard_normal((k, 2))), 0.15 * (u**2).sum(1)] @ Psheet.T,  # noqa: E731
                               dtype=torch.float32)
x_sheet, x_sheet_val = sheet(S["trained_points"]), sheet(300)
torch.manual_seed(seed)
sheet_enc = models.make_encoder((10,), 2, hidden=64, n_layers=3)
sheet_run = train_encoder(sheet_enc, x_sheet, val_data=x_sheet_val, config=TrainConfig(
    iterations=S["trained_iterations"], batch_size=100, lr=1e-3, eval_every=max(S["trained_iterations"] // 4, 1),
    seed=seed, progress=False))
with torch.no_grad():
    Xs_val, Ys_val = x_sheet_val.double(), sheet_enc(x_sheet_val).double()
C_sheet = float(theory.gme_v(Xs_val, Ys_val))
trained = pd.DataFrame([dict(alpha=a, gme=C_sheet, empirical=float(theory.k_alpha_mass_v(Xs_val, Ys_val, [a])[0]),
                             bound=theorem1_bound(C_sheet, a)) for a in alphas])
reporting.save_table(trained, out, "10_theorem2_trained")
display(trained.round(4))

# %% [markdown]
# ## Verdict

# %%
thm2_margin = (thm2.empirical - thm2.bound).to_numpy()
useful = thm2[(thm2.alpha == max(alphas))].sort_values("gme").iloc[0]
rows = [
    verdicts.Claim.from_decision(
        "GPE Example 1: the monotone map onto N(0,1) has slope e^{−m₀²/2}/σ at the centre",
        "eq. 17: T'(0) = f_µ(0)/φ(0)", f"largest relative error {ex1.rel_error.max():.1e} over m₀ = "
        f"{', '.join(f'{s:g}' for s in seps)} (slope {ex1.slope_exact.min():.2e} at m₀ = {max(seps):g})",
        verdicts.at_most(ex1.rel_error.to_numpy(), 1e-6), profile=profile),
    verdicts.Claim.from_decision(
        "Definition 1: the two forms of weak α-bi-Lipschitz agree on every pair",
        "GMEGAN (3.6) ⇔ α ≤ (1+|Δy|²)/(1+|Δx|²) ≤ 1/α", f"{'all' if agree else 'not all'} pairs of {S['maps']} "
        f"maps × {len(alphas)} α agree", verdicts.at_least([float(agree)], 1.0), profile=profile),
    verdicts.Claim.from_decision(
        "Proposition 1: separated pairs in K_α satisfy α(1−γ)|Δx|² ≤ |Δy|² ≤ (1/α+γ)|Δx|² (γ = ½)",
        "GMEGAN Prop. 1", f"{prop1_ok:,} of {prop1_n:,} covered pairs", verdicts.at_least([prop1_ok], prop1_n),
        profile=profile),
    verdicts.Claim.from_decision(
        "Theorem 2 (GMEGAN Thm 1): µ²[K_α] ≥ 1 − C/(log α)² on the empirical (V-statistic) pair measure",
        "exact for any measure", f"min margin {thm2_margin.min():+.3g} over {len(thm2):,} (map, α); the "
        f"nearest isometry at α = {useful.alpha:g}: bound {useful.bound:.3f} ≤ {useful.empirical:.3f} "
        f"(C = {useful.gme:.2g})",
        verdicts.at_least(thm2.empirical.to_numpy(), thm2.bound.to_numpy()), profile=profile),
    verdicts.Claim.from_decision(
        "Proposition 2: a collapsed map is a saddle — Hessian −(8/n²)Lap(w)⊗I_d, ≤ 0 with exactly d zero modes",
        "THEORY.md §8 (derived)", f"max deviation {collapsed_err:.1e}; {z0} zero eigenvalues (d = {d}), largest "
        f"{hi0:.1g}", verdicts.all_of([verdicts.at_most([collapsed_err], 1e-12), verdicts.at_least([z0], d),
                                       verdicts.at_most([z0], d), verdicts.at_most([hi0], 1e-12)]),
        profile=profile),
    verdicts.Claim.from_decision(
        "Theorem 3: the second variation equals its closed form; at an isometry the Hessian is ≥ 0 with the rigid "
        "motions as its only zero modes", "THEORY.md §9", f"max relative error {max(errs):.1e}; isometry: {zi} zero "
        f"eigenvalues (rigid motions {rigid}), smallest {loi:.1g}",
        verdicts.all_of([verdicts.at_most(errs, 1e-9), verdicts.at_least([zi], rigid), verdicts.at_most([zi], rigid),
                         verdicts.at_least([loi], -1e-10)]), profile=profile),
    verdicts.Claim.from_decision(
        "Theorem 3: −4√C‖h‖²_Lip(E|Δx|⁴)^½ ≤ δ²C(h,h) ≤ ‖h‖²_Lip(2E|Δx|² + 4√C(E|Δx|⁴)^½) over random (T, h)",
        "THEORY.md §9 (Hölder shape; constants not recovered)", f"{len(thm3)} (T, h): smallest margins "
        f"{(thm3.second_variation - thm3.lower).min():.3g} (lower), {(thm3.upper - thm3.second_variation).min():.3g}"
        f" (upper); lower bound {thm3.lower.iloc[thm3.gme.idxmin()]:.3g} at the smallest C "
        f"({thm3.gme.min():.2g}) vs {thm3.lower.iloc[thm3.gme.idxmax()]:.3g} at the largest ({thm3.gme.max():.2g})",
        verdicts.all_of([verdicts.at_least(thm3.second_variation.to_numpy(), thm3.lower.to_numpy()),
                         verdicts.at_most(thm3.second_variation.to_numpy(), thm3.upper.to_numpy())]),
        profile=profile),
    verdicts.Claim.from_decision(
        "Remark 1: the GME Hessian stays bounded as L grows, the MDS Hessian grows like L²",
        "log-L vs L² growth (shape; constants not recovered)", f"log-log slopes for L ≥ 4: GME "
        f"{slope['GME (log)']:.2f}, MDS {slope['MDS (squared)']:.2f}",
        verdicts.all_of([verdicts.at_most([slope["GME (log)"]], 0.25), verdicts.within([slope["MDS (squared)"]],
                                                                                         1.8, 2.2)]),
        profile=profile),
]
rows += [
    verdicts.Claim.from_decision(
        "Corollary 1: gradient descent with step 1/λ̂ never raises the GME cost and min_k |∇C|² ≤ 2λ̂C₀/K",
        "THEORY.md §9 (standard argument, App. D)", f"{S['gd_steps']} steps: cost {gd['cost'][0]:.3g} → "
        f"{gd['cost'][-1]:.3g}, largest rise {cor1_rise:.1e}, min margin of the bound {cor1_margin:.2g}",
        verdicts.all_of([verdicts.at_most([cor1_rise], 1e-15), verdicts.at_least([cor1_margin], 0.0)]),
        profile=profile),
    verdicts.Claim.from_decision(
        "Lemma 3: ⨍(|Av|²−1)² = (2Σ(λᵢ−1)² + (Σ(λᵢ−1))²)/(m(m+2)) for linear maps",
        "THEORY.md §11 (derived identity)", f"Monte Carlo ({S['mc_samples']:,} directions) within "
        f"{lem3.z.max():.2f} standard errors of the closed form over {len(lem3)} matrices",
        verdicts.at_most(lem3.z.to_numpy(), 4.0), profile=profile),
    verdicts.Claim.from_decision(
        "Theorem 4 (m = 1): the decoder Hessian's eigenvalues lie in [2αρ_min, 2ρ_max/α]; gradient descent "
        "iterations grow like α⁻²", "eq. 31 and the rate (1 − 1/κ)^k (eq. 33; exact form lost)",
        f"α = {', '.join(f'{a:g}' for a in thm4.alpha)}: all eigenvalues inside (the extreme encoder attains both "
        f"ends); iterations {', '.join(f'{int(i):,}' for i in thm4.gd_iterations)}, log-log slope in 1/α "
        f"{thm4_slope:.2f}",
        verdicts.all_of([verdicts.at_least(thm4.lambda_min.to_numpy(), thm4.lower.to_numpy() * (1 - 1e-12)),
                         verdicts.at_most(thm4.lambda_max.to_numpy(), thm4.upper.to_numpy() * (1 + 1e-12)),
                         verdicts.within([thm4_slope], 1.8, 2.2)]), profile=profile),
    verdicts.Claim.from_decision(
        "Theorem 6 core: W₁(µ_n, S#ρ) ≤ α⁻¹W₁(T#µ_n, ρ) + E_ρ|T⁻¹y − Sy| (exact W₁)",
        "Step 1 + Lemma 4 of Thm 6 (constant-free)", f"{len(thm6)} (encoder, decoder) pairs on a circle in R^10: "
        f"W₁ {thm6.w1.min():.3f}–{thm6.w1.max():.3f} vs bound {thm6.bound.min():.3f}–{thm6.bound.max():.3f}",
        verdicts.at_most(thm6.w1.to_numpy(), thm6.bound.to_numpy()), profile=profile),
]
rows += [
    verdicts.Claim.from_decision(
        "Theorem 1 (JL construction, eq. 13): 1 − α falls as the dimension d grows, at every chart size",
        "d ≳ δ⁻² log N with 1 − α = O(δ) (eqs. 11–12; constants lost)",
        "; ".join(f"N = {N}: " + " → ".join(f"{np.mean(per_seed(N, dd, 'one_minus_alpha')):.3f}"
                                             for dd in S["jl_dims"]) for N in S["jl_charts"])
        + f" (d = {', '.join(map(str, S['jl_dims']))})",
        verdicts.all_of([verdicts.shrinks([per_seed(N, dd, "one_minus_alpha") for dd in S["jl_dims"]])
                         for N in S["jl_charts"]]), profile=profile),
    verdicts.Claim.from_decision(
        f"Theorem 1: at d = {max(S['jl_dims'])}, 1 − α falls and the boundary layer's mass → 0 as the charts shrink",
        "1 − α = O(δ) once r is small (eq. 8); the excluded set is a boundary layer of width → 0",
        f"r = {', '.join(f'{r:.3g}' for r in sorted(jl.r.unique(), reverse=True))}: 1 − α "
        + " → ".join(f"{np.mean(per_seed(N, max(S['jl_dims']), 'one_minus_alpha')):.3f}" for N in S["jl_charts"])
        + "; excluded " + " → ".join(f"{np.mean(per_seed(N, max(S['jl_dims']), 'excluded')):.4f}"
                                     for N in S["jl_charts"]),
        verdicts.all_of([verdicts.shrinks([per_seed(N, max(S["jl_dims"]), c) for N in S["jl_charts"]])
                         for c in ("one_minus_alpha", "excluded")]), profile=profile),
]
at9 = trained[trained.alpha == max(alphas)].iloc[0]
rows += [
    verdicts.Claim.from_decision(
        "Lemma 2 (m = 1): ∫F_T dµ ≤ C·ε^β — a power law in the GME cost with β > 0",
        "THEORY.md §11 (β lost: shape only)", f"C(T) {thm5.gme.max():.2g} → {thm5.gme.min():.2g}: ∫F_T dµ "
        f"{thm5.f_integral.max():.3g} → {thm5.f_integral.min():.2g}, fitted β = {beta_fit:.2f}",
        verdicts.all_of([verdicts.at_least([beta_fit], 0.1), verdicts.shrinks(
            list(thm5.sort_values("gme", ascending=False).f_integral))]), profile=profile),
    verdicts.Claim.from_decision(
        "Theorem 5 (m = 1): the decoder's condition number → ρ_max/ρ_min as the encoder's GME cost → 0",
        "THEORY.md §11 (constants lost: the limit is checked)", "κ/(ρ_max/ρ_min) − 1 = " + " → ".join(
            f"{e:.2g}" for e in thm5.sort_values("gme", ascending=False).excess) + f" as C(T) → {thm5.gme.min():.1g}",
        verdicts.all_of([verdicts.shrinks(list(thm5.sort_values("gme", ascending=False).excess)),
                         verdicts.at_most([thm5.excess.iloc[-1]], 0.01)]), profile=profile),
    verdicts.Claim.from_decision(
        "Remark 3: in L²(T#µ) the decoder objective's Hessian is exactly 2·Id; ‖h‖²_{T#µ}/‖h‖²_vol ∈ "
        "[αρ_min, ρ_max/α]", "THEORY.md §10", f"max |H − 2I| {rem3.hessian_error.max():.1e}; norm ratios "
        + ", ".join(f"α = {r.alpha:g}: {r.ratio_min:.3f}–{r.ratio_max:.3f} in [{r.lower:.3f}, {r.upper:.3f}]"
                    for r in rem3.itertuples()),
        verdicts.all_of([verdicts.at_most(rem3.hessian_error.to_numpy(), 1e-12),
                         verdicts.at_least(rem3.ratio_min.to_numpy(), rem3.lower.to_numpy()),
                         verdicts.at_most(rem3.ratio_max.to_numpy(), rem3.upper.to_numpy())]), profile=profile),
    verdicts.Claim.from_decision(
        "Proposition 6: C_n concentrates around C like n^{−1/2}, with L entering only through log L",
        "tail 2exp(−cnt²/((log L)⁴ + (log L)²t)) (constants lost: shape)", "sd(C_n) slopes in n "
        + ", ".join(f"{v:.2f}" for v in n_slope.values()) + f" (L = {', '.join(map(str, n_slope))}); at n = "
        f"{max(S['prop6_ns'])} sd grows like (log L)^{logL_slope:.2f}, i.e. L^{L_slope:.2f} (L² would be slope 2)",
        verdicts.all_of([verdicts.within(list(n_slope.values()), -0.65, -0.35), verdicts.at_most([logL_slope], 2.3),
                         verdicts.at_most([L_slope], 1.0)]), profile=profile),
    verdicts.Claim.from_decision(
        "Lemma 6: W₁(µ_n, T⁻¹#ρ) ≤ the optimal latent plan's pair bound (separated / close / outside K_α)",
        "THEORY.md §12 (constant-free)", ", ".join(f"α = {r.alpha:g}: W₁ {r.w1:.3f} ≤ {r.bound:.3f}"
                                                   for r in lem6.itertuples()),
        verdicts.at_most(lem6.w1.to_numpy(), lem6.bound.to_numpy()), profile=profile),
    verdicts.Claim.from_decision(
        "GMEGAN Proposition 2: |ψ*(x) − ψ*(x′)| ≤ ω(|x − x′|/α) for the optimal discriminator ψ* = f∘T",
        "GMEGAN Prop. 2 (exact on empirical duals)", f"{int(prop2.violations.sum())} violating pairs over "
        f"{len(prop2)} encoders (α {prop2.alpha.max():.2g} → {prop2.alpha.min():.2g}); Lip ψ / Lip f "
        + ", ".join(f"{r.lip_psi / r.lip_f:.2f} ≤ {1 / r.alpha:.2f}" for r in prop2.itertuples()),
        verdicts.all_of([verdicts.at_most(prop2.violations.to_numpy(), 0.0),
                         verdicts.at_most(prop2.lip_psi.to_numpy(), prop2.bound.to_numpy() * (1 + 1e-12))]),
        profile=profile),
    verdicts.Claim.from_decision(
        f"Theorem 2 on a trained GPE encoder: with a small cost the bound carries information at α = {at9.alpha:g}",
        "THEORY.md §4 (exact; informative once C ≪ (log α)²)", f"held-out C = {C_sheet:.2g} after "
        f"{S['trained_iterations']:,} iterations: µ²[K_α] {at9.empirical:.4f} ≥ bound {at9.bound:.4f} at α = "
        f"{at9.alpha:g}; " + ", ".join(f"α = {r.alpha:g}: {r.empirical:.3f} ≥ {r.bound:.3f}"
                                      for r in trained.itertuples() if r.alpha != at9.alpha),
        verdicts.all_of([verdicts.at_least(trained.empirical.to_numpy(), trained.bound.to_numpy()),
                         verdicts.at_least([at9.bound], 0.5)]), profile=profile),
]
reporting.save_verdict(rows, out, "10", profile=profile)
display(reporting.verdict_table(rows))
