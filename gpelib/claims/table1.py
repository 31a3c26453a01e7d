"""Notebook 04's claims: GPE Table 1 (fresh decoders on frozen encoders, GPE §8.3, Figs. 5–7), the β sweep and
the protocol map's conclusion.

Inputs are the notebook's result tables — ``04_iterations_to_threshold.csv`` (``counts``),
``04_beta_sweep_counts.csv`` (``sweep_counts``), the ``04_threshold_curves_<dataset>.csv`` tables stacked
(``curves``) and ``04_protocol_map.csv`` — and the profile's settings (:func:`gpelib.profiles.preset` ``("04", …)``).
Per-seed iteration counts are compared seed by seed; a count that never reached its threshold within the decoder
budget is censored there (:func:`gpelib.verdicts.censor`).

Ids (the same in every profile): ``gpe.table1.<paper dataset>.<eps1|eps2>.loss_<paper threshold>`` for Table 1's
cells (``eps1``/``eps2``: the first/second ε of the profile's list; the threshold is the paper's value for the
dataset's first/second threshold, whatever the profile's own), ``gpe.table1.<paper dataset>.gap_widens`` and
``gpe.table1.beta_sweep.<paper dataset>.loss_<paper threshold>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .. import papers, tables
from ..recipes import AE_CONTROL, eps_label
from ..verdicts import (
    INCONCLUSIVE,
    Claim,
    Decision,
    Ratio,
    above,
    censor,
    format_ratio,
    greater,
    grows,
    ratio_summary,
    sooner,
    value_text,
)

__all__ = ["decide", "crossing", "conclusion", "units_conclusion", "table1_id", "largest_stable_lr", "GEOMETRY"]

VAE = "VAE"  # the method name of the β-VAE (β = the preset's ``beta``) in the counts tables
LR_SWEEP_GPE = "GPE"  # the GPE fresh decoder's name in the lr sweep (protocol_map.protocol_map_runs)
OUR_UNIT = "[-1, 1]"  # the pixel range of our images (gpelib.data); Table 1's printed thresholds applied as they are
OTHER_UNIT = "[0, 1]"  # the other reading of Table 1 (issue 29): thresholds × 4 on our images
UNIT_SUFFIX = {OTHER_UNIT: ".pixels01"}  # the id suffix of a Table-1 row read in that unit


def _slug(paper_dataset: str) -> str:
    """The paper's dataset name as an id segment: ``MNIST`` → ``mnist``, ``CelebA-HQ`` → ``celeba-hq``."""
    return re.sub(r"[^a-z0-9_\-]", "-", paper_dataset.lower())


def table1_id(paper_dataset: str, eps_role: int, paper_threshold: float) -> str:
    """``gpe.table1.mnist.eps2.loss_0.1``: Table 1's cell for the ``eps_role``-th ε (1-based, the profile's list
    order) at the paper's threshold ``paper_threshold``."""
    return f"gpe.table1.{_slug(paper_dataset)}.eps{eps_role}.loss_{paper_threshold:g}"


def crossing(curves: pd.DataFrame, eps: Sequence[float]) -> float | None:
    """The largest threshold at which the VAE's and the tightest GPE encoder's median counts swap order
    (:func:`gpelib.tables.crossover` on one dataset's :func:`gpelib.tables.threshold_curves`); ``None``: never."""
    return tables.crossover(curves, VAE, eps_label(min(eps)))


def _paired(counts: pd.DataFrame, a: str, b: str, threshold: float, budget: int) -> tuple[list, list]:
    """Methods ``a`` and ``b``'s per-seed counts at one threshold on the seeds both have (seed order): Table 1's own
    runs may have more seeds than a control's. Never reached: censored at ``budget``."""
    at = counts[np.isclose(counts.threshold, threshold)]
    its = {m: at[at.method == m].set_index("seed").iterations for m in (a, b)}
    seeds = sorted(set(its[a].index) & set(its[b].index))
    return censor(its[a].loc[seeds].tolist(), budget), censor(its[b].loc[seeds].tolist(), budget)


