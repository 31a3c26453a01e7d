"""Verdicts: whether a paper's claim holds in our run, decided by tested rules (SPEC §2 "Verdicts").

A verdict is this project's scientific output, so every notebook decides its claims with the functions below and
never with ad-hoc logic. Each comparison returns a :class:`Decision` (an outcome and the numbers behind it), which
:meth:`Claim.from_decision` turns into one row of the table a notebook ends with.

**Outcomes.** ``holds`` / ``fails`` / ``inconclusive`` for a claim the run can decide; ``sanity`` for a check that
cannot fail (a bound evaluated on the pairs its ε was measured on, a method's own training loss): shown, never
counted; ``n/a`` when the profile decides nothing (``smoke``).

**The rule.** Per seed, the compared quantity (a difference ``a − b``, or ``log(b/a)`` for ratios) is an interval:
a point when both values are observed, open on one side when a value is *censored* — "never reached within the
budget" is a right-censored count, known only to exceed the budget (:class:`Censored`). Over seeds we take the
median and an order-statistics interval for it: ``[x_(k), x_(n−k+1)]`` with the largest ``k`` whose coverage
``1 − 2·P(Bin(n, ½) ≤ k − 1)`` is at least ``level`` (default 0.9), else ``[min, max]`` (3 seeds: 75 %; 5 seeds:
94 %). With one seed the interval is the point itself (coverage 0: the row records ``seeds=1``). Censoring widens
each seed's interval, so the median's interval uses the lower ends' ``k``-th smallest and the upper ends' ``k``-th
largest. Then, for a claim "quantity > null":

* **holds** when the whole interval is above the null;
* **fails** when the whole interval is at or below it (a tie is not "better": equal counts fail "sooner");
* **inconclusive** otherwise — the interval straddles the null or censoring leaves it open (both never reached) —
  and also when a run behind the verdict is not at its plateau (:func:`at_plateau_or_inconclusive`).

Ratios are summarised on the log scale, so swapping numerator and denominator inverts the ratio and its interval.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .intervals import (
    Censored,
    Ratio,
    _bounds,
    _difference,
    _median,
    _median_text,
    _missing,
    _num,
    _scalar,
    _Summary,
    censor,
    coverage,
    seeds_text,
    value_text,
)
from .settings import PROFILES

__all__ = [
    "HOLDS", "FAILS", "INCONCLUSIVE", "SANITY", "NA", "OUTCOMES", "COUNTED", "LEVEL",
    "Censored", "censor", "value_text", "seeds_text", "Decision", "Claim", "KINDS", "ID_PATTERN", "Ratio", "decides",
    "coverage",
    "ratio_summary", "format_ratio", "sooner", "greater", "less", "below", "above", "grows", "shrinks",
    "least_impact", "best_of",
    "within", "at_least", "at_most", "all_of",
    "at_plateau_or_inconclusive", "outcome_counts", "tally",
]

HOLDS, FAILS, INCONCLUSIVE, SANITY, NA = "holds", "fails", "inconclusive", "sanity", "n/a"
OUTCOMES = (HOLDS, FAILS, INCONCLUSIVE, SANITY, NA)
COUNTED = (HOLDS, FAILS, INCONCLUSIVE)  # the outcomes of claims a run decided; sanity and n/a are not counted
LEVEL = 0.9  # the nominal coverage asked of a median's order-statistics interval


def _decide(low: float, high: float, null: float = 0.0, *, strict: bool = True) -> str:
    """Three-valued: the claim "quantity > null" (``≥`` if not ``strict``) over the interval ``[low, high]``."""
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if (low > null) if strict else (low >= null):
        return HOLDS
    if (high <= null) if strict else (high < null):
        return FAILS
    return INCONCLUSIVE


# ---------------------------------------------------------------------------------------------- decisions, claims


@dataclass(frozen=True)
class Decision:
    """The outcome of one comparison and the numbers behind it.

    ``estimate`` is the median of the compared quantity over seeds (NaN when censoring leaves it unidentified),
    ``[low, high]`` its interval on the same scale (a ratio for ratio comparisons), ``coverage`` the interval's
    nominal coverage (0 for one seed), ``detail`` the same numbers as text for the verdict table.
    """

    outcome: str
    detail: str = ""
    seeds: int | None = None
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    coverage: float = math.nan
    note: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in COUNTED:
            raise ValueError(f"a decision is one of {COUNTED}; got {self.outcome!r}")


def decides(profile: str) -> bool:
    """Whether a run under ``profile`` decides claims: ``smoke`` decides nothing (its budgets only show that the code
    runs), ``quick`` and ``paper`` do."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    return profile != "smoke"


