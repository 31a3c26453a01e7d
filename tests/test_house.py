"""The house rules (issue "Claims as code", item 5), measured by reproduce/house.py: no import circle, the gpelib
import graph at most 8 modules tall, no module over 600 lines, no function over 80 lines (reproduce/ included), no
notebook code cell with more than 20 lines of logic. ``make lint`` adds import-linter's layers contract."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _house():
    spec = importlib.util.spec_from_file_location("house", ROOT / "reproduce" / "house.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["house"] = mod
    spec.loader.exec_module(mod)
    return mod


house = _house()


def test_no_import_circles_and_at_most_eight_floors():
    graph = house.import_graph()
    assert "gpelib.claims" in graph and "gpelib.verdicts" in graph  # the graph was read
    assert house.circles(graph) == [], "gpelib has an import circle"
    h = house.heights(graph)
    assert max(h.values()) <= house.MAX_HEIGHT, sorted(h.items(), key=lambda kv: -kv[1])[:5]


def test_circles_and_heights_on_a_made_up_graph():
    g = {"a": {"b"}, "b": {"c"}, "c": set(), "d": {"e"}, "e": {"d"}}
    assert house.circles(g) == [["d", "e"]]
    assert house.heights({"a": {"b"}, "b": {"c"}, "c": set(), "x": {"c"}}) == {"a": 3, "b": 2, "c": 1, "x": 2}


def test_no_module_over_600_lines():
    over = {k: v for k, v in house.module_lines().items() if v > house.MAX_MODULE_LINES}
    assert not over, over


def test_no_function_over_80_lines():
    over = {k: v for k, v in house.function_lines().items() if v > house.MAX_FUNCTION_LINES}
    assert not over, over


def test_no_notebook_cell_over_20_lines_of_logic():
    cells = house.notebook_cells()
    assert len(cells) > 50  # every notebook was read
    over = {k: v for k, v in cells.items() if v > house.MAX_CELL_LOGIC}
    assert not over, over


@pytest.mark.parametrize("source, want", [
    ("x = 1\n\n# a comment\ny = f(x)\n", 2),
    ("fig = plots.curves(df)\nplots.save_figure(fig, out, 'a')\nprint(x)\ndisplay(t.round(3))\n", 0),
    ("for k in ks:\n    v = k * 2\n    print(v)\n", 2),
    ("ax.plot([1, 2],\n        [3, 4])\nz = (1 +\n     2)\n", 2),
    ("%matplotlib inline\nx = 1\n", 2),
])
def test_logic_lines_leave_plots_and_prints_aside(source, want):
    assert house.logic_lines(source) == want
