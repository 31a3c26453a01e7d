"""gpelib.claims.gan_mixtures (notebook 07, GMEGAN Figs. 4–5 and Theorem 3) on made-up tables, and on the committed
quick run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gpelib import profiles, reporting
from gpelib.claims import gan_mixtures
from gpelib.gan import experiments as gx
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"
REFS = ("GMEGAN", "GMEGAN-released")
VARIANTS = ["GMEGAN", "GMEGAN-mean", "GMEGAN-released", *gan_mixtures.BASELINES]
METRICS = ["modes_covered", "high_quality", "transport_agreement", "monotonicity", "cyclic3", "cyclic3_encoder",
           "energy"]
#: every method, every seed (three): a middling baseline
BASE = dict(modes_covered=[3.0] * 3, high_quality=[0.5] * 3, transport_agreement=[0.3] * 3, monotonicity=[0.9] * 3,
            cyclic3=[0.9] * 3, cyclic3_encoder=[0.9] * 3, energy=[1.0] * 3)
#: GMEGAN better than every baseline on every claim
GOOD = dict(modes_covered=[9.0] * 3, high_quality=[0.9] * 3, transport_agreement=[0.8] * 3, cyclic3=[1.0] * 3,
            cyclic3_encoder=[1.0, 0.995, 0.99], energy=[0.25] * 3)
NAME = "9 modes in R^100"


def _tables(gmegan: dict | None = None, others: dict | None = None, state: dict | None = None, name: str = NAME
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(runs, summary, states) of one mixture: both GMEGAN readings get ``GOOD`` updated by ``gmegan``; a baseline
    ``BASE`` updated by ``others[variant]``; every run at its plateau on every metric unless
    ``state[(variant, seed, metric)]`` says otherwise."""
    runs, st = [], []
    for v in VARIANTS:
        vals = {**BASE, **GOOD, **(gmegan or {})} if v in REFS else {**BASE, **(others or {}).get(v, {})}
        for s in range(3):
            runs.append(dict(dataset=name, variant=v, seed=s, **{m: vals[m][s] for m in METRICS}))
            for metric in ("modes_covered", "transport_agreement", "val_loss", "cyclic3_encoder"):
                st.append(dict(dataset=name, variant=v, seed=s, metric=metric,
                               state=(state or {}).get((v, s, metric), "plateau")))
    runs = pd.DataFrame(runs)
    return runs, gx.summarize(runs, METRICS), pd.DataFrame(st)


def _rows(*tables, profile: str = "quick", **kw) -> dict:
    rows = gan_mixtures.decide(*tables, profile=profile, **kw)
    return {r.id: r for r in rows}


def _one(tables, claim: str, ref: str = "GMEGAN", shape: str = "9x100"):
    return _rows(*tables)[f"gmegan.fig5.{shape}.{claim}" + ("" if ref == "GMEGAN" else ".released")]


# --------------------------------------------------------------------------------------------- modes covered


def test_modes_hold_when_gmegan_covers_more_and_ties_are_allowed():
    row = _one(_tables(), "modes")
    assert row.outcome == "holds" and row.kind == "paper" and row.seeds == 3
    assert row.claim == f"{NAME}: GMEGAN as printed covers at least as many modes as every baseline (median over seeds)"
    assert row.ours.startswith("GMEGAN 9/9 (high quality 0.90); GAN 3; WGAN 3")
    tie = _tables(others={"OTM": dict(modes_covered=[9.0] * 3)})  # a tie is "at least as many"
    assert _one(tie, "modes").outcome == "holds"


def test_modes_fail_when_a_baseline_covers_more():
    t = _tables(gmegan=dict(modes_covered=[2.0] * 3))
    assert _one(t, "modes").outcome == "fails"
    assert _one(t, "modes", "GMEGAN-released").outcome == "fails"


