"""Profiles, output folders, verdict tables and the runner's report."""

import importlib.util
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from gpelib import reporting, verdicts

ROOT = Path(__file__).resolve().parent.parent


def load_runner():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "reproduce" / "run_all.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_output_dir_defaults_under_runs(monkeypatch, tmp_path):
    monkeypatch.delenv("GPE_OUT_DIR", raising=False)
    monkeypatch.delenv("GPE_RUNS_DIR", raising=False)  # make test sets it (a fresh folder per test run)
    monkeypatch.chdir(ROOT / "notebooks")
    assert reporting.output_dir(None, "smoke") == ROOT / "runs" / "smoke" / "figures"
    monkeypatch.setenv("GPE_RUNS_DIR", str(tmp_path / "r"))  # interactive outputs follow the runs folder
    assert reporting.output_dir(None, "smoke") == tmp_path / "r" / "smoke" / "figures"
    monkeypatch.setenv("GPE_OUT_DIR", str(tmp_path / "o"))
    assert reporting.output_dir(None, "quick") == tmp_path / "o"
    assert reporting.output_dir(tmp_path / "x", "quick") == tmp_path / "x"


def _c(i: str, outcome: str, kind: str = "paper", **kw) -> verdicts.Claim:
    return verdicts.Claim(id=i, kind=kind, claim=kw.pop("claim", i), paper="p", ours="o", outcome=outcome, **kw)


def test_verdict_table_requires_ids_kinds_and_columns(tmp_path):
    with pytest.raises(ValueError, match="id"):
        reporting.verdict_table([{"claim": "a", "paper": 1, "ours": 2, "outcome": "holds", "kind": "paper"}])
    with pytest.raises(ValueError, match="ours"):
        reporting.verdict_table([{"id": "gpe.a", "kind": "paper", "claim": "a", "paper": 1, "outcome": "holds"}])
    with pytest.raises(ValueError, match="kind"):
        reporting.verdict_table([dict(id="gpe.a", kind="claim", claim="a", paper="1", ours="2", outcome="holds")])
    with pytest.raises(ValueError, match="unique"):
        reporting.verdict_table([_c("gpe.a", "holds"), _c("gpe.a", "fails")])
    # dict rows: the same keys; extra keys become extra columns
    df = reporting.verdict_table([_c("gpe.a", "holds"), _c("gpe.b", "fails", kind="check"),
                                  dict(id="gpe.c", kind="paper", claim="c", paper="1", ours="2", outcome="n/a",
                                       extra="x")])
    assert df.outcome.tolist() == ["holds", "fails", "n/a"] and df.kind.tolist() == ["paper", "check", "paper"]
    assert df.columns.tolist()[:9] == ["id", "kind", "claim", "paper", "ours", "outcome", "seeds", "detail", "note"]
    assert df.extra.tolist()[2] == "x"
    path = reporting.save_verdict(df, tmp_path, "07", profile="quick")
    back = pd.read_csv(path)
    assert path.name == "07_verdict.csv" and back.profile.unique().tolist() == ["quick"]
    assert back.columns.tolist()[:3] == ["profile", "id", "kind"] and back.id.tolist() == ["gpe.a", "gpe.b", "gpe.c"]
    with pytest.raises(ValueError, match="unknown outcome"):
        reporting.save_verdict(df.assign(outcome="yes"), tmp_path, "07", profile="quick")
    with pytest.raises(ValueError, match="unique claim ids"):
        reporting.save_verdict(df.assign(id="gpe.a"), tmp_path, "07", profile="quick")


def test_verdict_table_of_claims():
    d = verdicts.sooner([100, 110, 120], [200, 210, 150])
    rows = [verdicts.Claim.from_decision("GPE sooner", "3,800 vs 2.7M", "…", d, id="gpe.t1", kind="paper",
                                         profile="quick"),
            verdicts.Claim.from_decision("bound on its own pairs", "thm 1", "…", verdicts.at_least(0.5, 0.4),
                                         id="gmegan.thm1.own", profile="quick", kind="sanity"),
            dict(id="gpe.ae", kind="check", claim="dict row", paper="p", ours="o", outcome="inconclusive", seeds=3)]
    df = reporting.verdict_table(rows)
    assert df.outcome.tolist() == ["holds", "sanity", "inconclusive"]
    assert df.kind.tolist() == ["paper", "sanity", "check"]
    assert df.seeds.tolist() == [3, pd.NA, 3] and df.detail[0] == d.detail and df.note[1] == "check passed"
    smoke = reporting.verdict_table([verdicts.Claim.from_decision("x", "p", "o", d, id="gpe.x", kind="paper",
                                                                  profile="smoke")])
    assert smoke.outcome.tolist() == ["n/a"]
    assert reporting.Claim is verdicts.Claim


