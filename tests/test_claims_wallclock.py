"""gpelib.claims.wallclock (notebook 05, GPE Fig. 8 and Table 2) on made-up tables and on the committed quick run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpelib import profiles
from gpelib.claims import wallclock
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"
READ = dict(keep_default_na=False, na_values=[""])  # numbers: empty = NaN; text such as "n/a" stays text
SEEDS = [0, 1, 2]
BASE = ["VAE", "AE", "VAE+MDS", "AE+MDS"]  # the runs' order in notebook 05's tables
DATASETS = {"toy": {"paper": "MNIST"}}
IDS = ["gpe.fig8.mnist.best_baseline", "gpe.fig8.mnist.each_baseline", "gpe.table2.mnist.decoder_step",
       "gpe.table2.mnist.mds_cost", "gpe.fig8.mnist.kl_slower"]
N = None  # GPE never reached that baseline's final loss

# defaults: every claim holds. Per seed: final held-out loss, total seconds (GPE: encoder included), the time each
# baseline first reaches its own final loss, and GPE's time to reach it (encoder time included).
FINAL = {"GPE": [0.05, 0.05, 0.05], "VAE": [0.11, 0.11, 0.11], "AE": [0.08, 0.08, 0.08],
         "VAE+MDS": [0.1, 0.1, 0.1], "AE+MDS": [0.07, 0.07, 0.07]}
TOTAL = {"GPE": [30, 31, 32], "VAE": [25] * 3, "AE": [22] * 3, "VAE+MDS": [28] * 3, "AE+MDS": [26] * 3}
T_BASE = {"VAE": [20, 21, 22], "AE": [15, 16, 17], "VAE+MDS": [25, 26, 27], "AE+MDS": [18, 19, 20]}
T_GPE = {"VAE": [10, 10, 10], "AE": [12, 12, 12], "VAE+MDS": [14, 14, 14], "AE+MDS": [15, 15, 16]}
DECODER = [0.6, 0.65, 0.7, 0.62, 0.68]  # GPE decoder s/iter ÷ VAE's, per interleaved round
MDS = [1.02, 1.05, 1.0, 1.03, 1.04]  # VAE+MDS ÷ VAE
PAPER = {"GPE encoder": 0.02, "GPE decoder": 0.022, "VAE": 0.024, "AE": 0.023, "VAE+MDS": 0.025, "AE+MDS": 0.025}


def _tables(final=None, total=None, t_base=None, t_gpe=None, decoder=None, mds=None, dataset="toy"):
    final, total = {**FINAL, **(final or {})}, {**TOTAL, **(total or {})}
    t_base, t_gpe = {**T_BASE, **(t_base or {})}, {**T_GPE, **(t_gpe or {})}
    reach, race, timing = [], [], []
    for s in SEEDS:
        for m in ["GPE", *BASE]:
            for level in (0.1, 0.022):  # the table repeats each run's final loss and total time per level
                reach.append(dict(method=m, level=level, seconds=np.nan, final_val=final[m][s],
                                  total_seconds=total[m][s], dataset=dataset, seed=s))
        for m in BASE:
            ref = np.nan if t_gpe[m][s] is None else t_gpe[m][s]
            race.append(dict(method=m, level=final[m][s], seconds_method=t_base[m][s], seconds_reference=ref,
                             speedup=t_base[m][s] / ref, dataset=dataset, seed=s))
    ratio = {"GPE encoder": [0.5] * 5, "GPE decoder": decoder or DECODER, "VAE": [1.0] * 5, "AE": [0.9] * 5,
             "VAE+MDS": mds or MDS, "AE+MDS": [0.99] * 5}
    for r in range(5):
        for m, v in ratio.items():
            timing.append(dict(round=r, method=m, s_per_iter=0.01 * v[r] * (1 + r / 10), ratio=v[r], dataset=dataset,
                               paper_ratio=PAPER[m] / PAPER["VAE"]))
    return pd.DataFrame(timing), pd.DataFrame(reach), pd.DataFrame(race)


def _decide(profile="quick", **kw):
    return {r.id: r for r in wallclock.decide(*_tables(**kw), datasets=DATASETS, profile=profile)}


def test_defaults_hold_and_read_as_the_notebook_wrote_them():
    rows = _decide()
    assert list(rows) == IDS
    assert {r.outcome for r in rows.values()} == {"holds"}
    assert [r.kind for r in rows.values()] == ["paper", "paper", "check", "paper", "paper"]
    best = rows["gpe.fig8.mnist.best_baseline"]
    assert best.ours == ("best baseline per seed: AE+MDS, AE+MDS, AE+MDS; its time 19 (18–20, 3 seeds) s, GPE's "
                         "15 (15–16, 3 seeds) s")
    assert best.detail == "1.25× [1.2, 1.27] (3 seeds, 75% interval)" and best.seeds == 3
    assert rows["gpe.fig8.mnist.each_baseline"].ours.startswith("VAE: 2.1× [2, 2.2] sooner; AE: 1.33× ")
    assert rows["gpe.table2.mnist.decoder_step"].paper == "MNIST: 0.917"
    assert rows["gpe.table2.mnist.decoder_step"].ours == "0.65 (0.6–0.7, 5 interleaved rounds)"
    assert rows["gpe.table2.mnist.mds_cost"].ours == ("1.03 (1–1.05, 5 rounds) (AE+MDS ÷ AE: 1.1 (1.1–1.1, 5 "
                                                      "rounds))")
    assert rows["gpe.fig8.mnist.kl_slower"].ours.startswith("VAE 0.11 (0.11–0.11, 3 seeds); VAE+MDS 0.1 ")


@pytest.mark.parametrize(("kw", "row", "outcome"), [
    # Fig. 8, best baseline: GPE gets there later on every seed
    (dict(t_gpe={"AE+MDS": [25, 26, 27]}), "gpe.fig8.mnist.best_baseline", "fails"),
    # ... never within its own run (censored at its total time, longer than the baseline's time)
    (dict(t_gpe={"AE+MDS": [N] * 3}), "gpe.fig8.mnist.best_baseline", "fails"),
    # the seeds disagree
    (dict(t_gpe={"AE+MDS": [10, 30, 10]}), "gpe.fig8.mnist.best_baseline", "inconclusive"),
    # each baseline: one of them is reached sooner by itself
    (dict(t_gpe={"VAE": [30, 30, 30]}), "gpe.fig8.mnist.each_baseline", "fails"),
    (dict(t_gpe={"VAE": [10, 30, 10]}), "gpe.fig8.mnist.each_baseline", "inconclusive"),
    # Table 2: the decoder step costs more than a VAE step, or the rounds disagree
    (dict(decoder=[1.2] * 5), "gpe.table2.mnist.decoder_step", "fails"),
    (dict(decoder=[0.8, 1.2, 0.9, 1.1, 0.95]), "gpe.table2.mnist.decoder_step", "inconclusive"),
    # MDS: at most 1.1 (exactly 1.1 is "little"), else fails or stays open
    (dict(mds=[1.1] * 5), "gpe.table2.mnist.mds_cost", "holds"),
    (dict(mds=[1.3] * 5), "gpe.table2.mnist.mds_cost", "fails"),
    (dict(mds=[1.0, 1.2, 1.05, 1.15, 1.3]), "gpe.table2.mnist.mds_cost", "inconclusive"),
    # KL, in pairs: a KL method ends lower than its twin without KL on every seed, or the seeds disagree
    (dict(final={"VAE+MDS": [0.06] * 3}), "gpe.fig8.mnist.kl_slower", "fails"),
    (dict(final={"VAE": [0.07] * 3}), "gpe.fig8.mnist.kl_slower", "fails"),
    (dict(final={"VAE+MDS": [0.06, 0.1, 0.1]}), "gpe.fig8.mnist.kl_slower", "inconclusive"),
    # VAE+MDS below AE but above its own twin AE+MDS: decided in pairs, the claim holds
    (dict(final={"VAE+MDS": [0.075] * 3}), "gpe.fig8.mnist.kl_slower", "holds"),
])
def test_each_rule_can_fail_or_stay_open(kw, row, outcome):
    assert _decide(**kw)[row].outcome == outcome


def test_the_best_baseline_is_chosen_per_seed_and_ties_go_to_the_first_listed():
    rows = _decide(final={"AE": [0.08, 0.06, 0.07]})  # seed 2: AE ties with AE+MDS and comes first
    assert rows["gpe.fig8.mnist.best_baseline"].ours.startswith("best baseline per seed: AE+MDS, AE, AE; its time "
                                                                "17 (16–18, 3 seeds) s, GPE's 12 (12–15, 3 seeds) s")
    censored = _decide(t_gpe={"AE+MDS": [N] * 3})["gpe.fig8.mnist.best_baseline"]
    assert censored.ours.endswith("GPE's > 31 (30 to > 32, 3 seeds) s")


def test_smoke_decides_nothing_and_ids_do_not_depend_on_the_profile():
    by_profile = {p: _decide(profile=p) for p in profiles.PROFILES}
    assert {r.outcome for r in by_profile["smoke"].values()} == {"n/a"}
    assert all(list(rows) == IDS for rows in by_profile.values())
    assert all(ID_PATTERN.match(i) for i in IDS) and len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_every_profile_gives_unique_ids_named_by_the_papers_datasets(profile):
    datasets = profiles.preset("05", profile)["datasets"]
    parts = [_tables(dataset=name) for name in datasets]
    timing, reach, race = (pd.concat([p[i] for p in parts], ignore_index=True) for i in range(3))
    rows = wallclock.decide(timing, reach, race, datasets=datasets, profile=profile)
    ids = [r.id for r in rows]
    assert len(ids) == 5 * len(datasets) and len(set(ids)) == len(ids) and all(ID_PATTERN.match(i) for i in ids)
    assert {"gpe.fig8.mnist.best_baseline", "gpe.table2.mnist.decoder_step"} <= set(ids)
    assert not any(n in i for i in ids for n, D in datasets.items() if n != D["paper"].lower())  # no mnist_5k


LRS = {"GPE": 0.003, "VAE": 0.001, "AE": 0.003, "VAE+MDS": 0.001, "AE+MDS": 0.01}  # each one's largest stable rate


def _lr_sweep(dataset="toy"):
    return pd.DataFrame([dict(method=m, lr=lr, seed=s, final_val=0.1, stable=True, chosen=lr == LRS[m],
                              dataset=dataset) for m in LRS for s in SEEDS for lr in (0.001, 0.003, 0.01)])


def _decide_lr(profile="quick", **kw):
    """The five rows on the defaults, and the second reading (each method at its largest stable rate) on ``kw``."""
    timing, reach, race = _tables()
    _, reach_lr, race_lr = _tables(**kw)
    rows = wallclock.decide(timing, reach, race, datasets=DATASETS, profile=profile, lr_sweep=_lr_sweep(),
                            reach_lr=reach_lr, race_lr=race_lr)
    return {r.id: r for r in rows}


def test_the_second_reading_adds_two_rows_at_each_methods_largest_stable_rate():
    rows = _decide_lr()
    stable = [i + wallclock.STABLE_LR for i in IDS[:2]]
    assert list(rows) == [*IDS[:2], *stable, *IDS[2:]]
    assert {rows[i].kind for i in stable} == {"paper"} and {rows[i].outcome for i in rows} == {"holds"}
    assert rows[stable[0]].claim.endswith("sooner in wall-clock, each method at its largest stable learning rate")
    assert rows[stable[0]].ours.endswith("; learning rates GPE 0.003, VAE 0.001, AE 0.003, VAE+MDS 0.001, AE+MDS 0.01")
    assert rows[stable[1]].ours.startswith("VAE: 2.1× [2, 2.2] sooner")
    assert {r.outcome for r in _decide_lr(profile="smoke").values()} == {"n/a"}


@pytest.mark.parametrize(("kw", "row", "outcome"), [
    (dict(t_gpe={"AE+MDS": [25, 26, 27]}), "best_baseline", "fails"),
    (dict(t_gpe={"AE+MDS": [10, 30, 10]}), "best_baseline", "inconclusive"),
    (dict(t_gpe={"VAE": [30, 30, 30]}), "each_baseline", "fails"),
    (dict(t_gpe={"VAE": [10, 30, 10]}), "each_baseline", "inconclusive"),
])
def test_the_second_reading_is_decided_on_its_own_runs(kw, row, outcome):
    rows = _decide_lr(**kw)
    assert rows[f"gpe.fig8.mnist.{row}{wallclock.STABLE_LR}"].outcome == outcome
    assert rows[f"gpe.fig8.mnist.{row}"].outcome == "holds"  # the common rate's reading is another table


def test_committed_quick_run_gives_the_committed_verdict(assert_committed_verdict):
    S = profiles.preset("05", "quick")
    timing = pd.read_csv(FIGURES / "05_seconds_per_iteration.csv", **READ)
    reach = pd.read_csv(FIGURES / "05_time_to_threshold.csv", **READ)
    race = pd.read_csv(FIGURES / "05_wallclock_race.csv", **READ)
    second = {k: pd.read_csv(FIGURES / f"05_{f}.csv", **READ) for k, f in (
        ("lr_sweep", "lr_sweep"), ("reach_lr", "wallclock_reach_stable_lr"), ("race_lr", "wallclock_race_stable_lr"))}
    rows = wallclock.decide(timing, reach, race, datasets=S["datasets"], profile="quick", **second)
    assert_committed_verdict(rows, "05")
