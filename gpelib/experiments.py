"""Recipes that the notebooks call: train the encoders a figure needs and tabulate their diagnostics.

Each recipe is a few library calls glued together, so a notebook stays a story (parameters → recipe → plot →
verdict) and a user can run the same experiment from a script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd
import torch
from torch import Tensor, nn

from .geometry import certificate, diagnose_encoder
from .models import encode, make_decoder, make_encoder
from .train import TrainConfig, train_encoder, train_vae

__all__ = ["EncoderRun", "fit_gpe_encoder", "fit_vae", "encoder_table", "certificate_table", "embed"]


@dataclass
class EncoderRun:
    """A trained encoder with its training history (and the jointly trained decoder for a VAE)."""

    name: str
    encoder: nn.Module
    history: pd.DataFrame
    seconds: float
    iterations: int
    decoder: nn.Module | None = None
    info: dict = field(default_factory=dict)


def fit_gpe_encoder(
    x: Tensor,
    *,
    latent_dim: int,
    config: TrainConfig,
    val: Tensor | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    name: str = "GPE",
) -> EncoderRun:
    """GPE Algorithm 1 on ``x`` (N, ...): a fresh encoder for ``x``'s shape trained on the GME cost alone."""
    torch.manual_seed(config.seed)
    enc = make_encoder(x.shape[1:], latent_dim, arch=arch, width=width, hidden=hidden)
    res = train_encoder(enc, x, config=config, val_data=val)
    return EncoderRun(name, enc, res.history.assign(method=name), res.seconds, res.iterations,
                      info={"stopped": res.stopped, "eps": res.final_val})


def fit_vae(
    x: Tensor,
    *,
    latent_dim: int,
    config: TrainConfig,
    beta: float = 0.1,
    val: Tensor | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    name: str = "VAE",
) -> EncoderRun:
    """β-VAE (per-pixel normalisation, SPEC §1) with the same architectures as GPE; returns its mean encoder."""
    torch.manual_seed(config.seed)
    enc = make_encoder(x.shape[1:], latent_dim, arch=arch, variational=True, width=width, hidden=hidden)
    dec = make_decoder(x.shape[1:], latent_dim, arch=arch, width=width, hidden=hidden)
    res = train_vae(enc, dec, x, beta=beta, config=config, val_data=val)
    return EncoderRun(name, enc, res.history.assign(method=name), res.seconds, res.iterations, decoder=dec,
                      info={"stopped": res.stopped, "beta": beta, "recon": res.final_val})


def embed(runs: Mapping[str, EncoderRun], x: Tensor) -> dict[str, Tensor]:
    """Latents of ``x`` under each run's encoder (mean head for a VAE)."""
    return {k: encode(r.encoder, x) for k, r in runs.items()}


def encoder_table(
    runs: Mapping[str, EncoderRun], x_eval: Tensor, *, data_scale: float = 1.0, max_pairs: int = 50000
) -> pd.DataFrame:
    """One row per encoder: GME cost, distance correlations and ratio spread on the held-out ``x_eval``."""
    rows = []
    for name, r in runs.items():
        d = diagnose_encoder(r.encoder, x_eval, data_scale=data_scale, max_pairs=max_pairs)
        rows.append({"encoder": name, **d.as_dict(), "train_seconds": r.seconds, "train_iterations": r.iterations})
    return pd.DataFrame(rows)


def certificate_table(
    runs: Mapping[str, EncoderRun],
    splits: Mapping[str, Tensor],
    *,
    alphas: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    data_scale: float = 1.0,
) -> pd.DataFrame:
    """Theorem-1 certificate per encoder and data split: empirical ``µ²[K_α]`` vs ``1 − ε/(log α)²`` where ε is
    the GME cost measured on that split (GMEGAN Theorem 1)."""
    frames = []
    for name, r in runs.items():
        for split, x in splits.items():
            z = encode(r.encoder, x)
            frames.append(certificate(x, z, alphas=alphas, data_scale=data_scale).assign(encoder=name, split=split))
    return pd.concat(frames, ignore_index=True)


