"""Notebook 08's claims: GMEGAN Figs. 6–7 (§6.3) — image generation across architectures.

For every image dataset and for GMEGAN as printed and as released, four rows, all kind ``paper``, each decided by
:func:`~gpelib.verdicts.best_of` (lower is better, strict) over values paired by (architecture, seed), GMEGAN against
the seven baselines, on the runs of notebook 08 (each trained to its own plateau, :mod:`gpelib.gan.image_jobs`):

* ``gmegan.fig6.lowest_fd`` — Fig. 6: the lowest mean FID (or FD-classifier): the per-run ``fd``;
* ``gmegan.fig6.fd_spread`` — Fig. 6: the lowest variance among the architectures: per seed, each architecture's
  absolute deviation of ``fd`` from the method's mean over the architectures (a Levene-type spread,
  :func:`gpelib.gan.experiments.paired_values` with ``spread_over="arch"``);
* ``gmegan.fig7.lowest_relative_std`` — Fig. 7: the lowest mean relative std of the class counts (mode coverage);
* ``gmegan.fig7.relative_std_spread`` — Fig. 7: the smallest spread of the relative std across architectures.

Ids: the preset's first dataset has no dataset segment (``gmegan.fig6.lowest_fd``), any further one appends its name
(``gmegan.fig6.lowest_fd.tiny_imagenet``); GMEGAN as released then appends ``.released``. Each row rests on runs at
their plateau on the row's own metric (:func:`~gpelib.verdicts.at_plateau_or_inconclusive` over ``08_states.csv``,
:func:`gpelib.gan.tables.plateau_states`: ``fd`` for Fig. 6, ``relative_std`` for Fig. 7): GMEGAN's own runs must be
at their plateau; a baseline that never settled is scored at the common cap and named in the note, without veto
(SPEC §2).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from ..gan import experiments as gx
from ..gan.experiments import BASELINES
from ..verdicts import Claim, at_plateau_or_inconclusive, best_of

__all__ = ["decide", "BASELINES", "REFS", "UNITS", "dataset_segment"]

#: Each GMEGAN reading decided against the baselines: (how, its variant name, its id suffix).
REFS: list[tuple[str, str, str]] = [("as printed", "GMEGAN", ""), ("as released", "GMEGAN-released", ".released")]
#: What the values are paired by.
UNITS = ("arch", "seed")


def dataset_segment(name: str, first: bool) -> str:
    """The id segment of a dataset: none for the preset's first dataset, else ``.<name>`` lower-cased with every
    character an id cannot hold as ``_`` (``"tiny_imagenet"`` → ``.tiny_imagenet``, ``"Tiny ImageNet"`` →
    ``.tiny_imagenet``)."""
    if first:
        return ""
    return "." + (re.sub(r"[^a-z0-9_\-]", "_", name.lower()).lstrip("_-") or "data")


def decide(runs: pd.DataFrame, summary: pd.DataFrame, states: pd.DataFrame, *, profile: str, metric: str,
           archs: Sequence[str], seeds: Sequence[int], datasets: Sequence[str] | None = None,
           undecided: str | None = None) -> list[Claim]:
    """The verdict rows of notebook 08: per dataset, per GMEGAN reading (as printed, as released), the four claims
    of the module docstring, in that order.

    ``runs``: ``08_runs.csv`` (:func:`gpelib.gan.experiments.sweep_table`: one row per run with ``dataset``,
    ``variant``, ``arch``, ``seed``, ``fd``, ``relative_std``); ``summary``: ``08_summary.csv``
    (:func:`~gpelib.gan.experiments.summarize`: ``fd_mean``, ``fd_std``, ``relative_std_mean``,
    ``relative_std_std`` and, when the runs have a kernel distance, ``kid_mean``, per dataset and variant);
    ``states``: ``08_states.csv`` (:func:`~gpelib.gan.tables.plateau_states` by dataset, variant, arch, seed and
    metric). ``metric``: the score's name (``"FID"`` or ``"FD-classifier"``); ``archs``, ``seeds``: the preset's
    (their product is the number of pairs, for the note); ``datasets``: the preset's dataset names in order (default:
    their order in ``runs``); ``undecided``: the preset's reason why this profile cannot decide the claims (every
    row ``n/a`` with it, the numbers kept), ``None`` to decide.
    """
    kid = "kid_mean" in summary
    note = f"paired by (architecture, seed): 'seeds' counts the {len(archs) * len(seeds)} pairs"
    names = list(datasets) if datasets is not None else list(pd.unique(runs["dataset"]))
    rows: list[Claim] = []
    if undecided:  # the profile's runs cannot reach the claims' plateau (the preset says why): n/a, numbers kept
        return [r.undecided(undecided) for r in decide(runs, summary, states, profile=profile, metric=metric,
                                                       archs=archs, seeds=seeds, datasets=datasets)]
    for i, name in enumerate(names):
        t, st = runs[runs.dataset == name], states[states.dataset == name]
        sm = summary[summary.dataset == name].set_index("variant")
        for how, ref, suffix in REFS:
            keep = [ref, *BASELINES]
            per = {c: gx.paired_values(t, c, keep, units=UNITS) for c in ("fd", "relative_std")}
            # per seed: |value − the method's mean over the architectures|
            dev = {c: gx.paired_values(t, c, keep, units=UNITS, spread_over="arch") for c in ("fd", "relative_std")}
            for key, col, values, what, paper in [
                ("fig6.lowest_fd", "fd_mean", per["fd"], f"the lowest mean {metric}", "Fig. 6: lowest mean FID"),
                ("fig6.fd_spread", "fd_std", dev["fd"], f"the smallest spread of {metric} across architectures",
                 "Fig. 6: lowest variance among the architectures"),
                ("fig7.lowest_relative_std", "relative_std_mean", per["relative_std"],
                 "the lowest mean relative std of class counts (best mode coverage)",
                 "Fig. 7: lowest mean relative std"),
                ("fig7.relative_std_spread", "relative_std_std", dev["relative_std"],
                 "the smallest spread of the relative std across architectures",
                 "Fig. 7: lowest variance among the architectures"),
            ]:
                v = sm.loc[keep, col]
                kid_text = (f" (KID {sm.loc[ref, 'kid_mean']:.3g}; best baseline "
                            f"{sm.loc[BASELINES, 'kid_mean'].min():.3g})" if kid and col == "fd_mean" else "")
                rows.append(Claim.from_decision(
                    f"{name}: GMEGAN {how} has {what}", paper,
                    f"{ref} {v[ref]:.3g} (rank {1 + int((v < v[ref]).sum())} of {len(v)}){kid_text}; "
                    + ", ".join(f"{o} {x:.3g}" for o, x in v.drop(ref).items()),
                    _at_plateau(best_of(values, ref, better="lower"), st, keep, ref,
                                "fd" if col.startswith("fd") else "relative_std"),
                    id=f"gmegan.{key}{dataset_segment(str(name), i == 0)}{suffix}", kind="paper", profile=profile,
                    note=note + ("; spread = |deviation from the method's mean over the architectures|"
                                 if col.endswith("_std") else "")))
    return rows


def _at_plateau(decision, states: pd.DataFrame, variants: Sequence[str], ref: str, metric: str):
    """:func:`~gpelib.verdicts.at_plateau_or_inconclusive` on every run of ``variants``, judged on ``metric``; the
    runs of ``ref`` are the claim's own."""
    by_run = gx.states_by_run(states, variants, metric, units=UNITS)
    own = [k for k in by_run if k.startswith(f"{ref} ")] or [f"{ref} (no runs)"]
    return at_plateau_or_inconclusive(decision, by_run, own=own)
