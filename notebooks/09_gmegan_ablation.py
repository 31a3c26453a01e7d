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
# # 09 — Ablation: GMEGAN without each of its three regularisers (GMEGAN paper, Fig. 8)
#
# **Claims (GMEGAN §6.4).** Setting any of λ1 (GME cost), λ2 (gradient penalty of the discriminator) or λ3
# (reconstruction `‖G(R_inv(T x)) − x‖²`) to zero "significantly decreases the performance" of GMEGAN; λ3 "may have the
# least impact"; removing the GME term λ1 "significantly deteriorates the stability" (the spread over architectures).
#
# **Protocol.** The full method and its three variants are trained exactly as in notebook 08 (same data,
# architectures, seeds, equal wall-clock budget, milestones and held-out scores) — the full GMEGAN runs *are* notebook
# 08's (shared checkpoints). A removed term is still computed and logged, without gradient. The ablation is run for
# GMEGAN as printed and as released (`gpelib.gan.GMEGAN_VARIANTS`; as released, λ2 weighs the W-div penalty and λ3
# the reconstruction G(T x)). A claim is inconclusive while a run behind it had not converged (held-out energy
# distance still falling > 10 % over the last fifth of its budget, or fallen < 10 % over the whole of it).

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper: holds cifar-10-batches-py/ (None: $GPE_DATA_ROOT or ~/data)
inception_weights = None  # path to pt_inception-2015-12-05-6726825d.pth; None: look in $TORCH_HOME only
workers = None  # parallel training processes; None: one per CPU core (1 on a GPU)
seed = 0

# %%
import pandas as pd
from IPython.display import Markdown, display

from gpelib import metrics, parallel, plots, profiles, reporting
from gpelib.claims import gan_ablation
from gpelib.gan import experiments as gx

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
# the same settings as notebook 08 (so the full GMEGAN runs are shared); the ablation is on the first data set only
S = profiles.preset("09", profile, data_root=data_root)
workers = workers or (1 if profile == "smoke" else parallel.default_workers(device))
spec = S["dataset"]
print(f"profile={profile}  out={out}  workers={workers}\n{S}")

# %% [markdown]
# ## The classifier behind the scores (notebook 08's, cached in `runs/classifiers/`)

# %%
train, _ = spec.load()
tag = f"{spec.name}-{train.shape[-1]}px"
classifier = metrics.ClassifierFeatures.load_or_train(
    reporting.runs_root() / "classifiers", train.images, train.labels, tag=tag,
    epochs=S["classifier_epochs"], width=S["classifier_width"], seed=seed, device=device, verbose=True)
extractor = metrics.default_feature_extractor(
    train.images, train.labels, cache_dir=reporting.runs_root() / "classifiers",
    weights_path=inception_weights, tag=tag, epochs=S["classifier_epochs"], width=S["classifier_width"], seed=seed,
    device=device)
METRIC = extractor.name

# %% [markdown]
# ## GMEGAN as printed and as released, each full and with λ1, λ2 or λ3 = 0 (`gpelib.gan.experiments.ABLATIONS`)

# %%
variants = gx.ablation_variants()  # "GMEGAN λ1 = 0 (no GME)" → ("gmegan", {"lambda1": 0.0}), …
jobs = gx.equal_time_jobs(variants, specs=[spec], archs=S["archs"], seeds=[seed + s for s in S["seeds"]],
                          units=S["units"], multiple=S["multiple"], milestones=S["milestones"],
                          evaluations=S["evaluations"], latent_dim=S["latent"], batch_size=S["batch"],
                          n_fake=S["n_fake"], n_real=S["n_real"], n_counts=S["n_counts"], best_k=S["best_k"],
                          reference=S["reference"], device=device, classifier_path=str(classifier.cache_path),
                          inception_weights=str(extractor.weights_path) if METRIC == "FID" else None,
                          checkpoint_root=reporting.runs_root() / profile / "checkpoints" / "gan")
runs = parallel.map_jobs(gx.image_job, jobs, n_workers=workers, threads_per_worker=1, desc="09 ablations")
table = gx.sweep_table(runs)
reporting.save_table(table.assign(metric=METRIC), out, "09_runs",
                     keys=["dataset", "method", "label", "variant", "arch", "seed"])  # seconds: 09_timings.csv
history = gx.history_table(runs)
late = gx.late_improvement(history, last=0.2, by=("dataset", "variant", "arch", "seed"), window=3)
reporting.save_table(late, out, "09_late_improvement")
summary = gx.summarize(table, ["fd", "relative_std", "classes_covered"])
reporting.save_table(summary.assign(metric=METRIC), out, "09_summary")
display(summary.round(3))

# %% [markdown]
# ## Fig. 8: the scores of every variant over architectures and seeds

# %%
fig = plots.metric_boxes(table, {"fd": f"{METRIC} (mean of the {S['best_k']} lowest)",
                                 "relative_std": "relative std of class counts"}, x="variant", order=list(variants),
                         title=f"GMEGAN ablations, {spec.name}, {len(S['archs'])} architectures × "
                               f"{len(S['seeds'])} seeds")
plots.save_figure(fig, out, "09_ablation_boxes")

# %% [markdown]
# ## Verdict
#
# Decided by `gpelib.claims.gan_ablation` with the rules of `gpelib.verdicts` (SPEC §2): each difference is paired by
# (architecture, seed) and summarised by its median and order-statistics interval over those pairs (the "seeds"
# column counts them). The impact of a term is the ABSOLUTE change of the score when it is removed, whatever its
# direction (a change opposite to the paper's is named in the note); the spread across architectures compares, per
# seed, each architecture's absolute deviation from its variant's mean over the architectures ("ours" gives the std
# over all runs).
#
# **Under `quick` every row is `n/a`** (its reason in the note): on two cores no image setting reaches its plateau
# within the quick suite's budget — measured by `reproduce/probe_gan_images.py` (the CSVs in
# `reproduce/measurements/`). The quick runs (one seed) show the protocol at work and keep their numbers in the table;
# the `paper` profile decides.

# %%
rows = gan_ablation.decide(table, summary, late, profile=profile, metric=METRIC, archs=S["archs"], seeds=S["seeds"],
                           undecided=S["undecided"])
reporting.save_verdict(rows, out, "09", profile=profile)
print(extractor.description)
display(reporting.verdict_table(rows))

# %% [markdown]
# ## Compute and convergence per variant

# %%
compute = pd.concat([gx.compute_table(table[table.arch == a], late[late.arch == a],
                                      key=gx.shape_key(a, train.shape, S["latent"], S["batch"]),
                                      by=("dataset", "arch", "variant")) for a in S["archs"]], ignore_index=True)
reporting.save_table(compute, out, "09_compute", keys=["dataset", "arch", "variant"])
shown = compute.assign(reference_seconds=compute.reference_seconds.round(1),
                       late_improvement=compute.late_improvement.map(lambda v: f"{v:.0%}"))
text = (f"Every variant trained for the wall-clock of {S['units']} GMEGAN iterations (as printed) on the calibration "
        "machine; *converged* = runs whose held-out energy distance fell by ≤ 10 % over the last fifth of the "
        "budget and by ≥ 10 % over all of it.\n\n"
        + reporting.markdown_table(shown[["arch", "variant", "iterations", "updates", "converged",
                                          "late_improvement"]]))
reporting.save_conclusion(text, out, "09")
display(Markdown(text))
