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
# # 04 — Fresh decoders on frozen encoders: GPE vs VAE (GPE paper, Table 1, Figs. 5–7)
#
# **Claim (GPE §8.3).** Train each encoder first (GPE alone with the GME cost, Algorithm 1; the β-VAE jointly with
# its decoder), then freeze it, throw the VAE's decoder away and train a **fresh** decoder on reconstruction only.
# The GPE decoder reaches each loss threshold in far fewer iterations ("from 3× (CelebA) to 900× (MNIST)" at the
# second threshold), and the gap widens as the threshold decreases.
#
# **Set-up.** Same architectures for both methods; every fresh decoder starts from the same weights, with the same
# learning rate, batch size and batch order. The VAE is the β-VAE `MSE + β·KL/d` with β = 0.1 (the authors' public
# per-pixel normalisation, SPEC §1) and gets more encoder iterations than the GPE encoders, as in the paper. Because
# the claim depends on β, a sweep β ∈ {0, 0.01, 0.1, 1} shows how the VAE/GPE ratio moves (β = 0 is a VAE without
# KL, i.e. nearly an AE with noisy latents).
#
# **Counting.** Iterations to reach a threshold are counted on the fresh decoder's per-iteration *training* loss,
# smoothed by a trailing mean of `window` iterations (`gpelib.protocols.iterations_to_reach`: the paper counts
# training iterations and its first threshold falls after tens of them, finer than any validation interval); the
# first validation evaluation below the threshold is in the CSV as `iterations_val`. "never" = not reached within the
# decoder budget.
#
# **Fixed before any decoder was trained.** `quick` (8×8 digits standing in for MNIST, latent 16): GPE encoders at
# ε = 0.03 (the paper's loose MNIST/CIFAR10 value) and ε = 0.009 (the tightest level the quick budget reaches, from an
# encoder-only pilot); thresholds 0.1 (the paper's) and 0.04 (just below the held-out error of the best linear
# 16-dimensional code, PCA: 0.046). `paper`: the paper's datasets, latent sizes, ε and thresholds.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper: holds MNIST/, cifar-10-batches-py/, celeba/, celeba_hq/ (None: $GPE_DATA_ROOT or ~/data)
seed = 0

# %%
import math

import pandas as pd
from IPython.display import display

from gpelib import data, plots, protocols, reporting
from gpelib.train import TrainConfig

profile = reporting.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
DIGITS = {"digits": dict(latent=16, thresholds=[0.1, 0.04], eps=[0.03, 0.009], paper="MNIST", load={})}
S = reporting.pick(profile, {
    "smoke": dict(datasets=DIGITS, n_val=100, vae_iterations=40, encoder_cap=30, encoder_lr=1e-3, encoder_eval=10,
                  decoder_iterations=40, lr=1e-3, batch=50, eval_every=20, beta=0.1, betas=[0.0, 0.01, 0.1, 1.0],
                  sweep="digits", window=10),
    "quick": dict(datasets=DIGITS, n_val=300, vae_iterations=8000, encoder_cap=12000, encoder_lr=1e-3,
                  encoder_eval=50, decoder_iterations=6000, lr=1e-3, batch=100, eval_every=100, beta=0.1,
                  betas=[0.0, 0.01, 0.1, 1.0], sweep="digits", window=10),
    # The paper's datasets, latent sizes, ε and thresholds (Table 1), batch 100; its learning rates did not survive
    # the text extraction: SPEC's reference 1e-4 for every network. Budgets are far below the paper's 10^6 VAE
    # iterations: raise vae_iterations to match it.
    "paper": dict(datasets={
                      "mnist": dict(latent=30, thresholds=[0.1, 0.022], eps=[0.03, 0.004], paper="MNIST", load={}),
                      "cifar10": dict(latent=100, thresholds=[0.1, 0.015], eps=[0.03, 0.0009], paper="CIFAR10",
                                      load={}),
                      "celeba": dict(latent=100, thresholds=[0.1, 0.015], eps=[0.0007], paper="CelebA",
                                     load=dict(size=64)),
                      "celeba_hq": dict(latent=100, thresholds=[0.1, 0.0045], eps=[0.0007], paper="CelebA-HQ",
                                        load=dict(size=256)),
                  },
                  n_val=1000, vae_iterations=300000, encoder_cap=200000, encoder_lr=1e-4, encoder_eval=200,
                  decoder_iterations=300000, lr=1e-4, batch=100, eval_every=1000, beta=0.1,
                  betas=[0.0, 0.01, 0.1, 1.0], sweep="mnist", window=10),
})
paper_values = protocols.paper_values()  # reproduce/paper_values.csv: the paper's Tables 1 and 2 as tidy data
print(f"profile={profile}  out={out}\n{S}")