def test_report_gathers_verdicts(tmp_path):
    run_all = load_runner()
    reporting.save_verdict(reporting.verdict_table([_c("gpe.x", "holds", claim="x | y")]), tmp_path, "01",
                           profile="quick")
    (tmp_path / "01_thing.png").write_bytes(b"")
    (tmp_path / "00_samples.png").write_bytes(b"")
    runs = [{"notebook": "01_mixture", "ok": True, "seconds": 3.0, "profile": "quick", "error": "", "date": "d"},
            {"notebook": "02_other", "ok": False, "seconds": 1.0, "profile": "quick", "error": "Boom", "date": "d"},
            {"notebook": "00_quick", "ok": True, "seconds": 2.0, "profile": "quick", "error": "", "date": "d"}]
    report = run_all.write_report(tmp_path, runs, "quick").read_text()
    assert "## 01_mixture" in report and "x \\| y" in report and "[01_thing.png]" in report
    assert "## 00_quick" in report and "a tutorial: no claims" in report and "[00_samples.png]" in report
    assert "## 02_other" not in report  # a failed notebook is listed under Failures only
    assert "## Failures" in report and "Boom" in report
    assert json.loads((tmp_path / "runs.json").read_text())["02_other"]["ok"] is False


def test_report_counts_outcomes_per_notebook(tmp_path):
    run_all = load_runner()
    rows = [_c("gpe.a", "holds"), _c("gpe.b", "holds"), _c("gpe.c", "fails"), _c("gpe.d", "inconclusive"),
            _c("gpe.e", "sanity", kind="sanity"), _c("gpe.f", "n/a"), _c("gpe.g", "holds", kind="check"),
            _c("gpe.h", "fails", kind="check")]
    reporting.save_verdict(rows, tmp_path, "03", profile="quick")
    # an older CSV (no id/kind: every row a paper claim) still counts
    pd.DataFrame({"profile": "quick", "claim": ["g", "h"], "paper": "p", "ours": "o", "outcome": ["holds", "n/a"]}
                 ).to_csv(tmp_path / "04_verdict.csv", index=False)
    runs = [{"notebook": "03_speed", "ok": True, "seconds": 3.0, "profile": "quick", "error": "", "date": "d"}]
    report = run_all.write_report(tmp_path, runs, "quick").read_text()
    assert "## Outcomes" in report and report.index("## Outcomes") < report.index("## 03_speed")
    assert "| notebook | paper holds | paper fails | paper inconclusive | check holds | check fails | " in report
    assert "| 03_speed | 2 | 1 | 1 | 1 | 1 | 0 | 1 | 1 |" in report
    assert "| 04 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 1 |" in report
    assert "| all | 3 | 1 | 1 | 1 | 1 | 0 | 1 | 2 |" in report
    assert ("**paper claims: 2 hold, 1 fail, 1 inconclusive; our checks: 1 hold, 1 fail, 0 inconclusive**; "
            "1 sanity check(s), 1 n/a") in report
    assert "| g | p | o | holds |" in report and "| nan" not in report  # outcome words, empty cells stay empty


def test_discover_filters_and_rejects_unknown():
    run_all = load_runner()
    books = run_all.discover(None)
    assert books and all(b.suffix == ".ipynb" for b in books) and books == sorted(books)
    assert [b.name[:2] for b in run_all.discover(["1"])] == ["01"]
    with pytest.raises(SystemExit, match="no notebook"):
        run_all.discover(["99"])


