"""K independent GMEGAN runs as one batched model (issue 28, item 2): the networks stacked along a leading run axis,
the losses of GMEGAN eqs. 5.1–5.2 evaluated for all runs at once, one fused Adam over the stack.

Shapes: ``K`` runs, ``B`` points per batch, ``D`` data dimension (or ``(C, H, W)``), ``d`` latent dimension. A data
batch is ``(K, B, D)`` (run ``k``'s own batch in row ``k``), latents ``(K, B, d)``, critic values ``(K, B)``, and
every loss is a ``(K,)`` vector, one entry per run. The networks are built by :class:`StackedNet` from ``K`` single
networks of :func:`~gpelib.gan.architectures.build_networks`, so run ``k`` starts from exactly the weights a single run
with its seed starts from. Each linear layer is :class:`StackedLinear`: weights ``(K, in, out)``, one
``torch.baddbmm`` per layer.

Why ``baddbmm`` rather than ``torch.func.stack_module_state`` + ``functional_call`` + ``vmap``: on one CPU thread, for
the mixture critic (4 linear layers of 128, B = 16, K = 8) a forward pass, its input-gradient penalty (double backward)
and the backward pass cost 2.50 ms batched with ``baddbmm`` against 2.74 ms with ``vmap`` (5.42 ms for the 8 single
networks one after the other); ``baddbmm`` also keeps the per-run state dicts plain (``weight[k].T`` is run ``k``'s
``nn.Linear.weight``) and needs nothing of ``torch.func`` under double backward. Two passes of the single method
become one pass over ``(K, 2B, ...)`` here (the critic on generated and real points, the encoder on ``G(y)`` and on
``x``), which also spares the critic step's second pass over the real points.

The runs never mix: the losses are summed over runs before ``backward``, and since the parameters of run ``k`` are the
slices ``[k]`` of the stacked tensors, which only run ``k``'s batch touches, each slice receives exactly its own
run's gradient. Adam is elementwise, so one (fused) Adam over the stack is ``K`` independent Adams with the same
learning rate and betas. The runs may differ in the scalar weights of eq. 5.2 (``λ1, λ2, λ3`` and the transport
weight, :data:`RUN_SCALARS`), held as ``(K,)`` tensors: the λ-ablations of GMEGAN §6.4 batch together.

Only the MLP family (``mlp``, ``mlp_wide``, ``mlp_deep``) is stacked here; convolutional networks raise ``TypeError``.
The engine that trains such a stack with each run's data stream, checkpoint and history is
:mod:`gpelib.gan.batched_train`.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..losses import gme_cost
from ..models import MLP
from ..train_setup import adam
from .architectures import Critic
from .gmegan import GMEGAN
from .method_base import GANMethod, frozen

__all__ = [
    "RUN_SCALARS",
    "StackedLinear",
    "StackedNet",
    "RunStream",
    "batched_pairwise_sq_dists",
    "batched_gme_cost",
    "batched_grad_norm_sq",
    "BatchedGMEGAN",
]

RUN_SCALARS: tuple[str, ...] = ("lambda1", "lambda2", "lambda3", "transport_weight")
"""The GMEGAN hyper-parameters that may differ between the runs of one batch (the weights of eq. 5.2); every other
resolved hyper-parameter (learning rates, betas, reductions, penalty, update order) must be the same."""

_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.ELU, nn.SiLU, nn.Identity)


# --------------------------------------------------------------------------------------------------------------
# Stacked networks
# --------------------------------------------------------------------------------------------------------------


class StackedLinear(nn.Module):
    """``K`` independent ``nn.Linear(in, out)`` as one module: ``weight`` ``(K, in, out)`` (run ``k``'s
    ``nn.Linear.weight`` transposed), ``bias`` ``(K, out)``; ``(K, B, in) → (K, B, out)``,
    ``y[k] = x[k] @ weight[k] + bias[k]`` (one ``torch.baddbmm``). Stored as ``(K, in, out)``, not ``nn.Linear``'s
    ``(K, out, in)``: the weight gradient then comes out of ``bmm`` contiguous, where a transposed layout costs a
    strided copy or add of every weight gradient (55 µs against 7 µs for a ``3 × 128 × 128`` one on one thread)."""

    def __init__(self, linears: Sequence[nn.Linear]) -> None:
        super().__init__()
        if any(lin.bias is None for lin in linears):
            raise TypeError("StackedLinear needs linear layers with a bias")
        self.weight = nn.Parameter(torch.stack([lin.weight.detach().T for lin in linears]).contiguous())
        self.bias = nn.Parameter(torch.stack([lin.bias.detach() for lin in linears]))

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)


def _plan(net: nn.Module) -> tuple[list[str], tuple[int, ...] | None, bool]:
    """The submodule names of an MLP-family network in the order they apply, its output shape (``None``: flat) and
    whether its output is squeezed to ``(B,)`` (a :class:`~gpelib.gan.architectures.Critic`)."""
    if isinstance(net, MLP):
        return [f"net.{n}" for n, _ in net.net.named_children()], net.out_shape, False
    if isinstance(net, Critic) and isinstance(net.body, nn.Sequential):
        return [f"body.{n}" for n, _ in net.body.named_children()] + ["head"], None, True
    raise TypeError(f"only the MLP family (gpelib.models.MLP and MLP critics) can be stacked; got "
                    f"{type(net).__name__}")


class StackedNet(nn.Module):
    """``K`` copies of one MLP-family network (a :class:`~gpelib.models.MLP` or an MLP
    :class:`~gpelib.gan.architectures.Critic`) with their own weights: ``(K, B, *in_shape) → (K, B, *out_shape)``
    (critics: ``(K, B)``). Built from ``K`` single networks of the same architecture, whose current weights it copies;
    :meth:`run_state` / :meth:`load_run` give and take run ``k``'s weights under the single network's state-dict keys.
    """

    def __init__(self, singles: Sequence[nn.Module]) -> None:
        super().__init__()
        if not singles:
            raise ValueError("StackedNet needs at least one network")
        names, self.out_shape, self.squeeze = _plan(singles[0])
        self.runs = len(singles)
        self.layers = nn.ModuleList()
        self.keys: dict[str, Tensor] = {}  # the single network's state-dict key → the stacked parameter
        self.transposed: set[str] = set()  # the keys stored transposed (linear weights)
        for name in names:
            mod = singles[0].get_submodule(name)
            if isinstance(mod, nn.Linear):
                layer = StackedLinear([s.get_submodule(name) for s in singles])
                self.keys.update({f"{name}.weight": layer.weight, f"{name}.bias": layer.bias})
                self.transposed.add(f"{name}.weight")
            elif isinstance(mod, nn.Flatten):
                layer = nn.Flatten(2)
            elif isinstance(mod, _ELEMENTWISE):
                layer = copy.deepcopy(mod)
            else:
                raise TypeError(f"only the MLP family can be stacked; cannot stack the layer {name} "
                                f"({type(mod).__name__}) of {type(singles[0]).__name__}")
            self.layers.append(layer)
        if set(self.keys) != set(singles[0].state_dict()):
            raise TypeError(f"{type(singles[0]).__name__} holds state StackedNet does not stack: "
                            f"{sorted(set(singles[0].state_dict()) - set(self.keys))}")

    def forward(self, x: Tensor) -> Tensor:
        k, b = x.shape[:2]
        h = x.reshape(k, b, -1)
        for layer in self.layers:
            h = layer(h)
        if self.squeeze:
            return h.squeeze(-1)
        return h.reshape(k, b, *self.out_shape) if self.out_shape is not None else h

    def run_state(self, k: int) -> dict[str, Tensor]:
        """Run ``k``'s weights as the single network's state dict (copies)."""
        return {key: self.single_layout(key, p[k].detach()).clone(memory_format=torch.contiguous_format)
                for key, p in self.keys.items()}

    def single_layout(self, key: str, t: Tensor) -> Tensor:
        """Run ``k``'s slice ``t`` of the stacked parameter ``key`` (or of a tensor shaped like it: an Adam moment)
        as a view in the single network's layout, and back (a transpose for linear weights, its own inverse)."""
        return t.transpose(-2, -1) if key in self.transposed else t

    @torch.no_grad()
    def load_run(self, k: int, state: dict[str, Tensor]) -> None:
        """Set run ``k``'s weights from the single network's state dict ``state``."""
        for key, p in self.keys.items():
            self.single_layout(key, p[k]).copy_(state[key])


