"""Tests of the seed-batched GMEGAN engine (gpelib.gan.batched, gpelib.gan.batched_train; issue 28, item 2): K = 3 runs
trained as one batched model against three single runs of train_gan, step by step; exact resume from the batched
runs' checkpoints (batched again, and by train_gan alone); runs that do not see each other; the pieces (stacked
networks, GME cost, gradient penalty) against their single counterparts.

Tolerances. The batched model computes what the single runs compute in another summation order (``torch.baddbmm``
instead of ``nn.Linear``'s ``addmm``, means over ``(K, B)`` instead of ``(B,)``), so values agree to rounding, not
bit for bit. In float64 rounding is ~1e-16 relative per operation and 20 Adam steps keep it there (measured
≤ 1e-15 on the parameters): parameters must agree to ``atol = 1e-10`` — six orders below one Adam step of lr 1e-4 —
and every logged loss to ``rtol = 1e-9``. In float32 (what the notebooks train in) the measured gaps are ~3e-8 on the
parameters and ~3e-8 relative on the losses: ``atol = 1e-6`` (two orders below one step) and ``rtol = 1e-5``.
A batched run resumed from its checkpoints replays the same operations: it must equal the uninterrupted one exactly.
"""

from __future__ import annotations

import contextlib
import shutil

import pandas as pd
import pytest
import torch

from gpelib.data import gaussian_mixture
from gpelib.gan import build_networks, default_val_metric, get_method, grad_norm_sq_at, train_gan
from gpelib.gan.batched import StackedNet, batched_gme_cost, batched_grad_norm_sq
from gpelib.gan.batched_train import held_out_energy, train_gan_batched
from gpelib.losses import gme_cost
from gpelib.train import TrainConfig

ARCH = {"hidden": 32}  # the mixture's shape (R^100, latent R^2, batch 16) with narrower networks, to keep tests fast
TOL = {torch.float64: dict(atol=1e-10, rtol=1e-9), torch.float32: dict(atol=1e-6, rtol=1e-5)}


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def mixture(dtype: torch.dtype = torch.float32, n: int = 200) -> torch.Tensor:
    return gaussian_mixture(n, n_modes=9, dim=100, seed=0).x.to(dtype)


def config(iterations: int, **kw) -> TrainConfig:
    return TrainConfig(iterations=iterations, batch_size=16, eval_every=5, progress=False, **kw)


def batched(method, x, seeds, hypers, iterations, dirs=None, **kw):
    return train_gan_batched(method, x, seeds=seeds, hypers=hypers, latent_dim=2, config=config(iterations, **kw),
                             arch_options=ARCH, n_val=100, checkpoint_dirs=dirs)


def single(method, x, seed, hyper, iterations, **kw):
    return train_gan(method, x, latent_dim=2, config=config(iterations, seed=seed, **kw), hyper=hyper,
                     arch_options=ARCH, n_val=100)


def params(res) -> dict[str, torch.Tensor]:
    return {f"{part}.{k}": v.detach() for part, m in res.method.modules().items() for k, v in m.state_dict().items()}


def assert_runs_close(a, b, tol: dict[str, float]) -> None:
    """Same parameters, same per-step losses and held-out values (to ``tol``); same Adam states."""
    pa, pb = params(a), params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        torch.testing.assert_close(pa[k], pb[k], atol=tol["atol"], rtol=0, msg=k)
    sa, sb = a.steps.drop(columns="seconds"), b.steps.drop(columns="seconds")
    assert list(sa.columns) == list(sb.columns) and len(sa) == len(sb)
    pd.testing.assert_frame_equal(sa, sb, rtol=tol["rtol"], atol=tol["atol"])
    pd.testing.assert_frame_equal(a.history[["iteration", "val_loss"]], b.history[["iteration", "val_loss"]],
                                  rtol=tol["rtol"], atol=tol["atol"])
    for name, opt in a.method.optimizers().items():
        other = b.method.optimizers()[name]
        for p, q in zip((p for g in opt.param_groups for p in g["params"]),
                        (q for g in other.param_groups for q in g["params"])):
            assert (p in opt.state) == (q in other.state)  # no state where a run had no gradient (λ3 = 0: R_inv)
            for key in opt.state[p] if p in opt.state else ():  # Adam's moments and step, RMSprop's square_avg
                torch.testing.assert_close(opt.state[p][key], other.state[q][key], atol=tol["atol"], rtol=tol["rtol"])


