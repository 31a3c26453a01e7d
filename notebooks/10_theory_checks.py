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

from gpelib import plots, profiles, reporting, theory, theory_checks
from gpelib.claims import theory as claims_theory

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
thm2, prop1 = theory_checks.random_map_checks(n, (D, d), S["maps"], alphas, g)
reporting.save_table(thm2, out, "10_theorem2")
reporting.save_table(prop1, out, "10_proposition1")
best = thm2[thm2.gme == thm2.gme.min()]
display(best)

# %% [markdown]
# ## Proposition 2 and Theorem 3: the Hessian of the GME cost in the latent coordinates

# %%
thm3, spectra, variation = theory_checks.hessian_checks(n, (D, d), S["maps"], g)
reporting.save_table(thm3, out, "10_theorem3_bounds")
reporting.save_table(spectra, out, "10_hessian_spectra")
reporting.save_table(variation, out, "10_second_variation")
col, iso = (spectra.set_index("point").loc[p] for p in ("collapsed", "isometry"))
print(f"collapsed map: max |autograd − closed form| {col.closed_form_error:.2e}; eigenvalues in [{col.smallest:.3g}, "
      f"{col.largest:.2g}], {col.zero_modes} zero (d = {d})\nsecond variation: max relative error "
      f"{variation.relative_error.max():.1e}\nisometry: {iso.zero_modes} zero eigenvalues (rigid motions: "
      f"{iso.expected_zero_modes}), smallest {iso.smallest:.2g}")

# %% [markdown]
# ## Remark 1: the GME cost's curvature stays bounded as the encoder stretches; the MDS cost's grows like L²

# %%
rem = theory_checks.remark1_spectra(S["lipschitz"], g)
reporting.save_table(rem, out, "10_remark1")
slope = theory_checks.remark1_slopes(rem)
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
gd, gd_bound = theory_checks.corollary1_run(n, (D, d), S["gd_steps"], g)
lem3 = theory_checks.lemma3_table(d, S["mc_samples"], rng, seed=seed)
P = np.linalg.qr(rng.normal(size=(10, 2)))[0]
circle = lambda k: np.c_[np.cos(2 * np.pi * rng.random(k)), np.sin(2 * np.pi * rng.random(k))] @ P.T  # noqa: E731
Xc = circle(S["n_circle"])
thm6 = theory_checks.thm6_sweep(Xc, P, circle, rng)
thm4 = pd.DataFrame([dict(alpha=a, **theory.decoder_hessian_1d(a)) for a in S["thm4_alphas"]])
reporting.save_table(thm4, out, "10_theorem4")
display(thm4.round(4))
reporting.save_table(lem3, out, "10_lemma3")
reporting.save_table(thm6, out, "10_theorem6_core")
reporting.save_table(gd, out, "10_corollary1")
reporting.save_table(gd_bound, out, "10_corollary1_bound")
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
conc = theory_checks.concentration_table(S["prop6_lipschitz"], S["prop6_ns"], S["prop6_draws"], pairs=S["prop6_pairs"],
                                  seed=seed)
reporting.save_table(conc, out, "10_proposition6", keys=["L", "n"])
n_slope = theory_checks.concentration_slopes(conc)[0]
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
trained = theory_checks.trained_encoder_k_alpha(x_sheet, x_sheet_val, alphas, iterations=S["trained_iterations"],
                                                 seed=seed)
reporting.save_table(trained, out, "10_theorem2_trained")
display(trained.round(4))

# %% [markdown]
# ## Verdict
#
# Decided from the tables above by `gpelib.claims.theory.decide` (each statement's rule and tolerance in its
# docstring; tested in `tests/test_claims_theory.py`).

# %%
tables = dict(example1_slopes=ex1, proposition1=prop1, theorem2=thm2, hessian_spectra=spectra,
              second_variation=variation, theorem3_bounds=thm3, remark1=rem, corollary1=gd, corollary1_bound=gd_bound,
              lemma3=lem3, theorem4=thm4, theorem6_core=thm6, theorem1_jl=jl, theorem5=thm5, remark3=rem3,
              proposition6=conc, lemma6=lem6, gmegan_prop2=prop2, theorem2_trained=trained)
rows = claims_theory.decide(tables, profile=profile, settings=S)
reporting.save_verdict(rows, out, "10", profile=profile)
display(reporting.verdict_table(rows))
