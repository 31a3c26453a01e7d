"""Losses: the Gromov-Monge embedding (GME) cost and the reconstruction/regularisation terms.

Notation (SPEC §1): data ``x`` of shape ``(B, ...)`` (flattened to ``(B, D)``), latents ``z`` of shape
``(B, d)``. Every pairwise quantity uses the Gram identity ``‖a−b‖² = ‖a‖² + ‖b‖² − 2 a·b`` clamped at 0.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Reduction = Literal["ustat", "vstat"]

__all__ = [
    "pairwise_sq_dists",
    "gme_cost",
    "gme_cost_matrix",
    "reconstruction_mse",
    "gaussian_kl",
    "mds_penalty",
    "released_decoder_loss",
]


def _flat(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1)


def pairwise_sq_dists(a: Tensor, b: Tensor | None = None) -> Tensor:
    """Squared Euclidean distances ``‖a_i − b_j‖²`` of shape ``(Ba, Bb)`` via the Gram identity, clamped at 0.

    Always computed in at least float32 (also under bf16/fp16 autocast): the identity subtracts large numbers.

    ``a``: ``(Ba, ...)``, ``b``: ``(Bb, ...)`` (defaults to ``a``). Inputs are flattened per row.
    """
    a = _flat(a)
    b = a if b is None else _flat(b)
    if a.dtype in (torch.float16, torch.bfloat16):  # the Gram identity cancels catastrophically in half precision
        a, b = a.float(), b.float()
    with torch.autocast(device_type=a.device.type, enabled=False):
        sq_a = (a * a).sum(dim=1, keepdim=True)
        sq_b = sq_a if b is a else (b * b).sum(dim=1, keepdim=True)
        d = torch.addmm(sq_a + sq_b.T, a, b.T, beta=1.0, alpha=-2.0)
    return d.clamp_min_(0.0) if not d.requires_grad else d.clamp_min(0.0)


def gme_cost_matrix(x: Tensor, z: Tensor, *, data_scale: float = 1.0) -> Tensor:
    """Per-pair squared residuals ``(c_Y(z_i, z_j) − c_X(x_i, x_j))²`` of shape ``(B, B)``, diagonal zeroed.

    ``c_X(x, x') = log(1 + s²‖x − x'‖²)`` and ``c_Y(y, y') = log(1 + ‖y − y'‖²)`` (GPE eq. 14, GMEGAN eq. 3.4).
    """
    _check_pair(x, z)
    cx = _cost_x(x, x, data_scale)
    cy = torch.log1p(pairwise_sq_dists(z))
    r = (cy - cx).square()
    eye = torch.eye(r.shape[0], dtype=torch.bool, device=r.device)
    return r.masked_fill(eye, 0.0)


def _cost_x(xa: Tensor, xb: Tensor, data_scale: float) -> Tensor:
    """``log(1 + s²‖x_a − x_b‖²)``; computed without autograd when the data need no gradient."""
    if xa.requires_grad or xb.requires_grad:
        return torch.log1p(pairwise_sq_dists(xa, xb) * data_scale**2)
    with torch.no_grad():
        return torch.log1p(pairwise_sq_dists(xa, xb).mul_(data_scale**2))


def _check_pair(x: Tensor, z: Tensor) -> None:
    if z.ndim != 2:
        raise ValueError(f"latents z must have shape (B, d); got {tuple(z.shape)}")
    if x.shape[0] != z.shape[0]:
        raise ValueError(f"x and z must hold the same number of points; got {x.shape[0]} and {z.shape[0]}")
    if x.shape[0] < 2:
        raise ValueError("the GME cost needs at least two points (it averages over pairs i ≠ j)")


def _chunked_gme(x: Tensor, z: Tensor, data_scale: float, chunk: int, need_x: bool, need_z: bool
                 ) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """``Σ_{i≠j} r_ij²`` block by block and, where asked, its gradients (see :class:`_ChunkedGME`): ``(total, ∂/∂x
    (without the factor 8), ∂/∂z (without the factor 8))``."""
    zw = z.to(torch.promote_types(z.dtype, torch.float32))  # the Gram identity cancels in half precision
    xw = x.to(torch.promote_types(x.dtype, torch.float32))
    sq_z, sq_x = (zw * zw).sum(1), (xw * xw).sum(1)  # norms once, not once per block
    s2 = data_scale**2
    b = z.shape[0]
    total = torch.zeros((), dtype=torch.promote_types(zw.dtype, xw.dtype), device=z.device)
    gz = torch.empty_like(zw) if need_z else None
    gx = torch.empty_like(xw) if need_x else None
    for start in range(0, b, chunk):
        stop = min(start + chunk, b)
        # 1 + u and 1 + s² v for rows start:stop against every point, each (c, B)
        one_u = torch.addmm(sq_z[start:stop, None] + sq_z[None], zw[start:stop], zw.T, alpha=-2.0)
        one_u.clamp_min_(0.0).add_(1.0)
        one_v = torch.addmm(sq_x[start:stop, None] + sq_x[None], xw[start:stop], xw.T, alpha=-2.0)
        one_v.clamp_min_(0.0).mul_(s2).add_(1.0)
        r = torch.log(one_u).sub_(torch.log(one_v))
        idx = torch.arange(stop - start, device=r.device)
        r[idx, idx + start] = 0.0  # the diagonal i = j is not a pair
        total += r.square().sum()
        if need_z:
            w = r / one_u
            gz[start:stop] = zw[start:stop] * w.sum(1, keepdim=True) - w @ zw
        if need_x:
            w = r.div_(one_v).mul_(s2)
            gx[start:stop] = (w @ xw) - xw[start:stop] * w.sum(1, keepdim=True)
    return total, gx, gz


class _ChunkedGME(torch.autograd.Function):
    """Blockwise GME sum ``Σ_{i≠j} r_ij²`` whose gradients are accumulated during the forward pass.

    With ``u_ij = ‖z_i − z_j‖²``, ``v_ij = ‖x_i − x_j‖²`` and ``r_ij = log(1 + u_ij) − log(1 + s² v_ij)``, each
    unordered pair appears twice in the ordered sum, so (closed form, re-derived in ``tests/test_losses.py``)

        ∂/∂z_i = 8 Σ_j r_ij / (1 + u_ij) · (z_i − z_j)
        ∂/∂x_i = −8 s² Σ_j r_ij / (1 + s² v_ij) · (x_i − x_j)

    and ``Σ_j w_ij (a_i − a_j) = a_i · Σ_j w_ij − (W a)_i`` for a block of rows ``i`` against every ``j``. A block of
    ``c`` rows therefore needs ``O(c · B)`` memory and its rows' gradients are final once the block is done: nothing
    is recomputed in the backward pass (unlike activation checkpointing). Double backward is not supported.
    """

    @staticmethod
    def forward(ctx, x: Tensor, z: Tensor, data_scale: float, chunk: int) -> Tensor:  # noqa: D401
        total, gx, gz = _chunked_gme(x, z, data_scale, chunk, ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        need_x, need_z = gx is not None, gz is not None
        ctx.save_for_backward(gx.mul_(8.0) if need_x else None, gz.mul_(8.0) if need_z else None)
        ctx.dtypes = (x.dtype, z.dtype)
        return total

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):
        gx, gz = ctx.saved_tensors
        gx = None if gx is None else (gx * grad_out).to(ctx.dtypes[0])
        gz = None if gz is None else (gz * grad_out).to(ctx.dtypes[1])
        return gx, gz, None, None


def gme_cost(
    x: Tensor,
    z: Tensor,
    *,
    data_scale: float = 1.0,
    chunk_size: int | None = None,
    reduction: Reduction = "ustat",
) -> Tensor:
    """Minibatch Gromov-Monge embedding cost ``GM(T; µ_B)`` (GPE eq. 14; GMEGAN eqs. 3.2–3.4).

    ``GM = 1/(B(B−1)) Σ_{i≠j} ( log(1 + ‖z_i − z_j‖²) − log(1 + s²‖x_i − x_j‖²) )²``

    Args:
        x: data, shape ``(B, ...)``; flattened per row. Gradients flow into ``x`` only if it requires them.
        z: latents ``T(x)``, shape ``(B, d)``.
        data_scale: ``s``, multiplies data distances (use < 1 for very high-dimensional data).
        chunk_size: if given, evaluate ``chunk_size`` rows at a time and accumulate the closed-form gradients
            block by block in the same pass (:class:`_ChunkedGME`), so that peak memory is ``O(B · chunk_size)``
            instead of ``O(B²)`` for forward *and* backward with no recomputation; values and gradients equal the
            dense path up to floating-point summation order. No double backward through this path.
        reduction: ``"ustat"`` (default) averages the ``B(B−1)`` ordered pairs ``i ≠ j`` (unbiased U-statistic);
            ``"vstat"`` averages all ``B²`` entries (diagonal = 0), i.e. ``(B−1)/B`` times the U-statistic.

    Returns:
        A scalar tensor.
    """
    _check_pair(x, z)
    if reduction not in ("ustat", "vstat"):
        raise ValueError(f"reduction must be 'ustat' or 'vstat'; got {reduction!r}")
    b = z.shape[0]
    denom = b * (b - 1) if reduction == "ustat" else b * b
    xf = _flat(x)
    if chunk_size is None or chunk_size >= b:
        total = gme_cost_matrix(xf, z, data_scale=data_scale).sum()
        return total / denom
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size}")
    if torch.is_grad_enabled() and (xf.requires_grad or z.requires_grad):
        total = _ChunkedGME.apply(xf, z, float(data_scale), int(chunk_size))
    else:  # no gradient wanted: the blockwise sum alone
        total = _chunked_gme(xf, z, float(data_scale), int(chunk_size), False, False)[0]
    return total / denom


def reconstruction_mse(x_hat: Tensor, x: Tensor) -> Tensor:
    """Per-pixel mean squared error ``mean((x̂ − x)²)`` (SPEC §1, data on [−1, 1])."""
    if x_hat.shape != x.shape:
        raise ValueError(f"reconstruction shape {tuple(x_hat.shape)} differs from data shape {tuple(x.shape)}")
    return (x_hat - x).square().mean()


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(µ, diag σ²) ‖ N(0, I))`` summed over the latent coordinates, averaged over the batch.

    Closed form: ``½ Σ_k (µ_k² + σ_k² − 1 − log σ_k²)``. Shapes ``(B, d)`` → scalar.
    """
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(dim=1).mean()