# ------------------------------------------------------------------------------------------------------------------
# K = 3 batched against three single runs
# ------------------------------------------------------------------------------------------------------------------

CASES = {
    "seeds": ("gmegan", [0, 1, 2], [{}, {}, {}]),
    "lambda ablation": ("gmegan", [0, 0, 0], [{"lambda1": 0.0}, {"lambda2": 0.0}, {"lambda3": 0.0}]),
    "means": ("gmegan_mean", [3, 4, 5], [{}, {"lambda1": 0.0}, {"transport_weight": 1.0}]),
    "as released": ("gmegan_released", [0, 1, 0], [{}, {}, {"lambda2": 0.0, "lambda3": 0.0}]),
    "separate, 2 critic steps": ("gmegan", [6, 7, 8], [{"updates": "separate", "n_critic": 2, **h}
                                                        for h in ({}, {"lambda1": 0.0}, {"lambda3": 0.0})]),
}


# float64 checks every variant; float32 (the notebooks' dtype) the two cases the notebooks batch
_GRID = [(c, torch.float64) for c in CASES] + [(c, torch.float32) for c in ("seeds", "lambda ablation")]


@pytest.mark.parametrize("case, dtype", _GRID, ids=[f"{c}-{str(d)[6:]}" for c, d in _GRID])
def test_batched_equals_single_runs(case, dtype):
    method, seeds, hypers = CASES[case]
    with default_dtype(dtype):
        x = mixture(dtype)
        runs = batched(method, x, seeds, hypers, 20)
        for k, (seed, hyper) in enumerate(zip(seeds, hypers)):
            assert_runs_close(runs[k], single(method, x, seed, hyper, 20), TOL[dtype])


