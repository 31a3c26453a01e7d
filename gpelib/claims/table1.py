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

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .. import papers, tables
from ..recipes import eps_label
from ..verdicts import Claim, censor, format_ratio, grows, ratio_summary, sooner, value_text

__all__ = ["decide", "crossing", "conclusion", "table1_id"]

VAE = "VAE"  # the method name of the β-VAE (β = the preset's ``beta``) in the counts tables


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


def _per_seed(counts: pd.DataFrame, method: str, threshold: float, budget: int) -> list:
    """Per-seed counts (seed order) of one method at one threshold; never reached: censored at ``budget``."""
    c = counts[(counts.method == method) & (counts.threshold == threshold)].sort_values("seed")
    return censor(c.iterations.tolist(), budget)


def _table1_rows(counts: pd.DataFrame, name: str, D: Mapping[str, Any], p: pd.DataFrame, *, beta: float,
                 budget: int, profile: str) -> list[Claim]:
    """One dataset's Table-1 cells: "GPE at ε reaches loss t in fewer fresh-decoder iterations than the VAE"
    (:func:`gpelib.verdicts.sooner`, paired by seed), one row per (ε, threshold), loosest ε first. The paper's GPE
    entries are matched by rank of ε (the last one again when the profile has more ε than the paper)."""
    p_vae, p_gpe = p.iloc[0], p[p.method.str.startswith("GPE")].sort_values("eps", ascending=False)
    rows = []
    for k, e in enumerate(sorted(D["eps"], reverse=True)):
        g, pg = eps_label(e), p_gpe.iloc[min(k, len(p_gpe) - 1)]
        for j, t in enumerate(D["thresholds"], start=1):
            pv, pgv = p_vae[f"iterations_threshold_{j}"], pg[f"iterations_threshold_{j}"]
            vae, gpe = _per_seed(counts, VAE, t, budget), _per_seed(counts, g, t, budget)
            rows.append(Claim.from_decision(
                f"{name}: {g} reaches loss {t:g} in fewer fresh-decoder iterations than VAE (β={beta:g})",
                f"{D['paper']} ({pg.method}, loss {p_vae[f'threshold_{j}']:g}): VAE {pv:,.0f} vs GPE {pgv:,.0f} "
                f"({pv / pgv:.3g}×)",
                "VAE/GPE per seed: " + ", ".join(f"{value_text(a)}/{value_text(b)}" for a, b in zip(vae, gpe))
                + f" (budget {budget:,})",
                sooner(gpe, vae), id=table1_id(D["paper"], list(D["eps"]).index(e) + 1, p_vae[f"threshold_{j}"]),
                kind="paper", profile=profile))
    return rows


def _gap_row(counts: pd.DataFrame, curves: pd.DataFrame, name: str, D: Mapping[str, Any], p: pd.DataFrame, *,
             budget: int, profile: str) -> Claim:
    """"The VAE/GPE gap widens at the lower threshold" (GPE §8.3) for the tightest ε: the VAE/GPE ratio (median over
    seeds of the per-seed ratio, with its interval) grows from the first threshold to the second
    (:func:`gpelib.verdicts.grows`); ``ours`` also names where the median curves cross (:func:`crossing`)."""
    p_vae, p_gpe = p.iloc[0], p[p.method.str.startswith("GPE")].sort_values("eps", ascending=False)
    g = eps_label(min(D["eps"]))
    r = [ratio_summary(_per_seed(counts, VAE, t, budget), _per_seed(counts, g, t, budget)) for t in D["thresholds"]]
    pr = [p_vae[f"iterations_threshold_{j}"] / p_gpe.iloc[-1][f"iterations_threshold_{j}"] for j in (1, 2)]
    cross = crossing(curves, D["eps"])
    return Claim.from_decision(
        f"{name}: the VAE/GPE gap widens at the lower threshold ({g})",
        f"{D['paper']}: {pr[0]:.3g}× at {p_vae.threshold_1:g} → {pr[1]:.3g}× at {p_vae.threshold_2:g}",
        " → ".join(f"{format_ratio(x)} at {t:g}" for x, t in zip(r, D["thresholds"]))
        + (f"; medians cross at threshold {cross:.3g}" if cross is not None else "; medians never cross"),
        grows(r), id=f"gpe.table1.{_slug(D['paper'])}.gap_widens", kind="paper", profile=profile)