#: What a verdict row is (SPEC §2 "Kinds"): ``paper`` — a claim the paper makes; ``check`` — ours (a control such as
#: the AE, a mechanism test, a metric's floor); ``sanity`` — cannot fail (shown, never counted).
KINDS = ("paper", "check", "sanity")
#: A claim's id: lower-case segments joined by dots, the first naming the paper (``gpe.table1.mnist.loss_0.1``).
ID_PATTERN = re.compile(r"^(gpe|gmegan)(\.[a-z0-9][a-z0-9_\-]*)+$")


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One row of a notebook's verdict table.

    ``id`` is stable across profiles and runs (:data:`ID_PATTERN`: the README picks its headlines by it); ``kind`` is
    one of :data:`KINDS`. A ``sanity`` row's outcome is always ``sanity`` (never counted) and ``note`` says whether
    the check passed. ``seeds`` is how many seeds the decision rests on, ``detail`` the statistic it used (median and
    interval), ``note`` anything that qualifies it (non-convergence, opposite directions).
    """

    id: str
    kind: str
    claim: str
    paper: str
    ours: str
    outcome: str
    seeds: int | None = None
    detail: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not ID_PATTERN.match(self.id):
            raise ValueError(f"a claim id is lower-case dot-separated words starting with 'gpe.' or 'gmegan.' "
                             f"(e.g. 'gpe.table1.mnist.loss_0.1'); got {self.id!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind is one of {KINDS}; got {self.kind!r} ({self.id})")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}; got {self.outcome!r} ({self.id})")
        if (self.kind == "sanity") != (self.outcome == SANITY):
            raise ValueError(f"a sanity check has outcome 'sanity' and only it does ({self.id}: {self.kind}, "
                             f"{self.outcome})")

    @classmethod
    def from_decision(cls, claim: str, paper: str, ours: str, decision: Decision, *, id: str, kind: str,
                      profile: str, note: str = "") -> Claim:
        """The row ``id`` for ``decision`` under ``profile``: ``n/a`` when the profile decides nothing
        (:func:`decides`), ``sanity`` for a sanity check (its own outcome kept in ``note``: "check passed" unless it
        came out fails)."""
        notes = [n for n in (decision.note, note) if n]
        if kind == "sanity":
            outcome = SANITY
            notes.insert(0, "check FAILED (a bug?)" if decision.outcome == FAILS else
                         "check passed" if decision.outcome == HOLDS else "check inconclusive")
        else:
            outcome = decision.outcome if decides(profile) else NA
        return cls(id=id, kind=kind, claim=claim, paper=paper, ours=ours, outcome=outcome, seeds=decision.seeds,
                   detail=decision.detail, note="; ".join(notes))

    @classmethod
    def not_decided(cls, claim: str, paper: str, ours: str, *, id: str, kind: str, why: str,
                    seeds: int | None = None) -> Claim:
        """A row this profile cannot decide (``n/a``), ``why`` naming the profile that can (SPEC §2: never
        ``inconclusive`` for lack of budget)."""
        return cls(id=id, kind=kind, claim=claim, paper=paper, ours=ours, outcome=NA, seeds=seeds, note=why)

    def undecided(self, why: str) -> Claim:
        """This row as one the profile cannot decide (``n/a``), its numbers kept for the record and ``why`` naming the
        profile that can (SPEC §2: a claim the budget cannot reach is ``n/a``, never ``inconclusive``)."""
        if self.kind == "sanity":
            raise ValueError(f"a sanity row is never n/a ({self.id})")
        return replace(self, outcome=NA, note="; ".join(n for n in (why, self.note) if n))

    def as_row(self) -> dict[str, Any]:
        """``id, kind, claim, paper, ours, outcome, seeds, detail, note``: the columns of ``NN_verdict.csv``."""
        return asdict(self)


# ----------------------------------------------------------------------------------------------------------- ratios


def ratio_summary(num: Any, den: Any, *, budget_num: Any = None, budget_den: Any = None, paired: bool | None = None,
                  level: float = LEVEL) -> Ratio:
    """Median of ``num/den`` over seeds with an order-statistics interval on the log scale; ``None``/NaN counts are
    censored at their budget (:func:`censor`), so a ratio with a never-reached numerator is a lower bound."""
    return Ratio._of(_difference(num, den, budget_a=budget_num, budget_b=budget_den, log=True, paired=paired,
                                 level=level))


def format_ratio(ratio: Ratio | float, lower_bound: float = math.nan) -> str:
    """``"12.3×"``, ``"> 25×"`` (only a lower bound is known), ``"< 0.04×"``, ``"1.1–1.5×"`` (the median lies
    between), ``"n/a"``; a :class:`Ratio` over several seeds adds its interval: ``"12.3× [8.1, 20]"``.
    A plain float (and ``lower_bound``) is formatted as :func:`gpelib.protocols.format_ratio` does."""
    if not isinstance(ratio, Ratio):
        if math.isfinite(ratio):
            return f"{ratio:.3g}×"
        return f"> {lower_bound:.3g}×" if math.isfinite(lower_bound) else "n/a"
    r, lb, ub = ratio.ratio, ratio.lower_bound, ratio.upper_bound
    if math.isfinite(r):
        core = f"{r:.3g}×"
    elif lb > 0 and math.isinf(ub):
        core = f"> {lb:.3g}×"
    elif lb == 0 and math.isfinite(ub):
        core = f"< {ub:.3g}×"
    elif lb > 0 and math.isfinite(ub):
        core = f"{lb:.3g}–{ub:.3g}×"
    else:
        return "n/a"
    return core if ratio.seeds == 1 else f"{core} [{_num(ratio.low)}, {_num(ratio.high)}]"


def _coverage_text(seeds: int, cov: float) -> str:
    return "1 seed" if seeds == 1 else f"{seeds} seeds, {cov:.0%} interval"


def sooner(a: Any, b: Any, *, budget_a: Any = None, budget_b: Any = None, paired: bool | None = None,
           level: float = LEVEL) -> Decision:
    """Claim: ``a`` reaches the threshold in fewer iterations (or seconds) than ``b``.

    ``a``, ``b``: per-seed counts, ``None``/NaN = never within the budget (censored). Decided on the median over
    seeds of ``log(b/a)``: holds when its interval is above 0 (ratio > 1), fails when it is at or below 0 (a tie is
    not sooner), inconclusive when it straddles 0 or is left open by censoring (both never reached; ``a`` never
    reached within a budget smaller than ``b``'s count). ``detail``: the ratio ``b/a`` as :func:`format_ratio`.
    """
    s = _difference(b, a, budget_a=budget_b, budget_b=budget_a, log=True, paired=paired, level=level)
    r = Ratio._of(s)
    return Decision(_decide(s.low, s.high), f"{format_ratio(r)} ({_coverage_text(s.seeds, s.coverage)})", s.seeds,
                    r.ratio, r.low, r.high, s.coverage)


# ----------------------------------------------------------------------------------------------- plain comparisons


def _diff_detail(s: _Summary, label: str) -> str:
    est = _num(s.median) if not math.isnan(s.median) else f"{_num(s.lower)}…{_num(s.upper)}"
    iv = "" if s.seeds == 1 else f" [{_num(s.low)}, {_num(s.high)}]"
    return f"{label} {est}{iv} ({_coverage_text(s.seeds, s.coverage)})"


def greater(a: Any, b: Any, *, margin: float = 0.0, strict: bool = True, budget_a: Any = None, budget_b: Any = None,
            paired: bool | None = None, level: float = LEVEL) -> Decision:
    """Claim: ``a > b + margin`` (``≥`` if not ``strict``), over per-seed values (scalars count as one seed).

    Decided on the median over seeds of ``a − b`` (paired by seed when both sides have as many values): holds when
    its interval lies above ``margin``, fails when it lies at or below it, inconclusive when it straddles it.
    A negative ``margin`` is a tolerance ("a at least about as high as b").
    """
    s = _difference(a, b, budget_a=budget_a, budget_b=budget_b, log=False, paired=paired, level=level)
    return Decision(_decide(s.low, s.high, margin, strict=strict), _diff_detail(s, "a − b"), s.seeds, s.median,
                    s.low, s.high, s.coverage)


def less(a: Any, b: Any, *, margin: float = 0.0, strict: bool = True, budget_a: Any = None, budget_b: Any = None,
         paired: bool | None = None, level: float = LEVEL) -> Decision:
    """Claim: ``a < b − margin`` (e.g. a lower FD is better); the mirror of :func:`greater`, detail still ``a − b``."""
    s = _difference(a, b, budget_a=budget_a, budget_b=budget_b, log=False, paired=paired, level=level)
    n = s.neg()
    return Decision(_decide(n.low, n.high, margin, strict=strict), _diff_detail(s, "a − b"), s.seeds, s.median,
                    s.low, s.high, s.coverage)


def below(values: Sequence[float], bound: float, *, strict: bool = True, level: float = LEVEL) -> Decision:
    """Claim: the typical value of ``values`` (repeats: seeds, timing rounds) is below the constant ``bound`` —
    each repeat is compared with the same known number, so the median of ``value − bound`` and its order-statistics
    interval over the repeats decide (:func:`less` against a per-repeat copy of ``bound``). Unlike :func:`at_most`
    one unlucky repeat does not decide; unlike :func:`less` with a scalar, the bound is not treated as one noisy
    observation."""
    v = list(values)
    return less(v, [float(bound)] * len(v), strict=strict, paired=True, level=level)


def above(values: Sequence[float], bound: float, *, strict: bool = True, level: float = LEVEL) -> Decision:
    """Claim: the typical value of ``values`` is above the constant ``bound`` (the mirror of :func:`below`)."""
    v = list(values)
    return greater(v, [float(bound)] * len(v), strict=strict, paired=True, level=level)


def all_of(decisions: Iterable[Decision], *, detail: str | None = None) -> Decision:
    """Conjunction: holds when every part holds, fails when any part fails, else inconclusive. ``seeds`` is the
    smallest of the parts'; ``detail`` defaults to the parts' details joined by ``"; "``."""
    ds = list(decisions)
    if not ds:
        raise ValueError("all_of needs at least one decision")
    outs = {d.outcome for d in ds}
    outcome = FAILS if FAILS in outs else HOLDS if outs == {HOLDS} else INCONCLUSIVE
    seeds = [d.seeds for d in ds if d.seeds is not None]
    return Decision(outcome, "; ".join(d.detail for d in ds if d.detail) if detail is None else detail,
                    min(seeds) if seeds else None, note="; ".join(dict.fromkeys(d.note for d in ds if d.note)))


def best_of(values: Mapping[str, Any], expected: str, *, better: str = "lower", margin: float = 0.0,
            strict: bool = True, level: float = LEVEL) -> Decision:
    """Claim: ``values[expected]`` is better than every other entry (lower or higher, by more than ``margin``);
    :func:`all_of` the pairwise :func:`less` / :func:`greater`. ``detail`` gives the rank by median and each median."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher'; got {better!r}")
    if expected not in values:
        raise KeyError(f"{expected!r} not in {list(values)}")
    cmp = less if better == "lower" else greater
    parts = [cmp(values[expected], v, margin=margin, strict=strict, level=level)
             for k, v in values.items() if k != expected]
    med = {k: _median(np.asarray([_bounds(x)[0] for x in censor(v)], float)) for k, v in values.items()}
    order = sorted(med, key=med.get, reverse=better == "higher")
    detail = (f"{expected} rank {order.index(expected) + 1} of {len(order)} ({better} is better): "
              + ", ".join(f"{k} {_num(med[k])}" for k in order))
    return all_of(parts, detail=detail)


