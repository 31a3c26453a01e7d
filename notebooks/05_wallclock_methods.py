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
# # 05 — Reconstruction vs wall-clock: GPE and four VAE-style baselines (GPE paper, Fig. 8, Table 2)
#
# **Claim (GPE §8.4).** Trained in their intended regimes — GPE sequentially (encoder on the GME cost until ε, then
# the decoder), the baselines jointly — GPE reaches a low held-out reconstruction loss sooner in wall-clock time than
# VAE, VAE+MDS, AE and AE+MDS, *even with its encoder time counted* (its decoder curve is shifted right by it). A GPE
# decoder iteration is also cheaper than a joint iteration (Table 2), the MDS term costs little time, and the methods
# with a KL term converge more slowly.
#
# **Set-up.** Same encoder/decoder architectures, batch size, learning rate, initial decoder weights, batch order and
# held-out set for all five methods (`gpelib.recipes.train_method`). β-VAE: `MSE + β·KL/d` with β = 0.1 (SPEC §1).
# MDS: `λ·mean_{i≠j}(‖µ_i−µ_j‖ − ‖x_i−x_j‖)²` with λ = 1/D (D = pixels): the MDS term is a squared difference of
# distances, which grow like √D, so 1/D puts it on the per-pixel scale of the reconstruction term — the paper's value
# was lost in the text extraction; its criterion, concurrent decay of the reconstruction, MDS and KL terms, was
# checked for 1/D on an 8×8-digits pilot (10⁻³ leaves the MDS term flat, 0.1 slows the reconstruction).
# Every method gets the same number of decoder/joint iterations; GPE additionally spends its encoder phase.
# Wall-clock is training time only (evaluations excluded), measured on a shared CPU: compare ratios, not seconds,
# with the paper's V100 numbers. Since this notebook's result *is* a time, its tables, its wall-clock figures and its
# verdict differ between two identical runs: they are declared timing files (`gpelib.reporting.TIMING_FILES`), and
# the report says so; its iteration-axis figure is the same bytes on a rerun.
#
# **What decides the verdict.** The level is the *best baseline's* final validation loss; GPE holds the claim if its
# shifted curve reaches that level at an earlier wall-clock time than that baseline first does. `quick`: 8×8 digits
# (for MNIST), latent 16, GPE encoder stopped at ε = 0.009 (the tightest level the quick budget reaches, fixed from an
# encoder-only pilot before any decoder ran).

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper: holds MNIST/, cifar-10-batches-py/, celeba/, celeba_hq/ (None: $GPE_DATA_ROOT or ~/data)
seed = 0

# %%
from dataclasses import replace

import pandas as pd
from IPython.display import display

from gpelib import data, papers, plots, profiles, recipes, reporting, tables, verdicts
from gpelib.train import TrainConfig

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("05", profile)  # mds_weight None: 1/D
paper_values = papers.paper_values()  # gpelib/paper_values.csv: the papers' tables and settings as tidy data
print(f"profile={profile}  out={out}\n{S}")

# %% [markdown]
# ## Five methods, each in its own regime

# %%
cfg = TrainConfig(iterations=S["iterations"], lr=S["lr"], batch_size=S["batch"], seed=seed, device=device,
                  eval_every=S["eval_every"])
enc_cfg = TrainConfig(iterations=S["encoder_cap"], lr=S["encoder_lr"], batch_size=S["batch"], seed=seed,
                      device=device, eval_every=S["encoder_eval"])
results = {}
for name, D in S["datasets"].items():
    images = data.load_dataset(name, data_root, **D["load"])  # a missing dataset raises with the expected layout
    train, val = images.split(S["n_val"], seed=seed)
    results[name] = {recipes.LABELS[m]: recipes.train_method(
                         m, train.images, latent_dim=D["latent"], config=cfg,
                         encoder_config=replace(enc_cfg, target=D["eps"]), beta=S["beta"],
                         mds_weight=S["mds_weight"], val_data=val.images)
                     for m in recipes.METHODS}

# %% [markdown]
# ## Fig. 8: held-out reconstruction vs wall-clock (GPE shifted by its encoder time)

# %%
frames, reach, race = [], [], []
for name, runs in results.items():
    D = S["datasets"][name]
    wf = tables.wallclock_frame(runs).assign(dataset=name)
    frames.append(wf)
    fig = plots.wallclock_curves(wf, offsets={"GPE": runs["GPE"].encoder_seconds}, thresholds=D["thresholds"],
                                 title=f"held-out reconstruction vs training wall-clock, {name}")
    plots.save_figure(fig, out, f"05_wallclock_{name}")
    fig = plots.loss_curves(wf, x="iteration", y="val_loss", hue="method", thresholds=D["thresholds"],
                            title=f"held-out reconstruction vs iteration (decoder/joint), {name}")
    plots.save_figure(fig, out, f"05_iterations_{name}")
    reach.append(tables.wallclock_table(runs, D["thresholds"]).assign(dataset=name))
    race.append(tables.wallclock_race(runs, reference="GPE").assign(dataset=name))
reporting.save_table(pd.concat(frames, ignore_index=True), out, "05_wallclock_history")
reach = pd.concat(reach, ignore_index=True)
reporting.save_table(reach, out, "05_time_to_threshold")
display(reach.round(4))
race = pd.concat(race, ignore_index=True)  # GPE vs each baseline on that baseline's own final loss
reporting.save_table(race, out, "05_wallclock_race")
display(race.round(4))