# --------------------------------------------------------------------------------------------------------------
# Batched losses
# --------------------------------------------------------------------------------------------------------------


@dataclass
class RunStream:
    """Where run ``k`` draws its randomness and extra critic batches, in the order the single run draws them:
    ``cpu`` plays torch's global CPU generator of the single run (extra critic batches' indices; on a CPU run also
    the latents), ``dev`` its device generator (the latents; the same object as ``cpu`` on a CPU run), ``pool`` the
    real data ``(N, *data_shape)`` of its extra critic batches
    (:meth:`~gpelib.gan.method_base.GANMethod.attach_data`)."""

    cpu: torch.Generator
    dev: torch.Generator
    pool: Tensor | None = None


def batched_pairwise_sq_dists(a: Tensor) -> Tensor:
    """``‖a[k, i] − a[k, j]‖²`` for each run, ``(K, B, n) → (K, B, B)``, by the Gram identity (one ``baddbmm``),
    clamped at 0 — :func:`gpelib.losses.pairwise_sq_dists` of each run's batch."""
    sq = (a * a).sum(dim=2, keepdim=True)
    d = torch.baddbmm(sq + sq.transpose(1, 2), a, a.transpose(1, 2), beta=1.0, alpha=-2.0)
    return d.clamp_min(0.0) if d.requires_grad else d.clamp_min_(0.0)


