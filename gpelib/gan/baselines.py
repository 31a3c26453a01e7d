"""The seven baselines of GMEGAN §6, one small class each: GAN, WGAN, WGAN-GP, WGAN-div, OTM, VAEGAN and VEEGAN,
each with its ``Hyper`` dataclass (its paper's settings, else GMEGAN Table 1), registered under ``gan``, ``wgan``,
``wgan_gp``, ``wgan_div``, ``otm``, ``vaegan`` and ``veegan``.

The interface is :class:`~gpelib.gan.method_base.GANMethod`; :mod:`gpelib.gan.methods` re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..losses import gaussian_kl
from .method_base import (
    GANMethod,
    _adam,
    _CriticMethod,
    _sq_norm,
    frozen,
    register_method,
    wgan_div_penalty,
    wgan_gp_penalty,
)

__all__ = [
    "GAN",
    "WGAN",
    "WGANGP",
    "WGANDiv",
    "OTM",
    "VAEGAN",
    "VEEGAN",
    "GANHyper",
    "WGANHyper",
    "WGANGPHyper",
    "WGANDivHyper",
    "OTMHyper",
    "VAEGANHyper",
    "VEEGANHyper",
]


# --------------------------------------------------------------------------------------------------------------
# GAN and the Wasserstein family
# --------------------------------------------------------------------------------------------------------------


@dataclass
class GANHyper:
    """Adam learning rates of G and D and betas (GMEGAN Table 1); one D step per G step."""

    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1


@register_method("gan")
class GAN(_CriticMethod):
    """Non-saturating GAN (Goodfellow et al. 2014, their eq. 1 and §3).

    ``D = σ(ψ)``. D maximises ``E log D(x) + E log(1 − D(G(z)))``, i.e. minimises
    ``softplus(−ψ(x)) + softplus(ψ(G z))`` (means); G minimises ``−E log D(G(z)) = E softplus(−ψ(G z))``.
    """

    Hyper = GANHyper

    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        psi = self.nets.critic
        return F.softplus(-psi(x_real)).mean() + F.softplus(psi(x_fake)).mean(), {}

    def generator_loss(self, x_fake: Tensor) -> Tensor:
        return F.softplus(-self.nets.critic(x_fake)).mean()


@dataclass
class WGANHyper:
    """WGAN (Arjovsky et al. 2017, Algorithm 1): RMSProp ``lr`` for both, weights clipped to ``[−clip, clip]``,
    ``n_critic`` critic steps per generator step."""

    lr: float = 5e-5
    clip: float = 0.01
    n_critic: int = 5


@register_method("wgan")
class WGAN(_CriticMethod):
    """WGAN (Arjovsky, Chintala & Bottou 2017, Algorithm 1).

    The critic maximises ``E f(x) − E f(G(z))`` (minimises ``E f(G z) − E f(x)``), its weights clipped to
    ``[−0.01, 0.01]`` after every update, 5 critic steps per generator step, RMSProp lr 5e-5;
    G minimises ``−E f(G(z))``.
    """

    Hyper = WGANHyper

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": torch.optim.RMSprop(self.nets.generator.parameters(), lr=self.hp.lr),
                "critic": torch.optim.RMSprop(self.nets.critic.parameters(), lr=self.hp.lr)}

    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        psi = self.nets.critic
        return psi(x_fake).mean() - psi(x_real).mean(), {}

    def generator_loss(self, x_fake: Tensor) -> Tensor:
        return -self.nets.critic(x_fake).mean()

    @torch.no_grad()
    def _after_critic_step(self) -> None:
        for p in self.nets.critic.parameters():
            p.clamp_(-self.hp.clip, self.hp.clip)


@dataclass
class WGANGPHyper:
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1): ``gp_weight = λ = 10``, 5 critic steps, Adam(1e-4, (0, 0.9))."""

    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)
    gp_weight: float = 10.0
    n_critic: int = 5


