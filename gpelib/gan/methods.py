"""GMEGAN (GMEGAN §5, eqs. 5.1–5.2) and the seven baselines of GMEGAN §6, one small class each, in ONE registry.

Every method shares one interface (:class:`GANMethod`):

* ``__init__(nets, *, latent_dim=None, **hyper)`` — networks from :func:`~gpelib.gan.architectures.build_networks`
  (the method's ``REQUIRES`` parts); ``hyper`` fields of the method's ``Hyper`` dataclass (paper defaults).
* ``modules()`` / ``optimizers()`` — what :func:`gpelib.train.fit` checkpoints.
* ``step(x)`` — one generator iteration with its critic updates (``n_critic`` critic steps on fresh real batches
  drawn from the data attached with :meth:`GANMethod.attach_data`, else on ``x`` again); returns ``"loss"`` (the
  generator-side objective) and components (``"d_loss"``, ``"gme"``, …).
* ``discriminator_step(x)`` moves only the critic side, ``generator_step(x)`` only the generator side
  (``CRITIC_SIDE`` / ``GENERATOR_SIDE`` name the modules); ``budget()``: gradient updates per network side and
  real batches that one ``step`` costs.
* ``sample(n, *, generator=None)`` (in eval mode, for metrics), ``generator_map(y)``, ``latent_of(x)`` (``None``
  without an encoder); ``generator_map``/``latent_of`` run in whatever mode the modules are in.

Notation: data ``x`` ``(B, *data_shape)``, latents ``y``/``z ~ N(0, I_d)`` ``(B, d)``, ``ψ``/``f``/``D`` the critic
(``(B, *data_shape) → (B,)``), ``σ`` the logistic function, ``softplus(t) = −log σ(−t)``. Squared norms ``‖·‖²`` sum
over all coordinates of a sample and are averaged over the batch.

Optimiser settings come from each method's ``Hyper`` (its paper's settings, else GMEGAN Table 1: Adam 1e-4,
betas (0.5, 0.999)), not from :class:`~gpelib.train.TrainConfig`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..losses import gaussian_kl, gme_cost
from ..models import eval_mode
from ..train import adam
from .architectures import Networks

__all__ = [
    "METHODS",
    "GANMethod",
    "GMEGAN",
    "GMEGANMean",
    "GMEGANReleased",
    "GMEGAN_VARIANTS",
    "GAN",
    "WGAN",
    "WGANGP",
    "WGANDiv",
    "OTM",
    "VAEGAN",
    "VEEGAN",
    "GMEGANHyper",
    "GANHyper",
    "WGANHyper",
    "WGANGPHyper",
    "WGANDivHyper",
    "OTMHyper",
    "VAEGANHyper",
    "VEEGANHyper",
    "register_method",
    "get_method",
    "frozen",
    "grad_norm_sq_at",
    "wgan_gp_penalty",
    "wgan_div_penalty",
]

METHODS: dict[str, type[GANMethod]] = {}


def register_method(name: str):
    """Class decorator adding a :class:`GANMethod` subclass to :data:`METHODS` under ``name`` (sets ``cls.name``)."""

    def deco(cls: type[GANMethod]) -> type[GANMethod]:
        if name in METHODS:
            raise ValueError(f"method {name!r} is already registered")
        cls.name = name
        METHODS[name] = cls
        return cls

    return deco


def get_method(name: str) -> type[GANMethod]:
    """The method class registered as ``name``; ``ValueError`` listing the known names otherwise."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known methods: {sorted(METHODS)}")
    return METHODS[name]


