"""Notebook 09's claims: GMEGAN Fig. 8 (§6.4) — GMEGAN without each of its three regularisers.

For GMEGAN as printed and as released (the released variant's ids end in ``.released``), three rows, all kind
``paper``, on values paired by (architecture, seed); the variants are the full method and λ1, λ2, λ3 = 0
(:data:`gpelib.gan.experiments.ABLATIONS`, in that order):

* ``gmegan.fig8.full_best`` — Fig. 8: excluding any term significantly decreases performance:
  :func:`~gpelib.verdicts.best_of` over the per-run ``fd``, the full method lower than every ablation (strict);
* ``gmegan.fig8.lambda3_least_impact`` — §6.4: λ3 may have the least impact: :func:`~gpelib.verdicts.least_impact`,
  the ABSOLUTE change of ``fd`` from the full method, whatever its direction (the paper expects a rise: a change the
  other way is named in the note);
* ``gmegan.fig8.lambda1_least_stable`` — §6.4: removing the GME cost λ1 deteriorates the stability:
  :func:`~gpelib.verdicts.best_of` (higher, strict) over each architecture's absolute deviation of ``fd`` from the
  variant's mean over the architectures (per seed; :func:`gpelib.gan.experiments.paired_values` with
  ``spread_over="arch"``), λ1 = 0 against λ2 = 0 and λ3 = 0.

Each row rests on runs at their plateau of ``fd`` (:func:`~gpelib.verdicts.at_plateau_or_inconclusive` over
``09_states.csv``, :func:`gpelib.gan.tables.plateau_states`): the runs of the variants a row compares are its own
(every one must be at its plateau).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ..gan import experiments as gx
from ..verdicts import Claim, at_plateau_or_inconclusive, best_of, least_impact

__all__ = ["decide", "UNITS"]

#: What the values are paired by.
UNITS = ("arch", "seed")


def decide(runs: pd.DataFrame, summary: pd.DataFrame, states: pd.DataFrame, *, profile: str, metric: str,
           archs: Sequence[str], seeds: Sequence[int], ablations: Sequence[str] = tuple(gx.ABLATIONS),
           full: Mapping[str, tuple[str, str]] = gx.ABLATED, undecided: str | None = None) -> list[Claim]:
    """The verdict rows of notebook 09: per GMEGAN reading of ``full`` (as printed, as released), the three claims of
    the module docstring, in that order.

    ``runs``: ``09_runs.csv`` (:func:`gpelib.gan.experiments.sweep_table`: one row per run with ``variant``,
    ``arch``, ``seed``, ``fd``); ``summary``: ``09_summary.csv`` (:func:`~gpelib.gan.experiments.summarize`:
    ``fd_mean``, ``fd_std`` per variant, for the ``ours`` texts); ``states``: ``09_states.csv``
    (:func:`~gpelib.gan.tables.plateau_states` by dataset, variant, arch, seed and metric). ``metric``: the score's
    name (``"FID"`` or ``"FD-classifier"``); ``archs``, ``seeds``: the preset's (their product is the number of pairs,
    for the note). ``ablations``: the suffixes of the
    variants' names, the full method's ``""`` first, then λ1, λ2, λ3 = 0; ``full``: how → (display name, method).
    ``undecided``: the preset's reason why this profile cannot decide the claims (every row ``n/a`` with it, the
    numbers kept), ``None`` to decide.
    """
    if len(ablations) != 4 or ablations[0] != "":
        raise ValueError(f"ablations are the full method's '' then λ1, λ2, λ3 = 0; got {list(ablations)}")
    if undecided:  # the profile's runs cannot reach the claims' plateau (the preset says why): n/a, numbers kept
        return [r.undecided(undecided) for r in decide(runs, summary, states, profile=profile, metric=metric,
                                                       archs=archs, seeds=seeds, ablations=ablations, full=full)]
    note = f"paired by (architecture, seed): 'seeds' counts the {len(archs) * len(seeds)} pairs"
    sm = summary.set_index("variant")
    rows: list[Claim] = []
    for how, (ref, _) in full.items():
        suffix = "" if how == "as printed" else "." + how.split()[-1]
        names = [f"{ref}{s}" for s in ablations]
        fd = gx.paired_values(runs, "fd", names, units=UNITS)
        dev = gx.paired_values(runs, "fd", names[1:], units=UNITS, spread_over="arch")
        ablated = {v: fd[v] for v in names[1:]}
        by_run = gx.states_by_run(states, names, "fd", units=UNITS)
        for key, claim, paper, ours, decision, extra in [
            ("full_best", f"GMEGAN {how}: removing any regulariser raises the mean {metric} (full GMEGAN best)",
             "Fig. 8: excluding any term significantly decreases performance",
             f"{ref} {sm.fd_mean[ref]:.3g}; " + ", ".join(f"{v}: {sm.fd_mean[v]:.3g}" for v in ablated),
             best_of(fd, ref, better="lower"), ""),
            ("lambda3_least_impact",
             f"GMEGAN {how}: λ3 = 0 has the least impact (smallest change of the score, in either direction)",
             "§6.4: λ3 may have the least impact on performance",
             ", ".join(f"{v}: {sm.fd_mean[v] - sm.fd_mean[ref]:+.3g}" for v in ablated),
             least_impact(fd[ref], ablated, names[3], paper_sign=+1), ""),
            ("lambda1_least_stable",
             f"GMEGAN {how}: λ1 = 0 is the least stable across architectures (largest spread of {metric})",
             "§6.4: removing the GME cost λ1 significantly deteriorates the stability",
             f"std {ref} {sm.fd_std[ref]:.3g}; " + ", ".join(f"{v}: {sm.fd_std[v]:.3g}" for v in ablated),
             best_of(dev, names[1], better="higher"),
             "; spread = |deviation from the variant's mean over the architectures|"),
        ]:
            rows.append(Claim.from_decision(claim, paper, ours,
                                            at_plateau_or_inconclusive(decision, by_run, own=list(by_run) or names),
                                            id=f"gmegan.fig8.{key}{suffix}", kind="paper", profile=profile,
                                            note=note + extra))
    return rows
