"""The seed-batched GAN engine (issue 28, item 2): :func:`train_gan_batched` trains ``K`` independent runs of one
method — seeds, and for GMEGAN the λ-ablation variants of GMEGAN §6.4, which differ only in the scalar weights of
eq. 5.2 — as one batched model in one process (:data:`ENGINES`: :class:`~gpelib.gan.batched.BatchedGMEGAN`,
:class:`~gpelib.gan.batched_critics.BatchedCritic` for GAN/WGAN/WGAN-GP/WGAN-div,
:class:`~gpelib.gan.batched_critics.BatchedOTM`), and returns one :class:`~gpelib.gan.train.GANResult` per run, as
:func:`~gpelib.gan.train.train_gan` would.

Each run keeps what a single run has: its seed (the initial weights, the latents, the extra critic batches and the
batch order all come from the generators the single run seeds), its data stream (its own
:class:`~gpelib.training_loop.BatchFeeder` order), its history and per-step rows, its held-out evaluations and its
checkpoint folder — written by the loop's own :class:`~gpelib.training_loop.RunState`, in :func:`train_gan`'s format
and description, so a run resumes exactly from it, batched again or alone with :func:`train_gan`.

What differs from ``K`` single runs: the values agree to float rounding, not bit for bit (``torch.baddbmm`` sums in
another order than ``nn.Linear``'s ``addmm``); a run's ``seconds`` is its share ``1/K`` of each batched step's
wall-clock; a run leaves the batch at its plateau (``stop``) or at the iteration cap (no ``target``/``max_seconds``
stop); fp32 without ``compile``/``channels_last``; one process (no ``torchrun``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..checkpoint import weights_hash
from ..distributed import DistInfo, dist_info
from ..losses import pairwise_sq_dists
from ..models import eval_mode
from ..plateau import PlateauStop
from ..train import _split_val, resolve_device, seed_everything
from ..train_setup import TrainConfig
from ..training_loop import BatchFeeder, RunState, _progress
from .architectures import build_networks
from .batched import BatchedGMEGAN, BatchedMethod, RunStream
from .batched_critics import BatchedCritic, BatchedOTM
from .methods import GANMethod, get_method
from .train import GANResult

__all__ = ["train_gan_batched", "held_out_energy", "engine_for", "ENGINES"]

EvalFn = Callable[[GANMethod], dict[str, float]]
_ONE = DistInfo(0, 1, 0)


@dataclass
class _Run:
    """One run of the batch: its single method (weights synced from the stack to evaluate and checkpoint), its data,
    held-out set, batch order, random streams and bookkeeping."""

    method: GANMethod
    config: TrainConfig
    data: Tensor
    val: Tensor
    feeder: BatchFeeder
    stream: RunStream
    state: RunState
    running: list[float] = field(default_factory=list)
    held_out_term: Tensor | None = None  # E‖Y − Y'‖ of the held-out set, the same at every evaluation


def held_out_energy(method: GANMethod, val: Tensor, *, n: int, seed: int, held_out_term: Tensor | None = None
                    ) -> tuple[float, Tensor]:
    """:func:`~gpelib.gan.train.default_val_metric` — the squared energy distance
    (:func:`~gpelib.gan.diagnostics.energy_distance`, the same operations in float64) between ``n`` samples of
    ``method`` drawn with ``seed`` and the first ``n`` points of ``val`` — and the held-out points' own term
    ``E‖Y − Y'‖``, which a later call on the same ``val`` takes as ``held_out_term`` instead of computing it again (a
    third of an evaluation's cost). Returns ``(value, held_out_term)``."""
    fake = method.sample(n, generator=torch.Generator().manual_seed(seed))
    x = fake.reshape(fake.shape[0], -1).to(torch.float64)
    y = val[:n].reshape(min(n, val.shape[0]), -1).to(device=x.device, dtype=torch.float64)
    if x.shape[1] != y.shape[1] or x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"need two samples of ≥ 2 points of equal dimension; got {tuple(x.shape)}, {tuple(y.shape)}")
    if held_out_term is None:
        held_out_term = pairwise_sq_dists(y).fill_diagonal_(0.0).sqrt().sum() / (y.shape[0] * (y.shape[0] - 1))
    dxy = pairwise_sq_dists(x, y).sqrt().mean()
    dxx = pairwise_sq_dists(x).fill_diagonal_(0.0).sqrt().sum() / (x.shape[0] * (x.shape[0] - 1))
    return float(2 * dxy - dxx - held_out_term), held_out_term


