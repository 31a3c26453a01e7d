"""gpelib.claims.generation (notebook 06, GPE Figs. 9–10) on made-up tables and on the committed quick run; the
reference tables of gpelib.experiments_generation that the claims read."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest

from gpelib.claims import generation
from gpelib.experiments_generation import NO_FLOW, reference_scores, score_columns, score_references
from gpelib.metrics import SampleQuality
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"
SEEDS = [0, 1, 2]
MILESTONES = [500, 2000, 8000]
IDS = ["gpe.fig9.flow_fd.milestones", "gpe.fig9.flow_fd_kid", "gpe.fig9.vae_flow_vs_prior",
       "gpe.fig9.reconstruction", "gpe.fig9.memorisation", "gpe.fig9.precision", "gpe.fig9.recall",
       "gpe.fig9.density", "gpe.fig9.coverage"]
# last-milestone sample-quality scores per seed (higher is better); defaults: GPE higher on each
QUALITY = {"GPE": dict(precision=[0.95, 0.94, 0.96], recall=[0.9, 0.94, 0.91], density=[1.1, 1.05, 1.2],
                       coverage=[0.93, 0.92, 0.95]),
           "VAE": dict(precision=[0.9, 0.91, 0.9], recall=[0.73, 0.76, 0.75], density=[0.8, 0.85, 0.83],
                       coverage=[0.87, 0.86, 0.9])}


def _tables(*, fd=None, kid=None, no_flow=(450.0, 454.0, 394.0), mse=None, rate=None, metric="FD-classifier",
            milestones=MILESTONES, n_fake=1000, quality=None, ae=None, kid_std=None):
    """The four tables of notebook 06. ``fd[method][milestone]`` and ``kid[method]`` (last milestone; earlier ones
    ×3) are per-seed lists; defaults: GPE better everywhere, every check passes."""
    fd = fd or {"GPE": {m: [v / (i + 1) for v in (240, 215, 238)] for i, m in enumerate(milestones)},
                "VAE": {m: [v / (i + 1) for v in (370, 322, 378)] for i, m in enumerate(milestones)}}
    kid = kid or {"GPE": [6000.0, 4300.0, 6900.0], "VAE": [12400.0, 12100.0, 12400.0]}
    mse = mse or {"GPE": [0.071, 0.061, 0.072], "VAE": [0.104, 0.106, 0.108]}
    rate = rate or {"GPE": [0.02, 0.029, 0.053], "VAE": [0.058, 0.044, 0.064]}
    quality = {m: {**QUALITY[m], **(quality or {}).get(m, {})} for m in QUALITY}
    curve = pd.DataFrame([dict(method=m, flow_iteration=it, metric=metric, value=fd[m][it][i], n_fake=n_fake,
                               kid=kid[m][i] * (1 if it == milestones[-1] else 3), seed=s,
                               **{q: v[i] * (1 if it == milestones[-1] else 0.5) for q, v in quality[m].items()})
                          for m in ("GPE", "VAE") for it in milestones for i, s in enumerate(SEEDS)])
    if ae is not None:  # the AE control: ``ae`` its per-seed FD at the last milestone (earlier ones ×2)
        curve = pd.concat([curve, pd.DataFrame([
            dict(method="AE", flow_iteration=it, metric=metric, value=ae[i] * (1 if it == milestones[-1] else 2),
                 n_fake=n_fake, kid=9000.0, seed=s, **{q: v[i] for q, v in quality["VAE"].items()})
            for it in milestones for i, s in enumerate(SEEDS)])], ignore_index=True)
    if kid_std is not None:
        curve["kid_std"] = kid_std
    refs = pd.DataFrame([*(dict(seed=s, method=NO_FLOW, fd=no_flow[i], kid=18000.0) for i, s in enumerate(SEEDS)),
                         dict(seed=-1, method=f"{n_fake} training images", fd=112.0, kid=1600.0)])
    recon = pd.DataFrame([dict(seed=s, method=m, reconstruction_mse=mse[m][i]) for i, s in enumerate(SEEDS)
                          for m in ("GPE", "VAE")])
    memo = pd.DataFrame([dict(seed=s, method=m, rate=r[i] if m != NO_FLOW else 0.03, quantile=0.05)
                         for i, s in enumerate(SEEDS) for m, r in ((NO_FLOW, None), ("GPE", rate["GPE"]),
                                                                    ("VAE", rate["VAE"]))])
    return curve, refs, recon, memo


def _decide(profile="quick", **kw):
    return {r.id: r for r in generation.decide(*_tables(**kw), profile=profile)}


@pytest.mark.parametrize(("quality", "row", "outcome"), [
    # what the quick run finds: the VAE's samples are more faithful (precision, density), GPE's more diverse
    ({"VAE": dict(precision=[0.976, 0.977, 0.977])}, "gpe.fig9.precision", "fails"),
    ({"GPE": dict(density=[0.85, 0.79, 0.83]), "VAE": dict(density=[1.23, 1.17, 1.19])}, "gpe.fig9.density",
     "fails"),
    ({"VAE": dict(coverage=[0.93, 0.925, 0.9])}, "gpe.fig9.coverage", "inconclusive"),
])
def test_sample_quality_rows_can_fail_or_stay_open(quality, row, outcome):
    assert _decide(quality=quality)[row].outcome == outcome


def test_a_curve_without_the_sample_quality_scores_is_refused():
    curve, *rest = _tables()
    with pytest.raises(ValueError, match=r"lacks the sample-quality columns \['coverage'\]"):
        generation.decide(curve.drop(columns="coverage"), *rest, profile="quick")


def test_everything_holds_when_gpe_is_better():
    rows = _decide()
    assert list(rows) == IDS
    assert [r.outcome for r in rows.values()] == ["holds"] * 9
    assert [r.kind for r in rows.values()] == ["paper"] * 4 + ["check"] * 5
    assert rows["gpe.fig9.recall"].ours == "GPE 0.91 (0.9–0.94, 3 seeds) vs VAE 0.75 (0.73–0.76, 3 seeds)"
    head = rows["gpe.fig9.flow_fd_kid"]
    assert head.claim == ("GPE + CFM scores better than VAE + CFM after 8,000 flow iterations (FD-classifier and KID, "
                          "n = 1,000 vs held-out)")
    assert head.ours.endswith("(training images: FD 112, KID 1.6e+03)")
    assert rows["gpe.fig9.flow_fd.milestones"].ours == "GPE lower (over seeds) at 3/3 milestones: 500, 2,000, 8,000"


def test_fid_is_named_only_on_the_inception_features():
    assert "(FID and KID" in _decide(metric="FID")["gpe.fig9.flow_fd_kid"].claim


def test_milestones_fail_when_one_milestone_fails_and_stay_open_when_one_straddles():
    fd = {"GPE": {500: [700.0, 650, 690], 2000: [340.0, 300, 330], 8000: [237.0, 213, 238]},
          "VAE": {500: [600.0, 610, 620], 2000: [330.0, 320, 280], 8000: [369.0, 322, 378]}}
    row = _decide(fd=fd)["gpe.fig9.flow_fd.milestones"]
    assert row.outcome == "fails"
    assert row.detail == "500: fails; 2,000: inconclusive; 8,000: holds"
    assert row.ours == "GPE lower (over seeds) at 1/3 milestones: 8,000"
    fd["GPE"][500] = [500.0, 500, 500]
    assert _decide(fd=fd)["gpe.fig9.flow_fd.milestones"].outcome == "inconclusive"


@pytest.mark.parametrize(("kid", "outcome"), [
    ({"GPE": [13000.0, 12500, 13100], "VAE": [12400.0, 12100, 12400]}, "fails"),  # KID worse, FD better
    ({"GPE": [11000.0, 12500, 12000], "VAE": [12400.0, 12100, 12400]}, "inconclusive"),
])
def test_headline_needs_both_scores(kid, outcome):
    assert _decide(kid=kid)["gpe.fig9.flow_fd_kid"].outcome == outcome


@pytest.mark.parametrize(("no_flow", "outcome"), [((100.0, 90.0, 110.0), "fails"),
                                                  ((150.0, 100.0, 120.0), "inconclusive")])
def test_vae_flow_against_prior_samples(no_flow, outcome):
    """VAE + CFM at the last milestone: 123, 107, 126 by default."""
    assert _decide(no_flow=no_flow)["gpe.fig9.vae_flow_vs_prior"].outcome == outcome


@pytest.mark.parametrize(("mse", "outcome"), [
    ({"GPE": [0.11, 0.12, 0.13], "VAE": [0.104, 0.106, 0.108]}, "fails"),
    ({"GPE": [0.09, 0.11, 0.12], "VAE": [0.104, 0.106, 0.108]}, "inconclusive"),
])
def test_reconstruction(mse, outcome):
    assert _decide(mse=mse)["gpe.fig9.reconstruction"].outcome == outcome


def test_memorisation_fails_above_twice_the_quantile():
    """Every generator's rate must be at most 2 × 0.05 (the no-flow prior samples are not judged)."""
    row = _decide(rate={"GPE": [0.02, 0.03, 0.4], "VAE": [0.05, 0.05, 0.05]})["gpe.fig9.memorisation"]
    assert row.outcome == "fails" and row.kind == "check"
    assert _decide(rate={"GPE": [0.1] * 3, "VAE": [0.1] * 3})["gpe.fig9.memorisation"].outcome == "holds"


