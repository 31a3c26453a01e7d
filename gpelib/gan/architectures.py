"""One registry of network architectures shared by GMEGAN and every baseline (GMEGAN §6: "the same
generator/discriminator architectures wherever possible").

An *architecture* is a named factory ``factory(data_shape, latent_dim, **options)`` returning a dict of lazy
builders, one per network *part*; :func:`build_networks` instantiates the parts a method needs and returns them in
a :class:`Networks` dataclass. So any method of :mod:`gpelib.gan.methods` can be combined with any architecture.

Parts (``x`` data of shape ``(B, *data_shape)``, ``y``/``z`` latents of shape ``(B, d)``):

==================  ====================================================  =========================================
part                map                                                   used by
==================  ====================================================  =========================================
``generator``       ``G: (B, d) → (B, *data_shape)``; ``tanh`` on images  every method (VAEGAN's decoder)
``critic``          ``ψ: (B, *data_shape) → (B,)``, ``.features(x)``       every method but VEEGAN (OTM's potential)
``encoder``         ``T: (B, *data_shape) → (B, d)``                       GMEGAN's ``T``, VEEGAN's reconstructor ``F``
``vae_encoder``     ``(µ, log σ²) = Enc.distribution(x)``, each ``(B, d)``  VAEGAN
``r_inv``           ``R_inv: (B, d) → (B, d)``, 3 FC layers with ReLU      GMEGAN (SPEC §1)
``joint_critic``    ``D(z, x): (B, d) × (B, *data_shape) → (B,)``          VEEGAN
``transport_map``   ``T: (B, *data_shape) → (B, *data_shape)``             OTM
``embedding``       fixed ``Q: (B, d) → (B, *data_shape)`` (no parameters)  OTM
==================  ====================================================  =========================================

Registered architectures: vectors ``"mlp"``, ``"mlp_wide"``, ``"mlp_deep"`` (they also accept images, flattened);
images ``(C, H, W)`` with ``H = W ∈ {8, 28, 32, 64}``: ``"dcgan"``, ``"dcgan_wide"``, ``"dcgan_narrow"``,
``"dcgan_leaky"``, ``"dcgan_deep"``, ``"dcgan_bn"``, ``"dcgan_deep_bn"``, ``"dcgan_fc"`` (:data:`PAPER_ARCHITECTURES`
lists the eleven used by the paper profile). Critics never use batch norm (gradient penalties are per-sample), nor do
encoders (the GME cost is pairwise). Every built module carries ``module.config`` (architecture, part, shape,
options) so checkpoints describe themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..models import MLP, GaussianEncoder, _act, _n_down

__all__ = [
    "PARTS",
    "ARCHITECTURES",
    "PAPER_ARCHITECTURES",
    "Networks",
    "Critic",
    "JointCritic",
    "ConvGenerator",
    "LatentEmbedding",
    "register_architecture",
    "build_networks",
    "get_architecture",
]

PARTS: tuple[str, ...] = (
    "generator",
    "critic",
    "encoder",
    "vae_encoder",
    "r_inv",
    "joint_critic",
    "transport_map",
    "embedding",
)

Builders = dict[str, Callable[[], nn.Module]]
ArchitectureFactory = Callable[..., Builders]

ARCHITECTURES: dict[str, ArchitectureFactory] = {}


def register_architecture(name: str) -> Callable[[ArchitectureFactory], ArchitectureFactory]:
    """Decorator adding ``factory(data_shape, latent_dim, **options) -> {part: builder}`` to :data:`ARCHITECTURES`.

    The factory returns zero-argument builders (so only the parts a method needs are instantiated); part names must
    be among :data:`PARTS`. Registering an existing name raises ``ValueError``.
    """

    def deco(factory: ArchitectureFactory) -> ArchitectureFactory:
        if name in ARCHITECTURES:
            raise ValueError(f"architecture {name!r} is already registered")
        ARCHITECTURES[name] = factory
        return factory

    return deco


def get_architecture(name: str) -> ArchitectureFactory:
    """The factory registered as ``name``; ``ValueError`` listing the known names otherwise."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known architectures: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


# --------------------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------------------


class Critic(nn.Module):
    """Discriminator/critic ``ψ(x) = head(features(x))``: ``(B, *data_shape) → (B,)`` (a logit for GAN-type
    methods, a potential for Wasserstein-type ones).

    ``features(x)``: ``(B, F)`` activations of the last hidden layer (VAEGAN's ``Dis_l``, Larsen et al. 2016).
    """

    def __init__(self, body: nn.Module, feature_dim: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(feature_dim, 1)
        self.feature_dim = feature_dim

    def features(self, x: Tensor) -> Tensor:
        return self.body(x).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).squeeze(1)


