"""The scores of notebook 07 (GMEGAN §6.2, Figs. 4–5) on a Gaussian mixture, their noise floors, and the plateau
rule built from them (SPEC §2 "Plateau", issue 28 item 1).

* :func:`mixture_scores` — one function for the scores a run is judged by, used both while it trains (every
  evaluation, on a fixed set of latents) and once it is trained (on more latents): modes covered, high-quality
  fraction, transport agreement, c_T-cyclical monotonicity under the method's own encoder, energy distance.
* :func:`mixture_floors` — each score's noise floor at a sample size ``n``: what scoring held-out real data against
  itself at the same ``n`` gives (the spread over independent draws).
* :func:`mixture_stop` — the :class:`~gpelib.plateau.PlateauStop` that watches the claims' own metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..models import eval_mode
from ..plateau import PlateauStop, Watch
from .diagnostics import (
    cyclical_monotonicity,
    energy_distance,
    first_coordinates,
    mode_stats,
    monotonicity_score,
    transport_agreement,
)

__all__ = ["TRACKED", "WATCHED", "HISTORY_COLUMNS", "HeldOutEnergy", "mixture_scores", "mixture_floors",
           "history_floors", "floor_table", "watched_columns", "mixture_stop"]

TRACKED: dict[str, str] = {"modes_covered": "higher", "high_quality": "higher", "transport_agreement": "higher",
                           "cyclic3_encoder": "higher", "energy": "lower"}
"""The scores recorded at every evaluation while a mixture run trains, and which direction is better."""

WATCHED: tuple[str, ...] = ("modes_covered", "transport_agreement", "energy")
"""The scores a run's plateau is judged on (the claims of notebook 07: modes, transport agreement, the spread of modes
and energy over seeds); GMEGAN's runs add ``cyclic3_encoder`` (Thm 3)."""


HISTORY_COLUMNS: dict[str, str] = {("val_loss" if k == "energy" else k): b for k, b in TRACKED.items()}
""":data:`TRACKED` under the names of a training history: the energy distance is its held-out ``val_loss``."""


def _column(score: str) -> str:
    return "val_loss" if score == "energy" else score


def watched_columns(method: str) -> list[str]:
    """The history columns a run of ``method`` is judged at its plateau on: :data:`WATCHED`, and for the GMEGAN
    variants (Thm 3 is about their own encoder) ``cyclic3_encoder``."""
    return [_column(c) for c in (*WATCHED, *(["cyclic3_encoder"] if method.startswith("gmegan") else []))]


@torch.no_grad()
def mixture_scores(method: Any, mix: Any, y: Tensor, fresh: Tensor, *, n_std: float = 3.0, n_tuples: int = 20_000,
                   full: bool = True, energy: bool = True) -> tuple[dict[str, float], Tensor]:
    """The scores of ``method``'s generator on the mixture ``mix`` (a :class:`~gpelib.data.Mixture`) at the latents
    ``y`` ``(n, 2)``, against ``fresh`` ``(≥ n, D)``, a draw of the mixture the run never trained on (module
    docstring; :func:`~gpelib.gan.mixture_jobs.mixture_job` documents each score). In eval mode. ``full=False`` gives
    the scores tracked while training (:data:`TRACKED`); ``True`` adds the eq. A.2 fractions and ``cyclic3`` with the
    ideal encoder; ``energy=False`` leaves the energy distance out (a tracker computes it on more points,
    :class:`HeldOutEnergy`). Returns ``(scores, samples)``, the samples ``G(y)`` flattened on the CPU, ``(n, D)``."""
    m = method
    n = y.shape[0]
    with eval_mode(*m.modules().values()):
        s = m.generator_map(y)
        flat = s.reshape(n, -1).cpu()
        stats = mode_stats(flat, mix.centres, mix.std_major, n_std)
        enc = m.latent_of if m.latent_of(s[:2]) is not None else None
        out = {
            "modes_covered": float(stats.modes_covered),
            "high_quality": stats.high_quality_fraction,
            "transport_agreement": transport_agreement(y.cpu(), flat, fresh, mix.assign),
            "cyclic3_encoder": (cyclical_monotonicity(enc, m.generator_map, y, n_tuples=n_tuples)
                                if enc is not None else math.nan),
        }
        if energy:
            out["energy"] = energy_distance(flat, fresh[:n])
        if full:
            out.update({
                "n_modes": float(mix.n_modes),
                "monotonicity": monotonicity_score(first_coordinates(2), m.generator_map, y, align=True),
                "monotonicity_raw": monotonicity_score(first_coordinates(2), m.generator_map, y),
                "monotonicity_encoder": monotonicity_score(enc, m.generator_map, y) if enc is not None else math.nan,
                "cyclic3": cyclical_monotonicity(first_coordinates(2), m.generator_map, y, align=True,
                                                 n_tuples=n_tuples),
            })
    return out, flat