def _sweep_rows(sweep_counts: pd.DataFrame, name: str, D: Mapping[str, Any], p: pd.DataFrame, *,
                betas: Sequence[float], budget: int, profile: str) -> list[Claim]:
    """Our β sweep (not in the paper: β was lost from its text): at each threshold, the VAE/GPE ratio (tightest ε,
    per seed) grows with β (:func:`gpelib.verdicts.grows` over the β values in increasing order)."""
    gpe_ref = eps_label(min(D["eps"]))
    rows = []
    for j, t in enumerate(D["thresholds"], start=1):  # where no VAE reaches a threshold, the row cannot decide
        r = [ratio_summary(*(_per_seed(g, m, t, budget) for m in (VAE, gpe_ref)))
             for _, g in sweep_counts.sort_values("beta").groupby("beta")]
        rows.append(Claim.from_decision(
            f"{name}: the GPE advantage at loss {t:g} grows with β (β=0: a VAE ≈ an AE)",
            "not in the paper (β not printed); SPEC §1 asks for the sweep",
            "; ".join(f"β={b:g}: {format_ratio(x)}" for b, x in zip(sorted(betas), r)), grows(r),
            id=f"gpe.table1.beta_sweep.{_slug(D['paper'])}.loss_{p.iloc[0][f'threshold_{j}']:g}", kind="check",
            profile=profile))
    return rows


def decide(counts: pd.DataFrame, sweep_counts: pd.DataFrame, curves: pd.DataFrame, *,
           datasets: Mapping[str, Mapping[str, Any]], beta: float, betas: Sequence[float], sweep: str, budget: int,
           profile: str, paper_values: pd.DataFrame | None = None) -> list[Claim]:
    """Notebook 04's verdict rows (GPE Table 1 and §8.3; our β sweep).

    For each dataset (in ``datasets`` order), kind ``paper``:

    * **Table 1** (``gpe.table1.<dataset>.<eps1|eps2>.loss_<threshold>``), one row per (ε, threshold): the GPE
      decoder on the ε encoder reaches the threshold in fewer fresh-decoder iterations than the VAE's —
      :func:`gpelib.verdicts.sooner` on the per-seed counts, paired by seed, censored at ``budget``: holds when
      the median VAE/GPE ratio's interval lies above 1, fails at or below 1, else inconclusive;
    * **the gap widens** (``gpe.table1.<dataset>.gap_widens``), tightest ε: the VAE/GPE ratio at the second
      (lower) threshold exceeds the one at the first — :func:`gpelib.verdicts.grows` on the two ratios' intervals.

    Then, for the swept dataset ``sweep``, kind ``check``: **the GPE advantage grows with β**
    (``gpe.table1.beta_sweep.<dataset>.loss_<threshold>``), per threshold: the VAE/GPE ratio increases with β at
    every step (:func:`gpelib.verdicts.grows`). Under ``smoke`` every row is ``n/a``.

    Args:
        counts: ``04_iterations_to_threshold`` — ``dataset, seed, method, threshold, iterations`` (NaN/<NA>: never).
        sweep_counts: ``04_beta_sweep_counts`` — ``beta, seed, method, threshold, iterations`` (methods ``VAE`` and
            the tightest GPE encoder).
        curves: the ``04_threshold_curves_<dataset>`` tables stacked — ``dataset, method, threshold, median, budget``.
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
    D = datasets[sweep]
    rows += _sweep_rows(sweep_counts, sweep, D, papers.paper_table1(pv, D["paper"]), betas=betas, budget=budget,
                        profile=profile)
    return rows


def conclusion(protocol_map: pd.DataFrame) -> str:
    """What decides the claim, from the protocol map (``04_protocol_map``, :func:`gpelib.tables.protocol_map_table`):
    per threshold, the paper's setting's VAE/GPE ratio and which single factor flips the ordering, moves the ratio by
    more than 2× or leaves it within 2× (:func:`gpelib.tables.protocol_effects`,
    :func:`gpelib.tables.protocol_conclusion`)."""
    return tables.protocol_conclusion(tables.protocol_effects(protocol_map))