def _unit_text(unit: str, t_printed: float) -> str:
    """Nothing in our own pixel unit; else which printed threshold this converted one is."""
    return "" if unit == OUR_UNIT else f" (the paper's {t_printed:g} read in {unit} pixel units)"


def _table1_rows(counts: pd.DataFrame, name: str, D: Mapping[str, Any], p: pd.DataFrame, *, beta: float,
                 budget: int, profile: str, unit: str = OUR_UNIT) -> list[Claim]:
    """One dataset's Table-1 cells: "GPE at ε reaches loss t in fewer fresh-decoder iterations than the VAE"
    (:func:`gpelib.verdicts.sooner`, paired by seed), one row per (ε, threshold), loosest ε first. The paper's GPE
    entries are matched by rank of ε (the last one again when the profile has more ε than the paper). With ``unit``
    other than our own the thresholds are the printed ones converted (:func:`gpelib.papers.in_our_units`), the rows
    are kind ``check`` and their ids end in :data:`UNIT_SUFFIX`."""
    p_vae, p_gpe = p.iloc[0], p[p.method.str.startswith("GPE")].sort_values("eps", ascending=False)
    rows = []
    for k, e in enumerate(sorted(D["eps"], reverse=True)):
        g, pg = eps_label(e), p_gpe.iloc[min(k, len(p_gpe) - 1)]
        for j, t0 in enumerate(D["thresholds"], start=1):
            t = papers.in_our_units(t0, unit)
            pv, pgv = p_vae[f"iterations_threshold_{j}"], pg[f"iterations_threshold_{j}"]
            vae, gpe = _paired(counts, VAE, g, t, budget)
            rows.append(Claim.from_decision(
                f"{name}: {g} reaches loss {t:g}{_unit_text(unit, t0)} in fewer fresh-decoder iterations than "
                f"VAE (β={beta:g})",
                f"{D['paper']} ({pg.method}, loss {p_vae[f'threshold_{j}']:g}): VAE {pv:,.0f} vs GPE {pgv:,.0f} "
                f"({pv / pgv:.3g}×)",
                "VAE/GPE per seed: " + ", ".join(f"{value_text(a)}/{value_text(b)}" for a, b in zip(vae, gpe))
                + f" (budget {budget:,})",
                sooner(gpe, vae), id=table1_id(D["paper"], list(D["eps"]).index(e) + 1, p_vae[f"threshold_{j}"])
                + UNIT_SUFFIX.get(unit, ""), kind="paper" if unit == OUR_UNIT else "check", profile=profile))
    return rows


def _gap_row(counts: pd.DataFrame, curves: pd.DataFrame | None, name: str, D: Mapping[str, Any], p: pd.DataFrame,
             *, budget: int, profile: str, unit: str = OUR_UNIT) -> Claim:
    """"The VAE/GPE gap widens at the lower threshold" (GPE §8.3) for the tightest ε: the VAE/GPE ratio (median over
    seeds of the per-seed ratio, with its interval) grows from the first threshold to the second
    (:func:`gpelib.verdicts.grows`); ``ours`` also names where the median curves cross (:func:`crossing`; no
    ``curves``: not named). ``unit``: as :func:`_table1_rows`."""
    p_vae, p_gpe = p.iloc[0], p[p.method.str.startswith("GPE")].sort_values("eps", ascending=False)
    g = eps_label(min(D["eps"]))
    ts = [papers.in_our_units(t, unit) for t in D["thresholds"]]
    r = [ratio_summary(*_paired(counts, VAE, g, t, budget)) for t in ts]
    pr = [p_vae[f"iterations_threshold_{j}"] / p_gpe.iloc[-1][f"iterations_threshold_{j}"] for j in (1, 2)]
    cross = None if curves is None else crossing(curves, D["eps"])
    read = "" if unit == OUR_UNIT else f", thresholds read in {unit} pixel units"
    return Claim.from_decision(
        f"{name}: the VAE/GPE gap widens at the lower threshold ({g}){read}",
        f"{D['paper']}: {pr[0]:.3g}× at {p_vae.threshold_1:g} → {pr[1]:.3g}× at {p_vae.threshold_2:g}",
        " → ".join(f"{format_ratio(x)} at {t:g}" for x, t in zip(r, ts))
        + ("" if curves is None else f"; medians cross at threshold {cross:.3g}" if cross is not None
           else "; medians never cross"),
        grows(r), id=f"gpe.table1.{_slug(D['paper'])}.gap_widens{UNIT_SUFFIX.get(unit, '')}",
        kind="paper" if unit == OUR_UNIT else "check", profile=profile)


