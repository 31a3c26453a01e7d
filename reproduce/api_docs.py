#!/usr/bin/env python
"""The API reference: every gpelib module's docstrings rendered by pdoc into static HTML.

    python reproduce/api_docs.py [OUT]        # default docs/api; open OUT/index.html

``gpelib/__init__.py`` exports the everyday names through ``__all__``, which hides the submodules from pdoc's
package page, so every module is named explicitly (:func:`modules`). ``make docs`` runs this; ``make test`` builds
it into a temporary folder (``tests/test_docs.py``), so the reference cannot break unnoticed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules() -> list[str]:
    """``gpelib`` and every module and subpackage under it, as dotted names (private ``_*`` files excluded)."""
    pkg = ROOT / "gpelib"
    names = ["gpelib"]
    for p in sorted(pkg.rglob("*.py")):
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(part.startswith("_") for part in parts) or parts == ["gpelib"]:
            continue
        names.append(".".join(parts))
    return names


def build(out: str | Path) -> Path:
    """Render :func:`modules` into ``out``; returns ``out/index.html``."""
    import pdoc

    out = Path(out)
    pdoc.pdoc(*modules(), output_directory=out)
    return out / "index.html"


if __name__ == "__main__":
    print(f"API reference: {build(sys.argv[1] if len(sys.argv) > 1 else ROOT / 'docs' / 'api')}")