ENGINES: tuple[type[BatchedMethod], ...] = (BatchedGMEGAN, BatchedCritic, BatchedOTM)
"""The batched engines, each for the method classes of its ``METHODS``."""


def engine_for(method: str) -> type[BatchedMethod] | None:
    """The batched engine that trains runs of the registered ``method``, or ``None`` when none does (VAEGAN and
    VEEGAN train one run at a time)."""
    cls = get_method(method)
    return next((e for e in ENGINES if issubclass(cls, e.METHODS)), None)


def _check(method: str, config: TrainConfig, k: int) -> None:
    if dist_info().world_size > 1:
        raise NotImplementedError("train_gan_batched runs in one process; launch it without torchrun")
    if engine_for(method) is None:
        raise NotImplementedError(f"no batched engine trains {method!r}; batched: "
                                  f"{[c.__name__ for e in ENGINES for c in e.METHODS]}")
    if config.target is not None or config.max_seconds is not None:
        raise NotImplementedError("batched runs stop at their iteration budget only (no target/max_seconds)")
    if config.precision != "fp32" or config.compile or config.channels_last:
        raise NotImplementedError("batched runs train in fp32, without compile or channels_last")
    if k < 1:
        raise ValueError("need at least one seed")


def _streams(seed: int, device: torch.device) -> RunStream:
    """The generators of a single run at the point its training starts: torch's global CPU state after
    ``seed_everything(seed)`` and the networks' initialisation, and (CUDA) the device generator seeded with ``seed``."""
    cpu = torch.Generator()
    cpu.set_state(torch.get_rng_state())
    if device.type != "cuda":
        return RunStream(cpu=cpu, dev=cpu)
    return RunStream(cpu=cpu, dev=torch.Generator(device=device).manual_seed(seed))


def _start_run(method: str, data: Tensor, hyper: dict[str, Any], config: TrainConfig, *, arch: str, latent_dim: int,
               arch_options: dict[str, Any], val_data: Tensor | None, n_val: int, stop: PlateauStop | None) -> _Run:
    """Set up one run exactly as :func:`~gpelib.gan.train.train_gan` does (seeding, networks, method, held-out set,
    description, batch order), resuming from its checkpoint folder when there is one."""
    cls = get_method(method)
    seed_everything(config.seed)
    device = resolve_device(config.device)
    data_shape = tuple(int(s) for s in data.shape[1:])
    nets = build_networks(arch, data_shape, latent_dim, parts=cls.REQUIRES, **arch_options).to(device)
    m = cls(nets, latent_dim=latent_dim, **hyper)
    stream = _streams(config.seed, device)
    data = data.to(device)
    m.attach_data(data)
    stream.pool = data
    val = _split_val(data, val_data, n_val, config.seed)
    description = {"method": method, "arch": arch, "latent_dim": int(latent_dim), "data_shape": list(data_shape),
                   "hyper": m.hyper, "arch_options": arch_options, "val_hash": weights_hash({"val": val[:n_val]})}
    if stop is not None:
        description["stop"] = stop.describe()
    feeder = BatchFeeder(data, config, device, _ONE)
    state = RunState(f"gan:{method}", config, m.modules(), m.optimizers(), feeder, device, description, _ONE)
    if state.resume():  # the loop's own checks and restore; it set torch's global generators to the run's
        stream.cpu.set_state(torch.get_rng_state())
        if device.type == "cuda":
            stream.dev.set_state(torch.cuda.get_rng_state(device))
    return _Run(method=m, config=config, data=data, val=val, feeder=feeder, stream=stream, state=state)


def _save(runs: Sequence[_Run], engine: BatchedMethod) -> None:
    """Write every run's checkpoint (nothing for runs without a folder) with its own random state in place of
    torch's global one, which is given back afterwards."""
    if all(r.state.ckpt is None for r in runs):
        return
    engine.to_singles()
    cpu = torch.get_rng_state()
    dev = torch.cuda.get_rng_state(engine.device) if engine.device.type == "cuda" else None
    try:
        for r in runs:
            torch.set_rng_state(r.stream.cpu.get_state())
            if dev is not None:
                torch.cuda.set_rng_state(r.stream.dev.get_state(), engine.device)
            r.state.save()
    finally:
        torch.set_rng_state(cpu)
        if dev is not None:
            torch.cuda.set_rng_state(dev, engine.device)