def _sweep_rows(sweep_counts: pd.DataFrame, name: str, D: Mapping[str, Any], p: pd.DataFrame, *,
                betas: Sequence[float], budget: int, profile: str) -> list[Claim]:
    """Our β sweep (not in the paper: β was lost from its text): at each threshold, the VAE/GPE ratio (tightest ε,
    per seed) grows with β (:func:`gpelib.verdicts.grows` over the β values in increasing order).

    A step between two β whose VAEs both never reach the threshold within ``budget`` on any seed (two ratios known only
    from below, ``> a×`` then ``> b×``) carries no order and is left out (:func:`_ordered_betas`), named in the note:
    otherwise one more β beyond the budget would make the row undecidable, however clear the steps before it."""
    gpe_ref = eps_label(min(D["eps"]))
    swept = sorted(float(b) for b in sweep_counts["beta"].unique())
    if swept != sorted(float(b) for b in betas):  # the labels below come from the table: they must be these
        raise ValueError(f"{name}: the β-sweep counts hold β = {swept}, the settings name {sorted(betas)}; rerun the "
                         "notebook with the settings that made the table")
    rows = []
    for j, t in enumerate(D["thresholds"], start=1):  # where no VAE reaches a threshold, the row cannot decide
        r = [ratio_summary(*_paired(g, VAE, gpe_ref, t, budget))
             for _, g in sweep_counts.sort_values("beta").groupby("beta")]
        keep = _ordered_betas(r)
        dropped = [b for k, b in enumerate(swept) if k not in keep]
        note = (f"β = {', '.join(f'{b:g}' for b in dropped)} left out: like the β before, its VAE never reaches loss "
                f"{t:g} within {budget:,} iterations on any seed, so the two ratios are only lower bounds and carry "
                "no order" if dropped else "")
        rows.append(Claim.from_decision(
            f"{name}: the GPE advantage at loss {t:g} grows with β (β=0: a VAE ≈ an AE)",
            "not in the paper (β not printed); SPEC §1 asks for the sweep",
            "; ".join(f"β={b:g}: {format_ratio(x)}" for b, x in zip(swept, r)),
            grows([r[k] for k in keep]) if len(keep) >= 2
            else Decision(INCONCLUSIVE, "fewer than two ordered β", min(x.seeds for x in r)),
            id=f"gpe.table1.beta_sweep.{_slug(D['paper'])}.loss_{p.iloc[0][f'threshold_{j}']:g}", kind="check",
            profile=profile, note=note))
    return rows


def _ordered_betas(ratios: Sequence[Ratio]) -> list[int]:
    """The indices of ``ratios`` (β in increasing order) that the trend is decided on: each one, except a ratio known
    only from below (``upper_bound`` = ∞: the VAE never reached the threshold) that follows another such ratio — the
    step between two lower bounds has no order. A ratio with no bound at all (``n/a``) is kept: the trend stays open."""
    below = [math.isinf(x.upper_bound) and x.lower_bound > 0 for x in ratios]
    return [k for k in range(len(ratios)) if not (k > 0 and below[k] and below[k - 1])]


