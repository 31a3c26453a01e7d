"""Networks for every data shape, in one place.

* vectors ``(D,)``: 4-layer MLPs (GPE §8.1);
* images ``(C, H, W)`` with ``H = W ∈ {8, 28, 32, 64}``: DCGAN-style convolutional stacks (strided convolutions
  down, transposed convolutions up, batch-norm-free so that the GME cost, a pairwise loss, sees no batch
  coupling).

Every model is built from a plain ``dict`` config (``build_model(config)``), and stores that config as
``model.config`` so that a checkpoint describes itself.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "MLP",
    "ConvEncoder",
    "ConvDecoder",
    "GaussianEncoder",
    "make_encoder",
    "make_decoder",
    "pixel_range",
    "PIXEL_ACTS",
    "build_model",
    "encode",
    "eval_mode",
]


def _act(name: str) -> nn.Module:
    table = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "silu": nn.SiLU, "tanh": nn.Tanh, "elu": nn.ELU,
             "sigmoid": nn.Sigmoid}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(table)}")
    return table[name]()


class MLP(nn.Module):
    """Fully connected network ``in_dim → hidden × (n_layers−1) → out_dim``; input flattened per row.

    ``n_layers`` counts linear layers (the GPE paper's "4-layer fully-connected network" is ``n_layers=4``).
    ``out_shape`` reshapes the output (e.g. ``(1, 8, 8)`` for a decoder); ``out_act='tanh'`` bounds it to [−1, 1],
    ``'sigmoid'`` to [0, 1].
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        hidden: int = 256,
        n_layers: int = 4,
        act: str = "relu",
        out_shape: Sequence[int] | None = None,
        out_act: str | None = None,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError("n_layers must be ≥ 1")
        dims = [in_dim] + [hidden] * (n_layers - 1) + [out_dim]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(dims) - 2:
                layers.append(_act(act))
        if out_act is not None:
            layers.append(_act(out_act))
        self.net = nn.Sequential(*layers)
        self.out_shape = tuple(out_shape) if out_shape is not None else None
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: Tensor) -> Tensor:
        y = self.net(x.reshape(x.shape[0], -1))
        return y.reshape(y.shape[0], *self.out_shape) if self.out_shape is not None else y


def _n_down(size: int) -> tuple[int, int]:
    """Number of stride-2 stages and the final spatial size for an ``size``-px image (4 px at the end, 7 for 28)."""
    if size == 28:
        return 2, 7
    if size < 4 or size & (size - 1):
        raise ValueError(f"convolutional models support 8, 28, 32, 64, 128, 256 px images; got {size}")
    return int(math.log2(size // 4)), 4


class ConvEncoder(nn.Module):
    """DCGAN-style encoder ``(B, C, H, W) → (B, out_dim)``: stride-2 4×4 convolutions doubling the width, then
    a linear head. ``width`` is the number of channels after the first stage."""

    def __init__(self, channels: int, size: int, out_dim: int, *, width: int = 32, act: str = "leaky_relu") -> None:
        super().__init__()
        n, final = _n_down(size)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(n):
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), _act(act)]
            c_in, c = c, c * 2
        if n == 0:
            layers += [nn.Conv2d(c_in, width, 3, 1, 1), _act(act)]
            c_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * final * final, out_dim)
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """DCGAN-style decoder ``(B, d) → (B, C, H, W)``: a linear map to a 4×4 (7×7 for 28 px) feature map, then stride-2
    transposed convolutions halving the width, and a ``tanh`` output in [−1, 1] (``out_act="sigmoid"``: [0, 1])."""

    def __init__(self, latent_dim: int, channels: int, size: int, *, width: int = 32, act: str = "relu",
                 out_act: str = "tanh") -> None:
        super().__init__()
        n, final = _n_down(size)
        c = width * 2 ** max(n - 1, 0)
        self.start = (c, final)
        self.fc = nn.Linear(latent_dim, c * final * final)
        layers: list[nn.Module] = [_act(act)]
        for i in range(n):
            c_out = channels if i == n - 1 else c // 2
            layers.append(nn.ConvTranspose2d(c, c_out, 4, 2, 1))
            if i < n - 1:
                layers.append(_act(act))
            c = c_out
        if n == 0:
            layers.append(nn.Conv2d(c, channels, 3, 1, 1))
        layers.append(_act(out_act))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        c, s = self.start
        return self.net(self.fc(z).reshape(z.shape[0], c, s, s))


