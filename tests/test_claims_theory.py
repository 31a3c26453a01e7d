"""gpelib.claims.theory (notebook 10: the papers' propositions and theorems) on made-up tables, and on the committed
quick run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gpelib import profiles, theory_checks
from gpelib.claims import theory as claims
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"
SETTINGS = {"mc_samples": 1000, "trained_iterations": 50}
IDS = ["gpe.example1.centre_slope", "gpe.def1.forms_agree", "gpe.prop1.separated_pairs", "gpe.thm2.k_alpha_mass",
       "gpe.prop2.collapsed_saddle", "gpe.thm3.second_variation", "gpe.thm3.two_sided_bound",
       "gpe.remark1.hessian_growth", "gpe.cor1.gradient_descent", "gpe.lemma3.sphere_identity",
       "gpe.thm4.decoder_hessian", "gpe.thm6.core", "gpe.thm1.jl_chart.dimension", "gpe.thm1.jl_chart.chart_size",
       "gpe.lemma2.power_law", "gpe.thm5.condition_limit", "gpe.remark3.decoder_hessian", "gpe.prop6.concentration",
       "gpe.lemma6.pair_bound", "gmegan.prop2.optimal_discriminator", "gpe.thm2.trained_encoder"]
DF = pd.DataFrame


def _jl(charts=(8, 64), dims=(10, 200), seeds=(0, 1, 2), oma=None) -> pd.DataFrame:
    """JL draws: 1 − α = 0.5/(chart index + 1)/(dim index + 1) + a small per-seed wobble, unless ``oma`` (a function
    of the chart index, dim index and seed) says otherwise; the excluded mass falls with the charts."""
    oma = oma or (lambda i, j, s: 0.5 / (i + 1) / (j + 1) + 0.001 * s)
    rows = [dict(charts=N, d=dd, seed=s, r=1.0 / N, tau=math.sqrt(1.0 / N), alpha=1 - oma(i, j, s),
                 excluded=0.04 / (i + 1) + 0.001 * s, one_minus_alpha=oma(i, j, s))
            for i, N in enumerate(charts) for j, dd in enumerate(dims) for s in seeds]
    return DF(rows)


def good_tables() -> dict[str, pd.DataFrame]:
    """A made-up run in which every statement holds."""
    m0 = np.array([1.0, 2.0, 4.0])
    L = np.array([1, 4, 16, 64])
    a4 = np.array([0.9, 0.5, 0.25])
    gme5 = np.array([1e-2, 1e-4, 1e-6])
    ns = [50, 100, 200]
    conc = DF([dict(L=lip, n=k, population=1.0, mean=1.0, sd=math.log(lip) ** 1.5 / math.sqrt(k), q95=0.1)
               for lip in (4, 16) for k in ns])
    return {
        "example1_slopes": DF(dict(m0=m0, slope_fd=np.exp(-m0**2 / 2), slope_exact=np.exp(-m0**2 / 2),
                                   rel_error=[1e-10, 2e-10, 8e-9])),
        "proposition1": DF(dict(alpha=[0.5, 0.9], maps=20, pairs=20 * 56, forms_agree=True, covered=[600, 300],
                                within=[600, 300])),
        "theorem2": DF(dict(map=[0, 0, 1, 1], alpha=[0.5, 0.9, 0.5, 0.9], gme=[1e-6, 1e-6, 0.5, 0.5],
                            empirical=[1.0, 1.0, 0.9, 0.6], bound=[0.99, 0.99, -0.04, -44.0])),
        "hessian_spectra": DF(dict(point=["collapsed", "isometry"], zero_modes=[2, 3], expected_zero_modes=[2, 3],
                                   smallest=[-0.5, -1e-17], largest=[1e-17, 0.3], closed_form_error=[2e-16, math.nan])),
        "second_variation": DF(dict(draw=[0, 1, 2], hessian_form=[1.0, 2.0, 3.0], closed_form=[1.0, 2.0, 3.0],
                                    relative_error=[1e-15, 2e-15, 0.0])),
        "theorem3_bounds": DF(dict(map=[0, 1, 2], gme=[0.05, 1.0, 2.0], lower=[-100.0, -300.0, -500.0],
                                   second_variation=[1.0, 0.5, -2.0], upper=[100.0, 300.0, 500.0])),
        "remark1": DF([dict(L=lip, cost=c, top_eigenvalue=v) for lip in L
                       for c, v in (("GME (log)", 0.1 / (1 + math.log(lip))), ("MDS (squared)", 0.3 * lip**2))]),
        "corollary1": DF(dict(step=[0, 1, 2, 3], cost=[0.4, 0.2, 0.1, 0.05])),
        "corollary1_bound": DF(dict(step=[0, 1, 2], lambda_hat=[1.0, 1.0, 1.2], grad_sq=[0.5, 0.3, 0.1])),
        "lemma3": DF(dict(matrix=[0, 1], monte_carlo=[0.1, 0.2], se=[0.01, 0.01], closed_form=[0.1, 0.21],
                          z=[0.0, 1.0])),
        "theorem4": DF(dict(alpha=a4, lambda_min=a4, lambda_max=1.5 / a4, lower=a4, upper=1.5 / a4,
                            kappa=1.5 / a4**2, gd_iterations=np.round(40 / a4**2))),
        "theorem6_core": DF(dict(encoder_scale=[0.6, 1.0], alpha=[0.4, 0.7], decoder_error=[0.0, 0.2],
                                 w1=[0.15, 0.4], bound=[0.2, 0.7])),
        "theorem1_jl": _jl(),
        "theorem5": DF(dict(alpha=[0.5, 0.9, 0.99], gme=gme5, f_integral=gme5**0.8, kappa=[12.0, 3.7, 3.02],
                            kappa_limit=3.0, excess=[3.0, 0.23, 0.005])),
        "remark3": DF(dict(alpha=[0.5, 0.9], hessian_error=[1e-14, 2e-14], ratio_min=[0.5, 0.8],
                           ratio_max=[1.1, 1.2], lower=[0.25, 0.45], upper=[3.0, 1.67])),
        "proposition6": conc,
        "lemma6": DF(dict(alpha=[0.5, 0.9], w1=[0.12, 0.12], bound=[1.4, 0.5], separated=0.0, close=[1.4, 0.5],
                          outside=0.0, outside_mass=0.0)),
        "gmegan_prop2": DF(dict(distortion=[0.0, 0.6], alpha=[1.0, 0.1], violations=[0.0, 0.0], lip_f=[2.0, 3.0],
                                lip_psi=[2.0, 3.5], bound=[2.0, 30.0])),
        "theorem2_trained": DF(dict(alpha=[0.5, 0.9], gme=5e-4, empirical=[1.0, 0.995],
                                    bound=[1 - 5e-4 / math.log(a) ** 2 for a in (0.5, 0.9)])),
    }


def _outcomes(rows) -> dict[str, str]:
    return {r.id: r.outcome for r in rows}


def test_every_statement_holds_on_a_good_run_with_its_id_and_kind():
    rows = claims.decide(good_tables(), profile="quick", settings=SETTINGS)
    assert [r.id for r in rows] == IDS
    assert set(_outcomes(rows).values()) == {"holds"}
    assert {r.id for r in rows if r.kind == "check"} == {"gpe.thm2.trained_encoder"}
    assert all(r.kind == "paper" for r in rows if r.id != "gpe.thm2.trained_encoder")
    by_id = {r.id: r for r in rows}
    assert by_id["gpe.example1.centre_slope"].ours == ("largest relative error 8.0e-09 over m₀ = 1, 2, 4 "
                                                         "(slope 3.35e-04 at m₀ = 4)")
    assert by_id["gpe.prop1.separated_pairs"].ours == "900 of 900 covered pairs"
    assert by_id["gpe.def1.forms_agree"].ours == "all pairs of 20 maps × 2 α agree"
    assert by_id["gpe.lemma3.sphere_identity"].ours.startswith("Monte Carlo (1,000 directions) within 1.00")
    assert by_id["gpe.thm1.jl_chart.dimension"].seeds == 3
    assert by_id["gpe.thm1.jl_chart.chart_size"].claim.startswith("Theorem 1: at d = 200, ")
    assert "after 50 iterations" in by_id["gpe.thm2.trained_encoder"].ours


def _set(name: str, **cols):
    def edit(t: dict[str, pd.DataFrame]) -> None:
        t[name] = t[name].assign(**cols)
    return edit


def _jl_growing_in_d(t):
    t["theorem1_jl"] = _jl(oma=lambda i, j, s: (0.3 + 0.1 * j) / (i + 1) + 0.001 * s)  # still falls with the charts


FAILURES = {  # one edit of the good run → the one statement that must fail
    "gpe.example1.centre_slope": _set("example1_slopes", rel_error=[1e-10, 1e-3, 1e-9]),
    "gpe.def1.forms_agree": _set("proposition1", forms_agree=[True, False]),
    "gpe.prop1.separated_pairs": _set("proposition1", within=[600, 299]),
    "gpe.thm2.k_alpha_mass": _set("theorem2", empirical=[1.0, 0.98, 0.9, 0.6]),
    "gpe.prop2.collapsed_saddle": _set("hessian_spectra", zero_modes=[3, 3]),
    "gpe.thm3.second_variation": _set("second_variation", relative_error=[1e-15, 1e-6, 0.0]),
    "gpe.thm3.two_sided_bound": _set("theorem3_bounds", second_variation=[1.0, 0.5, -600.0]),
    "gpe.remark1.hessian_growth": _set("remark1", top_eigenvalue=[0.1 * lip for lip in (1, 1, 4, 4, 16, 16, 64, 64)]),
    "gpe.cor1.gradient_descent": _set("corollary1", cost=[0.4, 0.2, 0.25, 0.05]),
    "gpe.lemma3.sphere_identity": _set("lemma3", z=[0.0, 4.5]),
    "gpe.thm4.decoder_hessian": _set("theorem4", gd_iterations=np.round(40 / np.array([0.9, 0.5, 0.25]))),
    "gpe.thm6.core": _set("theorem6_core", w1=[0.25, 0.4]),
    "gpe.thm1.jl_chart.dimension": _jl_growing_in_d,
    "gpe.lemma2.power_law": _set("theorem5", f_integral=[0.1, 0.2, 0.05]),
    "gpe.thm5.condition_limit": _set("theorem5", excess=[3.0, 0.23, 0.05]),
    "gpe.remark3.decoder_hessian": _set("remark3", ratio_max=[3.5, 1.2]),
    "gpe.prop6.concentration": _set("proposition6", sd=[lip**2 / math.sqrt(k) for lip in (4, 16)
                                                        for k in (50, 100, 200)]),
    "gpe.lemma6.pair_bound": _set("lemma6", w1=[0.12, 0.6]),
    "gmegan.prop2.optimal_discriminator": _set("gmegan_prop2", violations=[0.0, 1.0]),
    "gpe.thm2.trained_encoder": _set("theorem2_trained", gme=0.05, bound=[1 - 0.05 / math.log(a) ** 2
                                                                        for a in (0.5, 0.9)]),
}


@pytest.mark.parametrize("failing", list(FAILURES))
def test_each_statement_fails_alone_when_its_numbers_break_it(failing):
    tables = good_tables()
    FAILURES[failing](tables)
    out = _outcomes(claims.decide(tables, profile="quick", settings=SETTINGS))
    assert out[failing] == "fails"
    assert {k for k, v in out.items() if v != "holds"} == {failing}


def test_chart_size_fails_when_the_excluded_mass_grows():
    tables = good_tables()
    tables["theorem1_jl"] = tables["theorem1_jl"].assign(excluded=lambda t: 0.01 * t.charts)
    out = _outcomes(claims.decide(tables, profile="quick", settings=SETTINGS))
    assert out["gpe.thm1.jl_chart.chart_size"] == "fails" and out["gpe.thm1.jl_chart.dimension"] == "holds"


def test_jl_steps_are_inconclusive_when_the_draws_straddle():
    """Paired over three JL draws, 1 − α falls with d in two draws and rises in the third: the median step's
    interval straddles 0."""
    tables = good_tables()
    tables["theorem1_jl"] = _jl(oma=lambda i, j, s: 0.5 - 0.1 * j * (1 if s < 2 else -1) + 0.01 * s
                                if i == 0 else 0.5 / (j + 1) + 0.001 * s)
    out = _outcomes(claims.decide(tables, profile="quick", settings=SETTINGS))
    assert out["gpe.thm1.jl_chart.dimension"] == "inconclusive"
    assert {k for k, v in out.items() if v != "holds"} == {"gpe.thm1.jl_chart.dimension"}


def test_smoke_decides_nothing_and_ids_are_the_same_in_every_profile():
    tables = good_tables()
    FAILURES["gpe.thm6.core"](tables)
    by_profile = {p: claims.decide(tables, profile=p, settings=SETTINGS) for p in ("smoke", "quick", "paper")}
    assert {r.outcome for r in by_profile["smoke"]} == {"n/a"}
    assert _outcomes(by_profile["paper"]) == _outcomes(by_profile["quick"])
    ids = [[r.id for r in rows] for rows in by_profile.values()]
    assert ids[0] == ids[1] == ids[2] == IDS
    assert len(set(IDS)) == len(IDS) and all(ID_PATTERN.match(i) for i in IDS)
    kinds = [[r.kind for r in rows] for rows in by_profile.values()]
    assert kinds[0] == kinds[1] == kinds[2]
    texts = [[(r.claim, r.paper, r.ours, r.detail) for r in rows] for rows in by_profile.values()]
    assert texts[0] == texts[1] == texts[2]


def test_a_missing_table_is_named():
    tables = good_tables()
    del tables["lemma6"]
    with pytest.raises(KeyError, match="lemma6"):
        claims.decide(tables, profile="quick", settings=SETTINGS)


def _replayed_quick_tables() -> dict[str, pd.DataFrame]:
    """The quick run's tables the committed figures may lack (they came with the claims), recomputed as the
    notebook computes them: its torch generator's draws, cell by cell, up to Corollary 1."""
    S = profiles.preset("10", "quick")
    g = torch.Generator().manual_seed(0)
    n, dims = S["n"], S["dims"]
    thm2, prop1 = theory_checks.random_map_checks(n, dims, S["maps"], S["alphas"], g)
    thm3, spectra, variation = theory_checks.hessian_checks(n, dims, S["maps"], g)
    rem = theory_checks.remark1_spectra(S["lipschitz"], g)
    cor1, cor1_bound = theory_checks.corollary1_run(n, dims, S["gd_steps"], g)
    return dict(theorem2=thm2, proposition1=prop1, theorem3_bounds=thm3, hessian_spectra=spectra,
                second_variation=variation, remark1=rem, corollary1=cor1, corollary1_bound=cor1_bound)


def test_committed_quick_run(one_thread, assert_committed_verdict):
    """The committed figures/10_*.csv give the committed figures/10_verdict.csv (tables the commit predates are
    replayed; the replay must reproduce the committed tables it shares with the notebook, byte for byte)."""
    replayed = _replayed_quick_tables()
    tables = {}
    for name in claims.TABLES:
        path = FIGURES / f"10_{name}.csv"
        if path.is_file():
            tables[name] = pd.read_csv(path)
            if name in replayed:
                assert replayed[name].to_csv(index=False) == path.read_text(), f"replay differs from 10_{name}.csv"
        else:
            tables[name] = replayed[name]
    rows = claims.decide(tables, profile="quick", settings=profiles.preset("10", "quick"))
    assert_committed_verdict(rows, "10")
