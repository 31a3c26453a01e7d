"""What every GAN method is built on: the :class:`GANMethod` interface (networks, optimisers, one training
iteration; described in :mod:`gpelib.gan.methods`), the critic-against-generator base of GAN, the WGAN family and
GMEGAN, the registry (:data:`METHODS`, :func:`register_method`, :func:`get_method`) and the helpers the methods share
(:func:`frozen`, the gradient penalties :func:`grad_norm_sq_at`, :func:`wgan_gp_penalty`, :func:`wgan_div_penalty`).

The methods themselves are in :mod:`gpelib.gan.gmegan` and :mod:`gpelib.gan.baselines`; :mod:`gpelib.gan.methods`
re-exports every name here.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, fields
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..models import eval_mode
from ..train_setup import adam
from .architectures import Networks

__all__ = [
    "METHODS",
    "GANMethod",
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



def _fits(annotation: str, value: Any) -> bool:
    """Whether ``value`` has a ``Hyper`` field's annotated type (``float | None``, ``int``, ``str``, ``bool``,
    ``tuple[float, float]``): a whole number passes for a float, nothing else is coerced (``"abc"`` for a learning
    rate fails here, not as a tensor error mid-training). An annotation this does not read passes."""
    import math

    def one(kind: str) -> bool | None:
        if kind == "None":
            return value is None
        if kind == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if kind == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        if kind in ("str", "bool"):
            return isinstance(value, {"str": str, "bool": bool}[kind])
        if kind == "tuple[float, float]":
            return isinstance(value, (list, tuple)) and len(value) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        return None

    answers = [one(k.strip()) for k in annotation.split("|")]
    return any(a for a in answers) or any(a is None for a in answers)

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
        for f in fields(self.Hyper):
            if f.name in hyper and not _fits(str(f.type), hyper[f.name]):
                raise ValueError(f"hyper-parameter {f.name}={hyper[f.name]!r} of method {self.name!r} must be "
                                 f"{f.type}")
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