def test_smoke_decides_nothing_and_ids_are_the_same_in_every_profile():
    """Also with other milestones and sample counts (smoke's, paper's): the headline id is always there."""
    setups = {"smoke": dict(milestones=[10, 20], n_fake=200), "quick": {},
              "paper": dict(milestones=[5000, 10000, 25000, 50000, 100000, 200000], n_fake=10000)}
    by_profile = {p: _decide(profile=p, **kw) for p, kw in setups.items()}
    assert {r.outcome for r in by_profile["smoke"].values()} == {"n/a"}
    assert all(list(rows) == IDS for rows in by_profile.values())
    assert all(ID_PATTERN.match(i) for i in IDS)


def test_reference_rows_and_lines():
    """The reference table the claims read: the no-flow rows, then the training images at seed −1; Fig. 9's lines
    are the training images' level and the no-flow median."""
    real = SampleQuality(fd=112.0, kid=1600.0, precision=0.9, recall=0.9, density=1.0, coverage=0.9,
                         metric="FD-classifier", n_real=1000, n_fake=1000, nearest_k=5, extractor="x")
    no_flow = pd.DataFrame([dict(seed=s, method=NO_FLOW, **(asdict(real) | dict(fd=fd)))
                            for s, fd in zip(SEEDS, (450.0, 454.0, 394.0))])
    table = reference_scores(no_flow, real)
    assert table.method.tolist() == [NO_FLOW] * 3 + ["1000 training images"]
    assert table.seed.tolist() == [0, 1, 2, -1]
    cols = score_columns("FD-classifier")
    assert cols["value"] == "FD-classifier" and score_columns("FID")["value"] == "FID"
    lines = score_references(table, cols)
    assert lines["value"] == {"1000 training images": 112.0, f"{NO_FLOW} (median)": 450.0}
    assert lines["kid"] == {"1000 training images": 1600.0, f"{NO_FLOW} (median)": 1600.0}


