"""Output folders, tidy tables and the verdict tables that every notebook ends with.

Run profiles live in :mod:`gpelib.profiles`; the rules that decide a verdict in :mod:`gpelib.verdicts`.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import verdicts as _verdicts

__all__ = ["project_root", "runs_root", "output_dir", "save_table", "verdict_table", "save_verdict", "save_conclusion",
           "markdown_table", "Claim",
           "checkpoint_folder", "NOTEBOOK_PAPERS", "HEADLINES", "read_verdict", "findings_block", "update_readme",
           "TIMING_FILES",
           "is_timing_file", "timing_columns", "save_timings"]

#: The outputs whose bytes depend on wall-clock, so two identical runs write them differently: every notebook's
#: ``NN_timings.csv`` (the seconds moved out of its result tables by :func:`save_table`), notebook 05's
#: tables, figures and verdict (its result *is* a time: reconstruction vs wall-clock, seconds per iteration) and the
#: runner's run records (``runs.json``, ``report.md``: dates, wall time) and the executed notebooks (``executed/``:
#: progress bars and printed times). Every other figure and CSV is the same
#: bytes on a rerun with the same code, environment and hardware (tests/test_determinism.py).
TIMING_FILES = (
    "[0-9][0-9]_timings.csv",
    "05_wallclock_*", "05_time_to_threshold.csv", "05_seconds_per_iteration*", "05_verdict.csv",
    "runs.json", "report.md", "[0-9][0-9]_*.ipynb",
)

_TIMING_COLUMN = re.compile(r"(^|_)(seconds|s_per_iter)($|_)")


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding gpelib's ``pyproject.toml``; else cwd."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        f = p / "pyproject.toml"
        if f.is_file() and 'name = "gpelib"' in f.read_text():
            return p
    return here


def runs_root() -> Path:
    """Where trained models, caches and interactive outputs go: ``$GPE_RUNS_DIR`` if set, else ``<root>/runs``.

    A dry run of the paper profile (``reproduce/dry_run.py``) points it at a temporary folder, so that its models,
    trained on fake data, never land beside (or get reused as) a real run's."""
    env = os.environ.get("GPE_RUNS_DIR")
    return Path(env).expanduser() if env else project_root() / "runs"


def output_dir(out_dir: str | Path | None, profile: str, *, kind: str = "figures") -> Path:
    """Where a notebook writes: ``out_dir`` if given, else ``$GPE_OUT_DIR``, else ``runs_root()/<profile>/<kind>``.

    ``reproduce/run_all.py`` passes its run folder and copies the results into ``figures/`` afterwards, so that an
    interactive or CI (smoke) run never overwrites the committed figures.
    """
    base = out_dir or os.environ.get("GPE_OUT_DIR")
    path = Path(base) if base else runs_root() / profile / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoint_folder(profile: str, notebook: str, name: str, settings: Mapping[str, Any]) -> Path:
    """``runs_root()/<profile>/checkpoints/<notebook>/<name>-<hash>``: trained models are reused when a notebook is
    rerun with the same settings, and a change of settings gets a folder of its own (never a mixed resume)."""
    from .checkpoint import content_hash

    path = runs_root() / profile / "checkpoints" / notebook / f"{name}-{content_hash(settings, 10)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run_checkpoints(profile: str) -> Path:
    """``runs_root()/<profile>/checkpoints/runs``: the shared folder of :func:`gpelib.recipes.run_folder` — one
    folder per run named by its settings, so notebooks training the same run share it."""
    path = runs_root() / profile / "checkpoints" / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_timing_file(name: str | Path) -> bool:
    """True when the output ``name`` (a file name) is declared in :data:`TIMING_FILES`: it records wall-clock and
    differs between identical runs."""
    return any(fnmatch.fnmatchcase(Path(name).name, pat) for pat in TIMING_FILES)


def timing_columns(df: pd.DataFrame) -> list[str]:
    """The wall-clock columns of ``df``: ``seconds``, ``*_seconds``, ``seconds_*`` and ``s_per_iter`` names."""
    return [c for c in df.columns if _TIMING_COLUMN.search(str(c))]


