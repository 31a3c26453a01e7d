"""gpelib.claims.encoder_eps (notebook 03, GPE Fig. 4) on made-up tables and on the committed quick run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpelib.claims import encoder_eps
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"
SEEDS = [0, 1, 2]
EPS = [0.06, 0.03, 0.02]  # loosest first, as the presets list them
IDS = ["gpe.fig4.loss_curve", "gpe.fig4.iterations.threshold1", "gpe.fig4.iterations.threshold2", "gpe.fig4.spread"]
BUDGET = 3000


def _tables(*, auc=None, spread=None, its1=None, its2=None, eps=EPS, thresholds=(0.1, 0.06)):
    """``encoders`` and ``counts`` for three encoders × three seeds; each argument is one list of per-seed values per
    encoder, loosest ε first (defaults: every quantity falls with ε). ``None`` in ``its*``: never reached."""
    auc = auc or [[0.09, 0.088, 0.089], [0.075, 0.074, 0.073], [0.066, 0.067, 0.068]]
    spread = spread or [[1.45, 1.46, 1.5], [1.3, 1.29, 1.31], [1.24, 1.25, 1.23]]
    its1 = its1 or [[416, 492, 483], [288, 211, 248], [164, 181, 193]]
    its2 = its2 or [[None, None, None], [2211, 1765, 1931], [1290, 1135, 1293]]
    methods = [f"GPE ε={e:g}" for e in eps]
    enc, cnt = [], []
    for s in SEEDS:
        for j, (m, e) in enumerate(zip(methods, eps)):
            enc.append(dict(seed=s, method=m, eps_target=e, eps=0.97 * e, spread=spread[j][s]))
            for t, its in zip(thresholds, (its1, its2)):
                cnt.append(dict(seed=s, method=m, threshold=t, iterations=np.nan if its[j][s] is None else its[j][s],
                                budget=BUDGET, mean_train_loss=auc[j][s]))
    return pd.DataFrame(enc), pd.DataFrame(cnt)


def _decide(profile="quick", **kw):
    return {r.id: r for r in encoder_eps.decide(*_tables(**kw), profile=profile)}


def test_everything_holds_when_each_quantity_falls_with_eps():
    rows = _decide()
    assert list(rows) == IDS
    assert {r.outcome for r in rows.values()} == {"holds"} and {r.kind for r in rows.values()} == {"paper"}
    assert rows["gpe.fig4.iterations.threshold2"].ours == ("per seed, loosest ε first: > 3,000, > 3,000, > 3,000; "
                                                           "2,211, 1,765, 1,931; 1,290, 1,135, 1,293 (budget 3,000)")
    assert rows["gpe.fig4.iterations.threshold1"].claim.endswith("to reach loss 0.1")
    assert rows["gpe.fig4.spread"].ours.startswith("GPE ε=0.06: reached 0.0582; GPE ε=0.03")


def test_order_comes_from_the_targets_not_the_table():
    """Rows listed tightest first still compare loosest → tightest."""
    enc, cnt = _tables()
    rows = encoder_eps.decide(enc.iloc[::-1], cnt.iloc[::-1], profile="quick")
    assert [r.outcome for r in rows] == ["holds"] * 4


@pytest.mark.parametrize(("kw", "row", "outcome"), [
    (dict(auc=[[0.06, 0.061, 0.062], [0.075, 0.074, 0.073], [0.09, 0.088, 0.089]]), "gpe.fig4.loss_curve", "fails"),
    (dict(auc=[[0.09, 0.07, 0.08], [0.08, 0.08, 0.07], [0.07, 0.09, 0.075]]), "gpe.fig4.loss_curve",
     "inconclusive"),
    (dict(spread=[[1.2, 1.2, 1.2], [1.3, 1.3, 1.3], [1.4, 1.4, 1.4]]), "gpe.fig4.spread", "fails"),
    (dict(spread=[[1.3, 1.2, 1.4], [1.2, 1.4, 1.3], [1.1, 1.3, 1.35]]), "gpe.fig4.spread", "inconclusive"),
    # tighter ε needs more iterations on every seed
    (dict(its1=[[100, 110, 120], [200, 210, 220], [300, 310, 320]]), "gpe.fig4.iterations.threshold1", "fails"),
    # equal counts are "no more" iterations
    (dict(its1=[[200, 200, 200]] * 3), "gpe.fig4.iterations.threshold1", "holds"),
    # the steps straddle 0 over seeds
    (dict(its1=[[300, 200, 250], [200, 300, 240], [150, 160, 170]]), "gpe.fig4.iterations.threshold1",
     "inconclusive"),
    # the tightest ε never reaches it within the budget
    (dict(its2=[[None] * 3] * 3), "gpe.fig4.iterations.threshold2", "fails"),
    # the two loosest never reach it: censoring leaves their step open
    (dict(its2=[[None] * 3, [None] * 3, [1290, 1135, 1293]]), "gpe.fig4.iterations.threshold2", "inconclusive"),
])
def test_each_rule_can_fail_or_stay_open(kw, row, outcome):
    assert _decide(**kw)[row].outcome == outcome


def test_one_budget():
    enc, cnt = _tables()
    cnt.loc[0, "budget"] = 4000
    with pytest.raises(ValueError, match="same budget"):
        encoder_eps.decide(enc, cnt, profile="quick")


def test_smoke_decides_nothing_and_ids_are_the_same_in_every_profile():
    """Also with the paper's ε and thresholds: the ids name ranks, never a profile's values."""
    by_profile = {p: _decide(profile=p, eps=e, thresholds=t)
                  for p, e, t in (("smoke", [0.5, 0.2, 0.1], (0.1, 0.04)), ("quick", EPS, (0.1, 0.06)),
                                  ("paper", [0.03, 0.01, 0.003], (0.1, 0.015)))}
    assert {r.outcome for r in by_profile["smoke"].values()} == {"n/a"}
    assert all(list(rows) == IDS for rows in by_profile.values())
    assert all(ID_PATTERN.match(i) for i in IDS)


def test_committed_quick_run(assert_committed_verdict):
    """The committed figures/03_encoders.csv and 03_iterations_to_threshold.csv give the committed 03_verdict.csv."""
    rows = encoder_eps.decide(pd.read_csv(FIGURES / "03_encoders.csv"),
                              pd.read_csv(FIGURES / "03_iterations_to_threshold.csv"), profile="quick")
    assert_committed_verdict(rows, "03")
