#!/usr/bin/env python
"""Regenerate every figure and table: run the notebooks with papermill under one profile.

    python reproduce/run_all.py --profile quick            # the README's main command (via `make reproduce`)
    python reproduce/run_all.py --profile smoke --only 01 02
    python reproduce/run_all.py --profile paper --device cuda

Each notebook runs in its own kernel process, one after the other. Executed copies go to
``runs/<profile>-<timestamp>/executed/``, their figures and CSVs to ``runs/<...>/figures/``, which are then copied
into ``figures/`` for ``quick`` (the committed profile) and ``figures/<profile>/`` for ``paper`` (not for ``smoke``,
unless ``--copy``). ``figures/report.md`` gathers every notebook's verdict table.
A failing notebook does not stop the others; the script exits non-zero at the end naming the failures.

A notebook is skipped when its outputs in ``figures/`` are up to date: same profile and parameters, same notebook
file, same gpelib source and same versions of the key packages (a fingerprint stored in ``figures/runs.json``).
``--force`` reruns everything. When nothing ran, ``report.md`` and ``runs.json`` are left as they are.

Provenance: every notebook's record in ``runs.json`` holds where it ran (:func:`gpelib.provenance.collect`: commit
and a dirty tree, Python and package versions, CPU model and threads, the GPU when used), its profile, seeds, wall
time and which of its outputs are timing files (:data:`gpelib.reporting.TIMING_FILES`: they record wall-clock and
differ between identical runs; every other output is the same bytes on a rerun). ``report.md`` opens with them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gpelib.reporting import markdown_table  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
FIGURES = ROOT / "figures"
_DECIDED = ("holds", "fails", "inconclusive")


def discover(only: list[str] | None) -> list[Path]:
    """Notebooks ``NN_*.ipynb`` in order; ``only`` filters by number prefix or name fragment."""
    books = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

    def hit(o: str, b: Path) -> bool:
        return b.name.startswith(o.zfill(2) + "_") if o.isdigit() else o in b.stem

    if only:
        keep = [b for b in books if any(hit(o, b) for o in only)]
        missing = [o for o in only if not any(hit(o, b) for b in books)]
        if missing:
            raise SystemExit(f"--only: no notebook matches {missing}; have {[b.stem for b in books]}")
        books = keep
    return books


def fingerprint(nb: Path, profile: str, device: str | None, packages: dict[str, str | None] | None = None,
                dry_run: float | None = None) -> str:
    """sha256 of the notebook, every gpelib source and data file (``*.py``, ``*.csv``: the step-time calibration and
    the papers' values decide budgets and paper numbers), the run's parameters and the given package versions."""
    h = hashlib.sha256()
    h.update(nb.read_bytes())
    files = [*(ROOT / "gpelib").rglob("*.py"), *(ROOT / "gpelib").rglob("*.csv")]
    for f in sorted(files, key=lambda f: f.relative_to(ROOT).as_posix()):
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(f.read_bytes())
    params = {"profile": profile, "device": device, **({"packages": packages} if packages else {}),
              **({"dry_run": dry_run} if dry_run is not None else {})}
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def results_folder(profile: str) -> Path:
    """Where a profile's results are copied: ``figures/`` for ``quick``, the profile this repository commits (the
    README's findings are read from there); ``figures/<profile>/`` for any other, so that a ``paper`` or ``smoke``
    run — or one that fails half-way — never overwrites the committed quick results."""
    return FIGURES if profile == "quick" else FIGURES / profile


def up_to_date(nb: Path, fp: str, folder: Path | None = None) -> bool:
    """True when ``folder/runs.json`` (default ``figures/``) records a successful run of ``nb`` with fingerprint
    ``fp`` and every output it listed is still in ``folder``."""
    folder = folder or FIGURES
    meta_path = folder / "runs.json"
    if not meta_path.exists():
        return False
    rec = json.loads(meta_path.read_text()).get(nb.stem, {})
    outputs = rec.get("outputs", [])
    return bool(rec.get("ok")) and rec.get("fingerprint") == fp and bool(outputs) and all(
        (folder / o).is_file() for o in outputs)


def seeds_of(nb: Path, profile: str) -> dict:
    """The seeds a run of ``nb`` uses: its ``seed`` parameter (the default of its parameters cell: the runner passes
    none) and the seed lists of its profile preset (``gpelib.profiles.preset``; offsets added to ``seed``)."""
    import ast

    import papermill as pm

    from gpelib import profiles

    default = pm.inspect_notebook(str(nb)).get("seed", {}).get("default")
    try:
        seed = ast.literal_eval(default) if default is not None else None
    except (ValueError, SyntaxError):
        seed = default
    out = {"seed": seed}
    try:
        preset = profiles.preset(nb.name[:2], profile)
    except (KeyError, ValueError):
        preset = {}
    out.update({k: v for k, v in preset.items() if "seed" in k})
    return out


def run_one(nb: Path, run_dir: Path, profile: str, device: str | None, log_output: bool) -> tuple[bool, float, str]:
    import papermill as pm

    out_nb = run_dir / "executed" / nb.name
    params = {"profile": profile, "out_dir": str(run_dir / "figures")}
    if device and "device" in pm.inspect_notebook(str(nb)):  # notebook 10 (exact float64 checks) has no device
        params["device"] = device
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(nb), str(out_nb), parameters=params, cwd=str(NOTEBOOKS), kernel_name="python3",
            progress_bar=sys.stderr.isatty() and not log_output,  # a terminal sees cell n/N and the elapsed time
            log_output=log_output, request_save_on_cell_execute=True,
            # the kernel talks to this process over localhost TCP (jupyter's default), and ipykernel warns on every
            # start that the channel is unencrypted; only this process connects, so its log is kept to errors
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        return True, time.perf_counter() - t0, ""
    except Exception as e:  # noqa: BLE001 — report and go on with the next notebook
        msg = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"
        (run_dir / "executed" / f"{nb.stem}.error.txt").write_text(traceback.format_exc())
        return False, time.perf_counter() - t0, msg


def _counts_line(t: dict[str, dict[str, int]]) -> str:
    """One line of a :func:`gpelib.verdicts.tally`: paper claims and our checks counted apart."""
    p, c = t["paper"], t["check"]
    return (f"**paper claims: {p['holds']} hold, {p['fails']} fail, {p['inconclusive']} inconclusive; "
            f"our checks: {c['holds']} hold, {c['fails']} fail, {c['inconclusive']} inconclusive**; "
            f"{t['sanity']['sanity']} sanity check(s), {p['n/a'] + c['n/a']} n/a")


def _summary_row(title: str, t: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {"notebook": title, **{f"{k} {o}": t[k][o] for k in ("paper", "check") for o in _DECIDED},
            "sanity": t["sanity"]["sanity"], "n/a": t["paper"]["n/a"] + t["check"]["n/a"]}


def _env_key(prov: dict) -> str:
    return json.dumps({k: prov.get(k) for k in ("python", "platform", "packages", "cpu", "gpu")}, sort_keys=True)


def _env_line(prov: dict) -> str:
    pk = ", ".join(f"{k} {v}" for k, v in (prov.get("packages") or {}).items() if v)
    cpu = prov.get("cpu") or {}
    gpu = prov.get("gpu")
    gpu_s = (f"{gpu.get('name')} ×{gpu.get('count', 1)} (driver {gpu.get('driver')}, CUDA {gpu.get('cuda')}, "
             f"cuDNN {gpu.get('cudnn')})" if gpu else "none used")
    return (f"Python {prov.get('python')} on {prov.get('platform')}; {pk}; CPU: {cpu.get('model')}, "
            f"{cpu.get('logical_cores')} logical cores, {cpu.get('torch_threads')} torch threads; GPU: {gpu_s}")


def _seeds_text(seeds: dict | None) -> str:
    if not seeds:
        return ""
    return "; ".join(f"{k} {v}" for k, v in seeds.items())


def provenance_section(meta: dict[str, dict]) -> list[str]:
    """The report's head: one row per notebook record (profile, date, wall time, commit, seeds, device) and the
    environments they ran in (Python, package versions, CPU, GPU), each named once."""
    envs: dict[str, str] = {}
    rows = []
    for name in sorted(meta):
        r = meta[name]
        prov = r.get("provenance") or {}
        git = prov.get("git") or {}
        commit = git.get("commit")
        commit_s = (f"`{commit[:12]}`" + (" (dirty)" if git.get("dirty") else "")) if commit else "not recorded"
        env = "not recorded"
        if prov:
            env = envs.setdefault(_env_key(prov), chr(ord("A") + len(envs)) if len(envs) < 26 else str(len(envs)))
        rows.append({"notebook": name, "outcome": "ok" if r.get("ok") else "FAILED", "profile": r.get("profile", ""),
                     "date": r.get("date", ""), "wall s": f"{r.get('seconds', 0):.0f}", "commit": commit_s,
                     "seeds": _seeds_text(r.get("seeds")), "device": r.get("device") or "default (CUDA if available)",
                     "environment": env})
    lines = ["## Provenance", "",
             "Each notebook's latest run: where its outputs in this folder come from (`runs.json` holds the full "
             "records).", "", markdown_table(pd.DataFrame(rows)), ""]
    total = sum(float(r.get("seconds", 0)) for r in meta.values())
    profiles = sorted({str(r.get("profile", "")) for r in meta.values()})
    lines += [f"Total wall time of these notebook runs: **{total:.0f} s ({total / 60:.1f} min)**, profile "
              f"{', '.join(f'`{p}`' for p in profiles)} (issue 14's budget for `quick`: 45 min on 2 cores).", ""]
    by_key = {v: k for k, v in envs.items()}
    provs = {_env_key(r["provenance"]): r["provenance"] for r in meta.values() if r.get("provenance")}
    for label in sorted(by_key):
        lines.append(f"- environment **{label}**: {_env_line(provs[by_key[label]])}")
    if envs:
        lines.append("")
    return lines


def _verdict_section(fig_dir: Path, nb: str, title: str, info: dict) -> tuple[dict, list[str]]:
    """One notebook's section of the report: its run, its counts, its verdict table, conclusion, figures, executed
    notebook and timing files; and its :func:`gpelib.verdicts.tally`."""
    from gpelib.reporting import is_timing_file, read_verdict
    from gpelib.verdicts import tally

    df = read_verdict(fig_dir / f"{nb}_verdict.csv")
    counts = tally(df)
    out = [f"## {title}"]
    if info:
        out.append(f"profile `{info.get('profile')}`, {info.get('seconds', 0):.0f} s, "
                   f"{'ok' if info.get('ok') else 'FAILED'} ({info.get('date', '')})")
    out += ["", _counts_line(counts), "", markdown_table(df), ""]
    conclusion = fig_dir / f"{nb}_conclusion.md"
    if conclusion.exists():
        out += [f"**Conclusion.** {conclusion.read_text().strip()}", ""]
    figs = sorted(p.name for p in fig_dir.glob(f"{nb}_*.png"))
    if figs:
        out += ["Figures: " + ", ".join(f"[{f}]({f})" for f in figs), ""]
    if (fig_dir / "executed" / f"{title}.ipynb").is_file():
        out += [f"Executed notebook: [executed/{title}.ipynb](executed/{title}.ipynb)", ""]
    timed = sorted(p.name for p in fig_dir.glob(f"{nb}_*") if is_timing_file(p.name))
    if timed:
        out += ["Timing files (wall-clock: they differ between identical runs): " + ", ".join(f"`{f}`" for f in timed),
                ""]
    return counts, out


def write_report(fig_dir: Path, runs: list[dict], profile: str) -> Path:
    """``report.md``: where every result comes from (:func:`provenance_section`), a count of outcomes per notebook,
    then every ``NN_verdict.csv`` in ``fig_dir`` as a table with its figures and its timing files. Outcomes (SPEC
    §2): holds / fails / inconclusive are counted; sanity checks (cannot fail) and n/a (a profile that decides
    nothing) are shown but not counted as claims. The report's date is that of the latest run, so rewriting it
    from the same records gives the same file."""
    from gpelib.reporting import TIMING_FILES

    meta_path = fig_dir / "runs.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    for r in runs:
        meta[r["notebook"]] = r
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    latest = max((v.get("date", "") for v in meta.values()), default="")
    declared = ", ".join(f"`{p}`" for p in TIMING_FILES)
    parts = [
        "# gpelib — reproduction report",
        "",
        f"Written by `reproduce/run_all.py`; latest notebook run {latest or 'none'} (profile `{profile}`).",
        "Each section is the verdict table a notebook ends with: the paper's claim, our number, and the outcome in",
        "our run — *holds*, *fails* or *inconclusive* (the interval over seeds straddles the null, censoring leaves it",
        "open, or a run had not converged), *sanity* (a check that cannot fail: not counted) or *n/a* (the profile",
        "decides nothing). Each row has a stable `id` and a `kind`: *paper* (a claim the paper makes) or *check*",
        "(ours: a control, a mechanism test, a metric's floor), counted apart. `gpelib.claims` decides every outcome.",
        "Figures and tidy CSVs with the same prefix sit",
        "beside this file. Rerun with the same commit, environment and hardware, every figure and CSV comes out the",
        "same bytes except the **timing files**, which record wall-clock (each section names its own; declared in",
        f"`gpelib.reporting.TIMING_FILES`: {declared}).",
        "",
    ]
    parts += provenance_section(meta)
    sections, summary = [], []
    for csv in sorted(fig_dir.glob("*_verdict.csv")):
        nb = csv.name.split("_verdict")[0]
        title = next((k for k in meta if k.startswith(nb)), nb)
        counts, text = _verdict_section(fig_dir, nb, title, meta.get(title, {}))
        summary.append(_summary_row(title, counts))
        sections += text
    with_verdict = {csv.name.split("_verdict")[0] for csv in fig_dir.glob("*_verdict.csv")}
    for title in sorted(meta):  # tutorials (the quickstart) state no claims: their figures are listed all the same
        nb = title[:2]
        if nb in with_verdict or not meta[title].get("ok"):
            continue
        figs = sorted(p.name for p in fig_dir.glob(f"{nb}_*.png"))
        info = meta[title]
        sections += [f"## {title}", f"profile `{info.get('profile')}`, {info.get('seconds', 0):.0f} s, "
                     f"ok ({info.get('date', '')}); a tutorial: no claims.", ""]
        if figs:
            sections += ["Figures: " + ", ".join(f"[{f}]({f})" for f in figs), ""]
        if (fig_dir / "executed" / f"{title}.ipynb").is_file():
            sections += [f"Executed notebook: [executed/{title}.ipynb](executed/{title}.ipynb)", ""]
    if summary:
        table = pd.DataFrame(summary)
        table.loc[len(table)] = ["all", *(int(table[c].sum()) for c in table.columns[1:])]
        parts += ["## Outcomes", "", markdown_table(table), ""]
    parts += sections
    failed = [k for k, v in meta.items() if not v.get("ok")]
    if failed:
        parts += ["## Failures", "", *[f"- {k}: {meta[k].get('error', '')}" for k in failed], ""]
    path = fig_dir / "report.md"
    path.write_text("\n".join(parts))
    return path


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default=os.environ.get("GPE_PROFILE") or "quick",
                    help="smoke, quick or paper (default: $GPE_PROFILE, else quick)")
    ap.add_argument("--only", nargs="+", help="notebook numbers or name fragments, e.g. --only 01 02")
    ap.add_argument("--device", default=None, help="torch device for every notebook (default: cuda if available)")
    ap.add_argument("--run-dir", type=Path, default=None, help="default: runs/<profile>-<timestamp>")
    ap.add_argument("--copy", action="store_true", help="copy results even for the smoke profile (to figures/smoke/)")
    ap.add_argument("--no-copy", action="store_true", help="never copy results out of the run folder")
    ap.add_argument("--log-output", action="store_true", help="stream the notebooks' output to this terminal")
    ap.add_argument("--force", action="store_true", help="rerun notebooks even when their outputs are up to date")
    ap.add_argument("--dry-run", type=float, metavar="SCALE", default=None,
                    help="every budget × SCALE (e.g. 1e-3), capped (gpelib.profiles.dry_run): every code path of the "
                         "profile in minutes; results stay in the run folder (never copied), models in its runs/")
    return ap


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line, checked: a bad dry-run scale is argparse's error; an unknown profile (from --profile, make's
    PROFILE= or $GPE_PROFILE) one line on stderr, exit 2, nothing written."""
    ap = _parser()
    args = ap.parse_args(argv)
    if args.dry_run is not None:
        from gpelib.profiles import DryRun

        try:
            DryRun(scale=args.dry_run)
        except ValueError as e:
            ap.error(str(e))
    if args.profile not in ("smoke", "quick", "paper"):  # argparse checks choices on the command line, not defaults
        print(f"run_all.py: error: unknown profile {args.profile!r}; choose smoke, quick or paper "
              "(--profile, PROFILE= for make, or $GPE_PROFILE)", file=sys.stderr)
        raise SystemExit(2)
    return args


def _prepare(args: argparse.Namespace) -> tuple[Path, bool]:
    """The run folder (created) and whether results are copied into figures/; a dry run's kernels read the scale and
    keep their models in the run folder, not runs/."""
    dry = "-dry" if args.dry_run is not None else ""
    run_dir = args.run_dir or ROOT / "runs" / f"{args.profile}{dry}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir = run_dir if run_dir.is_absolute() else ROOT / run_dir  # never relative to the kernels' notebooks/
    if os.environ.get("GPE_RUNS_DIR") and not Path(os.environ["GPE_RUNS_DIR"]).is_absolute():
        os.environ["GPE_RUNS_DIR"] = str(ROOT / os.environ["GPE_RUNS_DIR"])
    (run_dir / "executed").mkdir(parents=True, exist_ok=True)
    (run_dir / "figures").mkdir(parents=True, exist_ok=True)
    copy = (args.profile != "smoke" or args.copy) and not args.no_copy and args.dry_run is None
    if args.dry_run is not None:
        os.environ["GPE_DRY_RUN"] = repr(args.dry_run)
        os.environ.setdefault("GPE_RUNS_DIR", str(run_dir / "runs"))
        print(f"dry run: budgets × {args.dry_run:g} (capped), models in {os.environ['GPE_RUNS_DIR']}; "
              "results are not copied into figures/", flush=True)
    return run_dir, copy


def _run_books(books: list[Path], run_dir: Path, args: argparse.Namespace, copy: bool,
               prov: dict) -> tuple[list[dict], list[str]]:
    """Run every notebook that is out of date (all with --force): its record for runs.json, and the failures."""
    from gpelib.reporting import is_timing_file

    runs, failures = [], []
    for nb in books:
        fp = fingerprint(nb, args.profile, args.device, prov["packages"], args.dry_run)
        if copy and not args.force and up_to_date(nb, fp, results_folder(args.profile)):
            print(f"  {nb.stem} ... up to date (same notebook, gpelib source, parameters and package versions; "
                  "--force reruns)")
            continue
        print(f"  {nb.stem} ...", end=" ", flush=True)
        ok, secs, err = run_one(nb, run_dir, args.profile, args.device, args.log_output)
        print(f"{'ok' if ok else 'FAILED'} ({secs:.0f} s){'  ' + err if err else ''}", flush=True)
        prefix = nb.name[:3]
        outputs = sorted(f.name for f in (run_dir / "figures").iterdir() if f.name.startswith(prefix))
        runs.append({"notebook": nb.stem, "ok": ok, "seconds": round(secs, 1), "profile": args.profile,
                     "error": err, "date": f"{datetime.now():%Y-%m-%d %H:%M}", "fingerprint": fp,
                     "outputs": outputs, "timing_outputs": [o for o in outputs if is_timing_file(o)],
                     "seeds": seeds_of(nb, args.profile), "device": args.device, "provenance": prov})
        if not ok:
            failures.append(nb.stem)
    return runs, failures


def repository_relative(text: str, *, root: Path | None = None, runs_dir: str | None = None) -> str:
    """``text`` with this machine's paths made repository-relative: the repository root becomes ``.`` (and
    ``<root>/x`` becomes ``x``), an absolute ``$GPE_RUNS_DIR`` becomes ``$GPE_RUNS_DIR``; for executed notebooks and
    anything else committed (papermill records its input and output paths and the injected ``out_dir``). A longer
    name that merely starts like the root (``<root>-other``) is left alone."""
    import re

    end = r"(?=[/\\\"'\s]|$)"
    if runs_dir and Path(runs_dir).is_absolute():
        text = re.sub(re.escape(runs_dir.rstrip("/")) + end, "$GPE_RUNS_DIR", text)
    root = str(root or ROOT)
    text = re.sub(re.escape(root) + "/", "", text)
    return re.sub(re.escape(root) + end, ".", text)


def _stale_outputs(runs: list[dict], folder: Path) -> list[Path]:
    """Files in figures/ that a notebook which just succeeded no longer writes (same ``NN_`` prefix, not among its
    outputs), the executed notebooks aside: they would be shown as current results otherwise."""
    stale = []
    for r in runs:
        if r["ok"]:
            keep = set(r["outputs"])
            stale += [f for f in folder.glob(f"{r['notebook'][:3]}*") if f.is_file() and f.name not in keep]
    return sorted(stale)


def _copy_results(run_dir: Path, runs: list[dict], failures: list[str], profile: str) -> list[dict]:
    """Copy the good notebooks' outputs and executed copies (with repository-relative paths) into the profile's
    :func:`results_folder` (``figures/`` for quick), removing
    the outputs those notebooks no longer write; a failed notebook's partial outputs and record stay in the run folder
    (whose own report records the failures), figures/ keeps its last good ones. Returns the records of the notebooks
    that succeeded."""
    target = results_folder(profile)
    target.mkdir(parents=True, exist_ok=True)
    for f in _stale_outputs(runs, target):
        print(f"  {f.name}: no longer written by its notebook, removed from figures/")
        f.unlink()
    failed = tuple(name[:3] for name in failures)
    for f in (run_dir / "figures").iterdir():
        if f.is_file() and not f.name.startswith(failed):
            shutil.copy2(f, target / f.name)
    (target / "executed").mkdir(exist_ok=True)
    for r in runs:  # the executed notebooks, outputs included: browsable beside the figures they made
        src = run_dir / "executed" / f"{r['notebook']}.ipynb"
        if r["ok"] and src.is_file():
            text = repository_relative(src.read_text(), runs_dir=os.environ.get("GPE_RUNS_DIR"))
            (target / "executed" / src.name).write_text(text)
    if failures:
        print(f"report of this run, failures included: {write_report(run_dir / 'figures', runs, profile)}")
    return [r for r in runs if r["ok"]]


def _publish(target: Path, runs: list[dict], profile: str) -> None:
    """The report (and, for figures/, the README's findings, generated from the verdict CSVs by claim id); a no-op
    rerun leaves the report (and its date) and runs.json as they are."""
    if not runs and (target / "report.md").exists():
        print(f"nothing ran: {target / 'report.md'} and runs.json unchanged")
        return
    print(f"report: {write_report(target, runs, profile)}")
    if target == FIGURES and (ROOT / "README.md").exists():
        from gpelib.reporting import findings_block, update_readme

        try:
            if update_readme(ROOT / "README.md", findings_block(FIGURES)):
                print("README.md: findings updated from figures/")
        except (KeyError, ValueError) as e:  # a headline id missing, markers removed: say so, don't lose the run
            print(f"README.md findings not updated: {e}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    previous = {k: os.environ.get(k) for k in ("GPE_PROFILE", "GPE_DRY_RUN", "GPE_RUNS_DIR")}
    os.environ["GPE_PROFILE"] = args.profile  # the kernels' subprocesses inherit the profile
    try:
        books = discover(args.only)
        run_dir, copy = _prepare(args)
        print(f"running {len(books)} notebook(s) under profile '{args.profile}' into {run_dir}", flush=True)
        from gpelib import provenance

        prov = provenance.collect(args.device)  # before any output is copied: the commit and tree the run starts from
        print(f"provenance: {provenance.summary(prov)}", flush=True)
        runs, failures = _run_books(books, run_dir, args, copy, prov)
        if not runs and args.run_dir is None:  # everything up to date: no empty runs/<profile>-<timestamp>/ left
            shutil.rmtree(run_dir, ignore_errors=True)
        if copy and runs:
            runs = _copy_results(run_dir, runs, failures, args.profile)
        _publish(results_folder(args.profile) if copy else run_dir / "figures", runs, args.profile)
        if failures:
            print(f"FAILED notebooks: {', '.join(failures)} (tracebacks in {run_dir / 'executed'})", file=sys.stderr)
            return 1
        return 0
    finally:  # a caller in the same process (a test) keeps its own profile
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


if __name__ == "__main__":
    sys.exit(main())