def _per_seed(v: Any) -> bool:
    return not _scalar(v) and not isinstance(v, str)


def _monotone(values: Sequence[Any], sign: int, strict: bool) -> Decision:
    values = list(values)
    if len(values) < 2:
        raise ValueError("a trend needs at least two values")
    if any(_per_seed(v) for v in values):  # per-seed values: each step is a paired comparison over seeds
        cmp = greater if sign > 0 else less
        steps = [cmp(b, a, strict=strict) for a, b in zip(values, values[1:])]
        part = all_of(steps)
        text = "median " + " → ".join(_median_text(v) for v in values) + "; steps: " + "; ".join(
            d.detail for d in steps)
        return replace(part, detail=text)
    iv = [_bounds(v) for v in censor(values)]
    outs = []
    for (lo0, hi0), (lo1, hi1) in zip(iv, iv[1:]):
        # the step later − earlier lies in [lo1 − hi0, hi1 − lo0]; sign flips it for a decreasing claim
        lo, hi = (lo1 - hi0, hi1 - lo0) if sign > 0 else (lo0 - hi1, hi0 - lo1)
        outs.append(_decide(lo, hi, strict=strict))
    outcome = FAILS if FAILS in outs else HOLDS if set(outs) == {HOLDS} else INCONCLUSIVE
    text = " → ".join(format_ratio(v) if isinstance(v, Ratio) else str(v) if isinstance(v, Censored) else _num(v)
                      for v in values)
    seeds = [v.seeds for v in values if isinstance(v, Ratio)]
    return Decision(outcome, text, min(seeds) if seeds else 1)