def mixture_floors(mix: Any, n: int, *, n_energy: int | None = None, draws: int = 8, n_tuples: int = 2_000,
                   seed: int = 40_000, n_std: float = 3.0) -> dict[str, float]:
    """Each tracked score's noise floor at sample size ``n`` (the energy distance's at ``n_energy``, default ``n``,
    the size :class:`HeldOutEnergy` tracks it at): the standard deviation over ``draws`` independent draws
    of scoring real data against itself — the mixture's own points as the "generated" ones; for the transport
    agreement the empirical optimal transport map of ``n`` latents onto one draw (a Brenier map, up to sampling)
    scored against another; for the energy distance the root mean square of real-against-real values (zero in
    expectation). ``cyclic3_encoder`` has no real-data counterpart: its floor is a binomial standard deviation
    ``√(1/4 / n_tuples)`` (the largest a fraction of ``n_tuples`` triples has)."""
    from scipy.optimize import linear_sum_assignment

    vals: dict[str, list[float]] = {k: [] for k in ("modes_covered", "high_quality", "transport_agreement", "energy")}
    for r in range(draws):
        a = mix.sample(n, seed=seed + 3 * r).x
        b = mix.sample(n, seed=seed + 3 * r + 1).x
        y = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed + 3 * r + 2), dtype=torch.float64)
        stats = mode_stats(a, mix.centres, mix.std_major, n_std)
        vals["modes_covered"].append(float(stats.modes_covered))
        vals["high_quality"].append(stats.high_quality_fraction)
        rows, cols = linear_sum_assignment(-(y @ a[:, :2].double().T).numpy())  # an optimal map y → a
        brenier = torch.empty_like(a)
        brenier[torch.as_tensor(rows)] = a[torch.as_tensor(cols)]
        vals["transport_agreement"].append(transport_agreement(y.float(), brenier, b, mix.assign, align=False))
        m = n_energy or n
        ea, eb = (mix.sample(m, seed=seed + 3 * r + i).x for i in (0, 1))
        vals["energy"].append(energy_distance(ea, eb))
    out = {k: float(np.std(v, ddof=1)) for k, v in vals.items()}
    out["energy"] = float(np.sqrt(np.mean(np.square(vals["energy"]))))
    out["cyclic3_encoder"] = math.sqrt(0.25 / n_tuples)
    return out


class HeldOutEnergy:
    """The squared energy distance (:func:`~gpelib.gan.diagnostics.energy_distance`'s U-statistic) of samples to a
    fixed held-out set ``(m, D)``, for a training history: the held-out set's own term ``E‖Y − Y'‖`` computed once,
    the distance matrices in float32 (``torch.cdist``) and summed in float64 — a third of the cost of recomputing
    everything in float64; the rounding (about 1e-6 of the value's terms) is far below the noise floor at this ``m``."""

    def __init__(self, held_out: Tensor) -> None:
        self.held_out = held_out.reshape(len(held_out), -1).float()
        m = len(self.held_out)
        d = torch.cdist(self.held_out, self.held_out).double().fill_diagonal_(0.0)
        self.within = float(d.sum()) / (m * (m - 1))

    def __call__(self, samples: Tensor) -> float:
        x = samples.reshape(len(samples), -1).float().to(self.held_out.device)
        n = len(x)
        cross = float(torch.cdist(x, self.held_out).double().mean())
        own = float(torch.cdist(x, x).double().fill_diagonal_(0.0).sum()) / (n * (n - 1))
        return 2 * cross - own - self.within


def history_floors(mix: Any, n: int, **kw: Any) -> dict[str, float]:
    """:func:`mixture_floors` under the history's column names (:data:`HISTORY_COLUMNS`)."""
    return {_column(k): v for k, v in mixture_floors(mix, n, **kw).items()}


def floor_table(floors: Mapping[str, Mapping[str, float]], *, n_track: int, n_energy: int) -> pd.DataFrame:
    """The noise floors of :func:`history_floors` per dataset as a tidy table ``dataset, metric, n, floor``: ``n`` is
    the sample size each floor was measured at (``n_energy`` for the energy distance, the history's ``val_loss``;
    ``n_track`` for the other scores)."""
    return pd.DataFrame([{"dataset": d, "metric": k, "n": n_energy if k == "val_loss" else n_track, "floor": v}
                         for d, f in floors.items() for k, v in f.items()], columns=["dataset", "metric", "n", "floor"])


def mixture_stop(floors: dict[str, float], *, method: str, min_iteration: int, **rule: float) -> PlateauStop:
    """The plateau rule of a run of ``method`` on a mixture: every column of :func:`watched_columns` at its
    plateau, with its noise floor from ``floors`` (:func:`history_floors`), once its held-out energy distance has
    left its start (a run that has not learned trains on to the cap); ``rule`` as
    :class:`~gpelib.plateau.PlateauStop`'s."""
    watches = tuple(Watch(c, HISTORY_COLUMNS[c], floors[c]) for c in watched_columns(method))
    return PlateauStop(watches=watches, min_iteration=int(min_iteration), progress="val_loss",
                       **rule)  # type: ignore[arg-type]
