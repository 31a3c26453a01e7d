"""Trainers: tidy histories, stopping rules, non-finite losses, checkpoints and resume."""

import math

import pandas as pd
import pytest
import torch

from gpelib.checkpoint import load_checkpoint, load_model, save_model
from gpelib.models import make_decoder, make_encoder
from gpelib.train import (
    NonFiniteLossError,
    TrainConfig,
    train_autoencoder,
    train_decoder,
    train_encoder,
    train_vae,
)

COLS = {"iteration", "seconds", "train_loss", "val_loss"}


def data(n=120, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.tanh(torch.randn(n, d, generator=g))


def cfg(**kw):
    base = dict(iterations=30, batch_size=16, lr=1e-3, eval_every=10, progress=False)
    return TrainConfig(**(base | kw))


def test_encoder_history_is_tidy_and_loss_decreases():
    x = data()
    res = train_encoder(make_encoder((12,), 2, hidden=32), x, config=cfg(iterations=60, lr=3e-3))
    h = res.history
    assert COLS <= set(h.columns) and list(h.iteration) == [0, 10, 20, 30, 40, 50, 60]
    assert h.seconds.is_monotonic_increasing and res.iterations == 60 and res.stopped == "iterations"
    assert h.val_loss.iloc[-1] < h.val_loss.iloc[0]
    assert len(res.steps) == 60 and set(res.steps.columns) >= {"iteration", "seconds", "loss"}


def test_encoder_stops_at_target():
    x = data()
    res = train_encoder(make_encoder((12,), 2, hidden=32), x, config=cfg(iterations=2000, lr=3e-3, target=10.0))
    assert res.stopped == "target" and res.iterations < 2000 and res.final_val <= 10.0


def test_time_budget():
    res = train_encoder(make_encoder((12,), 2, hidden=32), data(), config=cfg(iterations=10**6, max_seconds=0.2))
    assert res.stopped == "time" and res.seconds >= 0.2 and res.iterations < 10**6


def test_same_seed_same_result():
    torch.manual_seed(7)
    ea = make_encoder((12,), 2, hidden=32)
    torch.manual_seed(7)
    eb = make_encoder((12,), 2, hidden=32)
    a = train_encoder(ea, data(), config=cfg(seed=3))
    torch.rand(100)  # the trainer re-seeds: the global RNG's state in between must not matter
    b = train_encoder(eb, data(), config=cfg(seed=3))
    assert a.history.val_loss.tolist() == pytest.approx(b.history.val_loss.tolist(), rel=1e-6)


def test_non_finite_loss_names_the_step():
    x = data()
    x[5, 0] = float("nan")  # a NaN in the data makes the loss NaN on the first batch that contains it
    with pytest.raises(NonFiniteLossError, match=r"iteration \d+"):
        train_encoder(make_encoder((12,), 2, hidden=32), x, config=cfg(iterations=50, batch_size=60),
                      val_data=data(20, seed=1))


def test_weights_that_became_non_finite_are_never_checkpointed(tmp_path):
    """Issue 30, item 8: a step can leave non-finite weights behind a finite loss (here: the third step writes a NaN
    into a weight); the checkpoint written every iteration stops at the last finite state and the run says why."""
    from gpelib.training_loop import fit

    net = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    calls = []

    def step(x):
        calls.append(1)
        opt.zero_grad()
        loss = net(x).square().mean()
        loss.backward()
        opt.step()
        if len(calls) == 3:
            with torch.no_grad():
                net.weight[0, 0] = float("nan")
        return {"loss": loss.detach()}

    config = TrainConfig(iterations=10, batch_size=4, eval_every=100, checkpoint_every=1, progress=False,
                         checkpoint_dir=str(tmp_path / "ck"))
    with pytest.raises(NonFiniteLossError, match="weights became non-finite by iteration 3"):
        fit(name="toy", modules={"net": net}, optimizers={"opt": opt}, step=step, evaluate=lambda: {"val_loss": 0.0},
            data=torch.randn(16, 3), config=config)
    ck = load_checkpoint(tmp_path / "ck")
    assert ck.config["iteration"] == 2 and bool(torch.isfinite(ck.weights["net"]["weight"]).all())


def test_decoder_freezes_encoder_and_learns():
    g = torch.Generator().manual_seed(0)
    x = torch.tanh(torch.randn(200, 3, generator=g) @ torch.randn(3, 12, generator=g))  # 3-D manifold in R^12
    enc = make_encoder((12,), 8, hidden=32)
    before = [p.detach().clone() for p in enc.parameters()]
    dec = make_decoder((12,), 8, hidden=64)
    res = train_decoder(dec, enc, x, config=cfg(iterations=200, lr=3e-3, eval_every=50))
    assert all(torch.equal(a, b) for a, b in zip(before, enc.parameters()))
    assert res.history.val_loss.iloc[-1] < 0.7 * res.history.val_loss.iloc[0]


@pytest.mark.parametrize("kl,mds,name", [(0.1, 0.0, "vae"), (0.0, 0.0, "ae"), (0.1, 0.01, "vae+mds"),
                                         (0.0, 0.01, "ae+mds")])
def test_autoencoder_family(kl, mds, name):
    x = data()
    enc = make_encoder((12,), 3, hidden=32, variational=kl > 0)
    res = train_autoencoder(enc, make_decoder((12,), 3, hidden=32), x, kl_weight=kl, mds_weight=mds, config=cfg())
    assert COLS <= set(res.history.columns)
    steps = res.steps
    assert ("kl" in steps) == (kl > 0) and ("mds" in steps) == (mds > 0)
    assert math.isfinite(res.final_val)


def test_kl_needs_variational_encoder():
    with pytest.raises(ValueError, match="variational"):
        train_autoencoder(make_encoder((12,), 3), make_decoder((12,), 3), data(), kl_weight=0.1, config=cfg())
    with pytest.raises(ValueError, match="variational"):
        train_vae(make_encoder((12,), 3), make_decoder((12,), 3), data(), config=cfg())


def test_vae_loss_composition():
    """The logged loss equals recon + β·KL/d for the VAE (SPEC §1 per-pixel normalisation)."""
    res = train_vae(make_encoder((12,), 3, variational=True, hidden=32), make_decoder((12,), 3, hidden=32), data(),
                    beta=0.5, config=cfg(iterations=5))
    s = res.steps
    pd.testing.assert_series_equal(s["loss"], s["recon"] + 0.5 * s["kl"] / 3, check_names=False, rtol=1e-5)


def test_checkpoint_resume_equals_uninterrupted(tmp_path):
    x = data()
    full = train_vae(make_encoder((12,), 3, variational=True, hidden=32), make_decoder((12,), 3, hidden=32), x,
                     config=cfg(iterations=40, seed=1))
    ck = tmp_path / "ck"
    torch.manual_seed(0)
    part = train_vae(make_encoder((12,), 3, variational=True, hidden=32), make_decoder((12,), 3, hidden=32), x,
                     config=cfg(iterations=20, seed=1, checkpoint_dir=str(ck)))
    assert part.iterations == 20 and load_checkpoint(ck).config["iteration"] == 20
    resumed = train_vae(make_encoder((12,), 3, variational=True, hidden=32), make_decoder((12,), 3, hidden=32), x,
                        config=cfg(iterations=40, seed=1, checkpoint_dir=str(ck)))
    assert resumed.iterations == 40
    assert resumed.history.iteration.tolist() == full.history.iteration.tolist()
    assert resumed.history.val_loss.tolist() == pytest.approx(full.history.val_loss.tolist(), rel=1e-5)


def test_checkpoint_from_other_trainer_is_refused(tmp_path):
    ck = tmp_path / "ck"
    train_encoder(make_encoder((12,), 2, hidden=32), data(), config=cfg(iterations=5, checkpoint_dir=str(ck)))
    with pytest.raises(ValueError, match="gpe_encoder"):
        train_autoencoder(make_encoder((12,), 2, hidden=32), make_decoder((12,), 2, hidden=32), data(),
                          config=cfg(iterations=5, checkpoint_dir=str(ck)))


def test_save_load_model_round_trip(tmp_path):
    enc = make_encoder((1, 8, 8), 5, variational=True, width=8)
    save_model(tmp_path / "m", enc)
    again = load_model(tmp_path / "m")
    x = torch.randn(4, 1, 8, 8)
    torch.testing.assert_close(enc(x), again(x))
    assert again.config == enc.config
    # the folder holds only safetensors/JSON/weights-only data
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "state.pt", "weights.safetensors"]


