"""The settings and outcomes of a training run, and what it starts from: :class:`TrainConfig`, the results
(:class:`HistoryResult`, :class:`TrainResult`), the error of a diverging loss (:class:`NonFiniteLossError`), the
seeding (:func:`seed_everything`), the optimiser (:func:`adam`) and the fixed held-out set of a trainer.

Nothing here imports the rest of gpelib. The loop is :func:`gpelib.training_loop.fit`; the trainers are in
:mod:`gpelib.train`, which re-exports every name here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

__all__ = [
    "NonFiniteLossError",
    "TrainConfig",
    "HistoryResult",
    "TrainResult",
    "seed_everything",
    "adam",
]


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite; names the trainer and the iteration."""


@dataclass
class TrainConfig:
    """Settings shared by every trainer (defaults: GPE reference settings, SPEC §1).

    ``target``: stop as soon as the validation metric is ≤ target (checked every ``eval_every`` iterations).
    ``max_seconds``: training wall-clock budget. ``checkpoint_dir``: if set, a checkpoint is written there every
    ``checkpoint_every`` iterations (0: only at the end), at least every ``checkpoint_minutes`` of wall clock (one
    process), at Ctrl-C/SIGTERM (:class:`gpelib.training_loop.TrainingInterrupted`) and at the end; training resumes
    from it when ``resume`` is true.

    Speed (GPU): ``precision="bf16"`` (autocast; pairwise distances stay fp32), ``channels_last`` (NHWC images),
    ``compile`` (``torch.compile`` of the trained networks' forward; a string is the compile mode, e.g.
    ``"reduce-overhead"`` for CUDA graphs), ``data_on_device=False`` to keep a data set that
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
    checkpoint_minutes: float | None = None
    resume: bool = True
    progress: bool = True
    chunk_size: int | None = None
    data_scale: float = 1.0
    val_batch_size: int = 1000
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool | str = False
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
class HistoryResult:
    """What every training outcome has: ``history``, a tidy DataFrame with one row per evaluation
    (``iteration | seconds | train_loss | val_loss | …``), and :attr:`final_val`. Trainers' results derive from it
    (:class:`TrainResult`, :class:`gpelib.gan.train.GANResult`)."""

    history: pd.DataFrame

    @property
    def final_val(self) -> float:
        """Last validation metric (NaN if never evaluated)."""
        v = self.history["val_loss"].dropna()
        return float(v.iloc[-1]) if len(v) else math.nan


@dataclass
class TrainResult(HistoryResult):
    """Outcome of a trainer: the trained modules, the tidy history and why training stopped."""

    modules: dict[str, nn.Module]
    steps: pd.DataFrame
    stopped: str
    iterations: int
    seconds: float
    config: TrainConfig = field(repr=False)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def adam(params: Iterable[Tensor], *, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam (Kingma & Ba 2015) — the one optimiser of every gpelib training loop — with torch's *fused* kernel
    where all parameters are floating-point tensors on the CPU or a CUDA device: one kernel for the whole update
    instead of ~8 small operations per parameter tensor (the same update up to float rounding; a 25–30 % shorter
    training step for the quick profile's MLPs on one CPU core, ``reproduce/bench_levers.py``). Elsewhere
    (e.g. MPS, or integer parameters) the plain per-tensor implementation."""
    params = list(params)
    fused = bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params) \
        and len({p.device for p in params}) == 1
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=fused or None)


def _split_val(data: Tensor, val_data: Tensor | None, n_val: int, seed: int) -> Tensor:
    """The fixed held-out set: ``val_data`` if given, else a seeded subset of ``data``."""
    if val_data is not None:
        return val_data
    g = torch.Generator().manual_seed(seed + 12345)
    return data[torch.randperm(data.shape[0], generator=g)[: min(n_val, data.shape[0])]]