def _ae_control_rows(counts: pd.DataFrame, name: str, D: Mapping[str, Any], p: pd.DataFrame, *, budget: int,
                     profile: str) -> list[Claim]:
    """Table 1's control (issue 29): the tightest GPE encoder against an AE's (:data:`~gpelib.recipes.AE_CONTROL`, the
    β-sweep's β = 0 entry) under the same fresh-decoder protocol, per threshold — :func:`gpelib.verdicts.sooner`,
    paired by seed. Not a claim of the paper: it asks whether GPE's advantage is geometry or merely "no KL"."""
    g, p_vae = eps_label(min(D["eps"])), p.iloc[0]
    if AE_CONTROL not in set(counts.method):
        raise ValueError(f"{name}: the counts hold no {AE_CONTROL!r} runs (the β sweep needs β = 0 for the control)")
    rows = []
    for j, t in enumerate(D["thresholds"], start=1):
        ae, gpe = _paired(counts, AE_CONTROL, g, t, budget)
        rows.append(Claim.from_decision(
            f"{name}: {g} reaches loss {t:g} in fewer fresh-decoder iterations than an AE's encoder (control)",
            "not in the paper: the VAE with β = 0 under Table 1's protocol",
            "AE/GPE per seed: " + ", ".join(f"{value_text(a)}/{value_text(b)}" for a, b in zip(ae, gpe))
            + f" (budget {budget:,})",
            sooner(gpe, ae), id=f"gpe.table1.{_slug(D['paper'])}.ae_control.loss_{p_vae[f'threshold_{j}']:g}",
            kind="check", profile=profile))
    return rows


#: The encoder geometry each mechanism row ranks by (columns of :func:`gpelib.tables.encoder_family_table`).
GEOMETRY = {"spread": "bi-Lipschitz spread q95/q05 of ‖Tx−Tx'‖/‖x−x'‖", "gme": "GME cost"}


def _spearman_per_seed(family: pd.DataFrame, geometry: str, threshold: float, budget: int) -> list[float]:
    """Per seed, Spearman's ρ over the encoders between held-out ``geometry`` and fresh-decoder iterations to
    ``threshold`` (never reached: ranked last, tied, as ``budget + 1``); NaN where every count ties."""
    out = []
    for _, g in family[np.isclose(family.threshold, threshold)].groupby("seed", sort=True):
        its = pd.to_numeric(g.iterations, errors="coerce").astype(float).fillna(budget + 1).to_numpy()
        rho = spearmanr(g[geometry].to_numpy(float), its).statistic if len(set(its)) > 1 else np.nan
        out.append(float(rho))
    return out


def _mechanism_rows(family: pd.DataFrame, name: str, D: Mapping[str, Any], p: pd.DataFrame, *, budget: int,
                    profile: str) -> list[Claim]:
    """"Decoder speed follows encoder geometry" (GPE Theorems 4–5, issue 29), at the first threshold: per seed,
    Spearman's ρ over the whole encoder family (GPE at each ε, the VAE at each β, the AE) between each encoder's
    held-out geometry (:data:`GEOMETRY`: spread, GME cost) and its fresh decoder's iterations — holds when ρ > 0 over
    seeds (:func:`gpelib.verdicts.above`, median and order-statistics interval), fails when ρ ≤ 0."""
    t, t_paper = D["thresholds"][0], p.iloc[0]["threshold_1"]
    f = family[np.isclose(family.threshold, t)].assign(
        its=lambda d: pd.to_numeric(d.iterations, errors="coerce").astype(float).fillna(np.inf))
    med = f.groupby("method", sort=False).agg(spread=("spread", "median"), gme=("gme", "median"),
                                              its=("its", "median"))
    rows = []
    for col, what in GEOMETRY.items():
        rho = _spearman_per_seed(family, col, t, budget)
        listing = ", ".join(f"{m} {r[col]:.3g} → {'never' if np.isinf(r.its) else f'{r.its:,.0f}'}"
                            for m, r in med.sort_values(col).iterrows())
        rows.append(Claim.from_decision(
            f"{name}: fresh-decoder iterations to loss {t:g} rise with the encoder's held-out {what} "
            f"(Spearman ρ over {len(med)} encoders > 0)",
            "GPE Theorems 4–5: a bi-Lipschitz encoder conditions the decoder's problem (a mechanism, not a number)",
            f"ρ per seed {', '.join(f'{r:.2f}' for r in rho)}; medians over seeds, {col} → iterations: {listing}",
            above(rho, 0.0) if not np.isnan(rho).any() else Decision(
                INCONCLUSIVE, f"ρ undefined on {int(np.isnan(rho).sum())} of {len(rho)} seeds: every count ties "
                f"(no decoder reached {t:g} within {budget:,})", len(rho)),
            id=f"gpe.mechanism.{_slug(D['paper'])}.speed_follows_{col}.loss_{t_paper:g}",
            kind="check", profile=profile))
    return rows