def test_atomic_write_keeps_old_checkpoint_on_failure(tmp_path, monkeypatch):
    import gpelib.checkpoint as c

    enc = make_encoder((4,), 2, hidden=8)
    save_model(tmp_path / "m", enc)
    monkeypatch.setattr(c, "save_file", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        save_model(tmp_path / "m", make_encoder((4,), 2, hidden=8))
    torch.testing.assert_close(load_model(tmp_path / "m")(torch.ones(1, 4)), enc(torch.ones(1, 4)))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.lock", "m"]  # no temporary folder left; the lock stays


def test_missing_checkpoint_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_checkpoint(tmp_path / "nothing")


KILL_SCRIPT = r"""
import os, signal, sys, torch
from gpelib.models import make_encoder, make_decoder
from gpelib.train import TrainConfig, train_vae
calls = {"n": 0}
orig = torch.optim.Adam.step
def step(self, *a, **k):
    calls["n"] += 1
    if calls["n"] == 35:  # between the checkpoints at 30 and 40: die like a killed job
        os.kill(os.getpid(), signal.SIGKILL)
    return orig(self, *a, **k)
torch.optim.Adam.step = step
g = torch.Generator().manual_seed(0)
x = torch.tanh(torch.randn(120, 12, generator=g))
torch.manual_seed(5)
enc, dec = make_encoder((12,), 3, variational=True, hidden=32), make_decoder((12,), 3, hidden=32)
train_vae(enc, dec, x, config=TrainConfig(iterations=60, batch_size=16, lr=1e-3, eval_every=10, progress=False,
          seed=1, checkpoint_dir=sys.argv[1], checkpoint_every=10))
"""


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    import subprocess
    import sys

    ck = tmp_path / "ck"
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(ck)], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr  # SIGKILL
    assert load_checkpoint(ck).config["iteration"] == 30
    g = torch.Generator().manual_seed(0)
    x = torch.tanh(torch.randn(120, 12, generator=g))

    def models():
        torch.manual_seed(5)
        return make_encoder((12,), 3, variational=True, hidden=32), make_decoder((12,), 3, hidden=32)

    c = dict(iterations=60, batch_size=16, lr=1e-3, eval_every=10, progress=False, seed=1)
    full = train_vae(*models(), x, config=TrainConfig(**c))
    resumed = train_vae(*models(), x, config=TrainConfig(**c, checkpoint_dir=str(ck), checkpoint_every=10))
    assert resumed.iterations == 60
    assert resumed.history.val_loss.tolist() == pytest.approx(full.history.val_loss.tolist(), rel=1e-5)
    s_full, s_res = full.steps.set_index("iteration"), resumed.steps.set_index("iteration")
    assert s_res.loc[31:, "loss"].tolist() == pytest.approx(s_full.loc[31:, "loss"].tolist(), rel=1e-5)