def scaled(config: TrainConfig, **kw) -> TrainConfig:
    """``config`` with some fields replaced (for per-method learning rates etc.)."""
    return replace(config, **kw)


def flow_metric_curve(
    name: str,
    latents: Tensor,
    decoder: nn.Module,
    *,
    extractor,
    real,
    milestones: Sequence[int],
    config: TrainConfig,
    n_fake: int,
    val_latents: Tensor | None = None,
    velocity_size: str = "small",
    sample_method: str = "heun",
    sample_steps: int = 50,
):
    """Generation metric vs flow-training iterations (GPE Fig. 9) for one latent space.

    Trains a CFM velocity on ``latents`` (N, d) up to each milestone in turn — each stage resumes exactly from the
    previous stage's checkpoint in ``config.checkpoint_dir``, so the curve is one training run observed at several
    points — and scores ``n_fake`` generated samples ``decoder(flow(z))`` against ``real`` (images or precomputed
    :class:`gpelib.metrics.FeatureStats`) with ``extractor``.

    Returns ``(curve, generator)``: a tidy DataFrame (method, flow_iteration, metric, value, n_real, n_fake,
    extractor, flow_seconds) and the :class:`gpelib.flows.LatentGenerator` at the last milestone.
    """
    from .flows import LatentGenerator, make_velocity, train_flow
    from .metrics import FeatureStats, frechet_score
    from .train import observe_milestones

    if config.checkpoint_dir is None:
        raise ValueError("flow_metric_curve needs config.checkpoint_dir (each milestone resumes the previous one)")
    state: dict = {}

    def train_to(m: int):
        torch.manual_seed(config.seed)
        vel = make_velocity(latents.shape[1], velocity_size)
        res = train_flow(vel, latents, config=replace(config, iterations=int(m)), val_latents=val_latents)
        state["gen"] = LatentGenerator.from_result(res, decoder)
        return res

    def score(res) -> dict:
        fake = state["gen"].generate(n_fake, seed=config.seed + 1, method=sample_method, steps=sample_steps)
        s = frechet_score(extractor, real, fake)
        return dict(method=name, flow_iteration=res.iterations, metric=s.metric, value=s.value, n_real=s.n_real,
                    n_fake=s.n_fake, extractor=s.extractor, flow_seconds=res.seconds, flow_val_loss=res.final_val)

    real_key = (real.n, float(real.mu.sum())) if isinstance(real, FeatureStats) else tuple(real.shape)
    key = dict(extractor=getattr(extractor, "description", str(extractor)), real=real_key, n_fake=n_fake,
               method=sample_method, steps=sample_steps, seed=config.seed)
    rows, _ = observe_milestones(train_to, score, milestones, config.checkpoint_dir, key=key)
    return pd.DataFrame(rows).drop(columns="milestone"), state["gen"]


def fit_decoder(
    run: EncoderRun,
    x: Tensor,
    *,
    config: TrainConfig,
    val: Tensor | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
) -> EncoderRun:
    """GPE Algorithm 2 for a trained encoder run: a fresh decoder on reconstruction with the encoder frozen.
    Returns a copy of ``run`` with ``decoder`` set and ``info['recon']`` = held-out per-pixel MSE."""
    from .train import train_decoder

    latent_dim = int(run.encoder.config["latent_dim"]) if hasattr(run.encoder, "config") else None
    torch.manual_seed(config.seed)
    dec = make_decoder(x.shape[1:], latent_dim, arch=arch, width=width, hidden=hidden)
    res = train_decoder(dec, run.encoder, x, config=config, val_data=val)
    return replace(run, decoder=dec, history=res.history.assign(method=run.name), seconds=res.seconds,
                   iterations=res.iterations, info={**run.info, "recon": res.final_val})
