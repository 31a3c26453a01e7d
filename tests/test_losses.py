"""The GME cost (GPE eq. 14) against independent re-derivations, invariances and the chunked path."""

import math

import pytest
import torch

from gpelib.losses import gaussian_kl, gme_cost, gme_cost_matrix, mds_penalty, pairwise_sq_dists, reconstruction_mse

D64 = torch.float64


def gme_double_loop(x, z, s=1.0):
    """Plain re-derivation: 1/(B(B−1)) Σ_{i≠j} (log(1+‖z_i−z_j‖²) − log(1+s²‖x_i−x_j‖²))²."""
    b = x.shape[0]
    xf = x.reshape(b, -1)
    tot = 0.0
    for i in range(b):
        for j in range(b):
            if i != j:
                cx = math.log1p(s * s * float(((xf[i] - xf[j]) ** 2).sum()))
                cy = math.log1p(float(((z[i] - z[j]) ** 2).sum()))
                tot += (cy - cx) ** 2
    return tot / (b * (b - 1))


@pytest.mark.parametrize("s", [1.0, 0.3])
def test_matches_double_loop(s):
    x = torch.randn(9, 2, 3, 4, dtype=D64)
    z = torch.randn(9, 3, dtype=D64)
    assert gme_cost(x, z, data_scale=s).item() == pytest.approx(gme_double_loop(x, z, s), rel=1e-10)


def test_vstat_is_scaled_ustat():
    x, z = torch.randn(12, 7, dtype=D64), torch.randn(12, 2, dtype=D64)
    u, v = gme_cost(x, z), gme_cost(x, z, reduction="vstat")
    assert v.item() == pytest.approx(u.item() * 11 / 12, rel=1e-12)


def test_isometry_gives_zero():
    x = torch.randn(40, 30, dtype=D64)
    q, _ = torch.linalg.qr(torch.randn(30, 30, dtype=D64))
    z = x @ q[:, :30] + 5.0  # rotation + translation, latent dim = data dim
    assert gme_cost(x, z).item() < 1e-20


def test_isometric_embedding_into_higher_dim_and_data_scale():
    # data on a 2-plane in R^10; latent = its 2-D coordinates scaled by s: an isometry of the scaled data
    coords = torch.randn(25, 2, dtype=D64)
    basis, _ = torch.linalg.qr(torch.randn(10, 2, dtype=D64))
    x = coords @ basis.T
    assert gme_cost(x, 0.3 * coords, data_scale=0.3).item() < 1e-20
    assert gme_cost(x, coords, data_scale=0.3).item() > 1e-3


def test_invariant_to_latent_rotation_and_translation():
    x, z = torch.randn(30, 20, dtype=D64), torch.randn(30, 4, dtype=D64)
    q, _ = torch.linalg.qr(torch.randn(4, 4, dtype=D64))
    assert gme_cost(x, z @ q - 3.0).item() == pytest.approx(gme_cost(x, z).item(), rel=1e-10)


def test_not_invariant_to_latent_scaling():
    x, z = torch.randn(30, 20, dtype=D64), torch.randn(30, 4, dtype=D64)
    assert abs(gme_cost(x, 2 * z).item() - gme_cost(x, z).item()) > 1e-3


@pytest.mark.parametrize("chunk", [1, 4, 7, 16])
def test_chunked_equals_dense_value_and_grads(chunk):
    x = torch.randn(23, 11, dtype=D64, requires_grad=True)
    z = torch.randn(23, 3, dtype=D64, requires_grad=True)
    dense = gme_cost(x, z)
    gx, gz = torch.autograd.grad(dense, (x, z))
    chunked = gme_cost(x, z, chunk_size=chunk)
    cx, cz = torch.autograd.grad(chunked, (x, z))
    assert chunked.item() == pytest.approx(dense.item(), rel=1e-12)
    torch.testing.assert_close(cz, gz, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(cx, gx, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 0.3])