def test_modes_inconclusive_when_seeds_straddle():
    t = _tables(gmegan=dict(modes_covered=[5.0, 6.0, 7.0]), others={"WGAN": dict(modes_covered=[6.0] * 3)})
    assert _one(t, "modes").outcome == "inconclusive"


def test_a_baseline_off_its_plateau_is_named_but_does_not_veto():
    rows = _rows(*_tables(state={("VEEGAN", 1, "modes_covered"): "oscillating"}))
    row = rows["gmegan.fig5.9x100.modes"]
    assert row.outcome == "holds" and "VEEGAN s1 oscillating" in row.note and "no veto" in row.note
    assert "VEEGAN" not in rows["gmegan.fig5.9x100.transport"].note  # judged on its own metric only


def test_gmegan_off_its_plateau_makes_its_claims_inconclusive():
    rows = _rows(*_tables(state={("GMEGAN", 2, "transport_agreement"): "improving"}))
    row = rows["gmegan.fig5.9x100.transport"]
    assert row.outcome == "inconclusive" and "GMEGAN s2 improving" in row.note
    assert rows["gmegan.fig5.9x100.modes"].outcome == "holds"  # another metric, at its plateau
    assert rows["gmegan.fig5.9x100.transport.released"].outcome == "holds"  # the other reading
    spread = _rows(*_tables(state={("GMEGAN", 0, "val_loss"): "worsening"}))["gmegan.fig5.9x100.seed_spread"]
    assert spread.outcome == "inconclusive" and "GMEGAN s0 worsening" in spread.note


# ---------------------------------------------------------------------------------------- transport agreement


def test_transport_holds_fails_on_a_tie_and_straddles():
    assert _one(_tables(), "transport").outcome == "holds"
    straddle_at_plateau = _one(_tables(gmegan=dict(transport_agreement=[0.2, 0.35, 0.5])), "transport")
    assert "straddles with every own run at its plateau" in straddle_at_plateau.note
    tie = _tables(gmegan=dict(transport_agreement=[0.3] * 3))  # strictly more often: a tie fails
    assert _one(tie, "transport").outcome == "fails"
    straddle = _tables(gmegan=dict(transport_agreement=[0.2, 0.35, 0.5]))
    assert _one(straddle, "transport").outcome == "inconclusive"


def test_transport_on_the_d100_mixture_leaves_out_the_two_baselines_the_paper_finds_monotone():
    both_monotone = {"WGAN-GP": dict(transport_agreement=[0.9] * 3), "WGAN-div": dict(transport_agreement=[0.9] * 3)}
    row = _one(_tables(others=both_monotone), "transport")
    assert row.outcome == "holds" and "except WGAN-GP and WGAN-div" in row.claim
    t500 = _tables(others=both_monotone, name="12 modes in R^500")
    assert _one(t500, "transport", shape="12x500").outcome == "fails"  # not on D = 500
    assert "except" not in _one(t500, "transport", shape="12x500").claim


# ------------------------------------------------------------------------------------------ spread over seeds


def test_seed_spread_holds_when_gmegan_is_the_steadiest():
    row = _one(_tables(others={"GAN": dict(energy=[0.5, 1.0, 2.0])}), "seed_spread")
    assert row.outcome == "holds"
    assert row.detail.startswith("per-seed |deviation from the method's mean| of modes: GMEGAN rank 1 of 8")


def test_seed_spread_fails_when_gmegan_varies_on_every_seed_and_a_baseline_does_not():
    row = _one(_tables(gmegan=dict(energy=[1.0, 2.0, 4.0])), "seed_spread")
    assert row.outcome == "fails"


def test_seed_spread_inconclusive_when_one_seed_sits_at_the_mean():
    row = _one(_tables(gmegan=dict(energy=[1.0, 2.0, 3.0])), "seed_spread")  # deviations 1, 0, 1 against 0, 0, 0
    assert row.outcome == "inconclusive"


# ---------------------------------------------------------------------------------------------------- Theorem 3


