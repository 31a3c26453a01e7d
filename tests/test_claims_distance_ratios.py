"""gpelib.claims.distance_ratios (notebook 02: GMEGAN Fig. 3, Theorem 1) on made-up tables and the committed run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gpelib.claims import distance_ratios
from gpelib.verdicts import ID_PATTERN

FIGURES = Path(__file__).resolve().parents[1] / "figures"
SEEDS = [0, 1, 2]
IDS = ["gmegan.fig3.ratio_spread", "gmegan.thm1.bound.train", "gmegan.thm1.bound.heldout",
       "gmegan.thm1.scaled_vs_vae"]


def _geometry(gpe: list[float], vae: list[float]) -> pd.DataFrame:
    return pd.DataFrame([dict(seed=s, method=m, spread=v[i]) for m, v in (("GPE", gpe), ("VAE", vae))
                         for i, s in enumerate(SEEDS)])


def _certificate(empirical=None, bound: float = 0.9, eps: float = 0.02) -> pd.DataFrame:
    """Every (seed, method, latent, split, α); ``empirical(seed, method, latent, split)`` gives µ²[K_α] (default:
    GPE 0.99, VAE 0.95 everywhere, i.e. every bound holds and GPE certifies more)."""
    empirical = empirical or (lambda s, m, lat, sp: 0.99 if m == "GPE" else 0.95)
    rows = [dict(alpha=a, empirical=empirical(s, m, lat, sp), bound=bound, eps=eps, split=sp, seed=s, method=m,
                 latent=lat) for s in SEEDS for m in ("GPE", "VAE") for lat in ("raw", "scaled")
            for sp in ("train", "held-out") for a in (0.3, 0.5, 0.9)]
    return pd.DataFrame(rows)


def _rows(geometry=None, certificate=None, profile="quick"):
    geometry = _geometry([1.2, 1.3, 1.25], [2.4, 2.0, 3.0]) if geometry is None else geometry
    rows = distance_ratios.decide(geometry, _certificate() if certificate is None else certificate, profile=profile)
    return {r.id: r for r in rows}


def test_everything_holds_on_a_clean_run():
    rows = _rows()
    assert list(rows) == IDS
    assert [r.outcome for r in rows.values()] == ["holds", "sanity", "holds", "holds"]
    assert [r.kind for r in rows.values()] == ["paper", "sanity", "paper", "check"]
    assert rows["gmegan.thm1.bound.train"].note == "check passed"
    assert rows["gmegan.fig3.ratio_spread"].ours == "median spread GPE 1.25 vs VAE 2.4"
    assert rows["gmegan.thm1.scaled_vs_vae"].ours == "scaled: GPE 0.990 vs VAE 0.950 (raw latents: 0.990 vs 0.950)"


@pytest.mark.parametrize(("gpe", "vae", "outcome"), [
    ([3.0, 3.1, 3.2], [2.4, 2.0, 3.0], "fails"),
    ([1.0, 2.0, 3.0], [2.0, 1.5, 1.0], "inconclusive"),  # paired differences −1, +0.5, +2
])
def test_ratio_spread(gpe, vae, outcome):
    assert _rows(geometry=_geometry(gpe, vae))["gmegan.fig3.ratio_spread"].outcome == outcome


def test_heldout_bound_fails_below_the_bound_and_the_train_row_only_notes_it():
    low = _certificate(lambda s, m, lat, sp: 0.5 if s == 1 else 0.99)
    rows = _rows(certificate=low)
    assert rows["gmegan.thm1.bound.heldout"].outcome == "fails"
    assert rows["gmegan.thm1.bound.train"].outcome == "sanity"
    assert rows["gmegan.thm1.bound.train"].note.startswith("check FAILED")


def test_heldout_bound_ignores_rescaled_latents():
    """Only the raw latents' held-out pairs decide the held-out row (the scaled ones are a different encoder)."""
    cert = _certificate(lambda s, m, lat, sp: 0.5 if (lat, sp) == ("scaled", "held-out") else 0.99)
    assert _rows(certificate=cert)["gmegan.thm1.bound.heldout"].outcome == "holds"


@pytest.mark.parametrize(("gpe", "outcome"), [
    ([0.90, 0.91, 0.92], "fails"),  # VAE 0.95 everywhere
    ([0.90, 0.96, 0.99], "inconclusive"),
])
def test_scaled_certificate(gpe, outcome):
    cert = _certificate(lambda s, m, lat, sp: gpe[s] if m == "GPE" and lat == "scaled" else 0.95)
    assert _rows(certificate=cert)["gmegan.thm1.scaled_vs_vae"].outcome == outcome


def test_smoke_decides_nothing_and_ids_are_the_same_in_every_profile():
    by_profile = {p: _rows(profile=p) for p in ("smoke", "quick", "paper")}
    assert [r.outcome for r in by_profile["smoke"].values()] == ["n/a", "sanity", "n/a", "n/a"]
    assert all(list(rows) == IDS for rows in by_profile.values())
    assert all(ID_PATTERN.match(i) for i in IDS)


def test_committed_quick_run(assert_committed_verdict):
    """The committed figures/02_encoder_geometry.csv and 02_certificate.csv give the committed 02_verdict.csv."""
    rows = distance_ratios.decide(pd.read_csv(FIGURES / "02_encoder_geometry.csv"),
                                  pd.read_csv(FIGURES / "02_certificate.csv"), profile="quick")
    assert_committed_verdict(rows, "02")