@pytest.mark.parametrize("reduction", ["ustat", "vstat"])
def test_chunked_gradients_match_the_closed_form(scale, reduction):
    """∂GM/∂z_i = 8/n Σ_j r_ij/(1+u_ij)(z_i − z_j), ∂GM/∂x_i = −8 s²/n Σ_j r_ij/(1+s²v_ij)(x_i − x_j), written here
    with explicit loops over pairs (independent of the blockwise matrix form in losses._ChunkedGME)."""
    b = 9
    x = torch.randn(b, 4, dtype=D64, requires_grad=True)
    z = torch.randn(b, 2, dtype=D64, requires_grad=True)
    gx, gz = torch.autograd.grad(gme_cost(x, z, chunk_size=4, data_scale=scale, reduction=reduction), (x, z))
    n = b * (b - 1) if reduction == "ustat" else b * b
    ex, ez = torch.zeros_like(x), torch.zeros_like(z)
    with torch.no_grad():
        for i in range(b):
            for j in range(b):
                if i == j:
                    continue
                u, v = ((z[i] - z[j]) ** 2).sum(), ((x[i] - x[j]) ** 2).sum()
                r = torch.log1p(u) - torch.log1p(scale**2 * v)
                ez[i] += 8 / n * r / (1 + u) * (z[i] - z[j])
                ex[i] -= 8 / n * scale**2 * r / (1 + scale**2 * v) * (x[i] - x[j])
    torch.testing.assert_close(gz, ez, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(gx, ex, rtol=1e-10, atol=1e-13)


def test_chunked_path_float32_bf16_and_no_grad():
    x, z = torch.rand(40, 30) * 2 - 1, torch.randn(40, 3)
    ref = gme_cost(x.double(), z.double()).item()
    with torch.no_grad():
        assert gme_cost(x, z, chunk_size=16).item() == pytest.approx(ref, rel=1e-5)
    zb = z.bfloat16().requires_grad_(True)
    loss = gme_cost(x.bfloat16(), zb, chunk_size=16)
    loss.backward()
    assert zb.grad.dtype == torch.bfloat16 and torch.isfinite(zb.grad).all()
    assert loss.item() == pytest.approx(gme_cost(x.bfloat16().double(), zb.detach().double()).item(), rel=1e-5)


def test_chunked_path_refuses_double_backward():
    z = torch.randn(6, 2, dtype=D64, requires_grad=True)
    (gz,) = torch.autograd.grad(gme_cost(torch.randn(6, 3, dtype=D64), z, chunk_size=2), z, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(gz.sum(), z)


def test_gradient_matches_finite_differences():
    x = torch.randn(8, 5, dtype=D64)
    z = torch.randn(8, 2, dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda zz: gme_cost(x, zz, chunk_size=3), (z,))


def test_gradient_through_encoder_network():
    net = torch.nn.Linear(6, 2).double()
    x = torch.randn(10, 6, dtype=D64)
    loss = gme_cost(x, net(x), chunk_size=4)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_matrix_is_symmetric_with_zero_diagonal():
    m = gme_cost_matrix(torch.randn(6, 4), torch.randn(6, 2))
    torch.testing.assert_close(m, m.T)
    assert torch.all(m.diagonal() == 0)


def test_pairwise_sq_dists_against_cdist_and_clamped():
    a, b = torch.randn(7, 5, dtype=D64), torch.randn(4, 5, dtype=D64)
    torch.testing.assert_close(pairwise_sq_dists(a, b), torch.cdist(a, b) ** 2)
    big = torch.full((3, 1000), 1e3)
    assert (pairwise_sq_dists(big) >= 0).all()


@pytest.mark.parametrize(
    "x,z,msg",
    [
        (torch.randn(5, 3), torch.randn(4, 2), "same number"),
        (torch.randn(5, 3), torch.randn(5), "shape"),
        (torch.randn(1, 3), torch.randn(1, 2), "two points"),
    ],
)
def test_bad_inputs(x, z, msg):
    with pytest.raises(ValueError, match=msg):
        gme_cost(x, z)


def test_bad_chunk_and_reduction():
    x, z = torch.randn(5, 3), torch.randn(5, 2)
    with pytest.raises(ValueError, match="chunk_size"):
        gme_cost(x, z, chunk_size=0)
    with pytest.raises(ValueError, match="reduction"):
        gme_cost(x, z, reduction="mean")


def test_gaussian_kl_closed_form_and_zero_at_prior():
    mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    assert gaussian_kl(mu, logvar).item() == 0.0
    # KL(N(m, s²) || N(0,1)) per coordinate = (m² + s² − 1 − log s²)/2, summed over d and averaged over B
    mu = torch.tensor([[1.0, -2.0]])
    logvar = torch.log(torch.tensor([[0.5, 4.0]]))
    expect = 0.5 * ((1 + 0.5 - 1 - math.log(0.5)) + (4 + 4 - 1 - math.log(4)))
    assert gaussian_kl(mu, logvar).item() == pytest.approx(expect, rel=1e-6)


def test_mds_penalty_known_configuration():
    # two points at data distance 3, latent distance 1 → (1−3)² = 4 for both ordered pairs → mean 4
    x = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    z = torch.tensor([[0.0], [1.0]])
    assert mds_penalty(x, z).item() == pytest.approx(4.0, rel=1e-6)
    # an isometric embedding has zero penalty
    q, _ = torch.linalg.qr(torch.randn(5, 5))
    x = torch.randn(12, 5)
    assert mds_penalty(x, x @ q).item() < 1e-8


def test_reconstruction_mse_shape_check():
    assert reconstruction_mse(torch.ones(2, 3), torch.zeros(2, 3)).item() == 1.0
    with pytest.raises(ValueError, match="shape"):
        reconstruction_mse(torch.ones(2, 3), torch.zeros(2, 4))


def test_distances_stay_fp32_under_bf16_autocast():
    x = torch.rand(16, 3072) * 2 - 1
    z = torch.randn(16, 10, requires_grad=True)
    ref = gme_cost(x, z)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        got = gme_cost(x, z)
        d = pairwise_sq_dists(x.bfloat16())
    assert d.dtype == torch.float32
    assert got.item() == pytest.approx(ref.item(), rel=1e-5)


def test_released_decoder_loss_is_cycle_plus_mse_plus_l1():
    from gpelib.losses import released_decoder_loss

    g = torch.Generator().manual_seed(0)
    x, x_hat = torch.randn(5, 1, 3, 3, generator=g), torch.randn(5, 1, 3, 3, generator=g)
    z, zc = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    out = released_decoder_loss(x_hat, x, z, zc)
    by_hand = dict(cycle=((z - zc) ** 2).sum() / 20, mse=((x_hat - x) ** 2).sum() / 45, l1=(x_hat - x).abs().sum() / 45)
    for k, v in by_hand.items():
        assert torch.allclose(out[k], v)
    assert torch.allclose(out["loss"], sum(by_hand.values()))
    assert float(released_decoder_loss(x, x, z, z)["loss"]) == 0.0  # a perfect decoder and cycle cost nothing
    with pytest.raises(ValueError, match="latent shapes"):
        released_decoder_loss(x_hat, x, z, zc[:, :3])
