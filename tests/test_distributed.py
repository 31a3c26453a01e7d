"""Two CPU processes (gloo) optimise exactly the single-process GME objective on the same global batch."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from gpelib.distributed import gme_cost_global, shutdown
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
    ok = False
    try:
        model = DDP(_net())
        x = _global_batch()[rank * LOCAL_B : (rank + 1) * LOCAL_B]
        loss, value = gme_cost_global(x, model(x))
        loss.backward()
        if rank == 0:
            torch.save({"value": value, "grads": [p.grad for p in model.module.parameters()]}, out)
        del model
        ok = True
    finally:
        shutdown(wait=ok)


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


# ----------------------------------------------------------------------------------------------------------------
# The trainers in several processes
# ----------------------------------------------------------------------------------------------------------------

def test_distributed_sampler_slices_union_to_the_single_process_batch():
    from gpelib.train import _Batches

    single = _Batches(50, 2 * 7, seed=3)
    ranks = [_Batches(50, 7, seed=3, rank=r, world=2) for r in range(2)]
    for _ in range(12):  # several epochs, reshuffles included
        whole = single.next()
        parts = [b.next() for b in ranks]
        assert torch.equal(torch.cat(parts), whole)
        assert not set(parts[0].tolist()) & set(parts[1].tolist())


def _trainer_data():
    g = torch.Generator().manual_seed(5)
    return torch.tanh(torch.randn(64, 12, generator=g, dtype=torch.float64))  # float64: equality to round-off


def _train_worker(rank: int, port: int, out: str, ckpt: str) -> None:
    from gpelib.models import make_decoder, make_encoder
    from gpelib.train import TrainConfig, train_decoder, train_encoder

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    ok = False
    try:
        torch.manual_seed(0)
        enc, dec = make_encoder((12,), 3, hidden=32).double(), make_decoder((12,), 3, hidden=32).double()
        cfg = TrainConfig(iterations=12, batch_size=8, lr=3e-3, eval_every=4, progress=False, device="cpu")
        e = train_encoder(enc, _trainer_data(), config=cfg)
        d = train_decoder(dec, enc, _trainer_data(), config=TrainConfig(**{**cfg.__dict__, "checkpoint_dir": ckpt}))
        # the processes hold identical weights (DDP averages the gradients)
        w = torch.cat([p.detach().flatten() for p in enc.parameters()])
        ws = [torch.empty_like(w) for _ in range(WORLD)]
        dist.all_gather(ws, w)
        if rank == 0:
            torch.save({"enc": e.history.val_loss.tolist(), "dec": d.history.val_loss.tolist(),
                        "same_weights": bool(torch.equal(ws[0], ws[1]))}, out)
        ok = True
    finally:
        shutdown(wait=ok)


def test_two_processes_train_like_one_process_with_the_global_batch(tmp_path):
    from gpelib.checkpoint import load_checkpoint
    from gpelib.models import make_decoder, make_encoder
    from gpelib.train import TrainConfig, train_decoder, train_encoder

    out, ckpt = str(tmp_path / "r0.pt"), str(tmp_path / "dec")
    mp.spawn(_train_worker, args=(_free_port(), out, ckpt), nprocs=WORLD, join=True)
    got = torch.load(out, weights_only=True)
    torch.manual_seed(0)
    enc, dec = make_encoder((12,), 3, hidden=32).double(), make_decoder((12,), 3, hidden=32).double()
    cfg = TrainConfig(iterations=12, batch_size=8 * WORLD, lr=3e-3, eval_every=4, progress=False, device="cpu")
    e = train_encoder(enc, _trainer_data(), config=cfg)
    d = train_decoder(dec, enc, _trainer_data(), config=cfg)
    assert got["same_weights"]
    assert got["enc"] == pytest.approx(e.history.val_loss.tolist(), rel=1e-9)
    assert got["dec"] == pytest.approx(d.history.val_loss.tolist(), rel=1e-9)
    ck = load_checkpoint(ckpt)  # written once, by rank 0, with every process's random state
    assert ck.config["world_size"] == WORLD and ck.state["rank_rng"].shape[0] == WORLD
    # resuming it in one process would silently change the global batch: refused
    with pytest.raises(ValueError, match="processes: 2 → 1"):
        train_decoder(make_decoder((12,), 3, hidden=32).double(), enc, _trainer_data(),
                      config=TrainConfig(**{**cfg.__dict__, "batch_size": 8, "checkpoint_dir": ckpt}))


def test_torchrun_cli_equals_one_process_with_twice_the_batch(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        torchrun = shutil.which("torchrun")
    args = ["train-encoder", "--data", "digits", "--latent-dim", "3", "--iterations", "8", "--lr", "1e-3",
            "--device", "cpu"]
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    two = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "gpelib.cli", *args,
                          "--run-dir", str(tmp_path / "two"), "--batch-size", "16"], capture_output=True, text=True,
                         env=env, timeout=240)
    assert two.returncode == 0, two.stderr[-2000:]
    assert two.stdout.count("encoder:") == 1  # rank 0 alone reports
    one = subprocess.run([sys.executable, "-m", "gpelib.cli", *args, "--run", str(tmp_path / "one"),
                          "--batch-size", "32"], capture_output=True, text=True, env=env, timeout=240)
    assert one.returncode == 0, one.stderr[-2000:]
    h2 = pd.read_csv(tmp_path / "two" / "encoder_history.csv")
    h1 = pd.read_csv(tmp_path / "one" / "encoder_history.csv")
    assert h2.val_loss.tolist() == pytest.approx(h1.val_loss.tolist(), rel=1e-4)
    assert h2.train_loss.dropna().tolist() == pytest.approx(h1.train_loss.dropna().tolist(), rel=1e-4)