def grows(values: Sequence[Any], *, strict: bool = True) -> Decision:
    """Claim: the values increase along their order (e.g. "the ratio widens as the threshold falls", "grows with β").

    Each value is a number, a :class:`Censored` lower bound, or a :class:`Ratio` (its interval is used). Each step
    must increase: holds when every later value's lower end exceeds the earlier value's upper end (a censored later
    value whose lower bound is already above the earlier value counts as larger); fails when some later value's
    upper end is at or below the earlier one's lower end; inconclusive otherwise (a censored later value whose
    bound is below the earlier value; a censored earlier value).

    A value may also be a sequence of per-seed values (numbers or :class:`Censored`, see :func:`censor`), the same
    seeds in each: then each step is a paired :func:`greater` over seeds (the median step's interval must lie
    above 0) and the parts combine by :func:`all_of`.
    """
    return _monotone(values, +1, strict)


def shrinks(values: Sequence[Any], *, strict: bool = True) -> Decision:
    """Claim: the values decrease along their order; the mirror of :func:`grows` (``strict=False``: never rise)."""
    return _monotone(values, -1, strict)


def least_impact(baseline: Any, variants: Mapping[str, Any], expected: str, *, paper_sign: int | None = None,
                 level: float = LEVEL) -> Decision:
    """Claim: changing the baseline into ``variants[expected]`` (e.g. setting λ3 = 0) changes the score least.

    Impact is the ABSOLUTE change from the baseline, whatever its direction: per seed (paired with ``baseline`` when
    lists) ``|v_w − base| − |v_expected − base|`` must be above 0 for every other variant ``w`` (:func:`all_of` the
    median-and-interval rule). ``detail`` gives each median change with its sign; with ``paper_sign`` (+1: the paper
    expects the variants to raise the score, −1: to lower it) ``note`` names the variants that moved the other way.
    Baseline 290 with variants 393, 368, 171 makes the third the LARGEST change (119), never the least.
    """
    if expected not in variants:
        raise KeyError(f"{expected!r} not in {list(variants)}")
    base = np.asarray([_bounds(x)[0] for x in censor(baseline)], float)
    change = {}
    for k, v in variants.items():
        x = np.asarray([_bounds(y)[0] for y in censor(v)], float)
        if len(x) != len(base) and len(base) != 1:
            raise ValueError(f"{k}: {len(x)} values against {len(base)} baseline values")
        change[k] = x - base
    parts = [greater(np.abs(c), np.abs(change[expected]), paired=True, level=level)
             for k, c in change.items() if k != expected]
    med = {k: _median(c) for k, c in change.items()}
    least = min(med, key=lambda k: abs(med[k]))
    detail = ("change from baseline " + ", ".join(f"{k} {med[k]:+.3g}" for k in change)
              + f"; least |change|: {least}")
    note = ""
    if paper_sign is not None:
        opposite = [k for k in change if np.sign(med[k]) == -np.sign(paper_sign)]
        note = f"opposite to the paper's direction: {', '.join(opposite)}" if opposite else ""
    d = all_of(parts, detail=detail)
    return replace(d, note=note)