def largest_stable_lr(lr_sweep: pd.DataFrame, method: str) -> dict[int, float]:
    """Per seed, the largest learning rate at which ``method``'s fresh decoder was stable in the lr sweep
    (``04_protocol_lr_sweep``: ``method, lr, seed, stable``); 0 where none was."""
    g = lr_sweep[lr_sweep.method == method]
    return {int(s): float(r.lr[r.stable.astype(bool)].max()) if r.stable.astype(bool).any() else 0.0
            for s, r in g.groupby("seed", sort=True)}


def _step_size_row(lr_sweep: pd.DataFrame, name: str, D: Mapping[str, Any], *, vae: str, gpe: str,
                   profile: str) -> Claim:
    """§8.4 "GPE tolerates larger step sizes": per seed, the index in the sweep's lr grid of the largest lr at which
    the GPE fresh decoder is stable, against the VAE's (−1: none), :func:`gpelib.verdicts.greater` paired by seed."""
    grid = sorted(set(lr_sweep.lr.astype(float)))
    lr_g, lr_v = largest_stable_lr(lr_sweep, gpe), largest_stable_lr(lr_sweep, vae)
    seeds = sorted(set(lr_g) & set(lr_v))
    rank = lambda lr: grid.index(lr) if lr in grid else -1  # noqa: E731
    return Claim.from_decision(
        f"{name}: the GPE fresh decoder stays stable at larger learning rates than the VAE's",
        "§8.4: GPE tolerates larger step sizes",
        f"largest stable lr per seed (grid {', '.join(f'{x:g}' for x in grid)}): {gpe} "
        f"{', '.join(f'{lr_g[s]:g}' for s in seeds)}; {vae} {', '.join(f'{lr_v[s]:g}' for s in seeds)}",
        greater([rank(lr_g[s]) for s in seeds], [rank(lr_v[s]) for s in seeds], paired=True),
        id=f"gpe.s84.{_slug(D['paper'])}.larger_step_sizes", kind="paper", profile=profile)


