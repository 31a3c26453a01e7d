"""When a run counts as converged (SPEC §2 "Plateau"): the limits shared by the experiments that measure a run's late
improvement (:func:`gpelib.gan.experiments.late_improvement`) and the verdicts that rest on converged runs
(:func:`gpelib.verdicts.converged_or_inconclusive`). A ground-floor module, so that neither has to import the other.
"""

from __future__ import annotations

__all__ = ["LATE_LIMIT"]

LATE_LIMIT = 0.10
"""SPEC §2: a run has not converged while its held-out metric still falls by more than this over the last fifth."""