# %% [markdown]
# ## Encoders, then fresh decoders (per dataset)

# %%
vae_cfg = TrainConfig(iterations=S["vae_iterations"], lr=S["lr"], batch_size=S["batch"], seed=seed, device=device,
                      eval_every=S["eval_every"])
enc_cfg = TrainConfig(iterations=S["encoder_cap"], lr=S["encoder_lr"], batch_size=S["batch"], seed=seed,
                      device=device, eval_every=S["encoder_eval"])
dec_cfg = TrainConfig(iterations=S["decoder_iterations"], lr=S["lr"], batch_size=S["batch"], seed=seed,
                      device=device, eval_every=S["eval_every"])
results, tables = {}, []
for name, D in S["datasets"].items():
    images = data.load_dataset(name, data_root, **D["load"])  # a missing dataset raises with the expected layout
    train, val = images.split(S["n_val"], seed=seed)
    runs = protocols.fresh_decoder_runs(train.images, val.images, latent_dim=D["latent"], eps_values=D["eps"],
                                        vae_config=vae_cfg, encoder_config=enc_cfg, decoder_config=dec_cfg,
                                        beta=S["beta"])
    results[name] = dict(train=train.images, val=val.images, runs=runs)
    tables.append(protocols.threshold_table(runs, D["thresholds"], window=S["window"]).assign(dataset=name))
counts = pd.concat(tables, ignore_index=True)
reporting.save_table(counts, out, "04_iterations_to_threshold")

# %% [markdown]
# ## Table 1: iterations of the fresh decoder to reach each loss, ours beside the paper's

# %%
side = pd.concat([protocols.compare_table1(counts[counts.dataset == name],
                                           protocols.paper_table1(paper_values, D["paper"])).assign(dataset=name)
                  for name, D in S["datasets"].items()], ignore_index=True)
reporting.save_table(side, out, "04_table1")
display(side)

# %% [markdown]
# ## Fig. 5: fresh-decoder training loss; Figs. 6–7: reconstructions of held-out images

