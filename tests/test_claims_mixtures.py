"""gpelib.claims.mixtures (notebook 01, GPE Fig. 3) on made-up tables, and on the committed quick run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gpelib.claims import mixtures
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"


def _table(gpe: dict, vae: dict, name: str = "9 modes in R^100", seeds: list[int] | None = None) -> pd.DataFrame:
    """One mixture's geometry table; values are scalars (one seed) or lists (one per seed)."""
    rows = []
    for method, vals in (("GPE", gpe), ("VAE", vae)):
        if seeds is None:
            rows.append(dict(method=method, dataset=name, **vals))
        else:
            rows += [dict(seed=s, method=method, dataset=name, **{k: v[i] for k, v in vals.items()})
                     for i, s in enumerate(seeds)]
    return pd.DataFrame(rows)


GOOD = dict(gme=0.01, distance_corr=0.999, spread=1.2)
BAD = dict(gme=4.5, distance_corr=0.6, spread=20.0)


def test_holds_when_gpe_is_better_on_all_three():
    (row,) = mixtures.decide(_table(GOOD, BAD), profile="quick")
    assert row.outcome == "holds" and row.kind == "paper" and row.seeds == 1
    assert row.id == "gpe.fig3.geometry.9x100"
    assert row.ours == "GME 0.01 vs 4.5; corr 0.999 vs 0.600; spread 1.20 vs 20.00"


@pytest.mark.parametrize("worse", ["gme", "distance_corr", "spread"])
def test_fails_when_any_part_goes_the_other_way(worse):
    gpe = dict(GOOD, **{worse: BAD[worse]})
    vae = dict(BAD, **{worse: GOOD[worse]})
    (row,) = mixtures.decide(_table(gpe, vae), profile="quick")
    assert row.outcome == "fails"


def test_equal_correlation_is_enough_but_equal_cost_is_not():
    (row,) = mixtures.decide(_table(GOOD, dict(BAD, distance_corr=GOOD["distance_corr"])), profile="quick")
    assert row.outcome == "holds"
    (row,) = mixtures.decide(_table(GOOD, dict(BAD, gme=GOOD["gme"])), profile="quick")
    assert row.outcome == "fails"


def test_inconclusive_when_seeds_straddle():
    """Three seeds, paired: the spread differences −1, +0.5, +2 straddle 0 while the other two parts hold."""
    gpe = dict(gme=[0.01] * 3, distance_corr=[0.99] * 3, spread=[1.0, 2.0, 3.0])
    vae = dict(gme=[4.0] * 3, distance_corr=[0.6] * 3, spread=[2.0, 1.5, 1.0])
    (row,) = mixtures.decide(_table(gpe, vae, seeds=[0, 1, 2]), profile="quick")
    assert row.outcome == "inconclusive" and row.seeds == 3
    assert "spread 2.00 vs 1.50" in row.ours  # medians over seeds


def test_smoke_decides_nothing_and_ids_are_the_same_in_every_profile():
    table = pd.concat([_table(GOOD, BAD), _table(GOOD, BAD, name="12 modes in R^500")], ignore_index=True)
    by_profile = {p: mixtures.decide(table, profile=p) for p in ("smoke", "quick", "paper")}
    assert [r.outcome for r in by_profile["smoke"]] == ["n/a", "n/a"]
    assert [r.outcome for r in by_profile["paper"]] == ["holds", "holds"]
    ids = [[r.id for r in rows] for rows in by_profile.values()]
    assert ids[0] == ids[1] == ids[2] == ["gpe.fig3.geometry.9x100", "gpe.fig3.geometry.12x500"]
    assert all(ID_PATTERN.match(i) for i in ids[0])


def test_a_mixture_name_it_cannot_read_is_an_error():
    with pytest.raises(ValueError, match="modes in R"):
        mixtures.decide(_table(GOOD, BAD, name="nine modes"), profile="quick")


def test_committed_quick_run(assert_committed_verdict):
    """The committed figures/01_encoder_geometry.csv gives the committed figures/01_verdict.csv."""
    rows = mixtures.decide(pd.read_csv(FIGURES / "01_encoder_geometry.csv"), profile="quick")
    assert_committed_verdict(rows, "01")
