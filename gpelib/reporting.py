"""Run profiles, output folders and the verdict tables that every notebook ends with.

Profiles (SPEC §2): ``smoke`` (CI, seconds per notebook), ``quick`` (2-core CPU, shipped data, the default) and
``paper`` (the papers' settings on a GPU with real datasets on disk). A notebook reads its profile from the
papermill parameter, else ``$GPE_PROFILE``, else ``quick``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

__all__ = ["PROFILES", "resolve_profile", "pick", "project_root", "output_dir", "save_table", "verdict_table",
           "save_verdict", "Claim", "checkpoint_folder"]

PROFILES = ("smoke", "quick", "paper")
T = TypeVar("T")


def resolve_profile(profile: str | None = None) -> str:
    """``profile`` if given, else ``$GPE_PROFILE``, else ``"quick"``; validated."""
    p = profile or os.environ.get("GPE_PROFILE") or "quick"
    if p not in PROFILES:
        raise ValueError(f"unknown profile {p!r}; expected one of {PROFILES}")
    return p


def pick(profile: str, table: Mapping[str, T]) -> T:
    """``table[profile]`` with a clear error when a notebook lacks settings for that profile."""
    if profile not in table:
        raise KeyError(f"no settings for profile {profile!r}; this notebook defines {sorted(table)}")
    return table[profile]


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
    import hashlib
    import json

    h = hashlib.sha256(json.dumps(dict(settings), sort_keys=True, default=str).encode()).hexdigest()[:10]
    path = project_root() / "runs" / profile / "checkpoints" / notebook / f"{name}-{h}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_table(df: pd.DataFrame, out_dir: Path, name: str) -> Path:
    """Write a tidy CSV ``<out_dir>/<name>.csv`` and return its path."""
    path = Path(out_dir) / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


Claim = Mapping[str, Any]


def verdict_table(rows: Sequence[Claim]) -> pd.DataFrame:
    """The table each notebook ends with: one row per claim with ``claim``, ``paper``, ``ours``, ``holds``.

    ``holds`` must be a computed boolean (or ``None`` when the run cannot decide, e.g. a smoke run).
    """
    need = ("claim", "paper", "ours", "holds")
    for r in rows:
        missing = [k for k in need if k not in r]
        if missing:
            raise ValueError(f"verdict row {dict(r)} lacks {missing}")
    df = pd.DataFrame([{k: r[k] for k in need} | {k: v for k, v in r.items() if k not in need} for r in rows])
    df["holds"] = df["holds"].map(lambda v: "n/a" if v is None else ("yes" if bool(v) else "no"))
    return df


def save_verdict(df: pd.DataFrame, out_dir: Path, notebook: str, *, profile: str) -> Path:
    """Write ``<out_dir>/<notebook>_verdict.csv`` (with the profile) for ``reproduce/run_all.py``'s report."""
    df = df.copy()
    df.insert(0, "profile", profile)
    return save_table(df, out_dir, f"{notebook}_verdict")
