"""Notebook 05's claims: reconstruction against wall-clock for GPE and four VAE-style baselines (GPE §8.4, Fig. 8)
and seconds per iteration (Table 2).

Inputs are the notebook's result tables, all on its load-independent clock (iterations × interleaved seconds per
iteration): ``05_seconds_per_iteration.csv`` (``timing``), ``05_time_to_threshold.csv`` (``reach``: each run's
``final_val`` and ``total_seconds``) and ``05_wallclock_race.csv`` (``race``: GPE, encoder time included, against
each baseline on that baseline's own final held-out loss).

Ids (the same in every profile): ``gpe.fig8.<paper dataset>.{best_baseline,each_baseline,kl_slower}``,
``gpe.fig8.<paper dataset>.{best_baseline,each_baseline}.stable_lr`` (the second reading: each method at its largest
stable learning rate, from ``05_lr_sweep.csv`` and the same two tables for those runs) and
``gpe.table2.<paper dataset>.{decoder_step,mds_cost}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..verdicts import Claim, all_of, below, censor, format_ratio, greater, ratio_summary, seeds_text, sooner

__all__ = ["decide", "GPE", "BASELINES", "KL_PAIRS", "STABLE_LR"]

GPE = "GPE"  # the method name of GPE's run (encoder then decoder) in the reach and race tables
BASELINES = ("VAE", "VAE+MDS", "AE", "AE+MDS")  # the jointly trained methods, in the order the KL row lists them


def _slug(paper_dataset: str) -> str:
    return re.sub(r"[^a-z0-9_\-]", "-", paper_dataset.lower())


def _best_baseline_row(reach: pd.DataFrame, race: pd.DataFrame, name: str, *, ids: str, profile: str,
                       reading: Reading = None) -> Claim:
    """Fig. 8: per seed, the best baseline is the one with the lowest final held-out loss (the first listed on a
    tie); GPE's time to that loss (encoder time included; never: censored at GPE's total time) against the time the
    baseline first got there, :func:`gpelib.verdicts.sooner` over seeds (paired). ``reading``: see
    :func:`_reading`."""
    t_gpe, t_best, budget_gpe, budget_best, best_names = [], [], [], [], []
    for s, runs in reach.groupby("seed", sort=False):
        final = dict(zip(runs.method, runs.final_val))  # one value per run (the table repeats it per level)
        total = dict(zip(runs.method, runs.total_seconds))
        base = {k: v for k, v in final.items() if k != GPE}
        best = min(base, key=base.get)
        r = race[(race.seed == s) & (race.method == best)].iloc[0]
        t_gpe.append(r.seconds_reference)
        t_best.append(r.seconds_method)
        budget_gpe.append(total[GPE])
        budget_best.append(total[best])
        best_names.append(best)
    claim, suffix, lrs = _reading(reading)
    return Claim.from_decision(
        f"{name}: GPE (encoder time included) reaches the best baseline's final held-out loss sooner in wall-clock"
        f"{claim}", "Fig. 8: GPE reaches a lower loss sooner on all four datasets (CIFAR10: hours earlier)",
        f"best baseline per seed: {', '.join(best_names)}; its time {seeds_text(t_best)} s, GPE's "
        f"{seeds_text(censor(t_gpe, budget_gpe))} s{lrs}",
        sooner(t_gpe, t_best, budget_a=budget_gpe, budget_b=budget_best), id=f"{ids}.best_baseline{suffix}",
        kind="paper", profile=profile)


def _each_baseline_row(reach: pd.DataFrame, race: pd.DataFrame, name: str, *, ids: str, profile: str,
                       reading: Reading = None) -> Claim:
    """Fig. 8 / §8.4: for every baseline, GPE (encoder time included) reaches that baseline's own final held-out loss
    before the baseline does — :func:`gpelib.verdicts.sooner` per baseline over seeds (GPE never there: censored at
    its total time), all combined by :func:`gpelib.verdicts.all_of`. ``reading``: see :func:`_reading`."""
    total_gpe = reach[reach.method == GPE].drop_duplicates("seed").set_index("seed")["total_seconds"]
    parts, texts = [], []
    for m, g in race.groupby("method", sort=False):
        g = g.sort_values("seed")
        t_ref = censor(g.seconds_reference.tolist(), [total_gpe[s] for s in g.seed])
        parts.append(sooner(t_ref, g.seconds_method.tolist()))
        texts.append(f"{m}: {format_ratio(ratio_summary(g.seconds_method.tolist(), t_ref))} sooner")
    claim, suffix, lrs = _reading(reading)
    return Claim.from_decision(
        f"{name}: GPE (encoder time included) reaches each baseline's own final held-out loss before that baseline "
        f"does{claim}", "Fig. 8 / §8.4: faster convergence than every baseline, even with the initial offset",
        "; ".join(texts) + lrs, all_of(parts), id=f"{ids}.each_baseline{suffix}", kind="paper", profile=profile)


Reading = Mapping[str, float] | None  # None: every method at the common rate; else each method's rate (label → lr)
#: The id suffix of the second reading of Fig. 8: each method at its largest stable learning rate (issue 29 item 5).
STABLE_LR = ".stable_lr"


def _reading(lrs: Reading) -> tuple[str, str, str]:
    """What a Fig. 8 row adds for its reading: the claim's tail, the id suffix and the rates in ``ours`` — nothing for
    the common rate; for each method at its largest stable rate (``lrs``: label → rate; the paper's own protocol,
    GPE §8.4: "the largest value that yields stable convergence for each method") ``,`` :data:`STABLE_LR` and the
    rates."""
    if lrs is None:
        return "", "", ""
    return (", each method at its largest stable learning rate", STABLE_LR,
            "; learning rates " + ", ".join(f"{m} {lr:g}" for m, lr in lrs.items()))


def _timing_rows(timing: pd.DataFrame, name: str, paper: str, *, ids: str, profile: str) -> list[Claim]:
    """Table 2, on the per-round ratios to the VAE's step of the same interleaved round (the rounds are the repeats,
    :func:`gpelib.verdicts.below`): a GPE decoder step costs less than a VAE step (ratio < 1; ours: arithmetic, a
    decoder-only step against an encoder + decoder step), and the MDS term adds little (VAE+MDS ÷ VAE ≤ 1.1)."""
    ratios = {m: g.sort_values("round").ratio.tolist() for m, g in timing.groupby("method")}
    per_round = timing.pivot_table(index="round", columns="method", values="s_per_iter")
    paper_r = timing.groupby("method")["paper_ratio"].first()
    return [
        Claim.from_decision(
            f"{name}: a GPE decoder iteration costs less than a VAE iteration (s/iter ÷ VAE's < 1)",
            f"{paper}: {paper_r['GPE decoder']:.3f}",
            f"{seeds_text(ratios['GPE decoder'], 'interleaved rounds')}",
            below(ratios["GPE decoder"], 1.0), id=f"{ids}.decoder_step", kind="check", profile=profile),
        Claim.from_decision(
            f"{name}: the MDS term adds little time per iteration (VAE+MDS ÷ VAE ≤ 1.1)",
            f"{paper}: {paper_r['VAE+MDS']:.3f}",
            f"{seeds_text(ratios['VAE+MDS'], 'rounds')} (AE+MDS ÷ AE: "
            f"{seeds_text((per_round['AE+MDS'] / per_round['AE']).tolist(), 'rounds')})",
            below(ratios["VAE+MDS"], 1.1, strict=False), id=f"{ids}.mds_cost", kind="paper", profile=profile),
    ]


#: §8.4's KL claim compared in pairs that differ only by the KL term (issue 29): (with KL, without).
KL_PAIRS = (("VAE", "AE"), ("VAE+MDS", "AE+MDS"))


def _kl_row(reach: pd.DataFrame, name: str, *, ids: str, profile: str) -> Claim:
    """§8.4: methods with a KL term converge more slowly — each method with a KL term ends with a higher final
    held-out loss than its twin without it (:data:`KL_PAIRS`: VAE vs AE, VAE+MDS vs AE+MDS), per seed
    (:func:`gpelib.verdicts.greater`, paired), both pairs (:func:`gpelib.verdicts.all_of`)."""
    runs = reach.drop_duplicates(["seed", "method"]).sort_values("seed")
    final = {m: runs[runs.method == m].final_val.tolist() for m in (*BASELINES, GPE)}
    parts = [greater(final[kl], final[no_kl]) for kl, no_kl in KL_PAIRS]
    return Claim.from_decision(
        f"{name}: methods with a KL term converge more slowly (each ends with a higher final held-out loss than "
        "its twin without KL: VAE vs AE, VAE+MDS vs AE+MDS)",
        "§8.4: methods trained with a KL term converge more slowly",
        "; ".join(f"{m} {seeds_text(v)}" for m, v in final.items()),
        all_of(parts, detail="; ".join(f"{kl} − {no_kl}: {d.detail}" for (kl, no_kl), d in zip(KL_PAIRS, parts))),
        id=f"{ids}.kl_slower", kind="paper", profile=profile)


def decide(timing: pd.DataFrame, reach: pd.DataFrame, race: pd.DataFrame, *,
           datasets: Mapping[str, Mapping[str, Any]], profile: str, lr_sweep: pd.DataFrame | None = None,
           reach_lr: pd.DataFrame | None = None, race_lr: pd.DataFrame | None = None) -> list[Claim]:
    """Notebook 05's verdict rows (GPE Fig. 8, §8.4 and Table 2), five per dataset in ``datasets`` order:

    * ``gpe.fig8.<dataset>.best_baseline`` (paper): GPE, its encoder time included, reaches the best baseline's
      final held-out loss (per seed: the baseline with the lowest one) sooner than that baseline —
      :func:`gpelib.verdicts.sooner` over seeds on the times (GPE never there: censored at its total time);
    * ``gpe.fig8.<dataset>.each_baseline`` (paper): the same against every baseline on its own final loss, all of
      them (:func:`gpelib.verdicts.all_of`);
    * ``gpe.fig8.<dataset>.{best_baseline,each_baseline}.stable_lr`` (paper; when ``lr_sweep`` is given): the same
      two, every method at its largest stable learning rate (the paper's protocol for Fig. 8; issue 29 item 5);
    * ``gpe.table2.<dataset>.decoder_step`` (check: arithmetic — a decoder-only step against an encoder + decoder
      step): the GPE decoder's s/iter ÷ the VAE's, per interleaved round, is below 1 (:func:`gpelib.verdicts.below`);
    * ``gpe.table2.<dataset>.mds_cost`` (paper): VAE+MDS ÷ VAE per round is at most 1.1;
    * ``gpe.fig8.<dataset>.kl_slower`` (paper): per seed, VAE's final held-out loss > AE's and VAE+MDS's >
      AE+MDS's (:data:`KL_PAIRS`; :func:`gpelib.verdicts.greater`, paired, both pairs).

    Holds / fails / inconclusive by the median over seeds (rounds) and its order-statistics interval; ``n/a`` under
    ``smoke``.

    Args:
        timing: ``05_seconds_per_iteration`` — ``dataset, round, method, s_per_iter, ratio, paper_ratio``.
        reach: ``05_time_to_threshold`` — ``dataset, seed, method, final_val, total_seconds`` (repeated per level;
            methods in the runs' order).
        race: ``05_wallclock_race`` — ``dataset, seed, method, level, seconds_method, seconds_reference`` (NaN: GPE
            never reached the level).
        datasets: the preset's ``datasets`` (``paper`` per dataset name).
        profile: ``smoke`` decides nothing (n/a); ``quick`` and ``paper`` decide.
        lr_sweep: ``05_lr_sweep`` — ``dataset, method, lr, seed, stable, chosen`` (:func:`gpelib.step_sizes.stable_lrs`
            per dataset); with ``reach_lr`` and ``race_lr``, the tables above for the runs at the chosen rates.
    """
    rows: list[Claim] = []
    for name, D in datasets.items():
        rc, rr = reach[reach.dataset == name], race[race.dataset == name]
        fig8, table2 = f"gpe.fig8.{_slug(D['paper'])}", f"gpe.table2.{_slug(D['paper'])}"
        rows.append(_best_baseline_row(rc, rr, name, ids=fig8, profile=profile))
        rows.append(_each_baseline_row(rc, rr, name, ids=fig8, profile=profile))
        if lr_sweep is not None and reach_lr is not None and race_lr is not None:
            chosen = lr_sweep[(lr_sweep.dataset == name) & lr_sweep.chosen].drop_duplicates("method")
            lrs = dict(zip(chosen.method, chosen.lr.astype(float)))
            rc_lr, rr_lr = reach_lr[reach_lr.dataset == name], race_lr[race_lr.dataset == name]
            rows.append(_best_baseline_row(rc_lr, rr_lr, name, ids=fig8, profile=profile, reading=lrs))
            rows.append(_each_baseline_row(rc_lr, rr_lr, name, ids=fig8, profile=profile, reading=lrs))
        rows += _timing_rows(timing[timing.dataset == name], name, D["paper"], ids=table2, profile=profile)
        rows.append(_kl_row(rc, name, ids=fig8, profile=profile))
    return rows
