"""requirements.lock (what `make setup` installs) pins every dependency of pyproject.toml exactly, with hashes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock_entries() -> dict[str, tuple[str, str, list[str]]]:
    """``{normalised name: (operator, version, hashes)}`` from the lock's ``name==version \\`` blocks."""
    entries: dict[str, tuple[str, str, list[str]]] = {}
    current = None
    for raw in LOCK.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(===|==|>=|<=|~=|!=|>|<)?\s*([^\s;\\]*)", line)
        if not raw.startswith(" ") and m:
            current = _norm(m[1])
            entries[current] = (m[2] or "", m[3], [])
        for h in re.findall(r"--hash=(sha256:[0-9a-f]{64})", line):
            assert current is not None, f"a hash before any requirement: {line}"
            entries[current][2].append(h)
    return entries


def _pyproject_requirements() -> list[str]:
    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in ("notebooks", "test"):
        reqs += meta["optional-dependencies"][extra]
    return reqs


def _name(req: str) -> str:
    return _norm(re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)[1])


def test_lock_pins_every_dependency_with_hashes():
    lock = _lock_entries()
    assert len(lock) > 20
    missing = sorted({_name(r) for r in _pyproject_requirements()} - set(lock))
    assert not missing, f"requirements.lock lacks {missing}: run `make lock`"
    for name, (op, version, hashes) in lock.items():
        assert op == "==" and version, f"{name} is not pinned with == in requirements.lock"
        assert hashes, f"{name}=={version} has no --hash in requirements.lock"


def test_lock_pins_satisfy_pyproject_ranges():
    packaging = pytest.importorskip("packaging.requirements")
    lock = _lock_entries()
    for req in _pyproject_requirements():
        r = packaging.Requirement(req)
        version = lock[_norm(r.name)][1]
        assert r.specifier.contains(version, prereleases=True), f"lock pins {r.name}=={version}, outside {req}"


def test_lock_pins_the_torch_pair():
    lock = _lock_entries()
    assert lock["torch"][:2] == ("==", "2.14.1")
    assert lock["torchvision"][:2] == ("==", "0.29.1")
    make = (ROOT / "Makefile").read_text()
    assert "TORCH_PINS := torch==2.14.1 torchvision==0.29.1" in make  # `make lock` resolves with the same pair


def test_setup_installs_the_lock():
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): .*\$\(LOCK\)", make, re.M), "the venv stamp must depend on the lock"
    assert "--require-hashes -r $(LOCK)" in make and "--no-deps -e ." in make
    assert "-r requirements.lock" in (ROOT / "environment.yml").read_text()