def save_table(df: pd.DataFrame, out_dir: Path, name: str, *, keys: Sequence[str] | None = None) -> Path:
    """Write a tidy CSV ``<out_dir>/<name>.csv`` and return its path.

    Result tables hold no wall-clock, so that a rerun writes the same bytes: the :func:`timing_columns` of ``df``
    go to the notebook's ``NN_timings.csv`` instead (:func:`save_timings`, rows named by the columns ``keys``), and
    the CSV keeps the rest. A table declared in :data:`TIMING_FILES` (notebook 05's) is written whole. A table with
    timing columns, no ``keys`` and no declaration is refused (ValueError)."""
    path = Path(out_dir) / f"{name}.csv"
    timed = timing_columns(df)
    if timed and not is_timing_file(path):
        if keys is None:
            raise ValueError(f"table {name} has wall-clock columns {timed}: pass keys= (the columns naming a row) so "
                             "that they move to the notebook's timings file, or declare it in TIMING_FILES")
        save_timings(df[[*keys, *timed]], out_dir, name.split("_")[0], table=name, keys=keys)
        df = df.drop(columns=timed)
    df.to_csv(path, index=False)
    return path


def save_timings(df: pd.DataFrame, out_dir: Path, notebook: str, *, table: str, keys: Sequence[str]) -> Path:
    """Record the wall-clock columns of ``df`` in ``<out_dir>/<notebook>_timings.csv``, a declared timing file.

    The file is long and tidy, one row per (table row, timing column): ``table``, the ``keys`` columns, ``column``
    (the timing column's name: ``seconds``, ``encoder_seconds``, ``s_per_iter`` …) and ``value``. Saving a table
    again replaces its rows, so a notebook rerun in the same folder does not duplicate them."""
    keys = list(keys)
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise ValueError(f"keys {missing} are not columns of table {table}: {list(df.columns)}")
    if df.duplicated(subset=keys).any():
        raise ValueError(f"keys {keys} do not name the rows of table {table} uniquely")
    timed = [c for c in timing_columns(df) if c not in keys]
    long = df[[*keys, *timed]].melt(id_vars=keys, value_vars=timed, var_name="column", value_name="value")
    long.insert(0, "table", table)
    path = Path(out_dir) / f"{notebook}_timings.csv"
    if path.is_file():  # as text, so that the other tables' rows are written back unchanged
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        long = long.astype(object).where(long.notna(), "").astype(str)
        long = pd.concat([old[old["table"] != table], long], ignore_index=True).fillna("")
        ids = [c for c in long.columns if c not in ("table", "column", "value")]
        long = long[["table", *ids, "column", "value"]]
    long.to_csv(path, index=False)
    return path


Claim = _verdicts.Claim  # one verdict row; decided with gpelib.verdicts (SPEC §2 "Verdicts")

VERDICT_COLUMNS = ["id", "kind", "claim", "paper", "ours", "outcome", "seeds", "detail", "note"]


def _claim_of(row: Claim | Mapping[str, Any]) -> Claim:
    """A :class:`Claim` from a Claim or a dict row with the keys of :data:`VERDICT_COLUMNS` (``seeds``, ``detail``
    and ``note`` optional)."""
    if isinstance(row, Claim):
        return row
    r = dict(row)
    missing = [k for k in VERDICT_COLUMNS[:6] if k not in r]
    if missing:
        raise ValueError(f"verdict row {r} lacks {missing}")
    return Claim(**{k: r[k] for k in VERDICT_COLUMNS if k in r})


