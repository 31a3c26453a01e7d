"""The GPE paper's methods (§8.2–8.4, SPEC §1) on one seeding rule: "train method M on data D with settings S".

* :func:`init_models` — the one seeding rule: every network of role r is built right after
  ``torch.manual_seed(seed + OFFSET[r])``, so every method's decoder (and every fresh decoder) starts from the same
  weights, independent of the encoder built before it; training itself is seeded by ``TrainConfig.seed``;
* :func:`train_gpe_encoder` — GPE Algorithm 1 (the encoder on the GME cost alone, until ``config.target = ε``);
* :func:`train_method` — ``gpe`` (Algorithms 1–2), ``vae`` (``MSE + β·KL/d``), ``ae``, ``vae+mds``, ``ae+mds``
  (``+ λ_MDS · mean_{i≠j}(‖µ_i − µ_j‖ − ‖x_i − x_j‖)²``, default λ_MDS = 1/D: :func:`default_mds_weight`);
* :func:`fresh_decoder` — GPE Table 1's fresh decoder on a frozen encoder;
* :func:`embed`, :func:`reconstruct` — a trained run's latents and reconstructions.

The experiments built on these (run folders, Table 1's runs, sweeps, the protocol map) are in
:mod:`gpelib.recipes`, which re-exports every name here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from .models import encode, eval_mode, make_decoder, make_encoder, pixel_range
from .parallel import default_workers, map_jobs
from .runs import LABELS, METHODS, REGISTRY, Run, _method_folder
from .train import TrainConfig, evaluate_gme, train_autoencoder, train_decoder, train_encoder

__all__ = ["OFFSET", "init_models", "default_mds_weight", "train_gpe_encoder", "train_method", "train_runs",
           "fresh_decoder", "embed", "reconstruct", "METHODS", "LABELS", "Run"]

#: seed offset of each network role: a network of role r is built right after ``torch.manual_seed(seed + OFFSET[r])``
OFFSET: dict[str, int] = {"encoder": 0, "decoder": 1, "velocity": 2}


def init_models(
    shape: Sequence[int],
    latent_dim: int,
    *,
    seed: int,
    variational: bool = False,
    decoder: bool = True,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    pixels: str = "[-1, 1]",
) -> tuple[nn.Module, nn.Module | None]:
    """The one seeding rule: an encoder for data of ``shape`` from ``seed + OFFSET["encoder"]`` and (if ``decoder``)
    a decoder from ``seed + OFFSET["decoder"]``, its output in ``pixels`` (:func:`gpelib.models.make_decoder`).
    Returns ``(encoder, decoder or None)``."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be ≥ 1; got {latent_dim}")
    torch.manual_seed(seed + OFFSET["encoder"])
    enc = make_encoder(shape, latent_dim, arch=arch, variational=variational, width=width, hidden=hidden)
    dec = None
    if decoder:
        torch.manual_seed(seed + OFFSET["decoder"])
        dec = make_decoder(shape, latent_dim, arch=arch, width=width, hidden=hidden, pixels=pixels)
    return enc, dec


def default_mds_weight(data_shape: Sequence[int]) -> float:
    """λ_MDS = 1/D for data of shape ``(C, H, W)`` or ``(D,)`` (per-pixel normalisation; see the module doc)."""
    return 1.0 / float(math.prod(int(s) for s in data_shape))


def _tidy(history: pd.DataFrame, method: str, phase: str) -> pd.DataFrame:
    h = history.copy()
    h.insert(0, "phase", phase)
    h.insert(0, "method", method)
    return h


def train_gpe_encoder(
    data: Tensor,
    *,
    latent_dim: int,
    config: TrainConfig,
    val_data: Tensor | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    name: str = "gpe",
) -> Run:
    """GPE Algorithm 1 on ``data`` ``(N, ...)``: a fresh encoder (seeded by :func:`init_models`) trained on the GME
    cost alone until ``config.target = ε``, the iteration or the time budget. ``info["eps"]`` = the final held-out
    GME cost, measured with ``info["eps_data_scale"] = config.data_scale``; the run's ``history`` is the encoder
    phase (its ``val_loss`` is the held-out GME cost)."""
    enc, _ = init_models(data.shape[1:], latent_dim, seed=config.seed, decoder=False, arch=arch, width=width,
                         hidden=hidden)
    res = train_encoder(enc, data, config=config, val_data=val_data)
    hist = _tidy(res.history, name, "encoder")
    return Run(hist, method=name, encoder=enc, steps=res.steps, seconds=res.seconds, iterations=res.iterations,
               encoder_seconds=res.seconds, encoder_iterations=res.iterations, encoder_history=hist,
               encoder_steps=res.steps, info={"eps": res.final_val, "eps_target": config.target,
                                              "eps_data_scale": config.data_scale, "encoder_stopped": res.stopped,
                                              "stopped": res.stopped})