def batched_gme_cost(x: Tensor, z: Tensor, *, data_scale: float = 1.0, chunk_size: int | None = None) -> Tensor:
    """The minibatch GME cost ``GM(T; µ_B)`` (GMEGAN eqs. 3.2–3.4, the U-statistic over pairs ``i ≠ j``) of each run
    over its own batch: data ``x`` ``(K, B, ...)``, latents ``z`` ``(K, B, d)`` → ``(K,)``; entry ``k`` is
    :func:`gpelib.losses.gme_cost` ``(x[k], z[k])``. With ``chunk_size < B`` the runs are evaluated one by one by
    the blockwise path of :func:`~gpelib.losses.gme_cost` (bounded memory)."""
    k, b = z.shape[:2]
    if b < 2:
        raise ValueError("the GME cost needs at least two points per run (it averages over pairs i ≠ j)")
    if chunk_size is not None and chunk_size < b:
        return torch.stack([gme_cost(x[i], z[i], data_scale=data_scale, chunk_size=chunk_size) for i in range(k)])
    xf = x.reshape(k, b, -1)
    with contextlib.nullcontext() if xf.requires_grad else torch.no_grad():
        cx = torch.log1p(batched_pairwise_sq_dists(xf) * data_scale**2)
    cy = torch.log1p(batched_pairwise_sq_dists(z))
    eye = torch.eye(b, dtype=torch.bool, device=z.device)
    r = (cy - cx).square().masked_fill(eye, 0.0)
    return r.sum(dim=(1, 2)) / (b * (b - 1))


