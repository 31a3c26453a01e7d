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
# architectures, seeds, each run to its own plateau of the Fréchet score under the same cap, scored the same way) —
# the full GMEGAN runs *are* notebook 08's (shared checkpoints), and the variants of one GMEGAN reading train with its
# seeds as one batched model (they differ only in the scalar weights λ). A removed term is still computed and logged,
# without gradient. The ablation is run for GMEGAN as printed and as released (`gpelib.gan.GMEGAN_VARIANTS`; as
# released, λ2 weighs the W-div penalty and λ3 the reconstruction G(T x)). A claim is inconclusive while a run behind
# it is not at its plateau at the cap.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper: holds cifar-10-batches-py/ (None: $GPE_DATA_ROOT or ~/data)
inception_weights = None  # path to pt_inception-2015-12-05-6726825d.pth; None: look in $TORCH_HOME only
workers = None  # parallel training processes; None: one per CPU core (1 on a GPU)
seed = 0

# %%
from IPython.display import Markdown, display

from gpelib import metrics, parallel, plots, profiles, reporting
from gpelib.claims import gan_ablation
from gpelib.gan import experiments as gx
from gpelib.gan import image_jobs as ij

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
jobs = ij.image_plateau_jobs(  # a method's variants and seeds in one batch per architecture
    variants, specs=[spec], archs=S["archs"], seeds=[seed + s for s in S["seeds"]], iterations=S["cap"],
    min_iteration=S["min_iteration"], eval_every=S["eval_every"], latent_dim=S["latent"], batch_size=S["batch"],
    n_track=S["n_track"], n_counts=S["n_counts"], best_k=S["best_k"], device=device,
    classifier_path=str(classifier.cache_path),
    inception_weights=str(extractor.weights_path) if METRIC == "FID" else None,
    checkpoint_root=reporting.runs_root() / profile / "checkpoints" / "gan")
groups = parallel.map_jobs(ij.image_plateau_job, jobs, n_workers=workers, threads_per_worker=1, desc="09 ablations")
runs = [r for group in groups for r in group]
history = gx.history_table(runs)
floor = ij.image_floor(extractor, classifier, spec, S["n_track"])
BY = ("dataset", "variant", "arch", "seed")
states = gx.plateau_states(history, {spec.name: floor.noise()}, metrics={"fd": "lower"}, by=BY)
reporting.save_table(states, out, "09_states", keys=[*BY, "metric"])
table = gx.run_states(gx.sweep_table(runs), states, {m: ["fd"] for m in gx.LABELS}, by=BY)
reporting.save_table(table.assign(metric=METRIC), out, "09_runs",
                     keys=["dataset", "method", "label", "variant", "arch", "seed"])  # seconds: 09_timings.csv
summary = gx.summarize(table, ["fd", "kid", "relative_std", "classes_covered", "iterations"])
reporting.save_table(summary.assign(metric=METRIC), out, "09_summary")
display(summary.round(3))
print(f"{METRIC} floor at n = {floor.n}: {floor.fd:.3g} ± {floor.fd_sd:.2g}")

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
# over all runs). Every run behind a row must be at its plateau of the score.
#
# **Under `quick` every row is `n/a`** (its reason in the note), as in notebook 08: on two cores no image setting
# reaches its plateau within the quick suite's budget; the `paper` profile decides.

# %%
rows = gan_ablation.decide(table, summary, states, profile=profile, metric=METRIC, archs=S["archs"],
                           seeds=S["seeds"], undecided=S["undecided"])
reporting.save_verdict(rows, out, "09", profile=profile)
print(extractor.description)
display(reporting.verdict_table(rows))

# %% [markdown]
# ## Compute and plateaus per variant

# %%
compute = gx.state_counts(table, by=("dataset", "arch", "variant")).assign(cap=S["cap"],
                                                                           min_iteration=S["min_iteration"])
reporting.save_table(compute, out, "09_compute", keys=["dataset", "arch", "variant"])
text = (f"Every variant trained to its own plateau of {METRIC} under a common cap of {S['cap']:,} generator "
        f"iterations (no stop before {S['min_iteration']:,}), the variants and seeds of one GMEGAN reading in one "
        "batch per architecture (the full GMEGAN's runs are notebook 08's).\n\n"
        + reporting.markdown_table(compute[["arch", "variant", "runs", "plateau", "improving", "worsening",
                                            "oscillating", "plateau_median", "iterations_max"]]))
reporting.save_conclusion(text, out, "09")
display(Markdown(text))
