"""The trainers of every encoder/decoder method (GPE Algorithms 1–2, β-VAE, AE, +MDS), all on one training loop.

Every trainer returns a :class:`TrainResult` whose ``history`` is a tidy DataFrame with one row per evaluation:

    iteration | seconds | train_loss | val_loss | <loss components...>

``seconds`` is cumulative *training* wall-clock (evaluation time excluded), ``train_loss`` the mean training loss
since the previous row, ``val_loss`` the method's validation metric on a fixed held-out set (GME cost for the GPE
encoder, per-pixel reconstruction MSE for every decoder). ``steps`` holds the per-iteration training loss for
threshold counting (GPE Table 1).

**Several processes** (``torchrun --nproc_per_node=N …``, after :func:`gpelib.distributed.init_from_env`): every
trainer runs data-parallel. ``config.batch_size`` is the per-process batch ``b``; the processes draw disjoint slices
of one global batch of ``N·b`` from the same seeded permutation (a distributed sampler), networks are wrapped in
``DistributedDataParallel``, the GME cost is that of the global batch (:func:`gpelib.distributed.gme_cost_global`),
so N processes with batch ``b`` optimise the objective of one process with batch ``N·b``. Logged losses are averaged
over processes, the progress bar and checkpoints are rank 0's, and every process resumes from the same checkpoint
(with its own random-number state). The MDS penalty uses the pairs within each process's batch.

The loop the trainers run on and its checkpoints are in :mod:`gpelib.training_loop`, the settings and results in
:mod:`gpelib.train_setup`; every name of theirs is re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from .checkpoint import weights_hash
from .distributed import dist_info, gme_cost_global
from .losses import gaussian_kl, gme_cost, mds_penalty, reconstruction_mse, released_decoder_loss
from .train_setup import (
    HistoryResult,
    NonFiniteLossError,
    TrainConfig,
    TrainResult,
    _split_val,
    adam,
    seed_everything,
)
from .training_loop import (
    BatchFeeder,
    EvalFn,
    ResumeMismatchError,
    RunState,
    StepFn,
    TrainingInterrupted,
    _seed,
    data_parallel,
    fit,
    observe_milestones,
    resolve_device,
)
from .training_loop import _Batches as _Batches  # re-exported: tests draw batches with it directly

__all__ = [
    "adam",
    "TrainingInterrupted",
    "TrainConfig",
    "HistoryResult",
    "TrainResult",
    "BatchFeeder",
    "RunState",
    "NonFiniteLossError",
    "resolve_device",
    "seed_everything",
    "fit",
    "train_encoder",
    "train_decoder",
    "train_autoencoder",
    "train_vae",
    "evaluate_gme",
    "evaluate_reconstruction",
    "observe_milestones",
    "ResumeMismatchError",
    "data_parallel",
    "StepFn",
    "EvalFn",
]


def _batched(fn: Callable[[Tensor], Tensor], x: Tensor, bs: int, device: torch.device) -> Tensor:
    return torch.cat([fn(x[i : i + bs].to(device)) for i in range(0, x.shape[0], bs)])


@torch.no_grad()
def evaluate_gme(
    encoder: nn.Module, x: Tensor, *, data_scale: float = 1.0, chunk_size: int | None = 512, batch_size: int = 1000
) -> float:
    """U-statistic GME cost (GPE eq. 14) of ``encoder`` over all pairs of the fixed set ``x`` (B, ...)."""
    device = next(encoder.parameters()).device
    z = _batched(encoder, x, batch_size, device)
    return float(gme_cost(x.to(device), z, data_scale=data_scale, chunk_size=chunk_size))


@torch.no_grad()
def evaluate_reconstruction(encoder: nn.Module, decoder: nn.Module, x: Tensor, *, batch_size: int = 1000) -> float:
    """Per-pixel MSE ``mean‖x − S(T x)‖²`` on ``x`` (the encoder's mean for a VAE)."""
    device = next(decoder.parameters()).device
    total, n = 0.0, 0
    for i in range(0, x.shape[0], batch_size):
        xb = x[i : i + batch_size].to(device)
        total += float((decoder(encoder(xb)) - xb).square().sum())
        n += xb.numel()
    return total / n


def _adam(params, config: TrainConfig) -> torch.optim.Adam:
    return adam(params, lr=config.lr, betas=config.betas)


def train_encoder(
    encoder: nn.Module,
    data: Tensor,
    *,
    config: TrainConfig | None = None,
    val_data: Tensor | None = None,
) -> TrainResult:
    """GPE Algorithm 1: minimise the GME cost ``GM(T; µ_n)`` (GPE eq. 15) alone with Adam.

    Stops at ``config.target`` (= ε, checked on the validation GME cost), the iteration budget or the time budget.
    ``data``: ``(N, ...)`` tensor. ``val_data``: the fixed held-out set (default: 1000 seeded training points).
    """
    config = config or TrainConfig()
    _seed(config)
    device = resolve_device(config.device)
    encoder.to(device).train()
    val = _split_val(data, val_data, 1000, config.seed)
    opt = _adam(encoder.parameters(), config)
    enc = data_parallel(encoder, device, compile=config.compile)
    distributed = dist_info().world_size > 1

    def step(x: Tensor) -> dict[str, Tensor]:
        opt.zero_grad(set_to_none=True)
        if distributed:  # the GME cost of the global batch, this process's rows (GPE eq. 14 over N·b points)
            loss, value = gme_cost_global(x, enc(x), data_scale=config.data_scale)
        else:
            loss = value = gme_cost(x, enc(x), data_scale=config.data_scale, chunk_size=config.chunk_size)
        loss.backward()
        opt.step()
        return {"loss": value.detach()}

    def evaluate() -> dict[str, float]:
        return {"val_loss": evaluate_gme(encoder, val, data_scale=config.data_scale, batch_size=config.val_batch_size)}

    return fit(name="gpe_encoder", modules={"encoder": encoder}, optimizers={"encoder": opt}, step=step,
               evaluate=evaluate, data=data, config=config)


def train_decoder(
    decoder: nn.Module,
    encoder: nn.Module,
    data: Tensor,
    *,
    config: TrainConfig | None = None,
    val_data: Tensor | None = None,
    objective: str = "mse",
) -> TrainResult:
    """GPE Algorithm 2 (and the fresh-decoder protocol of Table 1): freeze ``encoder`` and minimise the per-pixel
    reconstruction error ``E‖x − S(T x)‖²`` over the decoder ``S`` only (``objective="mse"``, as printed), or the
    released code's loss (``objective="released"``: :func:`~gpelib.losses.released_decoder_loss`, latent cycle +
    MSE + L1, the cycle through the frozen ``encoder``; pass the standardised encoder). The per-iteration ``steps``
    then carry ``mse`` beside ``loss``. The checkpoint records the encoder's
    :func:`~gpelib.checkpoint.weights_hash` (``encoder_hash``); resuming it on another encoder is refused."""
    if objective not in ("mse", "released"):
        raise ValueError(f"objective must be 'mse' or 'released'; got {objective!r}")
    config = config or TrainConfig()
    _seed(config)
    device = resolve_device(config.device)
    encoder.to(device).eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    decoder.to(device).train()
    val = _split_val(data, val_data, 1000, config.seed)
    opt = _adam(decoder.parameters(), config)
    dec = data_parallel(decoder, device, compile=config.compile)

    def step(x: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            z = encoder(x)
        opt.zero_grad(set_to_none=True)
        x_hat = dec(z)
        if objective == "released":  # the cycle's gradient flows through the frozen encoder into the decoder
            out = released_decoder_loss(x_hat, x, z, encoder(x_hat))
        else:
            out = {"loss": reconstruction_mse(x_hat, x)}
        out["loss"].backward()
        opt.step()
        return {k: v.detach() for k, v in out.items()}

    def evaluate() -> dict[str, float]:
        encoder.eval()
        return {"val_loss": evaluate_reconstruction(encoder, decoder, val, batch_size=config.val_batch_size)}

    extra: dict[str, Any] = {"encoder_hash": weights_hash(encoder)}
    if objective != "mse":  # recorded only when not the default, so that earlier checkpoints still resume
        extra["objective"] = objective
    result = fit(name="gpe_decoder", modules={"decoder": decoder}, optimizers={"decoder": opt}, step=step,
                 evaluate=evaluate, data=data, config=config, extra_config=extra)
    encoder.eval()
    return result


def train_autoencoder(
    encoder: nn.Module,
    decoder: nn.Module,
    data: Tensor,
    *,
    kl_weight: float = 0.0,
    mds_weight: float = 0.0,
    config: TrainConfig | None = None,
    val_data: Tensor | None = None,
    name: str | None = None,
) -> TrainResult:
    """Joint encoder/decoder training: AE, β-VAE, AE+MDS and VAE+MDS (GPE §8.3–8.4) in one loss

    ``L = mean‖x − S(y)‖² + kl_weight · KL(N(µ, σ²) ‖ N(0, I)) / d + mds_weight · MDS(x, µ)``

    where ``y = µ + σ ⊙ ξ`` for a variational encoder (:class:`~gpelib.models.GaussianEncoder`) and ``y = T(x)``
    otherwise; KL is summed over the ``d`` latent coordinates and averaged over the batch, so ``kl_weight = 0.1``
    is the authors' public per-pixel normalisation (SPEC §1). The validation metric is the reconstruction MSE of
    the *mean* latent.
    """
    config = config or TrainConfig()
    _seed(config)
    device = resolve_device(config.device)
    variational = hasattr(encoder, "distribution")
    if kl_weight and not variational:
        raise ValueError("kl_weight > 0 needs a variational encoder (make_encoder(..., variational=True))")
    encoder.to(device).train()
    decoder.to(device).train()
    val = _split_val(data, val_data, 1000, config.seed)
    opt = _adam(list(encoder.parameters()) + list(decoder.parameters()), config)
    joint = data_parallel(_EncodeDecode(encoder, decoder), device, compile=config.compile)

    def step(x: Tensor) -> dict[str, Tensor]:
        opt.zero_grad(set_to_none=True)
        mu, logvar, x_hat = joint(x)
        rec = reconstruction_mse(x_hat, x)
        loss = rec
        out = {"recon": rec.detach()}
        if variational:
            kl = gaussian_kl(mu, logvar)
            out["kl"] = kl.detach()
            if kl_weight:
                loss = loss + kl_weight * kl / mu.shape[1]
        if mds_weight:
            mds = mds_penalty(x, mu)
            out["mds"] = mds.detach()
            loss = loss + mds_weight * mds
        loss.backward()
        opt.step()
        return {"loss": loss.detach(), **out}

    def evaluate() -> dict[str, float]:
        return {"val_loss": evaluate_reconstruction(encoder, decoder, val, batch_size=config.val_batch_size)}

    if name is None:
        name = ("vae" if variational and kl_weight else "ae") + ("+mds" if mds_weight else "")
    return fit(name=name, modules={"encoder": encoder, "decoder": decoder}, optimizers={"joint": opt}, step=step,
               evaluate=evaluate, data=data, config=config,
               extra_config={"kl_weight": kl_weight, "mds_weight": mds_weight})


class _EncodeDecode(nn.Module):
    """One forward pass of an autoencoder, ``x ↦ (µ, log σ² or None, S(y))`` with ``y = µ + σ ⊙ ξ`` for a
    variational encoder (``y = T(x)`` otherwise), so that DistributedDataParallel sees encoder and decoder as one
    module (it only hooks ``forward``, not ``encoder.distribution``)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.variational = hasattr(encoder, "distribution")

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None, Tensor]:
        if self.variational:
            mu, logvar = self.encoder.distribution(x)
            y = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        else:
            mu, logvar = self.encoder(x), None
            y = mu
        return mu, logvar, self.decoder(y)


def train_vae(
    encoder: nn.Module,
    decoder: nn.Module,
    data: Tensor,
    *,
    beta: float = 0.1,
    config: TrainConfig | None = None,
    val_data: Tensor | None = None,
) -> TrainResult:
    """β-VAE: :func:`train_autoencoder` with ``kl_weight = beta`` (per-pixel normalisation, SPEC §1)."""
    if not hasattr(encoder, "distribution"):
        raise ValueError("train_vae needs a variational encoder: make_encoder(..., variational=True)")
    return train_autoencoder(encoder, decoder, data, kl_weight=beta, config=config, val_data=val_data, name="vae")
