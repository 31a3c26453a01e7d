"""gpelib.claims.gan_ablation (notebook 09, GMEGAN Fig. 8) on made-up tables, and on the committed quick run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gpelib import profiles
from gpelib.claims import gan_ablation
from gpelib.gan import experiments as gx
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"
ARCHS, SEEDS = ["mlp", "dcgan"], [0, 1]
UNITS = sorted((a, s) for a in ARCHS for s in SEEDS)  # the order values are given in: (dcgan, 0), (dcgan, 1), (mlp, …
FULL, L1, L2, L3 = list(gx.ABLATIONS)  # "", " λ1 = 0 (no GME)", …
#: the paper's picture: every ablation raises the FD, λ3 least; λ1 = 0 varies most across the architectures
PAPER = {FULL: [100.0] * 4, L1: [160.0, 160.0, 140.0, 140.0], L2: [131.0, 131.0, 129.0, 129.0],
         L3: [111.0, 111.0, 109.0, 109.0]}
CLAIMS = ("full_best", "lambda3_least_impact", "lambda1_least_stable")


def _tables(fd: dict | None = None, unsettled: dict | None = None
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(runs, summary, states): both GMEGAN readings with the FD of ``PAPER`` updated by ``fd`` (suffix → values in
    the order of ``UNITS``); every run at its plateau of ``fd`` unless ``unsettled[(variant, arch, seed)]`` gives its
    state."""
    runs, st = [], []
    for label, _ in gx.ABLATED.values():
        for suffix, values in {**PAPER, **(fd or {})}.items():
            v = f"{label}{suffix}"
            for (a, s), x in zip(UNITS, values, strict=True):
                runs.append(dict(dataset="digits", variant=v, arch=a, seed=s, fd=x, relative_std=1.0))
                st.append(dict(dataset="digits", variant=v, arch=a, seed=s, metric="fd",
                               state=(unsettled or {}).get((v, a, s), "plateau")))
    runs = pd.DataFrame(runs)
    return runs, gx.summarize(runs, ["fd", "relative_std"]), pd.DataFrame(st)


def _decide(tables, profile: str = "quick", **kw):
    return gan_ablation.decide(*tables, profile=profile, metric="FD-classifier", archs=ARCHS, seeds=SEEDS, **kw)


def _outcomes(tables, released: bool = False) -> dict[str, str]:
    rows = {r.id: r for r in _decide(tables)}
    return {c: rows[f"gmegan.fig8.{c}" + (".released" if released else "")].outcome for c in CLAIMS}


def test_the_papers_picture_holds():
    assert _outcomes(_tables()) == dict.fromkeys(CLAIMS, "holds")
    assert _outcomes(_tables(), released=True) == dict.fromkeys(CLAIMS, "holds")
    rows = _decide(_tables())
    assert rows[0].claim == ("GMEGAN as printed: removing any regulariser raises the mean FD-classifier "
                             "(full GMEGAN best)")
    assert rows[0].ours == ("GMEGAN 100; GMEGAN λ1 = 0 (no GME): 150, GMEGAN λ2 = 0 (no critic penalty): 130, "
                            "GMEGAN λ3 = 0 (no reconstruction): 110")
    assert rows[1].ours == ("GMEGAN λ1 = 0 (no GME): +50, GMEGAN λ2 = 0 (no critic penalty): +30, "
                            "GMEGAN λ3 = 0 (no reconstruction): +10")
    assert rows[0].note == "paired by (architecture, seed): 'seeds' counts the 4 pairs" and rows[0].seeds == 4
    assert rows[2].note.endswith("; spread = |deviation from the variant's mean over the architectures|")
    assert {r.kind for r in rows} == {"paper"}


def test_full_best_fails_when_an_ablation_is_lower_everywhere_and_straddles_otherwise():
    assert _outcomes(_tables({L2: [90.0] * 4}))["full_best"] == "fails"
    assert _outcomes(_tables({L2: [90.0, 110.0, 90.0, 110.0]}))["full_best"] == "inconclusive"


