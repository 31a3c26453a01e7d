"""gpelib.verdicts: every rule on constructed inputs whose answer is known, including the ways a verdict can fail."""

import math

import numpy as np
import pandas as pd
import pytest

from gpelib import verdicts as V
from gpelib.verdicts import FAILS, HOLDS, INCONCLUSIVE, NA, SANITY

# ------------------------------------------------------------------------------------------- censoring, intervals


def test_censor_turns_never_into_a_lower_bound_at_the_budget():
    assert V.censor([3, None, float("nan"), pd.NA], budget=100) == [3.0] + [V.Censored(100.0)] * 3
    assert V.censor([None, 5], budget=[7, 9]) == [V.Censored(7.0), 5.0]
    assert V.censor(pd.Series([1, None], dtype="Int64"), 10) == [1.0, V.Censored(10.0)]
    with pytest.raises(ValueError, match="budget"):
        V.censor([None, 3])
    assert str(V.Censored(6000)) == "> 6,000" and str(V.Censored(0.5)) == "> 0.5"


def test_order_statistics_coverage():
    assert V.coverage(1, 1) == 0.0  # one seed: a point, no interval
    assert V.coverage(3, 1) == pytest.approx(0.75)
    assert V.coverage(5, 1) == pytest.approx(1 - 2 / 32)
    assert V.coverage(10, 2) == pytest.approx(1 - 2 * 11 / 1024)
    # ten seeds at level 0.9 use [x_(2), x_(9)]: the extremes are dropped
    d = V.greater([-5.0] + [1.0] * 9, [0.0] * 10)
    assert d.outcome == HOLDS and d.low == 1.0 and d.coverage == pytest.approx(V.coverage(10, 2))
    with pytest.raises(ValueError):
        V.coverage(3, 3)


# ------------------------------------------------------------------------------------------------------- sooner


def test_sooner_one_seed_reached_both_sides():
    d = V.sooner(122, 144)
    assert d.outcome == HOLDS and d.seeds == 1 and d.estimate == pytest.approx(144 / 122)
    assert d.low == d.high == pytest.approx(144 / 122)  # one seed: the interval is the point
    assert V.sooner(527, 355).outcome == FAILS
    assert V.sooner(300, 300).outcome == FAILS  # a tie is not sooner


def test_sooner_never_reached_on_one_side():
    # a reached, b never within its budget: b > 6000 > 314
    assert V.sooner(314, None, budget_b=6000).outcome == HOLDS
    # a never reached within 1000 while b got there at 500: a is not sooner
    assert V.sooner(None, 500, budget_a=1000).outcome == FAILS
    # a never reached within 100, b at 500: a may still have got there before 500
    d = V.sooner(None, 500, budget_a=100)
    assert d.outcome == INCONCLUSIVE and d.high == pytest.approx(5.0) and d.low == 0.0
    # b never within a budget below a's count: b may have been sooner or later
    assert V.sooner(900, None, budget_b=500).outcome == INCONCLUSIVE


def test_sooner_never_reached_on_both_sides_is_inconclusive():
    d = V.sooner(None, None, budget_a=6000, budget_b=6000)
    assert d.outcome == INCONCLUSIVE and math.isnan(d.estimate)
    assert "n/a" in d.detail
    with pytest.raises(ValueError, match="budget"):
        V.sooner(None, 10)


def test_sooner_three_seeds_interval():
    a_fast, b_slow = [100, 110, 120], [200, 210, 150]
    sep = V.sooner(a_fast, b_slow)
    assert sep.outcome == HOLDS and sep.seeds == 3 and sep.coverage == pytest.approx(0.75)
    assert sep.low == pytest.approx(1.25) and sep.high == pytest.approx(2.0)  # [min, max] of the paired ratios
    assert sep.estimate == pytest.approx(210 / 110)
    assert "[1.25, 2]" in sep.detail and "3 seeds" in sep.detail
    assert V.sooner(b_slow, a_fast).outcome == FAILS  # reversed
    straddle = V.sooner([100, 110, 220], [200, 210, 150])
    assert straddle.outcome == INCONCLUSIVE
    # the same first seed alone would have decided: one seed can mislead, three straddle
    assert V.sooner(100, 200).outcome == HOLDS


