"""``K`` runs of a generator-against-critic baseline — GAN, WGAN, WGAN-GP, WGAN-div (:class:`BatchedCritic`) and OTM
(:class:`BatchedOTM`), GMEGAN §6's baselines, whose single forms are in :mod:`gpelib.gan.baselines` — as one batched
model (issue 28, item 2), the way :class:`~gpelib.gan.batched.BatchedGMEGAN` batches GMEGAN: stacked MLPs
(:class:`~gpelib.gan.batched.StackedNet`), each run's randomness from its own :class:`~gpelib.gan.batched.RunStream`
in its single run's order, one optimiser over the stack (Adam, or WGAN's RMSprop: elementwise, so ``K`` independent
ones).

Shapes: real and generated batches ``(K, B, D)``, critic values ``(K, B)``, every loss ``(K,)``; the sum over runs is
what ``backward`` sees, so each run's slice of the stacked parameters gets exactly its own gradient. Per run ``k``
(means over its batch), with ``f = ψ_k`` and ``x̃ = G_k(y)``:

* GAN: critic ``softplus(−f(x)) + softplus(f(x̃))``, generator ``softplus(−f(x̃))``;
* WGAN: critic ``f(x̃) − f(x)``, weights clipped to ``[−c, c]`` after each update, generator ``−f(x̃)``;
* WGAN-GP: critic ``f(x̃) − f(x) + λ(‖∇f(x̂)‖ − 1)²``, ``x̂ = εx + (1 − ε)x̃``, ``ε ~ U[0, 1]`` from the run's
  stream; WGAN-div: ``f(x̃) − f(x) + k/2 (‖∇f(x)‖^p + ‖∇f(x̃)‖^p)``; generator ``−f(x̃)`` for both.

One iteration: ``n_critic`` critic updates (the first on the run's batch, the others on fresh batches of its pool),
then one generator update — :meth:`~gpelib.gan.method_base.GANMethod.step`. OTM's iteration is ``t_steps`` map
updates, then its potential's updates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..train_setup import adam
from .baselines import GAN, OTM, WGAN, WGANGP, WGANDiv
from .batched import BatchedMethod, _sq_norm, batched_grad_norm_sq
from .method_base import frozen

__all__ = ["BatchedCritic", "BatchedOTM"]


class BatchedCritic(BatchedMethod):
    """``K`` runs of GAN, WGAN, WGAN-GP or WGAN-div (module docstring), all of one method and one set of
    hyper-parameters."""

    METHODS = (GAN, WGAN, WGANGP, WGANDiv)

    def _setup(self) -> None:
        self.kind = type(self.methods[0])

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The single method's optimisers over the stacked parameters (RMSprop for WGAN, else Adam)."""
        hp, n = self.hp, self.nets
        if self.kind is WGAN:
            return {"generator": torch.optim.RMSprop(n["generator"].parameters(), lr=hp.lr),
                    "critic": torch.optim.RMSprop(n["critic"].parameters(), lr=hp.lr)}
        return {"generator": adam(n["generator"].parameters(), lr=hp.lr_g, betas=hp.betas),
                "critic": adam(n["critic"].parameters(), lr=hp.lr_d, betas=hp.betas)}

    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The quantity each run's critic minimises, ``(K,)``, and its logged components (``grad_penalty`` for
        WGAN-GP and WGAN-div)."""
        psi, b = self.nets["critic"], x_real.shape[1]
        out = psi(torch.cat([x_fake, x_real], dim=1))
        fake, real = out[:, :b], out[:, b:]
        if self.kind is GAN:
            return F.softplus(-real).mean(dim=1) + F.softplus(fake).mean(dim=1), {}
        gap = fake.mean(dim=1) - real.mean(dim=1)
        if self.kind is WGAN:
            return gap, {}
        if self.kind is WGANGP:
            eps = self.uniforms(b).to(x_real).reshape(*eps_shape(x_real))
            x_hat = eps * x_real.detach() + (1.0 - eps) * x_fake.detach()
            norm = (batched_grad_norm_sq(psi, x_hat) + 1e-12).sqrt()
            gp = self.hp.gp_weight * (norm - 1.0).square().mean(dim=1)
            return gap + gp, {"grad_penalty": gp}
        p = self.hp.p / 2
        pen = self.hp.k * 0.5 * (batched_grad_norm_sq(psi, x_real).pow(p).mean(dim=1)
                                 + batched_grad_norm_sq(psi, x_fake).pow(p).mean(dim=1))
        return gap + pen, {"grad_penalty": pen}

    def generator_loss(self, x_fake: Tensor) -> Tensor:
        """What each run's generator minimises, ``(K,)``."""
        out = self.nets["critic"](x_fake)
        return F.softplus(-out).mean(dim=1) if self.kind is GAN else -out.mean(dim=1)

    @torch.no_grad()
    def _after_critic_step(self) -> None:
        """WGAN: every critic weight clipped to ``[−clip, clip]`` after each update."""
        if self.kind is WGAN:
            for q in self.nets["critic"].parameters():
                q.clamp_(-self.hp.clip, self.hp.clip)

    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        """One generator update of every run (critics frozen); ``(K,)`` logs."""
        opt = self.optimizers["generator"]
        opt.zero_grad(set_to_none=True)
        with frozen(self.nets["critic"]):
            loss = self.generator_loss(self.nets["generator"](self.latents(x.shape[1])))
            loss.sum().backward()
        opt.step()
        return {"loss": loss.detach()}

    def step(self, x: Tensor) -> dict[str, Tensor]:
        """One generator iteration of every run on ``x`` ``(K, B, ...)``, as the single method's ``step``."""
        d_out: dict[str, Tensor] = {}
        for i in range(int(self.hp.n_critic)):
            d_out = self.discriminator_step(x if i == 0 else self.real_batches(x))
        return {**self.generator_step(x), **d_out}


