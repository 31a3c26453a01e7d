"""The one training loop of gpelib: :func:`fit` draws batches (:class:`BatchFeeder`), steps, evaluates, stops
(iteration budget, time budget, validation target), checkpoints and resumes (:class:`RunState`, which refuses a
checkpoint of another run: :class:`ResumeMismatchError`), on the device of :func:`resolve_device`, in one or several
processes (:func:`data_parallel`); :func:`observe_milestones` watches one run at several iterations.

Under ``torchrun`` the processes draw disjoint slices of one global batch from the same seeded permutation, logged
losses are averaged over processes, the progress bar and checkpoints are rank 0's, and every process resumes from
the same checkpoint with its own random-number state (see :mod:`gpelib.train`, whose trainers run on this loop and
which re-exports every name here).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .checkpoint import checkpoint_exists, load_checkpoint, save_checkpoint
from .distributed import DistInfo, dist_info
from .models import eval_mode
from .train_setup import NonFiniteLossError, TrainConfig, TrainResult, seed_everything

__all__ = [
    "ResumeMismatchError",
    "resolve_device",
    "data_parallel",
    "BatchFeeder",
    "RunState",
    "StepFn",
    "EvalFn",
    "fit",
    "observe_milestones",
    "TrainingInterrupted",
]


class ResumeMismatchError(ValueError):
    """A checkpoint to resume from was trained with other settings, on another encoder or as another run: resuming
    would mix two runs. Delete the folder, pick another ``checkpoint_dir`` or set ``resume=False`` (``gpe``:
    ``--fresh``)."""


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA when available (``cuda:LOCAL_RANK`` under ``torchrun``), else CPU."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist_info().local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    return torch.device(device)


def _seed(config: TrainConfig) -> None:
    """Seed every generator; each process of a distributed run gets its own stream (rank 0 = a single process)."""
    seed_everything(config.seed + 7919 * dist_info().rank)


def data_parallel(module: nn.Module, device: torch.device, *, compile: bool | str = False) -> nn.Module:
    """The module a trainer calls: ``DistributedDataParallel(module)`` when running in several processes (and it
    has trainable parameters; gradients are then averaged over the processes at every ``backward``), else ``module``;
    wrapped in ``torch.compile`` when ``compile`` (a string: the compile ``mode``, e.g. ``"reduce-overhead"``, CUDA
    graphs). Checkpoints always store the plain ``module``."""
    out = module
    if dist_info().world_size > 1 and any(p.requires_grad for p in module.parameters()):
        from torch.nn.parallel import DistributedDataParallel

        out = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
    if not compile:
        return out
    return torch.compile(out, mode=compile) if isinstance(compile, str) else torch.compile(out)


def _progress(total: int, desc: str, enabled: bool, initial: int = 0):
    from tqdm.auto import tqdm

    disable = not enabled or os.environ.get("TQDM_DISABLE", "") not in ("", "0")
    return tqdm(total=total, desc=desc, initial=initial, disable=disable, leave=False, dynamic_ncols=True)


class _Batches:
    """Seeded epoch-wise shuffling of ``n`` indices whose state can be saved and restored.

    With ``world > 1`` processes, every process holds the same permutation and takes its own slice
    ``[rank·b, (rank+1)·b)`` of each global batch of ``world·b`` indices (a distributed sampler): the union over the
    processes is exactly the batch one process with ``batch_size = world·b`` would draw.
    """

    def __init__(self, n: int, batch_size: int, seed: int, *, rank: int = 0, world: int = 1) -> None:
        if n < 2:
            raise ValueError(f"need at least 2 training points; got {n}")
        if n < 2 * world:
            raise ValueError(f"{world} processes need at least {2 * world} training points; got {n}")
        self.n, self.b = n, min(batch_size, n // world)
        self.rank, self.world = rank, world
        self.gen = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(n, generator=self.gen)
        self.pos = 0

    def next(self) -> Tensor:
        gb = self.b * self.world
        if self.pos + gb > self.n:
            self.perm = torch.randperm(self.n, generator=self.gen)
            self.pos = 0
        idx = self.perm[self.pos + self.rank * self.b : self.pos + (self.rank + 1) * self.b]
        self.pos += gb
        return idx

    def state(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state(), "perm": self.perm.clone(), "pos": self.pos}

    def load(self, s: dict[str, Any]) -> None:
        # a checkpoint loaded onto a GPU holds GPU tensors; the generator and the permutation live on the CPU
        self.gen.set_state(s["gen"].cpu())
        self.perm, self.pos = s["perm"].cpu(), int(s["pos"])


# settings that may differ between a run and its resumption (budgets, bookkeeping, hardware)
_RESUMABLE_CHANGES = {"iterations", "max_seconds", "target", "checkpoint_dir", "checkpoint_every", "checkpoint_minutes",
                      "resume", "progress", "device", "eval_every", "val_batch_size", "chunk_size"}


def _changed_settings(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Fields of TrainConfig that differ between a checkpoint and the current run and would change the result."""
    out = []
    for k, v in current.items():
        if k in _RESUMABLE_CHANGES or k not in stored:
            continue
        a, b = stored[k], v
        if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
            a, b = list(a), list(b)
        if a != b:
            out.append(f"{k}: {stored[k]!r} → {v!r}")
    return out


