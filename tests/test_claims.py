"""gpelib.claims as a whole: one decide() per notebook, and the committed verdict tables it wrote carry unique ids
and known kinds, among them every headline the README picks (the per-notebook families are tested in
tests/test_claims_<module>.py)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pandas as pd
import pytest

from gpelib import claims, reporting, verdicts

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "figures"


@pytest.mark.parametrize("nb, module", sorted(claims.NOTEBOOK_MODULES.items()))
def test_every_notebook_has_a_decide_and_its_verdict_cell_calls_it(nb, module):
    mod = importlib.import_module(f"gpelib.claims.{module}")
    sig = inspect.signature(mod.decide)
    assert "profile" in sig.parameters and sig.parameters["profile"].kind is inspect.Parameter.KEYWORD_ONLY
    source = next((ROOT / "notebooks").glob(f"{nb}_*.py")).read_text()
    alias = re.search(rf"from gpelib\.claims import {module}(?: as (\w+))?", source)
    assert alias, f"notebook {nb} does not import gpelib.claims.{module}"
    assert f"{alias[1] or module}.decide(" in source, f"notebook {nb} does not call {module}.decide"


def _committed() -> pd.DataFrame:
    frames = [reporting.read_verdict(f).assign(notebook=f.name[:2]) for f in sorted(FIGURES.glob("*_verdict.csv"))]
    return pd.concat(frames, ignore_index=True)


def test_committed_verdicts_have_unique_ids_and_known_kinds():
    df = _committed()
    assert set(claims.NOTEBOOK_MODULES) <= set(df.notebook)
    assert df.id.map(lambda i: bool(verdicts.ID_PATTERN.match(i))).all(), df.id[~df.id.str.match(r"^(gpe|gmegan)\.")]
    assert not df.id.duplicated().any(), df.id[df.id.duplicated()].tolist()
    assert set(df.kind) <= set(verdicts.KINDS) and {"paper", "check"} <= set(df.kind)
    assert ((df.kind == "sanity") == (df.outcome == "sanity")).all()


def test_every_readme_headline_is_a_committed_paper_claim():
    df = _committed().set_index("id")
    for nb, _, claim_id in reporting.HEADLINES:
        assert claim_id in df.index, claim_id
        assert df.loc[claim_id, "notebook"] == nb and df.loc[claim_id, "kind"] == "paper"
