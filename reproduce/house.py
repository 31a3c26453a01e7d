"""The house's figures (issue "Claims as code", item 5): import circles and height of gpelib, the largest modules,
the longest functions (gpelib and reproduce/) and the largest notebook code cells, against the house rules.

    python reproduce/house.py        # prints every figure and each rule's offenders; exit 1 if a rule is broken

Rules: no import circle; the import graph at most :data:`MAX_HEIGHT` modules tall; no gpelib module over
:data:`MAX_MODULE_LINES` lines; no function over :data:`MAX_FUNCTION_LINES` lines; no notebook code cell with more
than :data:`MAX_CELL_LOGIC` lines of logic (plotting, printing and display lines aside). ``tests/test_house.py`` holds
the code to them; ``make lint`` runs import-linter's layers contract (pyproject.toml) beside it.
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_HEIGHT = 8
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MAX_CELL_LOGIC = 20
#: Calls that draw or show rather than compute: a statement that is one of these (or assigns its result) is not
#: counted as logic in a notebook cell.
PRESENTATION_ROOTS = frozenset({"print", "display", "plots", "plt", "sns", "ax", "axes", "fig", "Markdown"})


def import_graph(package: str = "gpelib") -> dict[str, set[str]]:
    """Module → the package's modules it imports (every import, in functions too; ``TYPE_CHECKING`` ones aside)."""
    import grimp

    g = grimp.build_graph(package, include_external_packages=False, exclude_type_checking_imports=True)
    return {m: {i for i in g.find_modules_directly_imported_by(m) if i != m} for m in g.modules}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (each holds at least one circle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def heights(graph: dict[str, set[str]]) -> dict[str, int]:
    """Each module's floor: 1 for a module that imports none of the package, else 1 + its highest import's floor.
    Needs a graph without circles."""

    @functools.cache
    def h(m: str) -> int:
        return 1 + max((h(i) for i in graph.get(m, ())), default=0)

    return {m: h(m) for m in graph}


def module_lines(root: Path = ROOT) -> dict[str, int]:
    """Lines of every gpelib module (path relative to ``root``)."""
    return {str(p.relative_to(root)): len(p.read_text().splitlines()) for p in sorted((root / "gpelib").rglob("*.py"))}


def function_lines(root: Path = ROOT) -> dict[str, int]:
    """Lines of every function and method in gpelib and reproduce/, keyed ``path:qualified.name``."""
    out: dict[str, int] = {}
    files = sorted((root / "gpelib").rglob("*.py")) + sorted((root / "reproduce").glob("*.py"))
    for p in files:
        tree = ast.parse(p.read_text())

        def walk(node: ast.AST, prefix: str, path: Path = p) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        out[f"{path.relative_to(root)}:{name}"] = child.end_lineno - child.lineno + 1
                    walk(child, name + ".")
                else:
                    walk(child, prefix)

        walk(tree, "")
    return out


def _presentation(stmt: ast.stmt) -> bool:
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
    if not isinstance(value, ast.Call):
        return False
    f = value.func
    while isinstance(f, (ast.Attribute, ast.Call, ast.Subscript)):
        f = f.func if isinstance(f, ast.Call) else f.value
    return isinstance(f, ast.Name) and f.id in PRESENTATION_ROOTS


def logic_lines(source: str) -> int:
    """Lines of logic in a notebook cell: non-blank, non-comment source lines outside statements that only draw,
    print or display (:data:`PRESENTATION_ROOTS`); IPython magics and shell lines count as logic."""
    lines = source.splitlines()
    code = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(code))
    except SyntaxError:
        return sum(1 for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))
    text = "\n".join(code).splitlines()
    skip: set[int] = set()

    def visit(body: list[ast.stmt]) -> None:
        for s in body:
            if _presentation(s):
                skip.update(range(s.lineno, s.end_lineno + 1))
            for field in ("body", "orelse", "finalbody"):
                sub = getattr(s, field, None)
                if isinstance(sub, list) and sub and isinstance(sub[0], ast.stmt):
                    visit(sub)

    visit(tree.body)
    counted = [i for i, ln in enumerate(text, 1) if i not in skip and not ln.lstrip().startswith("#")]
    magics = sum(1 for ln in lines if ln.lstrip().startswith(("%", "!")))
    return len(counted) + magics


def notebook_cells(root: Path = ROOT) -> dict[str, int]:
    """Lines of logic of every code cell of every notebook, keyed ``notebook#cell-number`` (1-based)."""
    out: dict[str, int] = {}
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        for k, c in enumerate(cells, 1):
            src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            out[f"{nb.name}#{k}"] = logic_lines(src)
    return out


def figures(root: Path = ROOT) -> dict[str, object]:
    """Every figure of the house and the offenders of each rule."""
    graph = import_graph()
    circ = circles(graph)
    h = heights(graph) if not circ else {}
    mods, funcs, cells = module_lines(root), function_lines(root), notebook_cells(root)
    top = max(h.values(), default=0)

    def largest(d: dict[str, int]) -> tuple[str, int]:
        k = max(d, key=lambda x: d[x])
        return k, d[k]

    return {
        "circles": circ,
        "height": top,
        "tallest": sorted(m for m, v in h.items() if v == top),
        "largest_module": largest(mods),
        "longest_function": largest(funcs),
        "largest_cell": largest(cells),
        "modules_over": {k: v for k, v in mods.items() if v > MAX_MODULE_LINES},
        "functions_over": {k: v for k, v in funcs.items() if v > MAX_FUNCTION_LINES},
        "cells_over": {k: v for k, v in cells.items() if v > MAX_CELL_LOGIC},
    }


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    sys.path.insert(0, str(ROOT))
    f = figures()
    print(f"circles: {len(f['circles'])} {f['circles'] or ''}")
    print(f"height: {f['height']} modules (rule ≤ {MAX_HEIGHT}); tallest: {', '.join(f['tallest'])}")
    print(f"largest module: {f['largest_module'][0]} {f['largest_module'][1]} lines (rule ≤ {MAX_MODULE_LINES})")
    print(f"longest function: {f['longest_function'][0]} {f['longest_function'][1]} lines "
          f"(rule ≤ {MAX_FUNCTION_LINES})")
    print(f"largest notebook cell: {f['largest_cell'][0]} {f['largest_cell'][1]} lines of logic "
          f"(rule ≤ {MAX_CELL_LOGIC})")
    for key in ("modules_over", "functions_over", "cells_over"):
        for k, v in sorted(f[key].items(), key=lambda kv: -kv[1]):
            print(f"  over: {k} {v}")
    broken = f["circles"] or f["height"] > MAX_HEIGHT or f["modules_over"] or f["functions_over"] or f["cells_over"]
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
