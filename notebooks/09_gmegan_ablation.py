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
# **Protocol.** The full method and its three variants are trained exactly as in notebook 08 (same data, architectures,
# iterations, scores) — the full GMEGAN runs *are* notebook 08's (shared checkpoints). A removed term is still
# computed and logged, without gradient.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper: holds cifar-10-batches-py/ (None: $GPE_DATA_ROOT or ~/data)
inception_weights = None  # path to pt_inception-2015-12-05-6726825d.pth; None: look in $TORCH_HOME only
workers = None  # parallel training processes; None: one per CPU core (1 on a GPU)
seed = 0

# %%
from IPython.display import display

from gpelib import metrics, parallel, plots, profiles, reporting, verdicts
from gpelib.gan import experiments as gx

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
# the same settings as notebook 08 (so the full GMEGAN runs are shared); the ablation is on CIFAR10 only
S = profiles.preset("09", profile, data_root=data_root)
workers = workers or (1 if profile == "smoke" else parallel.default_workers(device))
spec = S["dataset"]
print(f"profile={profile}  out={out}  workers={workers}\n{S}")

# %%
train, _ = spec.load()
classifier = metrics.ClassifierFeatures.load_or_train(
    reporting.project_root() / "runs" / "classifiers", train.images, train.labels, tag=spec.name,
    epochs=S["classifier_epochs"], seed=seed, device=device, verbose=True)
extractor = metrics.default_feature_extractor(
    train.images, train.labels, cache_dir=reporting.project_root() / "runs" / "classifiers",
    weights_path=inception_weights, tag=spec.name, epochs=S["classifier_epochs"], seed=seed, device=device)
METRIC = extractor.name
variants = {"GMEGAN": ("gmegan", {}), "λ1 = 0 (no GME)": ("gmegan", {"lambda1": 0.0}),
            "λ2 = 0 (no gradient penalty)": ("gmegan", {"lambda2": 0.0}),
            "λ3 = 0 (no reconstruction)": ("gmegan", {"lambda3": 0.0})}
jobs = gx.sweep_jobs(variants, specs=[spec], archs=S["archs"], seeds=[seed], latent_dim=S["latent"],
                     milestones=S["milestones"], batch_size=S["batch"], eval_every=max(S["milestones"][-1] // 10, 1),
                     n_fake=S["n_fake"], n_real=S["n_real"], n_counts=S["n_counts"], best_k=S["best_k"],
                     device=device, classifier_path=str(classifier.cache_path),
                     inception_weights=str(extractor.weights_path) if METRIC == "FID" else None,
                     checkpoint_root=reporting.project_root() / "runs" / profile / "checkpoints" / "gan")
runs = parallel.map_jobs(gx.image_job, jobs, n_workers=workers, threads_per_worker=1, desc="09 ablations")
table = gx.sweep_table(runs)
reporting.save_table(table.assign(metric=METRIC), out, "09_runs",
                     keys=["dataset", "method", "label", "variant", "arch", "seed"])  # seconds: 09_timings.csv
summary = gx.summarize(table, ["fd", "relative_std", "classes_covered"])
reporting.save_table(summary.assign(metric=METRIC), out, "09_summary")
display(summary.round(3))
fig = plots.metric_boxes(table, {"fd": f"{METRIC} (mean of the {S['best_k']} lowest)",
                                 "relative_std": "relative std of class counts"}, x="variant", order=list(variants),
                         title=f"GMEGAN ablations, {spec.name}, {len(S['archs'])} architectures")
plots.save_figure(fig, out, "09_ablation_boxes")

# %% [markdown]
# ## Verdict
#
# Decided by `gpelib.verdicts` (SPEC §2): one seed, so each difference is paired by architecture and summarised by
# its median and order-statistics interval over the architectures (the "seeds" column counts architectures). The
# impact of a term is the ABSOLUTE change of the score when it is removed, whatever its direction; the spread across
# architectures compares each architecture's absolute deviation from its variant's mean ("ours" gives the std).

# %%
fd = {v: g.set_index("arch").loc[S["archs"], "fd"].tolist() for v, g in table.groupby("variant", sort=False)}
ablations = {v: x for v, x in fd.items() if v != "GMEGAN"}
dev = {v: [abs(y - sum(x) / len(x)) for y in x] for v, x in ablations.items()}
sm = summary.set_index("variant")
note = f"paired by architecture: 'seeds' counts the {len(S['archs'])} architectures (1 seed each)"
rows = [
    verdicts.Claim.from_decision(
        f"Removing any regulariser raises the mean {METRIC} (full GMEGAN best)",
        "Fig. 8: excluding any term significantly decreases performance",
        f"GMEGAN {sm.fd_mean['GMEGAN']:.3g}; " + ", ".join(f"{v}: {sm.fd_mean[v]:.3g}" for v in ablations),
        verdicts.best_of(fd, "GMEGAN", better="lower"), profile=profile, note=note),
    verdicts.Claim.from_decision(
        "λ3 = 0 has the least impact (smallest change of the score, in either direction)",
        "§6.4: λ3 may have the least impact on performance",
        ", ".join(f"{v}: {sm.fd_mean[v] - sm.fd_mean['GMEGAN']:+.3g}" for v in ablations),
        verdicts.least_impact(fd["GMEGAN"], ablations, "λ3 = 0 (no reconstruction)", paper_sign=+1),
        profile=profile, note=note),
    verdicts.Claim.from_decision(
        f"λ1 = 0 is the least stable across architectures (largest std of {METRIC})",
        "§6.4: removing the GME cost λ1 significantly deteriorates the stability",
        f"GMEGAN {sm.fd_std['GMEGAN']:.3g}; " + ", ".join(f"{v}: {sm.fd_std[v]:.3g}" for v in ablations),
        verdicts.best_of(dev, "λ1 = 0 (no GME)", better="higher"), profile=profile,
        note=note + "; spread = |deviation from the variant's mean| per architecture"),
]
reporting.save_verdict(rows, out, "09", profile=profile)
print(extractor.description)
display(reporting.verdict_table(rows))
