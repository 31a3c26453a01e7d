"""Per-seed values and the median's interval over seeds: the arithmetic under every verdict (:mod:`gpelib.verdicts`).

A value is observed (a float) or right-censored (:class:`Censored`: "never reached within a budget"). Over seeds, the
compared quantity's median gets an order-statistics interval ``[x_(k), x_(n−k+1)]`` with the largest ``k`` whose
coverage ``1 − 2·P(Bin(n, ½) ≤ k − 1)`` is at least the level asked (:func:`coverage`); censoring widens each seed's
interval. Differences are taken per seed (paired) or between medians, on a log scale for ratios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Censored", "Value", "Ratio", "censor", "value_text", "seeds_text", "coverage"]


# ------------------------------------------------------------------------------------------------ values, censoring


@dataclass(frozen=True)
class Censored:
    """A value known only to exceed ``lower`` (right-censored): "never reached within a budget of ``lower``"."""

    lower: float

    def __str__(self) -> str:
        return f"> {_num(self.lower)}"


Value = float | int | Censored


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float | np.floating) and math.isnan(v))


def censor(values: Any, budget: float | Sequence[float] | None = None) -> list[Value]:
    """Per-seed values with "never" (``None``, ``NaN``, ``<NA>``) replaced by ``Censored(budget)``.

    ``values`` is a scalar or a sequence (list, array, Series); ``budget`` a scalar or one per value. A missing
    value without a budget is an error: "never" means nothing without the budget it was never reached within.
    """
    vals = [values] if _scalar(values) else list(values)
    budgets = [budget] * len(vals) if budget is None or np.ndim(budget) == 0 else list(budget)
    if len(budgets) != len(vals):
        raise ValueError(f"{len(vals)} values but {len(budgets)} budgets")
    out: list[Value] = []
    for v, b in zip(vals, budgets):
        if isinstance(v, Censored | Ratio):
            out.append(v)
        elif _missing(v):
            if b is None or _missing(b):
                raise ValueError("a value was never reached (None/NaN) but no budget was given")
            out.append(Censored(float(b)))
        else:
            out.append(float(v))
    return out


def value_text(v: Value) -> str:
    """One per-seed value as text: ``123``, ``0.0456``, ``4,000``, or ``> 4,000`` when censored."""
    return str(v) if isinstance(v, Censored) else _num(float(v))


def seeds_text(values: Any, unit: str = "seeds") -> str:
    """Per-seed values as ``median (min–max, n seeds)``, e.g. ``0.123 (0.101–0.15, 3 seeds)``; one value as itself;
    censored values count by their lower bound: ``300 (200 to > 4,000, 3 seeds)``. ``unit`` names what the values are
    repeats of (``"rounds"`` for interleaved timings)."""
    vals = censor(values)
    if len(vals) == 1:
        return value_text(vals[0])
    lo = min(_bounds(v)[0] for v in vals)
    hi = max(_bounds(v)[1] for v in vals)
    top = _num(hi) if math.isfinite(hi) else f"> {_num(max(_bounds(v)[0] for v in vals))}"
    sep = "–" if math.isfinite(hi) else " to "
    return f"{_median_text(vals)} ({_num(lo)}{sep}{top}, {len(vals)} {unit})"


def _scalar(v: Any) -> bool:
    return v is None or v is pd.NA or isinstance(v, int | float | np.number | Censored | Ratio)


def _bounds(v: Value) -> tuple[float, float]:
    """The interval a value is known to lie in: a point, ``(lower, ∞)`` when censored, a :class:`Ratio`'s interval."""
    if isinstance(v, Censored):
        return float(v.lower), math.inf
    if isinstance(v, Ratio):
        return v.low, v.high
    if _missing(v):
        raise ValueError("a missing value needs a budget: use censor(values, budget)")
    return float(v), float(v)


