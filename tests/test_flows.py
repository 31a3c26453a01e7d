"""Latent conditional flow matching: loss, solvers (exact solutions, round trips), training, generator I/O."""

import math

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from gpelib.flows import (
    LatentGenerator,
    LatentStandardizer,
    VelocityMLP,
    build_velocity,
    cfm_loss,
    integrate,
    interpolation_grid,
    make_velocity,
    train_flow,
)
from gpelib.metrics import wasserstein2_exact
from gpelib.models import make_decoder
from gpelib.train import TrainConfig

COLS = {"iteration", "seconds", "train_loss", "val_loss"}
A = torch.tensor([[-0.5, 1.0], [-1.0, -0.5]], dtype=torch.float64)  # a damped rotation


def linear_field(t, y):
    return y @ A.T


_ANGLES = torch.arange(8) * 2 * math.pi / 8
CENTRES = 2.5 * torch.stack([_ANGLES.cos(), _ANGLES.sin()], 1) + torch.tensor([1.0, -0.5])  # 8 modes on a ring


def mixture(n=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, 8, (n,), generator=g)
    return CENTRES[k] + 0.2 * torch.randn(n, 2, generator=g)


def near_mode(points, radius=0.6):
    """Nearest-mode index and whether the point lies within ``radius`` (3σ) of it."""
    d = torch.cdist(points.double(), CENTRES.double())
    return d.argmin(1), d.min(1).values < radius


# ------------------------------------------------------------------ standardiser


def test_standardizer_moments_and_round_trip():
    y = torch.randn(500, 5) * torch.tensor([1.0, 2.0, 3.0, 0.5, 4.0]) + 7.0
    s = LatentStandardizer.fit(y)
    u = s(y)
    assert torch.allclose(u.mean(0), torch.zeros(5), atol=1e-5)
    assert u.square().sum(1).mean().item() == pytest.approx(5.0, rel=1e-5)
    assert torch.allclose(s.unstandardize(u), y, atol=1e-5)
    assert s.scale.shape == () and s.mean.shape == (5,) and s.config["dim"] == 5
    with pytest.raises(ValueError):
        LatentStandardizer.fit(torch.ones(10, 3))
    with pytest.raises(ValueError):
        s(torch.zeros(4, 3))


# ------------------------------------------------------------------ the CFM loss


