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
# # 08 — Image generation across architectures: quality, mode coverage, robustness (GMEGAN paper, Figs. 6–7)
#
# **Claims (GMEGAN §6.3).** Trained with 11 different network architectures on CIFAR10 and Tiny ImageNet, GMEGAN has
# the lowest mean FID *and the smallest spread of FID across architectures* (Fig. 6), and the lowest mean relative
# standard deviation of predicted class counts — the best mode coverage — again with the smallest spread (Fig. 7).
#
# **Protocol.** Each method (GMEGAN and the seven baselines of notebook 07) is trained with each architecture of the
# shared registry (`gpelib.gan.ARCHITECTURES`: fully connected and DCGAN-style stacks that differ in width, depth,
# activation, batch norm and fully connected layers), with its own paper's optimiser settings and the same batch size
# and number of generator iterations. Scores, as in the paper:
# * **Fréchet distance** between generated and training images, evaluated at several late milestones; we report the
#   mean of the lowest few (the paper: mean of the 5 lowest FIDs between epochs 250 and 300). With the standard
#   Inception weights on disk this is the FID; otherwise it is computed on the features of a classifier that gpelib
#   trains on the same data and reported as **FD-classifier** (never FID; its test accuracy is printed below);
# * **relative std** = std(n_i)/mean(n_i) of the class counts that the classifier assigns to generated samples
#   (0 = perfectly balanced; large = missing or over-represented classes).
#
# `quick` stands in 8×8 scikit-learn digits (10 classes) for CIFAR10 and uses 4 architectures; `paper` runs the 11
# architectures of `PAPER_ARCHITECTURES` on CIFAR10 and Tiny ImageNet from local folders (a GPU is needed).

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper: holds cifar-10-batches-py/ and tiny-imagenet-200/ (None: $GPE_DATA_ROOT or ~/data)
inception_weights = None  # path to pt_inception-2015-12-05-6726825d.pth; None: look in $TORCH_HOME only
workers = None  # parallel training processes; None: one per CPU core (1 on a GPU)
seed = 0

# %%
import pandas as pd
from IPython.display import display

from gpelib import metrics, parallel, plots, profiles, reporting, verdicts
from gpelib.gan import experiments as gx

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("08", profile, data_root=data_root)
workers = workers or (1 if profile == "smoke" else parallel.default_workers(device))
print(f"profile={profile}  out={out}  workers={workers}\n{S}")

# %% [markdown]
# ## The classifier behind the scores (trained once per dataset, cached in `runs/classifiers/`)

# %%
classifiers, extractors = {}, {}
for spec in S["datasets"]:
    train, held_out = spec.load()  # a missing dataset raises with the expected folder layout
    classifiers[spec.name] = metrics.ClassifierFeatures.load_or_train(
        reporting.project_root() / "runs" / "classifiers", train.images, train.labels, tag=spec.name,
        epochs=S["classifier_epochs"], seed=seed, device=device, verbose=True)
    extractors[spec.name] = metrics.default_feature_extractor(
        train.images, train.labels, cache_dir=reporting.project_root() / "runs" / "classifiers",
        weights_path=inception_weights, tag=spec.name, epochs=S["classifier_epochs"], seed=seed, device=device)
METRIC = next(iter(extractors.values())).name  # "FID" with local Inception weights, else "FD-classifier"

# %% [markdown]
# ## Every method × every architecture (checkpoints and milestone scores are reused on a rerun)

