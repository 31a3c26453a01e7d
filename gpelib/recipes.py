"""Recipes: "train method M on data D with settings S", the fresh-decoder protocol and the latent-flow curve.

One seeding rule (:func:`init_models`) and one run record (:class:`Run`) for every notebook, the command line and
the benchmarks, so that "the GPE encoder with seed 0" is the same network wherever it is trained:

* networks are initialised from ``torch.manual_seed(seed + OFFSET[role])`` right before each is built, with
  ``OFFSET = {"encoder": 0, "decoder": 1, "velocity": 2}`` — so every method's decoder (and every fresh decoder)
  starts from the same weights, independent of the encoder built before it;
* training itself (batch order, noise) is seeded by ``TrainConfig.seed`` inside :func:`gpelib.train.fit`.

Methods (GPE paper §8.2–8.4, all on the *same* encoder/decoder architectures, SPEC §1):

* ``gpe`` — GPE Algorithm 1 (encoder on the GME cost alone, until ``encoder_config.target = ε``), then
  Algorithm 2 (frozen encoder, a fresh decoder on ``E‖x − S(Tx)‖²``);
* ``vae`` — β-VAE trained jointly on ``MSE + β · KL/d`` (per-pixel normalisation, SPEC §1; default β = 0.1, the
  authors' public value — the paper does not print β);
* ``ae`` — the same without KL;
* ``vae+mds`` / ``ae+mds`` — plus ``λ_MDS · mean_{i≠j}(‖µ_i − µ_j‖ − ‖x_i − x_j‖)²`` (Yu et al. 2013; GPE §8.4).

**Default λ_MDS = 1/D** (``D`` = pixels per image). The MDS term is a squared difference of *distances*, which
grow like ``√D``, so the term grows like ``D``; the reconstruction term is a per-pixel mean. Dividing by ``D`` puts
MDS on the per-pixel scale, the normalisation the SPEC uses for KL (``β · KL/d``). The paper's own value did not
survive the text extraction; its criterion was "stable, concurrent decay of the reconstruction, MDS and KL terms",
which 1/D meets on the 8×8 digits (λ = 10⁻³ leaves the MDS term flat, λ = 0.1 slows the reconstruction over the
first hundreds of iterations; both checked on a pilot before any GPE comparison was run).

**Fresh-decoder protocol** (GPE Table 1): :func:`fresh_decoder` freezes a trained encoder (GPE's, or a VAE's mean
head), throws its decoder away and trains a new one, initialised identically for every method, on reconstruction
only; :func:`gpelib.tables.threshold_table` counts the iterations to reach each loss threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from .models import encode, eval_mode, make_decoder, make_encoder
from .parallel import default_workers, map_jobs
from .tables import shift_wallclock
from .train import (
    HistoryResult,
    TrainConfig,
    evaluate_gme,
    train_autoencoder,
    train_decoder,
    train_encoder,
)

__all__ = [
    "METHODS",
    "LABELS",
    "OFFSET",
    "Run",
    "init_models",
    "default_mds_weight",
    "train_gpe_encoder",
    "train_method",
    "train_runs",
    "fresh_decoder",
    "RUN_PROTOCOL",
    "run_folder",
    "table1_run",
    "fresh_decoder_runs",
    "fresh_decoder_sweep",
    "beta_label",
    "eps_label",
    "embed",
    "reconstruct",
    "flow_metric_curve",
    "stage_configs",
    "step_time_rounds",
    "fresh_decoder_or_none",
    "PROTOCOL_FACTORS",
    "protocol_map_runs",
]

METHODS: tuple[str, ...] = ("gpe", "vae", "ae", "vae+mds", "ae+mds")
LABELS: dict[str, str] = {"gpe": "GPE", "vae": "VAE", "ae": "AE", "vae+mds": "VAE+MDS", "ae+mds": "AE+MDS"}
HISTORY_COLUMNS = ["method", "phase", "iteration", "seconds", "train_loss", "val_loss"]
#: seed offset of each network role: a network of role r is built right after ``torch.manual_seed(seed + OFFSET[r])``
OFFSET: dict[str, int] = {"encoder": 0, "decoder": 1, "velocity": 2}


@dataclass
class Run(HistoryResult):
    """A trained encoder (and decoder, once there is one) with its tidy training history.

    ``history``: one row per evaluation, columns :data:`HISTORY_COLUMNS` (``phase`` = ``"encoder"`` for an encoder
    alone, ``"decoder"`` for GPE and fresh decoders, ``"joint"`` for the jointly trained methods).
    ``steps``: per-iteration training loss (``iteration, seconds, loss`` and the loss components).
    ``seconds`` / ``iterations``: the phase ``history`` describes. ``encoder_seconds`` / ``encoder_iterations`` /
    ``encoder_history`` / ``encoder_steps``: the separate encoder phase (GPE; for a fresh decoder, the source
    encoder's own training). ``info``: ε, β, λ_MDS, why training stopped.
    """

    method: str = ""
    encoder: nn.Module | None = None
    decoder: nn.Module | None = None
    steps: pd.DataFrame | None = None
    seconds: float = 0.0
    iterations: int = 0
    encoder_seconds: float = 0.0
    encoder_iterations: int = 0
    encoder_history: pd.DataFrame | None = None
    encoder_steps: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Display name (``"GPE"``, ``"VAE+MDS"``, or the name given to a fresh decoder)."""
        return LABELS.get(self.method, self.method)

    @property
    def phase(self) -> str:
        """``"encoder"``, ``"decoder"`` or ``"joint"``: the phase that ``history`` describes."""
        return str(self.history["phase"].iloc[0]) if len(self.history) else "joint"

    @property
    def total_seconds(self) -> float:
        """Encoder phase + decoder/joint phase wall-clock (training time only, evaluation excluded)."""
        return self.encoder_seconds + self.seconds

    def wallclock(self) -> pd.DataFrame:
        """``history`` with ``seconds`` shifted right by the encoder phase (GPE Fig. 8); unchanged for joint runs."""
        return shift_wallclock(self.history, self.encoder_seconds)

    def with_clock(self, s_per_iter: float, encoder_s_per_iter: float | None = None) -> Run:
        """This run on a clock of ``iterations × s_per_iter`` (and the encoder phase's ``encoder_iterations ×
        encoder_s_per_iter``) instead of the seconds it was measured with: a load-independent wall-clock, for runs
        trained at different times on a shared machine (or loaded from checkpoints), with the per-iteration costs
        measured side by side (:func:`step_time_rounds`). ``info["clock"]`` records the costs used."""
        if not s_per_iter > 0 or (encoder_s_per_iter is not None and not encoder_s_per_iter > 0):
            raise ValueError(f"seconds per iteration must be positive; got {s_per_iter}, {encoder_s_per_iter}")
        h = self.history.assign(seconds=self.history["iteration"].astype(float) * s_per_iter)
        steps = None if self.steps is None else self.steps.assign(seconds=self.steps["iteration"] * s_per_iter)
        enc_s = self.encoder_seconds if encoder_s_per_iter is None else self.encoder_iterations * encoder_s_per_iter
        clock = {"s_per_iter": s_per_iter, "encoder_s_per_iter": encoder_s_per_iter}
        return replace(self, history=h, steps=steps, seconds=self.iterations * s_per_iter, encoder_seconds=enc_s,
                       info={**self.info, "clock": clock})

    def until(self, iteration: int) -> Run:
        """This run as it was after ``iteration`` iterations of its last phase (decoder or joint): ``history`` and
        ``steps`` cut there, ``seconds`` and ``final_val`` as they were then. With a constant learning rate and the
        batch order fixed by the seed, that is exactly the ``iteration``-iteration run of the same settings (a longer
        run's first iterations *are* the shorter run), so one run serves budgets of several lengths. The models are
        the full run's, so they are dropped; ``iteration`` must be an evaluation point of ``history``."""
        h = self.history[self.history["iteration"] <= iteration]
        if not len(h) or int(h["iteration"].iloc[-1]) != iteration:
            raise ValueError(f"iteration {iteration} is not an evaluation point of this run (evaluated at "
                             f"{self.history['iteration'].tolist()[:5]}…, last {self.iterations})")
        steps = None if self.steps is None else self.steps[self.steps["iteration"] <= iteration].copy()
        return replace(self, history=h.copy(), steps=steps, seconds=float(h["seconds"].iloc[-1]), iterations=iteration,
                       encoder=None, decoder=None, info={**self.info, "until": iteration})


def init_models(
    shape: Sequence[int],
    latent_dim: int,
    *,
    seed: int,
    variational: bool = False,
    decoder: bool = True,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
) -> tuple[nn.Module, nn.Module | None]:
    """The one seeding rule: an encoder for data of ``shape`` from ``seed + OFFSET["encoder"]`` and (if ``decoder``)
    a decoder from ``seed + OFFSET["decoder"]``. Returns ``(encoder, decoder or None)``."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be ≥ 1; got {latent_dim}")
    torch.manual_seed(seed + OFFSET["encoder"])
    enc = make_encoder(shape, latent_dim, arch=arch, variational=variational, width=width, hidden=hidden)
    dec = None
    if decoder:
        torch.manual_seed(seed + OFFSET["decoder"])
        dec = make_decoder(shape, latent_dim, arch=arch, width=width, hidden=hidden)
    return enc, dec


def default_mds_weight(data_shape: Sequence[int]) -> float:
    """λ_MDS = 1/D for data of shape ``(C, H, W)`` or ``(D,)`` (per-pixel normalisation; see the module doc)."""
    return 1.0 / float(math.prod(int(s) for s in data_shape))


def _tidy(history: pd.DataFrame, method: str, phase: str) -> pd.DataFrame:
    h = history.copy()
    h.insert(0, "phase", phase)
    h.insert(0, "method", method)
    return h


def train_gpe_encoder(
    data: Tensor,
    *,
    latent_dim: int,
    config: TrainConfig,
    val_data: Tensor | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    name: str = "gpe",
) -> Run:
    """GPE Algorithm 1 on ``data`` ``(N, ...)``: a fresh encoder (seeded by :func:`init_models`) trained on the GME
    cost alone until ``config.target = ε``, the iteration or the time budget. ``info["eps"]`` = the final held-out
    GME cost, measured with ``info["eps_data_scale"] = config.data_scale``; the run's ``history`` is the encoder
    phase (its ``val_loss`` is the held-out GME cost)."""
    enc, _ = init_models(data.shape[1:], latent_dim, seed=config.seed, decoder=False, arch=arch, width=width,
                         hidden=hidden)
    res = train_encoder(enc, data, config=config, val_data=val_data)
    hist = _tidy(res.history, name, "encoder")
    return Run(hist, method=name, encoder=enc, steps=res.steps, seconds=res.seconds, iterations=res.iterations,
               encoder_seconds=res.seconds, encoder_iterations=res.iterations, encoder_history=hist,
               encoder_steps=res.steps, info={"eps": res.final_val, "eps_target": config.target,
                                              "eps_data_scale": config.data_scale, "encoder_stopped": res.stopped,
                                              "stopped": res.stopped})


def train_method(
    method: str,
    data: Tensor,
    *,
    latent_dim: int,
    config: TrainConfig,
    encoder_config: TrainConfig | None = None,
    beta: float = 0.1,
    mds_weight: float | None = None,
    val_data: Tensor | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> Run:
    """Train one of :data:`METHODS` on ``data`` ``(N, ...)`` with fresh models for its shape (:func:`init_models`).

    Args:
        method: ``"gpe"``, ``"vae"``, ``"ae"``, ``"vae+mds"`` or ``"ae+mds"``.
        latent_dim: ``d``.
        config: the decoder phase (GPE) or the joint training (the others).
        encoder_config: GPE only, the encoder phase (default: ``config``); set ``target=ε`` to stop at ε
            (checked on the held-out GME cost) and ``iterations`` as a cap.
        beta: KL weight in the per-pixel normalisation ``MSE + β · KL/d`` (``vae``, ``vae+mds``).
        mds_weight: λ_MDS for ``*+mds`` (default :func:`default_mds_weight`, i.e. 1/D).
        val_data: the fixed held-out set every method is evaluated on (strongly recommended: the same for all).
        checkpoint_root: if given, the run checkpoints into :func:`run_folder` (``encoder/``, ``decoder/`` or
            ``joint/``) and resumes from there: a finished run with the same settings is loaded, not retrained.

    Returns:
        A :class:`Run`; for GPE ``history`` is the decoder's and ``info["eps"]`` the encoder's held-out GME cost.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    kw = dict(arch=arch, width=width, hidden=hidden)
    if checkpoint_root is not None:
        enc_cfg = (encoder_config or config) if method == "gpe" else None
        folder = _method_folder(checkpoint_root, method, data, val_data, latent_dim, config, enc_cfg, beta,
                                mds_weight, kw)
        if enc_cfg is not None:
            encoder_config = replace(enc_cfg, checkpoint_dir=str(folder / "encoder"))
        config = replace(config, checkpoint_dir=str(folder / ("decoder" if method == "gpe" else "joint")))
    if method == "gpe":
        enc_run = train_gpe_encoder(data, latent_dim=latent_dim, config=encoder_config or config, val_data=val_data,
                                    name=method, **kw)
        return fresh_decoder(enc_run, data, config=config, val_data=val_data, name=method, **kw)
    variational = method.startswith("vae")
    enc, dec = init_models(data.shape[1:], latent_dim, seed=config.seed, variational=variational, **kw)
    kl = beta if variational else 0.0
    lam = 0.0
    if method.endswith("+mds"):
        lam = default_mds_weight(data.shape[1:]) if mds_weight is None else float(mds_weight)
    res = train_autoencoder(enc, dec, data, kl_weight=kl, mds_weight=lam, config=config, val_data=val_data,
                            name=method)
    return Run(_tidy(res.history, method, "joint"), method=method, encoder=enc, decoder=dec, steps=res.steps,
               seconds=res.seconds, iterations=res.iterations,
               info={"beta": kl if variational else None, "mds_weight": lam, "stopped": res.stopped})


def _apply(fn: Callable[..., Run], kwargs: Mapping[str, object]) -> Run:
    return fn(**kwargs)


def train_runs(
    jobs: Sequence[Mapping[str, object]],
    *,
    fn: Callable[..., Any] | None = None,
    device: str | None = None,
    n_workers: int | None = None,
    desc: str = "runs",
) -> list[Any]:
    """``[fn(**job) for job in jobs]`` (default ``fn`` = :func:`train_method`; a job's own ``"fn"`` entry overrides
    it) on a pool of worker processes, one per CPU core with one torch thread each
    (:func:`gpelib.parallel.map_jobs`), results in job order.

    Independent seeds and methods are the suite's unit of parallel work: small networks use one core poorly, so two
    processes with one thread each do about twice the work of one process with two threads. Each job is
    self-contained (its configs carry its seed), so a run is the same network whichever worker trains it; with
    ``device`` = CUDA the jobs run one after the other in this process. On several workers the configs' own
    progress bars are switched off (``progress`` is not a setting: checkpoints and run folders ignore it) and one
    bar counts finished jobs. Functions must be importable by name
    (:func:`train_method`, :func:`train_gpe_encoder`, :func:`fresh_decoder`, :func:`table1_run`, …).
    """
    n = default_workers(device) if n_workers is None else n_workers
    threads = max(1, default_workers() // max(n, 1)) if n > 1 else None
    default = fn or train_method

    def quiet(v: object) -> object:  # worker processes would interleave their bars: the pool counts jobs instead
        return replace(v, progress=False) if n > 1 and isinstance(v, TrainConfig) else v

    calls = [dict(fn=job.get("fn", default), kwargs={k: quiet(v) for k, v in job.items() if k != "fn"})
             for job in jobs]
    return map_jobs(_apply, calls, n_workers=n, threads_per_worker=threads, desc=desc)


def fresh_decoder(
    source: Run | nn.Module,
    data: Tensor,
    *,
    config: TrainConfig,
    val_data: Tensor | None = None,
    name: str | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    eps_data: Tensor | None = None,
    eps_data_scale: float | None = None,
    standardize: bool = False,
    objective: str = "mse",
) -> Run:
    """GPE Algorithm 2 and the Table 1 protocol: freeze ``source``'s encoder (the mean head for a VAE) and train a
    **new** decoder on reconstruction only, initialised by :func:`init_models`'s rule (``config.seed + 1``), so that
    every method's fresh decoder starts from the same weights.

    The encoder's parameters are frozen in place (``requires_grad=False``). ``info["eps"]`` is the encoder's
    held-out GME cost on ``eps_data`` (default ``val_data``), so VAE and GPE encoders are compared on one scale;
    the encoder phase's history, steps, time and iterations are carried over from ``source``.

    ``eps_data_scale``: the ``data_scale`` of that GME cost — a property of the encoder, not of this decoder's
    ``config``. Default: the one the source encoder was trained with (``source.info["eps_data_scale"]``, set by
    :func:`train_gpe_encoder`), else 1.0 (a bare module, or a jointly trained encoder, which has no GME data
    scale: pass the GPE encoders' value to compare them with it on one scale).

    As released (SPEC §2): ``standardize=True`` feeds the decoder ``z = (T(x) − m)·C`` instead of ``T(x)`` — ``m``
    the latents' mean on ``data``, one scalar ``C`` with ``E‖z‖² = d`` (:class:`gpelib.flows.LatentStandardizer`);
    the run's ``encoder`` is then that standardised encoder, so that ``decoder(encoder(x))`` reconstructs.
    ``objective="released"`` trains on the released loss (latent cycle + MSE + L1; see
    :func:`gpelib.train.train_decoder`).
    """
    if isinstance(source, Run):
        enc, label = source.encoder, name or source.label
        enc_s, enc_it = source.encoder_seconds or source.seconds, source.encoder_iterations or source.iterations
        keep = ("eps", "beta", "mds_weight", "eps_target", "eps_data_scale", "encoder_stopped")
        info = {k: v for k, v in source.info.items() if k in keep}
        info["encoder_method"] = source.method
        enc_hist, enc_steps = source.encoder_history, source.encoder_steps
    else:
        enc, label, enc_s, enc_it, info, enc_hist, enc_steps = source, name or "encoder", 0.0, 0, {}, None, None
    latent_dim = _latent_dim(enc, data)
    reader = enc  # what the decoder reads: the encoder itself, or (as released) its standardised latents
    if standardize:
        from .flows import LatentStandardizer

        reader = nn.Sequential(enc, LatentStandardizer.fit(encode(enc, data)))
        info["standardized"] = True
    if objective != "mse":
        info["objective"] = objective
    torch.manual_seed(config.seed + OFFSET["decoder"])
    dec = make_decoder(tuple(data.shape[1:]), latent_dim, arch=arch, width=width, hidden=hidden)
    res = train_decoder(dec, reader, data, config=config, val_data=val_data, objective=objective)
    x_eps = eps_data if eps_data is not None else val_data
    if eps_data_scale is None:
        eps_data_scale = float(info.get("eps_data_scale", 1.0))
    if x_eps is not None:
        info["eps"] = evaluate_gme(enc, x_eps, data_scale=eps_data_scale)
        info["eps_data_scale"] = eps_data_scale
    info["stopped"] = res.stopped
    return Run(_tidy(res.history, label, "decoder"), method=label, encoder=reader, decoder=dec, steps=res.steps,
               seconds=res.seconds, iterations=res.iterations, encoder_seconds=enc_s, encoder_iterations=enc_it,
               encoder_history=enc_hist, encoder_steps=enc_steps, info=info)


@torch.no_grad()
def _latent_dim(enc: nn.Module, data: Tensor) -> int:
    device = next(enc.parameters()).device
    with eval_mode(enc):
        return int(enc(data[:2].to(device)).shape[1])


def eps_label(eps: float | None) -> str:
    """``"GPE ε=0.03"`` (or ``"GPE"`` when no target)."""
    return "GPE" if eps is None else f"GPE ε={eps:g}"


#: Part of every shared run folder's name (:func:`run_folder`): bump it when a change in gpelib alters what a run
#: with given settings trains, so that checkpoints written by the older code are not reused.
RUN_PROTOCOL = 1
_NOT_SETTINGS = ("checkpoint_dir", "checkpoint_every", "resume", "progress")


def _settings(config: TrainConfig | None) -> dict | None:
    if config is None:
        return None
    return {k: v for k, v in asdict(config).items() if k not in _NOT_SETTINGS}


def run_folder(root: str | Path, method: str, data: Tensor, val_data: Tensor | None, **settings: object) -> Path:
    """``<root>/<method>-s<seed>-<hash>``: the checkpoint folder of one run, named by everything that decides what it
    trains — :data:`RUN_PROTOCOL`, the method, the data and held-out data (their bytes), and ``settings`` (configs as
    their fields, without where and how often they checkpoint). Notebooks that train the same run with the same
    settings (03 and 04's GPE encoders, a rerun of either) find it there and resume it instead of training again;
    any other setting gets a folder of its own, so two runs are never mixed."""
    from .checkpoint import content_hash, weights_hash

    tensors = {"data": data} if val_data is None else {"data": data, "val_data": val_data}
    key = {"protocol": RUN_PROTOCOL, "method": method, "data": weights_hash(tensors),
           **{k: _settings(v) if isinstance(v, TrainConfig) else v for k, v in settings.items()}}
    seed = next((v.seed for v in settings.values() if isinstance(v, TrainConfig)), 0)
    return Path(root) / f"{method}-s{seed}-{content_hash(key, 12)}"


def _method_folder(root: str | Path, method: str, data: Tensor, val_data: Tensor | None, latent_dim: int,
                   config: TrainConfig, encoder_config: TrainConfig | None, beta: float, mds_weight: float | None,
                   kw: Mapping[str, object]) -> Path:
    """:func:`run_folder` of one :func:`train_method` call (β only for the VAEs, the encoder phase only for GPE)."""
    return run_folder(root, method, data, val_data, latent_dim=latent_dim, config=config,
                      encoder_config=encoder_config, beta=beta if method.startswith("vae") else None,
                      mds_weight=mds_weight, **kw)


def table1_run(
    kind: str,
    x: Tensor,
    x_val: Tensor,
    *,
    latent_dim: int,
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    eps: float | None = None,
    name: str | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> Run:
    """One entry of GPE Table 1: ``kind="vae"`` trains a β-VAE jointly (``vae_config``), freezes its mean encoder and
    trains a fresh decoder (``decoder_config``); ``kind="gpe"`` trains a GPE encoder to ``eps`` (``encoder_config``
    with ``target=eps``) and its decoder the same way. Every decoder starts from the same weights
    (``decoder_config.seed + 1``). ``name`` defaults to ``"VAE"`` / :func:`eps_label`. ``checkpoint_root``: see
    :func:`train_method` (the VAE's fresh decoder goes to ``fresh-decoder-<hash>/`` inside the VAE's folder)."""
    kw = dict(arch=arch, width=width, hidden=hidden)
    if kind == "vae":
        vae = train_method("vae", x, latent_dim=latent_dim, config=vae_config, beta=beta, val_data=x_val,
                           checkpoint_root=checkpoint_root, **kw)
        if checkpoint_root is not None:
            from .checkpoint import content_hash

            folder = _method_folder(checkpoint_root, "vae", x, x_val, latent_dim, vae_config, None, beta, None, kw)
            decoder_config = replace(decoder_config, checkpoint_dir=str(
                folder / f"fresh-decoder-{content_hash(_settings(decoder_config), 12)}"))
        return fresh_decoder(vae, x, config=decoder_config, val_data=x_val, name=name or "VAE", **kw)
    if kind == "gpe":
        if eps is None:
            raise ValueError("a GPE entry of Table 1 needs its ε (eps)")
        run = train_method("gpe", x, latent_dim=latent_dim, config=decoder_config,
                           encoder_config=replace(encoder_config, target=eps), val_data=x_val,
                           checkpoint_root=checkpoint_root, **kw)
        if name:
            run.method = name
        return run
    raise ValueError(f"kind must be 'vae' or 'gpe'; got {kind!r}")


def stage_configs(settings: Mapping[str, Any], *, seed: int, device: str | None = None) -> dict[str, TrainConfig]:
    """The three training configs of a GPE-paper notebook preset (``vae_iterations``, ``encoder_cap``,
    ``encoder_eval``, ``decoder_iterations``, ``eval_every``, ``lr``, ``encoder_lr``, ``batch``), named as
    :func:`table1_run` takes them: ``vae_config`` (joint VAE), ``encoder_config`` (GPE encoder cap; set ``target``),
    ``decoder_config`` (fresh decoder). Notebooks 04–06 build them here, so that equal settings give equal configs
    and therefore the same shared run folders (:func:`run_folder`)."""
    S = settings
    common = dict(batch_size=S["batch"], seed=seed, device=device)
    return dict(
        vae_config=TrainConfig(iterations=S["vae_iterations"], lr=S["lr"], eval_every=S["eval_every"], **common),
        encoder_config=TrainConfig(iterations=S["encoder_cap"], lr=S["encoder_lr"], eval_every=S["encoder_eval"],
                                   **common),
        decoder_config=TrainConfig(iterations=S["decoder_iterations"], lr=S["lr"], eval_every=S["eval_every"],
                                   **common))


def step_time_rounds(
    data: Tensor,
    *,
    latent_dim: int,
    config: TrainConfig,
    methods: Sequence[str] = METHODS,
    rounds: int = 7,
    iterations: int = 60,
    skip: int = 10,
    beta: float = 0.1,
    mds_weight: float | None = None,
    reference: str = "vae",
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
) -> pd.DataFrame:
    """Seconds per iteration of each method (GPE Table 2) by **interleaved repeats**.

    In each of ``rounds`` rounds every method of ``methods`` trains ``iterations`` steps from fresh models with the
    notebooks' trainers (:func:`train_method` with ``config``'s batch and optimiser, one evaluation at the end), one
    method after the other in an order rotated by one each round (no method always runs first), and its seconds per
    iteration (:func:`gpelib.tables.seconds_per_iteration`, median step after ``skip``) is recorded per phase. A
    change of machine load over the minutes of the benchmark hits the methods of one round alike, and the ratio to
    ``reference`` *within* each round cancels it; the spread of the ratios over rounds is what the timing knows.

    Returns a tidy DataFrame: ``round, method`` (``"GPE encoder"``, ``"GPE decoder"``, ``"VAE"``, …)``, phase,
    s_per_iter, iterations, ratio`` (÷ ``reference``'s joint s/iter in the same round).
    """
    from .tables import timing_table

    if rounds < 1 or iterations < skip + 2:
        raise ValueError(f"need rounds ≥ 1 and iterations ≥ skip + 2; got {rounds}, {iterations} (skip {skip})")
    if reference not in methods:
        raise ValueError(f"the reference {reference!r} must be one of the timed methods {list(methods)}")
    cfg = replace(config, iterations=iterations, eval_every=iterations, target=None, checkpoint_dir=None,
                  progress=False, max_seconds=None)
    kw = dict(latent_dim=latent_dim, config=cfg, encoder_config=cfg, beta=beta, mds_weight=mds_weight, arch=arch,
              width=width, hidden=hidden)
    frames = []
    for r in range(rounds):
        order = [methods[(r + k) % len(methods)] for k in range(len(methods))]
        runs = {m: train_method(m, data, **kw) for m in order}
        frames.append(timing_table(runs, reference=reference, skip=skip).assign(round=r))
    return pd.concat(frames, ignore_index=True)[["round", "method", "phase", "s_per_iter", "iterations", "ratio"]]


def fresh_decoder_runs(
    x: Tensor,
    x_val: Tensor,
    *,
    latent_dim: int,
    eps_values: Sequence[float],
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
) -> dict[str, Run]:
    """GPE Table 1 for one dataset and one seed (the configs'): :func:`table1_run` for the VAE and for each ε.

    Returns ``{"VAE": ..., "GPE ε=<eps>": ...}``; each run's ``steps`` feed :func:`gpelib.tables.threshold_table`.
    """
    kw = dict(latent_dim=latent_dim, vae_config=vae_config, encoder_config=encoder_config,
              decoder_config=decoder_config, beta=beta, arch=arch, width=width, hidden=hidden)
    runs = {"VAE": table1_run("vae", x, x_val, **kw)}
    for e in eps_values:
        runs[eps_label(e)] = table1_run("gpe", x, x_val, eps=e, **kw)
    return runs


def beta_label(beta: float) -> str:
    """``"VAE β=<beta>"``: the name of a β-sweep entry."""
    return f"VAE β={beta:g}"


def fresh_decoder_sweep(
    x: Tensor,
    x_val: Tensor,
    *,
    seeds: Sequence[int],
    latent_dim: int,
    eps_values: Sequence[float],
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    extra_betas: Sequence[float] = (),
    device: str | None = None,
    n_workers: int | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> dict[int, dict[str, Run]]:
    """:func:`fresh_decoder_runs` for every seed (each config's ``seed`` replaced), plus a VAE for each of
    ``extra_betas`` (named :func:`beta_label`), every (seed, entry) one job of :func:`train_runs`;
    ``checkpoint_root``: see :func:`train_method` (finished runs are loaded, not retrained).

    Returns ``{seed: {"VAE": ..., "GPE ε=…": ..., "VAE β=…": ...}}``.
    """
    common = dict(latent_dim=latent_dim, arch=arch, width=width, hidden=hidden, checkpoint_root=checkpoint_root)
    jobs, keys = [], []
    for s in seeds:
        cfgs = dict(vae_config=replace(vae_config, seed=s), encoder_config=replace(encoder_config, seed=s),
                    decoder_config=replace(decoder_config, seed=s))
        entries = [("VAE", dict(kind="vae", beta=beta))]
        entries += [(eps_label(e), dict(kind="gpe", eps=e, beta=beta)) for e in eps_values]
        entries += [(beta_label(b), dict(kind="vae", beta=b, name="VAE")) for b in extra_betas]
        for label, entry in entries:
            jobs.append(dict(x=x, x_val=x_val, **cfgs, **common, **entry))
            keys.append((s, label))
    done = train_runs(jobs, fn=table1_run, device=device, n_workers=n_workers, desc="Table 1 runs")
    out: dict[int, dict[str, Run]] = {s: {} for s in seeds}
    for (s, label), run in zip(keys, done):
        out[s][label] = run
    return out


def table1_encoders(
    x: Tensor,
    x_val: Tensor,
    *,
    seeds: Sequence[int],
    latent_dim: int,
    eps: float,
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    device: str | None = None,
    n_workers: int | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> dict[int, dict[str, Run]]:
    """The encoders of :func:`fresh_decoder_sweep`'s ``"VAE"`` and ``"GPE ε=…"`` entries for every seed, *without*
    the GPE fresh decoder: the GPE encoder trained to ``eps`` (GPE Algorithm 1) and the β-VAE (trained jointly, as
    Table 1 does). With ``checkpoint_root`` each goes to the very folder :func:`table1_run` uses (the same configs
    give the same :func:`run_folder`), so a notebook that only needs the encoders (02) trains them once for the
    notebooks that add decoders (03–06), and a rerun loads them. Returns ``{seed: {"GPE": run, "VAE": run}}``."""
    kw = dict(arch=arch, width=width, hidden=hidden)
    jobs = []
    for s in seeds:
        enc_cfg = replace(encoder_config, seed=s, target=eps)
        if checkpoint_root is not None:
            folder = _method_folder(checkpoint_root, "gpe", x, x_val, latent_dim, replace(decoder_config, seed=s),
                                    enc_cfg, beta, None, kw)
            enc_cfg = replace(enc_cfg, checkpoint_dir=str(folder / "encoder"))
        jobs.append(dict(fn=train_gpe_encoder, data=x, latent_dim=latent_dim, config=enc_cfg, val_data=x_val, **kw))
        jobs.append(dict(method="vae", data=x, latent_dim=latent_dim, config=replace(vae_config, seed=s), beta=beta,
                         val_data=x_val, checkpoint_root=checkpoint_root, **kw))
    done = train_runs(jobs, device=device, n_workers=n_workers, desc="encoders")
    return {s: {"GPE": done[2 * i], "VAE": done[2 * i + 1]} for i, s in enumerate(seeds)}


def fresh_decoder_or_none(source: Run | nn.Module, data: Tensor, **kwargs: Any) -> Run | None:
    """:func:`fresh_decoder`, or ``None`` when its training stops on a non-finite loss — a learning rate beyond the
    stable range is a result of a learning-rate sweep, not an error."""
    from .train import NonFiniteLossError

    try:
        return fresh_decoder(source, data, **kwargs)
    except NonFiniteLossError:
        return None


#: The protocol map's variants (GPE issue 11, item 4): name → the factor it changes from the paper's setting.
PROTOCOL_FACTORS = {
    "as printed": "—",
    "looser ε": "ε",
    "β' = 1 per sample": "β normalisation",
    "standardised latents": "decoder input (as released)",
    "standardised + released loss": "decoder input and loss (as released)",
    "largest stable lr each": "learning rate (Fig. 8's protocol)",
}


def protocol_map_runs(
    runs: Mapping[int, Mapping[str, Run]],
    data: Tensor,
    val_data: Tensor,
    *,
    vae: str,
    gpe: str,
    looser_gpe: str,
    per_sample_vae: str,
    decoder_config: TrainConfig,
    budget: int,
    lrs: Sequence[float],
    stable_tol: float = 1.1,
    checkpoint_root: str | Path | None = None,
    device: str | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
) -> tuple[dict[str, dict[int, dict[str, Run | None]]], pd.DataFrame]:
    """What the VAE/GPE fresh-decoder ratio depends on: the Table-1 runs of each seed (``runs[seed][name]``, as
    :func:`fresh_decoder_sweep` returns them) re-read or re-decoded with one factor changed at a time
    (:data:`PROTOCOL_FACTORS`), every decoder with ``budget`` iterations:

    * *as printed*: ``vae`` against ``gpe`` (the runs themselves, read at ``budget`` with :meth:`Run.until`);
      *looser ε*: ``looser_gpe`` instead of ``gpe``; *β' = 1 per sample*: ``per_sample_vae`` instead of ``vae``;
    * *standardised latents* and *standardised + released loss*: new fresh decoders on both encoders
      (:func:`fresh_decoder` with ``standardize`` / ``objective="released"``);
    * *largest stable lr each*: new fresh decoders at each of ``lrs``; a learning rate is *stable* for a method when
      every seed trains with finite losses to a final held-out MSE ≤ ``stable_tol`` × that at
      ``decoder_config.lr``, and each method is read at its largest stable rate (the paper's Fig. 8 protocol).

    New decoders are jobs of :func:`train_runs`, checkpointed under ``checkpoint_root`` in folders named by the
    encoder's weights and the variant. Returns ``(variants, lr_table)``: ``variants[name][seed] = {"VAE": run,
    "GPE": run}`` and the learning-rate sweep (``method, lr, seed, final_val, stable``).
    """
    from .checkpoint import weights_hash

    base = replace(decoder_config, iterations=budget)
    specs = {"standardised latents": dict(standardize=True),
             "standardised + released loss": dict(standardize=True, objective="released"),
             **{f"lr {lr:g}": dict(lr=float(lr)) for lr in lrs}}
    jobs, keys = [], []
    for s, rr in runs.items():
        for role, key in (("VAE", vae), ("GPE", gpe)):
            src = rr[key]
            for v, spec in specs.items():
                cfg = replace(base, seed=s, lr=spec.get("lr", base.lr))
                kw = dict(standardize=spec.get("standardize", False), objective=spec.get("objective", "mse"))
                if checkpoint_root is not None:
                    folder = run_folder(checkpoint_root, f"map-{role.lower()}", data, val_data, config=cfg,
                                        encoder=weights_hash(src.encoder), arch=arch, width=width, hidden=hidden, **kw)
                    cfg = replace(cfg, checkpoint_dir=str(folder))
                jobs.append(dict(fn=fresh_decoder_or_none, source=src, data=data, config=cfg, val_data=val_data,
                                 name=role, arch=arch, width=width, hidden=hidden, **kw))
                keys.append((v, s, role))
    done = train_runs(jobs, device=device, desc="protocol map decoders")
    new: dict[str, dict[int, dict[str, Run | None]]] = {}
    for (v, s, role), run in zip(keys, done):
        new.setdefault(v, {}).setdefault(s, {})[role] = run
    cut = lambda r: r.until(budget) if r.iterations > budget else r  # noqa: E731
    variants: dict[str, dict[int, dict[str, Run | None]]] = {
        "as printed": {s: {"VAE": cut(rr[vae]), "GPE": cut(rr[gpe])} for s, rr in runs.items()},
        "looser ε": {s: {"VAE": cut(rr[vae]), "GPE": cut(rr[looser_gpe])} for s, rr in runs.items()},
        "β' = 1 per sample": {s: {"VAE": cut(rr[per_sample_vae]), "GPE": cut(rr[gpe])} for s, rr in runs.items()},
        "standardised latents": new["standardised latents"],
        "standardised + released loss": new["standardised + released loss"],
    }
    rows = []
    for role in ("VAE", "GPE"):
        for s in runs:
            ref = variants["as printed"][s][role]
            rows.append(dict(method=role, lr=base.lr, seed=s, final_val=ref.final_val, stable=True))
            for lr in lrs:
                r = new[f"lr {lr:g}"][s][role]
                fv = math.nan if r is None else r.final_val
                rows.append(dict(method=role, lr=float(lr), seed=s, final_val=fv,
                                 stable=bool(r is not None and fv <= stable_tol * ref.final_val)))
    lr_table = pd.DataFrame(rows)
    best = {m: max(g.groupby("lr")["stable"].all().loc[lambda x: x].index) for m, g in lr_table.groupby("method")}
    pick = lambda s, role: (variants["as printed"][s][role] if best[role] == base.lr  # noqa: E731
                            else new[f"lr {best[role]:g}"][s][role])
    variants["largest stable lr each"] = {s: {"VAE": pick(s, "VAE"), "GPE": pick(s, "GPE")} for s in runs}
    lr_table["chosen"] = [best[m] == lr for m, lr in zip(lr_table.method, lr_table.lr)]
    return variants, lr_table


def embed(runs: Mapping[str, Run], x: Tensor) -> dict[str, Tensor]:
    """Latents of ``x`` under each run's encoder (mean head for a VAE)."""
    return {k: encode(r.encoder, x) for k, r in runs.items()}


@torch.no_grad()
def reconstruct(run: Run, x: Tensor) -> Tensor:
    """``S(T x)`` with the run's encoder (mean head for a VAE) and decoder, in eval mode, on CPU."""
    enc, dec = run.encoder, run.decoder
    device = next(dec.parameters()).device
    with eval_mode(enc, dec):
        return dec(enc(x.to(device))).cpu()


def flow_metric_curve(
    name: str,
    latents: Tensor,
    decoder: nn.Module,
    *,
    extractor,
    real,
    milestones: Sequence[int],
    config: TrainConfig,
    n_fake: int,
    val_latents: Tensor | None = None,
    velocity_size: str = "small",
    sample_method: str = "heun",
    sample_steps: int = 50,
):
    """Generation metric vs flow-training iterations (GPE Fig. 9) for one latent space.

    Trains a CFM velocity (initialised from ``config.seed + OFFSET["velocity"]``) on ``latents`` (N, d) up to each
    milestone in turn — each stage resumes exactly from the previous stage's checkpoint in ``config.checkpoint_dir``,
    so the curve is one training run observed at several points — and scores ``n_fake`` generated samples
    ``decoder(flow(z))`` against ``real`` (images or precomputed :class:`gpelib.metrics.FeatureStats`) with
    ``extractor``. When ``real`` keeps its features (``feature_stats(..., keep=True)``, e.g. of held-out images at
    ``n_fake`` points) each milestone also gets KID and precision/recall/density/coverage
    (:func:`gpelib.metrics.sample_quality`).

    Returns ``(curve, generator)``: a tidy DataFrame (method, flow_iteration, metric, value = the Fréchet distance,
    n_real, n_fake, extractor, [kid, precision, recall, density, coverage,] flow_seconds, flow_val_loss) and the
    :class:`gpelib.flows.LatentGenerator` at the last milestone. Its arguments pickle, so curves of several seeds or
    latent spaces can run as jobs of :func:`train_runs` (``fn=flow_metric_curve``).
    """
    from .flows import LatentGenerator, make_velocity, train_flow
    from .metrics import FeatureStats, frechet_score, sample_quality
    from .train import observe_milestones

    if config.checkpoint_dir is None:
        raise ValueError("flow_metric_curve needs config.checkpoint_dir (each milestone resumes the previous one)")
    state: dict = {}

    def train_to(m: int):
        torch.manual_seed(config.seed + OFFSET["velocity"])
        vel = make_velocity(latents.shape[1], velocity_size)
        res = train_flow(vel, latents, config=replace(config, iterations=int(m)), val_latents=val_latents)
        state["gen"] = LatentGenerator.from_result(res, decoder)
        return res

    def score(res) -> dict:
        fake = state["gen"].generate(n_fake, seed=config.seed + 1, method=sample_method, steps=sample_steps)
        if quality:
            q = sample_quality(extractor, real, fake)
            scores = dict(metric=q.metric, value=q.fd, n_real=q.n_real, n_fake=q.n_fake, extractor=q.extractor,
                          kid=q.kid, precision=q.precision, recall=q.recall, density=q.density, coverage=q.coverage)
        else:
            s = frechet_score(extractor, real, fake)
            scores = dict(metric=s.metric, value=s.value, n_real=s.n_real, n_fake=s.n_fake, extractor=s.extractor)
        return dict(method=name, flow_iteration=res.iterations, **scores, flow_seconds=res.seconds,
                    flow_val_loss=res.final_val)

    quality = isinstance(real, FeatureStats) and real.features is not None
    real_key = (real.n, float(real.mu.sum())) if isinstance(real, FeatureStats) else tuple(real.shape)
    key = dict(extractor=getattr(extractor, "description", str(extractor)), real=real_key, n_fake=n_fake,
               method=sample_method, steps=sample_steps, seed=config.seed, quality=quality)
    rows, _ = observe_milestones(train_to, score, milestones, config.checkpoint_dir, key=key)
    return pd.DataFrame(rows).drop(columns="milestone"), state["gen"]