class BatchedOTM(BatchedMethod):
    """``K`` OTM runs (Rout, Korotin & Burnaev 2022, eq. 9; :class:`~gpelib.gan.baselines.OTM`): per run the map
    ``T_k`` minimises ``E_z[‖Q z − T_k Q z‖²/2 − f_k(T_k Q z)]`` (``t_steps`` updates), then the potential ``f_k``
    minimises ``E_z f_k(T_k Q z) − E_x f_k(x)``. ``Q``, the fixed embedding, is each run's own buffer ``(D, d)``."""

    METHODS = (OTM,)
    FIXED = ("embedding",)

    def _setup(self) -> None:
        self.q = torch.stack([m.nets.embedding.weight for m in self.methods])  # (K, D, d)
        self.shape = self.methods[0].nets.embedding.data_shape

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        hp, n = self.hp, self.nets
        return {"transport_map": adam(n["transport_map"].parameters(), lr=hp.lr_t, betas=hp.betas),
                "critic": adam(n["critic"].parameters(), lr=hp.lr_f, betas=hp.betas)}

    def embed(self, z: Tensor) -> Tensor:
        """``Q_k z`` for each run, ``(K, B, d) → (K, B, *data_shape)``."""
        return torch.bmm(z, self.q.transpose(1, 2)).reshape(*z.shape[:2], *self.shape)

    def generator_step(self, x: Tensor, *, log: bool = True) -> dict[str, Tensor]:
        """One map update of every run; logs as the single method's (``log=False``: without the potential's pass
        over the real batch that only the logged value needs)."""
        tm, f = self.nets["transport_map"], self.nets["critic"]
        opt = self.optimizers["transport_map"]
        opt.zero_grad(set_to_none=True)
        u = self.embed(self.latents(x.shape[1]))
        with frozen(f):
            tu = tm(u)
            cost = 0.5 * _sq_norm(u - tu, "sum")
            loss = cost - f(tu).mean(dim=1)
            loss.sum().backward()
            if log:
                with torch.no_grad():
                    loss = loss + f(x).mean(dim=1)
        opt.step()
        return {"loss": loss.detach(), "transport_cost": cost.detach()}

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        """One potential update of every run; ``(K,)`` logs."""
        f, b = self.nets["critic"], x.shape[1]
        with torch.no_grad():
            tu = self.nets["transport_map"](self.embed(self.latents(b)))
        opt = self.optimizers["critic"]
        opt.zero_grad(set_to_none=True)
        out = f(torch.cat([tu, x], dim=1))
        loss = out[:, :b].mean(dim=1) - out[:, b:].mean(dim=1)
        loss.sum().backward()
        opt.step()
        return {"d_loss": loss.detach()}

    def step(self, x: Tensor) -> dict[str, Tensor]:
        """``t_steps`` map updates, then ``n_critic`` potential updates (their Algorithm 1), as the single ``step``."""
        t = int(self.hp.t_steps)
        g_out: dict[str, Tensor] = {}
        for i in range(t):
            g_out = self.generator_step(x, log=i == t - 1)
        d_out: dict[str, Tensor] = {}
        for k in range(int(self.hp.n_critic)):
            d_out = self.discriminator_step(x if k == 0 else self.real_batches(x))
        return {**g_out, **d_out}


def eps_shape(x: Tensor) -> tuple[int, ...]:
    """``(K, B, 1, …)``: one interpolation weight per point of a ``(K, B, ...)`` batch."""
    return (*x.shape[:2], *([1] * (x.ndim - 2)))