def test_notebooks_have_kernel_language_and_one_parameters_cell():
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name
        assert nb.metadata["language_info"]["name"] == "python", path.name
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one parameters cell"
        assert "profile = None" in tagged[0].source, path.name
        # the library holds the ideas: no loss or optimiser is written in a notebook
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for banned in (".backward(", "optim.", "zero_grad"):
            assert banned not in code, f"{path.name} contains {banned!r}"


def test_fingerprint_changes_with_parameters_notebook_and_versions(tmp_path, monkeypatch):
    run_all = load_runner()
    nb = sorted((ROOT / "notebooks").glob("01_*.ipynb"))[0]
    a = run_all.fingerprint(nb, "quick", None)
    assert a == run_all.fingerprint(nb, "quick", None)
    assert a != run_all.fingerprint(nb, "paper", None) != run_all.fingerprint(nb, "quick", "cuda")
    assert run_all.fingerprint(nb, "quick", None, {"torch": "1"}) not in (a, run_all.fingerprint(nb, "quick", None,
                                                                                              {"torch": "2"}))
    copy = tmp_path / nb.name
    copy.write_bytes(nb.read_bytes() + b" ")
    assert run_all.fingerprint(copy, "quick", None) != a


def test_up_to_date_needs_matching_record_and_outputs(tmp_path, monkeypatch):
    run_all = load_runner()
    monkeypatch.setattr(run_all, "FIGURES", tmp_path)
    nb = tmp_path / "01_x.ipynb"
    assert not run_all.up_to_date(nb, "f")
    (tmp_path / "runs.json").write_text(json.dumps({"01_x": {"ok": True, "fingerprint": "f", "outputs": ["01_a.csv"]}}))
    assert not run_all.up_to_date(nb, "f")  # output missing
    (tmp_path / "01_a.csv").write_text("a")
    assert run_all.up_to_date(nb, "f") and not run_all.up_to_date(nb, "g")


def test_save_table_moves_wall_clock_to_the_timings_file(tmp_path):
    df = pd.DataFrame({"method": ["GPE", "VAE"], "gme": [0.1, 2.0], "encoder_seconds": [3.5, 4.25],
                       "s_per_iter": [0.01, 0.02]})
    assert reporting.timing_columns(df) == ["encoder_seconds", "s_per_iter"]
    with pytest.raises(ValueError, match="keys="):
        reporting.save_table(df, tmp_path, "01_geometry")
    with pytest.raises(ValueError, match="uniquely"):
        reporting.save_table(pd.concat([df, df]), tmp_path, "01_geometry", keys=["method"])
    for _ in range(2):  # a rerun in the same folder replaces the table's rows
        path = reporting.save_table(df, tmp_path, "01_geometry", keys=["method"])
    assert pd.read_csv(path).columns.tolist() == ["method", "gme"]
    reporting.save_table(df.assign(iteration=[1, 2]).drop(columns="s_per_iter"), tmp_path, "01_history",
                         keys=["method", "iteration"])
    t = pd.read_csv(tmp_path / "01_timings.csv")
    assert t.columns.tolist() == ["table", "method", "column", "value", "iteration"] or \
        t.columns.tolist() == ["table", "method", "iteration", "column", "value"]
    assert len(t) == 6 and t.table.value_counts().to_dict() == {"01_geometry": 4, "01_history": 2}
    g = t[t.table == "01_geometry"].set_index(["method", "column"])["value"]
    assert g[("VAE", "encoder_seconds")] == 4.25 and g[("GPE", "s_per_iter")] == 0.01
    # notebook 05's tables are about wall-clock: declared timing files, written whole
    whole = reporting.save_table(df, tmp_path, "05_seconds_per_iteration")
    assert "s_per_iter" in pd.read_csv(whole).columns


def test_timing_files_are_declared():
    for name in ("01_timings.csv", "07_timings.csv", "05_wallclock_history.csv", "05_wallclock_digits.png",
                 "05_seconds_per_iteration_digits.pdf", "05_verdict.csv", "runs.json", "report.md"):
        assert reporting.is_timing_file(name), name
    for name in ("01_encoder_geometry.csv", "01_embeddings_0.png", "05_iterations_digits.png", "07_runs.csv",
                 "06_verdict.csv"):
        assert not reporting.is_timing_file(name), name