# ----------------------------------------------------------------------------------------------------------- bounds


def _margins(values: Any, bound: Any) -> np.ndarray:
    v = np.atleast_1d(np.asarray(values, float))
    b = np.broadcast_to(np.asarray(bound, float), v.shape)
    return v - b


def at_least(values: Any, bound: Any, *, tol: float = 0.0) -> Decision:
    """Claim: every value ≥ its bound (``bound`` a number or one per value), e.g. Theorem 1's certificate
    ``µ²[K_α] ≥ 1 − ε/(log α)²``. Holds when every margin ``value − bound`` is ≥ 0; fails when some value is below
    its bound by more than ``tol`` (estimation noise); inconclusive when the worst shortfall is within ``tol``."""
    m = _margins(values, bound)
    worst = float(m.min())
    outcome = HOLDS if worst >= 0 else FAILS if worst < -tol else INCONCLUSIVE
    return Decision(outcome, f"min margin {worst:+.3g} over {m.size} value(s)" + (f" (tol {tol:g})" if tol else ""),
                    None, worst, worst, worst)


def at_most(values: Any, bound: Any, *, tol: float = 0.0) -> Decision:
    """Claim: every value ≤ its bound; the mirror of :func:`at_least` (margins ``bound − value``)."""
    m = -_margins(values, bound)
    worst = float(m.min())
    outcome = HOLDS if worst >= 0 else FAILS if worst < -tol else INCONCLUSIVE
    return Decision(outcome, f"min margin {worst:+.3g} over {m.size} value(s)" + (f" (tol {tol:g})" if tol else ""),
                    None, worst, worst, worst)


