"""Tests of gpelib.gan: registries, one step of every method on vectors and images, the separation of critic and
generator updates, the gradient penalties against closed forms, GMEGAN's critic sign, WGAN clipping, the
diagnostics (monotonicity, mode statistics, energy distance) and train_gan with checkpoint/resume."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest
import torch
from torch import Tensor, nn

from gpelib.data import gaussian_mixture
from gpelib.gan import (
    ARCHITECTURES,
    METHODS,
    GANMethod,
    build_networks,
    energy_distance,
    first_coordinates,
    get_method,
    grad_norm_sq_at,
    load_gan,
    mode_stats,
    monotonicity_score,
    procrustes_rotation,
    train_gan,
    wgan_div_penalty,
    wgan_gp_penalty,
)
from gpelib.train import TrainConfig

ALL_METHODS = ["gmegan", "gmegan_mean", "gmegan_released", "gan", "wgan", "wgan_gp", "wgan_div", "otm", "vaegan",
               "veegan"]

# (arch, data_shape, latent_dim, tiny options)
SETTINGS = {
    "vector": ("mlp", (10,), 2, {"hidden": 16}),
    "image": ("dcgan", (1, 8, 8), 3, {"width": 8}),
}


def make_method(name: str, setting: str = "vector", **hyper) -> tuple[GANMethod, Tensor]:
    arch, shape, d, opts = SETTINGS[setting]
    cls = get_method(name)
    nets = build_networks(arch, shape, d, parts=cls.REQUIRES, **opts)
    if name == "otm":
        hyper.setdefault("t_steps", 2)
    m = cls(nets, latent_dim=d, **hyper)
    g = torch.Generator().manual_seed(1)
    data = torch.randn(64, *shape, generator=g)
    if setting == "image":
        data = data.tanh()
    m.attach_data(data)
    return m, data


def snapshot(modules: dict[str, nn.Module]) -> dict[str, list[Tensor]]:
    return {k: [p.detach().clone() for p in m.parameters()] for k, m in modules.items()}


def moved(before: list[Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(a, b.detach()) for a, b in zip(before, module.parameters()))


class Linear(nn.Module):
    """ψ(x) = w·x + b on flattened inputs: ∇ψ = w everywhere."""

    def __init__(self, w: Tensor, b: float = 0.3) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(b))

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1) @ self.w + self.b


# ----------------------------------------------------------------------------------------------------------------
# Registries
# ----------------------------------------------------------------------------------------------------------------


def test_registries_hold_every_method_and_enough_architectures():
    assert sorted(METHODS) == sorted(ALL_METHODS)
    assert {"mlp", "mlp_wide", "mlp_deep"} <= set(ARCHITECTURES)
    assert len([a for a in ARCHITECTURES if a.startswith("dcgan")]) >= 3


def test_unknown_names_raise_listing_known_ones():
    with pytest.raises(ValueError, match="gmegan") as e:
        get_method("stylegan")
    assert "veegan" in str(e.value)
    with pytest.raises(ValueError, match="dcgan_wide"):
        build_networks("resnet", (10,), 2)
    with pytest.raises(ValueError, match="wgan_gp"):
        train_gan("bigan", torch.randn(8, 4), latent_dim=2, config=TrainConfig(iterations=1, progress=False))
    with pytest.raises(ValueError, match="generator"):
        build_networks("mlp", (10,), 2, parts=["generatr"])
    with pytest.raises(ValueError, match="lambda1"):
        make_method("gmegan", lambda_1=3.0)
    with pytest.raises(ValueError, match="image"):
        build_networks("dcgan", (10,), 2)
    nets = build_networks("mlp", (10,), 2, parts=["generator"])
    with pytest.raises(ValueError, match="critic"):
        get_method("gan")(nets)


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if a.startswith("dcgan")] + ["mlp"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_image_architectures_have_the_right_shapes(arch, shape):
    d = 4
    opts = {"hidden": 8} if arch == "mlp" else {"width": 4}
    nets = build_networks(arch, shape, d, **opts)
    x, z = torch.rand(2, *shape) * 2 - 1, torch.randn(2, d)
    g = nets.generator(z)
    assert g.shape == (2, *shape) and g.abs().max() <= 1.0  # tanh output on images
    assert nets.critic(x).shape == (2,) and nets.critic.features(x).ndim == 2
    assert nets.encoder(x).shape == (2, d)
    assert all(t.shape == (2, d) for t in nets.vae_encoder.distribution(x))
    assert nets.r_inv(z).shape == (2, d)
    assert nets.joint_critic(z, x).shape == (2,)
    assert nets.transport_map(x).shape == (2, *shape)
    assert nets.embedding(z).shape == (2, *shape)
    assert nets.generator.config["arch"] == arch and nets.generator.config["part"] == "generator"


def test_r_inv_is_three_fc_layers_and_vector_generator_is_linear():
    nets = build_networks("mlp", (10,), 2, parts=["r_inv", "generator"])
    assert sum(isinstance(m, nn.Linear) for m in nets.r_inv.modules()) == 3
    assert isinstance(list(nets.generator.modules())[-1], nn.Linear)  # unbounded output on vectors


# ----------------------------------------------------------------------------------------------------------------
# One step of every method
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["vector", "image"])
@pytest.mark.parametrize("name", ALL_METHODS)
def test_one_step_is_finite_and_moves_every_trainable_network(name, setting):
    m, data = make_method(name, setting)
    before = snapshot(m.modules())
    out = m.step(data[:16])
    assert "loss" in out and "d_loss" in out
    assert all(torch.isfinite(v).all() for v in out.values()), out
    for part, module in m.modules().items():
        if part == "embedding":
            assert not moved(before[part], module) and not list(module.parameters())
            assert torch.equal(module.weight, m.nets.embedding.weight)
        elif part == "r_inv" and getattr(m.hp, "reconstruction", "r_inv") == "direct":
            assert not moved(before[part], module)  # released image GMEGAN reconstructs G(T x): no R_inv
        else:
            assert moved(before[part], module), f"{name}: {part} did not move"
    s = m.sample(5)
    assert s.shape == (5, *m.data_shape) and torch.isfinite(s).all()
    z = m.latent_of(data[:4])
    if name.startswith("gmegan") or name in ("vaegan", "veegan"):
        assert z.shape == (4, m.latent_dim)
    else:
        assert z is None
    g1 = m.sample(3, generator=torch.Generator().manual_seed(5))
    g2 = m.sample(3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(g1, g2)


@pytest.mark.parametrize("name", ALL_METHODS)
def test_critic_update_does_not_move_generator_and_vice_versa(name):
    m, data = make_method(name)
    mods = m.modules()
    assert set(m.GENERATOR_SIDE) | set(m.CRITIC_SIDE) | {"embedding"} >= set(mods)
    before = snapshot(mods)
    m.discriminator_step(data[:16])
    for part in m.GENERATOR_SIDE:
        assert not moved(before[part], mods[part]), f"critic step moved {part}"
    for part in m.CRITIC_SIDE:
        assert moved(before[part], mods[part])
    before = snapshot(mods)
    for part in m.CRITIC_SIDE:
        mods[part].zero_grad(set_to_none=True)
    m.generator_step(data[:16])
    for part in m.CRITIC_SIDE:
        assert not moved(before[part], mods[part]), f"generator step moved {part}"
        assert all(p.grad is None for p in mods[part].parameters())  # frozen: no gradient computed
        assert all(p.requires_grad for p in mods[part].parameters())  # unfrozen again
    for part in m.GENERATOR_SIDE:
        assert moved(before[part], mods[part]), f"generator step did not move {part}"


# ----------------------------------------------------------------------------------------------------------------
# Gradient penalties against closed forms
# ----------------------------------------------------------------------------------------------------------------


def test_penalties_on_a_linear_critic():
    torch.manual_seed(3)
    w = torch.randn(6)
    psi = Linear(w)
    real, fake = torch.randn(5, 6), torch.randn(5, 6)
    norm = w.norm()
    assert torch.allclose(grad_norm_sq_at(psi, real), norm.square().expand(5), rtol=1e-5)
    assert torch.allclose(wgan_gp_penalty(psi, real, fake), 10 * (norm - 1) ** 2, rtol=1e-4)
    assert torch.allclose(wgan_div_penalty(psi, real, fake), 2 * norm**6, rtol=1e-4)
    assert torch.allclose(wgan_div_penalty(psi, real, fake, k=0.5, p=3), 0.5 * norm**3, rtol=1e-4)
    # image-shaped inputs are flattened
    psi_img = Linear(torch.randn(16))
    xi = torch.randn(4, 1, 4, 4)
    assert torch.allclose(grad_norm_sq_at(psi_img, xi), psi_img.w.detach().square().sum().expand(4), rtol=1e-5)


def test_penalties_on_a_quadratic_critic():
    """ψ(x) = ½‖x‖²: ∇ψ(x) = x, so the penalties are moments of the points themselves."""

    class Quadratic(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return 0.5 * x.square().sum(dim=1)

    psi = Quadratic()
    real, fake = torch.randn(7, 3), torch.randn(7, 3)
    eps = torch.rand(7)
    x_hat = eps[:, None] * real + (1 - eps[:, None]) * fake
    expected_gp = 10 * (x_hat.norm(dim=1) - 1).square().mean()
    assert torch.allclose(wgan_gp_penalty(psi, real, fake, eps), expected_gp, rtol=1e-4)
    expected_div = 2 * 0.5 * (real.norm(dim=1).pow(6).mean() + fake.norm(dim=1).pow(6).mean())
    assert torch.allclose(wgan_div_penalty(psi, real, fake), expected_div, rtol=1e-4)
    # differentiable: the penalty has a gradient with respect to a parameter of the critic
    lin = Linear(torch.ones(3))
    wgan_gp_penalty(lin, real, fake).backward()
    assert lin.w.grad is not None and lin.w.grad.abs().sum() > 0


def test_gmegan_critic_sign_convention():
    """ψ ascends E ψ(G y) − E ψ(x) − λ2 E‖∇ψ(x)‖²: a critic scoring fakes higher has the lower critic loss."""
    m, _ = make_method("gmegan", lambda2=1.0)
    u = torch.tensor([1.0, 2.0, 0, 0, 0, 0, 0, 0, 0, -1.0])
    real, fake = -3 * u.expand(4, 10), 3 * u.expand(4, 10)
    m.nets.critic = Linear(u)  # scores fakes higher
    loss_right, parts = m.critic_loss(real, fake)
    gap = 6 * u.dot(u)
    assert torch.allclose(parts["gap"], gap) and torch.allclose(parts["grad_penalty"], u.dot(u))
    assert torch.allclose(loss_right, -gap + u.dot(u))  # −(gap − λ2·‖w‖²)
    m.nets.critic = Linear(-u)  # scores real data higher
    loss_wrong, _ = m.critic_loss(real, fake)
    assert loss_right < loss_wrong

    # and a real critic step moves ψ towards scoring the fakes higher than the data
    cls = get_method("gmegan")
    nets = build_networks("mlp", (10,), 2, parts=cls.REQUIRES, hidden=16)
    nets.critic = Linear(torch.zeros(10), b=0.0)
    m = cls(nets, lambda2=0.0, lr_d=1e-2)
    real = (-3 * u).expand(16, 10).clone()
    with torch.no_grad():
        fake = nets.generator(torch.randn(256, 2))
        before = nets.critic(fake).mean() - nets.critic(real).mean()
    m.discriminator_step(real)
    with torch.no_grad():
        after = nets.critic(fake).mean() - nets.critic(real).mean()
    assert after > before


def test_gmegan_defaults_and_ablations():
    m, data = make_method("gmegan")
    assert (m.hp.lambda1, m.hp.lambda2, m.hp.lambda3) == (10.0, 1.0, 5.0)
    assert m.hp.lr_g == 1e-4 and m.hp.lr_d == 1e-4
    assert make_method("gmegan", "image")[0].hp.lr_g == 2e-4
    # λ3 = 0: R_inv receives no gradient, the reconstruction is only logged
    m, data = make_method("gmegan", lambda3=0.0)
    before = snapshot(m.modules())
    out = m.generator_step(data[:16])
    assert not moved(before["r_inv"], m.nets.r_inv) and torch.isfinite(out["recon"])
    assert torch.allclose(out["loss"], out["ot"] + 10 * out["gme"] + out["adv"], rtol=1e-5)
    # λ1 = λ2 = 0 still trains
    m, data = make_method("gmegan", lambda1=0.0, lambda2=0.0)
    out = m.step(data[:16])
    assert torch.allclose(out["loss"], out["ot"] + 5 * out["recon"] + out["adv"], rtol=1e-5)
    assert float(out["grad_penalty"]) == 0.0


def test_gmegan_variants_fill_their_settings_and_user_values_win():
    printed, released = make_method("gmegan")[0].hp, make_method("gmegan_released")[0].hp
    assert (printed.reduction, printed.penalty_p, printed.penalty_on, printed.updates) == ("sum", 2.0, "real", "joint")
    assert (released.reduction, released.lambda2, released.penalty_p, released.penalty_on) == ("mean", 5.0, 6.0, "both")
    assert released.lr_g == 1e-3 and released.lambda3 == 5.0 and released.updates == "joint"
    img = make_method("gmegan_released", "image")[0].hp
    assert (img.updates, img.reconstruction, img.latent_scale, img.lr_t, img.lr_g) == ("separate", "direct", 3.0,
                                                                                          1e-5, 2e-5)
    assert asdict(make_method("gmegan", variant="as_released")[0].hp) == asdict(released)  # name = hyper field
    assert make_method("gmegan_mean")[0].hp.reduction == "mean"
    assert make_method("gmegan_released", lambda1=0.0)[0].hp.lambda1 == 0.0  # an explicit value is kept
    with pytest.raises(ValueError, match="variant"):
        make_method("gmegan", variant="as_imagined")
    with pytest.raises(ValueError, match="penalty_on"):
        make_method("gmegan", penalty_on="fake")


def test_gmegan_released_penalty_is_the_wdiv_form_on_real_and_generated_points():
    m, data = make_method("gmegan_released")
    real, fake = data[:8], torch.randn(8, 10)
    loss, parts = m.critic_loss(real, fake)
    expected = wgan_div_penalty(m.nets.critic, real, fake, k=5.0, p=6.0)  # k/2 (E‖∇ψ(x)‖⁶ + E‖∇ψ(G y)‖⁶)
    assert torch.allclose(5.0 * parts["grad_penalty"], expected, rtol=1e-5)
    assert torch.allclose(loss, -parts["gap"] + expected, rtol=1e-5)


def test_gmegan_sum_and_mean_reductions_differ_by_the_data_dimension():
    import copy

    m_sum, data = make_method("gmegan")
    m_mean = get_method("gmegan_mean")(copy.deepcopy(m_sum.nets), latent_dim=2)  # the same networks
    outs = []
    for m in (m_sum, m_mean):
        torch.manual_seed(3)  # the same latent batch
        outs.append(m.generator_step(data[:16]))
    assert torch.allclose(outs[0]["recon"], 10 * outs[1]["recon"], rtol=1e-5)  # D = 10 coordinates
    assert torch.allclose(outs[0]["ot"], 2 * outs[1]["ot"], rtol=1e-5)  # d = 2 latent coordinates
    assert torch.allclose(outs[0]["gme"], outs[1]["gme"], rtol=1e-6)  # the GME cost is a mean over pairs in both


def test_gmegan_released_on_images_takes_separate_t_and_g_steps():
    from gpelib.losses import gme_cost

    m, data = make_method("gmegan_released", "image")
    assert set(m.optimizers()) == {"generator", "encoder", "critic"}
    x = data[:16]
    with torch.no_grad():
        gme_before = gme_cost(x, 3.0 * m.nets.encoder(x))  # latent squared distances × 9
    before = snapshot(m.modules())
    out = m.generator_step(x)
    assert torch.allclose(out["gme"], gme_before, rtol=1e-5)
    assert moved(before["encoder"], m.nets.encoder) and moved(before["generator"], m.nets.generator)
    assert not moved(before["r_inv"], m.nets.r_inv) and not moved(before["critic"], m.nets.critic)
    assert torch.allclose(out["loss"], out["ot"] + out["adv"] + out["recon"] + 10 * out["gme"], rtol=1e-5)


def test_wgan_weights_are_clipped_after_a_critic_step():
    m, data = make_method("wgan")
    assert any(p.abs().max() > 0.01 for p in m.nets.critic.parameters())  # default init is wider
    m.discriminator_step(data[:16])
    assert all(p.abs().max() <= 0.01 + 1e-12 for p in m.nets.critic.parameters())
    assert isinstance(m.optimizers()["critic"], torch.optim.RMSprop) and m.n_critic == 5


def test_wgan_gp_uses_its_paper_optimiser():
    m, _ = make_method("wgan_gp")
    opt = m.optimizers()["critic"]
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.0, 0.9) and opt.defaults["lr"] == 1e-4


# ----------------------------------------------------------------------------------------------------------------
# Diagnostics
# ----------------------------------------------------------------------------------------------------------------


def test_monotonicity_score_on_monotone_and_anti_monotone_maps():
    torch.manual_seed(0)
    y = torch.randn(60, 2)
    b = torch.randn(2, 2)
    a = b @ b.T + 0.1 * torch.eye(2)  # positive definite, not symmetric-identity
    ident = lambda x: x  # noqa: E731
    assert monotonicity_score(ident, lambda t: t @ a.T, y) == 1.0
    assert monotonicity_score(ident, lambda t: -t, y) < 0.5
    assert monotonicity_score(ident, lambda t: -t, y) == 0.0
    # a generator into R^10 read through the first two coordinates (methods without an encoder)
    embed = lambda t: torch.cat([t @ a.T, torch.randn(t.shape[0], 8)], dim=1)  # noqa: E731
    assert monotonicity_score(None, embed, y) == 1.0
    assert monotonicity_score(first_coordinates(2), embed, y, max_pairs=100) == 1.0
    # a rotation by 135° is anti-monotone on most pairs; sampled pairs agree with all pairs
    c, s = math.cos(3 * math.pi / 4), math.sin(3 * math.pi / 4)
    rot = torch.tensor([[c, -s], [s, c]])
    assert monotonicity_score(ident, lambda t: t @ rot.T, y, max_pairs=500) == 0.0
    with pytest.raises(ValueError, match="coordinates"):
        monotonicity_score(ident, embed, y)


def test_aligned_monotonicity_forgives_rotations_and_reflections_only():
    torch.manual_seed(1)
    y = torch.randn(80, 2)
    ident = lambda x: x  # noqa: E731
    c, s = math.cos(3 * math.pi / 4), math.sin(3 * math.pi / 4)
    rot = torch.tensor([[c, -s], [s, c]])
    flip = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    for q in (rot, flip, rot @ flip):
        g = lambda t, q=q: 2.0 * t @ q.T + 3.0  # noqa: E731  (a scaled, shifted orthogonal map)
        assert monotonicity_score(ident, g, y, align=True) == 1.0
    assert monotonicity_score(ident, lambda t: t @ rot.T, y) == 0.0  # unaligned: anti-monotone
    # no orthogonal map makes a scrambled generator monotone
    perm = torch.randperm(80)
    scrambled = monotonicity_score(ident, lambda t: t[perm], y, align=True)
    assert 0.3 < scrambled < 0.75


def test_procrustes_rotation_recovers_a_known_orthogonal_map():
    torch.manual_seed(2)
    a = torch.randn(50, 3, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))
    q_hat = procrustes_rotation(a @ q + 5.0, a)
    assert torch.allclose(q_hat, q.T, atol=1e-10)
    assert torch.allclose(q_hat @ q_hat.T, torch.eye(3, dtype=torch.float64), atol=1e-12)


def test_mode_stats_counts_covered_modes():
    mix = gaussian_mixture(10, n_modes=9, dim=10)
    c = mix.centres
    at_centres = c.repeat(20, 1)
    st = mode_stats(at_centres, c, mix.std_major)
    assert st.modes_covered == 9 and st.high_quality_fraction == 1.0 and st.counts.tolist() == [20] * 9
    one = c[4].expand(180, 10)
    st = mode_stats(one, c, mix.std_major)
    assert st.modes_covered == 1 and st.counts[4] == 180 and st.covered.sum() == 1
    far = at_centres + 100.0
    st = mode_stats(far, c, mix.std_major)
    assert st.high_quality_fraction == 0.0 and st.modes_covered == 0
    # a few stray high-quality points do not make a mode covered (min_count = ceil(0.1·N/K))
    stray = torch.cat([c[0].expand(178, 10), c[1].expand(2, 10)])
    st = mode_stats(stray, c, mix.std_major)
    assert st.min_count == 2 and st.modes_covered == 2
    st = mode_stats(stray, c, mix.std_major, min_share=0.5)
    assert st.modes_covered == 1


def test_energy_distance_closed_form_and_ordering():
    a, b = torch.tensor([[0.0], [1.0]]), torch.tensor([[3.0], [5.0]])
    assert energy_distance(a, b) == pytest.approx(2 * 3.5 - 1.0 - 2.0)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 3, generator=g), torch.randn(200, 3, generator=g)
    assert abs(energy_distance(x, y)) < 0.1 < energy_distance(x, y + 1.0)


# ----------------------------------------------------------------------------------------------------------------
# train_gan
# ----------------------------------------------------------------------------------------------------------------


def _cfg(tmp_path=None, iterations=20, **kw) -> TrainConfig:
    return TrainConfig(iterations=iterations, batch_size=16, eval_every=5, seed=0, progress=False,
                       checkpoint_dir=str(tmp_path) if tmp_path else None, **kw)


@pytest.mark.parametrize("name", ["gmegan", "wgan_gp"])
def test_train_gan_history_and_exact_resume(tmp_path, name):
    mix = gaussian_mixture(64, n_modes=4, dim=10, seed=1)
    kw = dict(arch="mlp", latent_dim=2, arch_options={"hidden": 16}, n_val=32)
    straight = train_gan(name, mix.x, config=_cfg(), **kw)
    h = straight.history
    assert {"iteration", "seconds", "train_loss", "val_loss"} <= set(h.columns)
    assert h["iteration"].tolist() == [0, 5, 10, 15, 20]
    assert h["val_loss"].map(math.isfinite).all() and h["train_loss"].iloc[1:].map(math.isfinite).all()
    assert straight.iterations == 20 and len(straight.steps) == 20

    ck = tmp_path / "ck"
    first = train_gan(name, mix.x, config=_cfg(ck, iterations=10), **kw)
    assert first.iterations == 10
    cfg = json.loads((ck / "config.json").read_text())
    assert cfg["method"] == name and cfg["arch"] == "mlp" and cfg["iteration"] == 10
    resumed = train_gan(name, mix.x, config=_cfg(ck, iterations=20), **kw)
    assert resumed.iterations == 20
    assert resumed.history["iteration"].tolist() == [0, 5, 10, 15, 20]
    assert resumed.steps["iteration"].tolist() == list(range(1, 21))
    for part, mod in straight.method.modules().items():
        for p, q in zip(mod.parameters(), resumed.method.modules()[part].parameters()):
            assert torch.allclose(p, q, atol=1e-6), f"resumed {part} differs from the uninterrupted run"

    loaded = load_gan(ck)
    assert type(loaded) is type(resumed.method) and loaded.hyper == resumed.method.hyper
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert torch.allclose(loaded.sample(4, generator=g()), resumed.method.sample(4, generator=g()))


def test_train_gan_refuses_to_resume_another_model_and_uses_eval_fn(tmp_path):
    mix = gaussian_mixture(48, n_modes=4, dim=10, seed=2)
    ck = tmp_path / "ck"
    kw = dict(arch="mlp", latent_dim=2, arch_options={"hidden": 8}, n_val=16)
    res = train_gan("gan", mix.x, config=_cfg(ck, iterations=5), eval_fn=lambda m: {"modes": 1.0}, **kw)
    assert "modes" in res.history and res.history["val_loss"].map(math.isfinite).all()
    with pytest.raises(ValueError, match="hyper"):
        train_gan("gan", mix.x, config=_cfg(ck, iterations=10), hyper={"lr_g": 1e-3}, **kw)
    with pytest.raises(ValueError, match="val_hash"):  # a history measured on two validation sets is refused
        train_gan("gan", mix.x, config=_cfg(ck, iterations=10), val_data=mix.sample(16, seed=9).x, **kw)
    res = train_gan("gan", mix.x, config=_cfg(tmp_path / "other", iterations=5),
                    eval_fn=lambda m: {"val_loss": 7.0}, **kw)
    assert (res.history["val_loss"] == 7.0).all()


# ----------------------------------------------------------------------------------------------------------------
# Sampling for metrics (issue #18, item 1): eval mode, the previous mode restored
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gan", "otm"])
def test_sampling_uses_eval_mode_and_leaves_batchnorm_statistics_alone(name):
    """A generator with BatchNorm (``dcgan_bn``) in train mode, as ``fit`` leaves it: sampling for a metric must use
    the running statistics (as the validation energy does inside ``fit``), not overwrite them, and give each sample
    independently of the others drawn with it; the modules' train mode is restored afterwards."""
    from gpelib.gan.train import default_val_metric
    from gpelib.models import eval_mode

    cls = get_method(name)
    nets = build_networks("dcgan_bn", (1, 8, 8), 3, parts=cls.REQUIRES, width=4)
    m = cls(nets, latent_dim=3, **({"t_steps": 1} if name == "otm" else {}))
    data = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(0)).tanh()
    m.attach_data(data)
    m.step(data[:16])  # running statistics away from their initial values
    bns = [b for mod in m.modules().values() for b in mod.modules() if isinstance(b, nn.BatchNorm2d)]
    assert bns, "dcgan_bn should put BatchNorm in the generator"
    stats = [(b.running_mean.clone(), b.running_var.clone(), int(b.num_batches_tracked)) for b in bns]
    assert all(mod.training for mod in m.modules().values())

    g = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    whole = m.sample(16, generator=g())
    chunked = m.sample(16, generator=g(), batch_size=4)
    for b, (mean, var, n) in zip(bns, stats):
        assert torch.equal(b.running_mean, mean) and torch.equal(b.running_var, var)
        assert int(b.num_batches_tracked) == n
    assert all(mod.training for mod in m.modules().values())  # the previous mode is given back
    assert torch.allclose(whole, chunked, atol=1e-6)  # no per-batch statistics: a sample ignores its batch-mates

    val = data[:16]
    first, second = default_val_metric(m, val, n=16), default_val_metric(m, val, n=16)
    with eval_mode(*m.modules().values()):
        inside_fit = default_val_metric(m, val, n=16)  # how fit's evaluation sees it
    assert first == second == inside_fit