def train_method(
    method: str,
    data: Tensor,
    *,
    latent_dim: int,
    config: TrainConfig,
    encoder_config: TrainConfig | None = None,
    beta: float = 0.1,
    mds_weight: float | None = None,
    val_data: Tensor | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> Run:
    """Train one of :data:`METHODS` on ``data`` ``(N, ...)`` with fresh models for its shape (:func:`init_models`).

    Args:
        method: ``"gpe"``, ``"vae"``, ``"ae"``, ``"vae+mds"`` or ``"ae+mds"``.
        latent_dim: ``d``.
        config: the decoder phase (GPE) or the joint training (the others).
        encoder_config: GPE only, the encoder phase (default: ``config``); set ``target=ε`` to stop at ε
            (checked on the held-out GME cost) and ``iterations`` as a cap.
        beta: KL weight in the per-pixel normalisation ``MSE + β · KL/d`` (``vae``, ``vae+mds``).
        mds_weight: λ_MDS for ``*+mds`` (default :func:`default_mds_weight`, i.e. 1/D).
        val_data: the fixed held-out set every method is evaluated on (strongly recommended: the same for all).
        checkpoint_root: if given, the run checkpoints into :func:`run_folder` (``encoder/``, ``decoder/`` or
            ``joint/``) and resumes from there: a finished run with the same settings is loaded, not retrained.

    Returns:
        A :class:`Run`; for GPE ``history`` is the decoder's and ``info["eps"]`` the encoder's held-out GME cost.
    """
    if method not in REGISTRY:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    spec = REGISTRY[method]
    kw = dict(arch=arch, width=width, hidden=hidden)
    if checkpoint_root is not None:
        enc_cfg = (encoder_config or config) if spec.two_phase else None
        folder = _method_folder(checkpoint_root, method, data, val_data, latent_dim, config, enc_cfg, beta,
                                mds_weight, kw)
        if enc_cfg is not None:
            encoder_config = replace(enc_cfg, checkpoint_dir=str(folder / "encoder"))
        config = replace(config, checkpoint_dir=str(folder / ("decoder" if spec.two_phase else "joint")))
    if spec.two_phase:
        enc_run = train_gpe_encoder(data, latent_dim=latent_dim, config=encoder_config or config, val_data=val_data,
                                    name=method, **kw)
        return fresh_decoder(enc_run, data, config=config, val_data=val_data, name=method, **kw)
    variational = spec.variational
    enc, dec = init_models(data.shape[1:], latent_dim, seed=config.seed, variational=variational,
                           pixels=pixel_range(data), **kw)
    kl = beta if variational else 0.0
    lam = 0.0
    if spec.mds:
        lam = default_mds_weight(data.shape[1:]) if mds_weight is None else float(mds_weight)
    res = train_autoencoder(enc, dec, data, kl_weight=kl, mds_weight=lam, config=config, val_data=val_data,
                            name=method)
    return Run(_tidy(res.history, method, "joint"), method=method, encoder=enc, decoder=dec, steps=res.steps,
               seconds=res.seconds, iterations=res.iterations,
               info={"beta": kl if variational else None, "mds_weight": lam, "stopped": res.stopped})


def _apply(fn: Callable[..., Run], kwargs: Mapping[str, object]) -> Run:
    return fn(**kwargs)


def train_runs(
    jobs: Sequence[Mapping[str, object]],
    *,
    fn: Callable[..., Any] | None = None,
    device: str | None = None,
    n_workers: int | None = None,
    desc: str = "runs",
) -> list[Any]:
    """``[fn(**job) for job in jobs]`` (default ``fn`` = :func:`train_method`; a job's own ``"fn"`` entry overrides
    it) on a pool of worker processes, one per CPU core with one torch thread each
    (:func:`gpelib.parallel.map_jobs`), results in job order.

    Independent seeds and methods are the suite's unit of parallel work: small networks use one core poorly, so two
    processes with one thread each do about twice the work of one process with two threads. Each job is
    self-contained (its configs carry its seed), so a run is the same network whichever worker trains it; with
    ``device`` = CUDA the jobs run one after the other in this process. On several workers the configs' own
    progress bars are switched off (``progress`` is not a setting: checkpoints and run folders ignore it) and one
    bar counts finished jobs. Functions must be importable by name
    (:func:`train_method`, :func:`train_gpe_encoder`, :func:`fresh_decoder`, :func:`table1_run`, …).
    """
    n = default_workers(device) if n_workers is None else n_workers
    threads = max(1, default_workers() // max(n, 1)) if n > 1 else None
    default = fn or train_method

    def quiet(v: object) -> object:  # worker processes would interleave their bars: the pool counts jobs instead
        return replace(v, progress=False) if n > 1 and isinstance(v, TrainConfig) else v

    calls = [dict(fn=job.get("fn", default), kwargs={k: quiet(v) for k, v in job.items() if k != "fn"})
             for job in jobs]
    return map_jobs(_apply, calls, n_workers=n, threads_per_worker=threads, desc=desc)


def fresh_decoder(
    source: Run | nn.Module,
    data: Tensor,
    *,
    config: TrainConfig,
    val_data: Tensor | None = None,
    name: str | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    eps_data: Tensor | None = None,
    eps_data_scale: float | None = None,
    standardize: bool = False,
    objective: str = "mse",
) -> Run:
    """GPE Algorithm 2 and the Table 1 protocol: freeze ``source``'s encoder (the mean head for a VAE) and train a
    **new** decoder on reconstruction only, initialised by :func:`init_models`'s rule (``config.seed + 1``), so that
    every method's fresh decoder starts from the same weights.

    The encoder's parameters are frozen in place (``requires_grad=False``). ``info["eps"]`` is the encoder's
    held-out GME cost on ``eps_data`` (default ``val_data``), so VAE and GPE encoders are compared on one scale;
    the encoder phase's history, steps, time and iterations are carried over from ``source``.

    ``eps_data_scale``: the ``data_scale`` of that GME cost — a property of the encoder, not of this decoder's
    ``config``. Default: the one the source encoder was trained with (``source.info["eps_data_scale"]``, set by
    :func:`train_gpe_encoder`), else 1.0 (a bare module, or a jointly trained encoder, which has no GME data
    scale: pass the GPE encoders' value to compare them with it on one scale).

    As released (SPEC §2): ``standardize=True`` feeds the decoder ``z = (T(x) − m)·C`` instead of ``T(x)`` — ``m``
    the latents' mean on ``data``, one scalar ``C`` with ``E‖z‖² = d`` (:class:`gpelib.flows.LatentStandardizer`);
    the run's ``encoder`` is then that standardised encoder, so that ``decoder(encoder(x))`` reconstructs.
    ``objective="released"`` trains on the released loss (latent cycle + MSE + L1; see
    :func:`gpelib.train.train_decoder`).
    """
    if isinstance(source, Run):
        enc, label = source.encoder, name or source.label
        enc_s, enc_it = source.encoder_seconds or source.seconds, source.encoder_iterations or source.iterations
        keep = ("eps", "beta", "mds_weight", "eps_target", "eps_data_scale", "encoder_stopped")
        info = {k: v for k, v in source.info.items() if k in keep}
        info["encoder_method"] = source.method
        enc_hist, enc_steps = source.encoder_history, source.encoder_steps
    else:
        enc, label, enc_s, enc_it, info, enc_hist, enc_steps = source, name or "encoder", 0.0, 0, {}, None, None
    latent_dim = _latent_dim(enc, data)
    reader = enc  # what the decoder reads: the encoder itself, or (as released) its standardised latents
    if standardize:
        from .flows import LatentStandardizer

        reader = nn.Sequential(enc, LatentStandardizer.fit(encode(enc, data)))
        info["standardized"] = True
    if objective != "mse":
        info["objective"] = objective
    torch.manual_seed(config.seed + OFFSET["decoder"])
    dec = make_decoder(tuple(data.shape[1:]), latent_dim, arch=arch, width=width, hidden=hidden,
                       pixels=pixel_range(data))
    res = train_decoder(dec, reader, data, config=config, val_data=val_data, objective=objective)
    x_eps = eps_data if eps_data is not None else val_data
    if eps_data_scale is None:
        eps_data_scale = float(info.get("eps_data_scale", 1.0))
    if x_eps is not None:
        info["eps"] = evaluate_gme(enc, x_eps, data_scale=eps_data_scale)
        info["eps_data_scale"] = eps_data_scale
    info["stopped"] = res.stopped
    return Run(_tidy(res.history, label, "decoder"), method=label, encoder=reader, decoder=dec, steps=res.steps,
               seconds=res.seconds, iterations=res.iterations, encoder_seconds=enc_s, encoder_iterations=enc_it,
               encoder_history=enc_hist, encoder_steps=enc_steps, info=info)


@torch.no_grad()
def _latent_dim(enc: nn.Module, data: Tensor) -> int:
    device = next(enc.parameters()).device
    with eval_mode(enc):
        return int(enc(data[:2].to(device)).shape[1])


def embed(runs: Mapping[str, Run], x: Tensor) -> dict[str, Tensor]:
    """Latents of ``x`` under each run's encoder (mean head for a VAE)."""
    return {k: encode(r.encoder, x) for k, r in runs.items()}


@torch.no_grad()
def reconstruct(run: Run, x: Tensor) -> Tensor:
    """``S(T x)`` with the run's encoder (mean head for a VAE) and decoder, in eval mode, on CPU."""
    enc, dec = run.encoder, run.decoder
    device = next(dec.parameters()).device
    with eval_mode(enc, dec):
        return dec(enc(x.to(device))).cpu()