def test_resume_refuses_checkpoint_with_other_settings(tmp_path):
    ck = tmp_path / "ck"
    train_encoder(make_encoder((12,), 2, hidden=32), data(), config=cfg(iterations=5, checkpoint_dir=str(ck)))
    with pytest.raises(ValueError, match="lr"):
        train_encoder(make_encoder((12,), 2, hidden=32), data(), config=cfg(iterations=10, lr=5e-3,
                                                                              checkpoint_dir=str(ck)))
    # a longer budget is a legitimate resumption
    res = train_encoder(make_encoder((12,), 2, hidden=32), data(), config=cfg(iterations=10, checkpoint_dir=str(ck)))
    assert res.iterations == 10


def test_observe_milestones_scores_the_run_on_the_way_and_a_rerun_returns_the_same_rows(tmp_path):
    from gpelib.train import observe_milestones

    ck = tmp_path / "ck"
    scored: list[int] = []

    def train_to(m):
        enc = make_encoder((12,), 2, hidden=32)
        return train_encoder(enc, data(), config=cfg(iterations=m, checkpoint_dir=str(ck)))

    def score(res):
        scored.append(res.iterations)
        return {"iterations": res.iterations, "val": res.final_val}

    rows, last = observe_milestones(train_to, score, [20, 5, 10], ck, key={"n": 1})
    assert [r["iterations"] for r in rows] == [5, 10, 20] and scored == [5, 10, 20] and last.iterations == 20
    # the rerun's checkpoint is at 20: without the stored rows every milestone would see the 20-iteration model
    again, _ = observe_milestones(train_to, score, [5, 10, 20], ck, key={"n": 1})
    assert again == rows and scored == [5, 10, 20]
    # a new milestone beyond the checkpoint extends the run; earlier rows are kept
    more, last = observe_milestones(train_to, score, [5, 10, 20, 30], ck, key={"n": 1})
    assert more[:3] == rows and scored == [5, 10, 20, 30] and last.iterations == 30
    # other scoring settings, or a milestone the run has already passed unscored: retrain from the start
    scored.clear()
    observe_milestones(train_to, score, [5, 30], ck, key={"n": 2})
    assert scored == [5, 30]
    scored.clear()
    observe_milestones(train_to, score, [5, 7, 30], ck, key={"n": 2})
    assert scored == [5, 7, 30]