def test_report_head_names_provenance_and_timing_files(tmp_path):
    from gpelib import provenance

    run_all = load_runner()
    reporting.save_verdict([_c("gpe.a", "holds")], tmp_path, "01", profile="quick")
    (tmp_path / "01_timings.csv").write_text("table,column,value\n")
    prov = provenance.collect("cpu")
    runs = [{"notebook": "01_mixture", "ok": True, "seconds": 3.0, "profile": "quick", "error": "",
             "date": "2026-01-02 03:04", "seeds": {"seed": 0, "seeds": [0, 1]}, "device": "cpu", "provenance": prov},
            {"notebook": "02_old", "ok": True, "seconds": 1.0, "profile": "quick", "error": "", "date": "2025-01-01"}]
    report = run_all.write_report(tmp_path, runs, "quick").read_text()
    head = report[:report.index("## Outcomes")]
    assert "## Provenance" in head and "2026-01-02 03:04" in head.splitlines()[2]
    assert f"`{prov['git']['commit'][:12]}`" in head if prov["git"]["commit"] else "not recorded" in head
    assert "seed 0; seeds [0, 1]" in head and f"torch {prov['packages']['torch']}" in head
    assert "environment **A**" in head and "GPU: none used" in head
    assert "| 02_old |" in head and "not recorded" in head  # a record from before provenance
    assert "Total wall time of these notebook runs: **4 s (0.1 min)**, profile `quick`" in head
    assert "Timing files (wall-clock" in report and "`01_timings.csv`" in report
    assert run_all.write_report(tmp_path, [], "quick").read_text() == report  # same records, same bytes


def test_noop_rerun_leaves_report_and_runs_json_alone(tmp_path, monkeypatch):
    from gpelib import provenance

    run_all = load_runner()
    monkeypatch.setattr(run_all, "FIGURES", tmp_path)
    before = os.environ.get("GPE_PROFILE")
    nb = run_all.discover(["01"])[0]
    fp = run_all.fingerprint(nb, "quick", None, provenance.collect(None)["packages"])
    (tmp_path / "01_a.csv").write_text("a")
    records = json.dumps({nb.stem: {"ok": True, "fingerprint": fp, "outputs": ["01_a.csv"]}})
    (tmp_path / "runs.json").write_text(records)
    (tmp_path / "report.md").write_text("old report")
    assert run_all.main(["--profile", "quick", "--only", "01", "--run-dir", str(tmp_path / "run")]) == 0
    assert (tmp_path / "report.md").read_text() == "old report" and (tmp_path / "runs.json").read_text() == records
    assert os.environ.get("GPE_PROFILE") != "quick" or before == "quick"  # main() does not leak its profile


def _verdict_csv(folder: Path, nb: str, rows: list[tuple[str, str, str]]) -> None:
    pd.DataFrame([dict(profile="quick", id=f"gpe.{c.replace(' ', '_')}", kind=k, claim=c, paper="p", ours="o",
                       outcome=o, seeds="3", detail="", note="") for c, o, k in rows]
                 ).to_csv(folder / f"{nb}_verdict.csv", index=False)