class JointCritic(nn.Module):
    """VEEGAN's discriminator on pairs ``D(z, x)``: ``(B, d), (B, *data_shape) → (B,)`` logits.

    ``x`` passes through a data body (like :class:`Critic`'s), ``z`` through one linear layer; the concatenation
    goes through a two-layer head.
    """

    def __init__(self, x_body: nn.Module, feature_dim: int, latent_dim: int, *, hidden: int, act: str) -> None:
        super().__init__()
        self.x_body = x_body
        self.z_body = nn.Sequential(nn.Linear(latent_dim, hidden), _act(act))
        self.head = nn.Sequential(nn.Linear(feature_dim + hidden, hidden), _act(act), nn.Linear(hidden, 1))

    def forward(self, z: Tensor, x: Tensor) -> Tensor:
        h = torch.cat([self.x_body(x).flatten(1), self.z_body(z)], dim=1)
        return self.head(h).squeeze(1)


class LatentEmbedding(nn.Module):
    """OTM's fixed embedding of the latent in data space, ``Q(z) = s · W z`` reshaped to ``data_shape``.

    ``W``: ``(D, d)`` with orthonormal columns (QR of a seeded Gaussian matrix), stored as a buffer (no parameters,
    never trained, saved with checkpoints). ``s = scale``: 1 keeps ``‖Q z‖ = ‖z‖`` (vectors); images use
    ``sqrt(D/d)`` so that each pixel of ``Q(z)`` has unit variance, like the upsampled noise of Rout et al. (2022).
    """

    def __init__(self, latent_dim: int, data_shape: Sequence[int], *, scale: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        shape = tuple(int(s) for s in data_shape)
        dim = math.prod(shape)
        if latent_dim > dim:
            raise ValueError(f"OTM's embedding Q needs latent_dim ≤ data dimension; got {latent_dim} > {dim}")
        g = torch.Generator().manual_seed(seed)
        q, r = torch.linalg.qr(torch.randn(dim, latent_dim, generator=g, dtype=torch.float64))
        q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # unique orthonormal basis
        # the default dtype, like the parameters of the networks built beside it (``.to(dtype)`` converts it after)
        self.register_buffer("weight", (q * scale).to(torch.get_default_dtype()))
        self.data_shape = shape

    def forward(self, z: Tensor) -> Tensor:
        return (z @ self.weight.T).reshape(z.shape[0], *self.data_shape)


def _mlp_body(in_dim: int, hidden: int, n_hidden: int, act: str) -> nn.Sequential:
    """``Flatten → (Linear → act) × n_hidden``: output ``(B, hidden)``."""
    layers: list[nn.Module] = [nn.Flatten()]
    for i in range(n_hidden):
        layers += [nn.Linear(in_dim if i == 0 else hidden, hidden), _act(act)]
    return nn.Sequential(*layers)


class _ConvBody(nn.Sequential):
    """DCGAN-style down-sampling stack ``(B, C, H, W) → (B, c_last, s, s)``: stride-2 4×4 convolutions doubling the
    width from ``width``, each followed by ``extra`` stride-1 3×3 convolutions. ``out_dim = c_last · s²``."""

    def __init__(self, channels: int, size: int, *, width: int, extra: int, act: str) -> None:
        n, final = _n_down(size)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(n):
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), _act(act)]
            for _ in range(extra):
                layers += [nn.Conv2d(c, c, 3, 1, 1), _act(act)]
            c_in, c = c, c * 2
        if n == 0:
            layers += [nn.Conv2d(c_in, width, 3, 1, 1), _act(act)]
            c_in = width
        super().__init__(*layers)
        self.out_dim = c_in * final * final


