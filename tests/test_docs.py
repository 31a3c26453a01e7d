"""The API reference (``make docs``: pdoc over gpelib) builds, and documents what a user looks for first."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("api_docs", ROOT / "reproduce" / "api_docs.py")
api_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(api_docs)


def test_api_reference_builds_with_every_module_and_the_public_functions(tmp_path: Path):
    import gpelib

    assert api_docs.build(tmp_path).is_file()
    pages = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html")}
    modules = {p.stem for p in Path(gpelib.__file__).parent.glob("[a-z]*.py")}
    missing = sorted(m for m in modules if f"gpelib/{m}.html" not in pages)
    assert "gpelib/gan/train.html" in pages  # subpackages too
    assert not missing, f"modules without a page: {missing}"
    losses = (tmp_path / "gpelib" / "losses.html").read_text()
    assert "gme_cost" in losses and "GPE eq. 14" in losses  # the docstring, with its equation, is rendered
    data = (tmp_path / "gpelib" / "data.html").read_text()
    assert "load_dataset" in data and "held_out" in data