def test_findings_block_counts_per_paper_and_kind_and_quotes_the_headlines(tmp_path, monkeypatch):
    monkeypatch.setattr(reporting, "HEADLINES", [("04", "Table 1", "gpe.faster_at_0.1"),
                                                 ("07", "Fig. 5", "gpe.modes_covered")])
    _verdict_csv(tmp_path, "04", [("faster at 0.1", "holds", "paper"), ("gap widens", "fails", "paper"),
                                  ("ae control", "fails", "check")])
    _verdict_csv(tmp_path, "02", [("bound on train pairs", "sanity", "sanity"), ("spread", "inconclusive", "paper"),
                                  ("floor", "n/a", "check")])
    _verdict_csv(tmp_path, "07", [("modes covered", "fails", "paper")])
    (tmp_path / "runs.json").write_text(json.dumps({"04_x": {"profile": "quick", "date": "2026-01-02 03:04",
                                                             "seconds": 600}}))
    block = reporting.findings_block(tmp_path)
    assert "| GPE (notebooks 04) | 1 | 1 | 0 | 0 | 1 | 0 | 0 | 0 |" in block
    assert "| GMEGAN (notebooks 02, 07) | 0 | 1 | 1 | 0 | 0 | 0 | 1 | 1 |" in block
    assert "- **Table 1** — faster at 0.1: **holds**" in block and "**Fig. 5** — modes covered: **fails**" in block
    assert "2026-01-02" not in block and " min " not in block  # no date, no wall time: a rerun leaves the README
    assert block.startswith(reporting.README_BEGIN) and block.endswith(reporting.README_END)
    monkeypatch.setattr(reporting, "HEADLINES", [("04", "x", "gpe.no_such_claim")])
    with pytest.raises(KeyError, match="no_such_claim"):
        reporting.findings_block(tmp_path)
    # an n/a headline says why (its note's first part), a decided one does not repeat its note
    why = "decided by the paper profile: too slow; paired by seed"
    pd.DataFrame([dict(profile="quick", id="gmegan.fig6.lowest_fd", kind="paper", claim="lowest FD", paper="p",
                       ours="o", outcome="n/a", seeds="", detail="", note=why)]
                 ).to_csv(tmp_path / "08_verdict.csv", index=False)
    monkeypatch.setattr(reporting, "HEADLINES", [("08", "Fig. 6", "gmegan.fig6.lowest_fd"),
                                                 ("04", "Table 1", "gpe.faster_at_0.1")])
    block = reporting.findings_block(tmp_path)
    assert "- **Fig. 6** — lowest FD: **n/a** — decided by the paper profile: too slow (ours: o; paper: p)" in block
    assert "- **Table 1** — faster at 0.1: **holds** (ours: o; paper: p)" in block


def test_update_readme_replaces_only_the_marked_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n{reporting.README_BEGIN}\nold\n{reporting.README_END}\n## rest\n")
    block = f"{reporting.README_BEGIN}\nnew\n{reporting.README_END}"
    assert reporting.update_readme(readme, block) and not reporting.update_readme(readme, block)
    assert readme.read_text() == f"# t\n{block}\n## rest\n"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        reporting.update_readme(readme, block)


def test_readme_findings_match_the_committed_report():
    """The README's first screen is generated from figures/ by the runner: regenerate and compare."""
    text = (ROOT / "README.md").read_text()
    i, j = text.index(reporting.README_BEGIN), text.index(reporting.README_END) + len(reporting.README_END)
    assert text[i:j] == reporting.findings_block(ROOT / "figures"), \
        "README findings are stale: rerun reproduce/run_all.py (or update_readme(findings_block('figures')))"


def test_runner_refuses_an_unknown_profile_from_the_environment(monkeypatch, tmp_path):
    run_all = load_runner()
    monkeypatch.setattr(run_all, "FIGURES", tmp_path)
    monkeypatch.setenv("GPE_PROFILE", "nonsense")
    with pytest.raises(SystemExit) as e:
        run_all.main(["--only", "01", "--run-dir", str(tmp_path / "run")])
    assert e.value.code == 2 and not list(tmp_path.glob("*.json"))


def test_a_failed_notebook_leaves_figures_alone(monkeypatch, tmp_path):
    run_all = load_runner()
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "01_verdict.csv").write_text("the last good one")
    (figures / "report.md").write_text("the last good report")
    (figures / "runs.json").write_text(json.dumps({"01_mixture_embeddings": {"ok": True, "profile": "quick"}}))

    def failing(nb, run_dir, profile, device, log_output):
        (run_dir / "figures" / "01_embeddings_0.png").write_bytes(b"partial")
        return False, 1.0, "Boom"

    monkeypatch.setattr(run_all, "FIGURES", figures)
    monkeypatch.setattr(run_all, "run_one", failing)
    code = run_all.main(["--profile", "quick", "--only", "01", "--force", "--run-dir", str(tmp_path / "run")])
    assert code == 1
    assert (figures / "01_verdict.csv").read_text() == "the last good one"
    assert not (figures / "01_embeddings_0.png").exists()  # no partial output copied
    assert (figures / "report.md").read_text() == "the last good report"
    assert json.loads((figures / "runs.json").read_text())["01_mixture_embeddings"]["ok"] is True
    assert "Boom" in (tmp_path / "run" / "figures" / "report.md").read_text()  # reported in the run's folder