@register_method("wgan_gp")
class WGANGP(_CriticMethod):
    """WGAN-GP (Gulrajani et al. 2017, eq. 3).

    The critic minimises ``E f(G(z)) − E f(x) + λ·E(‖∇f(x̂)‖ − 1)²``, ``x̂ = εx + (1−ε)G(z)``, ``ε ~ U[0, 1]``
    (:func:`wgan_gp_penalty`); G minimises ``−E f(G(z))``.
    """

    Hyper = WGANGPHyper

    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        psi = self.nets.critic
        gp = wgan_gp_penalty(psi, x_real, x_fake, weight=self.hp.gp_weight)
        return psi(x_fake).mean() - psi(x_real).mean() + gp, {"grad_penalty": gp}

    def generator_loss(self, x_fake: Tensor) -> Tensor:
        return -self.nets.critic(x_fake).mean()


@dataclass
class WGANDivHyper:
    """WGAN-div (Wu et al. 2018): ``k = 2``, ``p = 6``, 5 critic steps; Adam as GMEGAN Table 1."""

    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    k: float = 2.0
    p: float = 6.0
    n_critic: int = 5


@register_method("wgan_div")
class WGANDiv(_CriticMethod):
    """WGAN-div / WDIV (Wu et al. 2018, the W-div objective).

    The critic minimises ``E f(G(z)) − E f(x) + k·E‖∇f(u)‖^p`` with ``u`` the real and the generated points
    (:func:`wgan_div_penalty`); G minimises ``−E f(G(z))``.
    """

    Hyper = WGANDivHyper

    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        psi = self.nets.critic
        pen = wgan_div_penalty(psi, x_real, x_fake, k=self.hp.k, p=self.hp.p)
        return psi(x_fake).mean() - psi(x_real).mean() + pen, {"grad_penalty": pen}

    def generator_loss(self, x_fake: Tensor) -> Tensor:
        return -self.nets.critic(x_fake).mean()


# --------------------------------------------------------------------------------------------------------------
# OTM
# --------------------------------------------------------------------------------------------------------------


@dataclass
class OTMHyper:
    """OTM (Rout, Korotin & Burnaev 2022, Algorithm 1): ``t_steps`` map updates per potential update; Adam for
    both (GMEGAN Table 1 rates)."""

    lr_t: float = 1e-4
    lr_f: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    t_steps: int = 10
    n_critic: int = 1


@register_method("otm")
class OTM(GANMethod):
    """OTM — generative modelling with optimal transport maps (Rout, Korotin & Burnaev, ICLR 2022, eq. 9).

    A fixed embedding ``Q`` of the latent in data space (``embedding`` part: a fixed linear map with orthonormal
    columns), a map ``T`` (``transport_map``) and a potential ``f`` (``critic``) solve

        max_f min_T  E_z[ ‖Q(z) − T(Q(z))‖²/2 − f(T(Q(z))) ] + E_x f(x)

    ``generator_step``: one update of ``T`` on ``E_z[‖Q z − T Q z‖²/2 − f(T Q z)]``; ``discriminator_step``: one
    update of ``f`` minimising ``E_z f(T Q z) − E_x f(x)``. ``step`` runs ``t_steps`` map updates, then one potential
    update (their Algorithm 1). Samples are ``T(Q(z))``.
    """

    REQUIRES = ("transport_map", "critic", "embedding")
    GENERATOR_SIDE = ("transport_map",)
    CRITIC_SIDE = ("critic",)
    Hyper = OTMHyper

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"transport_map": _adam([self.nets.transport_map], self.hp.lr_t, self.hp.betas),
                "critic": _adam([self.nets.critic], self.hp.lr_f, self.hp.betas)}

    def generator_map(self, y: Tensor) -> Tensor:
        """``T(Q(y))``."""
        return self.nets.transport_map(self.nets.embedding(y))

    def generator_step(self, x: Tensor, *, log: bool = True) -> dict[str, Tensor]:
        """One update of ``T``; logs the objective ``E[‖Qz − TQz‖²/2 − f(TQz)] + E f(x)`` — with ``log=False`` (the
        first ``t_steps − 1`` updates of :meth:`step`, whose logs nobody reads) without the extra pass of ``f`` over
        the real batch that only the logged value needs."""
        Tm, f = self.nets.transport_map, self.nets.critic
        opt = self._optimizers["transport_map"]
        opt.zero_grad(set_to_none=True)
        u = self.nets.embedding(self.sample_latent(x.shape[0]))
        with frozen(f):
            tu = Tm(u)
            cost = 0.5 * _sq_norm(u - tu)
            loss = cost - f(tu).mean()
            loss.backward()
            if log:
                with torch.no_grad():
                    loss = loss + f(x).mean()
        opt.step()
        return {"loss": loss.detach(), "transport_cost": cost.detach()}

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        f = self.nets.critic
        with torch.no_grad():
            tu = self.generator_map(self.sample_latent(x.shape[0]))
        opt = self._optimizers["critic"]
        opt.zero_grad(set_to_none=True)
        loss = f(tu).mean() - f(x).mean()
        loss.backward()
        opt.step()
        return {"d_loss": loss.detach()}

    @property
    def generator_updates(self) -> int:
        """``t_steps`` map updates per potential update (their Algorithm 1)."""
        return int(self.hp.t_steps)

    def step(self, x: Tensor) -> dict[str, Tensor]:
        g_out: dict[str, Tensor] = {}
        for i in range(self.generator_updates):
            g_out = self.generator_step(x, log=i == self.generator_updates - 1)
        d_out: dict[str, Tensor] = {}
        for k in range(self.n_critic):
            d_out = self.discriminator_step(x if k == 0 else self._real_batch(x))
        return {**g_out, **d_out}


