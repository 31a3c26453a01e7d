"""Has a run reached its plateau? (SPEC §2 "Plateau", issue 28 item 1) — judged on the claim's own metric, two-sided
and noise-aware.

Over the last fifth of a run (the evaluations at iterations ≥ ``(1 − last)·t_end``) the metric, smoothed by a running
mean over ``window`` evaluations, goes from ``a`` (the smoothed value at the last evaluation at or before
``(1 − last)·t_end``) to ``b`` (at ``t_end``). Its *change* is counted towards better,

    change = a − b  (lower is better),      change = b − a  (higher is better),

and its *tolerance* is

    tol = max(relative · max(|a|, |b|),  floor_multiple · floor),

``floor`` being the metric's noise floor at the run's sample size (what scoring held-out real data against itself at
the same ``n`` gives, e.g. :func:`gpelib.gan.mixture_scores.mixture_floors`). The run's state:

* ``improving`` — ``change > tol``: still better at the end (a longer budget may move it);
* ``worsening`` — ``change < −tol``;
* ``oscillating`` — ``|change| ≤ tol`` but the smoothed values span more than ``2·tol`` within the last fifth;
* ``plateau`` — otherwise.

:func:`plateau_iteration` is the first evaluation at which the rule, applied to the history up to then, says
``plateau`` on every metric: where a run that stops at its plateau (:class:`PlateauStop`) stops — provided it has
learned something first (:func:`progressed`): a run flat from its start is not stopped there. A ground-floor module
(numpy only), shared by the training loops' stop rule and the verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["STATES", "Plateau", "Watch", "plateau_state", "plateau_iteration", "combined_state", "progressed",
           "PlateauStop"]

STATES: tuple[str, ...] = ("plateau", "improving", "worsening", "oscillating")
"""A run's state at the end of its history (SPEC §2); the first is the only settled one."""


@dataclass(frozen=True)
class Watch:
    """One metric a plateau is judged on: its history ``column``, which direction is ``better`` (``"lower"`` or
    ``"higher"``) and its noise ``floor`` at the evaluation's sample size (≥ 0)."""

    column: str
    better: str = "lower"
    floor: float = 0.0

    def __post_init__(self) -> None:
        if self.better not in ("lower", "higher"):
            raise ValueError(f"better must be 'lower' or 'higher'; got {self.better!r}")
        if not (self.floor >= 0 and math.isfinite(self.floor)):
            raise ValueError(f"a noise floor is a finite number ≥ 0; got {self.floor!r} for {self.column!r}")


@dataclass(frozen=True)
class Plateau:
    """The state of one metric at the end of a history (module docstring): ``start``/``end`` the smoothed values
    ``a``/``b``, ``change`` towards better, ``tolerance``, ``spread`` (max − min of the smoothed values over the last
    fifth) and the iteration ``at`` which it was judged."""

    state: str
    start: float
    end: float
    change: float
    tolerance: float
    spread: float
    at: int


def _smoothed(values: np.ndarray, window: int) -> np.ndarray:
    """Running mean over the last ``window`` values (fewer at the start)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    n = np.minimum(np.arange(1, len(values) + 1), window)
    return (c[1:] - c[np.arange(1, len(values) + 1) - n]) / n


def plateau_state(iterations: Sequence[float], values: Sequence[float], *, better: str = "lower", floor: float = 0.0,
                  last: float = 0.2, relative: float = 0.10, floor_multiple: float = 2.0, window: int = 3
                  ) -> Plateau:
    """The state of a metric whose evaluations are ``values`` at ``iterations`` (module docstring). NaN values are
    dropped. Needs at least two evaluations in the last fifth plus the one before it, else ``ValueError``."""
    if not 0 < last < 1 or relative < 0 or floor_multiple < 0 or window < 1:
        raise ValueError(f"need 0 < last < 1, relative ≥ 0, floor_multiple ≥ 0, window ≥ 1; got {last}, {relative}, "
                         f"{floor_multiple}, {window}")
    Watch("value", better, floor)  # validates better and floor
    it = np.asarray(iterations, dtype=float)
    v = np.asarray(values, dtype=float)
    if it.shape != v.shape:
        raise ValueError(f"iterations and values differ in length: {it.shape} vs {v.shape}")
    keep = np.isfinite(v)
    it, v = it[keep], v[keep]
    order = np.argsort(it, kind="stable")
    it, v = it[order], v[order]
    if len(it) < 3:
        raise ValueError(f"a plateau needs at least 3 finite evaluations; got {len(it)}")
    s = _smoothed(v, window)
    cut = (1 - last) * it[-1]
    before = np.nonzero(it <= cut)[0]
    if len(before) == 0 or before[-1] >= len(it) - 2:
        raise ValueError(f"too few evaluations in the last {last:.0%} of the run (up to iteration {it[-1]:g}) to judge "
                         "a plateau; evaluate more often")
    i0 = before[-1]
    a, b = float(s[i0]), float(s[-1])
    change = (a - b) if better == "lower" else (b - a)
    tol = max(relative * max(abs(a), abs(b)), floor_multiple * floor)
    spread = float(s[i0:].max() - s[i0:].min())
    if change > tol:
        state = "improving"
    elif change < -tol:
        state = "worsening"
    elif spread > 2 * tol:
        state = "oscillating"
    else:
        state = "plateau"
    return Plateau(state=state, start=a, end=b, change=change, tolerance=tol, spread=spread, at=int(it[-1]))


def combined_state(states: Sequence[str]) -> str:
    """One state for a run judged on several metrics: ``plateau`` when every metric is at its plateau, else the first
    unsettled state in the order ``worsening``, ``oscillating``, ``improving``."""
    unknown = set(states) - set(STATES)
    if unknown:
        raise ValueError(f"unknown states {sorted(unknown)}; expected {STATES}")
    for s in ("worsening", "oscillating", "improving"):
        if s in states:
            return s
    return "plateau"


def plateau_iteration(rows: Sequence[Mapping[str, float]], watches: Sequence[Watch], *, min_iteration: int = 0,
                      **rule: float) -> int | None:
    """The first evaluation (history ``rows``, each with ``"iteration"`` and the watched columns) at or after
    ``min_iteration`` at which every watched metric, judged on the rows up to it, is at its plateau; ``None`` if none.
    ``rule``: :func:`plateau_state`'s ``last``, ``relative``, ``floor_multiple``, ``window``."""
    if not watches:
        raise ValueError("watch at least one metric")
    it = [float(r["iteration"]) for r in rows]
    cols = {w.column: [float(r.get(w.column, math.nan)) for r in rows] for w in watches}
    for j in range(len(rows)):
        if it[j] < min_iteration:
            continue
        if _settled(it[: j + 1], cols, watches, j + 1, rule):
            return int(it[j])
    return None