def test_torch_compile_trains_like_eager_and_checkpoints_the_plain_module(tmp_path):
    x = torch.tanh(torch.randn(200, 12, generator=torch.Generator().manual_seed(0)))
    hist = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        enc = make_encoder((12,), 3, hidden=32)
        cfg = TrainConfig(iterations=6, batch_size=32, eval_every=3, progress=False, device="cpu", compile=compiled,
                          checkpoint_dir=str(tmp_path / f"c{int(compiled)}"))
        hist[compiled] = train_encoder(enc, x, config=cfg).history.val_loss.tolist()
    assert hist[True] == pytest.approx(hist[False], rel=1e-5)
    # the compiled run's checkpoint holds the module's own parameter names (no "_orig_mod." prefix)
    ck = load_checkpoint(tmp_path / "c1")
    assert list(ck.weights) == ["encoder"] and not any("_orig_mod" in k for k in ck.weights["encoder"])
    make_encoder((12,), 3, hidden=32).load_state_dict(ck.weights["encoder"])  # strict: every name matches


# ------------------------------------------------------------------ eval mode, batch feeder, result base


def _bn_net():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def test_eval_mode_restores_each_modules_flag_also_after_an_exception():
    from gpelib.models import eval_mode

    net, other = _bn_net(), _bn_net().eval()
    net[1].eval()  # a batch-norm layer fixed on purpose inside a training network
    before = [m.training for m in net.modules()]
    x = torch.randn(16, 4)
    with eval_mode(net, other, None):
        assert not any(m.training for m in [*net.modules(), *other.modules()])
        stats = net[1].running_mean.clone()
        net(x)
        assert torch.equal(net[1].running_mean, stats)  # eval: batch norm uses, and keeps, its running statistics
    assert [m.training for m in net.modules()] == before and before[1] and not net[1].training
    assert not any(m.training for m in other.modules())
    net.train()
    with pytest.raises(RuntimeError, match="boom"):
        with eval_mode(net):
            raise RuntimeError("boom")
    assert all(m.training for m in net.modules())