@pytest.mark.parametrize("how", ["default_dtype", "converted"])
@pytest.mark.parametrize("name", ["otm", "gan"])
def test_a_float64_model_trains_and_samples_in_float64(name, how):
    """Issue #18, item 5c: OTM's fixed embedding ``Q`` was always float32, so a float64 model failed; latents are
    drawn in the model's dtype too."""
    cls = get_method(name)
    hyper = {"t_steps": 1} if name == "otm" else {}
    old = torch.get_default_dtype()
    try:
        if how == "default_dtype":
            torch.set_default_dtype(torch.float64)
        nets = build_networks("mlp", (6,), 2, parts=cls.REQUIRES, hidden=8)
    finally:
        torch.set_default_dtype(old)
    if how == "converted":
        for mod in nets.modules().values():
            mod.double()
    assert all(t.dtype == torch.float64 for mod in nets.modules().values()
               for t in [*mod.parameters(), *mod.buffers()])
    m = cls(nets, **hyper)
    x = torch.randn(16, 6, dtype=torch.float64)
    m.attach_data(x)
    out = m.step(x)
    assert all(torch.isfinite(v) for v in out.values())
    s = m.sample(4, generator=torch.Generator().manual_seed(0))
    assert s.dtype == torch.float64 and torch.isfinite(s).all()


