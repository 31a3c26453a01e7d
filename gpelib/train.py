"""One training-loop shape for every encoder/decoder method (GPE Algorithms 1–2, β-VAE, AE, +MDS).

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
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .checkpoint import checkpoint_exists, load_checkpoint, save_checkpoint
from .distributed import dist_info, gme_cost_global
from .losses import gaussian_kl, gme_cost, mds_penalty, reconstruction_mse

__all__ = [
    "TrainConfig",
    "TrainResult",
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
]


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite; names the trainer and the iteration."""


@dataclass
class TrainConfig:
    """Settings shared by every trainer (defaults: GPE reference settings, SPEC §1).

    ``target``: stop as soon as the validation metric is ≤ target (checked every ``eval_every`` iterations).
    ``max_seconds``: training wall-clock budget. ``checkpoint_dir``: if set, a checkpoint is written there every
    ``checkpoint_every`` iterations (0: only at the end) and training resumes from it when ``resume`` is true.

    Speed (GPU): ``precision="bf16"`` (autocast; pairwise distances stay fp32), ``channels_last`` (NHWC images),
    ``compile`` (``torch.compile`` of the trained networks' forward), ``data_on_device=False`` to keep a data set that
    does not fit on the GPU in host memory — pinned (``pin_memory``) and copied batch by batch without blocking.
    """

    iterations: int = 1000
    batch_size: int = 100
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    seed: int = 0
    device: str | None = None
    eval_every: int = 50
    target: float | None = None
    max_seconds: float | None = None
    checkpoint_dir: str | None = None
    checkpoint_every: int = 0
    resume: bool = True
    progress: bool = True
    chunk_size: int | None = None
    data_scale: float = 1.0
    val_batch_size: int = 1000
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    data_on_device: bool = True
    pin_memory: bool = True

    def __post_init__(self) -> None:
        if self.iterations < 0:
            raise ValueError("iterations must be ≥ 0")
        if self.batch_size < 2:
            raise ValueError("batch_size must be ≥ 2 (the GME cost averages over pairs)")
        if self.eval_every < 1:
            raise ValueError("eval_every must be ≥ 1")
        if self.lr <= 0:
            raise ValueError("lr must be > 0")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16'; got {self.precision!r}")
        self.betas = tuple(self.betas)  # type: ignore[assignment]


@dataclass
class TrainResult:
    """Outcome of a trainer: the trained modules, the tidy history and why training stopped."""

    modules: dict[str, nn.Module]
    history: pd.DataFrame
    steps: pd.DataFrame
    stopped: str
    iterations: int
    seconds: float
    config: TrainConfig = field(repr=False)

    @property
    def final_val(self) -> float:
        """Last validation metric (NaN if never evaluated)."""
        v = self.history["val_loss"].dropna()
        return float(v.iloc[-1]) if len(v) else math.nan


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA when available (``cuda:LOCAL_RANK`` under ``torchrun``), else CPU."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist_info().local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    return torch.device(device)


def _seed(config: TrainConfig) -> None:
    """Seed every generator; each process of a distributed run gets its own stream (rank 0 = a single process)."""
    seed_everything(config.seed + 7919 * dist_info().rank)


def data_parallel(module: nn.Module, device: torch.device, *, compile: bool = False) -> nn.Module:
    """The module a trainer calls: ``DistributedDataParallel(module)`` when running in several processes (and it
    has trainable parameters; gradients are then averaged over the processes at every ``backward``), else ``module``;
    wrapped in ``torch.compile`` when ``compile``. Checkpoints always store the plain ``module``."""
    out = module
    if dist_info().world_size > 1 and any(p.requires_grad for p in module.parameters()):
        from torch.nn.parallel import DistributedDataParallel

        out = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
    return torch.compile(out) if compile else out


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _progress(total: int, desc: str, enabled: bool, initial: int = 0):
    from tqdm.auto import tqdm

    disable = not enabled or os.environ.get("TQDM_DISABLE", "") not in ("", "0")
    return tqdm(total=total, desc=desc, initial=initial, disable=disable, leave=False, dynamic_ncols=True)


