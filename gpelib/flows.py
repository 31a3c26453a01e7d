"""Latent generation by conditional flow matching (GPE §4, step 3 of the framework; Lipman et al. 2022).

The pipeline, with ``d`` the latent dimension:

1. **Standardise** the encoder's latents ``y`` with one affine map ``u = (y − ȳ) / s`` whose single scalar ``s``
   makes ``E‖u‖² = d`` (:class:`LatentStandardizer`, kept with the model).
2. **Learn a velocity field** ``v_θ(t, u)`` by conditional flow matching (:func:`cfm_loss`, :func:`train_flow`):
   ``u_t = (1 − t) z + t u``, ``z ~ N(0, I_d)``, ``t ~ U[0, 1]``, regress ``v_θ(t, u_t)`` on ``u − z``.
3. **Sample** by integrating ``du/dt = v_θ(t, u)`` from ``t = 0`` (noise) to ``t = 1`` (:func:`integrate`), undo
   the standardisation and decode: ``x = S(R(z))`` (:class:`LatentGenerator`). Integrating from 1 to 0 maps a
   latent back to its noise, which gives the interpolation grids of GPE Fig. 10 (:func:`interpolation_grid`).

Time convention: ``t = 0`` is noise, ``t = 1`` is data (as in the SPEC; some libraries use the reverse).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .checkpoint import load_checkpoint, save_checkpoint
from .models import MLP, build_model, eval_mode
from .train_setup import TrainConfig, TrainResult, _split_val, adam
from .training_loop import _seed, data_parallel, fit, resolve_device

__all__ = [
    "LatentStandardizer",
    "VelocityMLP",
    "VELOCITY_PRESETS",
    "make_velocity",
    "build_velocity",
    "cfm_loss",
    "default_flow_config",
    "train_flow",
    "integrate",
    "ODE_METHODS",
    "LatentGenerator",
    "interpolation_grid",
]

VelocityField = Callable[[Tensor, Tensor], Tensor]
"""Any callable ``v(t, y) -> dy/dt`` with ``t`` a scalar tensor or ``(B,)`` and ``y`` of shape ``(B, d)``."""


# ----------------------------------------------------------------------------------------------------------------
# standardisation
# ----------------------------------------------------------------------------------------------------------------


class LatentStandardizer(nn.Module):
    """The affine map ``u = (y − mean) / scale`` with one scalar ``scale`` (SPEC §1, GPE §4 step 3).

    Buffers: ``mean`` of shape ``(d,)`` and ``scale`` of shape ``()``. :meth:`fit` sets them so that on the fitting
    set ``mean(u) = 0`` and ``E‖u‖² = d`` (``E`` the empirical mean over the ``N`` points, i.e. ``1/N``), i.e.
    ``scale² = E‖y − ȳ‖² / d``. A single scale keeps the latent geometry that the GPE encoder preserved (a
    per-coordinate whitening would distort it).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim must be ≥ 1; got {dim}")
        self.dim = int(dim)
        self.register_buffer("mean", torch.zeros(self.dim))
        self.register_buffer("scale", torch.ones(()))
        self.config: dict[str, Any] = {"kind": "latent_standardizer", "dim": self.dim}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LatentStandardizer:
        """An identity standardiser of the right size; load the fitted buffers with ``load_state_dict``."""
        return cls(int(config["dim"]))

    @classmethod
    def fit(cls, y: Tensor) -> LatentStandardizer:
        """Fit on latents ``y`` of shape ``(N, d)``: ``mean = ȳ``, ``scale = sqrt(E‖y − ȳ‖² / d)`` (float64 maths)."""
        if y.ndim != 2 or y.shape[0] < 2:
            raise ValueError(f"expected latents of shape (N ≥ 2, d); got {tuple(y.shape)}")
        y64 = y.detach().to(torch.float64)
        if not torch.isfinite(y64).all():
            raise ValueError("latents contain NaN or inf; cannot fit the standardiser")
        mean = y64.mean(0)
        msq = (y64 - mean).square().sum(1).mean()
        scale = torch.sqrt(msq / y.shape[1])
        if not float(scale) > 0:
            raise ValueError("all latents are identical (zero spread): cannot standardise them")
        out = cls(y.shape[1])
        out.mean.copy_(mean.float())
        out.scale.copy_(scale.float())
        return out.to(y.device)

    def _check(self, y: Tensor) -> None:
        if y.ndim != 2 or y.shape[1] != self.dim:
            raise ValueError(f"expected a tensor of shape (B, {self.dim}); got {tuple(y.shape)}")

    def standardize(self, y: Tensor) -> Tensor:
        """``u = (y − mean) / scale``; ``(B, d) → (B, d)``."""
        self._check(y)
        return (y - self.mean.to(y)) / self.scale.to(y)

    def unstandardize(self, u: Tensor) -> Tensor:
        """``y = scale · u + mean``, the inverse of :meth:`standardize`; ``(B, d) → (B, d)``."""
        self._check(u)
        return u * self.scale.to(u) + self.mean.to(u)

    def forward(self, y: Tensor) -> Tensor:
        return self.standardize(y)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, scale={float(self.scale):.4g}"