def test_sooner_three_seeds_with_censoring():
    # one seed of a never reached within 1000 although b took 150: that seed's ratio is < 0.15, so no decision
    d = V.sooner([100, 110, None], [200, 210, 150], budget_a=1000)
    assert d.outcome == INCONCLUSIVE and d.low == 0.0
    # b never reached in two seeds: the median ratio is only bounded below, yet every seed shows a sooner
    d = V.sooner([100, 110, 120], [None, None, 150], budget_b=1000)
    assert d.outcome == HOLDS and math.isnan(d.estimate) and math.isinf(d.high)
    assert d.detail.startswith("> ")


def test_unpaired_when_seed_counts_differ():
    d = V.sooner([100, 110, 120], [300, 310, 320, 330, 340])
    assert d.outcome == HOLDS and d.seeds == 3
    assert d.low == pytest.approx(300 / 120)  # min of b's over max of a's: the two medians' intervals apart
    with pytest.raises(ValueError, match="paired"):
        V.sooner([1, 2], [3, 4, 5], paired=True)


# ------------------------------------------------------------------------------------------------------- ratios


def test_ratio_summary_lower_bound_when_only_the_denominator_reached():
    r = V.ratio_summary(None, 314, budget_num=6000)
    assert math.isnan(r.ratio) and r.lower_bound == pytest.approx(6000 / 314) and math.isinf(r.upper_bound)
    assert V.format_ratio(r) == "> 19.1×"
    r = V.ratio_summary(314, None, budget_den=6000)
    assert V.format_ratio(r) == f"< {314 / 6000:.3g}×"


def test_ratio_interval_is_symmetric_on_the_log_scale():
    rng = np.random.default_rng(0)
    num = [float(x) for x in rng.integers(50, 500, 7)]
    den = [float(x) for x in rng.integers(50, 500, 7)]
    num[2] = None  # censoring on both sides
    den[5] = None
    r = V.ratio_summary(num, den, budget_num=600, budget_den=600)
    s = V.ratio_summary(den, num, budget_num=600, budget_den=600)
    inv = lambda x: math.inf if x == 0 else 0.0 if math.isinf(x) else 1 / x  # noqa: E731
    assert r.low == 0.0 and math.isinf(s.high)  # [min, max] of 7 seeds reaches the censored ones
    for got, want in [(s.low, inv(r.high)), (s.high, inv(r.low)), (s.lower_bound, inv(r.upper_bound)),
                      (s.upper_bound, inv(r.lower_bound))]:
        assert got == pytest.approx(want)
    assert math.isfinite(r.ratio) and s.ratio == pytest.approx(1 / r.ratio)
    # without censoring every end is finite and the identity is exact
    keep = [i for i in range(7) if i not in (2, 5)]
    n2, d2 = [num[i] for i in keep], [den[i] for i in keep]
    full, back = V.ratio_summary(n2, d2), V.ratio_summary(d2, n2)
    assert (back.low, back.high, back.ratio) == (pytest.approx(1 / full.high), pytest.approx(1 / full.low),
                                                 pytest.approx(1 / full.ratio))
    inv = r.inverse()
    assert (inv.low, inv.high) == (pytest.approx(s.low), pytest.approx(s.high))
    # sooner agrees in both directions
    assert {V.sooner(num, den, budget_a=600, budget_b=600).outcome,
            V.sooner(den, num, budget_a=600, budget_b=600).outcome} <= {HOLDS, FAILS, INCONCLUSIVE}


def test_format_ratio_strings():
    assert V.format_ratio(12.34) == "12.3×"
    assert V.format_ratio(math.nan, 25.0) == "> 25×"
    assert V.format_ratio(math.nan) == "n/a"
    r = V.Ratio(ratio=12.3, lower_bound=12.3, upper_bound=12.3, low=8.1, high=20.0, seeds=3, coverage=0.75)
    assert V.format_ratio(r) == "12.3× [8.1, 20]"
    one = V.Ratio(12.3, 12.3, 12.3, 12.3, 12.3, 1, 0.0)
    assert V.format_ratio(one) == "12.3×"
    lb = V.Ratio(math.nan, 25.0, math.inf, 9.0, math.inf, 3, 0.75)
    assert V.format_ratio(lb) == "> 25× [9, ∞]"
    between = V.Ratio(math.nan, 1.1, 1.5, 1.1, 1.5, 1, 0.0)
    assert V.format_ratio(between) == "1.1–1.5×"
    assert V.format_ratio(V.Ratio(math.nan, 0.0, math.inf, 0.0, math.inf, 1, 0.0)) == "n/a"