def verdict_table(rows: Sequence[Claim | Mapping[str, Any]]) -> pd.DataFrame:
    """The table each notebook ends with, one row per claim: ``id, kind, claim, paper, ours, outcome, seeds, detail,
    note``.

    ``kind`` is ``paper``, ``check`` or ``sanity`` (:data:`gpelib.verdicts.KINDS`); ``outcome`` is one of ``holds``,
    ``fails``, ``inconclusive``, ``sanity`` (a check that cannot fail: shown, not counted) or ``n/a`` (the profile
    decides nothing), decided by :mod:`gpelib.claims`. Rows are :class:`Claim` objects or dicts with the same keys;
    a dict's other keys become extra columns after ``note``. Ids must be unique.
    """
    cols = VERDICT_COLUMNS
    extra = {k: v for r in rows if not isinstance(r, Claim) for k, v in r.items() if k not in cols}
    claims = [_claim_of(r) for r in rows]
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"claim ids must be unique in a verdict table; repeated: {dup}")
    df = pd.DataFrame([c.as_row() | ({k: r.get(k) for k in extra} if not isinstance(r, Claim) else {})
                       for c, r in zip(claims, rows, strict=True)], columns=[*cols, *extra])
    df["seeds"] = df["seeds"].astype("Int64")
    return df


