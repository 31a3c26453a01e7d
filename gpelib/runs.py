"""The run record and run store of the GPE experiments: what a trained encoder/decoder run is (:class:`Run`), the
method names, where a run's checkpoints live (:func:`run_folder`: named by everything that decides what it trains)
and the history's wall-clock shift of GPE Fig. 8. Training lives in :mod:`gpelib.methods` and
:mod:`gpelib.recipes`, tables over runs in :mod:`gpelib.tables`; all import from here, never from each other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd
from torch import Tensor, nn

from .train_setup import HistoryResult, TrainConfig

__all__ = ["Method", "REGISTRY", "METHODS", "LABELS", "HISTORY_COLUMNS", "Run", "shift_wallclock", "RUN_PROTOCOL",
           "run_folder", "on_clock"]


@dataclass(frozen=True)
class Method:
    """One method of the GPE paper (§8.2–8.4, SPEC §1): what its training optimises, so that nothing dispatches on
    the spelling of its name.

    ``two_phase``: GPE — the encoder on the GME cost alone until ε (Algorithm 1), then the decoder on reconstruction
    with the encoder frozen (Algorithm 2); otherwise encoder and decoder train jointly on ``MSE + β·KL/d`` (the KL
    term only when ``variational``: a Gaussian encoder) ``+ λ_MDS · MDS`` (only when ``mds``)."""

    name: str
    label: str
    variational: bool = False
    mds: bool = False
    two_phase: bool = False


#: The methods by name, in the paper's order (:func:`gpelib.methods.train_method` trains each).
REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("gpe", "GPE", two_phase=True), Method("vae", "VAE", variational=True), Method("ae", "AE"),
    Method("vae+mds", "VAE+MDS", variational=True, mds=True), Method("ae+mds", "AE+MDS", mds=True))}
METHODS: tuple[str, ...] = tuple(REGISTRY)
LABELS: dict[str, str] = {k: m.label for k, m in REGISTRY.items()}
HISTORY_COLUMNS = ["method", "phase", "iteration", "seconds", "train_loss", "val_loss"]


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


def shift_wallclock(history: pd.DataFrame, seconds: float, *, column: str = "seconds") -> pd.DataFrame:
    """A copy of ``history`` with ``column`` moved right by ``seconds`` (GPE Fig. 8: the GPE decoder curve starts
    after the encoder's training time) and the offset recorded in a column ``offset``."""
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"the shift must be a finite number of seconds ≥ 0; got {seconds}")
    out = history.copy()
    out[column] = out[column].astype(float) + float(seconds)
    out["offset"] = float(seconds)
    return out


#: Part of every shared run folder's name (:func:`run_folder`): bump it when a change in gpelib alters what a run
#: with given settings trains, so that checkpoints written by the older code are not reused.
RUN_PROTOCOL = 1
_NOT_SETTINGS = ("checkpoint_dir", "checkpoint_every", "checkpoint_minutes", "resume", "progress")


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
                      encoder_config=encoder_config, beta=beta if REGISTRY[method].variational else None,
                      mds_weight=mds_weight, **kw)


def on_clock(by_seed: Mapping[int, Mapping[str, Run]], cost: Mapping[str, float]) -> dict[int, dict[str, Run]]:
    """Every run of ``by_seed`` (seed → label → run) on one load-independent clock (:meth:`Run.with_clock`):
    ``cost`` gives seconds per iteration by label (notebook 05's interleaved rounds); a run whose label has
    ``"<label> decoder"`` and ``"<label> encoder"`` costs (GPE) is clocked per phase."""
    def clocked(label: str, r: Run) -> Run:
        if f"{label} decoder" in cost:
            return r.with_clock(cost[f"{label} decoder"], cost[f"{label} encoder"])
        return r.with_clock(cost[label])

    return {s: {k: clocked(k, r) for k, r in runs.items()} for s, runs in by_seed.items()}