# --------------------------------------------------------------------------------------------------------------
# Helpers: freezing, gradient penalties
# --------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Switch ``requires_grad`` off for every parameter of ``modules`` inside the block (restored afterwards), so a
    generator update neither computes nor leaves gradients on the critic."""
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)


def grad_norm_sq_at(psi: nn.Module, x: Tensor) -> Tensor:
    """``‖∇_x ψ(x_i)‖²`` for each sample, shape ``(B,)``; differentiable (``create_graph=True``) so it can be used
    as a penalty. ``x``: ``(B, ...)``; ``ψ`` returns ``(B,)``. Works inside ``torch.no_grad()`` too."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(psi(xg).sum(), xg, create_graph=True)
    return g.flatten(1).square().sum(dim=1)


def wgan_gp_penalty(
    critic: nn.Module,
    real: Tensor,
    fake: Tensor,
    eps: Tensor | None = None,
    *,
    weight: float = 10.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, their eq. 3): ``λ · E (‖∇f(x̂)‖ − 1)²`` with
    ``x̂ = ε x + (1 − ε) G(z)``, ``ε ~ U[0, 1]`` per sample (``eps``: ``(B,)``, drawn if ``None``), ``λ = weight``."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must have the same shape; got {tuple(real.shape)} and "
                         f"{tuple(fake.shape)}")
    b = real.shape[0]
    if eps is None:
        eps = torch.rand(b, generator=generator, device=generator.device if generator else real.device)
    eps = eps.to(real).reshape(b, *([1] * (real.ndim - 1)))
    x_hat = eps * real.detach() + (1.0 - eps) * fake.detach()
    norm = (grad_norm_sq_at(critic, x_hat) + 1e-12).sqrt()
    return weight * (norm - 1.0).square().mean()


def wgan_div_penalty(critic: nn.Module, real: Tensor, fake: Tensor, *, k: float = 2.0, p: float = 6.0) -> Tensor:
    """WGAN-div penalty (Wu et al. 2018): ``k · E_u ‖∇f(u)‖^p`` with ``u`` drawn from the equal mixture of real and
    generated points, i.e. ``k/2 · (E‖∇f(x)‖^p + E‖∇f(G z)‖^p)``; defaults ``k = 2``, ``p = 6``."""
    sq_real = grad_norm_sq_at(critic, real)
    sq_fake = grad_norm_sq_at(critic, fake)
    return k * 0.5 * (sq_real.pow(p / 2).mean() + sq_fake.pow(p / 2).mean())


def _sq_norm(a: Tensor, reduction: str = "sum") -> Tensor:
    """Per-sample ``‖a_i‖²`` (``"sum"``) or per-coordinate mean (``"mean"``), averaged over the batch."""
    s = a.flatten(1).square()
    return (s.sum(dim=1) if reduction == "sum" else s.mean(dim=1)).mean()


