"""Output folders, tidy tables and the verdict tables that every notebook ends with.

Run profiles live in :mod:`gpelib.profiles`; the rules that decide a verdict in :mod:`gpelib.verdicts`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import verdicts as _verdicts

__all__ = ["project_root", "output_dir", "save_table", "verdict_table",
           "save_verdict", "Claim", "checkpoint_folder"]


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding gpelib's ``pyproject.toml``; else cwd."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        f = p / "pyproject.toml"
        if f.is_file() and 'name = "gpelib"' in f.read_text():
            return p
    return here


def output_dir(out_dir: str | Path | None, profile: str, *, kind: str = "figures") -> Path:
    """Where a notebook writes: ``out_dir`` if given, else ``$GPE_OUT_DIR``, else ``<root>/runs/<profile>/<kind>``.

    ``reproduce/run_all.py`` passes its run folder and copies the results into ``figures/`` afterwards, so that an
    interactive or CI (smoke) run never overwrites the committed figures.
    """
    base = out_dir or os.environ.get("GPE_OUT_DIR")
    path = Path(base) if base else project_root() / "runs" / profile / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoint_folder(profile: str, notebook: str, name: str, settings: Mapping[str, Any]) -> Path:
    """``<root>/runs/<profile>/checkpoints/<notebook>/<name>-<hash>``: trained models are reused when a notebook is
    rerun with the same settings, and a change of settings gets a folder of its own (never a mixed resume)."""
    from .checkpoint import content_hash

    path = project_root() / "runs" / profile / "checkpoints" / notebook / f"{name}-{content_hash(settings, 10)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_table(df: pd.DataFrame, out_dir: Path, name: str) -> Path:
    """Write a tidy CSV ``<out_dir>/<name>.csv`` and return its path."""
    path = Path(out_dir) / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


Claim = _verdicts.Claim  # one verdict row; decided with gpelib.verdicts (SPEC §2 "Verdicts")

_LEGACY_HOLDS = {True: _verdicts.HOLDS, False: _verdicts.FAILS, None: _verdicts.NA}


def _claim_of(row: Claim | Mapping[str, Any]) -> Claim:
    """A :class:`Claim` from a Claim or a dict row: ``outcome`` (one of ``verdicts.OUTCOMES``), or the older boolean
    ``holds`` (True → holds, False → fails, None → n/a); ``kind="sanity"`` marks a sanity check."""
    if isinstance(row, Claim):
        return row
    r = dict(row)
    if "outcome" not in r and "holds" not in r:
        raise ValueError(f"verdict row {r} lacks ['outcome'] (or the older ['holds'])")
    missing = [k for k in ("claim", "paper", "ours") if k not in r]
    if missing:
        raise ValueError(f"verdict row {r} lacks {missing}")
    if "outcome" in r:
        outcome = r.pop("outcome")
        r.pop("holds", None)
    else:
        h = r.pop("holds")
        outcome = _LEGACY_HOLDS[None if h is None or pd.isna(h) else bool(h)]
    kind = r.pop("kind", "sanity" if outcome == _verdicts.SANITY else "claim")
    if kind == "sanity":
        outcome = _verdicts.SANITY
    known = {k: r.pop(k) for k in ("claim", "paper", "ours", "seeds", "detail", "note") if k in r}
    return Claim(outcome=outcome, kind=kind, **known)


def verdict_table(rows: Sequence[Claim | Mapping[str, Any]]) -> pd.DataFrame:
    """The table each notebook ends with, one row per claim: ``claim, paper, ours, outcome, seeds, detail, note``.

    ``outcome`` is one of ``holds``, ``fails``, ``inconclusive``, ``sanity`` (a check that cannot fail: shown, not
    counted) or ``n/a`` (the profile decides nothing), decided by :mod:`gpelib.verdicts`. Rows are
    :class:`Claim` objects (``Claim.from_decision``) or dicts; a dict's older boolean ``holds`` maps True → holds,
    False → fails, None → n/a, and its other keys become extra columns after ``note``.
    """
    cols = ["claim", "paper", "ours", "outcome", "seeds", "detail", "note"]
    extra = {k: v for r in rows if not isinstance(r, Claim) for k, v in r.items() if k not in (*cols, "holds", "kind")}
    df = pd.DataFrame([_claim_of(r).as_row() | ({k: r.get(k) for k in extra} if not isinstance(r, Claim) else {})
                       for r in rows], columns=[*cols, *extra])
    df["seeds"] = df["seeds"].astype("Int64")
    return df


def save_verdict(df: pd.DataFrame | Sequence[Claim | Mapping[str, Any]], out_dir: Path, notebook: str, *,
                 profile: str) -> Path:
    """Write ``<out_dir>/<notebook>_verdict.csv`` (with the profile) for ``reproduce/run_all.py``'s report.
    ``df`` is a :func:`verdict_table` or the rows to build one from."""
    df = (df if isinstance(df, pd.DataFrame) else verdict_table(df)).copy()
    _verdicts.outcome_counts(df)  # every outcome is a known word
    df.insert(0, "profile", profile)
    return save_table(df, out_dir, f"{notebook}_verdict")