def test_a_successful_run_copies_its_executed_notebook_and_links_it(monkeypatch, tmp_path):
    run_all = load_runner()
    figures = tmp_path / "figures"

    def ok(nb, run_dir, profile, device, log_output):
        (run_dir / "executed" / nb.name).write_text("{}")
        reporting.save_verdict([_c("gpe.c", "holds")], run_dir / "figures", nb.name[:2],
                               profile=profile)
        return True, 1.0, ""

    monkeypatch.setattr(run_all, "FIGURES", figures)
    monkeypatch.setattr(run_all, "ROOT", tmp_path)  # no README here: nothing to update
    monkeypatch.setattr(run_all, "run_one", ok)
    assert run_all.main(["--profile", "quick", "--only", "01", "--force", "--run-dir", str(tmp_path / "run")]) == 0
    name = next((ROOT / "notebooks").glob("01_*.ipynb")).name
    assert (figures / "executed" / name).read_text() == "{}"
    assert f"[executed/{name}](executed/{name})" in (figures / "report.md").read_text()


def test_executed_notebooks_get_repository_relative_paths_and_stale_outputs_go(monkeypatch, tmp_path):
    """Issue 30 items 2, 5 and 6: no machine path in a committed executed notebook; a relative --run-dir and
    $GPE_RUNS_DIR resolve against the repository root (not the kernels' notebooks/); outputs a notebook no longer
    writes leave figures/ when it reruns."""
    run_all = load_runner()
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "01_old_digits.png").write_bytes(b"stale")  # written by an older 01, not by this one
    (figures / "02_other.csv").write_text("kept")  # another notebook's output stays
    seen = {}

    def ok(nb, run_dir, profile, device, log_output):
        seen["run_dir"], seen["runs"] = run_dir, os.environ.get("GPE_RUNS_DIR")
        text = {"metadata": {"papermill": {"input_path": str(tmp_path / "notebooks" / nb.name),
                                           "output_path": str(run_dir / "executed" / nb.name)}},
                "cells": [{"source": f'out_dir = "{run_dir / "figures"}"\nruns = "{os.environ["GPE_RUNS_DIR"]}/x"'}]}
        (run_dir / "executed" / nb.name).write_text(json.dumps(text))
        reporting.save_verdict([_c("gpe.c", "holds")], run_dir / "figures", nb.name[:2], profile=profile)
        return True, 1.0, ""

    monkeypatch.setattr(run_all, "FIGURES", figures)
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    monkeypatch.setattr(run_all, "run_one", ok)
    monkeypatch.setenv("GPE_RUNS_DIR", "relruns")
    assert run_all.main(["--profile", "quick", "--only", "01", "--force", "--run-dir", "relrun"]) == 0
    assert seen["run_dir"] == tmp_path / "relrun" and seen["runs"] == str(tmp_path / "relruns")
    name = next((ROOT / "notebooks").glob("01_*.ipynb")).name
    text = (figures / "executed" / name).read_text()
    assert str(tmp_path) not in text and "relrun/figures" in text and '"notebooks/' in text
    assert "$GPE_RUNS_DIR/x" in text
    assert not (figures / "01_old_digits.png").exists() and (figures / "02_other.csv").read_text() == "kept"
    assert (figures / "01_verdict.csv").exists()


def test_a_paper_profile_run_never_touches_the_committed_quick_results(monkeypatch, tmp_path):
    """Issue 30 item 4: results of another profile go to figures/<profile>/; figures/ (quick), its report and the
    README findings stay as they were, also when a notebook fails."""
    run_all = load_runner()
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "01_verdict.csv").write_text("quick")
    (figures / "report.md").write_text("quick report")
    (tmp_path / "README.md").write_text("readme")

    def run(nb, run_dir, profile, device, log_output):
        if nb.name.startswith("03"):
            return False, 1.0, "RuntimeError: no data"
        reporting.save_verdict([_c("gpe.c", "holds")], run_dir / "figures", nb.name[:2], profile=profile)
        return True, 1.0, ""

    monkeypatch.setattr(run_all, "FIGURES", figures)
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    monkeypatch.setattr(run_all, "run_one", run)
    assert run_all.main(["--profile", "paper", "--only", "01", "03", "--run-dir", str(tmp_path / "run")]) == 1
    assert (figures / "01_verdict.csv").read_text() == "quick" and (figures / "report.md").read_text() == "quick report"
    assert (tmp_path / "README.md").read_text() == "readme"
    assert pd.read_csv(figures / "paper" / "01_verdict.csv").profile.tolist() == ["paper"]
    assert not (figures / "paper" / "03_verdict.csv").exists()