# ----------------------------------------------------------------------------------------------------------------
# velocity network
# ----------------------------------------------------------------------------------------------------------------

VELOCITY_PRESETS: dict[str, dict[str, int]] = {
    "small": {"hidden": 256, "n_layers": 4},
    "large": {"hidden": 1024, "n_layers": 6},
}
"""Sizes of :class:`VelocityMLP`: ``small`` for the smoke/quick profiles, ``large`` for the paper profile."""


class VelocityMLP(nn.Module):
    """Time-conditioned MLP ``v_θ(t, y)``: ``[y, φ(t)] → hidden × (n_layers − 1) → d`` (SiLU by default).

    The time embedding is ``φ(t) = [t, sin(2π f_k t), cos(2π f_k t)]_{k<K}`` with ``K = time_features``
    frequencies ``f_k`` spaced geometrically in ``[1/2, max_frequency]`` (sinusoidal features, as in transformer
    position encodings), so ``φ`` has ``2K + 1`` entries.

    ``forward(t, y)``: ``t`` a Python float, a 0-d tensor or a ``(B,)`` tensor, ``y`` of shape ``(B, d)``;
    returns ``(B, d)``.
    """

    def __init__(
        self,
        dim: int,
        *,
        hidden: int = 256,
        n_layers: int = 4,
        time_features: int = 8,
        max_frequency: float = 4.0,
        act: str = "silu",
    ) -> None:
        super().__init__()
        if dim < 1 or time_features < 1:
            raise ValueError("dim and time_features must be ≥ 1")
        self.dim = int(dim)
        freqs = 2 * math.pi * torch.logspace(math.log10(0.5), math.log10(max_frequency), int(time_features))
        self.register_buffer("freqs", freqs, persistent=False)
        self.net = MLP(self.dim + 2 * int(time_features) + 1, self.dim, hidden=hidden, n_layers=n_layers, act=act)
        self.config: dict[str, Any] = {
            "kind": "velocity_mlp", "dim": self.dim, "hidden": int(hidden), "n_layers": int(n_layers),
            "time_features": int(time_features), "max_frequency": float(max_frequency), "act": act,
        }

    def time_embedding(self, t: Tensor) -> Tensor:
        """``φ(t)`` for ``t`` of shape ``(B,)``: returns ``(B, 2K + 1)``."""
        arg = t[:, None] * self.freqs.to(t)
        return torch.cat([t[:, None], arg.sin(), arg.cos()], dim=1)

    def forward(self, t: Tensor | float, y: Tensor) -> Tensor:
        if y.ndim != 2 or y.shape[1] != self.dim:
            raise ValueError(f"expected y of shape (B, {self.dim}); got {tuple(y.shape)}")
        t = torch.as_tensor(t, dtype=y.dtype, device=y.device)
        if t.ndim == 0:
            t = t.expand(y.shape[0])
        elif t.shape != (y.shape[0],):
            raise ValueError(f"t must be a scalar or of shape ({y.shape[0]},); got {tuple(t.shape)}")
        return self.net(torch.cat([y, self.time_embedding(t.to(y.dtype))], dim=1))


def make_velocity(dim: int, size: str = "small", **overrides: Any) -> VelocityMLP:
    """A :class:`VelocityMLP` of a named size (:data:`VELOCITY_PRESETS`), keyword overrides applied last."""
    if size not in VELOCITY_PRESETS:
        raise ValueError(f"unknown velocity size {size!r}; expected one of {sorted(VELOCITY_PRESETS)}")
    return VelocityMLP(dim, **(VELOCITY_PRESETS[size] | overrides))


