"""Write a notebook from a list of (kind, source) cells with the metadata papermill and nbval need.

Used by the authors to create the notebooks once; the .ipynb files are the source of truth afterwards.
kind: "md", "code" or "params" (a code cell tagged `parameters` for papermill).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def build(path: str | Path, cells: list[tuple[str, str]]) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (gpelib)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "version": f"{sys.version_info.major}.{sys.version_info.minor}",
                                    "mimetype": "text/x-python", "file_extension": ".py"}
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            nb.cells.append(new_markdown_cell(src))
        elif kind == "params":
            nb.cells.append(new_code_cell(src, metadata={"tags": ["parameters"]}))
        else:
            nb.cells.append(new_code_cell(src))
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i:02d}"
    path = Path(path)
    nbformat.write(nb, path)
    return path