def test_repository_relative_paths():
    run_all = load_runner()
    root = Path("/srv/repo")
    text = 'a "/srv/repo/notebooks/x.ipynb" b /srv/repo c /data/runs/y /srv/repository-other'
    out = run_all.repository_relative(text, root=root, runs_dir="/data/runs")
    assert out == 'a "notebooks/x.ipynb" b . c $GPE_RUNS_DIR/y /srv/repository-other'
    assert run_all.repository_relative('"/srv/repo"', root=root) == '"."'


def test_no_committed_file_holds_a_machine_path():
    """Issue 30 item 2: figures/ and notebooks/ are committed; none of their text files names a folder of the machine
    that wrote them."""
    import re

    pattern = re.compile(r"(?<![\w.$])/(?:home|work|tmp|root|Users|mnt|var|opt|srv)/")
    bad = []
    for folder in ("figures", "notebooks"):
        for f in (ROOT / folder).rglob("*"):
            if f.is_file() and f.suffix in (".ipynb", ".py", ".csv", ".md", ".json"):
                hits = pattern.findall(f.read_text(errors="replace"))
                if hits:
                    bad.append(f"{f.relative_to(ROOT)} ({len(hits)})")
    assert not bad, bad


def test_metric_boxes_do_not_depend_on_numpy_global_state(tmp_path):
    import numpy as np
    import pandas as pd

    from gpelib import plots

    df = pd.DataFrame({"label": ["a", "a", "b", "b"], "fd": [1.0, 2.0, 3.0, 4.0]})
    out = []
    for s in (1, 2):
        np.random.seed(s)
        fig = plots.metric_boxes(df, {"fd": "FD"})
        out.append([tuple(c.get_offsets().ravel()) for c in fig.axes[0].collections if len(c.get_offsets())])
        plots.plt.close(fig)
    assert out[0] == out[1] and any(len(o) for o in out[0])
    np.random.seed(5)
    before = np.random.random()
    np.random.seed(5)
    plots.plt.close(plots.metric_boxes(df, {"fd": "FD"}))
    assert np.random.random() == before  # the caller's generator is left as it was


def test_runner_kernel_is_quiet(tmp_path, capfd):
    """The runner's kernels do not print ipykernel's start-up warning about the unencrypted localhost channel
    (issue 13): a one-cell notebook runs, its output is kept, and nothing of the kernel's log reaches stderr."""
    import nbformat

    run_all = load_runner()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("profile = None\nout_dir = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print('hello from', profile)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    path = tmp_path / "99_quiet.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "run" / "executed").mkdir(parents=True)
    ok, secs, err = run_all.run_one(path, tmp_path / "run", "smoke", None, False)
    captured = capfd.readouterr()
    assert ok and not err, err
    assert "without encryption" not in captured.err and "IPKernelApp" not in captured.err
    out = nbformat.read(tmp_path / "run" / "executed" / path.name, as_version=4)
    assert "hello from smoke" in "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))


def test_a_dry_run_keeps_its_models_and_results_to_its_run_folder(monkeypatch, tmp_path):
    """--dry-run: the kernels see the scale and a runs folder inside the run folder; figures/ is never touched."""
    run_all = load_runner()
    figures = tmp_path / "figures"
    figures.mkdir()
    seen = {}

    def ok(nb, run_dir, profile, device, log_output):
        seen.update(dry=os.environ.get("GPE_DRY_RUN"), runs=os.environ.get("GPE_RUNS_DIR"), profile=profile)
        (run_dir / "figures" / "10_table.csv").write_text("dry")
        return True, 1.0, ""

    monkeypatch.setattr(run_all, "FIGURES", figures)
    monkeypatch.setattr(run_all, "run_one", ok)
    monkeypatch.delenv("GPE_DRY_RUN", raising=False)
    monkeypatch.delenv("GPE_RUNS_DIR", raising=False)
    run = tmp_path / "run"
    assert run_all.main(["--profile", "paper", "--only", "10", "--dry-run", "1e-3", "--run-dir", str(run)]) == 0
    assert seen == {"dry": "0.001", "runs": str(run / "runs"), "profile": "paper"}
    assert list(figures.iterdir()) == [] and (run / "figures" / "report.md").exists()
    assert "GPE_DRY_RUN" not in os.environ and "GPE_RUNS_DIR" not in os.environ  # restored for the caller
    with pytest.raises(SystemExit) as e:
        run_all.main(["--profile", "paper", "--only", "10", "--dry-run", "3", "--run-dir", str(run)])
    assert e.value.code == 2