@pytest.mark.parametrize("method", ["gan", "wgan", "wgan_gp", "wgan_div", "otm"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_batched_baselines_equal_single_runs(method, dtype):
    """The critic-family baselines (gpelib.gan.batched_critics): GAN, WGAN (RMSprop, clipped critic), WGAN-GP (each
    run's own interpolation weights), WGAN-div; 5 critic steps on fresh batches of each run's pool for the Wasserstein
    three; OTM's 10 map updates per potential update, its fixed embedding per run."""
    with default_dtype(dtype):
        x = mixture(dtype)
        runs = batched(method, x, [0, 1, 2], [{}, {}, {}], 12)
        for k in range(3):
            assert_runs_close(runs[k], single(method, x, k, {}, 12), TOL[dtype])


def test_a_method_without_a_batched_engine_is_refused_by_name():
    with pytest.raises(NotImplementedError, match="no batched engine trains 'veegan'"):
        batched("veegan", mixture(), [0, 1], [{}, {}], 2)
    with pytest.raises(ValueError, match="differ only in"):  # a critic batch shares every hyper-parameter
        batched("wgan_gp", mixture(), [0, 1], [{}, {"gp_weight": 1.0}], 2)


@pytest.mark.parametrize("method", ["gmegan", "gmegan_released"])
def test_batched_equals_single_runs_on_images(method):
    """The MLP architectures on images (notebooks 08–09): a tanh generator reshaped to (1, 8, 8), a flattening critic;
    GMEGAN as released on images also takes separate T and G steps with G(T x) and latent scale 3."""
    with default_dtype(torch.float64):
        x = torch.rand(120, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
        seeds, hypers = [0, 1], [{}, {"lambda1": 0.0}]
        runs = train_gan_batched(method, x, seeds=seeds, hypers=hypers, latent_dim=4, config=config(8),
                                 arch_options=ARCH, n_val=50)
        for k, seed in enumerate(seeds):
            ref = train_gan(method, x, latent_dim=4, config=config(8, seed=seed), hyper=hypers[k], arch_options=ARCH,
                            n_val=50)
            assert_runs_close(runs[k], ref, TOL[torch.float64])


def test_parameters_agree_along_the_way():
    """Not only at the end: after 1, 2 and 7 of the steps too (each a fresh pair of trainings)."""
    x = mixture()
    for n in (1, 2, 7):
        runs = batched("gmegan", x, [0, 1, 2], [{}, {"lambda1": 0.0}, {}], n)
        for k, seed in enumerate([0, 1, 2]):
            ref = params(single("gmegan", x, seed, [{}, {"lambda1": 0.0}, {}][k], n))
            for key, v in params(runs[k]).items():
                torch.testing.assert_close(v, ref[key], **TOL[torch.float32], msg=f"step {n}, run {k}, {key}")


# ------------------------------------------------------------------------------------------------------------------
# Checkpoints and resume
# ------------------------------------------------------------------------------------------------------------------


def test_resume_from_batched_checkpoints_is_exact(tmp_path):
    x, seeds, hypers = mixture(), [0, 1, 2], [{}, {"lambda1": 0.0}, {"lambda3": 0.0}]
    straight = batched("gmegan", x, seeds, hypers, 20, dirs=[tmp_path / f"a{k}" for k in range(3)])
    dirs = [tmp_path / f"b{k}" for k in range(3)]
    first = batched("gmegan", x, seeds, hypers, 10, dirs=dirs, checkpoint_every=5)
    assert [r.iterations for r in first] == [10, 10, 10]
    shutil.copytree(dirs[1], tmp_path / "alone")
    resumed = batched("gmegan", x, seeds, hypers, 20, dirs=dirs)
    for a, b in zip(straight, resumed):
        pa, pb = params(a), params(b)
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
        pd.testing.assert_frame_equal(a.steps.drop(columns="seconds"), b.steps.drop(columns="seconds"),
                                      check_exact=True)
        pd.testing.assert_frame_equal(a.history.drop(columns="seconds"), b.history.drop(columns="seconds"),
                                      check_exact=True)
    # each folder is a train_gan checkpoint: run 1 alone resumes from its iteration-10 folder and agrees
    alone = train_gan("gmegan", x, latent_dim=2, config=config(20, seed=1, checkpoint_dir=str(tmp_path / "alone")),
                      hyper=hypers[1], arch_options=ARCH, n_val=100)
    assert alone.steps["iteration"].tolist() == list(range(1, 21))
    assert_runs_close(alone, straight[1], TOL[torch.float32])
    # and the other way: three runs trained alone to iteration 10 resume batched
    for k in range(3):
        train_gan("gmegan", x, latent_dim=2, config=config(10, seed=seeds[k], checkpoint_dir=str(tmp_path / f"c{k}")),
                  hyper=hypers[k], arch_options=ARCH, n_val=100)
    joined = batched("gmegan", x, seeds, hypers, 20, dirs=[tmp_path / f"c{k}" for k in range(3)])
    for a, b in zip(joined, straight):
        assert_runs_close(a, b, TOL[torch.float32])


def test_resume_refuses_runs_at_different_iterations(tmp_path):
    x = mixture()
    batched("gmegan", x, [0], [{}], 5, dirs=[tmp_path / "r0"])
    with pytest.raises(ValueError, match="different iterations"):
        batched("gmegan", x, [0, 1], [{}, {}], 10, dirs=[tmp_path / "r0", tmp_path / "r1"])


# ------------------------------------------------------------------------------------------------------------------
# The runs do not see each other
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["data", "lambda"])
def test_runs_are_not_coupled(what):
    """Perturbing run 0 alone (its data, or its λ1) changes run 0 and leaves runs 1–2 bit for bit as they were."""
    x = mixture()
    x0 = x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1)) if what == "data" else x
    h0 = {"lambda1": 3.0} if what == "lambda" else {}
    base = batched("gmegan", [x, x, x], [0, 1, 2], [{}, {}, {}], 10)
    perturbed = batched("gmegan", [x0, x, x], [0, 1, 2], [h0, {}, {}], 10)
    p0, q0 = params(base[0]), params(perturbed[0])
    assert any(not torch.equal(p0[k], q0[k]) for k in p0)
    for a, b in zip(base[1:], perturbed[1:]):
        pa, pb = params(a), params(b)
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
        pd.testing.assert_frame_equal(a.steps.drop(columns="seconds"), b.steps.drop(columns="seconds"),
                                      check_exact=True)


