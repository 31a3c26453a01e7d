"""gpelib.step_sizes: the stability rule of a learning-rate sweep, the runs at each method's largest stable rate
(notebook 05's second reading of Fig. 8), and gpelib.runs.on_clock."""

import dataclasses
import math

import pandas as pd
import pytest
import torch

from gpelib import step_sizes
from gpelib.runs import Run, on_clock
from gpelib.train import TrainConfig


def _run(final: float, n: int = 10, name: str = "m") -> Run:
    it = list(range(0, n + 1, 5))
    h = pd.DataFrame(dict(method=name, phase="joint", iteration=it, seconds=[0.1 * i for i in it],
                          train_loss=[final] * len(it), val_loss=[final * 2] * (len(it) - 1) + [final]))
    return Run(h, method=name, iterations=n, seconds=0.1 * n)


def test_stable_means_finite_and_within_the_tolerance_on_every_seed():
    base = {s: {"GPE": _run(0.10), "VAE": _run(0.20)} for s in (0, 1)}
    swept = {0.003: {0: {"GPE": _run(0.105), "VAE": _run(0.21)}, 1: {"GPE": _run(0.09), "VAE": _run(0.23)}},
             0.01: {0: {"GPE": _run(0.08), "VAE": None}, 1: {"GPE": _run(0.12), "VAE": _run(0.1)}}}
    table, best = step_sizes.stable_lrs(base, swept, base_lr=0.001, stable_tol=1.1)
    assert list(table.columns) == ["method", "lr", "seed", "final_val", "stable", "chosen"]
    assert list(table.method.unique()) == ["GPE", "VAE"]  # base's order
    # GPE: 0.003 stable on both seeds; 0.01 not (seed 1 ends at 0.12 > 1.1 × 0.10)
    # VAE: 0.003 not (seed 1: 0.23 > 0.22); 0.01 not (seed 0 diverged) → the base rate
    assert best == {"GPE": 0.003, "VAE": 0.001}
    row = table.set_index(["method", "lr", "seed"])
    assert math.isnan(row.loc[("VAE", 0.01, 0), "final_val"]) and not row.loc[("VAE", 0.01, 0), "stable"]
    assert row.loc[("GPE", 0.003, 0), "chosen"] and row.loc[("VAE", 0.001, 1), "chosen"]
    picked = step_sizes.at_largest_stable(base, swept, best, 0.001)
    assert picked[1]["GPE"] is swept[0.003][1]["GPE"] and picked[1]["VAE"] is base[1]["VAE"]
    with pytest.raises(ValueError, match="stable_tol must be ≥ 1"):
        step_sizes.stable_lrs(base, swept, base_lr=0.001, stable_tol=0.9)


def test_on_clock_prices_each_phase_of_a_two_phase_run():
    gpe = dataclasses.replace(_run(0.1, name="GPE"), encoder_iterations=40, encoder_seconds=99.0)
    clocked = on_clock({0: {"GPE": gpe, "VAE": _run(0.2, name="VAE")}},
                       pd.Series({"GPE decoder": 0.01, "GPE encoder": 0.5, "VAE": 0.02}))[0]
    assert clocked["GPE"].seconds == pytest.approx(0.1) and clocked["GPE"].encoder_seconds == pytest.approx(20.0)
    assert clocked["VAE"].seconds == pytest.approx(0.2) and clocked["VAE"].encoder_seconds == 0.0
    assert clocked["VAE"].history.seconds.iloc[-1] == pytest.approx(0.2)


def test_the_sweep_keeps_gpes_encoder_and_retrains_the_joint_methods(tmp_path):
    from gpelib.methods import train_method

    g = torch.Generator().manual_seed(0)
    x, xv = torch.tanh(torch.randn(40, 1, 8, 8, generator=g)), torch.tanh(torch.randn(12, 1, 8, 8, generator=g))
    c = TrainConfig(iterations=6, batch_size=10, lr=1e-3, eval_every=3, progress=False, device="cpu")
    base = {0: {"GPE": train_method("gpe", x, latent_dim=3, config=c, val_data=xv, hidden=16),
                "AE": train_method("ae", x, latent_dim=3, config=c, val_data=xv, hidden=16)}}
    out = step_sizes.lr_sweep_runs(base, x, xv, lrs=[3e-3], latent_dim=3, joint_config=c, decoder_config=c,
                                   hidden=16, checkpoint_root=tmp_path, device="cpu")
    assert list(out) == [3e-3] and list(out[3e-3][0]) == ["GPE", "AE"]
    gpe, ae = out[3e-3][0]["GPE"], out[3e-3][0]["AE"]
    enc, enc0 = gpe.encoder.state_dict(), base[0]["GPE"].encoder.state_dict()
    assert all(torch.equal(enc[k], enc0[k]) for k in enc0)  # Algorithm 1 is not rerun: the same encoder
    assert gpe.encoder_iterations == base[0]["GPE"].encoder_iterations and gpe.method == "GPE"
    assert gpe.final_val != base[0]["GPE"].final_val and ae.final_val != base[0]["AE"].final_val
    assert ae.history.method.iloc[0] == "ae" and "lr-gpe" in " ".join(p.name for p in tmp_path.iterdir())
    with pytest.raises(ValueError, match="base rate must be common"):
        step_sizes.lr_sweep_runs(base, x, xv, lrs=[3e-3], latent_dim=3, joint_config=c,
                                 decoder_config=dataclasses.replace(c, lr=2e-3))


def test_a_run_that_stops_on_a_non_finite_loss_is_none(monkeypatch):
    from gpelib.train import NonFiniteLossError

    def boom(*a, **k):
        raise NonFiniteLossError("loss is nan at step 3")

    monkeypatch.setattr(step_sizes, "train_method", boom)
    monkeypatch.setattr(step_sizes, "fresh_decoder", boom)
    assert step_sizes.method_or_none("ae", torch.zeros(2, 3)) is None
    assert step_sizes.fresh_decoder_or_none(torch.nn.Identity(), torch.zeros(2, 3)) is None