# %%
for name, R in results.items():
    D = S["datasets"][name]
    curves = protocols.smoothed_steps(R["runs"], window=S["window"], every=max(S["decoder_iterations"] // 1000, 1))
    reporting.save_table(curves.assign(dataset=name), out, f"04_decoder_curves_{name}")
    fig = plots.loss_curves(curves, x="iteration", y="loss_smooth", hue="method", thresholds=D["thresholds"],
                            title=f"fresh decoder, training MSE (running mean of {S['window']}), {name}")
    fig.axes[0].set_ylabel("reconstruction MSE (train)")
    plots.save_figure(fig, out, f"04_decoder_loss_{name}")
    x_show = R["val"][:12]
    rows = {"held-out": x_show} | {k: protocols.reconstruct(r, x_show) for k, r in R["runs"].items()}
    plots.save_figure(plots.image_rows(rows), out, f"04_reconstructions_{name}")

# %% [markdown]
# ## β sweep: how the VAE/GPE ratio moves with the KL weight
#
# Each β trains its own VAE with the same budget; its mean encoder gets a fresh decoder as above, and its counts are
# divided by those of the tightest GPE encoder. Where the VAE never reached a threshold, only a lower bound
# (budget / GPE iterations) is known.

# %%
R = results[S["sweep"]]
D = S["datasets"][S["sweep"]]
gpe_ref = protocols.eps_label(min(D["eps"]))
sweep = []
for b in S["betas"]:
    if b == S["beta"]:
        fd = R["runs"]["VAE"]
    else:
        vae = protocols.train_method("vae", R["train"], latent_dim=D["latent"], config=vae_cfg, beta=b,
                                     val_data=R["val"])
        fd = protocols.fresh_decoder(vae, R["train"], config=dec_cfg, val_data=R["val"], name="VAE")
    t = protocols.threshold_table({"VAE": fd, gpe_ref: R["runs"][gpe_ref]}, D["thresholds"], window=S["window"])
    sweep.append(protocols.iteration_ratios(t, numerator="VAE", denominator=gpe_ref)
                 .assign(beta=b, vae_encoder_gme=fd.info["eps"], vae_decoder_final_val=fd.final_val))
sweep = pd.concat(sweep, ignore_index=True)
reporting.save_table(sweep, out, "04_beta_sweep")
plots.save_figure(plots.ratio_vs_beta(sweep, title=f"VAE / {gpe_ref} fresh-decoder iterations, {S['sweep']}"),
                  out, "04_beta_sweep")
display(sweep.round(4))

# %% [markdown]
# ## Verdict

# %%
decided = profile != "smoke"
count = lambda v: None if pd.isna(v) else int(v)  # <NA> = never reached within the budget
fmt = lambda v: "never" if v is None else f"{v:,}"


def grows(r_from, r_to, lb_to):
    """Ratio r_to (or, if the VAE never got there, its lower bound lb_to) above r_from; None if undecidable."""
    if not (decided and math.isfinite(r_from)):
        return None
    if math.isfinite(r_to):
        return bool(r_to > r_from)
    return True if math.isfinite(lb_to) and lb_to > r_from else None


rows = []
for name, D in S["datasets"].items():
    ours = counts[counts.dataset == name]
    c = ours.set_index(["method", "threshold"])["iterations"]
    p = protocols.paper_table1(paper_values, D["paper"])
    p_vae, p_gpe = p.iloc[0], p[p.method.str.startswith("GPE")].sort_values("eps", ascending=False)
    budget = f"budget {S['decoder_iterations']:,}"
    for k, e in enumerate(sorted(D["eps"], reverse=True)):
        g = protocols.eps_label(e)
        pg = p_gpe.iloc[min(k, len(p_gpe) - 1)]
        ratios = protocols.iteration_ratios(ours, numerator="VAE", denominator=g).set_index("threshold")
        for j, t in enumerate(D["thresholds"], start=1):
            nv, ng = count(c.loc[("VAE", t)]), count(c.loc[(g, t)])
            pv, pgv = p_vae[f"iterations_threshold_{j}"], pg[f"iterations_threshold_{j}"]
            ratio = protocols.format_ratio(ratios.loc[t, "ratio"], ratios.loc[t, "ratio_lower_bound"])
            rows.append(dict(
                claim=f"{name}: {g} reaches loss {t:g} in fewer fresh-decoder iterations than VAE (β={S['beta']:g})",
                paper=f"{D['paper']} ({pg.method}, loss {p_vae[f'threshold_{j}']:g}): "
                      f"VAE {pv:,.0f} vs GPE {pgv:,.0f} ({pv / pgv:.3g}×)",
                ours=f"VAE {fmt(nv)} vs GPE {fmt(ng)} ({ratio}; {budget})",
                holds=protocols.reached_sooner(ng, nv) if decided else None))
    g = protocols.eps_label(min(D["eps"]))
    r = protocols.iteration_ratios(ours, numerator="VAE", denominator=g)
    pr = [p_vae[f"iterations_threshold_{j}"] / p_gpe.iloc[-1][f"iterations_threshold_{j}"] for j in (1, 2)]
    rows.append(dict(
        claim=f"{name}: the VAE/GPE gap widens at the lower threshold ({g})",
        paper=f"{D['paper']}: {pr[0]:.3g}× at {p_vae.threshold_1:g} → {pr[1]:.3g}× at {p_vae.threshold_2:g}",
        ours=" → ".join(f"{protocols.format_ratio(a, b)} at {t:g}"
                        for a, b, t in zip(r.ratio, r.ratio_lower_bound, r.threshold)),
        holds=grows(r.ratio.iloc[0], r.ratio.iloc[-1], r.ratio_lower_bound.iloc[-1])))
lo = sweep[sweep.threshold == min(S["datasets"][S["sweep"]]["thresholds"])].sort_values("beta")
rows.append(dict(
    claim=f"{S['sweep']}: the GPE advantage at loss {lo.threshold.iloc[0]:g} grows with β (β=0: a VAE ≈ an AE)",
    paper="not in the paper (β not printed); SPEC §1 asks for the sweep",
    ours="; ".join(f"β={b:g}: {protocols.format_ratio(x, lb)}"
                   for b, x, lb in zip(lo.beta, lo.ratio, lo.ratio_lower_bound)),
    holds=grows(lo.ratio.iloc[0], lo.ratio.iloc[-1], lo.ratio_lower_bound.iloc[-1])))
verdict = reporting.verdict_table(rows)
reporting.save_verdict(verdict, out, "04", profile=profile)
display(verdict)