def markdown_table(df: pd.DataFrame) -> str:
    """``df`` as a GitHub-flavoured markdown table (``|`` in cells escaped, newlines flattened)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |")
    return "\n".join(lines)


def save_conclusion(text: str, out_dir: Path, notebook: str) -> Path:
    """Write ``<out_dir>/<notebook>_conclusion.md``: a notebook's closing sentence(s), computed from its numbers;
    ``reproduce/run_all.py``'s report prints it under the notebook's verdict table."""
    if not text.strip():
        raise ValueError("an empty conclusion")
    path = Path(out_dir) / f"{notebook}_conclusion.md"
    path.write_text(text.strip() + "\n")
    return path


def save_verdict(df: pd.DataFrame | Sequence[Claim | Mapping[str, Any]], out_dir: Path, notebook: str, *,
                 profile: str) -> Path:
    """Write ``<out_dir>/<notebook>_verdict.csv`` (with the profile) for ``reproduce/run_all.py``'s report.
    ``df`` is a :func:`verdict_table` or the rows to build one from."""
    df = (df if isinstance(df, pd.DataFrame) else verdict_table(df)).copy()
    _verdicts.tally(df)  # every outcome and kind is a known word
    if "id" not in df or df["id"].duplicated().any():
        raise ValueError(f"{notebook}: a verdict table needs unique claim ids (column 'id')")
    df.insert(0, "profile", profile)
    return save_table(df, out_dir, f"{notebook}_verdict")


# ----------------------------------------------------------------------------------------------------------------
# the README's findings (issue 17): generated from figures/*_verdict.csv, never typed
# ----------------------------------------------------------------------------------------------------------------

#: Which paper each notebook's claims belong to (02 checks GMEGAN's Theorem 1 = GPE's Theorem 2 and Fig. 3).
NOTEBOOK_PAPERS: dict[str, str] = {"01": "GPE", "02": "GMEGAN", "03": "GPE", "04": "GPE", "05": "GPE", "06": "GPE",
                                   "07": "GMEGAN", "08": "GMEGAN", "09": "GMEGAN", "10": "theory"}
#: The headline verdicts of the README: (notebook, what the paper shows, the claim's id). The ids are the same in
#: every profile (the claims functions of :mod:`gpelib.claims` always emit them; a test holds them to it).
HEADLINES: list[tuple[str, str, str]] = [
    ("04", "GPE Table 1", "gpe.table1.mnist.eps2.loss_0.1"),
    ("06", "GPE Fig. 9", "gpe.fig9.flow_fd_kid"),
    ("07", "GMEGAN Figs. 4–5", "gmegan.fig5.12x500.modes"),
    ("08", "GMEGAN Figs. 6–7", "gmegan.fig6.lowest_fd"),
]
README_BEGIN = "<!-- findings:begin (written by reproduce/run_all.py from figures/*_verdict.csv; do not edit) -->"
README_END = "<!-- findings:end -->"


def read_verdict(csv: str | Path) -> pd.DataFrame:
    """A notebook's ``NN_verdict.csv`` as text cells for the report and the README: an older ``holds`` column
    (yes/no/n/a) becomes ``outcome`` words, empty cells stay empty, the profile column is dropped."""
    df = pd.read_csv(csv, keep_default_na=False, dtype=str)
    if "outcome" not in df and "holds" in df:
        df.insert(list(df.columns).index("holds"), "outcome",
                  df.pop("holds").map({"yes": "holds", "no": "fails"}).fillna("n/a"))
    return df.drop(columns=[c for c in ("profile",) if c in df])


def findings_block(fig_dir: str | Path) -> str:
    """The README's first screen: per paper, how many claims hold / fail / are inconclusive (and the sanity
    checks), the :data:`HEADLINES` verdicts one line each (an ``n/a`` one with the first part of its note: why,
    and which profile decides) — all read from ``fig_dir``'s ``NN_verdict.csv`` files and
    ``runs.json``'s profiles. No date and no wall time (they are in ``report.md``, a timing file), so a rerun that
    changes no verdict leaves the README as it was. Raises if a headline claim is missing."""
    import json

    fig_dir = Path(fig_dir)
    frames = {csv.name[:2]: read_verdict(csv) for csv in sorted(fig_dir.glob("[0-9][0-9]_verdict.csv"))}
    if not frames:
        raise FileNotFoundError(f"no NN_verdict.csv in {fig_dir}: run reproduce/run_all.py first")
    meta = json.loads((fig_dir / "runs.json").read_text()) if (fig_dir / "runs.json").exists() else {}
    profiles = sorted({str(v.get("profile")) for v in meta.values()}) or ["?"]
    rows, papers = [], {}
    for nb, df in frames.items():
        papers.setdefault(NOTEBOOK_PAPERS.get(nb, "other"), []).append((nb, df))
    for paper, items in papers.items():
        t = _verdicts.tally(pd.concat([df for _, df in items], ignore_index=True))
        p, c = t["paper"], t["check"]
        nbs = ", ".join(nb for nb, _ in items)
        rows.append(f"| {paper} (notebooks {nbs}) | {p['holds']} | {p['fails']} | {p['inconclusive']} | "
                    f"{c['holds']} | {c['fails']} | {c['inconclusive']} | {t['sanity']['sanity']} | "
                    f"{p['n/a'] + c['n/a']} |")
    lines = [README_BEGIN, "",
             f"**What this companion found** (profile `{', '.join(profiles)}`; every claim of "
             "both papers that our runs can decide, with its numbers, in [figures/report.md](figures/report.md); "
             "the executed notebooks, outputs included, in [figures/executed/](figures/executed/)). Paper claims "
             "are what the papers say; our checks are controls, mechanism tests and metric floors of our own:", "",
             "| paper | paper claims: holds | fails | inconclusive | our checks: holds | fails | inconclusive | "
             "sanity (not counted) | n/a (another profile decides) |", "|---|---|---|---|---|---|---|---|---|", *rows,
             ""]
    for nb, what, claim_id in HEADLINES:
        df = frames.get(nb)
        hit = None if df is None or "id" not in df else df[df["id"] == claim_id]
        if hit is None or not len(hit):
            raise KeyError(f"headline claim {claim_id!r} not found in {nb}_verdict.csv")
        r = hit.iloc[0]
        note = str(r.get("note", "")).strip()
        why = f" — {note.split('; ')[0]}" if r["outcome"] == "n/a" and note else ""  # the reason: the note's first part
        lines.append(f"- **{what}** — {r['claim']}: **{r['outcome']}**{why} (ours: {r['ours']}; paper: {r['paper']})")
    lines += ["", README_END]
    return "\n".join(lines)


def update_readme(readme: str | Path, block: str) -> bool:
    """Replace the text between :data:`README_BEGIN` and :data:`README_END` in ``readme`` with ``block`` (which
    carries both markers); ``True`` if the file changed. Raises if the markers are missing."""
    path = Path(readme)
    text = path.read_text()
    i, j = text.find(README_BEGIN), text.find(README_END)
    if i < 0 or j < i:
        raise ValueError(f"{path} lacks the findings markers {README_BEGIN!r} … {README_END!r}")
    new = text[:i] + block + text[j + len(README_END):]
    if new != text:
        path.write_text(new)
    return new != text