# --------------------------------------------------------------------------------------------------------------
# Encoder-based GANs: VAEGAN, VEEGAN
# --------------------------------------------------------------------------------------------------------------


@dataclass
class VAEGANHyper:
    """VAEGAN (Larsen et al. 2016): ``gamma`` weights feature reconstruction against the GAN term in the decoder's
    loss; ``kl_weight`` the prior term in the encoder's; Adam (GMEGAN Table 1 rates) for Enc, Dec and Dis."""

    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    gamma: float = 1.0
    kl_weight: float = 1.0
    n_critic: int = 1


@register_method("vaegan")
class VAEGAN(GANMethod):
    """VAE/GAN (Larsen, Sønderby, Larochelle & Winther, ICML 2016, eqs. 8–9 and Algorithm 1).

    Encoder ``q(z|x) = N(µ(x), σ²(x))`` (``vae_encoder``), decoder ``Dec = G`` (``generator``), discriminator
    ``Dis = σ(ψ)`` with features ``Dis_l = ψ.features`` (the last hidden layer). With ``x̃ = Dec(µ + σ ⊙ ξ)`` and
    ``x_p = Dec(z)``, ``z ~ N(0, I)``:

    * ``L_prior = KL(q(z|x) ‖ N(0, I))`` (summed over the ``d`` coordinates),
    * ``L_llike = E ½‖Dis_l(x) − Dis_l(x̃)‖²`` (unit-variance Gaussian in feature space, eq. 7),
    * ``L_GAN = E log Dis(x) + E log(1 − Dis(x_p)) + E log(1 − Dis(x̃))`` (eq. 8), maximised by Dis.

    Enc minimises ``kl_weight·L_prior + L_llike``; Dec minimises ``γ·L_llike`` plus the non-saturating GAN terms
    ``−E log Dis(x_p) − E log Dis(x̃)``; Dis is not trained on ``L_llike``.
    """

    REQUIRES = ("vae_encoder", "generator", "critic")
    GENERATOR_SIDE = ("vae_encoder", "generator")
    CRITIC_SIDE = ("critic",)
    Hyper = VAEGANHyper

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"encoder": _adam([self.nets.vae_encoder], self.hp.lr_g, self.hp.betas),
                "generator": _adam([self.nets.generator], self.hp.lr_g, self.hp.betas),
                "critic": _adam([self.nets.critic], self.hp.lr_d, self.hp.betas)}

    def latent_of(self, x: Tensor) -> Tensor:
        """The encoder mean ``µ(x)``."""
        return self.nets.vae_encoder(x)

    def _encode_decode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.nets.vae_encoder.distribution(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        return mu, logvar, self.nets.generator(z)

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        psi = self.nets.critic
        with torch.no_grad():
            x_p = self.nets.generator(self.sample_latent(x.shape[0]))
            x_t = self._encode_decode(x)[2]
        opt = self._optimizers["critic"]
        opt.zero_grad(set_to_none=True)
        loss = F.softplus(-psi(x)).mean() + F.softplus(psi(x_p)).mean() + F.softplus(psi(x_t)).mean()
        loss.backward()
        opt.step()
        return {"d_loss": loss.detach()}

    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        enc, dec, psi = self.nets.vae_encoder, self.nets.generator, self.nets.critic
        opt_e, opt_g = self._optimizers["encoder"], self._optimizers["generator"]
        opt_e.zero_grad(set_to_none=True)
        opt_g.zero_grad(set_to_none=True)
        with frozen(psi):
            mu, logvar, x_t = self._encode_decode(x)
            x_p = dec(self.sample_latent(x.shape[0]))
            kl = gaussian_kl(mu, logvar)
            feat_t = psi.features(x_t)
            with torch.no_grad():
                feat_x = psi.features(x)
            llike = 0.5 * (feat_t - feat_x).square().sum(dim=1).mean()
            adv = F.softplus(-psi.head(feat_t).squeeze(1)).mean() + F.softplus(-psi(x_p)).mean()
            enc_loss = self.hp.kl_weight * kl + llike
            dec_loss = self.hp.gamma * llike + adv
            e_params, g_params = list(enc.parameters()), list(dec.parameters())
            e_grads = torch.autograd.grad(enc_loss, e_params, retain_graph=True)
            g_grads = torch.autograd.grad(dec_loss, g_params)
        for p, g in zip(e_params, e_grads):
            p.grad = g
        for p, g in zip(g_params, g_grads):
            p.grad = g
        opt_e.step()
        opt_g.step()
        return {"loss": (enc_loss + dec_loss).detach(), "kl": kl.detach(), "feature_rec": llike.detach(),
                "g_adv": adv.detach()}


@dataclass
class VEEGANHyper:
    """VEEGAN (Srivastava et al. 2017): ``recon_weight`` on ``E‖z − F(G(z))‖²``; Adam (GMEGAN Table 1 rates)."""

    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    recon_weight: float = 1.0
    n_critic: int = 1


@register_method("veegan")
class VEEGAN(GANMethod):
    """VEEGAN (Srivastava, Valkov, Russell, Gutmann & Sutton, NeurIPS 2017, eq. 8 and Algorithm 1).

    Generator ``G: z → x``, reconstructor ``F: x → z`` (``encoder`` part), joint discriminator ``D(z, x)``
    (``joint_critic``, a logit). D separates generator pairs ``(z, G(z))`` (label 1) from data pairs ``(F(x), x)``
    (label 0): it minimises ``E softplus(−D(z, G z)) + E softplus(D(F x, x))``. G and F minimise

        E_z D(z, G(z)) + recon_weight · E_z ‖z − F(G(z))‖²

    (the logit estimates the log density ratio, so its mean is the KL term of their eq. 8). ``z ~ N(0, I)``.
    """

    REQUIRES = ("generator", "encoder", "joint_critic")
    GENERATOR_SIDE = ("generator", "encoder")
    CRITIC_SIDE = ("joint_critic",)
    Hyper = VEEGANHyper

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": _adam([self.nets.generator, self.nets.encoder], self.hp.lr_g, self.hp.betas),
                "critic": _adam([self.nets.joint_critic], self.hp.lr_d, self.hp.betas)}

    def latent_of(self, x: Tensor) -> Tensor:
        """The reconstructor ``F(x)``."""
        return self.nets.encoder(x)

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        D = self.nets.joint_critic
        with torch.no_grad():
            z = self.sample_latent(x.shape[0])
            xg = self.nets.generator(z)
            zf = self.nets.encoder(x)
        opt = self._optimizers["critic"]
        opt.zero_grad(set_to_none=True)
        loss = F.softplus(-D(z, xg)).mean() + F.softplus(D(zf, x)).mean()
        loss.backward()
        opt.step()
        return {"d_loss": loss.detach()}

    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        D, G, Fr = self.nets.joint_critic, self.nets.generator, self.nets.encoder
        opt = self._optimizers["generator"]
        opt.zero_grad(set_to_none=True)
        z = self.sample_latent(x.shape[0])
        with frozen(D):
            xg = G(z)
            adv = D(z, xg).mean()
            rec = _sq_norm(z - Fr(xg))
            loss = adv + self.hp.recon_weight * rec
            loss.backward()
        opt.step()
        return {"loss": loss.detach(), "adv": adv.detach(), "recon": rec.detach()}