def test_theorem_3_holds_at_99_percent_and_fails_below():
    assert _one(_tables(), "cyclic_monotone").outcome == "holds"
    row = _one(_tables(gmegan=dict(cyclic3_encoder=[1.0, 0.98, 1.0])), "cyclic_monotone")
    assert row.outcome == "fails" and row.detail == "min margin -0.01 over 3 value(s)" and row.seeds is None


def test_theorem_3_inconclusive_when_gmegan_itself_is_off_its_plateau():
    rows = _rows(*_tables(state={("GMEGAN-released", 2, "cyclic3_encoder"): "oscillating",
                                 ("VAEGAN", 0, "cyclic3_encoder"): "improving"}))
    row = rows["gmegan.fig5.9x100.cyclic_monotone.released"]
    assert row.outcome == "inconclusive" and "GMEGAN-released s2 oscillating" in row.note
    assert rows["gmegan.fig5.9x100.cyclic_monotone"].outcome == "holds"  # the other reading is not behind it
    assert "VAEGAN" not in rows["gmegan.fig5.9x100.cyclic_monotone"].note  # Thm 3 is about GMEGAN alone


# ------------------------------------------------------------------------------------------------ ids, profiles


def test_smoke_decides_nothing_and_ids_are_the_same_in_every_profile():
    both = [pd.concat(parts, ignore_index=True) for parts in zip(_tables(), _tables(name="12 modes in R^500"))]
    by_profile = {p: gan_mixtures.decide(*both, profile=p) for p in ("smoke", "quick", "paper")}
    assert {r.outcome for r in by_profile["smoke"]} == {"n/a"}
    assert {r.outcome for r in by_profile["paper"]} == {"holds"}
    ids = [[r.id for r in rows] for rows in by_profile.values()]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 16 == len(set(ids[0]))
    assert all(ID_PATTERN.match(i) for i in ids[0])
    assert "gmegan.fig5.12x500.modes" in ids[0]  # the README's headline
    assert ids[0][:4] == ["gmegan.fig5.9x100.modes", "gmegan.fig5.9x100.transport", "gmegan.fig5.9x100.seed_spread",
                          "gmegan.fig5.9x100.cyclic_monotone"]
    assert {r.kind for r in by_profile["quick"]} == {"paper"}


def test_datasets_give_the_order_and_an_unreadable_name_is_an_error():
    both = [pd.concat(parts, ignore_index=True) for parts in zip(_tables(), _tables(name="12 modes in R^500"))]
    rows = gan_mixtures.decide(*both, profile="quick", datasets=["12 modes in R^500", NAME])
    assert rows[0].id == "gmegan.fig5.12x500.modes" and rows[0].ours.startswith("GMEGAN 9/12")
    with pytest.raises(ValueError, match="modes in R"):
        gan_mixtures.decide(*_tables(name="nine modes"), profile="quick")


# ------------------------------------------------------------------------------------------- the committed run


def test_committed_quick_run(assert_committed_verdict):
    """The committed figures/07_{runs,summary,states}.csv give the committed figures/07_verdict.csv."""
    s = profiles.preset("07", "quick")
    runs, summary, states = (pd.read_csv(FIGURES / f"07_{t}.csv") for t in ("runs", "summary", "states"))
    rows = gan_mixtures.decide(runs, summary, states, profile="quick", datasets=[d.name for d in s["datasets"]])
    assert_committed_verdict(rows, "07")


def test_the_notebooks_compute_table_from_the_committed_runs(tmp_path):
    """gpelib.gan.experiments.state_counts (notebook 07's compute cell) writes the committed 07_compute.csv."""
    s = profiles.preset("07", "quick")
    compute = gx.state_counts(pd.read_csv(FIGURES / "07_runs.csv")).assign(cap=s["cap"],
                                                                          min_iteration=s["min_iteration"])
    reporting.save_table(compute, tmp_path, "07_compute", keys=["dataset", "variant"])
    assert (tmp_path / "07_compute.csv").read_bytes() == (FIGURES / "07_compute.csv").read_bytes()
