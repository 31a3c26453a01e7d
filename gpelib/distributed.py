"""Distributed training helpers (``torch.distributed``, launched by ``torchrun``).

The GME cost couples every pair of the batch, so data-parallel training must optimise the cost of the *global*
batch, not the mean of per-rank costs. :func:`gme_cost_global` all-gathers the latents (differentiably) and the
data (without gradient), lets each rank compute the rows of the pair matrix that belong to its own points, and
scales its share so that, after DistributedDataParallel averages gradients over ``N`` ranks, every parameter
receives exactly ``∂ GM(T; global batch) / ∂θ`` — the same objective and gradient as one process with batch
``N·b``.

Derivation: with ``L = Σ_r L_r`` (``L_r`` = rows of rank ``r``), rank ``k`` back-propagates ``N·L_k``; the
all-gather's backward sums over ranks, so rank ``k`` receives ``N·∂L/∂z_k`` for its own latents, and DDP's average
``(1/N) Σ_k N·∂L/∂z_k · ∂z_k/∂θ = ∂L/∂θ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from .losses import _cost_x, _flat, pairwise_sq_dists

__all__ = ["DistInfo", "dist_info", "init_from_env", "shutdown", "all_gather_nograd", "all_gather_grad",
           "gme_cost_global", "is_main_process"]


@dataclass(frozen=True)
class DistInfo:
    """Rank, world size and local rank of this process (``world_size == 1`` when not distributed)."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    """The current process group's rank and size, or a single-process description."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistInfo(0, 1, 0)


def is_main_process() -> bool:
    """True on rank 0 (or without a process group): the process that logs and writes checkpoints."""
    return dist_info().is_main


def init_from_env(backend: str | None = None) -> DistInfo:
    """Initialise the default process group from ``torchrun``'s environment (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``); a no-op without them. Backend: NCCL on CUDA, else gloo."""
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) <= 1:
        return dist_info()
    if not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend=backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return dist_info()


def shutdown(*, wait: bool = True) -> None:
    """End the process group (a no-op without one). With ``wait`` (the normal exit) the processes first free
    their DistributedDataParallel wrappers and meet at a barrier, so that none tears gloo/NCCL down while another
    is still inside a collective — which aborts it. Pass ``wait=False`` after an error: the others may never arrive.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if wait:
            import gc

            gc.collect()  # DDP reducers left in reference cycles must go before their process group
            dist.barrier()
    finally:
        dist.destroy_process_group()


def all_gather_nograd(t: Tensor) -> Tensor:
    """Concatenate ``t`` (equal shapes on every rank) from all ranks along dim 0, without gradient."""
    info = dist_info()
    if info.world_size == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(info.world_size)]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts)


def all_gather_grad(t: Tensor) -> Tensor:
    """Differentiable all-gather along dim 0: the backward pass sums the incoming gradients over ranks and returns
    each rank its own slice (``torch.distributed.nn.functional.all_gather``)."""
    info = dist_info()
    if info.world_size == 1:
        return t
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(t.contiguous()))


def gme_cost_global(
    x_local: Tensor, z_local: Tensor, *, data_scale: float = 1.0
) -> tuple[Tensor, Tensor]:
    """GME cost (GPE eq. 14, U-statistic) of the global batch formed by all ranks' ``(x_local, z_local)``.

    Returns ``(loss_to_backward, value)``: back-propagate the first (this rank's rows, scaled by the world size
    for DDP's gradient averaging); the second is the global cost itself (identical on every rank), for logging.
    Every rank must pass the same local batch size. Without a process group this is ``gme_cost(x, z)``.
    """
    info = dist_info()
    b = z_local.shape[0]
    x_all = all_gather_nograd(_flat(x_local).detach())
    z_all = all_gather_grad(z_local)
    n = z_all.shape[0]
    if n < 2:
        raise ValueError("the GME cost needs at least two points in the global batch")
    start = info.rank * b
    cx = _cost_x(x_all[start : start + b], x_all, data_scale)
    cy = torch.log1p(pairwise_sq_dists(z_all[start : start + b], z_all))
    r = (cy - cx).square()
    rows = torch.arange(b, device=r.device)
    r = r.index_put((rows, rows + start), torch.zeros((), dtype=r.dtype, device=r.device))
    local = r.sum() / (n * (n - 1))
    value = local.detach().clone()
    if info.world_size > 1:
        dist.all_reduce(value)
    return local * info.world_size, value