def _adam(modules: list[nn.Module], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    return adam([p for m in modules for p in m.parameters()], lr=lr, betas=betas)


# --------------------------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------------------------


class GANMethod(ABC):
    """One generative-adversarial method: networks, optimisers and one training iteration.

    Class attributes: ``name`` (registry key), ``REQUIRES`` (network parts), ``GENERATOR_SIDE`` / ``CRITIC_SIDE``
    (the module names each update moves), ``Hyper`` (dataclass of hyper-parameters with the paper's defaults).
    """

    name: ClassVar[str] = ""
    REQUIRES: ClassVar[tuple[str, ...]] = ()
    GENERATOR_SIDE: ClassVar[tuple[str, ...]] = ()
    CRITIC_SIDE: ClassVar[tuple[str, ...]] = ()
    Hyper: ClassVar[type]

    def __init__(self, nets: Networks, *, latent_dim: int | None = None, **hyper: Any) -> None:
        nets.require(*self.REQUIRES, who=f"method {self.name!r}")
        if latent_dim is not None and int(latent_dim) != nets.latent_dim:
            raise ValueError(f"latent_dim={latent_dim} differs from the networks' latent_dim={nets.latent_dim}")
        self.nets = nets
        self.latent_dim = nets.latent_dim
        self.data_shape = nets.data_shape
        known = [f.name for f in fields(self.Hyper)]
        unknown = sorted(set(hyper) - set(known))
        if unknown:
            raise ValueError(f"unknown hyper-parameters {unknown} for method {self.name!r}; known: {known}")
        if "betas" in hyper:
            hyper["betas"] = tuple(hyper["betas"])
        self.hp = self._resolve(self.Hyper(**hyper))
        self._pool: Tensor | None = None
        self._optimizers = self._build_optimizers()

    # -- configuration -----------------------------------------------------------------------------------------

    def _resolve(self, hp: Any) -> Any:
        """Fill data-dependent defaults (e.g. GMEGAN's image learning rate)."""
        return hp

    @abstractmethod
    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]: ...

    @property
    def hyper(self) -> dict[str, Any]:
        """The resolved hyper-parameters as a JSON-friendly dict (stored in checkpoints)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.hp).items()}

    @property
    def is_image(self) -> bool:
        return len(self.data_shape) == 3

    @property
    def n_critic(self) -> int:
        """Critic updates per generator iteration."""
        return int(getattr(self.hp, "n_critic", 1))

    @property
    def generator_updates(self) -> int:
        """Gradient updates of each generator-side network per generator iteration (OTM: ``t_steps``)."""
        return 1

    def budget(self) -> dict[str, int]:
        """What one generator iteration of :meth:`step` costs, derived from the method's constants: gradient
        updates of each ``GENERATOR_SIDE`` network (``generator_updates``) and of each ``CRITIC_SIDE`` network
        (``critic_updates`` = ``n_critic``), and real data batches consumed (``real_batches``: the iteration's batch
        and one fresh batch for every further critic update). Comparisons "at equal iterations" are at equal
        generator iterations; these say what each method spent on them (WGAN family: 5 critic updates on 5 real
        batches; OTM: 10 map updates)."""
        return {"generator_updates": self.generator_updates, "critic_updates": self.n_critic,
                "real_batches": 1 + max(0, self.n_critic - 1)}

    @property
    def device(self) -> torch.device:
        return next(self.modules()[self.GENERATOR_SIDE[0]].parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The floating-point type of the generator side's parameters (latents are drawn in it)."""
        return next(self.modules()[self.GENERATOR_SIDE[0]].parameters()).dtype

    def modules(self) -> dict[str, nn.Module]:
        """The method's networks by part name (what a checkpoint stores)."""
        return {p: getattr(self.nets, p) for p in self.REQUIRES}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The method's optimisers by name."""
        return dict(self._optimizers)

    def attach_data(self, data: Tensor | None) -> None:
        """Real data ``(N, *data_shape)`` from which the extra critic steps of :meth:`step` draw fresh batches (with
        replacement, from torch's global generator, which :func:`gpelib.train.fit` seeds and checkpoints). Without
        attached data the critic reuses the iteration's batch."""
        if data is not None and tuple(data.shape[1:]) != self.data_shape:
            raise ValueError(f"data of shape {tuple(data.shape)} does not match data_shape {self.data_shape}")
        self._pool = data

    def _real_batch(self, like: Tensor) -> Tensor:
        if self._pool is None:
            return like
        idx = torch.randint(self._pool.shape[0], (like.shape[0],))
        return self._pool[idx].to(device=like.device, dtype=like.dtype)

    # -- generation --------------------------------------------------------------------------------------------

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """``y ~ N(0, I_d)``, shape ``(n, d)``, on the model's device and in its dtype (drawn on ``generator``'s
        device, if given)."""
        dev = generator.device if generator is not None else self.device
        return torch.randn(n, self.latent_dim, generator=generator, device=dev, dtype=self.dtype).to(self.device)

    def generator_map(self, y: Tensor) -> Tensor:
        """The generative map ``G(y)``: ``(B, d) → (B, *data_shape)``."""
        return self.nets.generator(y)

    def latent_of(self, x: Tensor) -> Tensor | None:
        """The method's encoder of data ``(B, *data_shape) → (B, d)``, or ``None`` if it has none."""
        return None

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, batch_size: int = 1024) -> Tensor:
        """``n`` generated samples ``(n, *data_shape)`` = ``generator_map(y)``, ``y ~ N(0, I_d)``.

        Drawn in eval mode (:func:`~gpelib.models.eval_mode` over :meth:`modules`, each module's previous mode
        given back afterwards): a generator with BatchNorm uses its running statistics — as the validation metric
        inside :func:`gpelib.train.fit` does — and sampling never overwrites them, so every metric computed on
        samples sees the same generator, and a sample does not depend on the others drawn with it."""
        y = self.sample_latent(n, generator=generator)
        with eval_mode(*self.modules().values()):
            return torch.cat([self.generator_map(y[i : i + batch_size]) for i in range(0, n, batch_size)])

    # -- training ----------------------------------------------------------------------------------------------

    @abstractmethod
    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        """One critic update on the real batch ``x``; moves only ``CRITIC_SIDE``. Returns ``{"d_loss": ...}``."""

    @abstractmethod
    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        """One generator-side update; moves only ``GENERATOR_SIDE``. Returns ``{"loss": ..., <components>}``."""

    def step(self, x: Tensor) -> dict[str, Tensor]:
        """One generator iteration: ``n_critic`` critic updates (the first on ``x``, the others on fresh real
        batches), then one generator-side update. Returns the generator-side ``"loss"`` and the components."""
        d_out: dict[str, Tensor] = {}
        for k in range(self.n_critic):
            d_out = self.discriminator_step(x if k == 0 else self._real_batch(x))
        return {**self.generator_step(x), **d_out}


