"""gpelib.claims.gan_images (notebook 08, GMEGAN Figs. 6–7) on made-up tables, and on the committed quick run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gpelib import profiles, reporting
from gpelib.claims import gan_images
from gpelib.gan import experiments as gx
from gpelib.gan import image_jobs as ij
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"
REFS = ("GMEGAN", "GMEGAN-released")
VARIANTS = ["GMEGAN", "GMEGAN-mean", "GMEGAN-released", *gan_images.BASELINES]
ARCHS, SEEDS = ["mlp", "dcgan"], [0, 1]
UNITS = sorted((a, s) for a in ARCHS for s in SEEDS)  # the order values are given in: (dcgan, 0), (dcgan, 1), (mlp, …
#: a baseline: the same on every run except that the architectures differ (spread 1 from the mean on every seed)
BASE = dict(fd=[101.0, 101.0, 99.0, 99.0], relative_std=[1.5, 1.5, 0.5, 0.5])
#: GMEGAN: lower and the same on every architecture
GOOD = dict(fd=[50.0] * 4, relative_std=[0.25] * 4)
CLAIMS = ("fig6.lowest_fd", "fig6.fd_spread", "fig7.lowest_relative_std", "fig7.relative_std_spread")


def _tables(gmegan: dict | None = None, others: dict | None = None, unsettled: dict | None = None,
            name: str = "digits", kid: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(runs, summary, states) of one dataset: both GMEGAN readings ``GOOD`` updated by ``gmegan``, a baseline
    ``BASE`` updated by ``others[variant]`` (values in the order of ``UNITS``); every run at its plateau on ``fd`` and
    ``relative_std`` unless ``unsettled[(variant, arch, seed, metric)]`` gives its state."""
    runs, st = [], []
    for v in VARIANTS:
        vals = {**BASE, **GOOD, **(gmegan or {})} if v in REFS else {**BASE, **(others or {}).get(v, {})}
        for i, (a, s) in enumerate(UNITS):
            runs.append(dict(dataset=name, variant=v, arch=a, seed=s, fd=vals["fd"][i],
                             relative_std=vals["relative_std"][i], **({"kid": 10 * vals["fd"][i]} if kid else {})))
            st += [dict(dataset=name, variant=v, arch=a, seed=s, metric=m,
                        state=(unsettled or {}).get((v, a, s, m), "plateau")) for m in ("fd", "relative_std")]
    runs = pd.DataFrame(runs)
    return runs, gx.summarize(runs, ["fd", *(["kid"] if kid else []), "relative_std"]), pd.DataFrame(st)


def _decide(tables, profile: str = "quick", **kw):
    return gan_images.decide(*tables, profile=profile, metric="FD-classifier", archs=ARCHS, seeds=SEEDS, **kw)


def _rows(tables, **kw) -> dict:
    return {r.id: r for r in _decide(tables, **kw)}


def _outcomes(tables, ref: str = "GMEGAN") -> dict[str, str]:
    rows = _rows(tables)
    return {c: rows[f"gmegan.{c}" + ("" if ref == "GMEGAN" else ".released")].outcome for c in CLAIMS}


def test_all_hold_when_gmegan_is_lower_and_steadier():
    assert set(_outcomes(_tables()).values()) == {"holds"}
    rows = _rows(_tables())
    row = rows["gmegan.fig6.lowest_fd"]
    assert row.claim == "digits: GMEGAN as printed has the lowest mean FD-classifier"
    assert row.ours.startswith("GMEGAN 50 (rank 1 of 8) (KID 500; best baseline 1e+03); GAN 100, WGAN 100")
    assert row.seeds == 4 and row.kind == "paper"
    assert row.note == "paired by (architecture, seed): 'seeds' counts the 4 pairs"
    assert rows["gmegan.fig6.fd_spread"].note.endswith("; spread = |deviation from the method's mean over the "
                                                       "architectures|")


def test_without_a_kernel_distance_ours_names_none():
    assert "KID" not in _rows(_tables(kid=False))["gmegan.fig6.lowest_fd"].ours


def test_lowest_scores_fail_when_a_baseline_is_lower_on_every_pair():
    out = _outcomes(_tables(others={"OTM": dict(fd=[40.0] * 4, relative_std=[0.125] * 4)}))
    assert out["fig6.lowest_fd"] == out["fig7.lowest_relative_std"] == "fails"


def test_lowest_scores_inconclusive_when_the_pairs_straddle():
    out = _outcomes(_tables(gmegan=dict(fd=[40.0, 60.0, 40.0, 60.0], relative_std=[0.125, 0.375, 0.125, 0.375]),
                            others={"WGAN": dict(fd=[50.0] * 4, relative_std=[0.25] * 4)}))
    assert out["fig6.lowest_fd"] == out["fig7.lowest_relative_std"] == "inconclusive"