def _brenier_extension(mix, n_fit: int = 800, seed: int = 5):
    """A monotone generator built without the score's own assignment: the exact optimal assignment of ``n_fit``
    *other* latents to ``n_fit`` mixture points, extended to any ``y`` by the nearest fitted latent."""
    from scipy.optimize import linear_sum_assignment

    g = torch.Generator().manual_seed(seed)
    y_fit = torch.randn(n_fit, 2, generator=g, dtype=torch.float64)
    x_fit = mix.sample(n_fit, seed=seed).x.to(torch.float64)
    rows, cols = linear_sum_assignment((-(y_fit @ x_fit[:, :2].T)).numpy())
    target = x_fit[cols]

    def G(y: Tensor) -> Tensor:
        return target[torch.cdist(y.to(torch.float64), y_fit).argmin(dim=1)].to(y.dtype)

    return G


def test_transport_agreement_scores_a_collapsed_generator_low_where_eq_a2_saturates():
    from gpelib.gan import transport_agreement

    mix = gaussian_mixture(3000, n_modes=9, dim=6, seed=0)
    y = torch.randn(600, 2, generator=torch.Generator().manual_seed(1))
    monotone = _brenier_extension(mix)
    centre = mix.centres[0]
    collapsed = lambda z: centre + 0.05 * torch.cat([z, torch.zeros(len(z), 4)], 1)  # noqa: E731  (tiny, monotone)
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]])  # a quarter turn of the latent: the same law, same quality
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(2))
    scrambled = lambda z: (lambda s: s - mix.centres[mix.assign(s)] + mix.centres[perm[mix.assign(s)]])(  # noqa: E731
        monotone(z))  # every mode covered, each latent region sent to a wrong mode

    score = lambda G, **kw: transport_agreement(y, G(y), mix.x, mix.assign, **kw)  # noqa: E731
    assert score(monotone) > 0.8  # not 1: latents and data are both samples, boundary points go either way
    assert score(lambda z: monotone(z @ rot.T)) > 0.8  # aligned: a rotated latent is the same generator
    assert score(lambda z: monotone(z @ rot.T), align=False) < 0.6
    assert score(collapsed) < 0.2  # chance: the share of the data in the collapsed mode (1/9)
    assert monotonicity_score(first_coordinates(2), collapsed, y, align=True) == 1.0  # the eq. A.2 fraction saturates
    assert score(scrambled) < 0.35
    with pytest.raises(ValueError, match="at least as many data points"):
        transport_agreement(y, monotone(y), mix.x[:100], mix.assign)