# ------------------------------------------------------------------------------------------- plain comparisons


def test_greater_and_less_with_margin_and_ties():
    assert V.greater(0.9, 0.8).outcome == HOLDS
    assert V.greater(0.8, 0.9).outcome == FAILS
    assert V.greater(0.8, 0.8).outcome == FAILS and V.greater(0.8, 0.8, strict=False).outcome == HOLDS
    assert V.greater(0.9, 0.8, margin=0.2).outcome == FAILS  # not by more than the margin
    assert V.greater(0.79, 0.8, margin=-0.05).outcome == HOLDS  # a negative margin is a tolerance
    # lower FD is better: a < b
    assert V.less([10, 11, 12], [20, 19, 30]).outcome == HOLDS
    assert V.less([20, 19, 30], [10, 11, 12]).outcome == FAILS
    d = V.less([10, 25, 12], [20, 19, 30])
    assert d.outcome == INCONCLUSIVE and d.low < 0 < d.high
    assert "a − b" in d.detail and "[" in d.detail


def test_best_of_needs_every_pairwise_decision():
    vals = {"GMEGAN": [1.0, 2.0, 3.0], "WGAN": [4.0, 5.0, 6.0], "GAN": [5.0, 6.0, 7.0]}
    d = V.best_of(vals, "GMEGAN", better="lower")
    assert d.outcome == HOLDS and "rank 1 of 3" in d.detail
    assert V.best_of(vals, "WGAN", better="lower").outcome == FAILS
    assert V.best_of(vals, "GAN", better="higher").outcome == HOLDS
    vals["close"] = [2.0, 3.0, 2.5]  # paired differences −1, −1, +0.5: straddles
    assert V.best_of(vals, "GMEGAN").outcome == INCONCLUSIVE
    with pytest.raises(KeyError):
        V.best_of(vals, "VAE")


def test_all_of_is_three_valued():
    h, f, i = V.Decision(HOLDS, seeds=3), V.Decision(FAILS, seeds=1), V.Decision(INCONCLUSIVE, seeds=5)
    assert V.all_of([h, h]).outcome == HOLDS
    assert V.all_of([h, i]).outcome == INCONCLUSIVE
    assert V.all_of([i, f, h]).outcome == FAILS
    assert V.all_of([h, f, i]).seeds == 1
    with pytest.raises(ValueError):
        V.Decision(SANITY)


# ------------------------------------------------------------------------------------------------------- trends


def test_grows_with_censored_values():
    assert V.grows([1.0, 2.0, 3.0]).outcome == HOLDS
    assert V.grows([1.29, 1.13]).outcome == FAILS  # notebook 04's gap "widens" from 1.29× to 1.13×
    assert V.grows([1.0, 1.0]).outcome == FAILS and V.grows([1.0, 1.0], strict=False).outcome == HOLDS
    # a later value known only to exceed 19.1 is larger than 1.13; one known to exceed 0.5 may not be
    d = V.grows([0.678, 0.783, 1.13, V.Censored(19.1)])
    assert d.outcome == HOLDS and d.detail == "0.678 → 0.783 → 1.13 → > 19.1"
    assert V.grows([1.13, V.Censored(0.5)]).outcome == INCONCLUSIVE
    assert V.grows([V.Censored(5.0), 10.0]).outcome == INCONCLUSIVE  # the earlier value may exceed 10
    assert V.grows([V.Censored(5.0), 3.0]).outcome == FAILS
    # a ratio with only a lower bound, as ratio_summary gives it
    assert V.grows([1.29, V.ratio_summary(None, 314, budget_num=6000)]).outcome == HOLDS
    assert V.grows([25.0, V.ratio_summary(None, 314, budget_num=6000)]).outcome == INCONCLUSIVE


def test_shrinks_counts_with_never_reached():
    assert V.shrinks([0.05, 0.04, 0.03]).outcome == HOLDS
    # "smaller ε ⇒ no more iterations", loosest ε first; never reached = Censored(budget)
    assert V.shrinks([500, 400, 400], strict=False).outcome == HOLDS
    assert V.shrinks(V.censor([None, 400, 300], 6000), strict=False).outcome == HOLDS
    assert V.shrinks(V.censor([None, None, 300], 6000), strict=False).outcome == INCONCLUSIVE
    assert V.shrinks(V.censor([300, None], 6000), strict=False).outcome == FAILS
    with pytest.raises(ValueError):
        V.grows([1.0])