# %%
variants = {label: (method, {}) for method, label in gx.LABELS.items()}
common = dict(latent_dim=S["latent"], milestones=S["milestones"], batch_size=S["batch"],
              eval_every=max(S["milestones"][-1] // 10, 1), n_fake=S["n_fake"], n_real=S["n_real"],
              n_counts=S["n_counts"], best_k=S["best_k"], device=device,
              checkpoint_root=reporting.project_root() / "runs" / profile / "checkpoints" / "gan")
jobs = []
for spec in S["datasets"]:
    w = extractors[spec.name]
    jobs += gx.sweep_jobs(variants, specs=[spec], archs=S["archs"], seeds=[seed], **common,
                          classifier_path=str(classifiers[spec.name].cache_path),
                          inception_weights=str(w.weights_path) if w.name == "FID" else None)
runs = parallel.map_jobs(gx.image_job, jobs, n_workers=workers, threads_per_worker=1, desc="08 GAN runs")
table = gx.sweep_table(runs)
RUN_KEYS = ["dataset", "method", "label", "variant", "arch", "seed"]  # name a run; its seconds go to 08_timings.csv
reporting.save_table(table.assign(metric=METRIC), out, "08_runs", keys=RUN_KEYS)
reporting.save_table(pd.concat([r.history.assign(dataset=r.dataset) for r in runs], ignore_index=True), out,
                     "08_history", keys=["dataset", "variant", "method", "arch", "seed", "iteration"])
summary = gx.summarize(table, ["fd", "fd_last", "relative_std", "classes_covered", "seconds"])
reporting.save_table(summary.assign(metric=METRIC), out, "08_summary", keys=["dataset", "variant"])
display(summary[["dataset", "variant", "fd_mean", "fd_std", "relative_std_mean", "relative_std_std",
                 "classes_covered_mean", "seconds_mean"]].round(3))

# %% [markdown]
# ## Figs. 6–7: box plots over architectures; samples of every method (first architecture)

# %%
order = list(gx.LABELS.values())
for spec in S["datasets"]:
    t = table[table.dataset == spec.name]
    fig = plots.metric_boxes(t, {"fd": f"{METRIC} (mean of the {S['best_k']} lowest)",
                                 "relative_std": "relative std of class counts"}, x="label", order=order,
                             title=f"{spec.name}: {len(S['archs'])} architectures ({', '.join(S['archs'])})")
    plots.save_figure(fig, out, f"08_boxes_{spec.name}")
    shown = S["archs"][1 % len(S["archs"])]
    grid = {r.label: r.samples[:16] for r in runs if r.dataset == spec.name and r.arch == shown}
    plots.save_figure(plots.image_rows(grid), out, f"08_samples_{spec.name}")

# %% [markdown]
# ## Verdict
#
# Decided by `gpelib.verdicts` (SPEC §2): one seed, so each GMEGAN − baseline difference is paired by architecture
# and summarised by its median and order-statistics interval over the architectures (the "seeds" column counts
# architectures). A spread across architectures compares each architecture's absolute deviation from its method's
# mean (a Levene-type comparison; "ours" gives the std).

# %%
REF = "GMEGAN"
note = f"paired by architecture: 'seeds' counts the {len(S['archs'])} architectures (1 seed each)"
rows = []
for spec in S["datasets"]:
    t, sm = table[table.dataset == spec.name], summary[summary.dataset == spec.name].set_index("variant")
    per_arch = {c: {k: g.set_index("arch").loc[S["archs"], c].tolist() for k, g in t.groupby("variant", sort=False)}
                for c in ("fd", "relative_std")}
    dev = {c: {k: [abs(x - sum(v) / len(v)) for x in v] for k, v in d.items()} for c, d in per_arch.items()}
    for col, values, what, paper in [
        ("fd_mean", per_arch["fd"], f"the lowest mean {METRIC} over architectures", "Fig. 6: lowest mean FID"),
        ("fd_std", dev["fd"], f"the smallest spread (std) of {METRIC} across architectures",
         "Fig. 6: lowest variance among the architectures"),
        ("relative_std_mean", per_arch["relative_std"],
         "the lowest mean relative std of class counts (best mode coverage)", "Fig. 7: lowest mean relative std"),
        ("relative_std_std", dev["relative_std"], "the smallest spread of the relative std across architectures",
         "Fig. 7: lowest variance among the architectures"),
    ]:
        v = sm[col]
        rows.append(verdicts.Claim.from_decision(
            f"{spec.name}: GMEGAN has {what}", paper,
            f"GMEGAN {v[REF]:.3g} (rank {1 + int((v < v[REF]).sum())} of {len(v)}); "
            + ", ".join(f"{o} {x:.3g}" for o, x in v.drop(REF).items()),
            verdicts.best_of(values, REF, better="lower"), profile=profile,
            note=note + ("; spread = |deviation from the method's mean| per architecture" if col.endswith("_std")
                         else "")))
reporting.save_verdict(rows, out, "08", profile=profile)
print({k: e.description for k, e in extractors.items()})
display(reporting.verdict_table(rows))
