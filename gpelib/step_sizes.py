"""Learning-rate sweeps: which step sizes each method trains stably at, and its runs at the largest of them.

GPE §8.4 (Fig. 8): "Learning rates are selected … by choosing the largest value that yields stable convergence for
each method", and Theorem 3's Hessian bound is offered as why GPE tolerates larger ones. Two notebooks read this
protocol: 04's protocol map (fresh decoders on Table 1's encoders, :mod:`gpelib.protocol_map`) and 05's second
reading of Fig. 8 (every method in its own regime, :func:`lr_sweep_runs`). One rule decides stability in both
(:func:`stable_lrs`): a rate is *stable* for a method when every seed's run finishes with finite losses and a final
held-out loss ≤ ``stable_tol`` × that of the same seed's run at the base rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from torch import Tensor, nn

from .methods import fresh_decoder, train_method, train_runs
from .runs import LABELS, REGISTRY, Run, run_folder
from .train import TrainConfig

__all__ = ["stable_lrs", "at_largest_stable", "lr_sweep_runs", "fresh_decoder_or_none", "method_or_none"]

Runs = Mapping[int, Mapping[str, Run]]  # seed → method label → run
MaybeRuns = Mapping[int, Mapping[str, Run | None]]  # the same, None where training stopped on a non-finite loss


def fresh_decoder_or_none(source: Run | nn.Module, data: Tensor, **kwargs: Any) -> Run | None:
    """:func:`gpelib.methods.fresh_decoder`, or ``None`` when its training stops on a non-finite loss — a learning
    rate beyond the stable range is a result of a learning-rate sweep, not an error."""
    from .train import NonFiniteLossError

    try:
        return fresh_decoder(source, data, **kwargs)
    except NonFiniteLossError:
        return None


def method_or_none(method: str, data: Tensor, **kwargs: Any) -> Run | None:
    """:func:`gpelib.methods.train_method`, or ``None`` when its training stops on a non-finite loss."""
    from .train import NonFiniteLossError

    try:
        return train_method(method, data, **kwargs)
    except NonFiniteLossError:
        return None


def stable_lrs(base: Runs, swept: Mapping[float, MaybeRuns], *, base_lr: float,
               stable_tol: float = 1.1) -> tuple[pd.DataFrame, dict[str, float]]:
    """Which rates are stable per method (module doc): ``base[seed][method]`` are the runs at ``base_lr``,
    ``swept[lr][seed][method]`` those at each other rate (``None``: stopped on a non-finite loss). Returns the table
    (``method, lr, seed, final_val, stable, chosen``; methods in ``base``'s order, the base rate first) and each
    method's largest stable rate (the base rate is stable by definition)."""
    if not stable_tol >= 1:
        raise ValueError(f"stable_tol must be ≥ 1 (a final loss within that factor of the base rate's); got "
                         f"{stable_tol}")
    rows = []
    methods = list(next(iter(base.values())))
    for m in methods:
        for s in base:
            ref = base[s][m]
            rows.append(dict(method=m, lr=base_lr, seed=s, final_val=ref.final_val, stable=True))
            for lr, by_seed in swept.items():
                r = by_seed[s][m]
                fv = math.nan if r is None else r.final_val
                rows.append(dict(method=m, lr=float(lr), seed=s, final_val=fv,
                                 stable=bool(r is not None and fv <= stable_tol * ref.final_val)))
    table = pd.DataFrame(rows)
    best = {m: max(g.groupby("lr")["stable"].all().loc[lambda x: x].index) for m, g in table.groupby("method")}
    table["chosen"] = [best[m] == lr for m, lr in zip(table.method, table.lr)]
    return table, best


def at_largest_stable(base: Runs, swept: Mapping[float, MaybeRuns], best: Mapping[str, float],
                      base_lr: float) -> dict[int, dict[str, Run]]:
    """Every seed's run of each method at that method's largest stable rate (``best``, from :func:`stable_lrs`):
    ``{seed: {method: run}}``, the methods in ``base``'s order."""
    return {s: {m: (r if best[m] == base_lr else swept[best[m]][s][m]) for m, r in runs.items()}  # type: ignore[misc]
            for s, runs in base.items()}


def lr_sweep_runs(
    base: Runs,
    data: Tensor,
    val_data: Tensor,
    *,
    lrs: Sequence[float],
    latent_dim: int,
    joint_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    mds_weight: float | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
    device: str | None = None,
) -> dict[float, dict[int, dict[str, Run | None]]]:
    """Notebook 05's runs (``base[seed][label]``: every method of :data:`gpelib.runs.METHODS` in its own regime, at
    the base rate) again at each of ``lrs``: a jointly trained method with ``joint_config`` at that rate; GPE with a
    fresh decoder (``decoder_config`` at that rate) on its own encoder — Algorithm 1 is the same at every decoder rate,
    so the encoder phase and its time are the base run's (:func:`gpelib.methods.fresh_decoder` keeps them). Every
    (rate, seed, method) is one job of :func:`gpelib.methods.train_runs`, checkpointed under ``checkpoint_root``;
    a run that stops on a non-finite loss is ``None``. Returns ``{lr: {seed: {label: run or None}}}``."""
    from .checkpoint import weights_hash

    if joint_config.lr != decoder_config.lr:
        raise ValueError(f"the base rate must be common to the joint and the decoder configs (one sweep, one base); "
                         f"got {joint_config.lr} and {decoder_config.lr}")
    label_of = {LABELS[m]: m for m in REGISTRY}
    nets = dict(arch=arch, width=width, hidden=hidden)
    jobs, keys = [], []
    for lr in lrs:
        for s, runs in base.items():
            for label, run in runs.items():
                m = label_of[label]
                if REGISTRY[m].two_phase:
                    cfg = replace(decoder_config, seed=s, lr=float(lr))
                    if checkpoint_root is not None:
                        folder = run_folder(checkpoint_root, f"lr-{m}", data, val_data, config=cfg,
                                            encoder=weights_hash(run.encoder), **nets)
                        cfg = replace(cfg, checkpoint_dir=str(folder))
                    jobs.append(dict(fn=fresh_decoder_or_none, source=run, data=data, config=cfg, val_data=val_data,
                                     name=label, **nets))
                else:
                    jobs.append(dict(fn=method_or_none, method=m, data=data, latent_dim=latent_dim, beta=beta,
                                     config=replace(joint_config, seed=s, lr=float(lr)), mds_weight=mds_weight,
                                     val_data=val_data, checkpoint_root=checkpoint_root, **nets))
                keys.append((float(lr), s, label))
    out: dict[float, dict[int, dict[str, Run | None]]] = {float(lr): {s: {} for s in base} for lr in lrs}
    for (lr, s, label), run in zip(keys, train_runs(jobs, device=device, desc="learning-rate sweep")):
        out[lr][s][label] = run
    return out