def _num(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if float(x).is_integer() and 1000 <= abs(x) < 1e7:  # counts and budgets: 4,000 rather than 4e+03
        return f"{int(x):,}"
    return f"{x:.3g}"


# ------------------------------------------------------------------------------------------- order statistics


def coverage(n: int, k: int) -> float:
    """Coverage of ``[x_(k), x_(n−k+1)]`` for the median of a continuous distribution from ``n`` draws:
    ``1 − 2·P(Bin(n, ½) ≤ k − 1)`` (0 for ``n = 1``: a single seed gives a point, not an interval)."""
    if not 1 <= k <= (n + 1) // 2:
        raise ValueError(f"need 1 ≤ k ≤ (n+1)/2; got n={n}, k={k}")
    return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / 2.0**n


def _rank(n: int, level: float) -> int:
    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(n, k + 1) >= level:
        k += 1
    return k


@dataclass(frozen=True)
class _Summary:
    """Median over seeds of interval-valued observations: the median lies in ``[lower, upper]`` (equal when every
    seed is a point) and ``[low, high]`` is its order-statistics interval."""

    lower: float
    upper: float
    low: float
    high: float
    seeds: int
    coverage: float

    @property
    def median(self) -> float:
        return self.lower if self.lower == self.upper else math.nan

    def neg(self) -> _Summary:
        return _Summary(-self.upper, -self.lower, -self.high, -self.low, self.seeds, self.coverage)


def _median(x: np.ndarray) -> float:
    x = np.sort(x)
    n = len(x)
    if n % 2:
        return float(x[n // 2])
    a, b = float(x[n // 2 - 1]), float(x[n // 2])
    return a if a == b else (a + b) / 2  # equal infinities stay infinite


def _summarise(lo: Sequence[float], hi: Sequence[float], level: float) -> _Summary:
    lo, hi = np.sort(np.asarray(lo, float)), np.sort(np.asarray(hi, float))
    n = len(lo)
    if n == 0:
        raise ValueError("no values to compare")
    k = _rank(n, level)
    return _Summary(_median(lo), _median(hi), float(lo[k - 1]), float(hi[n - k]), n, coverage(n, k))


def _sub(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """The interval of ``x − y`` for ``x ∈ a``, ``y ∈ b``."""
    return a[0] - b[1], a[1] - b[0]


def _log(iv: tuple[float, float]) -> tuple[float, float]:
    """log of an interval; 0 (e.g. a loss level met before any training: 0 s, 0 iterations) is −∞, so a ratio
    against it is 0 or ∞ (decided), and 0/0 is NaN (inconclusive)."""
    if iv[0] < 0:
        raise ValueError(f"ratios need values ≥ 0; got {iv[0]}")
    log = lambda x: -math.inf if x == 0 else math.log(x)  # noqa: E731
    return log(iv[0]), log(iv[1])


def _difference(a: Any, b: Any, *, budget_a: Any, budget_b: Any, log: bool, paired: bool | None,
                level: float) -> _Summary:
    """Median and interval of ``a − b`` (or ``log a − log b``) over seeds. Paired by position when both sides have
    the same number of seeds (``paired=None``/``True``); otherwise the difference of the two medians' intervals
    (conservative: its coverage is at least the sum of the two coverages minus one)."""
    va, vb = censor(a, budget_a), censor(b, budget_b)
    ia, ib = [_bounds(v) for v in va], [_bounds(v) for v in vb]
    if log:
        ia, ib = [_log(v) for v in ia], [_log(v) for v in ib]
    if paired is None:
        paired = len(ia) == len(ib)
    if paired:
        if len(ia) != len(ib):
            raise ValueError(f"paired comparison needs as many values on each side; got {len(ia)} and {len(ib)}")
        d = [_sub(x, y) for x, y in zip(ia, ib)]
        return _summarise([x for x, _ in d], [y for _, y in d], level)
    sa = _summarise([x for x, _ in ia], [y for _, y in ia], level)
    sb = _summarise([x for x, _ in ib], [y for _, y in ib], level)
    return _Summary(sa.lower - sb.upper, sa.upper - sb.lower, sa.low - sb.high, sa.high - sb.low,
                    min(sa.seeds, sb.seeds), max(0.0, sa.coverage + sb.coverage - 1))


@dataclass(frozen=True)
class Ratio:
    """Median over seeds of ``num/den`` (computed on the log scale) and its interval ``[low, high]``.

    ``ratio`` is NaN when censoring leaves the median unidentified; it then lies in ``[lower_bound, upper_bound]``
    (e.g. only the denominator reached the threshold: ``lower_bound = budget_num / den``, ``upper_bound = ∞``).
    """

    ratio: float
    lower_bound: float
    upper_bound: float
    low: float
    high: float
    seeds: int
    coverage: float

    @classmethod
    def _of(cls, s: _Summary) -> Ratio:
        e = np.exp
        return cls(float(e(s.median)), float(e(s.lower)), float(e(s.upper)), float(e(s.low)), float(e(s.high)),
                   s.seeds, s.coverage)

    def inverse(self) -> Ratio:
        """``den/num``: every number inverted, bounds swapped."""
        inv = lambda x: math.inf if x == 0 else 1 / x  # noqa: E731
        return Ratio(inv(self.ratio), inv(self.upper_bound), inv(self.lower_bound), inv(self.high), inv(self.low),
                     self.seeds, self.coverage)


def _median_text(values: Any) -> str:
    """The median of per-seed values as text; ``> b`` when censoring leaves only a lower bound."""
    hi = np.sort([_bounds(x)[1] for x in censor(values)])
    lo = np.sort([_bounds(x)[0] for x in censor(values)])
    k = len(lo)
    upper = (hi[(k - 1) // 2] + hi[k // 2]) / 2
    lower = (lo[(k - 1) // 2] + lo[k // 2]) / 2
    return _num(lower) if math.isfinite(upper) else f"> {_num(lower)}"