def within(values: Any, low: float, high: float, *, tol: float = 0.0) -> Decision:
    """Claim: every value lies in ``[low, high]``: :func:`at_least` ``low`` and :func:`at_most` ``high``."""
    d = all_of([at_least(values, low, tol=tol), at_most(values, high, tol=tol)])
    v = np.atleast_1d(np.asarray(values, float))
    lo, hi = _num(float(v.min())), _num(float(v.max()))
    return replace(d, detail=f"{lo if lo == hi else f'{lo}…{hi}'} vs [{_num(low)}, {_num(high)}]")


# ------------------------------------------------------------------------------------------ plateaus, counting




def at_plateau_or_inconclusive(decision: Decision, states: Mapping[str, str], *, own: Sequence[str]) -> Decision:
    """SPEC §2 "Plateau": a verdict rests on runs at their plateau *on the claim's own metric*. ``states``: run name →
    state (``plateau``, ``improving``, ``worsening``, ``oscillating``; :func:`gpelib.plateau.plateau_state`);
    ``own``: the names of the runs the claim is about (e.g. GMEGAN's seeds). An own run that is not at its plateau
    makes a ``holds``/``fails`` ``inconclusive``; any other run not at its plateau was scored at the common cap and is
    named in the note without vetoing. An ``inconclusive`` whose own runs are all at their plateau says that its
    interval straddles at plateau. Own runs missing from ``states`` count as not at their plateau."""
    unsettled = {k: v for k, v in states.items() if v != "plateau"}
    mine = [k for k in own if states.get(k, "unjudged") != "plateau"]
    others = [k for k in unsettled if k not in set(own)]
    notes = [decision.note] if decision.note else []
    if mine:
        notes.append("own runs not at their plateau: " + ", ".join(f"{k} {states.get(k, 'unjudged')}" for k in mine))
    elif decision.outcome == INCONCLUSIVE:
        notes.append("the interval straddles with every own run at its plateau")
    if others:
        notes.append("scored at the cap, not at their plateau (no veto): "
                     + ", ".join(f"{k} {unsettled[k]}" for k in others))
    outcome = INCONCLUSIVE if mine and decision.outcome in (HOLDS, FAILS) else decision.outcome
    return replace(decision, outcome=outcome, note="; ".join(notes))