def test_spreads_fail_when_gmegan_varies_most_across_architectures():
    out = _outcomes(_tables(gmegan=dict(fd=[60.0, 60.0, 40.0, 40.0], relative_std=[1.25, 1.25, 0.0, 0.0])))
    assert out["fig6.fd_spread"] == out["fig7.relative_std_spread"] == "fails"
    assert out["fig6.lowest_fd"] == out["fig7.lowest_relative_std"] == "holds"


def test_spreads_inconclusive_when_one_seed_is_steadier_and_the_other_not():
    """GMEGAN's deviation from its mean over the architectures is larger than the baselines' on seed 0 (FD 2 vs 1,
    relative std 0.625 vs 0.5) and smaller on seed 1 (0 vs 1, 0 vs 0.5)."""
    out = _outcomes(_tables(gmegan=dict(fd=[52.0, 50.0, 48.0, 50.0], relative_std=[1.25, 0.25, 0.0, 0.25])))
    assert out["fig6.fd_spread"] == out["fig7.relative_std_spread"] == "inconclusive"
    assert out["fig6.lowest_fd"] == out["fig7.lowest_relative_std"] == "holds"


def test_an_own_run_off_its_plateau_makes_the_claims_on_that_score_inconclusive():
    t = _tables(unsettled={("GMEGAN-released", "mlp", 1, "fd"): "improving"})
    out = _outcomes(t, "GMEGAN-released")
    assert out["fig6.lowest_fd"] == out["fig6.fd_spread"] == "inconclusive"
    assert out["fig7.lowest_relative_std"] == out["fig7.relative_std_spread"] == "holds"  # judged on their own score
    assert set(_outcomes(t).values()) == {"holds"}  # GMEGAN as printed does not rest on that run
    row = _rows(t)["gmegan.fig6.lowest_fd.released"]
    assert row.note.startswith("own runs not at their plateau: GMEGAN-released mlp s1 improving")


def test_a_baseline_that_never_settles_is_named_without_veto():
    t = _tables(unsettled={("GAN", "dcgan", 0, "relative_std"): "oscillating"})
    assert set(_outcomes(t).values()) == {"holds"}
    row = _rows(t)["gmegan.fig7.lowest_relative_std"]
    assert "scored at the cap, not at their plateau (no veto): GAN dcgan s0 oscillating" in row.note
    assert "GAN dcgan" not in _rows(t)["gmegan.fig6.lowest_fd"].note


def test_an_inconclusive_row_at_plateau_says_its_interval_straddles():
    t = _tables(gmegan=dict(fd=[40.0, 60.0, 40.0, 60.0], relative_std=[0.25] * 4),
                others={"WGAN": dict(fd=[50.0] * 4, relative_std=[1.0] * 4)})
    row = _rows(t)["gmegan.fig6.lowest_fd"]
    assert row.outcome == "inconclusive" and "the interval straddles with every own run at its plateau" in row.note


def test_smoke_decides_nothing_and_ids_are_the_same_in_every_profile():
    both = [pd.concat(p, ignore_index=True) for p in zip(_tables(), _tables(name="tiny_imagenet"))]
    by_profile = {p: _decide(both, profile=p) for p in ("smoke", "quick", "paper")}
    assert {r.outcome for r in by_profile["smoke"]} == {"n/a"}
    assert {r.outcome for r in by_profile["paper"]} == {"holds"}
    ids = [[r.id for r in rows] for rows in by_profile.values()]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 16 == len(set(ids[0]))
    assert all(ID_PATTERN.match(i) for i in ids[0])
    assert ids[0][0] == "gmegan.fig6.lowest_fd"  # the README's headline: the first dataset has no segment
    assert ids[0][8:] == [f"gmegan.{c}.tiny_imagenet" for c in CLAIMS] + [f"gmegan.{c}.tiny_imagenet.released"
                                                                          for c in CLAIMS]


def test_the_first_dataset_of_the_preset_has_no_segment_whatever_its_name():
    for name in ("digits", "mnist_5k", "cifar10"):
        assert _rows(_tables(name=name)).keys() == _rows(_tables()).keys()
    both = [pd.concat(p, ignore_index=True) for p in zip(_tables(name="cifar10"), _tables(name="tiny_imagenet"))]
    rows = _decide(both, datasets=["tiny_imagenet", "cifar10"])
    assert rows[0].id == "gmegan.fig6.lowest_fd" and rows[0].claim.startswith("tiny_imagenet: ")
    assert rows[8].id == "gmegan.fig6.lowest_fd.cifar10"


