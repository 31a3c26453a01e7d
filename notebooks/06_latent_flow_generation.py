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
# **Protocol.** GPE: encoder on the GME cost, then a decoder on reconstruction. VAE: encoder and decoder jointly,
# with as many iterations as GPE's encoder and decoder together. Each latent set is standardised (centre, one scalar
# scale so that $E\|y-\bar y\|^2 = d$), a CFM velocity is trained on it, and at several flow iterations we
# generate $x = S(R(z))$ and compute the Fréchet distance to the training images.
#
# **The metric.** The standard FID needs the Inception weights, which cannot be downloaded here: when they are not
# on disk the distance is computed on the penultimate features of a classifier that gpelib trains on the same
# dataset, and reported as **FD-classifier**, never as FID (its test accuracy is printed). Scores are comparable only
# at the same sample counts and features, which the table stores.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # paper profile: folder holding the datasets (None: $GPE_DATA_ROOT or ~/data)
inception_weights = None  # path to pt_inception-2015-12-05-6726825d.pth; None: look in $TORCH_HOME only
seed = 0

# %%
import pandas as pd
import torch
from IPython.display import display

from gpelib import data, metrics, plots, profiles, recipes, reporting, verdicts
from gpelib.flows import interpolation_grid
from gpelib.models import encode
from gpelib.train import TrainConfig

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("06", profile)
ck = lambda name: str(reporting.checkpoint_folder(profile, "06", name, {**S, "seed": seed, "name": name}))
print(f"profile={profile}  out={out}\n{S}")

# %%
images = data.load_digits() if S["dataset"] == "digits" else data.load_dataset(S["dataset"], data_root)
train, val = images.split(S["n_val"], seed=seed)
x_train, x_val = train.images, val.images
extractor = metrics.default_feature_extractor(train.images, train.labels, cache_dir=reporting.project_root() / "runs"
                                              / "classifiers", weights_path=inception_weights, tag=images.name,
                                              epochs=S["classifier_epochs"], seed=seed, device=device)
real = metrics.feature_stats(extractor, x_train)
# held-out real images against the training statistics: a reference level, not a floor — a Fréchet distance grows
# as the sample shrinks, and the held-out set (n_val) is smaller than the generated sets (n_fake)
floor = metrics.frechet_score(extractor, real, x_val)
print(floor)

# %% [markdown]
# ## Encoders and decoders (checkpoints are reused when this notebook reruns with the same settings)