def test_least_impact_counts_the_absolute_change_whatever_its_direction():
    out = _decide(_tables({L1: [40.0] * 4}))[1]  # λ1 = 0 lowers the FD by 60: a large impact, the wrong way
    assert out.outcome == "holds"
    assert out.note == ("opposite to the paper's direction: GMEGAN λ1 = 0 (no GME); paired by (architecture, seed): "
                        "'seeds' counts the 4 pairs")
    assert _outcomes(_tables({L3: [200.0] * 4}))["lambda3_least_impact"] == "fails"
    # λ3's change 10 or 40 against λ2's 30 on every pair: straddles
    assert _outcomes(_tables({L3: [110.0, 140.0, 110.0, 140.0]}))["lambda3_least_impact"] == "inconclusive"


def test_least_stable_fails_when_lambda1_is_steady_and_straddles_when_it_is_on_one_seed_only():
    assert _outcomes(_tables({L1: [150.0] * 4}))["lambda1_least_stable"] == "fails"
    # λ1's deviation from its mean over the architectures: 10 on seed 0, 0 on seed 1; λ2's 1 on both
    assert _outcomes(_tables({L1: [160.0, 150.0, 140.0, 150.0]}))["lambda1_least_stable"] == "inconclusive"


def test_a_run_off_its_plateau_makes_its_readings_claims_inconclusive():
    t = _tables(unsettled={("GMEGAN-released λ3 = 0 (no reconstruction)", "dcgan", 0): "oscillating"})
    assert _outcomes(t, released=True) == dict.fromkeys(CLAIMS, "inconclusive")
    assert _outcomes(t) == dict.fromkeys(CLAIMS, "holds")
    note = _decide(t)[3].note
    assert note.startswith("own runs not at their plateau: GMEGAN-released λ3 = 0 (no reconstruction) dcgan s0 "
                           "oscillating")


def test_an_inconclusive_row_at_plateau_says_its_interval_straddles():
    row = _decide(_tables({L2: [90.0, 110.0, 90.0, 110.0]}))[0]
    assert row.outcome == "inconclusive" and "the interval straddles with every own run at its plateau" in row.note


def test_smoke_decides_nothing_and_ids_are_the_same_in_every_profile():
    by_profile = {p: _decide(_tables(), profile=p) for p in ("smoke", "quick", "paper")}
    assert {r.outcome for r in by_profile["smoke"]} == {"n/a"}
    assert {r.outcome for r in by_profile["paper"]} == {"holds"}
    ids = [[r.id for r in rows] for rows in by_profile.values()]
    assert ids[0] == ids[1] == ids[2] == [f"gmegan.fig8.{c}" for c in CLAIMS] + [f"gmegan.fig8.{c}.released"
                                                                               for c in CLAIMS]
    assert all(ID_PATTERN.match(i) for i in ids[0])


def test_a_profile_that_cannot_reach_the_plateau_gives_n_a_with_its_reason():
    decided, rows = _decide(_tables()), _decide(_tables(), undecided="decided by the paper profile")
    assert [r.id for r in rows] == [r.id for r in decided] and {r.outcome for r in rows} == {"n/a"}
    assert all(r.note == f"decided by the paper profile; {d.note}" for r, d in zip(rows, decided))
    assert profiles.preset("09", "quick")["undecided"] == profiles.preset("08", "quick")["undecided"]
    assert profiles.preset("09", "paper")["undecided"] is None


def test_the_ablations_must_be_the_full_method_then_three():
    with pytest.raises(ValueError, match="ablations"):
        _decide(_tables(), ablations=[L1, L2, L3])


def test_committed_quick_run(assert_committed_verdict):
    """The committed figures/09_{runs,summary,states}.csv give the committed figures/09_verdict.csv."""
    s = profiles.preset("09", "quick")
    runs, summary, states = (pd.read_csv(FIGURES / f"09_{t}.csv") for t in ("runs", "summary", "states"))
    rows = gan_ablation.decide(runs, summary, states, profile="quick", metric=runs["metric"].iloc[0],
                               archs=s["archs"], seeds=s["seeds"], undecided=s["undecided"])
    assert_committed_verdict(rows, "09")


def test_the_variants_are_the_committed_runs():
    """gpelib.gan.experiments.ablation_variants names exactly the variants of the committed 09_runs.csv, in order."""
    variants = gx.ablation_variants()
    assert list(variants) == list(pd.unique(pd.read_csv(FIGURES / "09_runs.csv")["variant"]))
    assert variants["GMEGAN λ1 = 0 (no GME)"] == ("gmegan", {"lambda1": 0.0})
    assert variants["GMEGAN-released"] == ("gmegan_released", {})
