"""Tables and counts over trained runs (GPE Tables 1–2, Figs. 4–8): iterations to reach a loss threshold, wall-clock
shifted by the encoder phase, seconds per iteration and their ratios, and the encoders' held-out geometry.

Every function takes runs as a mapping ``name → run`` where a run is a :class:`gpelib.recipes.Run` (anything with
``history``, ``steps``, ``iterations``, ``encoder_seconds``, ``encoder_iterations``, ``info`` …) and returns a tidy
DataFrame. Deciding whether a claim holds from these numbers is :mod:`gpelib.verdicts`' job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch import Tensor

from .geometry import certificate, diagnose_encoder
from .models import encode
from .runs import shift_wallclock

if TYPE_CHECKING:
    from .runs import Run

__all__ = [
    "iterations_to_reach",
    "threshold_table",
    "over_seeds",
    "seed_medians",
    "threshold_grid",
    "threshold_curves",
    "crossover",
    "shift_wallclock",
    "time_to_reach",
    "seconds_per_iteration",
    "timing_table",
    "smoothed_steps",
    "wallclock_frame",
    "iteration_ratios",
    "compare_table1",
    "table1_sides",
    "wallclock_table",
    "wallclock_race",
    "encoder_table",
    "encoder_family_table",
    "certificate_table",
    "over_datasets",
    "with_paper_table2",
    "timing_summary",
    "ratio_sources",
]


def _series(source: pd.DataFrame | Sequence[float] | np.ndarray | Tensor, column: str | None) -> pd.Series:
    """Values indexed by iteration. A DataFrame needs an ``iteration`` column; a plain sequence is iterations 1..n."""
    if isinstance(source, pd.DataFrame):
        if column is None:
            column = "loss" if "loss" in source.columns else "val_loss"
        if column not in source.columns or "iteration" not in source.columns:
            raise KeyError(f"need columns 'iteration' and {column!r}; have {list(source.columns)}")
        df = source[["iteration", column]].dropna()
        return pd.Series(df[column].to_numpy(dtype=float), index=df["iteration"].to_numpy(dtype=int))
    if isinstance(source, Tensor):
        source = source.detach().cpu().numpy()
    v = np.asarray(source, dtype=float).reshape(-1)
    return pd.Series(v, index=np.arange(1, v.size + 1))


def iterations_to_reach(
    source: pd.DataFrame | Sequence[float] | np.ndarray | Tensor,
    threshold: float,
    *,
    column: str | None = None,
    window: int = 10,
) -> int | None:
    """First iteration at which the loss, smoothed by a trailing running mean of ``window`` values, is ≤ ``threshold``;
    ``None`` when that never happens within the run (GPE Table 1 counts).

    **Which loss is thresholded.** The notebooks pass ``Run.steps`` (column ``loss``): the per-iteration
    *training* reconstruction loss of the fresh decoder. The paper counts training iterations, and its first
    threshold is crossed after tens of iterations (19–80 in Table 1), far finer than any affordable validation
    interval; with a frozen encoder and a reconstruction-only objective, the training loss is exactly the
    thresholded quantity. A single minibatch can dip below a level by luck, hence the trailing mean: the count is
    the last iteration of the first *full* window whose mean is ≤ the threshold, so it uses only losses seen up to
    then, and no count is below ``window`` (a partial window at the start — ``min_periods=1`` before issue #18 —
    let one lucky first minibatch decide: ``[0.1, 5, 5, 5, 5]``, threshold 1, window 3 counted 1). A run shorter
    than the window is averaged whole, a mean known at its last iteration only. ``window=1`` is the raw loss.
    The validation loss
    (``column="val_loss"`` on a history, where "iteration" is the evaluation's) is reported beside it.

    Args:
        source: a DataFrame with ``iteration`` and ``column`` (default ``loss`` if present, else ``val_loss``),
            or a plain sequence of per-iteration losses (iteration ``k`` is element ``k − 1``).
        threshold: the loss level.
        window: running-mean length in *rows* of ``source``.
    """
    if window < 1:
        raise ValueError(f"window must be ≥ 1; got {window}")
    s = _series(source, column)
    if s.empty:
        return None
    smooth = s.rolling(window, min_periods=min(window, len(s))).mean()  # full windows (the whole of a shorter run)
    hit = np.flatnonzero(smooth.to_numpy() <= threshold)
    return int(smooth.index[hit[0]]) if hit.size else None


def threshold_table(
    runs: Mapping[str, Run],
    thresholds: Iterable[float],
    *,
    window: int = 10,
) -> pd.DataFrame:
    """Tidy GPE-Table-1 counts: one row per (run, threshold).

    Columns: ``method, threshold, iterations`` (smoothed training reconstruction MSE, :func:`iterations_to_reach`:
    the training loss of a plain decoder, the ``mse`` component of one trained with extra terms; ``<NA>`` when
    never reached), ``iterations_val`` (first evaluation with validation MSE ≤ threshold; resolution
    ``config.eval_every``), ``budget`` (decoder iterations run), ``encoder_iterations``, ``encoder_seconds``, ``eps``
    (the encoder's held-out GME cost, when known).
    """
    rows = []
    for name, r in runs.items():
        for t in thresholds:
            rows.append({
                "method": name,
                "threshold": float(t),
                "iterations": iterations_to_reach(r.steps, t, column="mse" if "mse" in r.steps else "loss",
                                                  window=window),
                "iterations_val": iterations_to_reach(r.history, t, column="val_loss", window=1),
                "budget": r.iterations,
                "encoder_iterations": r.encoder_iterations,
                "encoder_seconds": r.encoder_seconds,
                "eps": r.info.get("eps", math.nan),
            })
    df = pd.DataFrame(rows)
    for c in ("iterations", "iterations_val"):
        df[c] = df[c].astype("Int64")
    return df


def over_seeds(table: Callable[..., pd.DataFrame], runs_by_seed: Mapping[int, Mapping[str, Run]], *args,
               **kwargs) -> pd.DataFrame:
    """``table(runs, *args, **kwargs)`` for each seed's runs, stacked with a ``seed`` column first (tidy)."""
    frames = [table(runs, *args, **kwargs).assign(seed=seed) for seed, runs in runs_by_seed.items()]
    out = pd.concat(frames, ignore_index=True)
    return out[["seed", *[c for c in out.columns if c != "seed"]]]


def _censored_median(values: pd.Series) -> float:
    """Median with missing values (never reached) counted as +∞: NaN unless more than half are observed."""
    v = np.sort(np.where(values.isna().to_numpy(), np.inf, values.astype("Float64").to_numpy(float, na_value=np.inf)))
    med = (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2
    return float(med) if math.isfinite(med) else math.nan


def seed_medians(counts: pd.DataFrame) -> pd.DataFrame:
    """A seeded :func:`threshold_table` (``over_seeds``) reduced to one row per (method, threshold) with the same
    columns: counts are medians with "never" as +∞ (``<NA>`` unless more than half the seeds reached the threshold),
    ``budget`` the largest, the encoder columns and ``eps`` plain medians; plus ``seeds``."""
    rows = []
    for (m, t), g in counts.groupby(["method", "threshold"], sort=False):
        rows.append({"method": m, "threshold": float(t),
                     "iterations": _censored_median(g["iterations"]),
                     "iterations_val": _censored_median(g["iterations_val"]),
                     "budget": int(g["budget"].max()),
                     "encoder_iterations": float(g["encoder_iterations"].median()),
                     "encoder_seconds": float(g["encoder_seconds"].median()),
                     "eps": float(g["eps"].median()), "seeds": len(g)})
    out = pd.DataFrame(rows)
    for c in ("iterations", "iterations_val"):
        out[c] = out[c].round().astype("Int64")
    return out


def threshold_grid(runs: Iterable[Run], *, top: float = 0.1, n: int = 24, window: int = 10) -> np.ndarray:
    """``n`` thresholds, log-spaced from ``top`` down to the lowest smoothed training loss any of ``runs`` reaches
    (trailing mean of ``window``, as :func:`iterations_to_reach` counts), in decreasing order."""
    lowest = min(float(r.steps["loss"].rolling(window, min_periods=1).mean().min()) for r in runs)
    if not math.isfinite(lowest) or lowest <= 0:
        raise ValueError(f"the runs' lowest smoothed loss must be positive and finite; got {lowest}")
    if lowest >= top:
        return np.array([float(top)])
    return np.geomspace(top, lowest * (1 + 1e-9), n)


def threshold_curves(counts: pd.DataFrame) -> pd.DataFrame:
    """Per (method, threshold) of a seeded :func:`threshold_table` (``over_seeds``): ``seeds``, ``reached`` (seeds
    that reached it), ``median`` (a censored seed counts as > budget, so the median is NaN unless more than half
    reached it), ``low``/``high`` (min and max over the seeds that reached it) and ``budget``."""
    rows = []
    for (m, t), g in counts.groupby(["method", "threshold"], sort=False):
        its = g["iterations"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        reached = its[np.isfinite(its)]
        budget = float(g["budget"].max())
        rows.append({"method": m, "threshold": float(t), "seeds": len(its), "reached": int(reached.size),
                     "median": _censored_median(g["iterations"]),
                     "low": float(reached.min()) if reached.size else math.nan,
                     "high": float(reached.max()) if reached.size else math.nan, "budget": budget})
    return pd.DataFrame(rows)


def crossover(curves: pd.DataFrame, a: str, b: str) -> float | None:
    """The largest threshold (scanning down from the top of :func:`threshold_curves`) at which the ordering of
    ``a``'s and ``b``'s median iterations differs from their ordering at the top threshold; ``None`` when it never
    flips. A median not reached within the budget counts as the budget + 1 (slower than any reached)."""
    def med(m: str) -> pd.Series:
        c = curves[curves.method == m].set_index("threshold")
        return c["median"].fillna(c["budget"] + 1)

    ma, mb = med(a), med(b)
    ts = sorted(set(ma.index) & set(mb.index), reverse=True)
    signs = [np.sign(ma[t] - mb[t]) for t in ts]
    ref = next((s for s in signs if s != 0), 0)
    for t, sg in zip(ts, signs):
        if ref != 0 and sg != 0 and sg != ref:
            return float(t)
    return None


def time_to_reach(
    history: pd.DataFrame, level: float, *, column: str = "val_loss", time: str = "seconds"
) -> float | None:
    """Wall-clock (``time`` column) of the first row whose ``column`` is ≤ ``level``; ``None`` if never."""
    h = history.dropna(subset=[column])
    hit = h[h[column] <= level]
    return float(hit[time].iloc[0]) if len(hit) else None


def seconds_per_iteration(steps: pd.DataFrame, *, skip: int = 10) -> float:
    """Typical training seconds per iteration: the median of the per-iteration durations (differences of the
    cumulative ``seconds`` in ``steps`` over consecutive iterations), leaving out the first ``skip`` iterations
    (allocator and kernel warm-up). The median, not the mean, so that a burst of other work on the machine does not
    decide a method's cost (GPE Table 2 compares methods by this number). NaN when no duration remains."""
    if steps is None or len(steps) < 2:
        return math.nan
    skip = min(skip, len(steps) - 2)
    s = steps.iloc[skip:]
    dt = np.diff(s["seconds"].to_numpy(float)) / np.diff(s["iteration"].to_numpy(float))
    dt = dt[np.isfinite(dt)]
    return float(np.median(dt)) if len(dt) else math.nan


def timing_table(runs: Mapping[str, Run], *, reference: str = "vae", skip: int = 10) -> pd.DataFrame:
    """Seconds per iteration per method and phase (GPE Table 2), with ``ratio`` = s/iter ÷ the ``reference``
    method's (joint) s/iter, so that runs on different hardware can be compared by ratios.

    Rows: ``GPE encoder``, ``GPE decoder`` and one per joint method. Columns: ``method, phase, s_per_iter,
    iterations, ratio``.
    """
    rows = []
    for key, r in runs.items():
        if r.encoder_steps is not None:
            rows.append({"method": f"{r.label} encoder", "key": key, "phase": "encoder",
                         "s_per_iter": seconds_per_iteration(r.encoder_steps, skip=skip),
                         "iterations": r.encoder_iterations})
        name = f"{r.label} decoder" if r.history["phase"].iloc[0] == "decoder" else r.label
        rows.append({"method": name, "key": key, "phase": r.history["phase"].iloc[0],
                     "s_per_iter": seconds_per_iteration(r.steps, skip=skip), "iterations": r.iterations})
    df = pd.DataFrame(rows)
    ref = df[(df.key == reference) & (df.phase == "joint")]
    base = float(ref.s_per_iter.iloc[0]) if len(ref) else math.nan
    df["ratio"] = df["s_per_iter"] / base
    return df.drop(columns="key")


def smoothed_steps(runs: Mapping[str, Run], *, window: int = 10, every: int = 1,
                   column: str = "loss") -> pd.DataFrame:
    """Tidy per-iteration training loss of each run with its trailing running mean (``loss_smooth``), every
    ``every``-th iteration kept (for plotting). Columns: ``method, iteration, seconds, loss, loss_smooth``."""
    frames = []
    for name, r in runs.items():
        s = r.steps[["iteration", "seconds", column]].rename(columns={column: "loss"})
        s = s.assign(loss_smooth=s["loss"].rolling(window, min_periods=1).mean(), method=name)
        frames.append(s[(s.iteration % every == 0) | (s.iteration == 1)])
    return pd.concat(frames, ignore_index=True)[["method", "iteration", "seconds", "loss", "loss_smooth"]]


def wallclock_frame(runs: Mapping[str, Run]) -> pd.DataFrame:
    """Validation reconstruction vs wall-clock of every run, GPE's decoder shifted by its encoder time (Fig. 8).

    Columns: the history columns plus ``offset``; ``method`` is the dict key.
    """
    return pd.concat([r.wallclock().assign(method=k) for k, r in runs.items()], ignore_index=True)


def iteration_ratios(table: pd.DataFrame, *, numerator: str, denominator: str) -> pd.DataFrame:
    """Per threshold of a :func:`threshold_table`: ``numerator``'s iterations ÷ ``denominator``'s.

    Columns: ``threshold, numerator, denominator, iterations_num, iterations_den, ratio`` (NaN unless both
    reached) and ``ratio_lower_bound`` (numerator's budget ÷ denominator's iterations when only the denominator
    reached it: the true ratio is larger).
    """
    t = table.set_index(["method", "threshold"])
    rows = []
    for thr in table["threshold"].unique():
        a, b = t.loc[(numerator, thr)], t.loc[(denominator, thr)]
        na, nb = a["iterations"], b["iterations"]
        na = None if pd.isna(na) else int(na)
        nb = None if pd.isna(nb) else int(nb)
        ratio = na / nb if na is not None and nb is not None else math.nan
        lower = a["budget"] / nb if na is None and nb is not None else math.nan
        rows.append({"threshold": float(thr), "numerator": numerator, "denominator": denominator,
                     "iterations_num": na, "iterations_den": nb, "ratio": ratio, "ratio_lower_bound": lower})
    out = pd.DataFrame(rows)
    for c in ("iterations_num", "iterations_den"):
        out[c] = out[c].astype("Int64")
    return out


def compare_table1(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Our fresh-decoder counts beside the paper's Table 1, one row per method, aligned by position (VAE first,
    then the GPE encoders from the loosest ε to the tightest, as the paper lists them).

    ``ours``: a :func:`threshold_table` for one dataset with exactly two thresholds, VAE first (then any control
    rows, e.g. :data:`gpelib.recipes.AE_CONTROL`); ``paper``: :func:`paper_table1` for the matching dataset. Missing
    counterparts (the paper has no AE) are left empty.
    """
    thr = sorted(ours["threshold"].unique(), reverse=True)
    if len(thr) != 2:
        raise ValueError(f"Table 1 has two thresholds per dataset; got {thr}")
    methods = list(dict.fromkeys(ours["method"]))
    vae = [m for m in methods if not m.startswith("GPE")]
    gpe = sorted((m for m in methods if m.startswith("GPE")),
                 key=lambda m: -float(ours.loc[ours.method == m, "eps"].iloc[0]))
    p_vae = paper[~paper.method.str.startswith("GPE")]
    p_gpe = paper[paper.method.str.startswith("GPE")].sort_values("eps", ascending=False)
    # counterparts by position within each family: VAE-like rows (the VAE, then controls such as the AE, which the
    # paper does not have) against the paper's VAE rows, GPE rows against its GPE rows
    p_rows = list(p_vae.itertuples(index=False))[: len(vae)]
    p_rows += [None] * (len(vae) - len(p_rows)) + list(p_gpe.itertuples(index=False))
    t = ours.set_index(["method", "threshold"])
    rows = []
    for i, m in enumerate(vae + gpe):
        first = t.loc[(m, thr[0])]
        row = {"method": m, "eps": first["eps"], "encoder_iterations": int(first["encoder_iterations"]),
               f"iterations ≤ {thr[0]:g}": t.loc[(m, thr[0]), "iterations"],
               f"iterations ≤ {thr[1]:g}": t.loc[(m, thr[1]), "iterations"],
               "decoder budget": int(first["budget"])}
        p = p_rows[i] if i < len(p_rows) else None
        if p is not None:
            row |= {"paper method": p.method, "paper eps": p.eps, "paper encoder_iterations": p.encoder_iterations,
                    f"paper ≤ {p.threshold_1:g}": p.iterations_threshold_1,
                    f"paper ≤ {p.threshold_2:g}": p.iterations_threshold_2}
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c.startswith(("iterations ≤", "paper ≤", "paper encoder")):
            df[c] = df[c].astype("Int64")
    return df


def table1_sides(counts: pd.DataFrame, datasets: Mapping[str, Mapping[str, Any]], paper_values: pd.DataFrame
                 ) -> pd.DataFrame:
    """:func:`compare_table1` for every dataset of ``datasets`` (name → settings with the ``paper`` dataset's name):
    the :func:`seed_medians` of that dataset's ``counts`` beside the paper's Table 1, stacked with a ``dataset``
    column."""
    from .papers import paper_table1

    return pd.concat([compare_table1(seed_medians(counts[counts.dataset == name]),
                                     paper_table1(paper_values, D["paper"])).assign(dataset=name)
                      for name, D in datasets.items()], ignore_index=True)


def wallclock_table(runs: Mapping[str, Run], levels: Iterable[float]) -> pd.DataFrame:
    """For each run and validation-loss level: the wall-clock seconds (GPE: encoder time included, the shifted
    curve of Fig. 8) and the iteration at which the held-out reconstruction first fell to the level (``NaN`` /
    ``<NA>`` when never). Columns: ``method, level, seconds, iteration, offset, final_val, total_seconds``."""
    rows = []
    for name, r in runs.items():
        w = r.wallclock()
        for lv in levels:
            hit = w[w["val_loss"] <= lv]
            rows.append({"method": name, "level": float(lv),
                         "seconds": float(hit["seconds"].iloc[0]) if len(hit) else math.nan,
                         "iteration": int(hit["iteration"].iloc[0]) if len(hit) else None,
                         "offset": r.encoder_seconds, "final_val": r.final_val, "total_seconds": r.total_seconds})
    df = pd.DataFrame(rows)
    df["iteration"] = df["iteration"].astype("Int64")
    return df


def wallclock_race(runs: Mapping[str, Run], *, reference: str = "GPE") -> pd.DataFrame:
    """``reference`` (encoder time included) against each other run on *that run's own* final held-out loss:
    the wall-clock at which each first reaches it and ``speedup`` = other's time ÷ reference's time (NaN when the
    reference never gets there). Columns: ``method, level, seconds_method, seconds_reference, speedup``."""
    ref = runs[reference].wallclock()
    rows = []
    for name, r in runs.items():
        if name == reference:
            continue
        level = r.final_val
        t_m = time_to_reach(r.wallclock(), level)
        t_r = time_to_reach(ref, level)
        rows.append({"method": name, "level": level, "seconds_method": t_m,
                     "seconds_reference": math.nan if t_r is None else t_r,
                     "speedup": (t_m / t_r) if (t_r and t_m is not None) else math.nan})
    return pd.DataFrame(rows)


def encoder_table(
    runs: Mapping[str, Run], x_eval: Tensor, *, data_scale: float = 1.0, max_pairs: int = 50000
) -> pd.DataFrame:
    """Held-out geometry of each run's encoder (:func:`gpelib.geometry.diagnose_encoder` on ``x_eval``: GME cost,
    distance correlations, ratio quantiles, bi-Lipschitz ``spread`` = q95/q05) next to the ε it was stopped at and
    its training cost (for a jointly trained encoder, the joint phase's). Columns: ``method, eps_target, eps,
    encoder_iterations, encoder_seconds, <diagnostics>``."""
    rows = []
    for name, r in runs.items():
        d = diagnose_encoder(r.encoder, x_eval, data_scale=data_scale, max_pairs=max_pairs)
        rows.append({"method": name, "eps_target": r.info.get("eps_target"), "eps": r.info.get("eps", math.nan),
                     "encoder_iterations": r.encoder_iterations or r.iterations,
                     "encoder_seconds": r.encoder_seconds or r.seconds, **d.as_dict()})
    return pd.DataFrame(rows)


def encoder_family_table(
    runs_by_seed: Mapping[int, Mapping[str, Run]],
    x_eval: Tensor,
    thresholds: Iterable[float],
    *,
    window: int = 10,
    data_scale: float = 1.0,
    max_pairs: int = 20000,
) -> pd.DataFrame:
    """Encoders as a family (GPE Theorems 4–5: a bi-Lipschitz encoder conditions the fresh decoder's problem): per
    seed and encoder, its held-out geometry (:func:`encoder_table` on ``x_eval``) beside its fresh decoder's
    iterations to each threshold (:func:`threshold_table`). Columns: ``seed, method, threshold, iterations`` (``<NA>``:
    never), ``budget``, ``gme`` (held-out GME cost, GPE eq. 14), ``spread`` (q95/q05 of ``‖Tx−Tx'‖/‖x−x'‖``: 1 for a
    scaled isometry), ``ratio_q05``, ``ratio_q95``, ``spearman`` (rank correlation of pair distances)."""
    geometry = ["method", "gme", "spread", "ratio_q05", "ratio_q95", "spearman"]
    frames = []
    for seed, runs in runs_by_seed.items():
        geo = encoder_table(runs, x_eval, data_scale=data_scale, max_pairs=max_pairs)[geometry]
        counts = threshold_table(runs, thresholds, window=window)[["method", "threshold", "iterations", "budget"]]
        frames.append(counts.merge(geo, on="method", validate="many_to_one").assign(seed=seed))
    out = pd.concat(frames, ignore_index=True)
    return out[["seed", *[c for c in out.columns if c != "seed"]]]


def certificate_table(
    runs: Mapping[str, Run],
    splits: Mapping[str, Tensor],
    *,
    alphas: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    data_scale: float = 1.0,
) -> pd.DataFrame:
    """Theorem-1 certificate per encoder and data split: empirical ``µ²[K_α]`` vs ``1 − ε/(log α)²`` where ε is
    the GME cost measured on that split (GMEGAN Theorem 1)."""
    frames = []
    for name, r in runs.items():
        for split, x in splits.items():
            z = encode(r.encoder, x)
            frames.append(certificate(x, z, alphas=alphas, data_scale=data_scale).assign(method=name, split=split))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------------------------
# the protocol map (GPE issue 11, item 4)
# ----------------------------------------------------------------------------------------------------------------


def protocol_map_table(variants: Mapping[str, Mapping[int, Mapping[str, Run | None]]], thresholds: Iterable[float],
                       *, budget: int, window: int = 10, factors: Mapping[str, str] | None = None,
                       threshold_scale: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The VAE/GPE fresh-decoder iteration ratio of each variant (``variants[name][seed] = {"VAE": run, "GPE":
    run}``, from :func:`gpelib.protocol_map.protocol_map_runs`) at each threshold: the median over seeds and its
    interval (:func:`gpelib.verdicts.ratio_summary`; a run that never reached a threshold within ``budget`` iterations
    is censored there). Columns: ``variant, factor, threshold, ratio, lower_bound, upper_bound, low, high, seeds,
    coverage, text`` (:func:`gpelib.verdicts.format_ratio`)``, vae_iterations, gpe_iterations`` (per-seed counts).
    A variant in ``threshold_scale`` is counted at each threshold × its factor (its row keeps the threshold)."""
    from .verdicts import censor, format_ratio, ratio_summary, value_text

    rows = []
    thresholds = list(thresholds)
    for name, by_seed in variants.items():
        scale = (threshold_scale or {}).get(name, 1.0)
        for t in thresholds:
            counts = {}
            for role in ("VAE", "GPE"):
                vals = []
                for s in sorted(by_seed):
                    r = by_seed[s][role]
                    vals.append(None if r is None else iterations_to_reach(
                        r.steps, t * scale, column="mse" if "mse" in r.steps else "loss", window=window))
                counts[role] = censor(vals, budget)
            r = ratio_summary(counts["VAE"], counts["GPE"])
            rows.append({"variant": name, "factor": (factors or {}).get(name, ""), "threshold": float(t), **vars(r),
                         "text": format_ratio(r), "vae_iterations": ", ".join(map(value_text, counts["VAE"])),
                         "gpe_iterations": ", ".join(map(value_text, counts["GPE"]))})
    return pd.DataFrame(rows)


def _side(low: float, high: float) -> str:
    return "GPE faster" if low > 1 else "VAE faster" if high < 1 else "undecided"


def protocol_effects(table: pd.DataFrame, *, baseline: str = "as printed", fold: float = 2.0) -> pd.DataFrame:
    """Each variant of a :func:`protocol_map_table` against ``baseline`` at the same threshold: ``side`` (the
    ratio's interval entirely above 1: "GPE faster", below: "VAE faster", else "undecided"), ``change`` (variant
    ratio ÷ baseline ratio, medians; NaN when censoring hides either), ``flips`` (the decided side differs from the
    baseline's decided side), ``moves`` (the ratio changes by more than ``fold``× either way — for a censored ratio,
    its bound already does — or flips) and ``change_text`` (``×k``, or ``× ≥ k`` / ``× ≤ k`` from a bound)."""
    base = table[table.variant == baseline].set_index("threshold")
    rows = []
    for _, r in table.iterrows():
        b = base.loc[r.threshold]
        side, bside = _side(r.low, r.high), _side(b.low, b.high)
        change = r.ratio / b.ratio if (r.ratio == r.ratio and b.ratio == b.ratio) else math.nan
        lo, hi = (r.lower_bound / b.ratio, r.upper_bound / b.ratio) if b.ratio == b.ratio else (math.nan, math.nan)
        bound = "" if change == change else f"× ≥ {lo:.3g}" if lo > fold else f"× ≤ {hi:.3g}" if hi < 1 / fold else ""
        flips = "undecided" not in (side, bside) and side != bside
        rows.append({"variant": r.variant, "factor": r.factor, "threshold": r.threshold, "ratio": r.ratio,
                     "text": r.text, "side": side, "baseline_side": bside, "change": change, "flips": flips,
                     "moves": bool(flips or bound or (change == change and max(change, 1 / change) > fold)),
                     "change_text": f"×{change:.3g}" if change == change else bound})
    return pd.DataFrame(rows)


def protocol_conclusion(effects: pd.DataFrame, *, baseline: str = "as printed") -> str:
    """One sentence per threshold from :func:`protocol_effects`: the baseline's side and ratio, then which factors
    flip the ordering, which move the ratio by more than the fold, and which leave it within it."""
    out = []
    for t, g in effects.groupby("threshold", sort=False):
        b = g[g.variant == baseline].iloc[0]
        rest = g[g.variant != baseline]
        flip = [f"{r.variant} ({r.side}, {r.text})" for r in rest.itertuples() if r.flips]
        move = [f"{r.variant} ({r.change_text})" for r in rest.itertuples() if r.moves and not r.flips]
        stay = [r.variant for r in rest.itertuples() if not r.moves]
        unk = [r.variant for r in rest.itertuples() if not r.moves and r.change != r.change]
        stay = [v for v in stay if v not in unk]
        parts = [f"At loss {t:g} the paper's setting gives VAE/GPE = {b.text} ({b.side})"]
        parts.append("the ordering flips with " + ", ".join(flip) if flip else "no single factor flips the ordering")
        if move:
            parts.append("the ratio moves by more than 2× with " + ", ".join(move))
        if stay:
            parts.append("it stays within 2× with " + ", ".join(stay))
        if unk:
            parts.append("censoring leaves " + ", ".join(unk) + " open")
        out.append("; ".join(parts) + ".")
    return " ".join(out)


# ----------------------------------------------------------------------------------------------------------------
# notebook 05's tables: stacked over data sets and seeds, Table 2 beside the paper's
# ----------------------------------------------------------------------------------------------------------------


def over_datasets(table: Callable[..., pd.DataFrame], results: Mapping[str, Mapping[int, Mapping[str, Run]]], *args,
                  **kwargs) -> pd.DataFrame:
    """``table(runs, *args, **kwargs)`` for every seed's runs of every data set (``results[dataset][seed]``), in
    that order, stacked with ``dataset`` and ``seed`` columns last (tidy; index 0..n−1)."""
    return pd.concat([table(runs, *args, **kwargs).assign(dataset=name, seed=s)
                      for name, by_seed in results.items() for s, runs in by_seed.items()], ignore_index=True)


def with_paper_table2(timing: pd.DataFrame, paper_values: pd.DataFrame, *, dataset: str,
                      paper_dataset: str) -> pd.DataFrame:
    """A step-time table (``method`` and our ``s_per_iter`` per round) with the paper's Table 2 beside it: columns
    ``dataset``, ``paper_dataset``, ``paper_s_per_iter`` (the paper's seconds per iteration of the same method, one
    V100) and ``paper_ratio`` (that ÷ the paper's VAE)."""
    p = paper_values[(paper_values.table == "Table 2") & (paper_values.dataset == paper_dataset)
                     & (paper_values.quantity == "seconds_per_iteration")].set_index("method")["value"]
    return timing.assign(dataset=dataset, paper_dataset=paper_dataset, paper_s_per_iter=timing.method.map(p),
                         paper_ratio=timing.method.map(p) / p["VAE"])


def timing_summary(timing: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, method) of a :func:`with_paper_table2` table over rounds: the median ``ratio`` to the VAE's step
    and its range (``ratio_min``, ``ratio_max``), the median milliseconds per iteration and the paper's ratio."""
    summary = timing.groupby(["dataset", "method"]).agg(
        ratio=("ratio", "median"), ratio_min=("ratio", "min"), ratio_max=("ratio", "max"),
        ms_per_iter=("s_per_iter", "median"), paper_ratio=("paper_ratio", "first")).reset_index()
    summary["ms_per_iter"] *= 1e3
    return summary


def ratio_sources(timing: pd.DataFrame) -> pd.DataFrame:
    """A :func:`with_paper_table2` table long by source, for bars of ours against the paper's: columns ``dataset,
    method, ratio, source`` (``ours``: one row per round; ``paper``: the paper's ratio, repeated per round)."""
    cols = ["dataset", "method", "ratio", "source"]
    return pd.concat([timing.assign(source="ours")[cols],
                      timing.assign(source="paper", ratio=timing.paper_ratio)[cols]])
