"""GMEGAN (GMEGAN §5, eqs. 5.1–5.2, Algorithm 1) and its variants: the settings as printed and as released
(:data:`GMEGAN_VARIANTS`, :class:`GMEGANHyper`), registered as ``gmegan``, ``gmegan_mean`` and ``gmegan_released``.

The interface is :class:`~gpelib.gan.method_base.GANMethod`; :mod:`gpelib.gan.methods` re-exports every name here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from ..losses import gme_cost
from .method_base import _adam, _CriticMethod, _sq_norm, frozen, grad_norm_sq_at, register_method

__all__ = [
    "GMEGAN_VARIANTS",
    "GMEGANHyper",
    "GMEGANMeanHyper",
    "GMEGANReleasedHyper",
    "GMEGAN",
    "GMEGANMean",
    "GMEGANReleased",
]


# --------------------------------------------------------------------------------------------------------------
# GMEGAN
# --------------------------------------------------------------------------------------------------------------


GMEGAN_VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "as_printed": {
        "vectors": dict(lambda1=10.0, lambda2=1.0, lambda3=5.0, lr_g=1e-4, lr_d=1e-4, reduction="sum", penalty_p=2.0,
                        penalty_on="real", updates="joint", reconstruction="r_inv", latent_scale=1.0),
        "images": dict(lambda1=10.0, lambda2=1.0, lambda3=5.0, lr_g=2e-4, lr_d=1e-4, reduction="sum", penalty_p=2.0,
                       penalty_on="real", updates="joint", reconstruction="r_inv", latent_scale=1.0),
    },
    "as_released": {
        "vectors": dict(lambda1=10.0, lambda2=5.0, lambda3=5.0, lr_g=1e-3, lr_d=1e-4, reduction="mean",
                        penalty_p=6.0, penalty_on="both", updates="joint", reconstruction="r_inv", latent_scale=1.0),
        "images": dict(lambda1=10.0, lambda2=1.0, lambda3=1.0, lr_g=2e-5, lr_t=1e-5, lr_d=1e-5, reduction="mean",
                       penalty_p=2.0, penalty_on="both", updates="separate", reconstruction="direct",
                       latent_scale=3.0),
    },
}
GMEGAN_VARIANTS["as_printed_mean"] = {k: {**v, "reduction": "mean"} for k, v in GMEGAN_VARIANTS["as_printed"].items()}
"""GMEGAN's settings by variant and data kind (SPEC §2, "as printed / as released"), filled into every
:class:`GMEGANHyper` field left at ``None``.