def test_fit_evaluates_in_eval_mode_and_gives_the_modes_back():
    from gpelib.train import fit

    torch.manual_seed(0)
    net = _bn_net()
    net[3].eval()  # a submodule kept in eval mode stays so (the old loop switched everything back to train)
    seen = []
    opt = torch.optim.SGD(net.parameters(), lr=1e-2)

    def step(x):
        seen.append(("step", net.training, net[1].training, net[3].training))
        opt.zero_grad()
        loss = net(x).square().mean()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    def evaluate():
        seen.append(("eval", net.training, net[1].training, torch.is_grad_enabled()))
        return {"val_loss": 1.0}

    res = fit(name="t", modules={"net": net}, optimizers={"net": opt}, step=step, evaluate=evaluate,
              data=torch.randn(40, 4), config=cfg(iterations=4, batch_size=8, eval_every=2))
    assert {s for s in seen if s[0] == "eval"} == {("eval", False, False, False)}
    assert {s for s in seen if s[0] == "step"} == {("step", True, True, False)}
    assert net.training and not net[3].training and res.iterations == 4 and list(res.history.iteration) == [0, 2, 4]


def test_batch_feeder_draws_the_seeded_batches_and_restores_its_order():
    from gpelib.train import BatchFeeder, _Batches

    x = torch.arange(30.0).reshape(10, 3)
    config = cfg(batch_size=4, seed=5)
    feeder = BatchFeeder(x, config, torch.device("cpu"))
    ref = _Batches(10, 4, 5)
    for _ in range(5):  # across an epoch boundary (2 batches of 4 per epoch of 10)
        assert torch.equal(feeder.next(), x[ref.next()])
    state = feeder.state()
    ahead = [feeder.next() for _ in range(3)]
    again = BatchFeeder(x, config, torch.device("cpu"))
    again.load(state)
    assert all(torch.equal(a, again.next()) for a in ahead)
    # host-memory data on the CPU and channels_last images give the same values
    img = torch.randn(12, 2, 4, 4)
    plain = BatchFeeder(img, cfg(batch_size=4), torch.device("cpu"))
    cl = BatchFeeder(img, cfg(batch_size=4, channels_last=True, data_on_device=False), torch.device("cpu"))
    a, b = plain.next(), cl.next()
    assert torch.equal(a, b) and b.is_contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(2, 2, 3)
    cl.prepare([conv])
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_results_share_one_history_base():
    from gpelib.gan.train import GANResult
    from gpelib.train import HistoryResult, TrainResult

    assert issubclass(TrainResult, HistoryResult) and issubclass(GANResult, HistoryResult)
    assert HistoryResult(pd.DataFrame({"val_loss": [3.0, 2.0, math.nan]})).final_val == 2.0
    assert math.isnan(HistoryResult(pd.DataFrame({"val_loss": [math.nan]})).final_val)


# ----------------------------------------------------------------------------------------------------------------
# Resumption that would return another run than asked for (issue #18, item 3)
# ----------------------------------------------------------------------------------------------------------------


def test_resume_with_a_looser_target_already_crossed_earlier_is_refused(tmp_path):
    """A run resumed with a looser ε than it was trained to would stop at once and return the over-trained encoder
    as ``stopped="target"``; the run asked for stopped at an earlier evaluation, so the resumption is refused."""
    ck = tmp_path / "ck"
    x = data()
    first = train_encoder(make_encoder((12,), 2, hidden=32), x,
                          config=cfg(iterations=60, lr=3e-3, checkpoint_dir=str(ck)))
    h = first.history
    assert h.val_loss.iloc[-1] < h.val_loss.iloc[2]  # the GME cost falls, so a loose target is crossed early
    loose = float(h.val_loss.iloc[2])
    crossed = int(h.iteration[h.val_loss <= loose].iloc[0])
    assert crossed < int(h.iteration.iloc[-1])
    with pytest.raises(ValueError, match=rf"(?s){ck.name}.*iteration {crossed}\b.*resume=False"):
        train_encoder(make_encoder((12,), 2, hidden=32), x,
                      config=cfg(iterations=60, lr=3e-3, target=loose, checkpoint_dir=str(ck)))
    # a target the stored run crossed only at its last evaluation is the run asked for: returned as it is
    last = float(h.val_loss.iloc[-1])
    if (h.val_loss.iloc[:-1] > last).all():
        same = train_encoder(make_encoder((12,), 2, hidden=32), x,
                             config=cfg(iterations=60, lr=3e-3, target=last, checkpoint_dir=str(ck)))
        assert same.stopped == "target" and same.iterations == 60
    # a tighter target than ever reached continues training from the checkpoint
    tight = train_encoder(make_encoder((12,), 2, hidden=32), x,
                          config=cfg(iterations=80, lr=3e-3, target=-1.0, checkpoint_dir=str(ck)))
    assert tight.iterations == 80 and tight.stopped == "iterations"