def test_trends_over_seeds_are_paired_steps():
    # three seeds per ε (loosest first); every seed's count falls: with 3 seeds the interval is [min, max] of steps
    loose, mid, tight = [600, 650, 700], [400, 420, 480], [300, 310, 350]
    d = V.shrinks([loose, mid, tight])
    assert d.outcome == HOLDS and d.seeds == 3 and d.detail.startswith("median 650 → 420 → 310")
    # one seed going the other way on a step leaves that step's interval straddling 0
    assert V.shrinks([loose, [400, 420, 720], tight]).outcome == INCONCLUSIVE
    assert V.grows([tight, mid, loose]).outcome == HOLDS
    assert V.grows([loose, mid]).outcome == FAILS
    # censored per-seed values: never reached within 6000 by all three seeds, then reached: smaller
    never = V.censor([None, None, None], 6000)
    assert V.shrinks([never, [300, 310, 350]], strict=False).outcome == HOLDS
    assert V.shrinks([[300, 310, 350], never], strict=False).outcome == FAILS
    assert V.shrinks([never, never], strict=False).outcome == INCONCLUSIVE
    assert V.shrinks([never, [300, 310, 350]], strict=False).detail.startswith("median > 6,000 → 310")


# ------------------------------------------------------------------------------------------------- least impact


def test_least_impact_uses_the_absolute_change_notebook_09():
    base, variants = 290.0, {"λ1 = 0": 393.0, "λ2 = 0": 368.0, "λ3 = 0": 171.0}
    d = V.least_impact(base, variants, "λ3 = 0", paper_sign=+1)
    assert d.outcome == FAILS  # |171 − 290| = 119 is the LARGEST change
    assert "λ3 = 0 -119" in d.detail and "least |change|: λ2 = 0" in d.detail
    assert d.note == "opposite to the paper's direction: λ3 = 0"
    assert V.least_impact(base, variants, "λ2 = 0", paper_sign=+1).outcome == HOLDS
    # the expected variant really is least, in the paper's direction: no note
    d = V.least_impact(base, {**variants, "λ3 = 0": 300.0}, "λ3 = 0", paper_sign=+1)
    assert d.outcome == HOLDS and d.note == ""
    # the same size of change downwards is just as large an impact
    assert V.least_impact(base, {**variants, "λ3 = 0": 280.0}, "λ3 = 0").outcome == HOLDS
    assert V.least_impact(base, {"a": 300.0, "b": 280.0}, "a").outcome == FAILS  # a tie is not least


def test_least_impact_over_seeds():
    base = [290.0, 300.0, 280.0]
    clear = {"λ1": [390.0, 400.0, 380.0], "λ3": [295.0, 290.0, 285.0]}
    assert V.least_impact(base, clear, "λ3").outcome == HOLDS
    mixed = {"λ1": [390.0, 310.0, 380.0], "λ3": [295.0, 340.0, 285.0]}  # seed 2: λ3 moved more
    d = V.least_impact(base, mixed, "λ3")
    assert d.outcome == INCONCLUSIVE and d.seeds == 3


# ------------------------------------------------------------------------------------------------------- bounds


def test_bounds_with_tolerance():
    emp, bound = np.array([0.95, 0.9, 0.8]), np.array([0.9, 0.85, 0.7])
    d = V.at_least(emp, bound)
    assert d.outcome == HOLDS and d.estimate == pytest.approx(0.05)
    assert V.at_least(emp, bound + 0.06).outcome == FAILS
    assert V.at_least(emp, bound + 0.06, tol=0.02).outcome == INCONCLUSIVE  # short by 0.01, within the tolerance
    assert V.at_least(emp, bound + 0.1, tol=0.02).outcome == FAILS
    assert V.at_most(1.05, 1.1).outcome == HOLDS and V.at_most(1.22, 1.1).outcome == FAILS
    assert V.within([1.0, 1.05], 0.9, 1.1).outcome == HOLDS
    assert V.within([1.0, 1.2], 0.9, 1.1).outcome == FAILS
    assert V.within(1.12, 0.9, 1.1, tol=0.05).outcome == INCONCLUSIVE


# ------------------------------------------------------------------------------------------- profiles, claims, counts