def outcome_counts(table: pd.DataFrame | Sequence[Claim]) -> dict[str, int]:
    """How many rows hold / fail / are inconclusive / are sanity checks / are n/a, in that order (every key present).

    ``table`` is a verdict table (column ``outcome``; an older CSV's ``holds`` column of yes/no/n/a also works)
    or a sequence of :class:`Claim`.
    """
    if isinstance(table, pd.DataFrame):
        if "outcome" in table:
            outs = table["outcome"].tolist()
        elif "holds" in table:
            legacy = {"yes": HOLDS, "no": FAILS, "n/a": NA}
            outs = [legacy.get(str(v), NA) if not _missing(v) else NA for v in table["holds"]]
        else:
            raise ValueError("a verdict table has an 'outcome' (or older 'holds') column")
    else:
        outs = [c.outcome for c in table]
    unknown = sorted({str(o) for o in outs} - set(OUTCOMES))
    if unknown:
        raise ValueError(f"unknown outcome(s) {unknown}; expected {OUTCOMES}")
    return {o: sum(x == o for x in outs) for o in OUTCOMES}


def tally(table: pd.DataFrame | Sequence[Claim]) -> dict[str, dict[str, int]]:
    """Outcomes counted per kind (SPEC §2: paper claims and our checks are counted apart): ``{"paper": {...},
    "check": {...}, "sanity": {...}}``, each as :func:`outcome_counts` gives it. A table without a ``kind`` column
    (an older CSV) counts every row as ``paper`` except the sanity rows."""
    if isinstance(table, pd.DataFrame):
        if "kind" in table:
            kinds = table["kind"].tolist()
        else:
            kinds = ["sanity" if o == SANITY else "paper" for o in table["outcome"]]
        unknown = sorted({str(k) for k in kinds} - set(KINDS))
        if unknown:
            raise ValueError(f"unknown kind(s) {unknown}; expected {KINDS}")
        return {k: outcome_counts(table[[x == k for x in kinds]]) for k in KINDS}
    return {k: outcome_counts([c for c in table if c.kind == k]) for k in KINDS}