def _json_normal(v: Any) -> Any:
    return json.loads(json.dumps(v, default=str))


def _changed_description(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Entries of a trainer's ``extra_config`` (what it was trained on: e.g. ``encoder_hash``, ``kl_weight``) that
    differ between a checkpoint and the current run. Entries a checkpoint does not record are not compared."""
    skip = {"trainer", "train_config", "world_size"}
    return [f"{k}: {stored[k]!r} → {v!r}" for k, v in current.items()
            if k not in skip and k in stored and _json_normal(stored[k]) != _json_normal(v)]


def _crossed_before_last(history: Sequence[Mapping[str, Any]], target: float | None) -> Mapping[str, Any] | None:
    """The first evaluation (history row) of a stored run with ``val_loss ≤ target`` when it is not the run's last
    evaluation — the stored run went on past the point where a run with this target stops; ``None`` otherwise."""
    if target is None:
        return None
    hits = [i for i, r in enumerate(history) if float(r.get("val_loss", math.nan)) <= target]
    return history[hits[0]] if hits and hits[0] < len(history) - 1 else None


StepFn = Callable[[Tensor], dict[str, Tensor]]
EvalFn = Callable[[], dict[str, float]]
StopFn = Callable[[Sequence[Mapping[str, Any]]], bool]


class BatchFeeder:
    """The training batches of one run of :func:`fit`, on the device.

    Draws the indices with :class:`_Batches` (seeded epoch-wise shuffling; under ``torchrun`` each process's slice
    of one global batch) and gathers the rows of ``data``: on the device when ``config.data_on_device`` (or on the
    CPU), else from host memory — through two pinned staging buffers on a GPU with ``config.pin_memory``, so that
    the copy does not block. Image batches are made ``channels_last`` when ``config.channels_last``
    (:meth:`prepare` converts the networks to match). :meth:`state`/:meth:`load` save and restore the shuffling.
    """

    def __init__(self, data: Tensor, config: TrainConfig, device: torch.device, info: DistInfo | None = None) -> None:
        info = info or dist_info()
        self.batches = _Batches(data.shape[0], config.batch_size, config.seed, rank=info.rank, world=info.world_size)
        self.device = device
        self.channels_last = config.channels_last and data.ndim == 4
        self._stage: list[Tensor] = []
        self._turn = 0
        if config.data_on_device or device.type == "cpu":
            self.data = data.to(device) if data.device != device else data
        else:  # the data stay in host memory; each batch is gathered there and copied to the device
            self.data = data.cpu()
            if config.pin_memory and device.type == "cuda":
                # two pinned staging buffers: indexing a tensor makes a pageable copy, whose transfer would block, so
                # the batch is gathered into pinned memory (index_select(out=…)) and copied without blocking
                self._stage = [torch.empty((self.batches.b, *self.data.shape[1:]), dtype=self.data.dtype).pin_memory()
                               for _ in range(2)]

    def prepare(self, modules: Iterable[nn.Module]) -> None:
        """Give ``modules`` the batches' memory format (``channels_last`` for images when asked)."""
        if self.channels_last:
            for m in modules:
                m.to(memory_format=torch.channels_last)

    def next(self) -> Tensor:
        """The next training batch, on the device."""
        idx = self.batches.next()
        if self._stage:  # the step in between synchronised (loss.item()), so the buffer used before last is free
            batch = torch.index_select(self.data, 0, idx, out=self._stage[self._turn][: len(idx)])
            self._turn = 1 - self._turn
        else:
            batch = self.data[idx.to(self.data.device)] if self.data.device.type != "cpu" else self.data[idx]
        batch = batch.to(self.device, non_blocking=True)
        return batch.contiguous(memory_format=torch.channels_last) if self.channels_last else batch

    def state(self) -> dict[str, Any]:
        return self.batches.state()

    def load(self, state: dict[str, Any]) -> None:
        self.batches.load(state)


class RunState:
    """Where a run of :func:`fit` stands — iteration, training seconds, the history rows (one per evaluation) and
    the per-step rows — and its checkpoint in ``config.checkpoint_dir``.

    :meth:`resume` loads a checkpoint, refuses one written by another trainer, with other settings, on another
    ``extra_config`` (e.g. a decoder's ``encoder_hash``) or whose history already crossed ``config.target`` before its
    last evaluation (a looser target than it was trained to: the run asked for stopped earlier), and restores
    the modules, optimisers, batch order and random state (each process's own under ``torchrun``); :meth:`save`
    writes one (every process calls it: the random states are gathered, rank 0 writes, the others wait).
    """

    def __init__(self, name: str, config: TrainConfig, modules: dict[str, nn.Module],
                 optimizers: dict[str, torch.optim.Optimizer], feeder: BatchFeeder, device: torch.device,
                 extra_config: dict[str, Any] | None = None, info: DistInfo | None = None) -> None:
        self.name, self.config, self.modules, self.optimizers = name, config, modules, optimizers
        self.feeder, self.device, self.info = feeder, device, info or dist_info()
        self.ckpt = Path(config.checkpoint_dir) if config.checkpoint_dir else None
        self.meta = {"trainer": name, "train_config": asdict(config), "world_size": self.info.world_size,
                     **(extra_config or {})}
        self.it, self.seconds = 0, 0.0
        self.rows: list[dict[str, float]] = []
        self.step_rows: list[dict[str, float]] = []

    def resume(self) -> bool:
        """Continue from the checkpoint, if there is one and ``config.resume``; True when it did."""
        ckpt = self.ckpt
        if ckpt is None or not self.config.resume or not checkpoint_exists(ckpt):
            return False
        ck = load_checkpoint(ckpt, map_location=self.device)
        if ck.config.get("trainer") != self.name:
            raise ValueError(f"checkpoint at {ckpt} was written by {ck.config.get('trainer')!r}, not {self.name!r}")
        changed = _changed_settings(ck.config.get("train_config", {}), asdict(self.config))
        if int(ck.config.get("world_size", 1)) != self.info.world_size:
            changed.append(f"processes: {ck.config.get('world_size', 1)} → {self.info.world_size}")
        if changed:
            raise ResumeMismatchError(
                f"checkpoint at {ckpt} was trained with other settings ({', '.join(changed)}); resuming would mix "
                "two runs. Delete the folder, pick another checkpoint_dir, or set resume=False"
            )
        described = _changed_description(ck.config, self.meta)
        if described:
            what = "on another encoder" if any(c.startswith("encoder_hash:") for c in described) else "as another run"
            raise ResumeMismatchError(
                f"checkpoint at {ckpt} was trained {what} ({', '.join(described)}); resuming would mix two runs. "
                "Delete the folder, pick another checkpoint_dir, or set resume=False"
            )
        crossed = _crossed_before_last(ck.state["history"], self.config.target)
        if crossed is not None:  # e.g. a looser ε than the folder was trained to: fit would stop at once
            it = int(crossed["iteration"])
            raise ValueError(
                f"checkpoint at {ckpt} already reached target={self.config.target:g} at iteration {it} (validation "
                f"loss {float(crossed['val_loss']):.6g}) but was trained on to iteration {int(ck.state['iteration'])}: "
                f"a run with this target stops at iteration {it}, and resuming would return the over-trained model. "
                "Pick another checkpoint_dir, or set resume=False to train from the start"
            )
        for k, m in self.modules.items():
            m.load_state_dict(ck.weights[k])
        for k, o in self.optimizers.items():
            o.load_state_dict(ck.state["optimizers"][k])
        self.feeder.load(ck.state["batches"])
        rng = ck.state["rank_rng"][self.info.rank] if "rank_rng" in ck.state else ck.state["torch_rng"]
        torch.set_rng_state(rng.cpu())
        if self.device.type == "cuda" and "cuda_rng" in ck.state:
            torch.cuda.set_rng_state(ck.state["cuda_rng"].cpu())
        self.it, self.seconds = int(ck.state["iteration"]), float(ck.state["seconds"])
        self.rows, self.step_rows = list(ck.state["history"]), list(ck.state["steps"])
        return True

    def save(self) -> None:
        """Write the checkpoint (nothing without ``checkpoint_dir``). Raises :class:`NonFiniteLossError` instead of
        writing weights that are no longer finite, so the last checkpoint stays the last finite state."""
        if self.ckpt is None:
            return
        bad = [f"{k}.{n}" for k, m in self.modules.items() for n, t in m.state_dict().items()
               if t.is_floating_point() and not bool(torch.isfinite(t).all())]
        if bad:
            raise NonFiniteLossError(
                f"{self.name}: weights became non-finite by iteration {self.it} ({', '.join(bad[:3])}"
                f"{', …' if len(bad) > 3 else ''}); not checkpointed, the checkpoint on disk (if any) is the last "
                "finite state. Lower the learning rate, or check the data for NaN/inf")
        import torch.distributed as tdist

        world = self.info.world_size
        if world > 1:  # every process's random state, so that each resumes its own stream
            states: list[Any] = [None] * world
            tdist.all_gather_object(states, torch.get_rng_state())
            if not self.info.is_main:
                tdist.barrier()
                return
        state = {
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "batches": self.feeder.state(),
            "torch_rng": torch.get_rng_state(),
            "iteration": self.it,
            "seconds": self.seconds,
            "history": self.rows,
            "steps": self.step_rows,
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state()
        if world > 1:
            state["rank_rng"] = torch.stack(states)
        save_checkpoint(self.ckpt, modules=self.modules, config={**self.meta, "iteration": self.it}, state=state)
        if world > 1:
            tdist.barrier()  # the others wait until the checkpoint is complete

    def record_step(self, out: dict[str, Tensor], seconds: float) -> float:
        """Count one training iteration that took ``seconds`` and logged ``out``; returns its loss. Raises
        :class:`NonFiniteLossError` when the loss is NaN or infinite."""
        loss = float(out["loss"])
        self.seconds += seconds
        self.it += 1
        if not math.isfinite(loss):
            raise NonFiniteLossError(
                f"{self.name}: training loss became {loss} at iteration {self.it}; lower the learning rate, check the "
                "data for NaN/inf, or resume from the last checkpoint"
            )
        self.step_rows.append({"iteration": self.it, "seconds": self.seconds, **{k: float(v) for k, v in out.items()}})
        return loss

    def record_eval(self, train_loss: float, metrics: dict[str, float]) -> float:
        """Add a history row for an evaluation now; returns its ``val_loss`` (NaN if absent)."""
        self.rows.append({"iteration": self.it, "seconds": self.seconds, "train_loss": train_loss, **metrics})
        return self.last_val

    @property
    def last_val(self) -> float:
        """The validation metric of the last history row."""
        return float(self.rows[-1].get("val_loss", math.nan))

    def result(self, stopped: str) -> TrainResult:
        """The run as a :class:`TrainResult` that stopped for the reason ``stopped``."""
        steps = pd.DataFrame(self.step_rows, columns=None if self.step_rows else ["iteration", "seconds", "loss"])
        return TrainResult(
            modules=self.modules,
            history=pd.DataFrame(self.rows),
            steps=steps,
            stopped=stopped,
            iterations=self.it,
            seconds=self.seconds,
            config=self.config,
        )


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM stopped :func:`fit`. It is raised after the iteration in progress, once that
    iteration's checkpoint is written (``checkpoint``; ``None`` without a ``checkpoint_dir``), so that the same call
    resumes exactly there. A second signal stops at once."""

    def __init__(self, name: str, iteration: int, checkpoint: Path | None) -> None:
        where = (f"; its checkpoint is {checkpoint}: the same command resumes from it" if checkpoint is not None
                 else " (no checkpoint_dir: nothing was kept)")
        super().__init__(f"{name}: interrupted at iteration {iteration}{where}")
        self.iteration, self.checkpoint = iteration, checkpoint


@contextlib.contextmanager
def _deferred_signals() -> Iterator[list[int]]:
    """While training, SIGINT and SIGTERM are noted (the list it yields) instead of stopping the step in the middle of
    an optimiser update; a second one raises :class:`KeyboardInterrupt` at once. Only signals whose handler is
    Python's default are taken over, and only in the main thread (where Python runs handlers)."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def note(signum: int, frame: Any) -> None:
        if caught:
            raise KeyboardInterrupt
        caught.append(signum)

    previous = {}
    for sig, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(sig) is default:
            previous[sig] = signal.signal(sig, note)
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Saves:
    """When :func:`fit` checkpoints: every ``checkpoint_every`` iterations, after ``checkpoint_minutes`` of wall clock
    since the last checkpoint (in one process only: several processes' clocks would disagree on the iteration), and
    at a SIGINT/SIGTERM, which then stops the run (:class:`TrainingInterrupted`)."""

    def __init__(self, run: RunState, config: TrainConfig, caught: list[int]) -> None:
        self.run, self.config, self.caught, self.last = run, config, caught, time.monotonic()

    def after_step(self) -> None:
        run, c = self.run, self.config
        if self.caught:
            self.interrupt()
        due = bool(c.checkpoint_every) and run.it % c.checkpoint_every == 0
        if not due and c.checkpoint_minutes and run.info.world_size == 1:
            due = time.monotonic() - self.last >= 60 * c.checkpoint_minutes
        if due:
            run.save()
            self.last = time.monotonic()

    def interrupt(self) -> None:
        if self.run.info.world_size > 1:  # the processes saw the signal at different iterations: no common checkpoint
            raise KeyboardInterrupt
        self.run.save()
        raise TrainingInterrupted(self.run.name, self.run.it, self.run.ckpt)


def fit(
    *,
    name: str,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    step: StepFn,
    evaluate: EvalFn,
    data: Tensor,
    config: TrainConfig,
    extra_config: dict[str, Any] | None = None,
    distributed: bool = True,
    stop: StopFn | None = None,
) -> TrainResult:
    """Generic loop: draw a batch, call ``step(batch)`` (which back-propagates and steps the optimisers and
    returns ``{"loss": ..., <components>}``), evaluate every ``config.eval_every`` iterations, stop at the
    iteration budget, the time budget or ``val_loss ≤ config.target``; checkpoint and resume.

    ``evaluate()`` returns ``{"val_loss": ..., <other metrics>}``; it runs without gradients, with ``modules`` in
    eval mode (:func:`~gpelib.models.eval_mode`). Raises :class:`NonFiniteLossError` at the first non-finite
    training loss. ``distributed=False`` trains in this process alone even under ``torchrun`` (every process then
    trains the same model on all the data). ``stop(rows)``, if given, is asked after every evaluation with the history
    rows so far (e.g. :class:`gpelib.plateau.PlateauStop`); True stops the run (``stopped="plateau"``) — a resumed run
    whose history already satisfies it stops at once.
    """
    device = resolve_device(config.device)
    info = dist_info() if distributed else DistInfo(0, 1, 0)
    feeder = BatchFeeder(data, config, device, info)
    feeder.prepare(modules.values())
    run = RunState(name, config, modules, optimizers, feeder, device, extra_config, info)
    run.resume()
    autocast = (torch.autocast(device_type=device.type, dtype=torch.bfloat16) if config.precision == "bf16"
                else contextlib.nullcontext())

    def evaluate_now(train_loss: float) -> float:
        with eval_mode(*modules.values()), torch.no_grad():
            metrics = evaluate()
        return run.record_eval(train_loss, metrics)

    def reached(val: float) -> bool:
        return config.target is not None and val <= config.target

    def settled() -> bool:
        return stop is not None and bool(stop(run.rows))

    first = run.last_val if run.rows else evaluate_now(math.nan)
    stopped = "target" if reached(first) else "plateau" if settled() else "iterations"
    running: list[float] = []
    bar = _progress(config.iterations, name, config.progress and dist_info().is_main, initial=run.it)
    with _deferred_signals() as caught:
        saves = _Saves(run, config, caught)
        try:
            while stopped == "iterations" and run.it < config.iterations:
                if config.max_seconds is not None and run.seconds >= config.max_seconds:
                    stopped = "time"
                    break
                batch = feeder.next()
                t0 = time.perf_counter()
                with autocast:
                    out = step(batch)
                running.append(run.record_step(*_step_done(out, t0, device, info)))
                bar.update(1)
                if run.it % config.eval_every == 0 or run.it == config.iterations:
                    val = evaluate_now(float(np.mean(running)))
                    running = []
                    bar.set_postfix(train=f"{run.rows[-1]['train_loss']:.4g}", val=f"{val:.4g}")
                    if reached(val):
                        stopped = "target"
                    elif settled():
                        stopped = "plateau"
                saves.after_step()
        finally:
            bar.close()
        if running:
            evaluate_now(float(np.mean(running)))
        if caught:  # during the last evaluation: the run is complete, and still the caller asked to stop
            saves.interrupt()
        run.save()
    return run.result(stopped)


def _step_done(out: dict[str, Tensor], t0: float, device: torch.device, info: DistInfo
               ) -> tuple[dict[str, Tensor], float]:
    """A finished step's logged losses and duration since ``t0``: across processes their mean and the slowest
    process's time (:func:`_reduce_step`), on a GPU after synchronising it."""
    if info.world_size > 1:
        return _reduce_step(out, time.perf_counter() - t0, device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - t0


def _reduce_step(out: dict[str, Tensor], dt: float, device: torch.device) -> tuple[dict[str, Tensor], float]:
    """Across processes: the mean of each logged loss and the slowest process's step time (so that every process
    logs, stops and checks for non-finite losses identically)."""
    import torch.distributed as tdist

    keys = list(out)
    vals = torch.stack([out[k].detach().float().reshape(()) for k in keys]).to(device)
    tdist.all_reduce(vals)
    vals /= dist_info().world_size
    t = torch.tensor([dt], dtype=torch.float64, device=device)
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return {k: vals[i].cpu() for i, k in enumerate(keys)}, float(t)



def observe_milestones(
    train_to: Callable[[int], Any],
    score: Callable[[Any], dict[str, Any]],
    milestones: Sequence[int],
    checkpoint_dir: str | Path,
    *,
    key: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], Any]:
    """Watch one training run at several iterations: for each milestone ``m`` (ascending), ``train_to(m)`` trains
    (resuming exactly from ``checkpoint_dir``) up to ``m`` and returns its result, and ``score(result)`` measures it.

    The rows are stored beside the checkpoint in ``<checkpoint_dir>.milestones.json``. A rerun finds the checkpoint
    already at the last milestone — ``train_to(m)`` would return the *final* model for every ``m`` — so the stored rows
    are returned instead of scoring the final model again. When the stored rows were measured with another ``key``
    (the scoring settings) or miss a milestone that the checkpoint has already passed, the checkpoint and the rows are
    deleted and the run is trained again from the start.

    Returns ``(rows, result)``: one dict per milestone (with ``milestone`` added) and the last ``train_to`` result.
    """
    import shutil

    ms = sorted({int(m) for m in milestones})
    if not ms:
        raise ValueError("milestones must not be empty")
    ck = Path(checkpoint_dir)
    store = ck.with_name(ck.name + ".milestones.json")
    key_json = json.loads(json.dumps(dict(key), sort_keys=True, default=str))
    rows: dict[int, dict[str, Any]] = {}
    if store.is_file():
        saved = json.loads(store.read_text())
        if saved.get("key") == key_json:
            rows = {int(k): v for k, v in saved.get("rows", {}).items()}
    done = int(json.loads((ck / "config.json").read_text()).get("iteration", 0)) if checkpoint_exists(ck) else 0
    missing = [m for m in ms if m not in rows]
    if missing and done > missing[0]:  # the run went past a milestone that was never scored: start again
        shutil.rmtree(ck, ignore_errors=True)
        rows = {}
    result = None
    for m in ms:
        result = train_to(m)
        if m not in rows:
            rows[m] = {**score(result), "milestone": m}
            tmp = store.with_name(store.name + ".tmp")
            tmp.write_text(json.dumps({"key": key_json, "rows": {str(k): v for k, v in rows.items()}}, indent=1,
                                      default=float))
            os.replace(tmp, store)
    return [rows[m] for m in ms], result
