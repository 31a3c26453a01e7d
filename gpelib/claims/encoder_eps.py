"""Notebook 03's claims: GPE Fig. 4 — an encoder stopped at a smaller GME cost ε makes its decoder train faster.

Per seed, GPE encoders stopped at several ε (loosest first), each followed by identical decoder training. Every
rule compares the encoders in order of their target ε, paired by seed (:func:`gpelib.verdicts.shrinks`):

==================================  ======  =================================================================
id                                  kind    rule
==================================  ======  =================================================================
``gpe.fig4.loss_curve``             paper   the mean decoder training loss over the budget (the area under
                                            Fig. 4's curve) decreases strictly as ε decreases
``gpe.fig4.iterations.threshold1``  paper   the decoder iterations to reach the first (loosest) loss threshold
``gpe.fig4.iterations.threshold2``  paper   … the second: never increase as ε decreases, and the tightest ε
                                            reaches it within the budget (:func:`~gpelib.verdicts.sooner` than
                                            the budget; "never" is censored at the budget)
``gpe.fig4.spread``                 paper   the held-out bi-Lipschitz spread ``q95/q05`` decreases strictly as ε
                                            decreases (Theorem 1 / §8.2: small ε ⇒ near-isometry)
==================================  ======  =================================================================

The thresholds' ids name their rank (``threshold1`` the loosest), not their value, so they are the same in every
profile (quick's MNIST thresholds are not the paper's CIFAR10 ones).
"""

from __future__ import annotations

import pandas as pd

from ..verdicts import Claim, all_of, censor, shrinks, sooner, value_text

__all__ = ["decide"]


def decide(encoders: pd.DataFrame, counts: pd.DataFrame, *, profile: str) -> list[Claim]:
    """The verdict rows of notebook 03 (see the module's table).

    ``encoders``: ``03_encoders.csv`` — per (``seed``, ``method``) the encoder's ``eps_target``, reached ``eps`` and
    held-out ``spread``. ``counts``: ``03_iterations_to_threshold.csv`` — per (``seed``, ``method``,
    ``threshold``) the decoder ``iterations`` to reach it (empty: never within ``budget``, the decoder's iteration
    budget, one value) and the ``mean_train_loss`` over the whole budget.
    """
    targets = encoders.drop_duplicates("method").set_index("method")["eps_target"]
    order = targets.sort_values(ascending=False, kind="stable").index.tolist()  # loosest encoder first
    budgets = counts["budget"].unique()
    if len(budgets) != 1:
        raise ValueError(f"every decoder of notebook 03 has the same budget; got {sorted(budgets)}")
    budget = int(budgets[0])
    seeds = sorted(encoders.seed.unique())

    def per_seed(df: pd.DataFrame, col: str, k: str) -> list:
        return df[df.method == k].sort_values("seed")[col].tolist()

    first = counts.drop_duplicates(["seed", "method"])
    auc = [per_seed(first, "mean_train_loss", k) for k in order]
    eps_text = "; ".join(f"{k}: reached {pd.Series(per_seed(encoders, 'eps', k)).median():.3g}" for k in order)
    rows = [Claim.from_decision(
        "Smaller ε ⇒ lower decoder loss curve (mean training MSE over the budget decreases with ε)",
        "Fig. 4 (CIFAR10): the smaller-ε curves lie below", eps_text, shrinks(auc), id="gpe.fig4.loss_curve",
        kind="paper", profile=profile)]
    thresholds = sorted(counts.threshold.unique(), reverse=True)  # loosest first
    for i, t in enumerate(thresholds, start=1):
        at_t = counts[counts.threshold == t]
        v = [censor(per_seed(at_t, "iterations", k), budget) for k in order]
        rows.append(Claim.from_decision(
            f"Smaller ε ⇒ no more decoder iterations to reach loss {t:g}", "Fig. 4 (CIFAR10): faster convergence "
            "for smaller ε", "per seed, loosest ε first: " + "; ".join(", ".join(map(value_text, vs)) for vs in v)
            + f" (budget {budget:,})",
            all_of([shrinks(v, strict=False),  # and the tightest ε reaches it
                    sooner(v[-1], [budget] * len(seeds), budget_a=budget)]),
            id=f"gpe.fig4.iterations.threshold{i}", kind="paper", profile=profile))
    rows.append(Claim.from_decision(
        "Smaller ε ⇒ smaller empirical bi-Lipschitz spread q95/q05 (held-out pairs)",
        "Theorem 1 / §8.2: small ε ⇒ bi-Lipschitz constant near 1", eps_text,
        shrinks([per_seed(encoders, "spread", k) for k in order]), id="gpe.fig4.spread", kind="paper",
        profile=profile))
    return rows
