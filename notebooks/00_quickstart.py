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
# # 00 — Quickstart: encode, check the geometry, decode, generate
#
# The whole GPE pipeline on real MNIST digits in about a minute on a laptop CPU (`quick` profile):
#
# 1. **an encoder trained on the Gromov-Monge embedding (GME) cost alone**, so that distances in the latent space
#    follow distances in the data;
# 2. **its geometry checked** on held-out images: distance ratios and the Theorem-1 certificate;
# 3. **a decoder** trained on reconstruction with the encoder frozen;
# 4. **a latent flow** (conditional flow matching) that turns noise into latents, decoded into new images.
#
# Every step says what to change for your own data. This notebook is a tutorial: it states no verdict, but every
# number it prints is computed here. The notebooks 01–09 test the papers' claims.

# %% tags=["parameters"]
profile = None  # "smoke" | "quick" | "paper"; None: $GPE_PROFILE, else "quick"
device = None  # None: CUDA if available, else CPU
out_dir = None  # None: runs/<profile>/figures; reproduce/run_all.py passes its run folder
data_root = None  # named datasets on disk: mnist, cifar10, celeba (None: $GPE_DATA_ROOT or ~/data)
seed = 0

# %%
import torch
from IPython.display import display

from gpelib import data, flows, geometry, plots, profiles, recipes, reporting
from gpelib.models import encode

profile = profiles.resolve_profile(profile)
out = reporting.output_dir(out_dir, profile)
S = profiles.preset("00", profile)
print(f"profile={profile}  out={out}\n{S}")

# %% [markdown]
# ## 1. Data
#
# `data.load_splits(name_or_folder)` returns a fixed `(train, held_out)` split of any dataset gpelib knows — images
# `(N, C, H, W)` in `[−1, 1]`, labels if there are any. **Your data:** a folder of images —
# `data.load_splits("path/to/images", size=32)` — or a tensor you already have, `x` of shape `(N, C, H, W)` (or
# `(N, D)` vectors) scaled to `[−1, 1]`: wrap it as `data.ImageData(x, None, "mine", None)` and call `.split(n_val)`.

# %%
train, held_out = data.load_splits(S["dataset"], data_root)
x, x_val = train.images, held_out.images
print(f"{train.name}: {len(train)} training and {len(held_out)} held-out images of shape {train.shape}")
plots.save_figure(plots.image_grid(x[:32], nrow=8, title=f"{train.name}: training images"), out, "00_data")

# %% [markdown]
# ## 2. The GPE encoder: the GME cost alone
#
# `profiles.stages` reads the preset's training stages (typed, checked) and `.config()` turns one into the loop's
# `TrainConfig`; `target` stops training once the held-out GME cost reaches ε (smaller
# ε: more faithful geometry, longer training). A progress bar shows the cost. **Your data:** set `latent_dim`
# (the GPE paper: 30 for MNIST, 100 for CIFAR10/CelebA) and, for large images, `arch="conv"`; add
# `checkpoint_dir="runs/my_encoder"` to make training resumable.

# %%
stage = profiles.stages(S, "encoder", "decoder", "flow")
gpe = recipes.train_gpe_encoder(x, latent_dim=S["latent"], val_data=x_val, arch=S["arch"], hidden=S["hidden"],
                                config=stage["encoder"].config(seed=seed, device=device, target=S["eps"]))
print(f"stopped: {gpe.info['stopped']} after {gpe.encoder_iterations} iterations ({gpe.encoder_seconds:.0f} s); "
      f"held-out GME cost {gpe.info['eps']:.4f}")

# %% [markdown]
# ## 3. Is the geometry preserved? (held-out images)
#
# For pairs of held-out images, the ratio of latent to data distance should be nearly constant; the
# certificate compares the fraction of pairs whose distance ratio lies in `[α, 1/α]` with the lower bound
# `1 − ε/(log α)²` of GMEGAN's Theorem 1 (GPE's Theorem 2), ε measured on training pairs.

# %%
print(geometry.diagnose_encoder(gpe.encoder, x_val))
pairs = geometry.distance_ratios(gpe.encoder, x_val, max_pairs=20000, seed=seed).frame()
plots.save_figure(plots.ratio_scatter({"GPE": pairs}), out, "00_distance_ratios")
z_train, z_val = encode(gpe.encoder, x[: len(x_val)]), encode(gpe.encoder, x_val)
eps_train = float(geometry.certificate(x[: len(x_val)], z_train).eps.iloc[0])
cert = geometry.certificate(x_val, z_val, alphas=[0.5, 0.6, 0.7, 0.8, 0.9], eps=eps_train).assign(method="GPE")
display(cert.round(4))
plots.save_figure(plots.certificate_plot(cert), out, "00_certificate")

# %% [markdown]
# ## 4. The decoder: reconstruction with the encoder frozen
#
# `recipes.fresh_decoder` freezes the encoder and trains a new decoder on the per-pixel squared error.

# %%
dec = recipes.fresh_decoder(gpe, x, val_data=x_val, arch=S["arch"], hidden=S["hidden"],
                            config=stage["decoder"].config(seed=seed, device=device))
print(f"held-out reconstruction MSE after {dec.iterations} iterations: {dec.final_val:.4f}")
plots.save_figure(plots.image_rows({"held-out": x_val[:12], "reconstructed": recipes.reconstruct(dec, x_val[:12])}),
                  out, "00_reconstructions")

# %% [markdown]
# ## 5. A latent flow: new images from noise
#
# Conditional flow matching learns a velocity field that carries Gaussian noise to the (standardised) latents;
# integrating it and decoding gives new images. Interpolating in the noise space between four held-out images gives
# the grid of the GPE paper's Fig. 10.

# %%
velocity = flows.make_velocity(S["latent"], "small")
flow = flows.train_flow(velocity, encode(gpe.encoder, x), val_latents=z_val,
                        config=stage["flow"].config(seed=seed, device=device))
gen = flows.LatentGenerator.from_result(flow, dec.decoder)
samples = gen.generate(64, seed=seed + 1, steps=S["sample_steps"])
print(f"flow: held-out CFM loss {flow.final_val:.4f} after {flow.iterations} iterations; samples "
      f"{tuple(samples.shape)}, pixel range [{float(samples.min()):.2f}, {float(samples.max()):.2f}]")
plots.save_figure(plots.image_grid(samples, nrow=8, title="GPE + latent flow: new images"), out, "00_samples")
grid = gen.decode(flows.interpolation_grid(gen, z_val[:4], 6, steps=S["sample_steps"]))
plots.save_figure(plots.image_grid(grid, nrow=6, title="interpolation between 4 held-out images"), out,
                  "00_interpolation")
torch.manual_seed(seed)  # leave the global generator as a user would expect after a seeded notebook
