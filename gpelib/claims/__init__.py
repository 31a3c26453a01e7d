"""Claims as code: every notebook's verdict rows, decided from its result tables by tested functions.

Each module holds one notebook's claims as a function ``decide(...)`` that takes the notebook's result tables
(tidy DataFrames, the ones it saves as CSV) and the profile, and returns its rows as :class:`~gpelib.verdicts.Claim`
objects, each with a stable ``id`` (``gpe.table1.mnist.loss_0.1.small_eps``) and a ``kind`` — ``paper`` (a claim the
paper makes), ``check`` (ours: a control, a mechanism test, a metric's floor) or ``sanity`` (cannot fail, not
counted). The decision rules themselves (medians and intervals over seeds, censoring, convergence) are those of
:mod:`gpelib.verdicts`; a claim function only says which rule a claim uses, on which numbers, and how its row reads.

=========================  ==========  ============================================================
module                     notebook    what it decides
=========================  ==========  ============================================================
:mod:`.mixtures`           01          GPE Fig. 3: geometry preserved on held-out mixture points
:mod:`.distance_ratios`    02          GMEGAN Fig. 3 and Theorem 1 (GPE Theorem 2)
:mod:`.encoder_eps`        03          GPE Fig. 4: smaller ε, faster decoder
:mod:`.table1`             04          GPE Table 1, Figs. 5–7, the β sweep and the protocol map
:mod:`.wallclock`          05          GPE Fig. 8, Table 2
:mod:`.generation`         06          GPE Figs. 9–10
:mod:`.gan_mixtures`       07          GMEGAN Figs. 4–5, Theorem 3
:mod:`.gan_images`         08          GMEGAN Figs. 6–7
:mod:`.gan_ablation`       09          GMEGAN Fig. 8
:mod:`.theory`             10          the propositions and theorems of both papers
=========================  ==========  ============================================================
"""

from __future__ import annotations

from ..verdicts import ID_PATTERN, KINDS, Claim

__all__ = ["Claim", "KINDS", "ID_PATTERN", "NOTEBOOK_MODULES"]

#: Which module of this package decides each notebook's claims.
NOTEBOOK_MODULES: dict[str, str] = {
    "01": "mixtures", "02": "distance_ratios", "03": "encoder_eps", "04": "table1", "05": "wallclock",
    "06": "generation", "07": "gan_mixtures", "08": "gan_images", "09": "gan_ablation", "10": "theory",
}