def test_decides_by_profile():
    assert not V.decides("smoke") and V.decides("quick") and V.decides("paper")
    with pytest.raises(ValueError, match="fast"):
        V.decides("fast")


def test_claim_rows_smoke_and_sanity():
    h = V.sooner(100, 200)
    c = V.Claim.from_decision("a sooner than b", "paper 3,800 vs 2.7M", "100 vs 200", h, id="gpe.table1.x",
                              kind="paper", profile="quick")
    assert c.outcome == HOLDS and c.seeds == 1 and c.detail == h.detail
    assert c.as_row() == {"id": "gpe.table1.x", "kind": "paper", "claim": "a sooner than b",
                          "paper": "paper 3,800 vs 2.7M", "ours": "100 vs 200", "outcome": HOLDS, "seeds": 1,
                          "detail": h.detail, "note": ""}
    smoke = V.Claim.from_decision("x", "p", "o", V.sooner(200, 100), id="gpe.x", kind="check", profile="smoke")
    assert smoke.outcome == NA and smoke.detail and smoke.kind == "check"  # the numbers are still shown
    s = V.Claim.from_decision("bound on its own pairs", "p", "o", V.at_least(0.5, 0.4), id="gmegan.thm1.own",
                              profile="smoke", kind="sanity")
    assert s.outcome == SANITY and s.note == "check passed"
    bad = V.Claim.from_decision("bound", "p", "o", V.at_least(0.3, 0.4), id="gmegan.b", profile="quick",
                                kind="sanity")
    assert bad.outcome == SANITY and "FAILED" in bad.note
    with pytest.raises(ValueError, match="sanity"):
        V.Claim(id="gpe.x", kind="sanity", claim="x", paper="p", ours="o", outcome=HOLDS)
    with pytest.raises(ValueError, match="outcome"):
        V.Claim(id="gpe.x", kind="paper", claim="x", paper="p", ours="o", outcome="yes")
    with pytest.raises(ValueError, match="kind"):
        V.Claim(id="gpe.x", kind="claim", claim="x", paper="p", ours="o", outcome=HOLDS)  # the old kind
    with pytest.raises(TypeError):
        V.Claim("x", "p", "o", HOLDS)  # keyword-only, id and kind required


@pytest.mark.parametrize("good", ["gpe.table1.mnist.eps2.loss_0.1", "gmegan.fig5.12x500.modes", "gpe.thm-4.a_b"])
def test_claim_ids_accepted(good):
    assert V.Claim(id=good, kind="paper", claim="c", paper="p", ours="o", outcome=NA).id == good


@pytest.mark.parametrize("bad", ["", "gpe", "table1.x", "GPE.table1", "gpe.Table1", "gpe..x", "gpe.x.", "gpe.x y",
                                 "vae.x", "gpe.mnist_5k!"])
def test_claim_ids_refused(bad):
    with pytest.raises(ValueError, match="claim id"):
        V.Claim(id=bad, kind="paper", claim="c", paper="p", ours="o", outcome=NA)


def test_not_decided_is_na_with_its_reason():
    c = V.Claim.not_decided("GMEGAN FID", "p", "o", id="gmegan.fig6.x", kind="paper", why="n/a (paper profile)")
    assert c.outcome == NA and c.note == "n/a (paper profile)"


def _claims_of_every_kind() -> list:
    C = V.Claim
    rows = [("gpe.a", "paper", HOLDS), ("gpe.b", "paper", HOLDS), ("gpe.c", "paper", FAILS),
            ("gpe.d", "check", INCONCLUSIVE), ("gpe.e", "sanity", SANITY), ("gpe.f", "paper", NA),
            ("gpe.g", "check", HOLDS), ("gpe.h", "check", NA)]
    return [C(id=i, kind=k, claim=i, paper="p", ours="o", outcome=o) for i, k, o in rows]


def test_tally_counts_paper_claims_and_checks_apart():
    claims = _claims_of_every_kind()
    t = V.tally(claims)
    assert list(t) == list(V.KINDS)
    assert t["paper"] == {HOLDS: 2, FAILS: 1, INCONCLUSIVE: 0, SANITY: 0, NA: 1}
    assert t["check"] == {HOLDS: 1, FAILS: 0, INCONCLUSIVE: 1, SANITY: 0, NA: 1}
    assert t["sanity"][SANITY] == 1 and sum(t["sanity"].values()) == 1
    assert V.tally(pd.DataFrame([c.as_row() for c in claims])) == t
    with pytest.raises(ValueError, match="kind"):
        V.tally(pd.DataFrame({"outcome": [HOLDS], "kind": ["claim"]}))