def test_cyclical_monotonicity_of_gradient_maps_rotations_and_random_maps():
    from gpelib.gan import cyclical_monotonicity

    torch.manual_seed(0)
    y = torch.randn(400, 2, dtype=torch.float64)
    b = torch.randn(2, 2, dtype=torch.float64)
    spd = b @ b.T + 0.1 * torch.eye(2, dtype=torch.float64)  # G = ∇(½ yᵀAy): c-cyclically monotone for every k
    def rotation(deg: float) -> Tensor:  # k-cyclically monotone iff the angle is ≤ π/k
        t = math.radians(deg)
        return torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]], dtype=torch.float64)

    rot = rotation(80.0)  # monotone pairs (80° < 90°), not 3-cyclically monotone (80° > 60°)
    perm = torch.randperm(400)
    cm = lambda G, **kw: cyclical_monotonicity(None, G, y, n_tuples=5000, **kw)  # noqa: E731
    assert cm(lambda z: z @ spd) == 1.0 and cm(lambda z: z @ spd, k=4) == 1.0
    assert cm(lambda z: -z, k=2) == 0.0 and cm(lambda z: -z) == 0.0
    assert cm(lambda z: z @ rot.T, k=2) == 1.0 and cm(lambda z: z @ rot.T) < 0.5  # triples see the rotation
    r55 = rotation(55.0)  # 45° < 55° < 60°: 3-cyclically monotone, not 4-
    assert cm(lambda z: z @ r55.T) == 1.0 and cm(lambda z: z @ r55.T, k=4) < 1.0
    assert cm(lambda z: z @ rot.T, align=True) == 1.0  # aligned: the rotation is undone
    assert 0.1 < cm(lambda z: z[perm]) < 0.25  # independent of y: the identity is the best of 3! orderings ≈ 1/6
    pairs = monotonicity_score(None, lambda z: z[perm] + 0.5 * z, y)
    assert abs(cm(lambda z: z[perm] + 0.5 * z, k=2) - pairs) < 0.03  # k = 2 is the eq. A.2 fraction
    with pytest.raises(ValueError, match="k must be"):
        cm(lambda z: z, k=1)
