"""Tidy tables over GAN sweeps (notebooks 07–09): one row per run (:func:`sweep_table`), summaries per method
(:func:`summarize`, :func:`compare_reference`), each run's plateau state on each score (:func:`plateau_states`,
:func:`run_states`, :func:`states_by_run`), the states per method (:func:`state_counts`) and per-unit values paired
for the verdicts (:func:`paired_values`). :mod:`gpelib.claims` decides on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import pandas as pd

from ..plateau import STATES, combined_state, plateau_state

if TYPE_CHECKING:
    from .experiments import SweepRun

__all__ = ["sweep_table", "summarize", "compare_reference", "paired_values", "history_table", "plateau_states",
           "run_states", "states_by_run", "state_counts"]

def sweep_table(runs: Iterable[SweepRun]) -> pd.DataFrame:
    """One tidy row per run: ``dataset, method, label, variant, arch, seed, <metrics>, seconds, iterations,
    generator_updates, critic_updates, real_batches`` — the last three over the whole run: gradient updates of each
    generator-side and each critic-side network, and real batches consumed (the same ``iterations`` cost different
    methods different amounts; :meth:`~gpelib.gan.methods.GANMethod.budget`)."""
    rows = [{"dataset": r.dataset, "method": r.method, "label": r.label, "variant": r.variant, "arch": r.arch,
             "seed": r.seed, **r.metrics, "seconds": r.seconds, "iterations": r.iterations,
             **{k: int(v) * int(r.iterations) for k, v in r.budget.items()}} for r in runs]
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, metrics: Sequence[str], *, by: Sequence[str] = ("dataset", "variant")
              ) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1), min and max of each metric per group: columns ``<metric>_mean`` …"""
    g = table.groupby(list(by), sort=False)[list(metrics)]
    out = g.agg(["mean", "std", "min", "max"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    return out.reset_index()


def compare_reference(
    summary: pd.DataFrame,
    column: str,
    *,
    reference: str,
    better: str,
    key: str = "variant",
    tol: float = 0.0,
) -> pd.DataFrame:
    """The ``reference`` row's ``column`` against every other row of ``summary`` (one dataset): columns
    ``other, reference_value, other_value, reference_better`` where better means higher (``better="higher"``) or
    lower (``"lower"``) by more than ``tol``, ``tie`` (within ``tol``)."""
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower'; got {better!r}")
    s = summary.set_index(key)[column]
    if reference not in s.index:
        raise KeyError(f"{reference!r} not in {list(s.index)}")
    ref = float(s[reference])
    rows = []
    for other, v in s.items():
        if other == reference:
            continue
        d = (ref - float(v)) if better == "higher" else (float(v) - ref)
        rows.append({"other": other, "reference_value": ref, "other_value": float(v),
                     "reference_better": bool(d > tol), "tie": bool(abs(d) <= tol)})
    return pd.DataFrame(rows)


def paired_values(
    table: pd.DataFrame,
    column: str,
    variants: Sequence[str],
    *,
    units: Sequence[str] = ("seed",),
    spread_over: str | None = None,
) -> dict[str, list[float]]:
    """``column`` of each of ``variants`` at every unit (the sorted combinations of the ``units`` columns, e.g.
    ``("arch", "seed")``), in the same order for every variant, so :mod:`gpelib.verdicts` can pair them.

    With ``spread_over`` (one of ``units``), each value is replaced by its absolute deviation from the variant's mean
    over ``spread_over`` (within the other unit columns): a Levene-type spread, so "varies least across seeds /
    architectures" becomes a paired comparison of deviations."""
    t = table[table.variant.isin(list(variants))]
    values = t[column]
    if spread_over is not None:
        if spread_over not in units:
            raise ValueError(f"spread_over must be one of the units {list(units)}; got {spread_over!r}")
        within = ["variant", *[u for u in units if u != spread_over]]
        values = (values - t.groupby(within)[column].transform("mean")).abs()
    t = t.assign(_value=values).set_index(list(units))
    order = sorted(t.index.unique())
    return {k: t[t.variant == k].loc[order, "_value"].tolist() for k in variants}


def history_table(runs: Iterable[SweepRun]) -> pd.DataFrame:
    """The training histories of ``runs`` in one tidy table (one row per evaluation), each with its ``dataset``."""
    return pd.concat([r.history.assign(dataset=r.dataset) for r in runs], ignore_index=True)


def plateau_states(
    history: pd.DataFrame,
    floors: Mapping[str, Mapping[str, float]],
    *,
    metrics: Mapping[str, str],
    by: Sequence[str] = ("dataset", "variant", "seed"),
    **rule: float,
) -> pd.DataFrame:
    """The state of every run on every metric at the end of its history (SPEC §2 "Plateau",
    :func:`gpelib.plateau.plateau_state`): one row per run and metric, ``*by, metric, state, start, end, change,
    tolerance, spread, at``. ``metrics``: history column → ``"lower"``/``"higher"`` (better); ``floors``: dataset →
    column → noise floor (0 where absent); a metric a run never recorded (all NaN, e.g. an encoder score of a method
    without one) gives no row. ``rule``: ``last``, ``relative``, ``floor_multiple``, ``window``."""
    rows = []
    for key, g in history.groupby(list(by), sort=False):
        kd = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        fl = floors.get(str(kd.get("dataset", "")), {})
        for col, better in metrics.items():
            if col not in g or g[col].notna().sum() == 0:
                continue
            p = plateau_state(g.iteration, g[col], better=better, floor=float(fl.get(col, 0.0)), **rule)
            rows.append({**kd, "metric": col, **asdict(p)})
    return pd.DataFrame(rows, columns=[*by, "metric", "state", "start", "end", "change", "tolerance", "spread", "at"])


def run_states(table: pd.DataFrame, states: pd.DataFrame, watched: Mapping[str, Sequence[str]], *,
               by: Sequence[str] = ("dataset", "variant", "seed")) -> pd.DataFrame:
    """:func:`sweep_table`'s ``table`` with each run's ``state`` (:func:`gpelib.plateau.combined_state` of its
    ``watched[method]`` metrics in ``states``, :func:`plateau_states`) and ``plateau_iteration`` (the iteration it
    stopped at when it stopped at its plateau — column ``stopped_at_plateau`` — else NaN)."""
    st = states.set_index([*by, "metric"])["state"]
    combined = []
    for _, r in table.iterrows():
        key = tuple(r[c] for c in by)
        got = [st[(*key, m)] for m in watched[r["method"]] if (*key, m) in st.index]
        combined.append(combined_state(got) if got else "improving")
    stopped = table["stopped_at_plateau"] if "stopped_at_plateau" in table else pd.Series(0.0, index=table.index)
    return table.assign(state=combined, plateau_iteration=table.iterations.where(stopped > 0))


def states_by_run(states: pd.DataFrame, variants: Sequence[str], metric: str, *, units: Sequence[str] = ("seed",)
                  ) -> dict[str, str]:
    """Each run's state on ``metric`` (:func:`plateau_states`), for the runs of ``variants``, by a readable name
    (``"GMEGAN s1"``, ``"GMEGAN mlp s1"`` with ``units=("arch", "seed")``): the form
    :func:`gpelib.verdicts.at_plateau_or_inconclusive` takes."""
    t = states[states.variant.isin(list(variants)) & (states.metric == metric)]
    names = t.variant.astype(str)
    for u in units:
        names = names + " " + (("s" + t[u].astype(str)) if u == "seed" else t[u].astype(str))
    return dict(zip(names, t.state))


def state_counts(table: pd.DataFrame, *, by: Sequence[str] = ("dataset", "variant")) -> pd.DataFrame:
    """Per group of :func:`run_states`' table: ``runs``, the count of each state (``plateau``, ``improving``,
    ``worsening``, ``oscillating``), ``iterations_max`` (the most iterations a run of the group trained: the cap when
    one never settled), and the median, min and max ``plateau_iteration`` of the runs that stopped at their plateau."""
    rows = []
    for key, g in table.groupby(list(by), sort=False):
        p = g.plateau_iteration.dropna()
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "runs": len(g),
                     **{s: int((g.state == s).sum()) for s in STATES}, "iterations_max": int(g.iterations.max()),
                     "plateau_median": float(p.median()) if len(p) else math.nan,
                     "plateau_min": float(p.min()) if len(p) else math.nan,
                     "plateau_max": float(p.max()) if len(p) else math.nan})
    return pd.DataFrame(rows)