def decide(counts: pd.DataFrame, counts_01: pd.DataFrame, sweep_counts: pd.DataFrame, curves: pd.DataFrame,
           family: pd.DataFrame, lr_sweep: pd.DataFrame, *, datasets: Mapping[str, Mapping[str, Any]], beta: float,
           betas: Sequence[float], sweep: str, budget: int, profile: str,
           paper_values: pd.DataFrame | None = None) -> list[Claim]:
    """Notebook 04's verdict rows (GPE Table 1 and §8.3; our β sweep).

    For each dataset (in ``datasets`` order), kind ``paper`` (thresholds as printed, on our [−1, 1] images; the same
    rows with the thresholds read in [0, 1] pixel units follow as kind ``check``, ids ending ``.pixels01``):

    * **Table 1** (``gpe.table1.<dataset>.<eps1|eps2>.loss_<threshold>``), one row per (ε, threshold): the GPE
      decoder on the ε encoder reaches the threshold in fewer fresh-decoder iterations than the VAE's —
      :func:`gpelib.verdicts.sooner` on the per-seed counts, paired by seed, censored at ``budget``: holds when
      the median VAE/GPE ratio's interval lies above 1, fails at or below 1, else inconclusive;
    * **the gap widens** (``gpe.table1.<dataset>.gap_widens``), tightest ε: the VAE/GPE ratio at the second
      (lower) threshold exceeds the one at the first — :func:`gpelib.verdicts.grows` on the two ratios' intervals.

    Then, for the swept dataset ``sweep``, kind ``check``: **the GPE advantage grows with β**
    (``gpe.table1.beta_sweep.<dataset>.loss_<threshold>``), per threshold: the VAE/GPE ratio increases with β at
    every step (:func:`gpelib.verdicts.grows`); **the AE control** (``gpe.table1.<dataset>.ae_control.loss_<t>``,
    one per threshold): the tightest GPE encoder against :data:`~gpelib.recipes.AE_CONTROL` as Table 1 compares it
    with the VAE; **decoder speed follows encoder geometry** (``gpe.mechanism.<dataset>.speed_follows_<spread|gme>
    .loss_<first threshold>``): Spearman's ρ per seed over the encoder family, above 0. Kind ``paper``: **larger
    step sizes** (``gpe.s84.<dataset>.larger_step_sizes``, §8.4): the GPE decoder's largest stable lr in the lr
    sweep above the VAE's, paired by seed. Under ``smoke`` every row is ``n/a``.

    Args:
        counts: ``04_iterations_to_threshold`` — ``dataset, seed, method, threshold, iterations`` (NaN/<NA>: never).
        counts_01: ``04_iterations_to_threshold_01`` — the same at the thresholds read in [0, 1] pixel units
            (:func:`gpelib.papers.in_our_units`), for the rows ``….pixels01`` (kind ``check``).
        sweep_counts: ``04_beta_sweep_counts`` — ``beta, seed, method, threshold, iterations`` (methods ``VAE`` and
            the tightest GPE encoder).
        curves: the ``04_threshold_curves_<dataset>`` tables stacked — ``dataset, method, threshold, median, budget``.
        family: ``04_encoder_family`` (:func:`gpelib.tables.encoder_family_table` on the swept dataset) — ``seed,
            method, threshold, iterations, budget, gme, spread``.
        lr_sweep: ``04_protocol_lr_sweep`` — ``method`` (``VAE``, ``GPE``), ``lr, seed, stable``.
        datasets: the preset's ``datasets`` (``paper``, ``eps``, ``thresholds`` per dataset name).
        beta: the VAE's β; betas: the sweep's β values; sweep: the swept dataset's name.
        budget: the fresh decoders' iterations (the preset's ``decoder_iterations``), where "never" is censored.
        profile: ``smoke`` decides nothing (n/a); ``quick`` and ``paper`` decide.
        paper_values: :func:`gpelib.papers.paper_values` (read from the package when None).
    """
    pv = papers.paper_values() if paper_values is None else paper_values
    rows: list[Claim] = []
    for name, D in datasets.items():
        p = papers.paper_table1(pv, D["paper"])
        c = counts[counts.dataset == name]
        rows += _table1_rows(c, name, D, p, beta=beta, budget=budget, profile=profile)
        rows.append(_gap_row(c, curves[curves.dataset == name], name, D, p, budget=budget, profile=profile))
        c01 = counts_01[counts_01.dataset == name]
        rows += _table1_rows(c01, name, D, p, beta=beta, budget=budget, profile=profile, unit=OTHER_UNIT)
        rows.append(_gap_row(c01, None, name, D, p, budget=budget, profile=profile, unit=OTHER_UNIT))
    D = datasets[sweep]
    p = papers.paper_table1(pv, D["paper"])
    rows += _sweep_rows(sweep_counts, sweep, D, p, betas=betas, budget=budget, profile=profile)
    rows += _ae_control_rows(counts[counts.dataset == sweep], sweep, D, p, budget=budget, profile=profile)
    rows += _mechanism_rows(family, sweep, D, p, budget=budget, profile=profile)
    rows.append(_step_size_row(lr_sweep, sweep, D, vae=VAE, gpe=LR_SWEEP_GPE, profile=profile))
    return rows


