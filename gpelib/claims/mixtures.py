"""Notebook 01's claims: GPE Fig. 3 — a GPE encoder keeps a Gaussian mixture's geometry, a VAE encoder does not.

One row per mixture (``gpe.fig3.geometry.<modes>x<dim>``, kind ``paper``), decided on fresh held-out points from
the same mixture by :func:`gpelib.verdicts.all_of` three comparisons, GPE against VAE: a lower GME cost
(:func:`~gpelib.verdicts.less`), a distance correlation at least as high (:func:`~gpelib.verdicts.greater`,
``strict=False``) and a smaller spread ``q95/q05`` of the distance ratios ``‖Tx − Tx′‖/‖x − x′‖``
(:func:`~gpelib.verdicts.less`). With a ``seed`` column the values are per seed, paired by seed; without one the
table is one seed.
"""

from __future__ import annotations

import re

import pandas as pd

from ..verdicts import Claim, all_of, greater, less

__all__ = ["decide"]

_MIXTURE = re.compile(r"^(\d+) modes in R\^(\d+)$")
PAPER = "GPE keeps the mixture's layout; VAE maps it towards a Gaussian (Fig. 3, visual)"


def _mixture_id(name: str) -> str:
    """``"9 modes in R^100"`` → ``gpe.fig3.geometry.9x100``."""
    m = _MIXTURE.match(name)
    if m is None:
        raise ValueError(f"a mixture is named '<modes> modes in R^<dim>'; got {name!r}")
    return f"gpe.fig3.geometry.{m[1]}x{m[2]}"


def decide(geometry: pd.DataFrame, *, profile: str) -> list[Claim]:
    """The verdict rows of notebook 01, one per mixture in the order of ``geometry``.

    ``geometry``: ``01_encoder_geometry.csv`` — one row per (``dataset``, ``method``) with ``method`` GPE and VAE,
    the mixture named ``"<modes> modes in R^<dim>"`` in ``dataset``, and the held-out columns ``gme``,
    ``distance_corr`` and ``spread`` (:func:`gpelib.tables.encoder_table`); optionally ``seed``.
    """
    rows = []
    for name, t in geometry.groupby("dataset", sort=False):
        t = t.sort_values("seed") if "seed" in t else t
        g, v = ({c: t.loc[t.method == m, c].tolist() for c in ("gme", "distance_corr", "spread")}
                for m in ("GPE", "VAE"))
        med = {k: {c: float(pd.Series(x[c]).median()) for c in x} for k, x in (("GPE", g), ("VAE", v))}
        d = all_of([less(g["gme"], v["gme"]), greater(g["distance_corr"], v["distance_corr"], strict=False),
                    less(g["spread"], v["spread"])])
        mg, mv = med["GPE"], med["VAE"]
        rows.append(Claim.from_decision(
            f"GPE preserves geometry better than VAE ({name}): lower GME cost, higher distance correlation, "
            "smaller ratio spread", PAPER,
            f"GME {mg['gme']:.3g} vs {mv['gme']:.3g}; corr {mg['distance_corr']:.3f} vs {mv['distance_corr']:.3f}; "
            f"spread {mg['spread']:.2f} vs {mv['spread']:.2f}", d, id=_mixture_id(str(name)), kind="paper",
            profile=profile))
    return rows