def test_cfm_loss_matches_independent_derivation():
    torch.manual_seed(1)
    v = VelocityMLP(3, hidden=16, n_layers=2)
    y = torch.randn(64, 3)
    got = cfm_loss(v, y, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    z = torch.randn(64, 3, generator=g)  # documented draw order: z first, then t
    t = torch.rand(64, generator=g)
    yt = (1 - t)[:, None] * z + t[:, None] * y
    want = ((v(t, yt) - (y - z)) ** 2).sum() / (64 * 3)
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    # explicit t and z give the same number; a different draw a different one
    assert cfm_loss(v, y, t=t, z=z).item() == pytest.approx(want.item(), rel=1e-6)
    assert cfm_loss(v, y, generator=torch.Generator().manual_seed(6)).item() != pytest.approx(want.item(), rel=1e-3)


def test_cfm_loss_is_zero_for_the_exact_field_of_a_point_mass():
    # data = δ_c: the marginal velocity is (c − y)/(1 − t), which reproduces y − z exactly
    c = torch.tensor([1.5, -2.0], dtype=torch.float64)
    y = c.expand(32, 2).clone()
    t = torch.rand(32, dtype=torch.float64) * 0.98
    z = torch.randn(32, 2, dtype=torch.float64)
    loss = cfm_loss(lambda tt, yy: (c - yy) / (1 - tt[:, None]), y, t=t, z=z)
    assert loss.item() < 1e-20
    assert cfm_loss(lambda tt, yy: torch.zeros_like(yy), y, t=t, z=z).item() == pytest.approx(
        ((c - z) ** 2).mean().item(), rel=1e-12)


# ------------------------------------------------------------------ integration


@pytest.mark.parametrize("method,steps,tol", [("euler", 2000, 2e-3), ("heun", 100, 1e-4), ("rk4", 50, 1e-7),
                                              ("dopri5", 0, 1e-6)])
def test_integrate_linear_ode_matches_expm(method, steps, tol):
    y0 = torch.randn(10, 2, dtype=torch.float64)
    exact = y0 @ torch.from_numpy(expm(1.3 * A.numpy())).T
    got = integrate(linear_field, y0, t0=0.2, t1=1.5, method=method, steps=max(steps, 1), atol=1e-9, rtol=1e-9)
    assert (got - exact).abs().max().item() < tol


@pytest.mark.parametrize("method,order", [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_fixed_step_order_of_convergence(method, order):
    y0 = torch.randn(4, 2, dtype=torch.float64)
    exact = y0 @ torch.from_numpy(expm(A.numpy())).T
    e1 = (integrate(linear_field, y0, method=method, steps=20) - exact).abs().max().item()
    e2 = (integrate(linear_field, y0, method=method, steps=40) - exact).abs().max().item()
    assert math.log2(e1 / e2) == pytest.approx(order, abs=0.3)


@pytest.mark.parametrize("method", ["heun", "rk4", "dopri5"])
def test_time_direction(method):
    # dy/dt = t: forward 0→1 adds 1/2, backward 1→0 subtracts it (Heun and RK4 are exact on this)
    y0 = torch.zeros(3, 1, dtype=torch.float64)
    field = lambda t, y: torch.ones_like(y) * t  # noqa: E731
    assert torch.allclose(integrate(field, y0, method=method, steps=7), y0 + 0.5, atol=1e-7)
    assert torch.allclose(integrate(field, y0, t0=1.0, t1=0.0, method=method, steps=7), y0 - 0.5, atol=1e-7)


@pytest.mark.parametrize("method", ["rk4", "dopri5"])
def test_backward_then_forward_returns_the_start(method):
    y0 = torch.randn(16, 2, dtype=torch.float64)
    y1 = integrate(linear_field, y0, method=method, steps=40, atol=1e-9, rtol=1e-9)
    back = integrate(linear_field, y1, t0=1.0, t1=0.0, method=method, steps=40, atol=1e-9, rtol=1e-9)
    assert (back - y0).abs().max().item() < 1e-6
    torch.manual_seed(0)
    v = VelocityMLP(3, hidden=32, n_layers=3)
    x = torch.randn(8, 3)
    rt = integrate(v, integrate(v, x, t0=1.0, t1=0.0, method=method, steps=50), method=method, steps=50)
    assert (rt - x).abs().max().item() < 1e-3


def test_integrate_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown ODE method"):
        integrate(linear_field, torch.zeros(2, 2), method="leapfrog")


def test_velocity_accepts_scalar_and_batched_time_and_rebuilds_from_config():
    torch.manual_seed(0)
    v = VelocityMLP(4, hidden=16, n_layers=3)
    y = torch.randn(5, 4)
    a = v(0.3, y)
    b = v(torch.full((5,), 0.3), y)
    assert a.shape == (5, 4) and torch.allclose(a, b)
    w = build_velocity(v.config)
    w.load_state_dict(v.state_dict())
    assert torch.equal(w(0.3, y), a)
    assert make_velocity(4, "large").config["hidden"] > make_velocity(4, "small").config["hidden"]
    with pytest.raises(ValueError):
        v(torch.zeros(3), y)


# ------------------------------------------------------------------ training


def test_cfm_learns_a_gaussian_mixture():
    target = mixture(2000)
    torch.manual_seed(0)
    v = VelocityMLP(2, hidden=64, n_layers=3)
    cfg = TrainConfig(iterations=800, batch_size=256, lr=3e-3, betas=(0.9, 0.999), eval_every=200, progress=False)
    res = train_flow(v, target, config=cfg)
    h = res.history
    assert h.val_loss.iloc[-1] < h.val_loss.iloc[0]
    gen = LatentGenerator.from_result(res, decoder=None)
    samples = gen.sample_latents(500, seed=1, method="heun", steps=40)
    ref = mixture(500, seed=2)
    # exact W2 far below that of the N(0, I) noise the flow starts from (two target draws: ≈ 0.45)
    w_flow, w_noise = wasserstein2_exact(samples, ref), wasserstein2_exact(gen.sample_noise(500, seed=1), ref)
    assert w_flow < 0.5 * w_noise, (w_flow, w_noise)
    # samples concentrate on the modes, all eight of them, unlike a Gaussian with the data's mean and scale
    mode, good = near_mode(samples)
    matched = gen.standardizer.unstandardize(gen.sample_noise(500, seed=1))
    assert good.double().mean() > 2 * near_mode(matched)[1].double().mean()
    assert torch.bincount(mode[good], minlength=8).min() >= 10


def small_cfg(tmp=None, **kw):
    base = dict(iterations=20, batch_size=32, lr=1e-3, betas=(0.9, 0.999), eval_every=10, progress=False,
                checkpoint_dir=str(tmp) if tmp else None)
    return TrainConfig(**(base | kw))


def test_train_flow_history_and_resume(tmp_path):
    lat = torch.randn(200, 3) * 2 + 1
    val = torch.randn(50, 3) * 2 + 1

    def fresh():
        torch.manual_seed(3)
        return VelocityMLP(3, hidden=16, n_layers=2)

    first = train_flow(fresh(), lat, val_latents=val, config=small_cfg(tmp_path / "ck"))
    assert COLS <= set(first.history.columns) and list(first.history.iteration) == [0, 10, 20]
    assert first.iterations == 20 and set(first.modules) == {"velocity", "standardizer"}
    # the validation draw is fixed: re-evaluating the same model gives the same val_loss
    again = train_flow(first.modules["velocity"], lat, val_latents=val,
                       config=small_cfg(tmp_path / "ck", iterations=20))
    assert again.iterations == 20 and again.history.val_loss.iloc[-1] == first.history.val_loss.iloc[-1]
    resumed = train_flow(fresh(), lat, val_latents=val, config=small_cfg(tmp_path / "ck", iterations=40))
    assert resumed.iterations == 40 and list(resumed.history.iteration) == [0, 10, 20, 30, 40]
    straight = train_flow(fresh(), lat, val_latents=val, config=small_cfg(None, iterations=40))
    for (k, a), b in zip(resumed.modules["velocity"].state_dict().items(),
                         straight.modules["velocity"].state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), k
    assert resumed.history.val_loss.iloc[-1] == pytest.approx(straight.history.val_loss.iloc[-1], rel=1e-5)


def test_train_flow_fits_standardizer_on_training_latents():
    lat = torch.randn(100, 2) * 3 + 5
    res = train_flow(VelocityMLP(2, hidden=8, n_layers=2), lat, config=small_cfg(iterations=2))
    s = res.modules["standardizer"]
    assert torch.allclose(s.mean, lat.mean(0), atol=1e-4)
    assert s(lat).square().sum(1).mean().item() == pytest.approx(2.0, rel=1e-4)


# ------------------------------------------------------------------ generator


def make_generator(seed=0):
    torch.manual_seed(seed)
    lat = torch.randn(100, 2) * 2
    dec = make_decoder((1, 8, 8), 2, arch="mlp", hidden=16, n_layers=2)
    return LatentGenerator(decoder=dec, velocity=VelocityMLP(2, hidden=16, n_layers=3).eval(),
                           standardizer=LatentStandardizer.fit(lat))


def test_generator_save_load_round_trip(tmp_path):
    gen = make_generator()
    x = gen.generate(12, seed=4, steps=10)
    assert x.shape == (12, 1, 8, 8) and x.abs().max() <= 1
    gen.save(tmp_path / "gen")
    other = LatentGenerator.load(tmp_path / "gen", make_generator(seed=1).decoder)
    assert not torch.equal(other.generate(12, seed=4, steps=10), x)  # a different decoder
    loaded = LatentGenerator.load(tmp_path / "gen")  # decoder rebuilt from its stored config
    assert torch.equal(loaded.generate(12, seed=4, steps=10), x)
    assert torch.equal(loaded.sample_latents(5, seed=9), gen.sample_latents(5, seed=9))
    assert not torch.equal(gen.sample_latents(5, seed=9), gen.sample_latents(5, seed=10))


def test_to_noise_inverts_from_noise_and_interpolation_grid():
    gen = make_generator()
    z = gen.sample_noise(6, seed=0)
    y = gen.from_noise(z, method="rk4", steps=40)
    assert (gen.to_noise(y, method="rk4", steps=40) - z).abs().max().item() < 1e-3
    corners = gen.sample_latents(4, seed=3, method="rk4", steps=40)
    grid = interpolation_grid(gen, corners, 5, method="rk4", steps=40)
    assert grid.shape == (25, 2)
    assert (grid[[0, 4, 20, 24]] - corners).abs().max().item() < 1e-3
    with pytest.raises(ValueError):
        interpolation_grid(gen, corners[:3], 5)
    np.testing.assert_array_less(0, (grid[12] - corners).norm(dim=1).numpy())  # the centre is a new latent


@pytest.mark.parametrize("method,evals", [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_fixed_step_solvers_take_the_given_steps_on_an_equal_grid(method, evals):
    times = []

    def field(t, y):
        times.append(float(t))
        return -y

    y0 = torch.ones(3, 2, dtype=torch.float64)
    integrate(field, y0, method=method, steps=4)
    assert len(times) == 4 * evals
    assert times[::evals] == pytest.approx([0.0, 0.25, 0.5, 0.75])  # each step starts on the grid
    times.clear()
    integrate(field, y0, t0=1.0, t1=0.0, method=method, steps=4)  # backward: the same grid, walked from 1 to 0
    assert times[::evals] == pytest.approx([1.0, 0.75, 0.5, 0.25])
    same = integrate(field, y0, t0=0.5, t1=0.5, method=method, steps=4)
    assert torch.equal(same, y0) and same is not y0
    with pytest.raises(ValueError, match="steps"):
        integrate(field, y0, method=method, steps=0)


def test_generator_gives_the_networks_their_modes_back():
    gen = make_generator()
    gen.velocity.train()
    gen.decoder.train()
    gen.generate(4, seed=0, steps=3)
    assert gen.velocity.training and gen.decoder.training
    gen.velocity.eval()
    gen.decoder.eval()
    gen.generate(4, seed=0, steps=3)
    assert not gen.velocity.training and not gen.decoder.training