def conclusion(protocol_map: pd.DataFrame) -> str:
    """What decides the claim, from the protocol map (``04_protocol_map``, :func:`gpelib.tables.protocol_map_table`):
    per threshold, the paper's setting's VAE/GPE ratio and which single factor flips the ordering, moves the ratio by
    more than 2× or leaves it within 2× (:func:`gpelib.tables.protocol_effects`,
    :func:`gpelib.tables.protocol_conclusion`)."""
    return tables.protocol_conclusion(tables.protocol_effects(protocol_map))



def _log_distance(side: pd.DataFrame, unit: str, thresholds: Mapping[str, Sequence[float]]) -> tuple[float, str]:
    """Median ``|log10(ours / paper)|`` over the GPE cells of stacked :func:`gpelib.tables.compare_table1` tables
    read in ``unit`` (``dataset`` → its printed ``thresholds``, loosest first: our columns are
    ``iterations ≤ <threshold in our units>``, the paper's the same cells as printed; never reached: our budget, a
    lower bound; a cell the paper does not print is left out) and the cells as text."""
    dist, cells = [], []
    for name, ts in thresholds.items():
        t = side[side.dataset == name]
        label = f"{name} " if len(thresholds) > 1 else ""
        paper_cols = sorted((c for c in t if c.startswith("paper ≤ ") and t[c].notna().any()),
                            key=lambda c: -float(c.split("≤ ")[1]))
        ours_cols = [f"iterations ≤ {papers.in_our_units(x, unit):g}" for x in ts]
        for _, r in t[t.method.str.startswith("GPE") & t["paper method"].notna()].iterrows():
            for ours, paper in zip(ours_cols, paper_cols):
                if pd.isna(r[paper]):
                    continue
                never = pd.isna(r[ours])
                mine = float(r["decoder budget"] if never else r[ours])
                dist.append(abs(np.log10(mine / float(r[paper]))))
                cells.append(f"{label}{r.method} ≤ {ours.split('≤ ')[1]}: {'> ' if never else ''}{mine:,.0f} "
                             f"(paper {float(r[paper]):,.0f})")
    return (float(np.median(dist)) if dist else np.nan), "; ".join(cells)


def units_conclusion(sides: Mapping[str, pd.DataFrame], thresholds: Mapping[str, Sequence[float]]) -> str:
    """Which pixel unit Table 1's printed iteration counts support (issue 29): for each reading (``sides``: unit →
    our :func:`gpelib.tables.table1_sides` table read in it; ``thresholds``: dataset → its printed thresholds), the
    median over the GPE cells of ``|log10(ours /
    paper)|`` (a count never reached within our budget enters at the budget, so its distance is a lower bound when
    the paper's count is below it); the reading with the smaller distance is the one the paper's counts support.
    Our encoders and budgets differ from the paper's, so this says which unit is *of the paper's order*, no more."""
    found = {u: _log_distance(t, u, thresholds) for u, t in sides.items()}
    ok = {u: d for u, (d, _) in found.items() if np.isfinite(d)}
    text = "**Table 1's pixel unit.** " + " ".join(
        f"Read in {u}: {cells} (median |log10(ours/paper)| {d:.2f})." for u, (d, cells) in found.items())
    if len(ok) < 2:
        return text + " Too few cells to say which unit the paper's counts support."
    best, other = min(ok, key=ok.get), max(ok, key=ok.get)
    return (text + f" The paper's iteration counts are closer to our counts read in **{best}** pixel units "
            f"({ok[best]:.2f} decades against {ok[other]:.2f} in {other}).")