# ------------------------------------------------------------------------------------------------------------------
# The pieces
# ------------------------------------------------------------------------------------------------------------------


def test_stacked_networks_equal_the_single_ones():
    nets = [build_networks("mlp", (100,), 2, parts=get_method("gmegan").REQUIRES, hidden=32) for _ in range(3)]
    x = torch.randn(3, 16, 100)
    y = torch.randn(3, 16, 2)
    for part, inp in (("generator", y), ("encoder", x), ("r_inv", y), ("critic", x)):
        stacked = StackedNet([getattr(n, part) for n in nets])
        out = stacked(inp)
        for k, n in enumerate(nets):
            torch.testing.assert_close(out[k], getattr(n, part)(inp[k]), atol=1e-6, rtol=1e-5)
            state = stacked.run_state(k)
            assert state.keys() == getattr(n, part).state_dict().keys()
        stacked.load_run(1, getattr(nets[0], part).state_dict())  # run 1 now holds run 0's weights
        torch.testing.assert_close(stacked(inp[[0, 0, 0]])[1], getattr(nets[0], part)(inp[0]), atol=1e-6, rtol=1e-5)


def test_convolutional_networks_are_refused():
    nets = [build_networks("dcgan", (1, 8, 8), 2, parts=["critic"]) for _ in range(2)]
    with pytest.raises(TypeError, match="MLP family"):
        StackedNet([n.critic for n in nets])


def test_batched_gme_cost_and_penalty_equal_the_single_ones():
    x, z = torch.randn(3, 16, 100), torch.randn(3, 16, 2, requires_grad=True)
    got = batched_gme_cost(x, z, data_scale=0.5)
    for k in range(3):
        torch.testing.assert_close(got[k], gme_cost(x[k], z[k], data_scale=0.5))
    torch.testing.assert_close(batched_gme_cost(x, z, chunk_size=5), got.new_tensor(
        [gme_cost(x[k], z[k]).item() for k in range(3)]))
    critic = build_networks("mlp", (100,), 2, parts=["critic"], hidden=32).critic
    stacked = StackedNet([critic] * 3)
    sq = batched_grad_norm_sq(stacked, x)
    for k in range(3):
        torch.testing.assert_close(sq[k], grad_norm_sq_at(critic, x[k]))


def test_runs_differing_in_more_than_the_weights_are_refused():
    x = mixture()
    with pytest.raises(ValueError, match="may differ only in"):
        batched("gmegan", x, [0, 1], [{}, {"lr_g": 1e-3}], 2)
    with pytest.raises(ValueError, match="one batch trains one method"):
        from gpelib.gan.batched import RunStream
        from gpelib.gan.batched_critics import BatchedCritic
        g = torch.Generator()
        nets = [build_networks("mlp", (100,), 2, parts=get_method(m).REQUIRES, **ARCH) for m in ("gan", "wgan")]
        BatchedCritic([get_method(m)(n, latent_dim=2) for m, n in zip(("gan", "wgan"), nets)],
                      [RunStream(cpu=g, dev=g)] * 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batched_runs_on_cuda_match_single_cuda_runs():
    x = mixture()
    runs = batched("gmegan", x, [0, 1, 2], [{}, {"lambda1": 0.0}, {}], 10, device="cuda")
    for k, seed in enumerate([0, 1, 2]):
        ref = single("gmegan", x, seed, [{}, {"lambda1": 0.0}, {}][k], 10, device="cuda")
        assert_runs_close(runs[k], ref, dict(atol=1e-5, rtol=1e-4))


def test_held_out_energy_equals_the_default_metric():
    """The engine's held-out energy distance (the held-out term kept between evaluations) is train_gan's default
    metric, to the last bit."""
    x = mixture()
    m = single("gmegan", x, 4, {}, 3).method
    value, term = held_out_energy(m, x[:150], n=100, seed=4)
    assert value == default_val_metric(m, x[:150], n=100, seed=4)
    assert held_out_energy(m, x[:150], n=100, seed=4, held_out_term=term)[0] == value