class _CriticMethod(GANMethod):
    """Generator ``G`` against a critic ``ψ`` on data (GAN, WGAN, WGAN-GP, WGAN-div, GMEGAN)."""

    REQUIRES = ("generator", "critic")
    GENERATOR_SIDE = ("generator",)
    CRITIC_SIDE = ("critic",)

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        gen = [getattr(self.nets, p) for p in self.GENERATOR_SIDE]
        return {"generator": _adam(gen, self.hp.lr_g, self.hp.betas),
                "critic": _adam([self.nets.critic], self.hp.lr_d, self.hp.betas)}

    @abstractmethod
    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The quantity the critic *minimises* on a real and a generated batch, and its logged components."""

    @abstractmethod
    def generator_loss(self, x_fake: Tensor) -> Tensor:
        """The quantity the generator minimises on a generated batch (with gradients into ``G``)."""

    def _after_critic_step(self) -> None:
        """Hook run after every critic update (WGAN's weight clipping)."""

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            fake = self.nets.generator(self.sample_latent(x.shape[0]))
        opt = self._optimizers["critic"]
        opt.zero_grad(set_to_none=True)
        loss, parts = self.critic_loss(x, fake)
        loss.backward()
        opt.step()
        self._after_critic_step()
        return {"d_loss": loss.detach(), **{k: v.detach() for k, v in parts.items()}}

    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        opt = self._optimizers["generator"]
        opt.zero_grad(set_to_none=True)
        with frozen(self.nets.critic):
            loss = self.generator_loss(self.nets.generator(self.sample_latent(x.shape[0])))
            loss.backward()
        opt.step()
        return {"loss": loss.detach()}


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

    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        Tm, f = self.nets.transport_map, self.nets.critic
        opt = self._optimizers["transport_map"]
        opt.zero_grad(set_to_none=True)
        u = self.nets.embedding(self.sample_latent(x.shape[0]))
        with frozen(f):
            tu = Tm(u)
            cost = 0.5 * _sq_norm(u - tu)
            loss = cost - f(tu).mean()
            loss.backward()
            with torch.no_grad():
                value = loss + f(x).mean()
        opt.step()
        return {"loss": value.detach(), "transport_cost": cost.detach()}

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
        for _ in range(self.generator_updates):
            g_out = self.generator_step(x)
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