def _evaluate(runs: Sequence[_Run], engine: BatchedMethod, eval_fn: EvalFn | None, n_val: int) -> None:
    """A history row for every run: ``eval_fn(method)`` and/or the default held-out energy distance of
    :func:`~gpelib.gan.train.train_gan` (:func:`held_out_energy`), on the run's single method (weights copied from
    the stack), in eval mode."""
    engine.to_singles(optimizers=False)
    for r in runs:
        train_loss = float(np.mean(r.running)) if r.running else math.nan
        r.running = []
        with eval_mode(*r.method.modules().values()), torch.no_grad():
            metrics = {k: float(v) for k, v in (eval_fn(r.method) if eval_fn is not None else {}).items()}
            if "val_loss" not in metrics:
                metrics["val_loss"], r.held_out_term = held_out_energy(r.method, r.val, n=n_val, seed=r.config.seed,
                                                                       held_out_term=r.held_out_term)
        r.state.record_eval(train_loss, metrics)


def _record(runs: Sequence[_Run], out: dict[str, Tensor], seconds: float) -> None:
    """Log one batched step: each run gets its own ``(K,)`` entries and the share ``seconds / K``."""
    keys = list(out)
    table = torch.stack([out[k].detach().reshape(-1) for k in keys]).double().cpu().tolist()
    for i, r in enumerate(runs):
        r.running.append(r.state.record_step({k: table[j][i] for j, k in enumerate(keys)}, seconds / len(runs)))


def _batch(runs: Sequence[_Run], shared: Tensor | None) -> Tensor:
    """The next training batch of every run, ``(K, B, ...)`` (one gather when the runs share their data)."""
    idx = [r.feeder.batches.next() for r in runs]
    if shared is not None:
        return shared[torch.stack(idx).to(shared.device)]
    return torch.stack([r.data[i.to(r.data.device)] for r, i in zip(runs, idx)])


def _finished(run: _Run, stop: PlateauStop | None, cap: int) -> str:
    """Why a (resumed) run needs no more training — ``"plateau"`` (``stop`` says so of its history), ``"iterations"``
    (it stands at the cap) — or ``""`` when it does."""
    if stop is not None and run.state.rows and stop(run.state.rows):
        return "plateau"
    return "iterations" if run.state.it >= cap else ""


def _loop(runs: Sequence[_Run], config: TrainConfig, shared: Tensor | None, eval_fn: EvalFn | None, n_val: int,
          stop: PlateauStop | None) -> dict[int, str]:
    """:func:`~gpelib.training_loop.fit`'s loop for all runs at once: batch, step, log, evaluate every
    ``eval_every`` iterations and at the end, checkpoint every ``checkpoint_every`` iterations and at the end. A run
    that ``stop`` declares settled leaves the batch there (its checkpoint written; the others go on in a smaller
    stack). Returns why each run stopped, by position in ``runs``."""
    why = {i: w for i, r in enumerate(runs) if (w := _finished(r, stop, config.iterations))}
    active = [i for i in range(len(runs)) if i not in why]
    if not active:
        return why
    engine = _engine([runs[i] for i in active])
    if not runs[active[0]].state.rows:
        _evaluate([runs[i] for i in active], engine, eval_fn, n_val)
    it = runs[active[0]].state.it
    bar = _progress(config.iterations, f"{runs[0].state.name}×{len(runs)}", config.progress, initial=it)
    try:
        while active and it < config.iterations:
            live = [runs[i] for i in active]
            x = _batch(live, shared)
            t0 = time.perf_counter()
            out = engine.step(x)
            if engine.device.type == "cuda":
                torch.cuda.synchronize(engine.device)
            _record(live, out, time.perf_counter() - t0)
            it += 1
            bar.update(1)
            if it % config.eval_every == 0 or it == config.iterations:
                _evaluate(live, engine, eval_fn, n_val)
                done = [i for i in active if stop is not None and stop(runs[i].state.rows)]
                if done:
                    _save([runs[i] for i in done], engine)
                    why.update({i: "plateau" for i in done})
                    active = [i for i in active if i not in done]
                    engine = _engine([runs[i] for i in active]) if active else engine
            if active and config.checkpoint_every and it % config.checkpoint_every == 0:
                _save([runs[i] for i in active], engine)
    finally:
        bar.close()
    live = [runs[i] for i in active]
    if live and live[0].running:
        _evaluate(live, engine, eval_fn, n_val)
    if live:
        _save(live, engine)
        engine.to_singles()  # the results' methods carry their runs' final weights and Adam states
    why.update({i: "iterations" for i in active})
    return why