def _settled(it: Sequence[float], cols: Mapping[str, Sequence[float]], watches: Sequence[Watch], upto: int,
             rule: Mapping[str, float]) -> bool:
    for w in watches:
        try:
            p = plateau_state(it, cols[w.column][:upto], better=w.better, floor=w.floor, **rule)  # type: ignore[arg-type]
        except ValueError:
            return False  # too few evaluations yet
        if p.state != "plateau":
            return False
    return True


def progressed(rows: Sequence[Mapping[str, float]], watch: Watch, *, relative: float = 0.10,
               floor_multiple: float = 2.0, window: int = 3) -> bool:
    """Whether the metric ``watch`` has left its start: its smoothed value at the last of ``rows`` is better than its
    first evaluation by more than the tolerance of :func:`plateau_state` (``max(relative·|first|, floor_multiple ·
    floor)``). A run flat from its first evaluation on has not learned; its flatness is no plateau to stop at."""
    v = np.asarray([float(r.get(watch.column, math.nan)) for r in rows], dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return False
    end = float(_smoothed(v, window)[-1])
    gain = (v[0] - end) if watch.better == "lower" else (end - v[0])
    return gain > max(relative * abs(float(v[0])), floor_multiple * watch.floor)


@dataclass(frozen=True)
class PlateauStop:
    """A training loop's stop rule: stop at the first evaluation at or after ``min_iteration`` at which every metric of
    ``watches`` is at its plateau (:func:`plateau_state` with ``last``, ``relative``, ``floor_multiple``,
    ``window``) and the metric named ``progress`` (one of the watched columns, or ``None``) has left its start
    (:func:`progressed`). A run that never settles trains to its iteration cap and keeps the state it ends in."""

    watches: tuple[Watch, ...]
    min_iteration: int = 0
    progress: str | None = None
    last: float = 0.2
    relative: float = 0.10
    floor_multiple: float = 2.0
    window: int = 3

    def __post_init__(self) -> None:
        if not self.watches:
            raise ValueError("a plateau stop watches at least one metric")
        if self.progress is not None and self.progress not in {w.column for w in self.watches}:
            raise ValueError(f"progress must name a watched column ({[w.column for w in self.watches]}); got "
                             f"{self.progress!r}")
        if self.min_iteration < 0:
            raise ValueError(f"min_iteration must be ≥ 0; got {self.min_iteration}")

    @property
    def rule(self) -> dict[str, float]:
        return {"last": self.last, "relative": self.relative, "floor_multiple": self.floor_multiple,
                "window": self.window}

    def __call__(self, rows: Sequence[Mapping[str, float]]) -> bool:
        """True when the history ``rows`` ends at a plateau of every watched metric (and at ``min_iteration`` or
        later)."""
        if not rows or float(rows[-1]["iteration"]) < self.min_iteration:
            return False
        if self.progress is not None:
            w = next(w for w in self.watches if w.column == self.progress)
            if not progressed(rows, w, relative=self.relative, floor_multiple=self.floor_multiple, window=self.window):
                return False
        it = [float(r["iteration"]) for r in rows]
        cols = {w.column: [float(r.get(w.column, math.nan)) for r in rows] for w in self.watches}
        return _settled(it, cols, self.watches, len(rows), self.rule)

    def describe(self) -> dict[str, object]:
        """What the rule is, for a checkpoint's description (a run stopped by another rule is not resumed)."""
        return {"watches": [[w.column, w.better, round(w.floor, 12)] for w in self.watches],
                "min_iteration": self.min_iteration, "progress": self.progress, **self.rule}