def test_outcome_counts_do_not_count_sanity_or_na():
    claims = _claims_of_every_kind()[:6]
    want = {HOLDS: 2, FAILS: 1, INCONCLUSIVE: 1, SANITY: 1, NA: 1}
    assert V.outcome_counts(claims) == want
    assert list(V.outcome_counts(claims)) == list(V.OUTCOMES)
    assert V.outcome_counts(pd.DataFrame([c.as_row() for c in claims])) == want
    legacy = pd.DataFrame({"holds": ["yes", "no", "n/a", "yes"]})  # an older verdict CSV
    assert V.outcome_counts(legacy) == {HOLDS: 2, FAILS: 1, INCONCLUSIVE: 0, SANITY: 0, NA: 1}
    with pytest.raises(ValueError, match="unknown"):
        V.outcome_counts(pd.DataFrame({"outcome": ["yes"]}))


def test_seeds_text_gives_median_range_and_count():
    assert V.seeds_text([0.1, 0.2, 0.15]) == "0.15 (0.1–0.2, 3 seeds)"
    assert V.seeds_text([3]) == "3"
    assert V.seeds_text([V.Censored(4000), 200, 300]) == "300 (200 to > 4,000, 3 seeds)"


def test_below_and_above_compare_the_median_over_repeats_with_a_constant():
    # 9 repeats: the 90 % interval of the median drops the extreme on each side, so one round above does not decide
    d = V.below([0.8, 0.9, 0.85, 1.05, 0.7, 0.88, 0.9, 0.92, 0.87], 1.0)
    assert d.outcome == V.HOLDS and d.seeds == 9
    assert V.below([0.8, 0.9, 0.85, 1.05, 0.7, 0.88, 0.9], 1.0).outcome == V.INCONCLUSIVE  # 7: [min, max]
    assert V.below([0.8, 1.2, 0.9], 1.0).outcome == V.INCONCLUSIVE  # 3 repeats: interval = [min, max] straddles
    assert V.below([1.1, 1.2, 1.3], 1.0).outcome == V.FAILS
    assert V.below([1.0, 1.0, 1.0], 1.0, strict=False).outcome == V.HOLDS
    assert V.above([1.1, 1.2, 1.3], 1.0).outcome == V.HOLDS
    # the every-value rule differs:
    assert V.at_most([0.8, 0.9, 0.85, 1.05, 0.7, 0.88, 0.9, 0.92, 0.87], 1.0).outcome == V.FAILS


def test_a_level_met_before_any_training_is_time_zero_not_an_error():
    """0 s (or 0 iterations): the run started at the level. Against it a ratio is 0 or ∞ and decides; 0 vs 0 cannot
    (the paper profile's dry run met this in notebook 05: a baseline that never improved on its untrained loss)."""
    assert V.sooner([0, 0, 0], [5, 6, 7]).outcome == HOLDS
    d = V.sooner([5, 6, 7], [0, 0, 0])
    assert d.outcome == FAILS and d.estimate == 0.0
    assert V.sooner([0], [0]).outcome == INCONCLUSIVE
    r = V.ratio_summary([3, 4, 5], [0, 0, 0])
    assert math.isinf(r.ratio) and V.format_ratio(V.ratio_summary([0], [2])) == "0×"
    with pytest.raises(ValueError, match="≥ 0"):
        V.sooner([-1], [2])


def test_undecided_keeps_the_row_and_names_why():
    row = V.Claim(id="gpe.x.y", kind="paper", claim="c", paper="p", ours="3 vs 4", outcome="inconclusive", seeds=3,
                detail="a − b -1 [-2, 0.5]", note="paired")
    na = row.undecided("decided by the paper profile")
    assert (na.outcome, na.note, na.ours, na.detail, na.seeds) == ("n/a", "decided by the paper profile; paired",
                                                                   "3 vs 4", "a − b -1 [-2, 0.5]", 3)
    with pytest.raises(ValueError, match="sanity"):
        V.Claim(id="gpe.x.z", kind="sanity", claim="c", paper="p", ours="o", outcome="sanity").undecided("why")