* ``as_printed`` — eq. 5.2 read literally with GMEGAN Table 1 (squared norms summed over coordinates, penalty
  ``λ2·E‖∇ψ(x)‖²`` on real points with the maximiser's sign corrected, one Adam for ``G, T, R_inv``).
* ``as_printed_mean`` — the same with per-coordinate means (what separates the printed from the released scaling).
* ``as_released`` — the settings of the authors' public code, stated as facts (their code is not copied). Mixtures:
  every term a mean; one Adam for ``G, T, R_inv`` at lr 1e-3; weights GME 10, transport 0.5, reconstruction 5;
  a W-div penalty on real and generated points ``k/2·(E‖∇ψ(x)‖^p + E‖∇ψ(G y)‖^p)``, ``p = 6``, ``k = λ2 = 5``. The
  critic's rate is not among the stated facts: Table 1's 1e-4. CIFAR10: ``T`` and ``G`` take separate Adam steps
  (``T``: transport 0.5 + GME 10 with the latent squared distances multiplied by 9, i.e. ``latent_scale = 3``;
  ``G``: transport 0.5 + reconstruction ``mean(G(T x) − x)²`` weight 1, no ``R_inv``, + adversarial), lr 1e-5 for
  ``T`` and the critic, 2e-5 for ``G``; W-div penalty ``p = 2``, ``k = 1``.
"""


@dataclass
class GMEGANHyper:
    """GMEGAN settings; every field left at ``None`` is filled from :data:`GMEGAN_VARIANTS` ``[variant]`` for the
    data kind (``"vectors"`` or ``"images"``).

    ``lambda1`` GME weight, ``lambda2`` critic penalty weight, ``lambda3`` reconstruction weight,
    ``transport_weight`` the weight of ``‖T(G(y)) − y‖²`` (eq. 5.2: ½). ``lr_g`` for ``(G, T, R_inv)`` (``lr_t``
    for ``T`` when ``updates="separate"``), ``lr_d`` for ``ψ``. ``reduction``: ``"sum"`` squared norms summed over
    coordinates (eq. 5.2 as printed), ``"mean"`` per-coordinate means. Penalty: ``λ2·mean ‖∇ψ‖^p`` at the real
    points (``penalty_on="real"``) or ``λ2/2·(mean ‖∇ψ(x)‖^p + mean ‖∇ψ(G y)‖^p)`` (``"both"``, the W-div form).
    ``updates``: ``"joint"`` (one Adam step of ``G, T, R_inv`` on the whole objective) or ``"separate"`` (a ``T`` step
    on transport + GME, then a ``G`` step on transport + reconstruction + adversarial). ``reconstruction``:
    ``"r_inv"`` (``G(R_inv(T x))``) or ``"direct"`` (``G(T x)``). ``latent_scale``: the latents enter the GME cost as
    ``latent_scale·T(x)`` (squared distances × ``latent_scale²``). ``data_scale``/``chunk_size`` go to
    :func:`gpelib.losses.gme_cost`."""

    variant: str = "as_printed"
    lambda1: float | None = None
    lambda2: float | None = None
    lambda3: float | None = None
    transport_weight: float = 0.5
    lr_g: float | None = None
    lr_t: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    reduction: str | None = None
    penalty_p: float | None = None
    penalty_on: str | None = None
    updates: str | None = None
    reconstruction: str | None = None
    latent_scale: float | None = None
    data_scale: float = 1.0
    chunk_size: int | None = None


_CHOICES = {"reduction": ("sum", "mean"), "penalty_on": ("real", "both"), "updates": ("joint", "separate"),
            "reconstruction": ("r_inv", "direct")}


@register_method("gmegan")
class GMEGAN(_CriticMethod):
    """GMEGAN (Lee, Yang, Zou & Lerman; GMEGAN §5, eqs. 5.1–5.2, Algorithm 1), as printed by default.

    ``min_{G, T, R_inv} max_ψ L`` with

        L = E_y[‖T(G(y)) − y‖²/2] + λ1·GM(T; µ) + λ3·E_x‖G(R_inv(T x)) − x‖² + [E_y ψ(G(y)) − E_x ψ(x)]

    ``GM(T; µ)``: the minibatch GME cost (U-statistic, GMEGAN eqs. 3.2–3.4) of ``T`` on the real batch. ``G, T,
    R_inv`` descend ``L`` with one Adam. ``ψ`` *ascends* ``E_y ψ(G(y)) − E_x ψ(x) − λ2·E_x‖∇ψ(x)‖²`` (the printed
    eq. 5.2 puts ``+λ2``, wrong for a maximiser; SPEC §1), i.e. it minimises
    ``critic_loss = −(E ψ(G y) − E ψ(x)) + λ2·E‖∇ψ(x)‖²``: ``ψ`` scores fakes *high*, and the generator, minimising
    ``E ψ(G(y))``, moves fakes to where ``ψ`` is low, i.e. towards the data. ``y ~ N(0, I_d)``.
    Setting any ``λ_i = 0`` gives the ablations of GMEGAN §6.4 (the term is then only logged). The variants of
    :data:`GMEGAN_VARIANTS` (``hyper={"variant": "as_released"}``, or the registry names ``gmegan_mean`` and
    ``gmegan_released``) change the reductions, the penalty, the update order and the reconstruction path.
    """

    REQUIRES = ("generator", "encoder", "r_inv", "critic")
    GENERATOR_SIDE = ("generator", "encoder", "r_inv")
    CRITIC_SIDE = ("critic",)
    Hyper = GMEGANHyper

    def _resolve(self, hp: GMEGANHyper) -> GMEGANHyper:
        if hp.variant not in GMEGAN_VARIANTS:
            raise ValueError(f"unknown GMEGAN variant {hp.variant!r}; known: {sorted(GMEGAN_VARIANTS)}")
        table = GMEGAN_VARIANTS[hp.variant]["images" if self.is_image else "vectors"]
        hp = replace(hp, **{k: v for k, v in table.items() if getattr(hp, k) is None})
        for k, allowed in _CHOICES.items():
            if getattr(hp, k) not in allowed:
                raise ValueError(f"{k} must be one of {allowed}; got {getattr(hp, k)!r}")
        if hp.lr_t is None:
            hp = replace(hp, lr_t=hp.lr_g)
        return hp

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self.hp.updates == "joint":
            return super()._build_optimizers()
        gen = [self.nets.generator] + ([self.nets.r_inv] if self.hp.reconstruction == "r_inv" else [])
        return {"generator": _adam(gen, self.hp.lr_g, self.hp.betas),
                "encoder": _adam([self.nets.encoder], self.hp.lr_t, self.hp.betas),
                "critic": _adam([self.nets.critic], self.hp.lr_d, self.hp.betas)}

    def latent_of(self, x: Tensor) -> Tensor:
        """The geometry-preserving encoder ``T(x)``: ``(B, *data_shape) → (B, d)``."""
        return self.nets.encoder(x)

    def critic_penalty(self, x_real: Tensor, x_fake: Tensor) -> Tensor:
        """``mean ‖∇ψ(x)‖^p`` over the real points, or ``½(mean ‖∇ψ(x)‖^p + mean ‖∇ψ(x_fake)‖^p)`` (``penalty_on =
        "both"``); the critic loss adds ``λ2`` times it."""
        psi, half_p = self.nets.critic, self.hp.penalty_p / 2.0
        pen = grad_norm_sq_at(psi, x_real).pow(half_p).mean()
        if self.hp.penalty_on == "both":
            pen = 0.5 * (pen + grad_norm_sq_at(psi, x_fake).pow(half_p).mean())
        return pen

    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """``−(E ψ(x_fake) − E ψ(x_real)) + λ2·penalty`` (minimised by ψ; GMEGAN eq. 5.2, corrected sign)."""
        psi = self.nets.critic
        gap = psi(x_fake).mean() - psi(x_real).mean()
        pen = self.critic_penalty(x_real, x_fake) if self.hp.lambda2 else gap.new_zeros(())
        return -(gap - self.hp.lambda2 * pen), {"gap": gap, "grad_penalty": pen}

    def generator_loss(self, x_fake: Tensor) -> Tensor:
        """The adversarial part ``E ψ(G(y))`` alone (the full objective is in :meth:`generator_step`)."""
        return self.nets.critic(x_fake).mean()

    def _gme(self, x: Tensor, tx: Tensor) -> Tensor:
        with contextlib.nullcontext() if self.hp.lambda1 else torch.no_grad():
            return gme_cost(x, self.hp.latent_scale * tx, data_scale=self.hp.data_scale, chunk_size=self.hp.chunk_size)

    def _reconstruct(self, tx: Tensor) -> Tensor:
        return self.nets.generator(self.nets.r_inv(tx) if self.hp.reconstruction == "r_inv" else tx)

    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        """The generator side's update on ``L`` (GMEGAN eq. 5.2): one Adam step of ``(G, T, R_inv)``, or a ``T`` step
        then a ``G`` step (``updates="separate"``); the critic is frozen."""
        if self.hp.updates == "separate":
            return self._separate_steps(x)
        G, T, psi = self.nets.generator, self.nets.encoder, self.nets.critic
        hp = self.hp
        opt = self._optimizers["generator"]
        opt.zero_grad(set_to_none=True)
        y = self.sample_latent(x.shape[0])
        with frozen(psi):
            fake = G(y)
            ot = hp.transport_weight * _sq_norm(T(fake) - y, hp.reduction)
            tx = T(x)
            gme = self._gme(x, tx)
            with contextlib.nullcontext() if hp.lambda3 else torch.no_grad():
                rec = _sq_norm(self._reconstruct(tx) - x, hp.reduction)
            adv = psi(fake).mean() - psi(x).mean()
            loss = ot + adv
            if hp.lambda1:
                loss = loss + hp.lambda1 * gme
            if hp.lambda3:
                loss = loss + hp.lambda3 * rec
            loss.backward()
        opt.step()
        return {"loss": loss.detach(), "ot": ot.detach(), "gme": gme.detach(), "recon": rec.detach(),
                "adv": adv.detach()}

    def _separate_steps(self, x: Tensor) -> dict[str, Tensor]:
        """``T`` step on ``transport + λ1·GM`` (``G`` fixed), then ``G`` step on ``transport + λ3·reconstruction +
        E ψ(G y)`` (``T`` fixed), one latent batch for both."""
        G, T, psi = self.nets.generator, self.nets.encoder, self.nets.critic
        hp = self.hp
        y = self.sample_latent(x.shape[0])
        opt_t = self._optimizers["encoder"]
        opt_t.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake = G(y)
        ot_t = hp.transport_weight * _sq_norm(T(fake) - y, hp.reduction)
        tx = T(x)
        gme = self._gme(x, tx)
        t_loss = ot_t + hp.lambda1 * gme if hp.lambda1 else ot_t
        t_loss.backward()
        opt_t.step()
        opt_g = self._optimizers["generator"]
        opt_g.zero_grad(set_to_none=True)
        with frozen(psi, T):
            fake = G(y)
            ot = hp.transport_weight * _sq_norm(T(fake) - y, hp.reduction)
            with contextlib.nullcontext() if hp.lambda3 else torch.no_grad():
                rec = _sq_norm(self._reconstruct(tx.detach()) - x, hp.reduction)
            adv = psi(fake).mean() - psi(x).mean()
            g_loss = ot + adv + (hp.lambda3 * rec if hp.lambda3 else 0.0)
            g_loss.backward()
        opt_g.step()
        loss = g_loss + (hp.lambda1 * gme if hp.lambda1 else 0.0)
        return {"loss": loss.detach(), "ot": ot.detach(), "gme": gme.detach(), "recon": rec.detach(),
                "adv": adv.detach()}


@dataclass
class GMEGANMeanHyper(GMEGANHyper):
    """:class:`GMEGANHyper` with ``variant="as_printed_mean"``."""

    variant: str = "as_printed_mean"


@dataclass
class GMEGANReleasedHyper(GMEGANHyper):
    """:class:`GMEGANHyper` with ``variant="as_released"``."""

    variant: str = "as_released"


@register_method("gmegan_mean")
class GMEGANMean(GMEGAN):
    """GMEGAN as printed with per-coordinate means (:data:`GMEGAN_VARIANTS` ``["as_printed_mean"]``)."""

    Hyper = GMEGANMeanHyper


@register_method("gmegan_released")
class GMEGANReleased(GMEGAN):
    """GMEGAN with the settings of the authors' released code (:data:`GMEGAN_VARIANTS` ``["as_released"]``)."""

    Hyper = GMEGANReleasedHyper
