"""Theorem-1 certificate and distance-ratio diagnostics."""

import math

import numpy as np
import pytest
import torch

from gpelib.geometry import certificate, diagnose_encoder, fraction_in_k_alpha, sample_pairs, theorem1_bound
from gpelib.losses import gme_cost
from gpelib.models import make_encoder
from gpelib.train import TrainConfig, train_encoder


def k_alpha_by_loop(x, z, alpha):
    n, hits, tot = x.shape[0], 0, 0
    for i in range(n):
        for j in range(n):
            if i != j:
                r = (float(((z[i] - z[j]) ** 2).sum()) + 1) / (float(((x[i] - x[j]) ** 2).sum()) + 1)
                hits += alpha <= r <= 1 / alpha
                tot += 1
    return hits / tot


def test_fraction_in_k_alpha_matches_loop():
    x, z = torch.randn(15, 6, dtype=torch.float64), torch.randn(15, 2, dtype=torch.float64) * 2
    for a in (0.3, 0.6, 0.9):
        assert fraction_in_k_alpha(x, z, [a])[0] == pytest.approx(k_alpha_by_loop(x, z, a))


def test_theorem1_bound_formula_and_domain():
    assert theorem1_bound(0.1, 0.5) == pytest.approx(1 - 0.1 / math.log(0.5) ** 2)
    with pytest.raises(ValueError):
        theorem1_bound(0.1, 1.0)


def test_isometry_is_fully_in_every_k_alpha():
    x = torch.randn(20, 5, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))
    cert = certificate(x, x @ q)
    assert (cert["empirical"] == 1.0).all() and cert["eps"].iloc[0] < 1e-20


def test_bound_holds_for_random_maps():
    # Markov's inequality on the empirical pair measure: must hold for ANY map when ε is measured on the same pairs
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(30, 8, generator=g, dtype=torch.float64)
        z = torch.randn(30, 2, generator=g, dtype=torch.float64) * (seed + 0.5)
        cert = certificate(x, z, alphas=np.linspace(0.05, 0.95, 19))
        assert cert["holds"].all()


def test_bound_holds_on_trained_encoder_and_held_out_data():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    lab = torch.randint(0, 3, (400,), generator=g)
    x = torch.randn(400, 20, generator=g) * 0.05
    x[:, :2] = centres[lab] + 0.5 * torch.randn(400, 2, generator=g)
    enc = make_encoder((20,), 2, hidden=64)
    res = train_encoder(enc, x[:300], config=TrainConfig(iterations=300, lr=3e-3, batch_size=64, eval_every=100,
                                                          progress=False), val_data=x[300:])
    assert res.final_val < 0.05  # learnt a near-isometry of a 2-D dataset
    with torch.no_grad():
        z = enc(x[300:])
    eps = gme_cost(x[300:].double(), z.double()).item()
    cert = certificate(x[300:], z, eps=eps)
    assert cert["holds"].all()
    assert cert.loc[cert.alpha == 0.5, "empirical"].item() > 0.95


def test_sample_pairs_and_ratio():
    x = torch.randn(10, 4)
    pairs = sample_pairs(x, 2 * x)
    assert len(pairs.i) == 45 and np.all(pairs.i < pairs.j)
    np.testing.assert_allclose(pairs.ratio, 2.0, rtol=1e-5)
    sub = sample_pairs(x, x, max_pairs=10, seed=1)
    assert len(sub.i) == 10


def test_diagnose_encoder_on_scaled_isometry():
    class Scale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.eye(3) * 3.0)

        def forward(self, x):
            return x @ self.w

    d = diagnose_encoder(Scale(), torch.randn(50, 3))
    assert d.spread == pytest.approx(1.0, rel=1e-4)
    assert d.ratio_median == pytest.approx(3.0, rel=1e-4)
    assert d.distance_corr == pytest.approx(1.0, abs=1e-6)
    assert d.gme > 0.1  # scaling by 3 is not an isometry for the log costs


def test_best_scale_recovers_the_scale_of_a_scaled_isometry():
    """z = Q x / c for an orthogonal Q is an isometry shrunk by c: the GME-optimal rescaling is c (cost 0 there),
    whatever c; for a generic encoder the optimum is a stationary point of the 1-D cost."""
    from gpelib.geometry import best_scale
    from gpelib.losses import gme_cost

    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    for c in (0.05, 1.0, 7.0):
        assert best_scale(x, x @ q.T / c) == pytest.approx(c, rel=1e-4)
    z = torch.tanh(x[:, :3] * 3) * 10
    c = best_scale(x, z)
    costs = [gme_cost(x, z * c * f).item() for f in (0.98, 1.0, 1.02)]
    assert costs[1] < costs[0] and costs[1] < costs[2]
