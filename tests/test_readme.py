"""The README's Python example runs as written (in a temporary folder: it writes a checkpoint)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using gpelib on your own data"):]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's 'Using gpelib on your own data' section has no python block"
    return blocks[0]


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = _example()
    assert "load_splits" in code  # the snippet loads data through the public entry point
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert (tmp_path / "runs" / "enc").is_dir()  # the encoder's checkpoint
    assert scope["res"].iterations > 0 and "gme=" in capsys.readouterr().out