def batched_grad_norm_sq(psi: nn.Module, x: Tensor) -> Tensor:
    """``‖∇_x ψ_k(x[k, i])‖²`` for every run and point, ``(K, B)``, differentiable (``create_graph=True``); ``psi``
    maps ``(K, B, ...)`` to ``(K, B)``. One ``autograd.grad`` of the sum over runs and points: each point's value
    depends on its own input alone (no batch norm in critics), so its input gradient is its own."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(psi(xg).sum(), xg, create_graph=True)
    return g.flatten(2).square().sum(dim=2)


def _sq_norm(a: Tensor, reduction: str) -> Tensor:
    """Per-sample ``‖a[k, i]‖²`` (``"sum"``) or per-coordinate mean (``"mean"``), averaged over each run's batch:
    ``(K, B, ...) → (K,)``."""
    s = a.flatten(2).square()
    return (s.sum(dim=2) if reduction == "sum" else s.mean(dim=2)).mean(dim=1)


# --------------------------------------------------------------------------------------------------------------
# Batched GMEGAN
# --------------------------------------------------------------------------------------------------------------


def _same_hyper(methods: Sequence[GANMethod], scalars: Sequence[str] = ()) -> None:
    """``ValueError`` unless the methods share one class and every resolved hyper-parameter but ``scalars``."""
    ref = methods[0]
    for m in methods[1:]:
        if type(m) is not type(ref):
            raise ValueError(f"one batch trains one method; got {type(ref).__name__} and {type(m).__name__}")
        diff = sorted(k for k, v in m.hyper.items() if k not in scalars and ref.hyper[k] != v)
        if diff:
            raise ValueError(f"runs of one batch may differ only in {list(scalars)}; these differ too: {diff}")


class BatchedMethod:
    """``K`` runs of one GAN method as one model: the networks of :attr:`REQUIRES` stacked (:class:`StackedNet`), each
    run's randomness drawn from its own :class:`RunStream` in the order its single run draws it, one optimiser per
    single optimiser over the stacked parameters (elementwise updates — Adam, RMSprop — so one over the stack is ``K``
    independent ones). Subclasses give the losses and :meth:`step`; this base gives the stacking, the streams and
    :meth:`to_singles` / :meth:`from_singles`, which copy weights and optimiser states between the stack and the
    single methods (checkpoints, evaluation, resume)."""

    METHODS: tuple[type, ...] = ()
    SCALARS: tuple[str, ...] = ()
    FIXED: tuple[str, ...] = ()
    """Parts of ``REQUIRES`` that have no parameters and are not stacked (OTM's fixed embedding)."""

    def __init__(self, methods: Sequence[GANMethod], streams: Sequence[RunStream]) -> None:
        if not methods or len(methods) != len(streams):
            raise ValueError(f"need one stream per run; got {len(methods)} methods and {len(streams)} streams")
        if not all(isinstance(m, self.METHODS) for m in methods):
            raise TypeError(f"{type(self).__name__} trains {[c.__name__ for c in self.METHODS]}; got "
                            f"{sorted({type(m).__name__ for m in methods})}")
        _same_hyper(methods, self.SCALARS)
        self.methods, self.streams, self.runs = list(methods), list(streams), len(methods)
        ref = methods[0]
        self.hp, self.latent_dim, self.device, self.dtype = ref.hp, ref.latent_dim, ref.device, ref.dtype
        self.nets = {p: StackedNet([m.modules()[p] for m in methods]) for p in ref.REQUIRES if p not in self.FIXED}
        self._setup()
        self.optimizers = self._build_optimizers()

    def _setup(self) -> None:
        """Per-run scalars and flags a subclass needs before its optimisers are built."""

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def _no_state(self, part: str, k: int) -> bool:
        """Whether run ``k``'s single optimiser holds no state for the parameters of ``part`` (see
        :meth:`BatchedGMEGAN._no_state`)."""
        return False

    def step(self, x: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """What each run's critic minimises, ``(K,)``, and its logged components."""
        raise NotImplementedError

    def _after_critic_step(self) -> None:
        """Hook run after every critic update (WGAN's weight clipping)."""

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        """One critic update of every run on its real batch ``x[k]`` against ``G_k(y)`` (:meth:`critic_loss`, then
        :meth:`_after_critic_step`); returns ``(K,)`` losses and components."""
        with torch.no_grad():
            fake = self.nets["generator"](self.latents(x.shape[1]))
        opt = self.optimizers["critic"]
        opt.zero_grad(set_to_none=True)
        loss, parts = self.critic_loss(x, fake)
        loss.sum().backward()
        opt.step()
        self._after_critic_step()
        return {"d_loss": loss.detach(), **{k: v.detach() for k, v in parts.items()}}

    # -- randomness of each run ----------------------------------------------------------------------------------

    def latents(self, b: int) -> Tensor:
        """``y ~ N(0, I_d)`` for each run from its own stream, ``(K, b, d)`` (as the single ``sample_latent``)."""
        return torch.stack([torch.randn(b, self.latent_dim, generator=s.dev, device=s.dev.device, dtype=self.dtype)
                            for s in self.streams]).to(self.device)

    def uniforms(self, b: int) -> Tensor:
        """``ε ~ U[0, 1]`` for each run from its own device stream, ``(K, b)`` (as a single run's ``torch.rand(b)``
        on its device, e.g. WGAN-GP's interpolation weights)."""
        return torch.stack([torch.rand(b, generator=s.dev, device=s.dev.device) for s in self.streams]).to(self.device)

    def real_batches(self, x: Tensor) -> Tensor:
        """Fresh real batches for an extra critic step, ``(K, B, ...)``: run ``k`` draws ``B`` indices with
        replacement from its ``pool`` with its CPU stream (its batch ``x[k]`` again without a pool)."""
        out = []
        for k, s in enumerate(self.streams):
            if s.pool is None:
                out.append(x[k])
                continue
            idx = torch.randint(s.pool.shape[0], (x.shape[1],), generator=s.cpu)
            out.append(s.pool[idx].to(device=x.device, dtype=x.dtype))
        return torch.stack(out)

    # -- the single runs ------------------------------------------------------------------------------------------

    def _links(self) -> list[tuple[str | None, StackedNet, str, str, Tensor]]:
        """``(optimiser name or None, stacked network, part, single state-dict key, stacked parameter)`` for every
        stacked parameter."""
        owner = {id(p): name for name, o in self.optimizers.items() for g in o.param_groups for p in g["params"]}
        return [(owner.get(id(big)), net, part, key, big)
                for part, net in self.nets.items() for key, big in net.keys.items()]

    @torch.no_grad()
    def to_singles(self, optimizers: bool = True) -> None:
        """Copy every run's weights (and with ``optimizers`` its Adam state) into its single method (evaluation,
        checkpoints); a run's parameters for which its single optimiser holds no state (:meth:`_no_state`) get
        none."""
        for opt_name, net, part, key, big in self._links():
            st = self.optimizers[opt_name].state.get(big) if opt_name and optimizers else None
            for k, m in enumerate(self.methods):
                sp = m.modules()[part].get_parameter(key)
                sp.copy_(net.single_layout(key, big[k]))
                if not st:
                    continue
                if self._no_state(part, k):
                    m.optimizers()[opt_name].state.pop(sp, None)
                else:
                    m.optimizers()[opt_name].state[sp] = {
                        n: (net.single_layout(key, v[k]) if v.shape == big.shape else v).clone(
                            memory_format=torch.contiguous_format) for n, v in st.items()}

    @torch.no_grad()
    def from_singles(self) -> None:
        """Set the stack's weights and Adam states from the single methods (after they resumed from checkpoints).
        The runs' Adam step counts must agree (they are one count in the stack); a run without state for a parameter
        (no gradient so far) gets zero moments."""
        for opt_name, net, part, key, big in self._links():
            singles = [m.modules()[part].get_parameter(key) for m in self.methods]
            for k, sp in enumerate(singles):
                net.single_layout(key, big[k]).copy_(sp)
            if opt_name is None:
                continue
            states = [m.optimizers()[opt_name].state.get(sp) for m, sp in zip(self.methods, singles)]
            held = [st for st in states if st]
            if not held:
                continue
            if any(not torch.equal(st["step"], held[0]["step"]) for st in held):
                raise ValueError(f"the runs' {opt_name!r} optimisers are at different steps; train them apart")
            # a run without state for this parameter never had a gradient for it: zero moments move it by exactly 0
            self.optimizers[opt_name].state[big] = {
                n: torch.stack([net.single_layout(key, st[n] if st else torch.zeros_like(v)) for st in states])
                .contiguous() if v.shape == singles[0].shape else v.clone() for n, v in held[0].items()}


class BatchedGMEGAN(BatchedMethod):
    """``K`` GMEGAN runs (GMEGAN §5, eqs. 5.1–5.2, Algorithm 1; any variant of
    :data:`~gpelib.gan.gmegan.GMEGAN_VARIANTS`) trained as one model. Built from ``K`` single
    :class:`~gpelib.gan.gmegan.GMEGAN` methods (their networks' current weights, their resolved hyper-parameters);
    :meth:`step` does for every run what the single method's ``step`` does, on a batch ``(K, B, ...)``, drawing the
    latents and extra critic batches of run ``k`` from ``streams[k]``. Per run and summed over runs for ``backward``:

        L_k = w_k·E_y‖T_k(G_k(y)) − y‖² + λ1_k·GM(T_k) + λ3_k·E_x‖G_k(R_inv,k(T_k x)) − x‖² + [E ψ_k(G_k y) − E ψ_k(x)]

    and the critic minimises ``−(E ψ_k(G_k y) − E ψ_k(x)) + λ2_k·penalty_k``. The runs may differ in
    :data:`RUN_SCALARS`."""

    METHODS = (GMEGAN,)
    SCALARS = RUN_SCALARS

    def _setup(self) -> None:
        self.w = {f: torch.tensor([float(getattr(m.hp, f)) for m in self.methods], dtype=self.dtype,
                                  device=self.device) for f in RUN_SCALARS}
        self.any = {f: bool(self.w[f].ne(0).any()) for f in RUN_SCALARS}
        self.mask2 = self.w["lambda2"].ne(0).to(self.dtype)  # the runs whose critic penalty is logged

    def _no_state(self, part: str, k: int) -> bool:
        """``R_inv`` of a run with ``λ3 = 0`` gets no Adam state, as in the single run, where the reconstruction is
        computed without gradient; in the stack (other runs with ``λ3 > 0``) its slice receives exact zeros, its
        moments stay 0 and Adam moves it by exactly 0."""
        return part == "r_inv" and not float(self.w["lambda3"][k])

    def _build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The single method's optimisers over the stacked parameters (same names, learning rates and betas)."""
        hp, n = self.hp, self.nets

        def opt(parts: list[str], lr: float) -> torch.optim.Optimizer:
            return adam([p for part in parts for p in n[part].parameters()], lr=lr, betas=hp.betas)

        if hp.updates == "joint":
            return {"generator": opt(["generator", "encoder", "r_inv"], hp.lr_g), "critic": opt(["critic"], hp.lr_d)}
        gen = ["generator"] + (["r_inv"] if hp.reconstruction == "r_inv" else [])
        return {"generator": opt(gen, hp.lr_g), "encoder": opt(["encoder"], hp.lr_t),
                "critic": opt(["critic"], hp.lr_d)}

    # -- losses ---------------------------------------------------------------------------------------------------

    def critic_loss(self, x_real: Tensor, x_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Per run ``−(E ψ(x_fake) − E ψ(x_real)) + λ2·penalty`` (GMEGAN eq. 5.2, corrected sign), ``(K,)``; the
        penalty ``mean ‖∇ψ(x)‖^p`` at the real points or ``½(… + mean ‖∇ψ(x_fake)‖^p)`` (``penalty_on="both"``).
        One critic pass over ``[x_fake, x_real]`` ``(K, 2B, ...)`` gives the gap and the input gradients of the
        penalty (the single method passes the real points twice). The logged penalty is 0 for a run with ``λ2 = 0``,
        as the single method logs it."""
        psi, hp, b = self.nets["critic"], self.hp, x_real.shape[1]
        if not self.any["lambda2"]:
            out = psi(torch.cat([x_fake, x_real], dim=1))
            gap = out[:, :b].mean(dim=1) - out[:, b:].mean(dim=1)
            return -gap, {"gap": gap, "grad_penalty": torch.zeros_like(gap)}
        both = hp.penalty_on == "both"
        with torch.enable_grad():
            real = x_real.detach().requires_grad_(True)
            fake = x_fake.detach().requires_grad_(both)
            out = psi(torch.cat([fake, real], dim=1))
            grads = torch.autograd.grad(out.sum(), (real, fake) if both else (real,), create_graph=True)
        gap = out[:, :b].mean(dim=1) - out[:, b:].mean(dim=1)
        pens = [g.flatten(2).square().sum(dim=2).pow(hp.penalty_p / 2.0).mean(dim=1) for g in grads]
        pen = 0.5 * (pens[0] + pens[1]) if both else pens[0]
        return -(gap - self.w["lambda2"] * pen), {"gap": gap, "grad_penalty": pen * self.mask2}

    def _pair(self, net: str, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """``net(a), net(b)`` by one pass over ``[a, b]`` ``(K, 2B, ...)``."""
        out = self.nets[net](torch.cat([a, b], dim=1))
        return out[:, : a.shape[1]], out[:, a.shape[1]:]

    def _gme(self, x: Tensor, tx: Tensor) -> Tensor:
        with contextlib.nullcontext() if self.any["lambda1"] else torch.no_grad():
            return batched_gme_cost(x, self.hp.latent_scale * tx, data_scale=self.hp.data_scale,
                                    chunk_size=self.hp.chunk_size)

    def _reconstruct(self, tx: Tensor) -> Tensor:
        n = self.nets
        return n["generator"](n["r_inv"](tx) if self.hp.reconstruction == "r_inv" else tx)

    # -- updates --------------------------------------------------------------------------------------------------

    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        """Every run's generator-side update on ``L_k`` (one Adam step of ``G, T, R_inv``, or ``updates="separate"``:
        a ``T`` step then a ``G`` step); the critics are frozen. Returns ``(K,)`` losses and components."""
        if self.hp.updates == "separate":
            return self._separate_steps(x)
        n, w, hp = self.nets, self.w, self.hp
        opt = self.optimizers["generator"]
        opt.zero_grad(set_to_none=True)
        y = self.latents(x.shape[1])
        with frozen(n["critic"]):
            fake = n["generator"](y)
            t_fake, tx = self._pair("encoder", fake, x)
            ot = w["transport_weight"] * _sq_norm(t_fake - y, hp.reduction)
            gme = self._gme(x, tx)
            with contextlib.nullcontext() if self.any["lambda3"] else torch.no_grad():
                rec = _sq_norm(self._reconstruct(tx) - x, hp.reduction)
            psi_fake, psi_real = self._pair("critic", fake, x)
            adv = psi_fake.mean(dim=1) - psi_real.mean(dim=1)
            loss = ot + adv
            if self.any["lambda1"]:
                loss = loss + w["lambda1"] * gme
            if self.any["lambda3"]:
                loss = loss + w["lambda3"] * rec
            loss.sum().backward()
        opt.step()
        return {"loss": loss.detach(), "ot": ot.detach(), "gme": gme.detach(), "recon": rec.detach(),
                "adv": adv.detach()}

    def _separate_steps(self, x: Tensor) -> dict[str, Tensor]:
        """``T`` step on ``transport + λ1·GM`` (``G`` fixed), then ``G`` step on ``transport + λ3·reconstruction +
        E ψ(G y)`` (``T`` fixed), one latent batch for both (GMEGAN as released on images)."""
        n, w, hp = self.nets, self.w, self.hp
        y = self.latents(x.shape[1])
        opt_t = self.optimizers["encoder"]
        opt_t.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake = n["generator"](y)
        t_fake, tx = self._pair("encoder", fake, x)
        ot_t = w["transport_weight"] * _sq_norm(t_fake - y, hp.reduction)
        gme = self._gme(x, tx)
        t_loss = ot_t + w["lambda1"] * gme if self.any["lambda1"] else ot_t
        t_loss.sum().backward()
        opt_t.step()
        opt_g = self.optimizers["generator"]
        opt_g.zero_grad(set_to_none=True)
        with frozen(n["critic"], n["encoder"]):
            fake = n["generator"](y)
            ot = w["transport_weight"] * _sq_norm(n["encoder"](fake) - y, hp.reduction)
            with contextlib.nullcontext() if self.any["lambda3"] else torch.no_grad():
                rec = _sq_norm(self._reconstruct(tx.detach()) - x, hp.reduction)
            psi_fake, psi_real = self._pair("critic", fake, x)
            adv = psi_fake.mean(dim=1) - psi_real.mean(dim=1)
            g_loss = ot + adv + (w["lambda3"] * rec if self.any["lambda3"] else 0.0)
            g_loss.sum().backward()
        opt_g.step()
        loss = g_loss + (w["lambda1"] * gme if self.any["lambda1"] else 0.0)
        return {"loss": loss.detach(), "ot": ot.detach(), "gme": gme.detach(), "recon": rec.detach(),
                "adv": adv.detach()}

    def step(self, x: Tensor) -> dict[str, Tensor]:
        """One generator iteration of every run on ``x`` ``(K, B, ...)``: ``n_critic`` critic updates (the first on
        ``x``, the others on fresh batches of each run's pool), then the generator side; ``(K,)`` per logged value,
        keys as the single method's ``step``."""
        d_out: dict[str, Tensor] = {}
        for i in range(int(self.hp.n_critic)):
            d_out = self.discriminator_step(x if i == 0 else self.real_batches(x))
        return {**self.generator_step(x), **d_out}