def build_velocity(config: dict[str, Any]) -> VelocityMLP:
    """Rebuild a velocity network from its ``config`` (as stored in a checkpoint's ``modules`` entry)."""
    cfg = dict(config)
    kind = cfg.pop("kind", "velocity_mlp")
    if kind != "velocity_mlp":
        raise ValueError(f"unknown velocity kind {kind!r}; expected 'velocity_mlp'")
    dim = int(cfg.pop("dim"))
    return VelocityMLP(dim, **cfg)


# ----------------------------------------------------------------------------------------------------------------
# conditional flow matching
# ----------------------------------------------------------------------------------------------------------------


def _draw(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None, uniform: bool) -> Tensor:
    """Random numbers drawn on the generator's device (the global RNG of ``like``'s device if none), then moved."""
    device = generator.device if generator is not None else like.device
    fn = torch.rand if uniform else torch.randn
    return fn(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def cfm_loss(
    v: VelocityField,
    y1: Tensor,
    *,
    generator: torch.Generator | None = None,
    t: Tensor | None = None,
    z: Tensor | None = None,
) -> Tensor:
    """Conditional flow-matching loss (Lipman et al. 2022, straight-line/OT path with ``σ_min = 0``; SPEC §1)::

        y_t = (1 − t) z + t y1,   z ~ N(0, I_d),   t ~ U[0, 1]
        L   = mean_{b, i} ( v(t, y_t) − (y1 − z) )²_{b, i}

    i.e. the mean over the batch **and** the ``d`` coordinates (``E‖v − (y1 − z)‖² / d``).

    ``y1``: data (standardised latents) of shape ``(B, d)``; ``v(t, y)`` gets ``t`` of shape ``(B,)``.
    Unless given explicitly, ``z`` ``(B, d)`` is drawn first and then ``t`` ``(B,)``, both from ``generator`` (the
    global RNG if ``None``), so a seeded generator gives a fixed, reproducible draw. Returns a 0-d tensor.
    """
    if y1.ndim != 2:
        raise ValueError(f"expected y1 of shape (B, d); got {tuple(y1.shape)}")
    b = y1.shape[0]
    if z is None:
        z = _draw(tuple(y1.shape), y1, generator, uniform=False)
    if t is None:
        t = _draw((b,), y1, generator, uniform=True)
    if z.shape != y1.shape or t.shape != (b,):
        raise ValueError(f"z must be {tuple(y1.shape)} and t ({b},); got {tuple(z.shape)} and {tuple(t.shape)}")
    tt = t[:, None]
    yt = (1 - tt) * z + tt * y1
    return (v(t, yt) - (y1 - z)).square().mean()


@torch.no_grad()
def _fixed_cfm_loss(v: VelocityField, u: Tensor, *, seed: int, batch_size: int, device: torch.device) -> float:
    """CFM loss over all of ``u`` with a noise/time draw fixed by ``seed`` (comparable across evaluations)."""
    g = torch.Generator().manual_seed(seed)
    total, n = 0.0, 0
    for i in range(0, u.shape[0], batch_size):
        ub = u[i : i + batch_size].to(device)
        total += float(cfm_loss(v, ub, generator=g)) * ub.shape[0]
        n += ub.shape[0]
    return total / n


def default_flow_config(**overrides: Any) -> TrainConfig:
    """Flow-training defaults: :data:`gpelib.settings.TRAINING`'s ``quick`` flow stage (batch 256, lr 1e-3, betas
    (0.9, 0.999)) with 5000 iterations and an evaluation every 250; keyword ``overrides`` replace any field."""
    from .settings import stage_settings

    base: dict[str, Any] = dict(iterations=5000, eval_every=250, **stage_settings("quick", "flow"))
    return TrainConfig(**(base | overrides))


def train_flow(
    velocity: nn.Module,
    latents: Tensor,
    *,
    config: TrainConfig | None = None,
    val_latents: Tensor | None = None,
    standardizer: LatentStandardizer | None = None,
    encoder_hash: str | None = None,
) -> TrainResult:
    """Learn ``v_θ`` by conditional flow matching (:func:`cfm_loss`) on the standardised ``latents`` ``(N, d)``.

    Uses :func:`gpelib.train.fit`: tidy history ``iteration | seconds | train_loss | val_loss``, progress bar,
    seeding, non-finite check, checkpoint/resume (``config.checkpoint_dir``). ``val_loss`` is the CFM loss on the
    standardised ``val_latents`` (default: 1000 seeded training latents) with a noise/time draw fixed by
    ``config.seed`` — the same draw at every evaluation, so the curve is comparable across iterations.

    The standardiser is fitted on ``latents`` unless given; it is returned (and checkpointed) as
    ``result.modules["standardizer"]``, the velocity as ``result.modules["velocity"]``. ``config`` defaults to
    :func:`default_flow_config`.

    ``encoder_hash``: the :func:`~gpelib.checkpoint.weights_hash` of the encoder the latents come from, when the
    caller knows it (``gpe train-flow`` does); it is recorded in the checkpoint and a resumption with another one is
    refused. Without it (latents alone do not say which encoder made them) nothing is recorded or checked.
    """
    config = config or default_flow_config()
    if latents.ndim != 2:
        raise ValueError(f"expected latents of shape (N, d); got {tuple(latents.shape)}")
    _seed(config)
    device = resolve_device(config.device)
    latents = latents.detach().float().cpu()
    if standardizer is None:
        standardizer = LatentStandardizer.fit(latents)
    standardizer = standardizer.cpu()
    with torch.no_grad():
        data = standardizer(latents)
        val = standardizer(val_latents.detach().float().cpu()) if val_latents is not None else None
    val = _split_val(data, val, 1000, config.seed)
    velocity.to(device).train()
    standardizer.to(device)
    opt = adam(velocity.parameters(), lr=config.lr, betas=config.betas)
    val_seed = config.seed + 7919
    vel = data_parallel(velocity, device, compile=config.compile)

    def step(u: Tensor) -> dict[str, Tensor]:
        opt.zero_grad(set_to_none=True)
        loss = cfm_loss(vel, u)
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    def evaluate() -> dict[str, float]:
        return {"val_loss": _fixed_cfm_loss(velocity, val, seed=val_seed, batch_size=config.val_batch_size,
                                            device=device)}

    result = fit(name="cfm_flow", modules={"velocity": velocity, "standardizer": standardizer},
                 optimizers={"velocity": opt}, step=step, evaluate=evaluate, data=data, config=config,
                 extra_config={"latent_dim": int(latents.shape[1]),
                               **({"encoder_hash": encoder_hash} if encoder_hash is not None else {})})
    velocity.eval()
    return result


# ----------------------------------------------------------------------------------------------------------------
# ODE integration
# ----------------------------------------------------------------------------------------------------------------

_FIXED = {"euler": "euler", "heun": "heun2", "rk4": "rk4"}  # our name → torchdiffeq's fixed-grid solver
_ADAPTIVE = ("dopri5", "dopri8", "bosh3", "adaptive_heun")
ODE_METHODS: tuple[str, ...] = (*_FIXED, *_ADAPTIVE)
"""The solvers :func:`integrate` accepts, all ``torchdiffeq``'s: fixed-step ``euler``, ``heun``, ``rk4``, then
adaptive ones."""


@torch.no_grad()
def integrate(
    velocity: VelocityField,
    y0: Tensor,
    *,
    t0: float = 0.0,
    t1: float = 1.0,
    method: str = "heun",
    steps: int = 50,
    atol: float = 1e-5,
    rtol: float = 1e-5,
) -> Tensor:
    """Solve ``dy/dt = velocity(t, y)`` from ``y(t0) = y0`` ``(B, d)`` to ``t1``; returns ``y(t1)`` ``(B, d)``.

    ``t1 < t0`` integrates backward (with the GPE convention: ``t0=1, t1=0`` maps latents to their noise).
    All methods are ``torchdiffeq.odeint``'s. Fixed-step methods take ``steps`` equal steps of
    ``h = (t1 − t0)/steps`` (the grid ``linspace(t0, t1, steps + 1)``):

    * ``euler``: ``y += h k1`` (order 1; 1 evaluation per step);
    * ``heun``:  ``y += h (k1 + k2)/2``, ``k2 = v(t + h, y + h k1)`` (order 2; 2 evaluations; torchdiffeq's
      ``heun2``);
    * ``rk4``:   Runge–Kutta of order 4, torchdiffeq's ``rk4`` (Kutta's 3/8 rule, not the classical tableau;
      4 evaluations).

    Adaptive methods (``dopri5``, ...) use ``atol``/``rtol`` (``steps`` is ignored).
    ``velocity`` receives ``t`` as a 0-d tensor of ``y0``'s dtype. Runs without gradients.
    """
    from torchdiffeq import odeint

    if method not in ODE_METHODS:
        raise ValueError(f"unknown ODE method {method!r}; expected one of {ODE_METHODS}")
    if y0.ndim < 1:
        raise ValueError("y0 must have a batch dimension")
    if method in _FIXED and steps < 1:
        raise ValueError(f"steps must be ≥ 1; got {steps}")
    if t0 == t1:
        return y0.clone()
    ts = torch.tensor([t0, t1], dtype=y0.dtype if y0.is_floating_point() else torch.float32, device=y0.device)
    if method in _ADAPTIVE:
        return odeint(velocity, y0, ts, method=method, atol=atol, rtol=rtol)[-1]

    def grid(func: Any, y: Tensor, t: Tensor) -> Tensor:  # t = (start, end), ascending (torchdiffeq flips time)
        return torch.linspace(float(t[0]), float(t[-1]), steps + 1, dtype=t.dtype, device=t.device)

    return odeint(velocity, y0, ts, method=_FIXED[method], options={"grid_constructor": grid})[-1]


# ----------------------------------------------------------------------------------------------------------------
# the generator x = S(R(z))
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class LatentGenerator:
    """``x = S(R(z))``: noise ``z ~ N(0, I_d)`` → flow ``R`` (ODE from t=0 to 1) → unstandardise → decoder ``S``.

    All outputs are CPU tensors (as :func:`gpelib.models.encode`); computations run on the velocity's device.
    ``decoder`` may be ``None`` when only latents are wanted.
    """

    decoder: nn.Module | None
    velocity: nn.Module
    standardizer: LatentStandardizer

    @classmethod
    def from_result(cls, result: TrainResult, decoder: nn.Module | None) -> LatentGenerator:
        """The generator made of a :func:`train_flow` result and a decoder."""
        return cls(decoder=decoder, velocity=result.modules["velocity"].eval(),
                   standardizer=result.modules["standardizer"])  # type: ignore[arg-type]

    @property
    def dim(self) -> int:
        return self.standardizer.dim

    @property
    def device(self) -> torch.device:
        p = next(self.velocity.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def sample_noise(self, n: int, *, seed: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """``z ~ N(0, I_d)`` of shape ``(n, d)`` drawn on the CPU (reproducible across devices for a given seed)."""
        if seed is not None and generator is not None:
            raise ValueError("give either seed or generator, not both")
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.dim, generator=generator)

    def from_noise(self, z: Tensor, *, method: str = "heun", steps: int = 50, batch_size: int = 4096) -> Tensor:
        """Latents ``y = unstandardise(u(1))`` with ``u(0) = z``; ``(n, d) → (n, d)``."""
        return self._flow(z, forward=True, method=method, steps=steps, batch_size=batch_size)

    def to_noise(self, y: Tensor, *, method: str = "heun", steps: int = 50, batch_size: int = 4096) -> Tensor:
        """The inverse map: ``z = u(0)`` with ``u(1) = standardise(y)`` (backward flow); ``(n, d) → (n, d)``."""
        return self._flow(y, forward=False, method=method, steps=steps, batch_size=batch_size)

    @torch.no_grad()
    def _flow(self, a: Tensor, *, forward: bool, method: str, steps: int, batch_size: int) -> Tensor:
        dev = self.device
        std = self.standardizer.to(dev)
        out = []
        with eval_mode(self.velocity):
            for i in range(0, a.shape[0], batch_size):
                ab = a[i : i + batch_size].to(dev, torch.float32)
                if forward:
                    u = integrate(self.velocity, ab, t0=0.0, t1=1.0, method=method, steps=steps)
                    out.append(std.unstandardize(u).cpu())
                else:
                    u = integrate(self.velocity, std.standardize(ab), t0=1.0, t1=0.0, method=method, steps=steps)
                    out.append(u.cpu())
        return torch.cat(out) if out else a.new_zeros((0, self.dim)).cpu()

    def sample_latents(
        self,
        n: int,
        *,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        method: str = "heun",
        steps: int = 50,
        batch_size: int = 4096,
    ) -> Tensor:
        """``n`` generated latents ``(n, d)``: ``z ~ N(0, I)`` → forward flow → unstandardise."""
        z = self.sample_noise(n, seed=seed, generator=generator)
        return self.from_noise(z, method=method, steps=steps, batch_size=batch_size)

    @torch.no_grad()
    def decode(self, latents: Tensor, *, batch_size: int = 1024) -> Tensor:
        """``S(y)`` in batches on the decoder's device; ``(n, d) → (n, ...)`` on the CPU."""
        if self.decoder is None:
            raise ValueError("this LatentGenerator has no decoder; use sample_latents() or give one")
        p = next(self.decoder.parameters(), None)
        dev = p.device if p is not None else torch.device("cpu")
        with eval_mode(self.decoder):
            return torch.cat([self.decoder(latents[i : i + batch_size].to(dev)).cpu()
                              for i in range(0, latents.shape[0], batch_size)])

    def generate(
        self,
        n: int,
        *,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        method: str = "heun",
        steps: int = 50,
        batch_size: int = 1024,
    ) -> Tensor:
        """``n`` generated samples ``x = S(R(z))``, shape ``(n, ...)`` (the decoder's output shape), on the CPU."""
        y = self.sample_latents(n, seed=seed, generator=generator, method=method, steps=steps, batch_size=batch_size)
        return self.decode(y, batch_size=batch_size)

    def save(self, path: str | Path, *, include_decoder: bool = True) -> Path:
        """Checkpoint velocity and standardiser (and the decoder when it has a ``config``) via gpelib.checkpoint."""
        modules: dict[str, nn.Module] = {"velocity": self.velocity, "standardizer": self.standardizer}
        if include_decoder and self.decoder is not None and getattr(self.decoder, "config", None) is not None:
            modules["decoder"] = self.decoder
        return save_checkpoint(path, modules=modules, config={"kind": "latent_generator", "latent_dim": self.dim})

    @classmethod
    def load(
        cls, path: str | Path, decoder: nn.Module | None = None, *, map_location: str | torch.device = "cpu"
    ) -> LatentGenerator:
        """Load a generator saved by :meth:`save` (or a :func:`train_flow` checkpoint). ``decoder``: the decoder
        to use; if ``None``, the one stored in the checkpoint (if any) is rebuilt."""
        ck = load_checkpoint(path, map_location=map_location)
        cfgs = ck.config.get("modules", {})
        if "velocity" not in ck.weights or "standardizer" not in ck.weights:
            raise ValueError(f"checkpoint {path} holds no 'velocity'/'standardizer' modules")
        vel = build_velocity(cfgs["velocity"])
        vel.load_state_dict(ck.weights["velocity"])
        std = LatentStandardizer.from_config(cfgs["standardizer"])
        std.load_state_dict(ck.weights["standardizer"])
        if decoder is None and "decoder" in ck.weights and cfgs.get("decoder"):
            decoder = build_model(cfgs["decoder"])
            decoder.load_state_dict(ck.weights["decoder"])
        return cls(decoder=decoder, velocity=vel.to(map_location).eval(), standardizer=std.to(map_location))


def interpolation_grid(
    generator: LatentGenerator,
    corners: Tensor,
    n: int,
    *,
    method: str = "rk4",
    steps: int = 50,
) -> Tensor:
    """An ``n × n`` grid of latents between four corner latents, interpolated in noise space (GPE Fig. 10).

    ``corners`` ``(4, d)`` in the order top-left, top-right, bottom-left, bottom-right. Each corner is mapped to
    its noise by the backward flow, ``z_c = R^{-1}(y_c)``; the grid noise at row ``i``, column ``j``
    (``a = i/(n−1)``, ``b = j/(n−1)``) is the bilinear blend

        z_ij = (1−a)(1−b) z_tl + (1−a) b z_tr + a (1−b) z_bl + a b z_br,

    mapped forward to latents. Returns ``(n·n, d)`` in row-major order (decode with ``generator.decode``); the
    four grid corners reproduce the input corners up to the ODE solver's round-trip error.
    """
    if corners.ndim != 2 or corners.shape[0] != 4:
        raise ValueError(f"corners must have shape (4, d); got {tuple(corners.shape)}")
    if n < 2:
        raise ValueError(f"n must be ≥ 2; got {n}")
    z = generator.to_noise(corners, method=method, steps=steps)
    a = torch.linspace(0, 1, n, dtype=z.dtype)[:, None, None]  # rows
    b = torch.linspace(0, 1, n, dtype=z.dtype)[None, :, None]  # columns
    grid = (1 - a) * (1 - b) * z[0] + (1 - a) * b * z[1] + a * (1 - b) * z[2] + a * b * z[3]
    return generator.from_noise(grid.reshape(n * n, -1), method=method, steps=steps)