def mds_penalty(x: Tensor, z: Tensor) -> Tensor:
    """MDS regulariser ``mean_{i≠j} (‖z_i − z_j‖ − ‖x_i − x_j‖)²`` (Yu et al. 2013; GPE §8.4).

    ``x``: ``(B, ...)`` data, ``z``: ``(B, d)`` latent means. The square root of the clamped Gram distances is
    taken with a small floor so the gradient stays finite on the diagonal, which is excluded anyway.
    """
    _check_pair(x, z)
    b = z.shape[0]
    with torch.no_grad():
        dx = pairwise_sq_dists(x).sqrt()
    dz = (pairwise_sq_dists(z) + 1e-12).sqrt()
    r = (dz - dx).square()
    eye = torch.eye(b, dtype=torch.bool, device=r.device)
    return r.masked_fill(eye, 0.0).sum() / (b * (b - 1))


def released_decoder_loss(x_hat: Tensor, x: Tensor, z: Tensor, z_cycle: Tensor) -> dict[str, Tensor]:
    """The decoder loss of the GPE authors' released code (SPEC §2 "as released"; the paper prints plain
    reconstruction): on standardised latents ``z = (T(x) − m)·C`` and the decoder's output ``x̂ = S(z)``,

        mean(z − z_cycle)² + mean(x̂ − x)² + mean|x̂ − x|,   z_cycle = (T(S(z)) − m)·C,

    a latent cycle term, the per-pixel MSE and an L1 term, each a mean over its elements. ``x_hat``, ``x``:
    ``(B, ...)``; ``z``, ``z_cycle``: ``(B, d)``. Returns ``{"loss": sum, "mse", "cycle", "l1"}`` (``mse`` is the
    quantity the paper's thresholds are stated in)."""
    mse = reconstruction_mse(x_hat, x)
    if z.shape != z_cycle.shape:
        raise ValueError(f"latent shapes differ: z {tuple(z.shape)}, cycle {tuple(z_cycle.shape)}")
    cycle = (z - z_cycle).square().mean()
    l1 = (x_hat - x).abs().mean()
    return {"loss": cycle + mse + l1, "mse": mse, "cycle": cycle, "l1": l1}
