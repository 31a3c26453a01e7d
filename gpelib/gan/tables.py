"""Tidy tables over GAN sweeps (notebooks 07–09): one row per run (:func:`sweep_table`), summaries per method
(:func:`summarize`, :func:`compare_reference`), convergence (:func:`late_improvement`, :func:`late_by_run`), what each
method spent (:func:`compute_table`, :func:`compute_tables`) and per-unit values paired for the verdicts
(:func:`paired_values`). :mod:`gpelib.claims` decides on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..convergence import LATE_LIMIT
from ..plateau import STATES, combined_state, plateau_state
from .step_table import _step_table, shape_key

if TYPE_CHECKING:
    from .experiments import ImageSpec, MixtureSpec, SweepRun

__all__ = ["sweep_table", "summarize", "compare_reference", "late_improvement", "compute_table", "paired_values",
           "late_by_run", "history_table", "compute_tables", "plateau_states", "run_states", "states_by_run",
           "state_counts"]

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


def late_improvement(
    history: pd.DataFrame, *, last: float = 0.2, by: Sequence[str] = ("dataset", "method", "seed"),
    column: str = "val_loss", window: int = 1,
) -> pd.DataFrame:
    """Is a run still improving when its budget ends? For each group of ``history`` (tidy, one row per evaluation),
    the relative fall of ``column`` over the last ``last`` fraction of the iterations,

        late_improvement = (v(it_a) − v(it_end)) / |v(it_a)|,
        it_a = the last evaluation at or before (1 − last)·it_end,

    so 0.3 means the metric (lower is better) still dropped by 30 % in the final fifth — the run had not converged
    and a longer budget may change its ranking. With ``window`` > 1 each ``v`` is the mean of the ``window``
    evaluations ending at that point (a held-out estimate fluctuates from one evaluation to the next; one noisy
    value would otherwise decide). ``total_improvement = (v(first) − v(it_end)) / |v(first)|`` is the fall over the
    whole run from its first evaluation: a run that never improved (a learning rate too small for its budget, or
    one that diverged) is flat at the end without having converged (:func:`gpelib.verdicts.converged_or_inconclusive`
    uses both). Columns: ``*by, value_at_start, value_at_end, late_improvement, total_improvement``.
    """
    if not 0 < last < 1:
        raise ValueError(f"last must be in (0, 1); got {last}")
    if window < 1:
        raise ValueError(f"window must be ≥ 1; got {window}")
    rows = []
    for key, g in history.dropna(subset=[column]).groupby(list(by), sort=False):
        g = g.sort_values("iteration")
        if window > 1:
            g = g.assign(**{column: g[column].rolling(window, min_periods=1).mean()})
        end = g.iloc[-1]
        early = g[g.iteration <= (1 - last) * end.iteration]
        if early.empty or early.iloc[-1].iteration == end.iteration:
            continue
        a, b, first = float(early.iloc[-1][column]), float(end[column]), float(g.iloc[0][column])
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "value_at_start": a,
                     "value_at_end": b, "late_improvement": (a - b) / abs(a) if a else math.nan,
                     "total_improvement": (first - b) / abs(first) if first else math.nan})
    return pd.DataFrame(rows, columns=[*by, "value_at_start", "value_at_end", "late_improvement",
                                       "total_improvement"])


def compute_table(
    table: pd.DataFrame,
    late: pd.DataFrame,
    *,
    key: str | None = None,
    step_table: pd.DataFrame | str | Path | None = None,
    limit: float = LATE_LIMIT,
    by: Sequence[str] = ("dataset", "variant"),
) -> pd.DataFrame:
    """What each method spent and whether it converged, one row per ``by`` group of :func:`sweep_table`'s ``table``:
    ``iterations`` (generator iterations), ``updates`` (gradient steps, generator side + critic side, from
    :meth:`~gpelib.gan.methods.GANMethod.budget`: a GMEGAN iteration is 2, a WGAN-GP one 6, an OTM one 11),
    ``reference_seconds`` (the wall-clock those iterations take on the calibration machine, :data:`STEP_SECONDS` at
    setting ``key``; NaN without ``key``), ``converged`` (runs whose :func:`late_improvement` is ≤ ``limit`` and whose
    ``total_improvement`` is ≥ ``limit``: they learned, then levelled off; as "k/n") and ``late_improvement``
    (median over runs). The seconds each run really took stay in the sweep table (a timing column)."""
    t = table.copy()
    t["updates"] = t["generator_updates"] + t["critic_updates"]
    if key is not None:
        st = _step_table(step_table)[0]
        sec = st[st.key == key].groupby("method").s_per_iter.median()
        t["reference_seconds"] = t.iterations * t.method.map(sec)
    else:
        t["reference_seconds"] = math.nan
    rows = []
    for k, g in t.groupby(list(by), sort=False):
        kd = dict(zip(by, k if isinstance(k, tuple) else (k,)))
        mask = np.logical_and.reduce([late[c] == v for c, v in kd.items()]) if len(late) else np.zeros(0, bool)
        sub = late[mask].dropna(subset=["late_improvement"]) if len(late) else pd.DataFrame(
            columns=["late_improvement"])
        li = sub.late_improvement
        ok = li <= limit
        if "total_improvement" in sub:  # flat only because it never learned is not converged
            ok &= sub.total_improvement.fillna(math.inf) >= limit
        rows.append({**kd, "method": g.method.iloc[0], "iterations": int(g.iterations.median()),
                     "updates": int(g.updates.median()), "reference_seconds": float(g.reference_seconds.median()),
                     "converged": f"{int(ok.sum())}/{len(li)}",
                     "late_improvement": float(li.median()) if len(li) else math.nan})
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


def late_by_run(late: pd.DataFrame, variants: Sequence[str], *, units: Sequence[str] = ("seed",)
                ) -> pd.DataFrame:
    """:func:`late_improvement`'s ``late_improvement`` and ``total_improvement`` of each run of ``variants``, indexed
    by a readable name (``"GMEGAN dcgan s1"``): the form :func:`gpelib.verdicts.converged_or_inconclusive` names the
    unconverged runs with."""
    t = late[late.variant.isin(list(variants))]
    names = t.variant.astype(str)
    for u in units:
        names = names + " " + (("s" + t[u].astype(str)) if u == "seed" else t[u].astype(str))
    cols = [c for c in ("late_improvement", "total_improvement") if c in t]
    return pd.DataFrame(t[cols].to_numpy(), index=pd.Index(names.to_numpy(), name="run"), columns=cols)


def history_table(runs: Iterable[SweepRun]) -> pd.DataFrame:
    """The training histories of ``runs`` in one tidy table (one row per evaluation), each with its ``dataset``."""
    return pd.concat([r.history.assign(dataset=r.dataset) for r in runs], ignore_index=True)


def compute_tables(
    table: pd.DataFrame,
    late: pd.DataFrame,
    *,
    specs: Sequence[MixtureSpec | ImageSpec],
    archs: Sequence[str],
    latent_dim: int,
    batch_size: int,
    by: Sequence[str] = ("dataset", "variant"),
) -> pd.DataFrame:
    """:func:`compute_table` for each (dataset, architecture) of a sweep, concatenated in that order: the runs and
    late improvements of that setting (``late`` filtered on the columns it has), priced at its calibration setting
    (:func:`shape_key` of the architecture, the dataset's shape, ``latent_dim`` and ``batch_size``)."""
    parts = []
    for spec in specs:
        for arch in archs:
            t = table[(table.dataset == spec.name) & (table.arch == arch)]
            lt = late[late.dataset == spec.name]
            if "arch" in lt:
                lt = lt[lt.arch == arch]
            parts.append(compute_table(t, lt, key=shape_key(arch, spec.data_shape(), latent_dim, batch_size), by=by))
    return pd.concat(parts, ignore_index=True)


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
    (``"GMEGAN s1"``, as :func:`late_by_run`): the form :func:`gpelib.verdicts.at_plateau_or_inconclusive` takes."""
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