class GaussianEncoder(nn.Module):
    """Variational encoder: one backbone with ``2d`` outputs split into a mean head and a log-variance head.

    ``forward(x)`` returns the mean ``µ(x)`` (so a trained VAE encoder can be frozen and used as ``T``);
    ``distribution(x)`` returns ``(µ, log σ²)``, each ``(B, d)``.
    """

    def __init__(self, backbone: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.latent_dim = latent_dim

    def distribution(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.backbone(x)
        mu, logvar = h[:, : self.latent_dim], h[:, self.latent_dim :]
        return mu, logvar.clamp(-30.0, 20.0)

    def forward(self, x: Tensor) -> Tensor:
        return self.distribution(x)[0]


#: An image decoder's output activation per pixel convention: ``tanh`` for [−1, 1], the sigmoid for [0, 1].
PIXEL_ACTS = {"[-1, 1]": "tanh", "[0, 1]": "sigmoid"}


def _shape(data_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in data_shape)
    if len(shape) not in (1, 3):
        raise ValueError(f"data_shape must be (D,) for vectors or (C, H, W) for images; got {shape}")
    if len(shape) == 3 and shape[1] != shape[2]:
        raise ValueError(f"images must be square; got {shape}")
    return shape


def _default_arch(shape: tuple[int, ...]) -> str:
    return "mlp" if len(shape) == 1 else "conv"


def make_encoder(
    data_shape: Sequence[int],
    latent_dim: int,
    *,
    arch: str | None = None,
    variational: bool = False,
    width: int = 32,
    hidden: int = 256,
    n_layers: int = 4,
) -> nn.Module:
    """Encoder ``T: data_shape → R^d`` for the given data shape (MLP for vectors or when ``arch='mlp'``)."""
    return build_model(
        dict(kind="encoder", data_shape=list(_shape(data_shape)), latent_dim=latent_dim, arch=arch,
             variational=variational, width=width, hidden=hidden, n_layers=n_layers)
    )


def pixel_range(data: Tensor) -> str:
    """The pixel convention of image data ``(N, C, H, W)``: ``"[0, 1]"`` when every value lies in [0, 1], else
    ``"[-1, 1]"`` (gpelib's loaders scale images to [−1, 1], SPEC §1); vectors ``(N, D)`` get ``"[-1, 1]"`` too (their
    decoders are unbounded either way). Images outside [−1, 1] raise: a decoder could not reconstruct them."""
    if data.dim() != 4:
        return "[-1, 1]"
    lo, hi = float(data.min()), float(data.max())
    if lo >= 0.0 and hi <= 1.0:
        return "[0, 1]"
    if lo < -1.0 or hi > 1.0:
        raise ValueError(f"images must be scaled to [-1, 1] (or [0, 1]); these range over [{lo:g}, {hi:g}]")
    return "[-1, 1]"


def make_decoder(
    data_shape: Sequence[int],
    latent_dim: int,
    *,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    n_layers: int = 4,
    pixels: str = "[-1, 1]",
) -> nn.Module:
    """Decoder ``S: R^d → data_shape``: for images, outputs in ``pixels`` — [−1, 1] through a ``tanh`` (the default,
    SPEC §1), [0, 1] through a sigmoid (:func:`pixel_range` reads it off the data); unbounded for vectors."""
    if pixels not in PIXEL_ACTS:
        raise ValueError(f"pixels must be one of {list(PIXEL_ACTS)}; got {pixels!r}")
    extra = {} if pixels == "[-1, 1]" else {"pixels": pixels}  # the default is left out: older configs read the same
    return build_model(
        dict(kind="decoder", data_shape=list(_shape(data_shape)), latent_dim=latent_dim, arch=arch,
             width=width, hidden=hidden, n_layers=n_layers, **extra)
    )


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build an encoder or decoder from its config (as stored in a checkpoint). Sets ``model.config``."""
    cfg = dict(config)
    kind = cfg.get("kind")
    shape = _shape(cfg["data_shape"])
    d = int(cfg["latent_dim"])
    arch = cfg.get("arch") or _default_arch(shape)
    cfg["arch"] = arch
    width, hidden, n_layers = int(cfg.get("width", 32)), int(cfg.get("hidden", 256)), int(cfg.get("n_layers", 4))
    flat = int(math.prod(shape))
    if kind == "encoder":
        out = 2 * d if cfg.get("variational") else d
        if arch == "mlp":
            net: nn.Module = MLP(flat, out, hidden=hidden, n_layers=n_layers)
        elif arch == "conv":
            if len(shape) != 3:
                raise ValueError("arch='conv' needs image data (C, H, W)")
            net = ConvEncoder(shape[0], shape[1], out, width=width)
        else:
            raise ValueError(f"unknown encoder arch {arch!r}; expected 'mlp' or 'conv'")
        model = GaussianEncoder(net, d) if cfg.get("variational") else net
    elif kind == "decoder":
        out_act = PIXEL_ACTS[cfg.get("pixels", "[-1, 1]")]
        if arch == "mlp":
            model = MLP(d, flat, hidden=hidden, n_layers=n_layers, out_shape=shape,
                        out_act=out_act if len(shape) == 3 else None)
        elif arch == "conv":
            if len(shape) != 3:
                raise ValueError("arch='conv' needs image data (C, H, W)")
            model = ConvDecoder(d, shape[0], shape[1], width=width, out_act=out_act)
        else:
            raise ValueError(f"unknown decoder arch {arch!r}; expected 'mlp' or 'conv'")
    else:
        raise ValueError(f"config['kind'] must be 'encoder' or 'decoder'; got {kind!r}")
    model.config = cfg  # type: ignore[assignment]
    return model


@contextlib.contextmanager
def eval_mode(*modules: nn.Module | None) -> Iterator[None]:
    """Switch ``modules`` (and all their submodules) to eval mode for the ``with`` block, then give every one of
    them back the ``training`` flag it had before — also when the block raises. ``None`` entries are skipped.

    Unlike ``model.eval(); ...; model.train()``, a submodule that was already in eval mode (a frozen encoder inside a
    model, a batch-norm layer fixed on purpose) stays in eval mode afterwards. Gradients are left as they are: add
    ``torch.no_grad()`` where none are wanted.
    """
    flags = [(m, m.training) for module in modules if module is not None for m in module.modules()]
    try:
        for module in modules:
            if module is not None:
                module.eval()
        yield
    finally:
        for m, was_training in flags:  # parents before their children: each ends with its own flag
            if m.training != was_training:
                m.train(was_training)


@torch.no_grad()
def encode(model: nn.Module, x: Tensor, *, batch_size: int = 1024) -> Tensor:
    """Apply ``model`` to ``x`` in batches without gradients, on the model's device; returns a CPU tensor."""
    device = next(model.parameters()).device
    with eval_mode(model):
        out = [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)]
    return torch.cat(out)
