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
# On the pairs the cost was measured on, the bound is Markov's inequality and must hold for *any* encoder; the
# interesting checks are (a) that it holds on **held-out** pairs with ε measured on the training pairs, and (b) how
# much tighter the certificate is for GPE than for the VAE.
#
# **Data.** `quick`: scikit-learn's 8×8 digits (stand-in for MNIST); `paper`: MNIST from a local folder.
# Both encoders share the DCGAN-style convolutional architecture; the VAE is trained jointly with a decoder
# (β = 0.1 per-pixel normalisation).

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper profile: folder holding MNIST/raw/... (None: $GPE_DATA_ROOT or ~/data)
seed = 0

# %%
import pandas as pd
from IPython.display import display

from gpelib import data, geometry, plots, profiles, recipes, reporting, tables, verdicts
from gpelib.train import TrainConfig

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("02", profile)
ALPHAS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
print(f"profile={profile}  out={out}\n{S}")

# %%
images = data.load_digits() if S["dataset"] == "digits" else data.load_dataset(S["dataset"], data_root)
train, val = images.split(S["n_val"], seed=seed)
x_train, x_val = train.images, val.images
x_cert = x_train[: len(x_val)]  # training pairs of the same size as the held-out set
print(f"{images.name}: train {tuple(x_train.shape)}, held-out {tuple(x_val.shape)}")

# %% [markdown]
# ## Train the GPE encoder (GME cost only) and the VAE

# %%
cfg = TrainConfig(iterations=S["iterations"], lr=S["lr"], batch_size=S["batch"], seed=seed, device=device,
                  eval_every=max(S["iterations"] // 10, 1))
runs = {
    "GPE": recipes.train_gpe_encoder(x_train, latent_dim=S["latent"], config=cfg, val_data=x_val),
    "VAE": recipes.train_method("vae", x_train, latent_dim=S["latent"], config=cfg, beta=S["beta"], val_data=x_val),
}
history = pd.concat([r.history for r in runs.values()], ignore_index=True)
reporting.save_table(history, out, "02_training_history", keys=["method", "phase", "iteration"])

# %% [markdown]
# ## Fig. 3: distance ratio against distance (held-out pairs)

# %%
pairs = {name: geometry.distance_ratios(r.encoder, x_val, max_pairs=20000, seed=seed).frame()
         for name, r in runs.items()}
reporting.save_table(pd.concat([df.assign(method=k) for k, df in pairs.items()]), out, "02_distance_ratios")
plots.save_figure(plots.ratio_scatter(pairs), out, "02_distance_ratios")
diag = tables.encoder_table(runs, x_val)
reporting.save_table(diag, out, "02_encoder_geometry", keys=["method"])
display(diag[["method", "gme", "distance_corr", "ratio_q05", "ratio_median", "ratio_q95", "spread"]].round(4))

# %% [markdown]
# ## Theorem 1: empirical $\mu^2[K_\alpha]$ vs the bound $1 - \varepsilon/(\log\alpha)^2$
#
# `train` uses ε measured on training pairs (the bound must hold there); `held-out` uses fresh pairs with
# ε measured on the **training** pairs — the certificate as a user would apply it to new data.

# %%
cert = tables.certificate_table(runs, {"train": x_cert}, alphas=ALPHAS)
eps_train = cert.groupby("method")["eps"].first()
held = []
for name, r in runs.items():
    z_val = recipes.embed({name: r}, x_val)[name]
    held.append(geometry.certificate(x_val, z_val, alphas=ALPHAS, eps=float(eps_train[name]))
                .assign(method=name, split="held-out"))
cert = pd.concat([cert, *held], ignore_index=True)
reporting.save_table(cert, out, "02_certificate")
plots.save_figure(plots.certificate_plot(cert[cert.split == "held-out"]), out, "02_certificate")
display(cert.pivot_table(index=["method", "split"], columns="alpha", values="empirical").round(3))
display(cert.pivot_table(index=["method", "split"], columns="alpha", values="bound").round(3))

# %% [markdown]
# ## Verdict

# %%
d = diag.set_index("method")
c = cert.set_index(["method", "split", "alpha"])
k_gpe, k_vae = c.loc[("GPE", "held-out", 0.5), "empirical"], c.loc[("VAE", "held-out", 0.5), "empirical"]
tr, ho = cert[cert.split == "train"], cert[cert.split == "held-out"]
ho_gpe = ho[ho.method == "GPE"]
rows = [
    verdicts.Claim.from_decision(
        "GME encoder keeps ‖Tx−Tx′‖/‖x−x′‖ nearly constant; VAE does not (ratio spread q95/q05, held-out)",
        "GMEGAN Fig. 3 (visual)", f"spread GPE {d.loc['GPE', 'spread']:.2f} vs VAE {d.loc['VAE', 'spread']:.2f}",
        verdicts.less(d.loc["GPE", "spread"], d.loc["VAE", "spread"]), profile=profile),
    verdicts.Claim.from_decision(  # ε is measured on these very pairs: the bound holds by construction
        "Theorem 1 bound holds on the training pairs (every α)", "µ²[K_α] > 1 − ε/(log α)²",
        f"min margin {(tr.empirical - tr.bound).min():.3f}", verdicts.at_least(tr.empirical, tr.bound),
        profile=profile, kind="sanity"),
    verdicts.Claim.from_decision(
        "Theorem 1 bound, ε from training pairs, holds on held-out pairs (every α)", "population statement",
        f"GPE ε={eps_train['GPE']:.3g}: min margin {(ho_gpe.empirical - ho_gpe.bound).min():.3f}",
        verdicts.at_least(ho.empirical, ho.bound), profile=profile),
    verdicts.Claim.from_decision(
        "GPE certifies more pairs than VAE: µ²[K_0.5] on held-out pairs", "implied by small ε",
        f"GPE {k_gpe:.3f} vs VAE {k_vae:.3f}", verdicts.greater(k_gpe, k_vae), profile=profile),
]
reporting.save_verdict(rows, out, "02", profile=profile)
display(reporting.verdict_table(rows))