@pytest.mark.parametrize("name, segment", [("tiny_imagenet", ".tiny_imagenet"), ("Tiny ImageNet", ".tiny_imagenet"),
                                           ("CIFAR-10", ".cifar-10"), ("_x", ".x")])
def test_dataset_segment(name, segment):
    assert gan_images.dataset_segment(name, first=False) == segment
    assert gan_images.dataset_segment(name, first=True) == ""
    assert ID_PATTERN.match(f"gmegan.fig6.lowest_fd{segment}")


def test_committed_quick_run(assert_committed_verdict):
    """The committed figures/08_{runs,summary,states}.csv give the committed figures/08_verdict.csv."""
    s = profiles.preset("08", "quick")
    runs, summary, states = (pd.read_csv(FIGURES / f"08_{t}.csv") for t in ("runs", "summary", "states"))
    rows = gan_images.decide(runs, summary, states, profile="quick", metric=runs["metric"].iloc[0], archs=s["archs"],
                             seeds=s["seeds"], datasets=[d.name for d in s["datasets"]], undecided=s["undecided"])
    assert_committed_verdict(rows, "08")


def test_the_notebooks_states_and_compute_table_from_the_committed_history(tmp_path):
    """gpelib.gan.tables.plateau_states and state_counts (notebook 08's cells) write the committed 08_states.csv and
    08_compute.csv from the committed history and floors."""
    s = profiles.preset("08", "quick")
    history, floors, runs = (pd.read_csv(FIGURES / f"08_{t}.csv") for t in ("history", "floors", "runs"))
    noise = {r.dataset: {c: r[f"{c}_sd"] for c in ij.TRACKED} for _, r in floors.iterrows()}
    by = ("dataset", "variant", "arch", "seed")
    states = gx.plateau_states(history, noise, metrics=ij.TRACKED, by=by)
    reporting.save_table(states, tmp_path, "08_states", keys=[*by, "metric"])
    compute = gx.state_counts(runs, by=("dataset", "arch", "variant")).assign(cap=s["cap"],
                                                                              min_iteration=s["min_iteration"])
    reporting.save_table(compute, tmp_path, "08_compute", keys=["dataset", "arch", "variant"])
    for name in ("08_states.csv", "08_compute.csv"):
        assert (tmp_path / name).read_bytes() == (FIGURES / name).read_bytes(), name


def test_a_profile_that_cannot_reach_the_plateau_gives_n_a_with_its_reason_and_keeps_the_numbers():
    decided, why = _decide(_tables()), "n/a on two cores, decided by the paper profile: the probe says so"
    rows = _decide(_tables(), undecided=why)
    assert [r.id for r in rows] == [r.id for r in decided] and {r.outcome for r in rows} == {"n/a"}
    assert all(r.note.startswith(why) and r.ours == d.ours and r.detail == d.detail for r, d in zip(rows, decided))
    assert profiles.preset("08", "quick")["undecided"] and profiles.preset("08", "paper")["undecided"] is None
    assert "; " not in profiles.preset("08", "quick")["undecided"]  # the README quotes a note up to its first "; "


def test_the_quick_reason_quotes_the_committed_probe_measurements():
    """The numbers in profiles.QUICK_IMAGES_UNDECIDED are those of reproduce/measurements/ (probe_gan_images.py)."""
    root = Path(__file__).resolve().parents[1] / "reproduce" / "measurements"
    why = profiles.preset("08", "quick")["undecided"]
    px16 = pd.read_csv(root / "probe_gan_images_summary_mnist_5k_16px.csv")
    gmegan = px16[px16.method == "gmegan"]
    assert f"{gmegan.fd_last.min():.0f}–{gmegan.fd_last.max():.0f} against a floor of " \
           f"{px16.floor_level.iloc[0]:.0f}" in why
    assert (gmegan.state == "improving").all()  # "still falls at 10,000 iterations"
    px8 = pd.read_csv(root / "probe_gan_images_history_digits_8px.csv")
    released = px8[px8.method == "gmegan_released"]
    early, late = released[released.iteration.between(2000, 4000)].fd, released[released.iteration == 10_000].fd
    assert f"stands at {early.min():.0f}–{early.max():.0f} from 2,000 to 4,000" in why
    assert f"falls to {late.min():.0f}–{late.max():.0f} by 10,000" in why
    cost = pd.read_csv(root / "probe_gan_images_summary_digits_8px.csv")
    assert cost.method.nunique() == 8 and set(cost.seed) == {0, 1, 2}
    assert f"take {round(10_000 * cost.s_per_iteration.sum(), -2):,.0f} worker-seconds" in why