# %%
cfg = dict(batch_size=S["batch"], lr=S["lr"], seed=seed, device=device)
gpe = recipes.train_gpe_encoder(x_train, latent_dim=S["latent"], val_data=x_val, config=TrainConfig(
    iterations=S["enc_iters"], eval_every=max(S["enc_iters"] // 10, 1), checkpoint_dir=ck("gpe_encoder"), **cfg))
gpe_dec = recipes.fresh_decoder(gpe, x_train, val_data=x_val, config=TrainConfig(
    iterations=S["dec_iters"], eval_every=max(S["dec_iters"] // 10, 1), checkpoint_dir=ck("gpe_decoder"), **cfg))
vae_iters = S["enc_iters"] + S["dec_iters"]
vae = recipes.train_method("vae", x_train, latent_dim=S["latent"], beta=S["beta"], val_data=x_val, config=TrainConfig(
    iterations=vae_iters, eval_every=max(vae_iters // 10, 1), checkpoint_dir=ck("vae"), **cfg))
recon = pd.DataFrame([dict(method="GPE", reconstruction_mse=gpe_dec.final_val),
                      dict(method="VAE", reconstruction_mse=vae.final_val)])
display(recon)

# %% [markdown]
# ## Fig. 9: generation metric vs flow-training iterations

# %%
flow_cfg = TrainConfig(batch_size=S["flow_batch"], lr=S["flow_lr"], betas=S["flow_betas"], seed=seed, device=device,
                       eval_every=max(S["flow_milestones"][0] // 2, 1))
curves, generators = [], {}
for name, enc, dec in [("GPE", gpe.encoder, gpe_dec.decoder), ("VAE", vae.encoder, vae.decoder)]:
    curve, generators[name] = recipes.flow_metric_curve(
        name, encode(enc, x_train), dec, extractor=extractor, real=real, milestones=S["flow_milestones"],
        config=TrainConfig(**{**flow_cfg.__dict__, "checkpoint_dir": ck(f"flow_{name}")}), n_fake=S["n_fake"],
        val_latents=encode(enc, x_val), velocity_size=S["velocity"], sample_steps=S["sample_steps"])
    curves.append(curve)
curve = pd.concat(curves, ignore_index=True)
prior = vae.decoder.eval()
with torch.no_grad():
    prior_samples = prior(torch.randn(S["n_fake"], S["latent"], generator=torch.Generator().manual_seed(seed + 1))
                          .to(next(prior.parameters()).device)).cpu()
no_flow = metrics.frechet_score(extractor, real, prior_samples)
reporting.save_table(curve.assign(vae_without_flow=no_flow.value, real_heldout=floor.value, n_heldout=floor.n_fake,
                                  recon_gpe=gpe_dec.final_val, recon_vae=vae.final_val), out, "06_flow_metric_curve",
                     keys=["method", "flow_iteration"])  # flow_seconds: 06_timings.csv
fig = plots.loss_curves(curve, x="flow_iteration", y="value", hue="method", logy=False,
                        title=f"{no_flow.metric} vs CFM iterations ({images.name}); n={S['n_fake']}")
ax = fig.axes[0]
ax.axhline(no_flow.value, color="C1", ls="--", lw=1, label="VAE without flow")
ax.axhline(floor.value, color="grey", ls=":", lw=1, label=f"held-out real images (n={floor.n_fake})")
ax.set_ylabel(no_flow.metric)
ax.set_xscale("log")
ax.legend(fontsize=8)
plots.save_figure(fig, out, "06_flow_metric_curve")
display(curve[["method", "flow_iteration", "metric", "value", "flow_seconds"]].round(3))
print(f"VAE without flow: {no_flow}\nheld-out real images: {floor}")

# %% [markdown]
# ## Samples and the interpolation grid of Fig. 10

# %%
for name, gen in generators.items():
    plots.save_figure(plots.image_grid(gen.generate(64, seed=seed + 2, steps=S["sample_steps"]), nrow=8,
                                       title=f"{name} + CFM"), out, f"06_samples_{name.lower()}")
plots.save_figure(plots.image_grid(prior_samples[:64], nrow=8, title="VAE, prior samples (no flow)"), out,
                  "06_samples_vae_no_flow")
corners = encode(gpe.encoder, x_val[:4])
grid = generators["GPE"].decode(interpolation_grid(generators["GPE"], corners, 8, steps=S["sample_steps"]))
plots.save_figure(plots.image_grid(grid, nrow=8, title="GPE: noise-space interpolation between 4 held-out images"),
                  out, "06_interpolation_gpe")

# %% [markdown]
# ## Verdict

# %%
wide = curve.pivot_table(index="flow_iteration", columns="method", values="value")
last = wide.index.max()
better = (wide["GPE"] < wide["VAE"])
rows = [
    verdicts.Claim.from_decision(
        f"GPE + CFM reaches a lower {no_flow.metric} than VAE + CFM at matched flow iterations",
        "GPE lower at matched iterations on MNIST, CIFAR10, CelebA (Fig. 9, FID)",
        f"GPE lower at {int(better.sum())}/{len(better)} milestones; at {last} it.: GPE {wide.loc[last, 'GPE']:.3g} "
        f"vs VAE {wide.loc[last, 'VAE']:.3g} (held-out real images, n={floor.n_fake}: {floor.value:.3g})",
        verdicts.all_of([verdicts.less(wide.loc[last, "GPE"], wide.loc[last, "VAE"]),
                         verdicts.at_least(better.mean(), 0.5)]), profile=profile),
    verdicts.Claim.from_decision(
        "CFM on the VAE latents improves on decoding prior samples (VAE without flow)",
        "the no-flow VAE line lies above the flow curves (Fig. 9)",
        f"VAE+CFM {wide.loc[last, 'VAE']:.3g} vs no flow {no_flow.value:.3g}",
        verdicts.less(wide.loc[last, "VAE"], no_flow.value), profile=profile),
    verdicts.Claim.from_decision(
        "GPE reconstructs better than the VAE (the paper's explanation of Fig. 9)", "lower reconstruction error "
        "(Fig. 8)", f"held-out MSE GPE {gpe_dec.final_val:.4f} vs VAE {vae.final_val:.4f}",
        verdicts.less(gpe_dec.final_val, vae.final_val), profile=profile),
]
reporting.save_verdict(rows, out, "06", profile=profile)
print(f"metric: {no_flow.metric}; features: {extractor.description}")
display(reporting.verdict_table(rows))
