"""Every notebook is paired with a percent-format script (jupytext): the ``.py`` is the source a diff reads, the
``.ipynb`` is what papermill and nbval execute. A pair out of sync fails here; fix it with
``.venv/bin/jupytext --sync notebooks/*.ipynb`` (the newer file wins)."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PAIRS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(sorted(c.metadata.get("tags", [])))) for c in nb.cells]


def test_every_notebook_is_paired():
    assert PAIRS, "no notebooks found"
    missing = [p.name for p in PAIRS if not p.with_suffix(".py").is_file()]
    assert not missing, f"notebooks without a paired script: {missing}"
    orphans = [p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.py") if not p.with_suffix(".ipynb").is_file()]
    assert not orphans, f"scripts without a notebook: {orphans}"


@pytest.mark.parametrize("ipynb", PAIRS, ids=lambda p: p.stem)
def test_pair_in_sync(ipynb: Path):
    nb = jupytext.read(ipynb)
    script = jupytext.read(ipynb.with_suffix(".py"))
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", "pair metadata missing"
    a, b = _cells(nb), _cells(script)
    assert len(a) == len(b), f"{ipynb.name}: {len(a)} cells, its script {len(b)}; run jupytext --sync"
    for i, (ca, cb) in enumerate(zip(a, b)):
        assert ca == cb, f"{ipynb.name}: cell {i} differs from the paired script; run jupytext --sync"
    for key in ("kernelspec", "language_info"):  # papermill needs both (SPEC §5)
        assert key in nb.metadata, f"{ipynb.name} lacks metadata.{key}"


def test_sync_check_detects_a_change(tmp_path: Path):
    """The comparison above is not vacuous: editing one cell of the script makes the pair differ."""
    src = PAIRS[0]
    script = jupytext.read(src.with_suffix(".py"))
    script.cells[-1].source += "\nprint('edited')"
    assert _cells(jupytext.read(src)) != _cells(script)