def test_make_reproduce_with_an_unknown_profile_fails_in_one_line_and_writes_nothing():
    """Issue 13: `GPE_PROFILE=nonsense make reproduce` — the Makefile passes $GPE_PROFILE on (it used to run `quick`
    regardless), and the runner refuses it in one line before it writes anything."""
    import shutil
    import subprocess

    if shutil.which("make") is None or subprocess.run(["make", "-q", ".venv/.gpelib-installed"], cwd=ROOT).returncode:
        pytest.skip("needs make and an up-to-date .venv (make setup)")

    def snapshot():
        return {str(p): p.stat().st_mtime_ns for p in (ROOT / "figures").rglob("*")}

    before = snapshot()
    r = subprocess.run(["make", "-s", "--no-print-directory", "reproduce"], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "GPE_PROFILE": "nonsense"}, timeout=300)
    assert r.returncode != 0 and r.stdout == ""
    ours = [line for line in r.stderr.splitlines() if not line.startswith("make")]
    assert ours == ["run_all.py: error: unknown profile 'nonsense'; choose smoke, quick or paper (--profile, PROFILE= "
                    "for make, or $GPE_PROFILE)"]
    assert snapshot() == before


def test_only_without_names_is_refused(capsys):
    """Issue 30 item 12: ``--only`` with no names ran every notebook; now argparse refuses it."""
    run_all = load_runner()
    with pytest.raises(SystemExit) as e:
        run_all.main(["--only"])
    assert e.value.code == 2 and "--only" in capsys.readouterr().err


def test_a_no_op_rerun_leaves_no_run_folder(monkeypatch, tmp_path):
    """Issue 30 item 12: when every notebook is up to date nothing runs, and no empty run folder is left behind."""
    run_all = load_runner()
    monkeypatch.setattr(run_all, "FIGURES", tmp_path / "figures")
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    monkeypatch.setattr(run_all, "up_to_date", lambda nb, fp, folder=None: True)
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "report.md").write_text("r")
    assert run_all.main(["--profile", "quick", "--only", "01"]) == 0
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_nbval_runs_the_notebooks_on_a_fresh_runs_folder_unless_one_is_named(tmp_path):
    """Issue 30 item 1: ``pytest notebooks --nbval-lax`` in a checkout with trained ``runs/`` passed with training
    broken, because the notebooks loaded the old checkpoints. ``notebooks/conftest.py`` gives the session a fresh
    temporary ``GPE_RUNS_DIR`` (and removes it) unless the caller named one, as ``make test`` does."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    (tmp_path / "probe.py").write_text(
        "import os\n"
        "def pytest_collection_finish(session):\n"
        f"    open({str(tmp_path / 'seen')!r}, 'w').write(os.environ.get('GPE_RUNS_DIR', ''))\n")
    env = {k: v for k, v in os.environ.items() if k != "GPE_RUNS_DIR"}
    env["PYTHONPATH"] = str(tmp_path)
    cmd = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "probe", "-p", "no:cacheprovider", "--nbval-lax",
           "notebooks/00_quickstart.ipynb"]
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    seen = Path((tmp_path / "seen").read_text())
    assert seen.name.startswith("gpe-nbval-runs-") and root not in seen.parents
    assert not seen.exists()  # removed at the end of the session
    named = tmp_path / "mine"
    out = subprocess.run(cmd, cwd=root, env={**env, "GPE_RUNS_DIR": str(named)}, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and (tmp_path / "seen").read_text() == str(named)