def test_decoder_checkpoint_records_its_encoder_and_refuses_another(tmp_path):
    from gpelib.checkpoint import weights_hash

    x = data()
    torch.manual_seed(0)
    enc_a = make_encoder((12,), 3, hidden=32)
    enc_b = make_encoder((12,), 3, hidden=32)  # other weights
    ck = tmp_path / "dec"
    train_decoder(make_decoder((12,), 3, hidden=32), enc_a, x, config=cfg(iterations=10, checkpoint_dir=str(ck)))
    assert load_checkpoint(ck).config["encoder_hash"] == weights_hash(enc_a)
    assert weights_hash(enc_a) != weights_hash(enc_b)
    with pytest.raises(ValueError, match=rf"(?s){ck.name}.*another encoder.*resume=False"):
        train_decoder(make_decoder((12,), 3, hidden=32), enc_b, x, config=cfg(iterations=20, checkpoint_dir=str(ck)))
    res = train_decoder(make_decoder((12,), 3, hidden=32), enc_a, x, config=cfg(iterations=20, checkpoint_dir=str(ck)))
    assert res.iterations == 20


def test_flow_checkpoint_refuses_latents_of_another_encoder(tmp_path):
    from gpelib.flows import make_velocity, train_flow

    z = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    ck = tmp_path / "flow"
    train_flow(make_velocity(2, "small"), z, config=cfg(iterations=5, checkpoint_dir=str(ck)), encoder_hash="aaaa")
    assert load_checkpoint(ck).config["encoder_hash"] == "aaaa"
    with pytest.raises(ValueError, match="another encoder"):
        train_flow(make_velocity(2, "small"), z, config=cfg(iterations=10, checkpoint_dir=str(ck)), encoder_hash="bbbb")
    res = train_flow(make_velocity(2, "small"), z, config=cfg(iterations=10, checkpoint_dir=str(ck)),
                     encoder_hash="aaaa")
    assert res.iterations == 10


def test_adam_is_fused_on_cpu_and_follows_the_plain_update():
    """gpelib's one Adam uses torch's fused kernel on the CPU and takes the same steps as the per-tensor update
    (float64, 20 steps of a small regression; equal up to rounding), also after a state_dict round trip."""
    from gpelib.train import adam

    def run(fused: bool, reload: bool = False) -> list[torch.Tensor]:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)).double()
        make = (lambda: adam(net.parameters(), lr=1e-2, betas=(0.5, 0.999))) if fused else \
            (lambda: torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.5, 0.999)))
        opt = make()
        x, y = torch.randn(32, 5, dtype=torch.float64), torch.randn(32, 3, dtype=torch.float64)
        for i in range(20):
            if reload and i == 10:
                state = opt.state_dict()
                opt = make()
                opt.load_state_dict(state)
            opt.zero_grad()
            (net(x) - y).square().mean().backward()
            opt.step()
        return [p.detach().clone() for p in net.parameters()]

    torch.manual_seed(0)
    probe = adam(torch.nn.Linear(2, 2).parameters(), lr=1e-3)
    assert probe.param_groups[0]["fused"] is True
    plain, fused, resumed = run(False), run(True), run(True, reload=True)
    for a, b, c in zip(plain, fused, resumed):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)
        assert torch.equal(b, c)
    assert any(not torch.allclose(a, torch.zeros_like(a)) for a in plain)
