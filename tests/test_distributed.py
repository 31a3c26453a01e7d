"""Two CPU processes (gloo) optimise exactly the single-process GME objective on the same global batch."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from gpelib.distributed import gme_cost_global
from gpelib.losses import gme_cost

WORLD, LOCAL_B = 2, 6


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()


def _global_batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(WORLD * LOCAL_B, 10, generator=g, dtype=torch.float64)


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        model = DDP(_net())
        x = _global_batch()[rank * LOCAL_B : (rank + 1) * LOCAL_B]
        loss, value = gme_cost_global(x, model(x))
        loss.backward()
        if rank == 0:
            torch.save({"value": value, "grads": [p.grad for p in model.module.parameters()]}, out)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_loss_and_gradients_equal_single_process(tmp_path):
    out = str(tmp_path / "rank0.pt")
    mp.spawn(_worker, args=(_free_port(), out), nprocs=WORLD, join=True)
    got = torch.load(out, weights_only=True)
    model = _net()
    x = _global_batch()
    ref = gme_cost(x, model(x))
    ref.backward()
    assert got["value"].item() == pytest.approx(ref.item(), rel=1e-12)
    for g, p in zip(got["grads"], model.parameters()):
        torch.testing.assert_close(g, p.grad, rtol=1e-10, atol=1e-12)


def test_single_process_fallback_equals_gme_cost():
    x, z = torch.randn(8, 5, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    loss, value = gme_cost_global(x, z)
    assert loss.item() == pytest.approx(gme_cost(x, z).item(), rel=1e-12) == value.item()