class _Batches:
    """Seeded epoch-wise shuffling of ``n`` indices whose state can be saved and restored.

    With ``world > 1`` processes, every process holds the same permutation and takes its own slice
    ``[rank·b, (rank+1)·b)`` of each global batch of ``world·b`` indices (a distributed sampler): the union over the
    processes is exactly the batch one process with ``batch_size = world·b`` would draw.
    """

    def __init__(self, n: int, batch_size: int, seed: int, *, rank: int = 0, world: int = 1) -> None:
        if n < 2:
            raise ValueError(f"need at least 2 training points; got {n}")
        if n < 2 * world:
            raise ValueError(f"{world} processes need at least {2 * world} training points; got {n}")
        self.n, self.b = n, min(batch_size, n // world)
        self.rank, self.world = rank, world
        self.gen = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(n, generator=self.gen)
        self.pos = 0

    def next(self) -> Tensor:
        gb = self.b * self.world
        if self.pos + gb > self.n:
            self.perm = torch.randperm(self.n, generator=self.gen)
            self.pos = 0
        idx = self.perm[self.pos + self.rank * self.b : self.pos + (self.rank + 1) * self.b]
        self.pos += gb
        return idx

    def state(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state(), "perm": self.perm.clone(), "pos": self.pos}

    def load(self, s: dict[str, Any]) -> None:
        self.gen.set_state(s["gen"])
        self.perm, self.pos = s["perm"], int(s["pos"])


# settings that may differ between a run and its resumption (budgets, bookkeeping, hardware)
_RESUMABLE_CHANGES = {"iterations", "max_seconds", "target", "checkpoint_dir", "checkpoint_every", "resume", "progress",
                      "device", "eval_every", "val_batch_size", "chunk_size"}


def _changed_settings(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Fields of TrainConfig that differ between a checkpoint and the current run and would change the result."""
    out = []
    for k, v in current.items():
        if k in _RESUMABLE_CHANGES or k not in stored:
            continue
        a, b = stored[k], v
        if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
            a, b = list(a), list(b)
        if a != b:
            out.append(f"{k}: {stored[k]!r} → {v!r}")
    return out


StepFn = Callable[[Tensor], dict[str, Tensor]]
EvalFn = Callable[[], dict[str, float]]


def fit(
    *,
    name: str,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    step: StepFn,
    evaluate: EvalFn,
    data: Tensor,
    config: TrainConfig,
    extra_config: dict[str, Any] | None = None,
) -> TrainResult:
    """Generic loop: draw a batch, call ``step(batch)`` (which back-propagates and steps the optimisers and
    returns ``{"loss": ..., <components>}``), evaluate every ``config.eval_every`` iterations, stop at the
    iteration budget, the time budget or ``val_loss ≤ config.target``; checkpoint and resume.

    ``evaluate()`` returns ``{"val_loss": ..., <other metrics>}``. Raises :class:`NonFiniteLossError` at the first
    non-finite training loss.
    """
    device = resolve_device(config.device)
    info = dist_info()
    batches = _Batches(data.shape[0], config.batch_size, config.seed, rank=info.rank, world=info.world_size)
    if config.channels_last and data.ndim == 4:
        for m in modules.values():
            m.to(memory_format=torch.channels_last)
    autocast = (torch.autocast(device_type=device.type, dtype=torch.bfloat16) if config.precision == "bf16"
                else contextlib.nullcontext())
    stage: list[Tensor] = []
    if config.data_on_device or device.type == "cpu":
        data_dev = data.to(device) if data.device != device else data
    else:  # the data stay in host memory; each batch is gathered there and copied to the device
        data_dev = data.cpu()
        if config.pin_memory and device.type == "cuda":
            # two pinned staging buffers: indexing a tensor makes a pageable copy, whose transfer would block, so
            # the batch is gathered into pinned memory (index_select(out=…)) and copied without blocking
            stage = [torch.empty((batches.b, *data_dev.shape[1:]), dtype=data_dev.dtype).pin_memory()
                     for _ in range(2)]
    rows: list[dict[str, float]] = []
    step_rows: list[dict[str, float]] = []
    it, seconds = 0, 0.0
    ckpt = Path(config.checkpoint_dir) if config.checkpoint_dir else None
    meta = {"trainer": name, "train_config": asdict(config), "world_size": info.world_size, **(extra_config or {})}

    if ckpt is not None and config.resume and checkpoint_exists(ckpt):
        ck = load_checkpoint(ckpt, map_location=device)
        if ck.config.get("trainer") != name:
            raise ValueError(f"checkpoint at {ckpt} was written by {ck.config.get('trainer')!r}, not {name!r}")
        changed = _changed_settings(ck.config.get("train_config", {}), asdict(config))
        if int(ck.config.get("world_size", 1)) != info.world_size:
            changed.append(f"processes: {ck.config.get('world_size', 1)} → {info.world_size}")
        if changed:
            raise ValueError(
                f"checkpoint at {ckpt} was trained with other settings ({', '.join(changed)}); resuming would mix "
                "two runs. Delete the folder, pick another checkpoint_dir, or set resume=False"
            )
        for k, m in modules.items():
            m.load_state_dict(ck.weights[k])
        for k, o in optimizers.items():
            o.load_state_dict(ck.state["optimizers"][k])
        batches.load(ck.state["batches"])
        if "rank_rng" in ck.state:
            torch.set_rng_state(ck.state["rank_rng"][info.rank].cpu())
        else:
            torch.set_rng_state(ck.state["torch_rng"].cpu())
        if device.type == "cuda" and "cuda_rng" in ck.state:
            torch.cuda.set_rng_state(ck.state["cuda_rng"].cpu())
        it, seconds = int(ck.state["iteration"]), float(ck.state["seconds"])
        rows, step_rows = list(ck.state["history"]), list(ck.state["steps"])

    def save() -> None:
        if ckpt is None:
            return
        if info.world_size > 1:  # every process's random state, so that each resumes its own stream
            import torch.distributed as tdist

            states: list[Any] = [None] * info.world_size
            tdist.all_gather_object(states, torch.get_rng_state())
            if not info.is_main:
                tdist.barrier()
                return
        state = {
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "batches": batches.state(),
            "torch_rng": torch.get_rng_state(),
            "iteration": it,
            "seconds": seconds,
            "history": rows,
            "steps": step_rows,
        }
        if device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state()
        if info.world_size > 1:
            state["rank_rng"] = torch.stack(states)
        save_checkpoint(ckpt, modules=modules, config={**meta, "iteration": it}, state=state)
        if info.world_size > 1:
            tdist.barrier()  # the others wait until the checkpoint is complete

    def do_eval(train_loss: float) -> float:
        for m in modules.values():
            m.eval()
        with torch.no_grad():
            metrics = evaluate()
        for m in modules.values():
            m.train()
        val = float(metrics.get("val_loss", math.nan))
        rows.append({"iteration": it, "seconds": seconds, "train_loss": train_loss, **metrics})
        return val

    stopped = "iterations"
    if not rows:
        val = do_eval(math.nan)
        if config.target is not None and val <= config.target:
            stopped = "target"
    else:
        val = float(rows[-1].get("val_loss", math.nan))
        if config.target is not None and val <= config.target:
            stopped = "target"
    running: list[float] = []
    bar = _progress(config.iterations, name, config.progress and info.is_main, initial=it)
    try:
        while stopped == "iterations" and it < config.iterations:
            if config.max_seconds is not None and seconds >= config.max_seconds:
                stopped = "time"
                break
            idx = batches.next()
            if stage:  # the step below synchronises (loss.item()), so buffer it % 2 is free again
                batch = torch.index_select(data_dev, 0, idx, out=stage[it % 2][: len(idx)])
            else:
                batch = data_dev[idx.to(data_dev.device)] if data_dev.device.type != "cpu" else data_dev[idx]
            batch = batch.to(device, non_blocking=True)
            if config.channels_last and batch.ndim == 4:
                batch = batch.contiguous(memory_format=torch.channels_last)
            t0 = time.perf_counter()
            with autocast:
                out = step(batch)
            if info.world_size > 1:
                out, dt = _reduce_step(out, time.perf_counter() - t0, device)
            else:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                dt = time.perf_counter() - t0
            loss = float(out["loss"])
            seconds += dt
            it += 1
            if not math.isfinite(loss):
                raise NonFiniteLossError(
                    f"{name}: training loss became {loss} at iteration {it}; lower the learning rate, check the data"
                    " for NaN/inf, or resume from the last checkpoint"
                )
            running.append(loss)
            step_rows.append({"iteration": it, "seconds": seconds, **{k: float(v) for k, v in out.items()}})
            bar.update(1)
            if it % config.eval_every == 0 or it == config.iterations:
                val = do_eval(float(np.mean(running)))
                running = []
                bar.set_postfix(train=f"{rows[-1]['train_loss']:.4g}", val=f"{val:.4g}")
                if config.target is not None and val <= config.target:
                    stopped = "target"
            if ckpt is not None and config.checkpoint_every and it % config.checkpoint_every == 0:
                save()
    finally:
        bar.close()
    if running:
        do_eval(float(np.mean(running)))
    save()
    return TrainResult(
        modules=modules,
        history=pd.DataFrame(rows),
        steps=pd.DataFrame(step_rows, columns=["iteration", "seconds", "loss"] if not step_rows else None),
        stopped=stopped,
        iterations=it,
        seconds=seconds,
        config=config,
    )


def _reduce_step(out: dict[str, Tensor], dt: float, device: torch.device) -> tuple[dict[str, Tensor], float]:
    """Across processes: the mean of each logged loss and the slowest process's step time (so that every process
    logs, stops and checks for non-finite losses identically)."""
    import torch.distributed as tdist

    keys = list(out)
    vals = torch.stack([out[k].detach().float().reshape(()) for k in keys]).to(device)
    tdist.all_reduce(vals)
    vals /= dist_info().world_size
    t = torch.tensor([dt], dtype=torch.float64, device=device)
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return {k: vals[i].cpu() for i, k in enumerate(keys)}, float(t)


def _split_val(data: Tensor, val_data: Tensor | None, n_val: int, seed: int) -> Tensor:
    """The fixed held-out set: ``val_data`` if given, else a seeded subset of ``data``."""
    if val_data is not None:
        return val_data
    g = torch.Generator().manual_seed(seed + 12345)
    return data[torch.randperm(data.shape[0], generator=g)[: min(n_val, data.shape[0])]]


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
    return torch.optim.Adam(params, lr=config.lr, betas=config.betas)


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
) -> TrainResult:
    """GPE Algorithm 2 (and the fresh-decoder protocol of Table 1): freeze ``encoder`` and minimise the per-pixel
    reconstruction error ``E‖x − S(T x)‖²`` over the decoder ``S`` only."""
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
        loss = reconstruction_mse(dec(z), x)
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    def evaluate() -> dict[str, float]:
        encoder.eval()
        return {"val_loss": evaluate_reconstruction(encoder, decoder, val, batch_size=config.val_batch_size)}

    result = fit(name="gpe_decoder", modules={"decoder": decoder}, optimizers={"decoder": opt}, step=step,
                 evaluate=evaluate, data=data, config=config)
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


def observe_milestones(
    train_to: Callable[[int], Any],
    score: Callable[[Any], dict[str, Any]],
    milestones: Sequence[int],
    checkpoint_dir: str | Path,
    *,
    key: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], Any]:
    """Watch one training run at several iterations: for each milestone ``m`` (ascending), ``train_to(m)`` trains
    (resuming exactly from ``checkpoint_dir``) up to ``m`` and returns its result, and ``score(result)`` measures it.

    The rows are stored beside the checkpoint in ``<checkpoint_dir>.milestones.json``. A rerun finds the checkpoint
    already at the last milestone — ``train_to(m)`` would return the *final* model for every ``m`` — so the stored rows
    are returned instead of scoring the final model again. When the stored rows were measured with another ``key``
    (the scoring settings) or miss a milestone that the checkpoint has already passed, the checkpoint and the rows are
    deleted and the run is trained again from the start.

    Returns ``(rows, result)``: one dict per milestone (with ``milestone`` added) and the last ``train_to`` result.
    """
    import json
    import shutil

    ms = sorted({int(m) for m in milestones})
    if not ms:
        raise ValueError("milestones must not be empty")
    ck = Path(checkpoint_dir)
    store = ck.with_name(ck.name + ".milestones.json")
    key_json = json.loads(json.dumps(dict(key), sort_keys=True, default=str))
    rows: dict[int, dict[str, Any]] = {}
    if store.is_file():
        saved = json.loads(store.read_text())
        if saved.get("key") == key_json:
            rows = {int(k): v for k, v in saved.get("rows", {}).items()}
    done = int(json.loads((ck / "config.json").read_text()).get("iteration", 0)) if checkpoint_exists(ck) else 0
    missing = [m for m in ms if m not in rows]
    if missing and done > missing[0]:  # the run went past a milestone that was never scored: start again
        shutil.rmtree(ck, ignore_errors=True)
        rows = {}
    result = None
    for m in ms:
        result = train_to(m)
        if m not in rows:
            rows[m] = {**score(result), "milestone": m}
            tmp = store.with_name(store.name + ".tmp")
            tmp.write_text(json.dumps({"key": key_json, "rows": {str(k): v for k, v in rows.items()}}, indent=1,
                                      default=float))
            os.replace(tmp, store)
    return [rows[m] for m in ms], result


def with_overrides(config: TrainConfig, **kw: Any) -> TrainConfig:
    """A copy of ``config`` with fields replaced."""
    return replace(config, **kw)