# %% [markdown]
# ## Table 2: seconds per iteration, as ratios to the VAE's
#
# Absolute times are not comparable (one V100 in the paper, a shared 2-core CPU here); the ratio of each method's
# seconds per iteration to the VAE's is.

# %%
timing = []
for name, runs in results.items():
    D = S["datasets"][name]
    t = tables.timing_table(runs, reference="VAE")
    p = paper_values[(paper_values.table == "Table 2") & (paper_values.dataset == D["paper"])
                     & (paper_values.quantity == "seconds_per_iteration")].set_index("method")["value"]
    t["paper_s_per_iter"] = t.method.map(p)
    t["paper_ratio"] = t["paper_s_per_iter"] / p["VAE"]
    timing.append(t.assign(dataset=name, paper_dataset=D["paper"]))
timing = pd.concat(timing, ignore_index=True)
reporting.save_table(timing, out, "05_seconds_per_iteration")
display(timing.round(4))
long = pd.concat([timing.assign(source="ours")[["dataset", "method", "ratio", "source"]],
                  timing.assign(source="paper", ratio=timing.paper_ratio)[["dataset", "method", "ratio", "source"]]])
for name in results:
    fig = plots.ratio_bars(long[long.dataset == name], title=f"s/iter ÷ VAE's: ours ({name}) vs paper")
    plots.save_figure(fig, out, f"05_seconds_per_iteration_{name}")

# %% [markdown]
# ## Verdict

# %%
rows = []
for name, runs in results.items():
    D, gpe = S["datasets"][name], runs["GPE"]
    base = {k: r for k, r in runs.items() if k != "GPE"}
    best = min(base, key=lambda k: base[k].final_val)
    level = base[best].final_val
    t_best, t_gpe = tables.time_to_reach(base[best].history, level), tables.time_to_reach(gpe.wallclock(), level)
    rows.append(verdicts.Claim.from_decision(
        f"{name}: GPE (encoder time included) reaches the best baseline's final held-out loss sooner in wall-clock",
        "Fig. 8: GPE reaches a lower loss sooner on all four datasets (CIFAR10: hours earlier)",
        f"level {level:.4f} ({best}'s final): {best} at {t_best:.1f} s; GPE "
        + (f"at {t_gpe:.1f} s (encoder {gpe.encoder_seconds:.1f} s + decoder {t_gpe - gpe.encoder_seconds:.1f} s)"
           if t_gpe is not None else f"never (final {gpe.final_val:.4f} after {gpe.total_seconds:.1f} s)"),
        verdicts.sooner([t_gpe], [t_best], budget_a=gpe.total_seconds, budget_b=base[best].total_seconds),
        profile=profile))
    rc = race[race.dataset == name]
    rows.append(verdicts.Claim.from_decision(
        f"{name}: GPE (encoder time included) reaches each baseline's own final held-out loss before that baseline "
        "does",
        "Fig. 8 / §8.4: faster convergence than every baseline, even with the initial offset",
        "; ".join(f"{m}: " + (f"{x:.2f}× sooner" if x == x else "GPE never") for m, x in zip(rc.method, rc.speedup)),
        verdicts.all_of(verdicts.sooner(verdicts.censor([tr], gpe.total_seconds), [tm]) for tr, tm
                        in zip(rc.seconds_reference, rc.seconds_method)), profile=profile))
    t = timing[timing.dataset == name].set_index("method")
    rows.append(verdicts.Claim.from_decision(
        f"{name}: a GPE decoder iteration costs less than a VAE iteration (s/iter ÷ VAE's < 1)",
        f"{D['paper']}: {t.loc['GPE decoder', 'paper_ratio']:.3f}",
        f"{t.loc['GPE decoder', 'ratio']:.3f} (VAE {t.loc['VAE', 's_per_iter'] * 1e3:.2f} ms)",
        verdicts.less(t.loc["GPE decoder", "ratio"], 1.0), profile=profile))
    rows.append(verdicts.Claim.from_decision(
        f"{name}: the MDS term adds little time per iteration (VAE+MDS ÷ VAE ≤ 1.1)",
        f"{D['paper']}: {t.loc['VAE+MDS', 'paper_ratio']:.3f}", f"{t.loc['VAE+MDS', 'ratio']:.3f} "
        f"(AE+MDS ÷ AE: {t.loc['AE+MDS', 's_per_iter'] / t.loc['AE', 's_per_iter']:.3f})",
        verdicts.at_most(t.loc["VAE+MDS", "ratio"], 1.1), profile=profile))
    kl, nokl = [base["VAE"].final_val, base["VAE+MDS"].final_val], [base["AE"].final_val, base["AE+MDS"].final_val]
    rows.append(verdicts.Claim.from_decision(
        f"{name}: methods with a KL term converge more slowly (higher final held-out loss than AE, AE+MDS)",
        "§8.4: methods trained with a KL term converge more slowly",
        f"VAE {kl[0]:.4f}, VAE+MDS {kl[1]:.4f} vs AE {nokl[0]:.4f}, AE+MDS {nokl[1]:.4f}; GPE {gpe.final_val:.4f}",
        verdicts.greater(min(kl), max(nokl)), profile=profile))
reporting.save_verdict(rows, out, "05", profile=profile)
display(reporting.verdict_table(rows))