@pytest.mark.parametrize(("ae", "outcome"), [([100.0, 90.0, 95.0], "holds"), ([60.0, 50.0, 70.0], "fails"),
                                             ([90.0, 60.0, 100.0], "inconclusive")])
def test_the_ae_control_row_comes_with_the_ae_and_is_decided_paired(ae, outcome):
    """GPE's last-milestone FD is 80, 71.7, 79.3 by default; the AE row exists only when the curve has the AE."""
    rows = _decide(ae=ae)
    assert list(rows) == [*IDS, "gpe.fig9.ae_control"]
    row = rows["gpe.fig9.ae_control"]
    assert row.outcome == outcome and row.kind == "check"
    assert row.ours.startswith("FD GPE 79.3 (71.7–80, 3 seeds) vs AE")
    assert "gpe.fig9.ae_control" not in _decide()
    assert _decide(profile="smoke", ae=ae)["gpe.fig9.ae_control"].outcome == "n/a"


def test_the_headline_states_kids_noise_when_the_curve_has_it():
    assert _decide(kid_std=350.0)["gpe.fig9.flow_fd_kid"].ours.endswith(
        "; KID's spread over 100 subsets of half the points: median 3.5e+02")
    assert "spread" not in _decide()["gpe.fig9.flow_fd_kid"].ours


def test_committed_quick_run(assert_committed_verdict):
    """The committed figures/06_*.csv result tables give the committed 06_verdict.csv."""
    tables = [pd.read_csv(FIGURES / f"06_{t}.csv")
              for t in ("flow_metric_curve", "reference_scores", "reconstruction", "memorisation")]
    rows = generation.decide(*tables, profile="quick")
    assert_committed_verdict(rows, "06")


def test_headline_flows_on_five_seeds_and_a_control_on_three_pair_by_seed():
    """Issue 29: GPE and VAE flows on five seeds (the headline rows), the AE control on three; the AE row pairs the
    three seeds it has, the memorisation row reads every flow without the missing cells."""
    curve, refs, recon, memo = _tables(ae=[100.0, 90.0, 95.0])
    more = {s: s - 3 for s in (3, 4)}  # seeds 3 and 4 repeat seeds 0 and 1 for GPE and VAE
    gv = lambda t: pd.concat([t[(t.seed == o) & t.method.isin(["GPE", "VAE", NO_FLOW])].assign(seed=s)  # noqa: E731
                              for s, o in more.items()])
    curve, refs, recon = (pd.concat([t, gv(t)], ignore_index=True) for t in (curve, refs, recon))
    memo = pd.concat([memo, gv(memo), pd.DataFrame([dict(seed=s, method="AE", rate=0.04, quantile=0.05)
                                                    for s in SEEDS])], ignore_index=True)
    rows = {r.id: r for r in generation.decide(curve, refs, recon, memo, profile="quick")}
    assert rows["gpe.fig9.flow_fd_kid"].seeds == 5 and rows["gpe.fig9.flow_fd_kid"].outcome == "holds"
    ae = rows["gpe.fig9.ae_control"]
    assert ae.seeds == 3 and ae.outcome == "holds" and ae.ours.startswith("FD GPE 79.3 (71.7–80, 3 seeds) vs AE")
    assert rows["gpe.fig9.memorisation"].ours.count("5 seeds") == 2 and "AE 0.04 (0.04–0.04, 3 seeds)" in \
        rows["gpe.fig9.memorisation"].ours