class ConvGenerator(nn.Module):
    """DCGAN-style generator ``(B, d) → (B, C, H, W)`` in [−1, 1]: a linear map to ``(width·2^{n−1}, s, s)``, then
    ``n`` stride-2 4×4 transposed convolutions halving the width (each followed by ``extra`` 3×3 convolutions),
    a 3×3 convolution to ``C`` channels and ``tanh``. ``batchnorm`` adds BatchNorm after every hidden layer;
    ``fc_hidden`` puts a hidden fully connected layer of that width before the first feature map."""

    def __init__(
        self, latent_dim: int, channels: int, size: int, *, width: int, extra: int, act: str, batchnorm: bool,
        fc_hidden: int | None = None,
    ) -> None:
        super().__init__()
        n, final = _n_down(size)
        c = width * 2 ** max(n - 1, 0)
        self.start = (c, final)
        if fc_hidden:
            self.fc: nn.Module = nn.Sequential(nn.Linear(latent_dim, fc_hidden), _act(act),
                                               nn.Linear(fc_hidden, c * final * final))
        else:
            self.fc = nn.Linear(latent_dim, c * final * final)

        def norm(ch: int) -> list[nn.Module]:
            return [nn.BatchNorm2d(ch)] if batchnorm else []

        layers: list[nn.Module] = [*norm(c), _act(act)]
        for _ in range(n):
            c_out = max(c // 2, 8)
            layers += [nn.ConvTranspose2d(c, c_out, 4, 2, 1), *norm(c_out), _act(act)]
            for _ in range(extra):
                layers += [nn.Conv2d(c_out, c_out, 3, 1, 1), *norm(c_out), _act(act)]
            c = c_out
        layers += [nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        c, s = self.start
        return self.net(self.fc(z).reshape(z.shape[0], c, s, s))


class _ConvTransportMap(nn.Module):
    """OTM's map on images ``(B, C, H, W) → (B, C, H, W)``: a conv body to a ``bottleneck``-dimensional code, then
    the generator architecture back to image space."""

    def __init__(self, body: _ConvBody, bottleneck: int, decoder: nn.Module) -> None:
        super().__init__()
        self.body, self.code, self.decoder = body, nn.Linear(body.out_dim, bottleneck), decoder

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.code(self.body(x).flatten(1)))


def _r_inv(latent_dim: int, hidden: int | None) -> nn.Module:
    """``R_inv``: three fully connected layers with ReLU (GMEGAN §5), ``(B, d) → (B, d)``."""
    return MLP(latent_dim, latent_dim, hidden=hidden or max(64, 2 * latent_dim), n_layers=3, act="relu")


def _check_shape(data_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in data_shape)
    if len(shape) not in (1, 3) or any(s < 1 for s in shape):
        raise ValueError(f"data_shape must be (D,) for vectors or (C, H, W) for images; got {shape}")
    if len(shape) == 3 and shape[1] != shape[2]:
        raise ValueError(f"images must be square; got {shape}")
    return shape


# --------------------------------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------------------------------


def mlp_parts(
    data_shape: Sequence[int],
    latent_dim: int,
    *,
    hidden: int = 128,
    n_layers: int = 4,
    act: str = "relu",
    critic_act: str = "leaky_relu",
    r_inv_hidden: int | None = None,
    embedding_seed: int = 0,
) -> Builders:
    """Fully connected family: every network has ``n_layers`` linear layers of width ``hidden`` (``n_layers − 1``
    hidden layers). Generator output is linear for vectors and ``tanh`` for images (flattened then reshaped)."""
    shape = _check_shape(data_shape)
    d, dim = int(latent_dim), math.prod(shape)
    image = len(shape) == 3
    n_hidden = n_layers - 1
    if n_hidden < 1:
        raise ValueError("n_layers must be ≥ 2 (at least one hidden layer)")
    out_act = "tanh" if image else None

    def joint() -> nn.Module:
        return JointCritic(_mlp_body(dim, hidden, n_hidden, critic_act), hidden, d, hidden=hidden, act=critic_act)

    return {
        "generator": lambda: MLP(d, dim, hidden=hidden, n_layers=n_layers, act=act, out_shape=shape, out_act=out_act),
        "critic": lambda: Critic(_mlp_body(dim, hidden, n_hidden, critic_act), hidden),
        "encoder": lambda: MLP(dim, d, hidden=hidden, n_layers=n_layers, act=act),
        "vae_encoder": lambda: GaussianEncoder(MLP(dim, 2 * d, hidden=hidden, n_layers=n_layers, act=act), d),
        "r_inv": lambda: _r_inv(d, r_inv_hidden),
        "joint_critic": joint,
        "transport_map": lambda: MLP(dim, dim, hidden=hidden, n_layers=n_layers, act=act, out_shape=shape,
                                     out_act=out_act),
        "embedding": lambda: LatentEmbedding(d, shape, scale=math.sqrt(dim / d) if image else 1.0,
                                             seed=embedding_seed),
    }


def dcgan_parts(
    data_shape: Sequence[int],
    latent_dim: int,
    *,
    width: int = 32,
    extra: int = 0,
    act: str = "relu",
    critic_act: str = "leaky_relu",
    batchnorm: bool = False,
    r_inv_hidden: int | None = None,
    transport_bottleneck: int | None = None,
    embedding_seed: int = 0,
    fc_hidden: int | None = None,
) -> Builders:
    """DCGAN-style convolutional family for images ``(C, H, W)``, ``H = W ∈ {8, 28, 32, 64, …}``.

    ``width``: channels after the first down-sampling stage (the generator mirrors it); ``extra``: stride-1 3×3
    convolutions per stage (depth); ``act``: generator/encoder activation; ``critic_act``: critic activation;
    ``batchnorm``: BatchNorm in the generator only; ``fc_hidden``: a hidden fully connected layer of that width
    between the convolutions and the output of every network (none by default).
    """
    shape = _check_shape(data_shape)
    if len(shape) != 3:
        raise ValueError(f"DCGAN-style architectures need image data (C, H, W); got data_shape {shape}. "
                         "Use an 'mlp' architecture for vectors")
    c, size = shape[0], shape[1]
    d, dim = int(latent_dim), math.prod(shape)

    def body(a: str) -> _ConvBody:
        return _ConvBody(c, size, width=width, extra=extra, act=a)

    def features(a: str) -> tuple[nn.Module, int]:
        b = body(a)
        if not fc_hidden:
            return b, b.out_dim
        return nn.Sequential(b, nn.Flatten(), nn.Linear(b.out_dim, fc_hidden), _act(a)), int(fc_hidden)

    def critic() -> nn.Module:
        return Critic(*features(critic_act))

    def encoder(out: int) -> nn.Module:
        f, dim_f = features("leaky_relu" if act == "relu" else act)  # down-sampling: LeakyReLU (as ConvEncoder)
        return nn.Sequential(f, nn.Flatten(), nn.Linear(dim_f, out))

    def generator(latent: int) -> nn.Module:
        return ConvGenerator(latent, c, size, width=width, extra=extra, act=act, batchnorm=batchnorm,
                             fc_hidden=fc_hidden)

    def joint() -> nn.Module:
        return JointCritic(*features(critic_act), d, hidden=max(64, 2 * d), act=critic_act)

    def transport() -> nn.Module:
        k = transport_bottleneck or max(2 * d, 32)
        return _ConvTransportMap(body(critic_act), k, generator(k))

    return {
        "generator": lambda: generator(d),
        "critic": critic,
        "encoder": lambda: encoder(d),
        "vae_encoder": lambda: GaussianEncoder(encoder(2 * d), d),
        "r_inv": lambda: _r_inv(d, r_inv_hidden),
        "joint_critic": joint,
        "transport_map": transport,
        "embedding": lambda: LatentEmbedding(d, shape, scale=math.sqrt(dim / d), seed=embedding_seed),
    }


@register_architecture("mlp")
def _mlp(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """3 hidden layers of 128, ReLU (critics LeakyReLU 0.2)."""
    return mlp_parts(data_shape, latent_dim, **{"hidden": 128, "n_layers": 4, **kw})


@register_architecture("mlp_wide")
def _mlp_wide(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """3 hidden layers of 256."""
    return mlp_parts(data_shape, latent_dim, **{"hidden": 256, "n_layers": 4, **kw})


@register_architecture("mlp_deep")
def _mlp_deep(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """5 hidden layers of 128, LeakyReLU everywhere."""
    return mlp_parts(data_shape, latent_dim, **{"hidden": 128, "n_layers": 6, "act": "leaky_relu", **kw})


@register_architecture("dcgan")
def _dcgan(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """Width 32, ReLU generator, LeakyReLU critic, no batch norm."""
    return dcgan_parts(data_shape, latent_dim, **kw)


@register_architecture("dcgan_wide")
def _dcgan_wide(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """Width 64."""
    return dcgan_parts(data_shape, latent_dim, **{"width": 64, **kw})


@register_architecture("dcgan_leaky")
def _dcgan_leaky(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """LeakyReLU in every network (generator and encoder included)."""
    return dcgan_parts(data_shape, latent_dim, **{"act": "leaky_relu", **kw})


@register_architecture("dcgan_deep")
def _dcgan_deep(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """One extra stride-1 3×3 convolution per stage, ELU critic."""
    return dcgan_parts(data_shape, latent_dim, **{"extra": 1, "critic_act": "elu", **kw})


@register_architecture("dcgan_bn")
def _dcgan_bn(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """BatchNorm in the generator (the critic and encoders stay normalisation-free)."""
    return dcgan_parts(data_shape, latent_dim, **{"batchnorm": True, **kw})


@register_architecture("dcgan_narrow")
def _dcgan_narrow(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """Width 16."""
    return dcgan_parts(data_shape, latent_dim, **{"width": 16, **kw})


@register_architecture("dcgan_deep_bn")
def _dcgan_deep_bn(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """One extra 3×3 convolution per stage and BatchNorm in the generator."""
    return dcgan_parts(data_shape, latent_dim, **{"extra": 1, "batchnorm": True, **kw})


@register_architecture("dcgan_fc")
def _dcgan_fc(data_shape: Sequence[int], latent_dim: int, **kw: Any) -> Builders:
    """A hidden fully connected layer of 256 between the convolutions and every network's output."""
    return dcgan_parts(data_shape, latent_dim, **{"fc_hidden": 256, **kw})


PAPER_ARCHITECTURES: tuple[str, ...] = ("dcgan", "dcgan_wide", "dcgan_narrow", "dcgan_leaky", "dcgan_deep", "dcgan_bn",
                                        "dcgan_deep_bn", "dcgan_fc", "mlp", "mlp_wide", "mlp_deep")
"""Eleven architectures for the image experiments (GMEGAN §6.3 varies batch norm, fully connected layers, the number
and depth of convolutional layers and the width of the layers; its exact eleven are not printed)."""


# --------------------------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Networks:
    """The networks of one architecture for one data shape and latent dimension (parts not built are ``None``)."""

    arch: str
    data_shape: tuple[int, ...]
    latent_dim: int
    generator: nn.Module | None = None
    critic: Critic | None = None
    encoder: nn.Module | None = None
    vae_encoder: GaussianEncoder | None = None
    r_inv: nn.Module | None = None
    joint_critic: JointCritic | None = None
    transport_map: nn.Module | None = None
    embedding: LatentEmbedding | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def modules(self) -> dict[str, nn.Module]:
        """The built parts, by name."""
        return {p: m for p in PARTS if (m := getattr(self, p)) is not None}

    def require(self, *parts: str, who: str = "this method") -> None:
        """``ValueError`` naming the missing parts if any of ``parts`` was not built."""
        missing = [p for p in parts if getattr(self, p, None) is None]
        if missing:
            raise ValueError(f"{who} needs the network parts {missing}; build them with "
                             f"build_networks(..., parts={list(parts)})")

    def to(self, device: str | torch.device) -> Networks:
        """Move every part to ``device`` (in place); returns ``self``."""
        for m in self.modules().values():
            m.to(device)
        return self

    def parameter_counts(self) -> dict[str, int]:
        """Number of trainable parameters per part."""
        return {p: sum(q.numel() for q in m.parameters() if q.requires_grad) for p, m in self.modules().items()}


def build_networks(
    arch: str,
    data_shape: Sequence[int],
    latent_dim: int,
    *,
    parts: Iterable[str] | None = None,
    **options: Any,
) -> Networks:
    """Instantiate architecture ``arch`` for ``data_shape`` (``(D,)`` or ``(C, H, W)``) and latent dimension ``d``.

    ``parts``: which networks to build (default: all of :data:`PARTS`); ``options`` are passed to the factory
    (e.g. ``hidden=32`` for the MLP family, ``width=16`` for the DCGAN family). Unknown architecture or part names
    raise ``ValueError`` listing the known ones. Each module gets ``module.config`` describing it.
    """
    factory = get_architecture(arch)
    shape = _check_shape(data_shape)
    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be ≥ 1; got {latent_dim}")
    wanted = tuple(PARTS if parts is None else parts)
    unknown = [p for p in wanted if p not in PARTS]
    if unknown:
        raise ValueError(f"unknown network parts {unknown}; known parts: {list(PARTS)}")
    builders = factory(shape, int(latent_dim), **options)
    nets = Networks(arch=arch, data_shape=shape, latent_dim=int(latent_dim), options=dict(options))
    for p in wanted:
        if p not in builders:
            raise ValueError(f"architecture {arch!r} does not provide the part {p!r}; it provides {sorted(builders)}")
        module = builders[p]()
        module.config = {  # type: ignore[assignment]
            "arch": arch, "part": p, "data_shape": list(shape), "latent_dim": int(latent_dim), "options": dict(options)
        }
        setattr(nets, p, module)
    return nets