def _engine(runs: Sequence[_Run]) -> BatchedMethod:
    """A stack of ``runs`` built from their single methods (weights and optimiser states)."""
    engine = engine_for(runs[0].method.name)([r.method for r in runs], [r.stream for r in runs])
    engine.from_singles()
    return engine


def train_gan_batched(
    method: str,
    data: Tensor | Sequence[Tensor],
    *,
    seeds: Sequence[int],
    hypers: Sequence[dict[str, Any]] | None = None,
    arch: str = "mlp",
    latent_dim: int,
    config: TrainConfig | None = None,
    arch_options: dict[str, Any] | None = None,
    val_data: Tensor | None = None,
    eval_fn: EvalFn | None = None,
    n_val: int = 500,
    checkpoint_dirs: Sequence[str | None] | None = None,
    stop: PlateauStop | None = None,
) -> list[GANResult]:
    """Train ``K = len(seeds)`` runs of ``method`` (one with a batched engine, :func:`engine_for`: the GMEGAN
    variants, ``gan``, ``wgan``, ``wgan_gp``, ``wgan_div``, ``otm``) as one batched model; run ``k`` is what
    ``train_gan(method, data, config=replace(config, seed=seeds[k], checkpoint_dir=checkpoint_dirs[k]),
    hyper=hypers[k], …)`` trains, to float rounding.

    * ``data``: ``(N, *data_shape)`` shared by the runs, or one such tensor per run (same shape per point).
    * ``hypers``: each run's hyper-parameters; GMEGAN's may differ only in ``lambda1``, ``lambda2``, ``lambda3`` and
      ``transport_weight`` (:data:`~gpelib.gan.batched.RUN_SCALARS`), the baselines' not at all.
    * ``config``: shared iterations, batch size, evaluation and checkpoint cadence, device; its ``seed`` and
      ``checkpoint_dir`` are replaced per run (``checkpoint_dirs``: one folder or ``None`` per run).
    * Validation as in :func:`~gpelib.gan.train.train_gan` (``val_data``, ``eval_fn``, ``n_val``), per run.

    * ``stop``: a :class:`~gpelib.plateau.PlateauStop` per run (as :func:`~gpelib.gan.train.train_gan`'s): a run that
      reaches its plateau leaves the batch and keeps its weights of then; the others go on to the cap.

    Runs resume from their folders only together, at the same iteration (runs already finished — at their plateau
    or at the cap — apart: they join no batch). Returns one result per run, in order.
    """
    config = config or TrainConfig()
    k = len(seeds)
    _check(method, config, k)
    hypers = [dict(h) for h in (hypers or [{}] * k)]
    dirs = list(checkpoint_dirs or [None] * k)
    datas = [data] * k if isinstance(data, Tensor) else list(data)
    if not (len(hypers) == len(dirs) == len(datas) == k):
        raise ValueError(f"need one hyper, checkpoint folder and data set per seed ({k}); got {len(hypers)}, "
                         f"{len(dirs)} and {len(datas)}")
    configs = [replace(config, seed=int(s), checkpoint_dir=str(d) if d is not None else None)
               for s, d in zip(seeds, dirs)]
    runs = [_start_run(method, x, h, c, arch=arch, latent_dim=latent_dim, arch_options=dict(arch_options or {}),
                       val_data=val_data, n_val=n_val, stop=stop) for x, h, c in zip(datas, hypers, configs)]
    its = sorted({r.state.it for r in runs if not _finished(r, stop, config.iterations)})
    if len(its) > 1:
        raise ValueError(f"the runs' checkpoints stand at different iterations {its}; resume them apart (train_gan)")
    why = _loop(runs, config, runs[0].data if isinstance(data, Tensor) else None, eval_fn, n_val, stop)
    out = []
    for i, r in enumerate(runs):
        res = r.state.result(why[i])
        out.append(GANResult(method=r.method, history=res.history, steps=res.steps, stopped=res.stopped,
                             iterations=res.iterations, seconds=res.seconds, config=r.config, method_name=method,
                             arch=arch))
    return out
